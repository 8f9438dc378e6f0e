"""A person's run recorded through a real browser (Debian's Chromium through Playwright) on the full-page viewer of a
real `jupyter server` with a real desktop: the viewer's record button starts the server's recording, the person
clicks into an xterm and types a line (the xterm writes what it gets to a file: the effect), the button stops it.
The recording's steps are what the person did, where they did it; its screenshots show the effect (tesseract); its
video is valid (ffprobe); the list page lists it, downloads it as a zip in the browser and deletes it.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from jupyter_desktop import Trajectory

from ..conftest import CLEAN_SHELL, eventually, ocr
from ..harness.browser import skip_without_chromium
from ..harness.recording import probe
from ..harness.server import JupyterServer

skip_without_chromium()


def test_a_person_recorded_through_the_viewer(page, server: JupyterServer, tmp_path: Path) -> None:
    created = server.api("POST", json={"profile": "openbox", "width": 800, "height": 600})
    assert created.status_code == 201, created.text
    desktop_id = created.json()["id"]
    lines = tmp_path / "lines.txt"
    lines.touch()
    script = f'while IFS= read -r line; do printf "%s\\n" "$line" >> {lines}; done'
    command = ["xterm", "-fa", "Monospace", "-fs", "16", "-geometry", "50x8+0+0", "-T", "typed", "-e", *CLEAN_SHELL, "-c", script]
    assert server.api("POST", f"/{desktop_id}/processes", json={"command": command}).status_code == 201
    eventually(lambda: any(w["title"] == "typed" for w in server.api("GET", f"/{desktop_id}/windows").json()), what="xterm")
    try:
        # the viewer shows the desktop 1:1 (it resizes the desktop to the window): a click at (x, y) of the canvas
        # is (x, y) on the desktop
        page.goto(server.url + f"desktop/{desktop_id}/")
        page.wait_for_selector("#jupyter-desktop[data-state=connected]", timeout=30000)
        record = page.get_by_role("button", name="Record")
        record.click()
        page.wait_for_selector("button.jd-record[aria-pressed=true]", timeout=30000)
        live = server.api("GET", f"/{desktop_id}/recording").json()
        name = live["name"]
        assert live["recording"] and name.startswith(f"{desktop_id}-")

        box = page.locator(".jd-screen canvas").bounding_box()
        page.mouse.click(box["x"] + 120.5, box["y"] + 60.5)
        page.keyboard.type("hello-recorded")
        page.keyboard.press("Enter")
        eventually(lambda: "hello-recorded" in lines.read_text(), what="the typed line in the xterm")

        record.click()
        page.wait_for_selector("button.jd-record[aria-pressed=false]", timeout=60000)
        assert "Recorded" in page.inner_text(".jd-note")
        assert server.api("GET", f"/{desktop_id}/recording").status_code == 204  # not recording

        folder = server.root / "desktop-recordings" / name
        t = Trajectory(folder)
        acted = [s for s in t.steps if s.source != "periodic"]
        assert [(s.source, s.actions) for s in acted] == [
            ("human", [{"action": "click", "x": 120, "y": 60, "button": "left", "count": 1, "modifiers": []}]),
            ("human", [{"action": "type", "text": "hello-recorded\n"}]),
        ], [s.to_dict() for s in t.steps]
        typed = acted[1]
        seen = lambda name: ocr(t.image(name), tmp_path).replace(" ", "")  # noqa: E731  (tesseract splits "hello- recorded")
        assert "hello-recorded" not in seen(typed.before)
        assert "hello-recorded" in seen(typed.after)
        # one segment: nothing on the page resized the desktop meanwhile (the button's note is a toast over the
        # screen, not a toolbar item that could wrap the toolbar and shrink the stage)
        assert [s["file"] for s in t.meta["video"]["segments"]] == ["video.mp4"]
        info = probe(folder / "video.mp4")
        width, height = t.meta["desktop"]["width"], t.meta["desktop"]["height"]
        assert (info["codec_name"], info["width"], info["height"]) == ("h264", width + width % 2, height + height % 2)
        assert int(info["nb_read_frames"]) >= 2 and info["duration"] > 0

        # the list page: the recording, its zip downloaded by the browser, then deleted
        page.goto(server.url + "desktop/")
        row = page.locator(f".jd-recordings tr[data-recording='{name}']")
        row.wait_for(timeout=30000)
        assert f"{len(t.steps)}" in row.inner_text()
        with page.expect_download() as download:
            row.get_by_role("link", name="Download").click()
        archive = tmp_path / "download.zip"
        download.value.save_as(archive)
        with zipfile.ZipFile(archive) as z:
            assert z.read(f"{name}/trajectory.jsonl") == (folder / "trajectory.jsonl").read_bytes()
            assert z.read(f"{name}/video.mp4") == (folder / "video.mp4").read_bytes()
        row.get_by_role("button", name="Delete").click()  # confirm() is accepted by the fixture
        row.wait_for(state="detached", timeout=30000)
        assert not folder.exists()
    finally:
        server.api("DELETE", f"/{desktop_id}")
