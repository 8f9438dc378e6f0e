"""d.files (issue 15): list, read, write, remove, as the desktop's user sees them, on local and Docker desktops, over
the REST API, and from a kernel through a Jupyter server.

list is the first operation added after the seam (protocols.py): its signature there, its implementation in
Session, and Files.list in desktop.py; the server's generic route and the kernel's session carry it unchanged
(tests/test_kernel_side.py). read and write carry bytes, which are no JSON: they have a REST route of their own
(GET/PUT .../files?path=), which the kernel's RemoteSession uses; remove goes through the generic route (and has
DELETE .../files too).

Removals that must be refused (the home directory, "/") are tried only where a failure of the guard cannot hurt
this machine: a local desktop whose HOME is a folder of the test's own, and a Docker desktop (its container).
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from jupyter_desktop import Desktop, ExistingFileError, InputLimitError, InvalidInputError, NoSuchFileError
from jupyter_desktop.server.handlers import MAX_BODY
from jupyter_desktop.session import MAX_FILE, MAX_LISTED

from .harness.docker import engine_problem
from .harness.server import TOKEN, JupyterServer, requests_of


@pytest.fixture(scope="module")
def desktop():
    os.environ.pop("JUPYTER_DESKTOP_URL", None)
    with Desktop("none", width=320, height=200) as d:
        yield d


@pytest.fixture(scope="module")
def docker_desktop():
    if (problem := engine_problem()) is not None:
        pytest.skip(problem)
    os.environ.pop("JUPYTER_DESKTOP_URL", None)
    with Desktop("none", width=320, height=200, backend="docker") as d:
        yield d


@pytest.fixture(params=["local", pytest.param("docker", marks=pytest.mark.docker)])
def any_desktop(request, tmp_path) -> Iterator[tuple[Desktop, str]]:
    """A desktop of each backend, and a fresh folder on it (the local one's in this test's tmp_path)."""
    if request.param == "local":
        yield request.getfixturevalue("desktop"), str(tmp_path)
    else:
        d = request.getfixturevalue("docker_desktop")
        folder = f"/tmp/files-{uuid.uuid4().hex[:8]}"
        d.run(["mkdir", folder]).check()
        yield d, folder
        d.run(["rm", "-rf", folder])


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def on_desktop(d: Desktop, *argv: str) -> str:
    """What a command prints on the desktop itself (not through d.files)."""
    return d.run(list(argv)).check().stdout.strip()


def exists(d: Desktop, path: str) -> bool:
    return d.run(["test", "-e", path]).returncode == 0


def payload(size: int = 5 << 20) -> bytes:
    """Every byte value, runs of NULs, a newline-free stretch, CR/LF pairs, then random bytes."""
    head = bytes(range(256)) * 4 + b"\0" * 4096 + b"\r\n\n\r" * 64 + bytes(range(255, -1, -1))
    return head + os.urandom(size - len(head))


# ---------------------------------------------------------------------------------------------- list


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
def test_a_docker_desktop_lists_its_containers_files(docker_desktop: Desktop):
    names = {e["name"]: e["type"] for e in docker_desktop.files.list("/etc")}
    assert names.get("hostname") == "file" and names.get("apt") == "directory"
    # its own world: the host's temporary files are not there
    assert "jupyter-desktop-docker-" not in " ".join(e["name"] for e in docker_desktop.files.list("/tmp"))


# ---------------------------------------------------------------------------------------------- read, write, remove


def test_bytes_round_trip(any_desktop):
    """~5 MiB of every byte value, NULs and random bytes go in and come out the same; the desktop itself (sha256sum
    run there) sees the same file; an empty file and one of NULs only too."""
    d, folder = any_desktop
    data = payload()
    path = f"{folder}/data.bin"
    d.files.write(path, data)
    assert on_desktop(d, "sha256sum", "--", path).split()[0] == sha256(data)
    back = d.files.read(path)
    assert len(back) == len(data) and sha256(back) == sha256(data)
    assert {e["name"]: e["size"] for e in d.files.list(folder)}["data.bin"] == len(data)
    for name, content in (("empty", b""), ("nuls", b"\0" * 1000), ("-dash", b"\xff\xfe")):
        d.files.write(f"{folder}/{name}", content)
        assert d.files.read(f"{folder}/{name}") == content
        assert on_desktop(d, "sha256sum", "--", f"{folder}/{name}").split()[0] == sha256(content)
    d.files.write(path, b"shorter")  # replaces, does not append or keep a tail
    assert d.files.read(path) == b"shorter" and on_desktop(d, "cat", path) == "shorter"


def test_text(any_desktop):
    d, folder = any_desktop
    text = "héllo ✓ 日本\nline two\r\n"
    d.files.write(f"{folder}/t.txt", text)
    assert d.files.read(f"{folder}/t.txt") == text.encode()
    assert d.files.read_text(f"{folder}/t.txt") == text
    assert on_desktop(d, "wc", "-c", f"{folder}/t.txt").split()[0] == str(len(text.encode()))
    d.files.write(f"{folder}/l.txt", "é".encode("latin-1"))
    assert d.files.read_text(f"{folder}/l.txt", encoding="latin-1") == "é"
    with pytest.raises(UnicodeDecodeError):
        d.files.read_text(f"{folder}/l.txt")


def test_folders_and_modes(any_desktop):
    d, folder = any_desktop
    deep = f"{folder}/a/b/c.txt"
    with pytest.raises(NoSuchFileError, match=r"cannot write '.*a/b/c.txt'.*no directory .*parents=True"):
        d.files.write(deep, b"x")
    assert not exists(d, f"{folder}/a")
    d.files.write(deep, b"x", parents=True, mode=0o600)
    assert on_desktop(d, "stat", "-c", "%a", deep) == "600"
    d.files.write(deep, b"y")  # an existing file keeps its mode
    assert on_desktop(d, "stat", "-c", "%a", deep) == "600" and d.files.read(deep) == b"y"
    d.files.write(deep, b"z", mode=0o755)
    assert on_desktop(d, "stat", "-c", "%a", deep) == "755"
    for mode in (0o10000, -1, True, "644"):
        with pytest.raises(InvalidInputError, match="mode must be"):
            d.files.write(deep, b"w", mode=mode)  # type: ignore[arg-type]
    assert d.files.read(deep) == b"z"


def test_refusals_name_the_path(any_desktop):
    d, folder = any_desktop
    with pytest.raises(NoSuchFileError, match=rf"cannot read '{folder}/missing'.*no such file"):
        d.files.read(f"{folder}/missing")
    with pytest.raises(InvalidInputError, match=rf"cannot read '{folder}'.*directory"):
        d.files.read(folder)
    with pytest.raises(InvalidInputError, match="directory"):
        d.files.write(folder, b"x")
    with pytest.raises(InvalidInputError, match="ends with /"):
        d.files.write(f"{folder}/new/", b"x")
    for bad in ("", "a\0b", "x" * 4097, None, 5):
        for call in (d.files.read, d.files.remove, lambda p: d.files.write(p, b"x")):
            with pytest.raises(InvalidInputError, match="path must be"):
                call(bad)
    with pytest.raises(InvalidInputError, match="content is bytes"):
        d.files.write(f"{folder}/x", 5)  # type: ignore[arg-type]
    with pytest.raises(NoSuchFileError, match=rf"cannot remove '{folder}/missing'"):
        d.files.remove(f"{folder}/missing")


def test_exclusive_never_replaces(any_desktop):
    """exclusive=True writes a new file, and refuses an existing one, a link (even a dangling one: the file it
    names is not created) and a directory, leaving each as it was."""
    d, folder = any_desktop
    d.files.write(f"{folder}/new.txt", b"first", exclusive=True)
    assert d.files.read(f"{folder}/new.txt") == b"first"
    with pytest.raises(ExistingFileError, match=rf"cannot write '{folder}/new.txt'.*exists"):
        d.files.write(f"{folder}/new.txt", b"second", exclusive=True)
    assert d.files.read(f"{folder}/new.txt") == b"first"
    on_desktop(d, "ln", "-s", f"{folder}/nowhere", f"{folder}/dangling")
    with pytest.raises(ExistingFileError):
        d.files.write(f"{folder}/dangling", b"x", exclusive=True)
    assert not exists(d, f"{folder}/nowhere")
    with pytest.raises(InvalidInputError, match="directory"):
        d.files.write(folder, b"x", exclusive=True)
    d.files.write(f"{folder}/new.txt", b"replaced")  # not exclusive: replaced, as before
    assert d.files.read(f"{folder}/new.txt") == b"replaced"


def test_size_limit(any_desktop):
    """MAX_FILE bytes go both ways; one more is refused before anything is written, and a bigger file on the
    desktop is not read."""
    d, folder = any_desktop
    with pytest.raises(InputLimitError, match=f"the limit is {MAX_FILE} bytes \\(MAX_FILE\\)"):
        d.files.write(f"{folder}/big", b"\0" * (MAX_FILE + 1))
    assert not exists(d, f"{folder}/big")
    exact = os.urandom(1 << 20) * (MAX_FILE >> 20)
    d.files.write(f"{folder}/exact", exact)
    assert sha256(d.files.read(f"{folder}/exact")) == sha256(exact)
    on_desktop(d, "truncate", "-s", str(MAX_FILE + 1), f"{folder}/exact")
    with pytest.raises(InputLimitError, match="more than 67108864 bytes \\(MAX_FILE\\)"):
        d.files.read(f"{folder}/exact")


def test_remove(any_desktop):
    d, folder = any_desktop
    d.files.write(f"{folder}/dir/inner/f", b"x", parents=True)
    d.files.write(f"{folder}/-f", b"x")
    d.files.remove(f"{folder}/-f")
    assert not exists(d, f"{folder}/-f")
    with pytest.raises(InvalidInputError, match="directory \\(recursive=True removes it\\)"):
        d.files.remove(f"{folder}/dir")
    assert exists(d, f"{folder}/dir/inner/f")
    on_desktop(d, "ln", "-s", f"{folder}/dir", f"{folder}/link")
    d.files.remove(f"{folder}/link")  # the link, not what it points to
    assert not exists(d, f"{folder}/link") and exists(d, f"{folder}/dir/inner/f")
    d.files.remove(f"{folder}/dir", recursive=True)
    assert not exists(d, f"{folder}/dir")
    assert [e["name"] for e in d.files.list(folder)] == []


def test_relative_paths_land_in_the_home_directory(any_desktop):
    d, _ = any_desktop
    name = f"jupyter-desktop-test-{uuid.uuid4().hex[:8]}.txt"
    home = on_desktop(d, "sh", "-c", 'echo "$HOME"')
    try:
        d.files.write(name, b"at home")
        assert on_desktop(d, "cat", f"{home}/{name}") == "at home"
        assert d.files.read(f"./{name}") == b"at home"
        assert name in {e["name"] for e in d.files.list(".")}
        d.files.remove(name)
        assert not exists(d, f"{home}/{name}")
    finally:
        d.run(["rm", "-f", f"{home}/{name}"])


def test_the_home_directory_and_what_holds_it_are_not_removed(tmp_path: Path):
    """On a local desktop whose HOME is a folder of this test's own (a broken guard would remove only that)."""
    os.environ.pop("JUPYTER_DESKTOP_URL", None)
    home = tmp_path / "outer" / "home"
    (home / "sub").mkdir(parents=True)
    (home / "keep").write_text("still here")
    (tmp_path / "outer" / "to-home").symlink_to(home)
    with Desktop("none", width=320, height=200, env={"HOME": str(home)}) as d:
        for path in (".", "./", str(home), f"{home}/", f"{home}/sub/..", str(tmp_path / "outer"), f"{tmp_path}/outer/to-home/"):
            with pytest.raises(InvalidInputError, match="cannot remove .*(home directory|it is / )"):
                d.files.remove(path, recursive=True)
        assert (home / "keep").read_text() == "still here"
        d.files.remove(f"{tmp_path}/outer/to-home")  # the link itself is just a link
        d.files.remove("sub", recursive=True)  # and what is in the home directory can go
        assert sorted(p.name for p in (tmp_path / "outer").iterdir()) == ["home"] and not (home / "sub").exists()


@pytest.mark.docker
def test_a_docker_desktops_files_are_its_containers(docker_desktop: Desktop, tmp_path: Path):
    d = docker_desktop
    name = f"/tmp/jupyter-desktop-test-{uuid.uuid4().hex[:8]}"
    d.files.write(name, b"inside")
    assert not Path(name).exists()  # not on this machine
    assert on_desktop(d, "stat", "-c", "%U", name) == "desktop"  # written as the desktop's user, not root
    d.files.remove(name)
    with pytest.raises(InvalidInputError, match="cannot write '/etc/jd-test'.*permission denied"):
        d.files.write("/etc/jd-test", b"x")
    assert not exists(d, "/etc/jd-test")
    with pytest.raises(InvalidInputError, match="cannot remove '/etc/hostname'.*permission denied"):
        d.files.remove("/etc/hostname")
    with pytest.raises(InvalidInputError, match="cannot read '/etc/shadow'.*permission denied"):
        d.files.read("/etc/shadow")
    # "/" and the home directory, however they are written: never (the guard in the container's shell too)
    root_link = f"/tmp/root-link-{uuid.uuid4().hex[:6]}"
    on_desktop(d, "ln", "-s", "/", root_link)
    for path in ("/", "//", "/..", ".", "/home/desktop", "/home/desktop/", f"{root_link}/", "/home"):
        with pytest.raises(InvalidInputError, match="cannot remove"):
            d.files.remove(path, recursive=True)
    assert exists(d, "/home/desktop/.bashrc") and exists(d, "/etc/hostname")
    d.files.remove(root_link)


# ---------------------------------------------------------------------------------------------- REST and a kernel


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[JupyterServer]:
    srv = JupyterServer(tmp_path_factory.mktemp("files-server"))
    created = srv.api("POST", json={"profile": "none", "width": 320, "height": 200})
    assert created.status_code == 201, created.text
    srv.desktop_id = created.json()["id"]
    yield srv
    srv.shutdown()


def test_rest_routes(server: JupyterServer, tmp_path: Path):
    files = f"/{server.desktop_id}/files"
    data = payload()
    assert len(data) > MAX_BODY  # more than any other route takes: this one has its own limit
    put = server.api("PUT", files, params={"path": str(tmp_path / "x.bin")}, content=data)
    assert put.status_code == 204, put.text
    assert sha256((tmp_path / "x.bin").read_bytes()) == sha256(data)  # the same machine: the server's local desktop
    got = server.api("GET", files, params={"path": str(tmp_path / "x.bin")})
    assert got.status_code == 200 and got.headers["content-type"] == "application/octet-stream"
    assert int(got.headers["content-length"]) == len(data) and sha256(got.content) == sha256(data)

    put = server.api("PUT", files, params={"path": str(tmp_path / "new" / "y"), "parents": "1", "mode": "0640"}, content=b"y")
    assert put.status_code == 204 and oct((tmp_path / "new" / "y").stat().st_mode & 0o7777) == "0o640"

    big = str(tmp_path / "big")
    for body in (b"\0" * (MAX_FILE + 1), iter([b"\0" * (1 << 20)] * ((MAX_FILE >> 20) + 1))):  # a length, or chunks
        refused = server.api("PUT", files, params={"path": big}, content=body)
        assert refused.status_code == 413 and f"the limit is {MAX_FILE} bytes (MAX_FILE)" in refused.json()["message"]
        assert not Path(big).exists()

    missing = server.api("GET", files, params={"path": str(tmp_path / "missing")})
    assert missing.status_code == 404 and missing.json()["error"] == "NoSuchFileError"
    assert str(tmp_path / "missing") in missing.json()["message"]
    directory = server.api("DELETE", files, params={"path": str(tmp_path / "new")})
    assert directory.status_code == 400 and "recursive=True" in directory.json()["message"]
    assert server.api("DELETE", files, params={"path": str(tmp_path / "new"), "recursive": "1"}).status_code == 204
    assert not (tmp_path / "new").exists()

    for method, params, status in [
        ("GET", {}, 400),  # no path
        ("GET", {"path": ""}, 400),
        ("GET", {"path": "x" * 4097}, 400),
        ("GET", {"path": "a", "other": "1"}, 400),
        ("PUT", {"path": str(tmp_path / "m"), "mode": "999"}, 400),
        ("DELETE", {"path": str(tmp_path / "x.bin"), "recursive": "maybe"}, 400),
    ]:
        reply = server.api(method, files, params=params, content=b"" if method == "PUT" else None)
        assert reply.status_code == status, (method, params, reply.text)
    assert not (tmp_path / "m").exists() and (tmp_path / "x.bin").exists()
    kept = server.api("PUT", files, params={"path": str(tmp_path / "x.bin"), "exclusive": "1"}, content=b"other")
    assert kept.status_code == 409 and kept.json()["error"] == "ExistingFileError", kept.text

    for method in ("GET", "PUT", "DELETE"):
        unknown = server.api(method, "/nope/files", params={"path": str(tmp_path / "x.bin")}, content=b"z" if method == "PUT" else None)
        assert unknown.status_code == 404 and unknown.json()["error"] == "DesktopNotFoundError", unknown.text
        anonymous = httpx.request(method, f"{server.url}desktop/api/desktops{files}", params={"path": str(tmp_path / "x.bin")})
        assert anonymous.status_code == 403
    assert sha256((tmp_path / "x.bin").read_bytes()) == sha256(data)  # untouched by all of that
    ops = {o["op"] for o in server.api("GET", f"/{server.desktop_id}/call").json()}
    assert "remove_file" in ops and not ops & {"read_file", "write_file"}  # bytes: not on the generic route


def test_a_kernel_reads_and_writes_through_the_server(server: JupyterServer, monkeypatch, tmp_path: Path):
    monkeypatch.setenv("JUPYTER_DESKTOP_URL", server.url)
    monkeypatch.setenv("JUPYTER_DESKTOP_TOKEN", TOKEN)
    d = Desktop.attach(server.desktop_id)
    assert d._server_side
    seen = requests_of(d)
    data = payload()
    d.files.write(str(tmp_path / "k.bin"), data, mode=0o600)
    assert sha256((tmp_path / "k.bin").read_bytes()) == sha256(data) and (tmp_path / "k.bin").stat().st_mode & 0o777 == 0o600
    assert sha256(d.files.read(str(tmp_path / "k.bin"))) == sha256(data)
    d.files.write(str(tmp_path / "empty"), "")
    assert d.files.read(str(tmp_path / "empty")) == b""
    d.files.write(str(tmp_path / "t.txt"), "héllo")
    assert d.files.read_text(str(tmp_path / "t.txt")) == "héllo"
    assert [e["name"] for e in d.files.list(str(tmp_path))] == ["empty", "k.bin", "t.txt"]
    d.files.remove(str(tmp_path / "k.bin"))
    assert not (tmp_path / "k.bin").exists()
    assert [f"{m} {u.split('?')[0].rsplit('/', 1)[-1]}" for m, u in (s.split(" ", 1) for s in seen)] == ["PUT files", "GET files", "PUT files", "GET files", "PUT files", "GET files", "POST list_files", "POST remove_file"]
    # the server's errors, as their own classes
    with pytest.raises(NoSuchFileError, match="no such file"):
        d.files.read(str(tmp_path / "k.bin"))
    with pytest.raises(InvalidInputError, match="directory"):
        d.files.remove(str(tmp_path))
    d.files.write(str(tmp_path / "t.txt"), "again", exclusive=False)
    with pytest.raises(ExistingFileError, match="exists"):
        d.files.write(str(tmp_path / "t.txt"), "not this", exclusive=True)
    assert d.files.read_text(str(tmp_path / "t.txt")) == "again"
    # too big: refused in the kernel, before a byte goes up
    count = len(seen)
    with pytest.raises(InputLimitError, match="MAX_FILE"):
        d.files.write(str(tmp_path / "big"), b"\0" * (MAX_FILE + 1))
    with pytest.raises(InvalidInputError, match="path must be"):
        d.files.read("")
    assert len(seen) == count and not (tmp_path / "big").exists()
