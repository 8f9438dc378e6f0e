"""Native VNC clients, opt-in (jupyter_desktop/native_vnc.py): a password-protected listener on 127.0.0.1 in the
process that holds the desktop, relaying to the desktop's private unix socket.

Real parts throughout: real desktops (Xvnc, Xvfb + x11vnc, Docker), our own RFB client over TCP as the native
client (its pixels compared with the desktop's screenshot, its pointer seen on the desktop), TigerVNC's
``vncviewer`` on a desktop of its own, ``ss`` for what listens, and real ``jupyter server`` processes with the
setting off (the default) and on, driven from the kernel's side.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from jupyter_desktop import Desktop, InvalidInputError, native_vnc
from jupyter_desktop.errors import RFBAuthError
from jupyter_desktop.rfb import RFBClient

from .conftest import X_SERVERS, eventually, marked, run_async, start_desktop
from .harness.docker import engine_problem
from .harness.server import TOKEN, JupyterServer

COLOUR = (192, 63, 160)  # the desktop's root window, painted: what the viewer must show
WRONG = "Wr0ngPw0"


# ------------------------------------------------------------------------------------------ helpers


def tcp_listeners() -> list[tuple[str, set[int]]]:
    """Every listening TCP socket on this machine: its local address and the pids that hold it."""
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
    return [(line.split()[3], set(map(int, re.findall(r"pid=(\d+)", line)))) for line in out.splitlines()]


def listening(pid: int) -> set[str]:
    """The local addresses ``pid`` listens on (TCP)."""
    return {address for address, pids in tcp_listeners() if pid in pids}


def on_port(port: int) -> list[tuple[str, set[int]]]:
    return [(address, pids) for address, pids in tcp_listeners() if address.rsplit(":", 1)[1] == str(port)]


def paint(d: Desktop) -> None:
    """A coloured root window and an xterm with text on it: a screen that is not uniform."""
    assert d.run(["xsetroot", "-solid", "#%02x%02x%02x" % COLOUR]).ok
    d.launch(["xterm", "-geometry", "30x6+40+30", "-T", "native", "-e", "sh", "-c", "echo native vnc; sleep 3600"])
    d.wait_for_window("native")
    d.wait_until_stable(quiet=0.3)


async def _native_frame(info: dict[str, Any], password: str | None = None) -> np.ndarray:
    client = await RFBClient.open(host=info["host"], port=info["port"], password=password or info["password"])
    try:
        await client.sync()
        return client.framebuffer[..., :3].copy()
    finally:
        await client.close()


def native_frame(info: dict[str, Any], password: str | None = None) -> np.ndarray:
    """The screen as a native client over TCP sees it."""
    return run_async(_native_frame(info, password), 60)


def matches_screenshot(d: Desktop, info: dict[str, Any]) -> None:
    """The native client's pixels are the desktop's, exactly (the screen is still: tried again for a moment)."""
    seen: list[int] = []

    def same() -> bool:
        frame, shot = native_frame(info), np.asarray(d.screenshot())
        seen.append(int((frame != shot).any(axis=-1).sum()) if frame.shape == shot.shape else -1)
        return seen[-1] == 0

    try:
        eventually(same, timeout=20, interval=0.2, what="the native client's frame equal to the screenshot")
    except AssertionError:
        raise AssertionError(f"pixels that differ (-1: another size), try by try: {seen}") from None


def password_file(tmp_path: Path, password: str) -> Path:
    path = tmp_path / f"passwd-{time.monotonic_ns()}"
    path.write_bytes(subprocess.run(["vncpasswd", "-f"], input=password.encode() + b"\n", capture_output=True, check=True).stdout)
    path.chmod(0o600)
    return path


# ------------------------------------------------------------------------------------------ in this process


@pytest.fixture(scope="module", params=X_SERVERS)
def painted(request):
    d = start_desktop(request.param, "none", width=640, height=480)
    paint(d)
    yield d
    d.close()


def test_a_native_client_sees_the_desktop_and_drives_it(painted: Desktop, capsys):
    """Our RFB client over TCP, with the password: the same pixels as the desktop's screenshot, and its pointer
    moves the desktop's. Xvnc and Xvfb + x11vnc desktops alike."""
    d = painted
    assert d.vnc is None
    info = d.enable_vnc()
    try:
        assert set(info) == {"host", "port", "password"} and info["host"] == "127.0.0.1"
        assert len(info["password"]) == native_vnc.PASSWORD_LENGTH
        assert d.vnc == info
        printed = capsys.readouterr().out
        assert f"vncviewer 127.0.0.1::{info['port']}" in printed and "ssh -N -L" in printed
        assert info["password"] not in printed  # it would stay in the notebook's file

        matches_screenshot(d, info)

        async def move_pointer() -> None:
            client = await RFBClient.open(host=info["host"], port=info["port"], password=info["password"])
            try:
                client.pointer_event(123, 77, 0)
                await client.flush()
                await client.sync()
            finally:
                await client.close()

        run_async(move_pointer(), 60)
        eventually(lambda: d.get_cursor_position() == (123, 77), timeout=10, what="the native client's pointer on the desktop")
    finally:
        d.disable_vnc()


def test_wrong_passwords_are_refused_then_everyone_for_a_while(monkeypatch, caplog, capsys):
    """A wrong password is refused; after MAX_FAILURES of them even the right one is, until the lockout ends (the
    client is told why). A new enable_vnc() makes a new password. No log line and no printed line has it."""
    monkeypatch.setattr(native_vnc, "LOCKOUT", 4.0)
    caplog.set_level(logging.INFO, logger="jupyter_desktop.native_vnc")
    with start_desktop("xvnc", "none", width=320, height=200, vnc=True) as d:
        info = d.vnc
        assert info is not None and info["password"] != WRONG
        assert native_frame(info).shape == (200, 320, 3)
        for _ in range(native_vnc.MAX_FAILURES):
            with pytest.raises(RFBAuthError, match="wrong password"):
                native_frame(info, WRONG)
        locked = time.monotonic()
        with pytest.raises(RFBAuthError, match="too many wrong passwords"):
            native_frame(info)
        assert "wrong passwords in a row" in caplog.text

        shape = eventually(lambda: _or_none(lambda: native_frame(info).shape), timeout=20, interval=0.5, what="the lockout's end")
        assert shape == (200, 320, 3)
        assert time.monotonic() - locked >= native_vnc.LOCKOUT - 0.5, "the right password got in during the lockout"

        again = d.enable_vnc()  # a new password; the port stays
        assert again["port"] == info["port"] and again["password"] != info["password"]
        with pytest.raises(RFBAuthError, match="wrong password"):
            native_frame(info)  # the old one
        assert native_frame(again).shape == (200, 320, 3)
        passwords = (info["password"], again["password"])
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "native VNC" in logged
    assert not any(p in logged for p in passwords), "a password was logged"
    assert not any(p in capsys.readouterr().out for p in passwords), "a password was printed"


def _text(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def _still(d: Desktop) -> tuple[int, int] | None:
    """The desktop's pointer position once it read the same twice 0.2 s apart."""
    first = d.get_cursor_position()
    time.sleep(0.2)
    return first if d.get_cursor_position() == first else None


def _or_none(get):
    try:
        return get()
    except RFBAuthError:
        return None


def test_nothing_listens_unless_enabled_and_only_on_loopback(tmp_path: Path):
    """ss: no TCP listener of this process until enable_vnc(); then one, on 127.0.0.1 only and held by this process
    alone (not by the desktop's programs, even one started afterwards); none after disable_vnc(), which also cuts
    an open native connection; none after the desktop stops."""
    me = os.getpid()
    before = listening(me)
    with start_desktop("xvnc", "none", width=320, height=200) as d:
        assert d.vnc is None and listening(me) == before
        port = d.enable_vnc()["port"]
        d.launch(["xterm", "-T", "after-enable"])  # a program started now must not inherit the socket
        d.wait_for_window("after-enable")
        assert listening(me) - before == {f"127.0.0.1:{port}"}
        assert on_port(port) == [(f"127.0.0.1:{port}", {me})]

        async def cut_by_disable() -> None:
            client = await RFBClient.open(host="127.0.0.1", port=port, password=d.vnc["password"])
            try:
                await asyncio.to_thread(d.disable_vnc)
                deadline = time.monotonic() + 10
                while not client.closed and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                assert client.closed, "disable_vnc() left a native connection open"
            finally:
                await client.close()

        run_async(cut_by_disable(), 60)
        assert d.vnc is None and listening(me) == before and not on_port(port)
        port = d.enable_vnc()["port"]
        assert listening(me) - before == {f"127.0.0.1:{port}"}
    assert listening(me) == before and not on_port(port), "the listener outlived its desktop"


def test_a_desktop_that_dies_closes_its_listener():
    with start_desktop("xvnc", "none", width=320, height=200, vnc=True) as d:
        port = d.vnc["port"]
        assert on_port(port)
        for pid in marked(d.id):  # the desktop's own processes, started by this test
            os.kill(pid, signal.SIGKILL)
        eventually(lambda: d.status == "error", what="status error")
        eventually(lambda: not on_port(port), timeout=10, what="the listener closed")
        assert d.vnc is None


def test_connection_limit_and_handshake_timeout(monkeypatch):
    """At most MAX_CONNECTIONS native connections at once (the next is told so); a client that says nothing is
    cut after HANDSHAKE_TIMEOUT, and its place is free again."""
    monkeypatch.setattr(native_vnc, "HANDSHAKE_TIMEOUT", 1.5)
    with start_desktop("xvnc", "none", width=320, height=200, vnc=True) as d:
        info = d.vnc

        async def main() -> None:
            open_ = lambda: RFBClient.open(host=info["host"], port=info["port"], password=info["password"])  # noqa: E731
            clients = [await open_() for _ in range(native_vnc.MAX_CONNECTIONS)]
            try:
                with pytest.raises(RFBAuthError, match=f"at most {native_vnc.MAX_CONNECTIONS} native VNC connections"):
                    await open_()
                await clients.pop().close()
                deadline = time.monotonic() + 10
                while True:  # the relay notices the close: the place is free again
                    try:
                        clients.append(await open_())
                        break
                    except RFBAuthError:
                        assert time.monotonic() < deadline, "a closed native connection still counts"
                        await asyncio.sleep(0.1)
                for client in clients:
                    await client.close()
                clients.clear()

                silent_reader, silent = await asyncio.open_connection(info["host"], info["port"])
                started = time.monotonic()
                assert await silent_reader.readexactly(12) == b"RFB 003.008\n"
                assert await asyncio.wait_for(silent_reader.read(), 10) == b"", "a silent client got more than the greeting"
                waited = time.monotonic() - started
                silent.close()
                assert 1.0 <= waited <= 5.0, f"a silent client was cut after {waited:.1f} s, not HANDSHAKE_TIMEOUT"
                await (await open_()).close()  # and the listener still serves
            finally:
                for client in clients:
                    await client.close()

        run_async(main(), 120)


def test_tigervnc_viewer_connects_with_the_password(tmp_path: Path):
    """TigerVNC's vncviewer (on a desktop of its own, Xvfb + x11vnc) with a vncpasswd file: the wrong password is
    refused and shows nothing; the right one shows the desktop, and the viewer's pointer moves the desktop's."""
    for tool, package in (("vncviewer", "tigervnc-viewer"), ("vncpasswd", "tigervnc-tools")):
        if not shutil.which(tool):
            pytest.fail(f"{tool} is missing: sudo apt-get install {package}")
    with start_desktop("xvnc", "none", width=640, height=480, vnc=True) as d, start_desktop("xvfb", "none", width=1024, height=768) as screen:
        paint(d)
        info = d.vnc

        def coloured() -> float:
            pixels = np.asarray(screen.screenshot()).astype(int)
            return float((np.abs(pixels - COLOUR).sum(axis=-1) < 12).mean())

        def viewer(password: str, log: Path):
            target = f"{info['host']}::{info['port']}"
            return screen.launch(["sh", "-c", f"exec vncviewer -passwd {password_file(tmp_path, password)} {target} >{log} 2>&1"])

        wrong_log = tmp_path / "wrong.log"
        wrong = viewer(WRONG, wrong_log)
        eventually(lambda: "Authentication failure" in _text(wrong_log), timeout=30, what="the viewer told of the wrong password")
        assert "wrong password" in _text(wrong_log)
        assert coloured() == 0.0
        wrong.kill()
        wrong.wait(10)

        log = tmp_path / "viewer.log"
        right = viewer(info["password"], log)
        try:
            # the 640x480 desktop fills 39% of the viewer's 1024x768 screen, mostly in its colour
            try:
                eventually(lambda: coloured() > 0.25, timeout=30, what="the desktop in the viewer")
            except AssertionError as exc:
                raise AssertionError(f"{exc}; the viewer's log: {_text(log)[-800:]}") from None
            # the pointer moved over the viewer's window (by our RFB input to the viewer's screen) moves the desktop's
            # by as much (where the window sits on that screen, without a window manager, is the viewer's choice)
            window = screen.wait_for_window("TigerVNC")
            x, y = window.x + 200, window.y + 150
            screen.move_mouse(x, y)
            first = eventually(lambda: _still(d), timeout=10, what="the desktop's pointer under the viewer's")
            assert first != (d.get_screen_size()[0] // 2, d.get_screen_size()[1] // 2), "the pointer did not move"
            screen.move_mouse(x + 100, y + 50)
            eventually(
                lambda: d.get_cursor_position() == (first[0] + 100, first[1] + 50), timeout=10, what="the viewer's pointer move"
            )
        finally:
            right.kill()
            right.wait(10)


def test_a_docker_desktop_needs_no_published_port():
    """The same listener for a Docker desktop (its socket is a bind mount): the pixels match, and only this process
    listens on the port (no docker-proxy, nothing published)."""
    if (problem := engine_problem()) is not None:
        pytest.skip(problem)
    import docker

    with Desktop("none", width=320, height=200, backend="docker", vnc=True) as d:
        assert d.info["backend"] == "docker"
        paint(d)
        info = d.vnc
        matches_screenshot(d, info)
        assert on_port(info["port"]) == [(f"127.0.0.1:{info['port']}", {os.getpid()})]
        client = docker.from_env(timeout=30)
        try:
            container = client.containers.get(d.info["container"])
            assert not container.attrs["HostConfig"].get("PortBindings"), container.attrs["HostConfig"]["PortBindings"]
            assert not container.attrs["NetworkSettings"].get("Ports"), container.attrs["NetworkSettings"]["Ports"]
        finally:
            client.close()
    assert not on_port(info["port"])


# ------------------------------------------------------------------------------------------ under a Jupyter server


@pytest.fixture(scope="module")
def server_off(tmp_path_factory):
    """The default: native_vnc off."""
    srv = JupyterServer(tmp_path_factory.mktemp("vnc-off"))
    yield srv
    srv.shutdown()


@pytest.fixture(scope="module")
def server_on(tmp_path_factory):
    srv = JupyterServer(tmp_path_factory.mktemp("vnc-on"), args=("--DesktopExtension.native_vnc=True",))
    yield srv
    srv.shutdown()


def kernel_of(server: JupyterServer, monkeypatch) -> None:
    """This process, seen as a kernel of that server (the variables the extension exports)."""
    monkeypatch.setenv("JUPYTER_DESKTOP_URL", server.url)
    monkeypatch.setenv("JUPYTER_DESKTOP_TOKEN", TOKEN)


def test_the_server_setting_off_refuses_it(server_off: JupyterServer, monkeypatch):
    """With DesktopExtension.native_vnc off (the default), enabling is refused with an error naming the setting:
    from a kernel, by Desktop(vnc=True) (which then leaves no desktop behind), and over REST; nothing listens."""
    kernel_of(server_off, monkeypatch)
    before = listening(server_off.process.pid)
    with Desktop("none", width=320, height=200) as d:
        assert d._server_side
        with pytest.raises(InvalidInputError, match=r"DesktopExtension\.native_vnc"):
            d.enable_vnc()
        assert d.vnc is None
        reply = server_off.api("POST", f"/{d.id}/call/enable_vnc", json={})
        assert reply.status_code == 400 and "native_vnc" in reply.json()["message"], reply.text
        assert listening(server_off.process.pid) == before
    listed = {x["id"] for x in server_off.api("GET").json()}
    with pytest.raises(InvalidInputError, match="native_vnc"):
        Desktop("none", width=320, height=200, vnc=True)
    assert {x["id"] for x in server_off.api("GET").json()} == listed, "Desktop(vnc=True) left its desktop running"
    assert listening(server_off.process.pid) == before


def test_a_server_held_desktop_from_the_kernel(server_on: JupyterServer, monkeypatch):
    """With the setting on, a kernel's Desktop of a server-held desktop enables it: the Jupyter server listens on
    127.0.0.1 (not the kernel), a native client sees the desktop's pixels; disable_vnc() and close() end it."""
    kernel_of(server_on, monkeypatch)
    pid = server_on.process.pid
    before = listening(pid)
    passwords = []
    with Desktop("none", width=640, height=480) as d:
        assert d._server_side
        paint(d)
        info = d.enable_vnc()
        passwords.append(info["password"])
        assert on_port(info["port"]) == [(f"127.0.0.1:{info['port']}", {pid})]
        assert d.vnc == info
        matches_screenshot(d, info)
        with pytest.raises(RFBAuthError, match="wrong password"):
            native_frame(info, WRONG)
        d.disable_vnc()
        assert d.vnc is None and listening(pid) == before
        again = d.enable_vnc()
        passwords.append(again["password"])
        assert listening(pid) - before == {f"127.0.0.1:{again['port']}"}
    assert listening(pid) == before, "the listener outlived its desktop"

    with Desktop("none", width=320, height=200, vnc=True) as d:
        assert native_frame(d.vnc).shape == (200, 320, 3)
        port = d.vnc["port"]
        passwords.append(d.vnc["password"])
    assert not on_port(port)
    log = server_on.log_path.read_text()
    assert f"native VNC clients may connect to 127.0.0.1:{info['port']}" in log  # its lines are in the server's log
    assert "gave a wrong password" in log
    assert not any(p in log for p in passwords), "the server logged a password"
