"""Recordings the server makes (jupyter_desktop/server/recordings.py) on a real `jupyter server` with real desktops:
a person's input through the server's RFB proxy and a program's REST batches become steps that match what was
done (checked by their effects on the desktop: an xterm appending the lines it gets to a file, tesseract on the
screenshots), the video is valid (ffprobe), the REST routes refuse bad requests with 4xx naming what is wrong, a
kernel's ``Desktop.record`` on a server-held desktop is the server's recording, and an in-process desktop records
the input of a notebook widget that reaches it through the kernel's tunnel."""

from __future__ import annotations

import contextlib
import io
import json
import os
import struct
import zipfile
from pathlib import Path

import httpx
import pytest

from jupyter_desktop import Desktop, InvalidInputError, Trajectory
from jupyter_desktop.rfb import RFBClient

from .conftest import CLEAN_SHELL, ocr, run_async
from .harness.server import TOKEN, JupyterServer
from .harness.waiting import eventually
from .harness.widget import FakeFrontEnd
from .harness.recording import probe, processes_writing

RETURN = 0xFF0D


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = JupyterServer(tmp_path_factory.mktemp("rec-server"), config="c.DesktopExtension.recording_max_bytes = 64 << 20\n")
    yield srv
    srv.shutdown()


@pytest.fixture
def as_kernel(server, monkeypatch):
    """This process finds the server as a kernel of it does."""
    monkeypatch.setenv("JUPYTER_DESKTOP_URL", server.url)
    monkeypatch.setenv("JUPYTER_DESKTOP_TOKEN", TOKEN)


def recordings(server: JupyterServer, path: str = "", method: str = "GET", **kwargs) -> httpx.Response:
    return server.request(method, "desktop/api/recordings" + path, **kwargs)


@pytest.fixture
def desk(server: JupyterServer, tmp_path: Path):
    """A desktop whose focused xterm appends every line it gets to a file: (id, that file)."""
    response = server.api("POST", json={"profile": "openbox", "width": 800, "height": 600})
    assert response.status_code == 201, response.text
    desktop_id = response.json()["id"]
    lines = tmp_path / "lines.txt"
    lines.touch()
    script = f'while IFS= read -r line; do printf "%s\\n" "$line" >> {lines}; done'
    command = ["xterm", "-fa", "Monospace", "-fs", "14", "-geometry", "60x10+0+0", "-T", "rec-target", "-e", *CLEAN_SHELL, "-c", script]
    assert server.api("POST", f"/{desktop_id}/processes", json={"command": command}).status_code == 201
    eventually(lambda: any(w["title"] == "rec-target" for w in server.api("GET", f"/{desktop_id}/windows").json()), what="xterm")
    yield desktop_id, lines
    server.api("DELETE", f"/{desktop_id}")


def ws_url(server: JupyterServer, desktop_id: str, query: str = "") -> str:
    return server.url.replace("http", "ws", 1) + f"desktop/api/desktops/{desktop_id}/vnc{query}"


def keysyms(text: str) -> list[int]:
    return [RETURN if ch == "\n" else ord(ch) for ch in text]


async def person(server: JupyterServer, desktop_id: str, click: tuple[int, int], text: str, query: str = "") -> None:
    """What a viewer sends when a person clicks and types: RFB pointer and key events through the server's proxy."""
    rfb = await RFBClient.open_websocket(ws_url(server, desktop_id, query), headers=server.auth, timeout=20, resizable=False)
    try:
        for mask in (0, 1, 0):
            rfb.pointer_event(*click, mask)
        for sym in keysyms(text):
            rfb.key_event(sym, True)
            rfb.key_event(sym, False)
        await rfb.flush()
        await rfb.sync()  # the proxy passed everything on before the connection closes
    finally:
        await rfb.close()


def test_a_person_and_a_program_recorded_by_the_server(server, desk, tmp_path):
    desktop_id, lines = desk
    response = server.api("POST", f"/{desktop_id}/recording", json={"name": "run-1", "every": 0.5})
    assert response.status_code == 201, response.text
    assert response.json()["recording"] is True and response.json()["name"] == "run-1"
    folder = server.root / "desktop-recordings" / "run-1"
    assert processes_writing(folder), "ffmpeg should be recording"
    # a second recording of the same desktop is refused while this one runs
    second = server.api("POST", f"/{desktop_id}/recording", json={})
    assert second.status_code == 409 and "already recording" in second.json()["message"]

    run_async(person(server, desktop_id, (200, 100), "echo person-1\n"), 60)
    eventually(lambda: "person-1" in lines.read_text(), what="the person's line in the xterm")
    # a program's own RFB connection (a kernel's Desktop says ?source=agent) is an agent's
    run_async(person(server, desktop_id, (210, 90), "", query="?source=agent"), 60)
    batch = [{"action": "type", "text": "echo program-2\n"}]
    assert server.api("POST", f"/{desktop_id}/actions", json={"actions": batch}).status_code == 204
    eventually(lambda: "program-2" in lines.read_text(), what="the program's line")
    bad = [{"action": "click", "x": 5000, "y": 1}]
    refused = server.api("POST", f"/{desktop_id}/actions", json={"actions": bad})
    assert refused.status_code == 400
    # a change no input made (a program's own drawing) comes as a periodic step (every=0.5), once the steps
    # before it have their "after" screens (else the change is in the last one's)
    eventually(lambda: len(recordings(server, "/run-1").json()["steps"]) >= 5, timeout=30, what="five steps written")
    assert server.api("POST", f"/{desktop_id}/exec", json={"command": "xsetroot -solid '#336699'"}).json()["returncode"] == 0

    def periodic() -> list[dict]:
        return [s for s in recordings(server, "/run-1").json()["steps"] if s["source"] == "periodic"]

    eventually(periodic, timeout=30, what="a periodic step")
    assert periodic()[-1]["before"] is None and periodic()[-1]["actions"] == []
    live = server.api("GET", f"/{desktop_id}/recording").json()
    assert live["recording"] is True and live["name"] == "run-1"
    assert recordings(server, "/run-1/download").status_code == 409  # its video is not finished

    summary = server.api("DELETE", f"/{desktop_id}/recording").json()
    assert summary["recording"] is False and summary["error"] is None and summary["stopped"] == "stop()"
    assert processes_writing(folder) == []
    assert server.api("GET", f"/{desktop_id}/recording").status_code == 204

    t = Trajectory(folder)
    acted = sorted((s for s in t.steps if s.source != "periodic"), key=lambda s: s.time)
    assert [(s.source, s.actions) for s in acted] == [
        ("human", [{"action": "click", "x": 200, "y": 100, "button": "left", "count": 1, "modifiers": []}]),
        ("human", [{"action": "type", "text": "echo person-1\n"}]),
        ("agent", [{"action": "click", "x": 210, "y": 90, "button": "left", "count": 1, "modifiers": []}]),
        ("agent", batch),
        ("agent", bad),
    ], [s.to_dict() for s in acted]
    assert acted[-1].error is not None and acted[-1].error.startswith("InvalidInputError: ")
    assert all(s.error is None for s in acted[:-1])
    # the screens: before the person typed, no line; after, the line; the program's after shows its line too
    typed = acted[1]
    assert "person-1" not in ocr(t.image(typed.before), tmp_path)
    assert "person-1" in ocr(t.image(typed.after), tmp_path)
    assert "program-2" not in ocr(t.image(acted[3].before), tmp_path)
    assert "program-2" in ocr(t.image(acted[3].after), tmp_path)
    info = probe(folder / "video.mp4")
    assert (info["codec_name"], info["width"], info["height"]) == ("h264", 800, 600)
    assert abs(info["duration"] - (t.meta["end"] - t.meta["start"])) < 0.5 and int(info["nb_read_frames"]) >= 2

    # read back over REST: the list, the steps, a file with a range (a <video> seeks), the zip
    listed = recordings(server).json()
    assert [r["name"] for r in listed if r["name"] == "run-1"] == ["run-1"]
    details = recordings(server, "/run-1", params={"offset": 1, "limit": 2}).json()
    assert details["total_steps"] == len(t.steps) and [s["step"] for s in details["steps"]] == [1, 2]
    video = (folder / "video.mp4").read_bytes()
    part = recordings(server, "/run-1/files/video.mp4", headers={"Range": "bytes=10-99"})
    assert part.status_code == 206 and part.content == video[10:100]
    shot = recordings(server, f"/run-1/files/{typed.after}")
    assert shot.status_code == 200 and shot.content == (folder / typed.after).read_bytes()
    download = recordings(server, "/run-1/download")
    assert download.status_code == 200 and download.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        assert archive.read("run-1/video.mp4") == video
        assert archive.read("run-1/trajectory.jsonl") == (folder / "trajectory.jsonl").read_bytes()
        assert sorted(archive.namelist()) == sorted(f"run-1/{p.relative_to(folder)}" for p in folder.rglob("*") if p.is_file())
    assert recordings(server, "/run-1", "DELETE").status_code == 204
    assert not folder.exists() and recordings(server, "/run-1").status_code == 404


def test_bad_requests_are_refused_with_what_to_do(server, desk, tmp_path):
    desktop_id, _ = desk
    api = f"/{desktop_id}/recording"
    cases = [
        ({"name": "../up"}, 400, "name"),
        ({"name": ".hidden"}, 400, "name"),
        ({"name": "x" * 101}, 400, "name"),
        ({"name": "a", "path": "b"}, 400, "either"),
        ({"path": "/etc/recording"}, 400, "root directory"),
        ({"path": "../outside"}, 400, "root directory"),
        ({"path": "."}, 400, "not an empty folder"),  # the root directory itself: its files stay untouched
        ({"max_bytes": 1 << 40}, 429, "recording_max_bytes"),
        ({"max_bytes": 10}, 400, "max_bytes"),
        ({"fps": 1000}, 400, "fps"),
        ({"every": 0}, 400, "every"),
        ({"colour": "red"}, 400, "unknown field"),
    ]
    for body, status, words in cases:
        response = server.api("POST", api, json=body)
        assert response.status_code == status and words in response.json()["message"], (body, response.status_code, response.text)
    assert not any(p.name == "up" for p in server.root.parent.iterdir())
    assert server.api("GET", api).status_code == 204  # not recording
    stop = server.api("DELETE", api)
    assert stop.status_code == 404 and "not recording" in stop.json()["message"]
    assert server.api("POST", "/nope/recording", json={}).status_code == 404
    for path in ("/nope", "/nope/download", "/nope/files/meta.json", "/..%2F..%2Fetc/files/passwd", "/.x/files/meta.json"):
        assert recordings(server, path).status_code == 404, path
    assert recordings(server, "/nope", params={"limit": -1}).status_code == 400

    # a name taken; a file outside the recording is not served through it
    assert server.api("POST", api, json={"name": "taken", "video": False}).status_code == 201
    assert server.api("DELETE", api).status_code == 200
    again = server.api("POST", api, json={"name": "taken"})
    assert again.status_code == 409 and "exists already" in again.json()["message"]
    (server.root / "secret.txt").write_text("not yours")
    assert recordings(server, "/taken/files/..%2F..%2Fsecret.txt").status_code in (403, 404)
    assert recordings(server, "/taken/files/meta.json").status_code == 200
    assert recordings(server, "/taken/files/meta.json", headers={"Authorization": ""}).status_code in (302, 403)
    assert recordings(server, "/taken", "DELETE").status_code == 204


def test_downloads_at_once_are_limited(server, tmp_path):
    """MAX_DOWNLOADS zips stream at once (each held open here by a client that reads nothing: a slow browser); the
    next is told to try again (429) and gets its zip once one ended."""
    from jupyter_desktop.server.recordings import MAX_DOWNLOADS

    desktop_id = server.api("POST", json={"profile": "none", "width": 640, "height": 400}).json()["id"]
    try:
        assert server.api("POST", f"/{desktop_id}/recording", json={"name": "big", "video": False}).status_code == 201
        assert server.api("DELETE", f"/{desktop_id}/recording").status_code == 200
    finally:
        server.api("DELETE", f"/{desktop_id}")
    # a recording's video can be hundreds of MB: more than the sockets' buffers hold
    (server.root / "desktop-recordings" / "big" / "video.mp4").write_bytes(os.urandom(64 << 20))
    url = server.url + "desktop/api/recordings/big/download"
    with contextlib.ExitStack() as stack:
        client = stack.enter_context(httpx.Client(headers=server.auth, timeout=60))
        for _ in range(MAX_DOWNLOADS):
            assert stack.enter_context(client.stream("GET", url)).status_code == 200
        refused = httpx.get(url, headers=server.auth, timeout=60)
        assert refused.status_code == 429 and "MAX_DOWNLOADS" in refused.json()["message"], refused.text
    done = eventually(lambda: (r := recordings(server, "/big/download")).status_code == 200 and r, what="a download once the others ended")
    with zipfile.ZipFile(io.BytesIO(done.content)) as archive:
        assert archive.read("big/video.mp4") == (server.root / "desktop-recordings" / "big" / "video.mp4").read_bytes()
    assert recordings(server, "/big", "DELETE").status_code == 204


def test_deleting_the_desktop_ends_its_recording(server, tmp_path):
    desktop_id = server.api("POST", json={"profile": "none", "width": 640, "height": 400}).json()["id"]
    assert server.api("POST", f"/{desktop_id}/recording", json={"name": "ended"}).status_code == 201
    folder = server.root / "desktop-recordings" / "ended"
    assert server.api("DELETE", f"/{desktop_id}").status_code == 204
    assert processes_writing(folder) == []
    t = Trajectory(folder)
    assert t.meta["end"] is not None and t.meta["stopped"] == "stop()"
    assert probe(folder / "video.mp4")["width"] == 640
    assert recordings(server, "/ended").json()["recording"] is False


def test_desktop_record_in_a_kernel_is_the_servers_recording(server, as_kernel, tmp_path):
    with Desktop(profile="none", width=640, height=400) as d:
        assert d._server_side
        with pytest.raises(InvalidInputError, match="root directory"):
            d.record(tmp_path / "outside")
        folder = server.root / "from-kernel"
        with d.record(folder, video=False) as rec:
            assert type(rec).__name__ == "RemoteRecorder" and rec.recording
            d.left_click(10, 20)
            d.write("hi")
            run_async(person(server, d.id, (30, 40), "yo"), 60)
            eventually(lambda: len([s for s in rec.steps if s.source == "human"]) == 1, timeout=30, what="the person's click")
        assert not rec.recording
        steps = sorted(Trajectory(folder).steps, key=lambda s: s.time)
        assert [(s.source, s.actions) for s in steps] == [
            ("agent", [{"action": "click", "button": "left", "count": 1, "modifiers": [], "x": 10, "y": 20}]),
            ("agent", [{"action": "type", "text": "hi", "delay": 0.0}]),
            ("human", [{"action": "click", "x": 30, "y": 40, "button": "left", "count": 1, "modifiers": []}]),
            ("human", [{"action": "type", "text": "yo"}]),
        ], [s.to_dict() for s in steps]
        # recording over, input goes over RFB again; a new recording is allowed
        assert not d._session.recording
        d.left_click(1, 1)
        assert len(Trajectory(folder).steps) == 4


def tunnel_handshake(front: FakeFrontEnd) -> tuple[int, int]:
    front.post({"type": "tunnel", "op": "open", "channel": "t"})
    assert front.read(12) == b"RFB 003.008\n"
    send = lambda data: front.post({"type": "tunnel", "op": "data", "channel": "t"}, data)  # noqa: E731
    send(b"RFB 003.008\n")
    assert 1 in front.read(front.read(1)[0])
    send(b"\x01")
    assert front.read(4) == b"\0\0\0\0"
    send(b"\x01")  # ClientInit
    width, height = struct.unpack(">HH", front.read(4))
    return width, height


def test_an_in_process_desktop_records_the_widget_tunnels_input(monkeypatch, tmp_path):
    """No server: the notebook widget reaches the desktop through the kernel's comm tunnel, which records."""
    monkeypatch.setenv("JUPYTER_DESKTOP_URL", "http://127.0.0.1:9/")  # nobody listens: the desktop runs here
    monkeypatch.delenv("JUPYTER_DESKTOP_TOKEN", raising=False)
    with Desktop(profile="none", width=640, height=400) as d:
        assert not d._server_side
        front = FakeFrontEnd(d.view(), monkeypatch)
        assert tunnel_handshake(front) == (640, 400)
        send = lambda data: front.post({"type": "tunnel", "op": "data", "channel": "t"}, data)  # noqa: E731
        with d.record(tmp_path / "tunnel", video=False) as rec:
            d.left_click(5, 6)
            for mask in (0, 1, 0):
                send(struct.pack(">BBHH", 5, mask, 50, 60))
            for sym in keysyms("ok"):
                send(struct.pack(">BBxxI", 4, 1, sym) + struct.pack(">BBxxI", 4, 0, sym))
            eventually(lambda: len(rec.steps) >= 2, timeout=30, what="the click handed over")
        front.post({"type": "tunnel", "op": "close", "channel": "t"})
        assert [(s.source, s.actions) for s in rec.steps] == [
            ("agent", [{"action": "click", "button": "left", "count": 1, "modifiers": [], "x": 5, "y": 6}]),
            ("human", [{"action": "click", "x": 50, "y": 60, "button": "left", "count": 1, "modifiers": []}]),
            ("human", [{"action": "type", "text": "ok"}]),
        ], [s.to_dict() for s in rec.steps]
        assert json.loads((tmp_path / "tunnel" / "meta.json").read_text())["dropped"] == 0


def test_the_widgets_record_button_asks_the_kernel(server, as_kernel, monkeypatch):
    """The toolbar's record button sends "record" to the kernel, which records into recordings/ next to the notebook
    (the kernel's working directory, under the server's root) and tells the view through the recording trait."""
    monkeypatch.chdir(server.root)
    with Desktop(profile="none", width=640, height=400) as d:
        view = d.view()
        front = FakeFrontEnd(view, monkeypatch)
        said = lambda: [e for e in front.events if e.get("type") == "said"]  # noqa: E731
        front.post({"type": "record", "on": True})
        folder = Path(view.recording)
        assert folder.parent == server.root / "recordings" and folder.name.startswith(f"{d.id}-"), view.recording
        assert said()[-1] == {"type": "said", "text": f"Recording into {folder}", "tone": ""}
        d.left_click(3, 4)
        front.post({"type": "record", "on": True})  # a second one: refused, and said
        assert said()[-1]["tone"] == "error" and "already recording" in said()[-1]["text"]
        assert view.recording == str(folder)
        front.post({"type": "record", "on": False})
        assert view.recording == ""
        assert said()[-1]["text"] == f"Recorded 1 step: Trajectory({str(folder)!r}) plays them"
        assert [s.actions for s in Trajectory(folder).steps] == [[{"action": "click", "button": "left", "count": 1, "modifiers": [], "x": 3, "y": 4}]]
        # a recording the code starts shows in the view too
        with d.record(server.root / "by-code", video=False):
            assert view.recording == str(server.root / "by-code")
        assert view.recording == ""
