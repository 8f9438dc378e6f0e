"""Files dropped on the notebook widget, the kernel's side (jupyter_desktop/upload.py): the view's comm messages, as
js/src/upload.js sends them, fed to a real DesktopView of a real local desktop whose HOME is this module's own
folder (so what lands in ~/Desktop lands there, and nothing of this machine's home is touched).

The browser's side, and the two together through JupyterLab: js/test/upload.test.js, tests/browser/test_upload_browser.py.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_desktop import Desktop
from jupyter_desktop.session import MAX_FILE
from jupyter_desktop.upload import MAX_PENDING, check_name, free_name

from .harness.widget import FakeFrontEnd

CHUNK = 1 << 20


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="module")
def desktop(home: Path) -> Iterator[Desktop]:
    os.environ.pop("JUPYTER_DESKTOP_URL", None)
    with Desktop("none", width=320, height=200, env={"HOME": str(home)}) as d:
        yield d


@pytest.fixture
def front(desktop: Desktop, home: Path, monkeypatch) -> Iterator[FakeFrontEnd]:
    view = desktop.view()
    view.view_only = False
    yield FakeFrontEnd(view, monkeypatch)
    view.view_only = False
    view._uploads.clear()
    for p in (home / "Desktop").glob("*") if (home / "Desktop").is_dir() else []:
        p.unlink()


def payload(size: int) -> bytes:
    """Every byte value, then random bytes."""
    head = bytes(range(256)) + bytes(range(255, -1, -1))
    return (head + os.urandom(max(0, size - len(head))))[:size]


def answers(front: FakeFrontEnd, upload_id: str) -> list[dict]:
    return [e for e in front.events if e.get("type") == "upload" and e.get("id") == upload_id]


def send_file(front: FakeFrontEnd, upload_id: str, name: str, data: bytes, chunk: int = CHUNK) -> dict:
    """What CommUploads does: start, chunks, end; returns the kernel's last answer."""
    front.post({"type": "upload", "op": "start", "id": upload_id, "name": name, "size": len(data)})
    for offset in range(0, len(data), chunk):
        front.post({"type": "upload", "op": "chunk", "id": upload_id, "offset": offset}, data[offset : offset + chunk])
    front.post({"type": "upload", "op": "end", "id": upload_id})
    return answers(front, upload_id)[-1]


def sha256_on_desktop(d: Desktop, path: str) -> str:
    return d.run(["sha256sum", "--", path]).check().stdout.split()[0]


def test_a_file_in_chunks_lands_byte_for_byte_in_desktop(desktop: Desktop, front: FakeFrontEnd, home: Path):
    data = payload(2 * CHUNK + 12345)  # three chunks, the last one short
    assert send_file(front, "u1", "report.bin", data) == {
        "type": "upload", "op": "done", "id": "u1", "name": "report.bin", "path": "~/Desktop/report.bin"
    }  # fmt: skip
    acks = [e["received"] for e in answers(front, "u1") if e["op"] == "ack"]
    assert acks == [0, CHUNK, 2 * CHUNK, len(data)]  # one per message: the browser's window moves on them
    assert sha256_on_desktop(desktop, f"{home}/Desktop/report.bin") == hashlib.sha256(data).hexdigest()
    assert desktop.files.read("Desktop/report.bin") == data
    assert not desktop.view()._uploads._pending  # nothing held once written


def test_a_taken_name_gets_a_number(desktop: Desktop, front: FakeFrontEnd, home: Path):
    assert send_file(front, "a", "notes.txt", b"first")["path"] == "~/Desktop/notes.txt"
    assert send_file(front, "b", "notes.txt", b"second")["path"] == "~/Desktop/notes (1).txt"
    assert send_file(front, "c", "notes.txt", b"third")["path"] == "~/Desktop/notes (2).txt"
    assert send_file(front, "d", ".hidden", b"")["path"] == "~/Desktop/.hidden"  # an empty file: start and end
    assert send_file(front, "e", ".hidden", b"x")["path"] == "~/Desktop/.hidden (1)"
    assert (home / "Desktop" / "notes.txt").read_bytes() == b"first"  # never overwritten
    assert (home / "Desktop" / "notes (2).txt").read_bytes() == b"third"
    assert (home / "Desktop" / ".hidden").read_bytes() == b""


def test_a_file_made_meanwhile_is_not_replaced(desktop: Desktop, front: FakeFrontEnd, home: Path, monkeypatch):
    """A file of the free name appears between the kernel's listing of ~/Desktop and its write (another view's
    upload, an app): the write is exclusive, so the upload takes the next free name and the file stays."""
    files = desktop.view()._uploads._files
    listed = files.list

    def list_then_someone_writes(path: str) -> list:
        entries = listed(path)
        (home / "Desktop").mkdir(exist_ok=True)
        (home / "Desktop" / "race.txt").write_bytes(b"made meanwhile")
        return entries

    monkeypatch.setattr(files, "list", list_then_someone_writes)
    assert send_file(front, "r", "race.txt", b"uploaded")["path"] == "~/Desktop/race (1).txt"
    assert (home / "Desktop" / "race.txt").read_bytes() == b"made meanwhile"
    assert (home / "Desktop" / "race (1).txt").read_bytes() == b"uploaded"


def listing(home: Path) -> list[str]:
    folder = home / "Desktop"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def refusal(front: FakeFrontEnd, upload_id: str) -> str:
    last = answers(front, upload_id)[-1]
    assert last["op"] == "error", last
    return last["message"]


def test_refusals_write_nothing(desktop: Desktop, front: FakeFrontEnd, home: Path):
    before = listing(home)
    post = front.post
    # too big, said at the start: no ack, so the browser sends no byte
    post({"type": "upload", "op": "start", "id": "big", "name": "big.iso", "size": MAX_FILE + 1})
    assert "MAX_FILE" in refusal(front, "big") and "64 MiB" in refusal(front, "big")
    assert [e["op"] for e in answers(front, "big")] == ["error"]
    # names
    for i, name in enumerate(["a/b", "", "..", "nul\0name", "x" * 256, None]):
        post({"type": "upload", "op": "start", "id": f"n{i}", "name": name, "size": 1})
        assert answers(front, f"n{i}")[-1]["op"] == "error", name
    # more bytes than announced: refused at the chunk, and what was held is dropped
    post({"type": "upload", "op": "start", "id": "over", "name": "over.bin", "size": 10})
    post({"type": "upload", "op": "chunk", "id": "over", "offset": 0}, b"x" * 11)
    assert "more bytes than the 10 announced" in refusal(front, "over")
    post({"type": "upload", "op": "end", "id": "over"})
    assert "no such upload" in refusal(front, "over")
    # fewer bytes than announced at the end
    post({"type": "upload", "op": "start", "id": "short", "name": "short.bin", "size": 10})
    post({"type": "upload", "op": "chunk", "id": "short", "offset": 0}, b"x" * 4)
    post({"type": "upload", "op": "end", "id": "short"})
    assert "4 bytes came of the 10 announced" in refusal(front, "short")
    # a chunk out of order
    post({"type": "upload", "op": "start", "id": "order", "name": "order.bin", "size": 10})
    post({"type": "upload", "op": "chunk", "id": "order", "offset": 5}, b"x" * 5)
    assert "expected 0" in refusal(front, "order")
    # aborted by the view
    post({"type": "upload", "op": "start", "id": "gone", "name": "gone.bin", "size": 2})
    post({"type": "upload", "op": "chunk", "id": "gone", "offset": 0}, b"ab")
    post({"type": "upload", "op": "abort", "id": "gone"})
    post({"type": "upload", "op": "end", "id": "gone"})
    assert "no such upload" in refusal(front, "gone")
    # view only: refused, whatever the browser let through
    desktop.view().view_only = True
    post({"type": "upload", "op": "start", "id": "vo", "name": "vo.bin", "size": 1})
    assert "view only" in refusal(front, "vo")
    assert listing(home) == before
    assert not desktop.view()._uploads._pending


def test_at_most_max_pending_files_are_held(desktop: Desktop, front: FakeFrontEnd, home: Path):
    """A view that went away mid-upload leaves its bytes: the oldest go when more uploads start."""
    for i in range(MAX_PENDING + 1):
        front.post({"type": "upload", "op": "start", "id": f"p{i}", "name": f"p{i}.bin", "size": 3})
        front.post({"type": "upload", "op": "chunk", "id": f"p{i}", "offset": 0}, b"abc")
    assert list(desktop.view()._uploads._pending) == [f"p{i}" for i in range(1, MAX_PENDING + 1)]
    front.post({"type": "upload", "op": "end", "id": "p0"})
    assert "no such upload" in refusal(front, "p0")
    front.post({"type": "upload", "op": "end", "id": f"p{MAX_PENDING}"})
    assert answers(front, f"p{MAX_PENDING}")[-1]["path"] == f"~/Desktop/p{MAX_PENDING}.bin"
    assert (home / "Desktop" / f"p{MAX_PENDING}.bin").read_bytes() == b"abc"


def test_names():
    assert check_name("été 2024.txt") == "été 2024.txt"
    assert free_name("a.tar.gz", {"a.tar.gz"}) == "a.tar (1).gz"
    assert free_name("Makefile", {"Makefile", "Makefile (1)"}) == "Makefile (2)"
    assert free_name("x", set()) == "x"
