"""Files dragged onto the desktop, in a real browser (Debian's Chromium through Playwright): the full-page viewer
(PUT .../files) and the notebook widget in JupyterLab (through the widget's comm to the kernel, which writes with
desktop.files.write), with the desktop in the Jupyter server and in the kernel. The drop is a DataTransfer made in
the page, dispatched on the screen's canvas as the browser would (dragenter, dragover, drop); what lands in the
desktop's ~/Desktop is compared byte for byte. Every desktop here has a HOME of the test's own (tmp_path).

Needs /usr/bin/chromium; skipped without it unless JUPYTER_DESKTOP_REQUIRE_BROWSER=1.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..harness.browser import skip_without_chromium
from ..harness.lab_notebook import open_notebook, show, start, widget_selector
from ..harness.server import JupyterServer

skip_without_chromium()

MiB = 1 << 20


def payload(size: int) -> bytes:
    """Every byte value, then random bytes."""
    head = bytes(range(256)) + bytes(range(255, -1, -1))
    return (head + os.urandom(max(0, size - len(head))))[:size]


def files_handle(page, files: dict[str, bytes] | None = None, text: str | None = None):
    """A DataTransfer in the page holding ``files`` (or only ``text``: a drag of text)."""
    return page.evaluate_handle(
        """([files, text]) => {
            const dt = new DataTransfer();
            if (text !== null) dt.setData('text/plain', text);
            for (const [name, b64] of files) {
                const bin = atob(b64);
                const bytes = new Uint8Array(bin.length);
                for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
                dt.items.add(new File([bytes], name));
            }
            return dt;
        }""",
        [[[name, base64.b64encode(data).decode()] for name, data in (files or {}).items()], text],
    )


def drag_over(page, target: str, dt) -> None:
    page.dispatch_event(target, "dragenter", {"dataTransfer": dt})
    page.dispatch_event(target, "dragover", {"dataTransfer": dt})


def drop(page, target: str, dt) -> None:
    drag_over(page, target, dt)
    page.dispatch_event(target, "drop", {"dataTransfer": dt})


def note_says(page, selector: str, text: str, timeout: float = 60000) -> None:
    page.wait_for_function(
        "([sel, text]) => { const n = document.querySelector(sel); return !!n && n.textContent === text; }",
        arg=[selector, text],
        timeout=timeout,
    )


def listing(home: Path) -> list[str]:
    folder = home / "Desktop"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


# ------------------------------------------------------------------------------------------ the viewer page


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "home").mkdir()
    return tmp_path / "home"


@pytest.fixture
def desktop(server: JupyterServer, home: Path) -> Iterator[str]:
    response = server.api("POST", json={"profile": "none", "width": 640, "height": 480, "env": {"HOME": str(home)}})
    assert response.status_code == 201, response.text
    desktop_id = response.json()["id"]
    yield desktop_id
    server.api("DELETE", f"/{desktop_id}")


def test_viewer_uploads_dropped_files_to_desktop_folder(page, server: JupyterServer, desktop: str, home: Path):
    page.goto(server.url + f"desktop/{desktop}/")
    page.wait_for_selector("#jupyter-desktop[data-state=connected]", timeout=30000)
    canvas = ".jd-screen canvas"
    overlay = page.locator(".jd-drop")

    # a drag of text: no overlay, nothing taken from noVNC or the browser
    drag_over(page, canvas, files_handle(page, text="just text"))
    assert overlay.is_hidden()

    data = payload(MiB + 4321)
    dt = files_handle(page, {"data.bin": data, "notes.txt": b"first"})
    drag_over(page, canvas, dt)
    assert overlay.is_visible() and overlay.inner_text().startswith("Drop to upload to ~/Desktop")
    page.dispatch_event(canvas, "drop", {"dataTransfer": dt})
    assert overlay.is_hidden()
    # no ~/Desktop yet: the listing says so, the PUT creates it
    note_says(page, ".jd-toast", "Uploaded data.bin to ~/Desktop/data.bin, notes.txt to ~/Desktop/notes.txt.")
    assert (home / "Desktop" / "data.bin").read_bytes() == data
    assert (home / "Desktop" / "notes.txt").read_bytes() == b"first"

    # the same name again: numbered, the first one kept
    drop(page, canvas, files_handle(page, {"notes.txt": b"second"}))
    note_says(page, ".jd-toast", "Uploaded notes.txt to ~/Desktop/notes (1).txt.")
    assert (home / "Desktop" / "notes (1).txt").read_bytes() == b"second"
    assert (home / "Desktop" / "notes.txt").read_bytes() == b"first"

    # view only: refused, saying so, nothing written
    page.click("button[aria-label='View only']")
    drag_over(page, canvas, files_handle(page, {"vo.txt": b"no"}))
    assert overlay.get_attribute("data-tone") == "error" and "View only" in overlay.inner_text()
    page.dispatch_event(canvas, "drop", {"dataTransfer": files_handle(page, {"vo.txt": b"no"})})
    note_says(page, ".jd-toast", "View only: turn it off to upload files to the desktop.")
    assert listing(home) == ["data.bin", "notes (1).txt", "notes.txt"]
    assert page.url.endswith(f"desktop/{desktop}/")  # the browser never opened a dropped file in place of the page


# ------------------------------------------------------------------------------------------ the notebook widget


@pytest.mark.parametrize(("which", "server_side"), [("lab", True), ("lab_without_extension", False)])
def test_widget_uploads_dropped_files_through_the_kernel(browser, request, which: str, server_side: bool, home: Path, tmp_path):
    lab = request.getfixturevalue(which)
    context, nb = open_notebook(browser, lab, f"upload-{which}.ipynb")
    page = nb.page
    try:
        desktop_id = start(nb, lab.started, "d", f"profile='none', width=640, height=400, env={{'HOME': {str(home)!r}}}")
        assert nb.value("d._server_side") is server_side
        show(nb, "d", desktop_id, "websocket" if server_side else "tunnel")
        canvas = widget_selector(desktop_id) + " .jd-screen canvas"
        note = widget_selector(desktop_id) + " .jd-note"

        data = payload(2 * MiB + 777)  # three chunks through the comm
        (home / "Desktop").mkdir()
        (home / "Desktop" / "data.bin").write_bytes(b"already here")
        drop(page, canvas, files_handle(page, {"data.bin": data, "empty.txt": b""}))
        note_says(page, note, "Uploaded data.bin to ~/Desktop/data (1).bin, empty.txt to ~/Desktop/empty.txt.")
        assert (home / "Desktop" / "data (1).bin").read_bytes() == data
        assert (home / "Desktop" / "data.bin").read_bytes() == b"already here"
        assert (home / "Desktop" / "empty.txt").read_bytes() == b""
        # and the desktop itself reads the same bytes
        assert nb.value("__import__('hashlib').sha256(d.files.read('Desktop/data (1).bin')).hexdigest()") == (
            __import__("hashlib").sha256(data).hexdigest()
        )

        # view only, set from Python: refused in the browser, nothing sent
        nb.run("d.view().view_only = True")
        page.wait_for_selector(widget_selector(desktop_id) + ".jd-view-only")
        drop(page, canvas, files_handle(page, {"vo.txt": b"no"}))
        note_says(page, note, "View only: turn it off to upload files to the desktop.")
        nb.run("d.view().view_only = False")
        assert listing(home) == ["data (1).bin", "data.bin", "empty.txt"]
        nb.run("d.close()", timeout=90)
        assert not nb.errors, nb.errors
    except BaseException:
        page.screenshot(path=str(tmp_path / "failure.png"))
        raise
    finally:
        context.close()
