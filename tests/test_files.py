"""d.files (issue 15's first operation, list): a directory as the desktop's user sees it, on local and Docker
desktops. It is the first operation added after the seam (protocols.py): its signature there, its implementation
in Session, and Files.list in desktop.py; the server's generic route and the kernel's session carry it unchanged
(tests/test_kernel_side.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jupyter_desktop import Desktop, InputLimitError, InvalidInputError
from jupyter_desktop.session import MAX_LISTED

from .harness.docker import engine_problem


@pytest.fixture(scope="module")
def desktop():
    os.environ.pop("JUPYTER_DESKTOP_URL", None)
    with Desktop("none", width=320, height=200) as d:
        yield d


def tree(root: Path) -> Path:
    """A directory of every kind of entry, and names a shell or a line-based parser would get wrong."""
    (root / "plain.txt").write_text("hello")
    (root / "tab\there\nand newline").write_text("")
    (root / "-looks-like-an-option").write_text("xyz")
    (root / "sub").mkdir()
    (root / "link").symlink_to(root / "sub")
    os.mkfifo(root / "pipe")
    return root


def test_list_names_every_entry_with_its_type_and_size(desktop: Desktop, tmp_path: Path):
    listed = desktop.files.list(str(tree(tmp_path)))
    assert [(e["name"], e["type"]) for e in listed] == [
        ("-looks-like-an-option", "file"),
        ("link", "link"),
        ("pipe", "other"),
        ("plain.txt", "file"),
        ("sub", "directory"),
        ("tab\there\nand newline", "file"),
    ]
    plain = next(e for e in listed if e["name"] == "plain.txt")
    assert plain["size"] == 5 and abs(plain["modified"] - (tmp_path / "plain.txt").stat().st_mtime) < 1


def test_relative_paths_start_at_the_users_home(desktop: Desktop):
    home = Path.home()
    assert {e["name"] for e in desktop.files.list(".")} == {p.name for p in home.iterdir()}


def test_bad_input_and_limits(desktop: Desktop, tmp_path: Path):
    with pytest.raises(InvalidInputError, match="no directory"):
        desktop.files.list(str(tmp_path / "missing"))
    (tmp_path / "file").write_text("")
    with pytest.raises(InvalidInputError, match="no directory"):
        desktop.files.list(str(tmp_path / "file"))
    for bad in ("", "a\0b", 5, None, "x" * 5000):
        with pytest.raises(InvalidInputError, match="path must be"):
            desktop.files.list(bad)  # type: ignore[arg-type]
    big = tmp_path / "big"
    big.mkdir()
    for i in range(MAX_LISTED + 1):
        (big / f"{i}").touch()
    with pytest.raises(InputLimitError, match="MAX_LISTED"):
        desktop.files.list(str(big))
    (big / "0").unlink()
    assert len(desktop.files.list(str(big))) == MAX_LISTED


@pytest.mark.docker
def test_a_docker_desktop_lists_its_containers_files():
    if (problem := engine_problem()) is not None:
        pytest.skip(problem)
    os.environ.pop("JUPYTER_DESKTOP_URL", None)
    with Desktop("none", width=320, height=200, backend="docker") as d:
        names = {e["name"]: e["type"] for e in d.files.list("/etc")}
        assert names.get("hostname") == "file" and names.get("apt") == "directory"
        # its own world: the host's temporary files are not there
        assert "jupyter-desktop-docker-" not in " ".join(e["name"] for e in d.files.list("/tmp"))
