"""Desktop() talking to a real `jupyter server` process: from a real kernel, from discovery, and its lifecycle."""

from __future__ import annotations

import json
import signal
import time
import weakref

import httpx
import pytest

from jupyter_desktop import (
    Desktop,
    DesktopClosedError,
    DesktopNotFoundError,
    InputLimitError,
    InvalidInputError,
    LimitError,
)
from jupyter_desktop.remote import RemoteSession

from .conftest import CLEAN_SHELL, eventually, marked, read_text
from .harness.processes import cmdline, commands
from .harness.waiting import none_left
from .harness.server import TOKEN, JupyterServer, free_port, requests_of
from .harness.widget import FakeFrontEnd


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = JupyterServer(tmp_path_factory.mktemp("jupyter"))
    yield srv
    srv.stop()


@pytest.fixture
def as_kernel(server, monkeypatch):
    """This process, seen as a kernel of that server: the variables the extension exports."""
    monkeypatch.setenv("JUPYTER_DESKTOP_URL", server.url)
    monkeypatch.setenv("JUPYTER_DESKTOP_TOKEN", TOKEN)
    return server


def test_desktop_in_a_real_kernel_uses_the_server(server):
    """A kernel started by the server inherits its environment and finds it; the desktop lives in the server."""
    from jupyter_client import BlockingKernelClient

    reply = httpx.post(server.url + "api/kernels", headers=server.auth, json={"name": "python3"}, timeout=60)
    kernel_id = reply.json()["id"]
    client = BlockingKernelClient(connection_file=str(server.runtime / f"kernel-{kernel_id}.json"))
    client.load_connection_file()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        code = (
            "from jupyter_desktop import Desktop\n"
            "d = Desktop()\n"
            "d.launch(['xterm', '-T', 'from-kernel'])\n"
            "d.wait_for_window('from-kernel')\n"
            "print(type(d._session).__name__, d.id, d.screenshot().size)\n"
        )
        outputs = []
        client.execute_interactive(code, timeout=120, output_hook=lambda m: outputs.append(m))
        text = "".join(m["content"].get("text", "") for m in outputs if m["msg_type"] == "stream")
        errors = [m["content"] for m in outputs if m["msg_type"] == "error"]
        assert not errors, errors
        kind, desktop_id, size = text.split(" ", 2)
        assert kind == "RemoteSession" and size.strip() == "(1280, 800)"
        listed = server.api("GET").json()
        assert [d["id"] for d in listed] == [desktop_id]  # the server holds it, not the kernel
        assert marked(desktop_id)
    finally:
        client.stop_channels()
        httpx.delete(server.url + f"api/kernels/{kernel_id}", headers=server.auth, timeout=60)
    # the kernel is gone; the desktop stays the server's until closed (or idle-culled)
    assert server.api("GET", f"/{desktop_id}").json()["status"] == "running"
    assert server.api("DELETE", f"/{desktop_id}").status_code == 204
    assert not marked(desktop_id)


def test_same_api_through_the_server(as_kernel, tmp_path):
    with Desktop(width=1024, height=640) as d:
        assert isinstance(d._session, RemoteSession)
        assert d.get_screen_size() == (1024, 640)
        title = "remote-term"
        d.launch(["xterm", "-fa", "Monospace", "-fs", "16", "-T", title, "-e", *CLEAN_SHELL])
        d.activate_window(d.wait_for_window(title))
        d.write("echo remote 73\n")
        assert "remote 73" in read_text(d, tmp_path, "remote 73")
        d.left_click(100, 200)
        assert d.get_cursor_position() == (100, 200)
        assert "x:100 y:200" in d.run("xdotool getmouselocation").stdout
        small = d.screenshot(scale=0.5)
        assert small.size == (512, 320)
        d.move_mouse(10, 20)
        assert d.get_cursor_position() == (10, 20) and "x:21 y:41" in d.run("xdotool getmouselocation").stdout
        d.screenshot()
        assert d.run("cat", input="in ✓").stdout == "in ✓"
        d.set_clipboard("remote clip ✓")
        assert d.get_clipboard() == "remote clip ✓"
        process = d.launch("sleep 30")
        assert process.running
        process.kill()
        assert process.wait(10) is not None and not process.running
        d.resize(800, 600)
        assert d.get_screen_size() == (800, 600) and d.screenshot().size == (800, 600)
        assert d.wait_until_stable(timeout=60, quiet=0.2)
        with pytest.raises(InvalidInputError, match="Did you mean 'Return'"):
            d.press("Retrun")
        with pytest.raises(TimeoutError, match="did not finish within 1 s"):
            d.run("sleep 10", timeout=1)
        assert [x["id"] for x in Desktop.list()] == [d.id]
        other = Desktop.attach(d.id)
        assert other.screenshot().size == (800, 600)
        dropped, client = weakref.ref(other), other._session.client
        del other  # dropping an attached desktop lets go of it (asynchronously, on the Desktop loop) ...
        assert dropped() is None
        eventually(lambda: client.is_closed, what="the dropped Desktop's release (its HTTP client closed)")
        assert as_kernel.api("GET", f"/{d.id}").json().get("status") == "running"  # ... and leaves it running
        assert d.screenshot().size == (800, 600)
    assert as_kernel.api("GET", f"/{d.id}").status_code == 404
    with pytest.raises(DesktopClosedError):
        Desktop.attach(d.id)


def test_discovery_from_the_runtime_file(server, monkeypatch):
    """Without the exported variables, the kernel's parent pid names the server's runtime file."""
    for name in ("JUPYTER_DESKTOP_URL", "JUPYTER_DESKTOP_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("JPY_PARENT_PID", str(server.process.pid))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(server.runtime))
    info = json.loads((server.runtime / f"jpserver-{server.process.pid}.json").read_text())
    assert info["token"] == TOKEN
    assert Desktop.list() == server.api("GET").json()


def test_discovery_from_jupyterhub_variables(server, monkeypatch):
    """A JupyterHub single-user server: its URL (listening on all interfaces) and the user's API token."""
    for name in ("JUPYTER_DESKTOP_URL", "JUPYTER_DESKTOP_TOKEN", "JPY_PARENT_PID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("JUPYTERHUB_SERVICE_URL", server.url.replace("127.0.0.1", "0.0.0.0"))
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", TOKEN)
    assert Desktop.list() == server.api("GET").json()


def test_no_server_means_embedded(monkeypatch):
    monkeypatch.setenv("JUPYTER_DESKTOP_URL", f"http://127.0.0.1:{free_port()}/")  # nobody listens
    t0 = time.monotonic()
    Desktop.list()  # discovery alone (a desktop's start time depends on the machine's load): refused at once
    assert time.monotonic() - t0 < 10
    with Desktop("none") as d:
        assert not isinstance(d._session, RemoteSession)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_server_stop_leaves_no_desktop_behind(tmp_path, sig):
    srv = JupyterServer(tmp_path)
    ids = [srv.api("POST", json={"profile": p}).json()["id"] for p in ("openbox", "none")]
    assert all(marked(i) for i in ids)
    srv.stop(sig)
    assert not any(marked(i) for i in ids)


def test_sigkilled_server_orphans_are_reaped_by_the_next_server(tmp_path):
    srv = JupyterServer(tmp_path)
    desktop_id = srv.api("POST", json={"profile": "openbox"}).json()["id"]
    # something in the desktop that survives PR_SET_PDEATHSIG: it ignores SIGTERM
    stubborn = ["setsid", "sh", "-c", "trap '' TERM HUP; while true; do sleep 1; done"]
    srv.api("POST", f"/{desktop_id}/processes", json={"command": stubborn})
    eventually(lambda: any("trap" in cmdline(p) for p in marked(desktop_id)), what="the stubborn app running")
    srv.stop(signal.SIGKILL)  # it ignores the SIGTERM PR_SET_PDEATHSIG sends: only a reaper ends it
    again = JupyterServer(tmp_path)
    try:
        none_left(lambda: commands(desktop_id), timeout=20, what="orphans the new server should have reaped")
    finally:
        again.stop()


def test_widget_tunnel_relays_the_server_proxy(as_kernel, monkeypatch):
    """A page that cannot reach the server itself (VS Code on a remote server): the widget's view asks the
    kernel, which relays RFB between the comm and the server's WebSocket proxy."""
    import struct

    with Desktop(profile="none", width=640, height=400) as d:
        view = d.view()
        assert view.ws_url == f"desktop/api/desktops/{d.id}/vnc"
        front = FakeFrontEnd(view, monkeypatch)
        front.post({"type": "tunnel", "op": "open", "channel": "vs"})
        assert front.read(12) == b"RFB 003.008\n"
        front.post({"type": "tunnel", "op": "data", "channel": "vs"}, b"RFB 003.008\n")
        assert 1 in front.read(front.read(1)[0])  # security type None offered
        front.post({"type": "tunnel", "op": "data", "channel": "vs"}, b"\x01")
        assert front.read(4) == b"\0\0\0\0"
        front.post({"type": "tunnel", "op": "data", "channel": "vs"}, b"\x01")  # ClientInit
        assert struct.unpack(">HH", front.read(4)) == (640, 400)
        front.post({"type": "tunnel", "op": "close", "channel": "vs"})
        eventually(lambda: any(e.get("op") == "closed" for e in front.events), what="tunnel closed")
        eventually(lambda: not view._channels, what="channel gone")


# ------------------------------------------------------------------------------------------ screen and input over RFB


def drive_over_rfb(d: Desktop, colour: bool = True) -> None:
    """Screenshots and input reach the desktop, and not one REST request carries them: the kernel's session
    speaks RFB through the server's WebSocket proxy."""
    assert d._session.rfb is not None and not d._session.rfb.closed
    seen = requests_of(d)
    width, height = d.screenshot().size
    d.left_click(123, 45)
    d.move_mouse(width - 7, height - 5)
    d.press("shift")
    small = d.screenshot(scale=0.5)
    assert small.size == (width // 2, height // 2)
    assert not [r for r in seen if "/screenshot" in r or "/actions" in r], seen
    assert d.get_cursor_position() == (width // 2 - 4, height // 2 - 3)  # in the scaled screenshot's pixels
    d.screenshot()
    assert "x:%d y:%d" % (width - 7, height - 5) in d.run("xdotool getmouselocation").stdout
    if colour:
        assert d.run("xsetroot -solid '#ff8000'").returncode == 0
        assert d.screenshot().getpixel((width - 1, height - 1)) == (255, 128, 0)


def test_screen_and_input_go_over_rfb(as_kernel):
    with Desktop(profile="none", width=640, height=400) as d:
        drive_over_rfb(d)
        # the kernel's connection is gone (the server's proxy restarted it, a network blip): the next call
        # opens another
        first = d._session.rfb
        d._call(first.close())
        assert d.screenshot().size == (640, 400) and d._session.rfb is not first
        d.restart()  # a new desktop process behind the same id: a new RFB stream too
        drive_over_rfb(d, colour=False)
    assert d._session.rfb is None  # closed with the desktop


def test_rfb_through_a_server_on_a_unix_socket_under_a_base_url(tmp_path, monkeypatch):
    """A server listening on a unix socket (--sock) under a prefix, as JupyterHub's /user/<name>/."""
    sock = str(tmp_path / "jupyter.sock")
    srv = JupyterServer(tmp_path, base_url="/user/alice/", sock=sock)
    try:
        monkeypatch.setenv("JUPYTER_DESKTOP_URL", srv.url)
        monkeypatch.setenv("JUPYTER_DESKTOP_TOKEN", TOKEN)
        monkeypatch.setenv("JUPYTER_DESKTOP_SOCK", sock)
        with Desktop(profile="none", width=640, height=400) as d:
            assert isinstance(d._session, RemoteSession) and srv.api("GET").json()[0]["id"] == d.id
            drive_over_rfb(d)
    finally:
        srv.stop()


def test_docker_desktop_over_rfb_from_a_kernel(as_kernel):
    with Desktop(profile="none", width=640, height=400, backend="docker") as d:
        assert d.info["backend"] == "docker"
        drive_over_rfb(d, colour=False)


def test_errors_cross_the_wire_by_class(tmp_path, monkeypatch):
    """The kernel raises the class the server raised: LimitError (the server's maximum) is not the other 429,
    DesktopBusyError; InputLimitError stays itself."""
    srv = JupyterServer(tmp_path, args=("--DesktopExtension.max_desktops=1",))
    try:
        monkeypatch.setenv("JUPYTER_DESKTOP_URL", srv.url)
        monkeypatch.setenv("JUPYTER_DESKTOP_TOKEN", TOKEN)
        with Desktop(profile="none", width=320, height=200) as d:
            with pytest.raises(LimitError, match="1"):
                Desktop(profile="none")
            with pytest.raises(InputLimitError):
                d.run("cat", input="x" * (2 << 20))
            with pytest.raises(DesktopNotFoundError):
                Desktop.attach("nosuchdesktop")
    finally:
        srv.stop()


def test_an_operation_without_a_route_of_its_own_goes_through_the_generic_one(as_kernel, tmp_path):
    """files.list (declared in protocols.py, implemented in Session only) works from a kernel: RemoteSession
    forwards it to POST .../call/list_files, and the server checks its arguments by the Protocol's types."""
    (tmp_path / "seen.txt").write_text("x")
    with Desktop(profile="none", width=320, height=200) as d:
        seen = requests_of(d)
        assert [e["name"] for e in d.files.list(str(tmp_path))] == ["seen.txt"]
        assert seen == [f"POST desktop/api/desktops/{d.id}/call/list_files"], seen
        with pytest.raises(InvalidInputError, match="path must be str"):
            d.files.list(5)  # checked in the kernel, the same way: no request
        assert len(seen) == 1
        with pytest.raises(InvalidInputError, match="no directory"):  # the session's own check, on the server
            d.files.list(str(tmp_path / "missing"))
        # the route itself, as any client calls it
        api = f"/{d.id}/call"
        listed = as_kernel.api("GET", api).json()
        assert {"op": "list_files", "returns": "list[dict[str, Any]]",
                "parameters": [{"name": "path", "type": "str", "required": False, "default": "."}]} in listed
        assert "open_rfb" not in {o["op"] for o in listed} and "capture" not in {o["op"] for o in listed}
        ok = as_kernel.api("POST", f"{api}/run", json={"args": {"command": "echo hi", "timeout": 5}})
        assert ok.json() == {"result": {"returncode": 0, "stdout": "hi\n", "stderr": ""}}
        for body, status, message in [
            ({"args": {"path": 5}}, 400, "path must be str"),
            ({"args": {"nope": 1}}, 400, "unexpected keyword"),
            ({"args": []}, 400, "JSON object"),
            ({"other": 1}, 400, "unknown field"),
        ]:
            reply = as_kernel.api("POST", f"{api}/list_files", json=body)
            assert (reply.status_code, reply.json()["error"]) == (status, "InvalidInputError"), reply.text
            assert message in reply.json()["message"], reply.text
        odd = as_kernel.api("POST", f"{api}/window_command", json={"args": {"window_id": 1, "what": "explode"}})
        assert odd.status_code == 400 and "activate or close" in odd.json()["message"], odd.text
        unknown = as_kernel.api("POST", f"{api}/open_rfb", json={})
        assert unknown.status_code == 400 and "no operation 'open_rfb'" in unknown.json()["message"]
