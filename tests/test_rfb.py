"""The RFB client against real VNC servers, and against a fake one that misbehaves on purpose."""

from __future__ import annotations

import asyncio
import os
import socket
import struct
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from jupyter_desktop.errors import RFBAuthError, RFBError, RFBProtocolError
from jupyter_desktop.rfb import RFBClient
from jupyter_desktop.backends.base import DesktopSpec
from jupyter_desktop.rfb.client import PIXEL_FORMAT
from jupyter_desktop.rfb.connect import open_streams

from .conftest import run_async


run = run_async


@pytest.fixture
def xvnc_with_password(tmp_path: Path):
    """A TigerVNC Xvnc asking for a VNC password, on a unix socket."""
    pwfile = tmp_path / "passwd"
    pwfile.write_bytes(subprocess.run(["vncpasswd", "-f"], input=b"s3cret\n", capture_output=True, check=True).stdout)
    sock = tmp_path / "rfb.sock"
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(
        ["Xvnc", "-displayfd", str(write_fd), "-rfbunixpath", str(sock), "-rfbport", "-1", "-nolisten", "tcp",
         "-SecurityTypes", "VncAuth", "-PasswordFile", str(pwfile), "-geometry", "320x200"],
        pass_fds=[write_fd], stderr=subprocess.DEVNULL,
    )  # fmt: skip
    os.close(write_fd)
    display = b""
    while not display.endswith(b"\n"):  # Xvnc writes the number and the newline apart; closing early kills it
        chunk = os.read(read_fd, 16)
        assert chunk, "Xvnc exited before saying its display"
        display += chunk
    os.close(read_fd)
    yield str(sock)
    server.terminate()
    server.wait(10)


def test_vnc_password_auth(xvnc_with_password: str):
    async def main():
        client = await RFBClient.open(xvnc_with_password, password="s3cret")
        assert (client.width, client.height) == (320, 200)
        assert client.framebuffer.shape == (200, 320, 4)
        await client.sync()
        await client.close()
        with pytest.raises(RFBAuthError, match="rejected"):
            await RFBClient.open(xvnc_with_password, password="wrong")
        with pytest.raises(RFBAuthError, match="asks for a password"):
            await RFBClient.open(xvnc_with_password)

    run(main())


def test_no_server_is_a_clear_error(tmp_path: Path):
    with pytest.raises(RFBError, match="cannot connect to the VNC server"):
        run(RFBClient.open(str(tmp_path / "nothing.sock"), timeout=1))


def test_connections_wait_out_a_full_listen_backlog(tmp_path: Path):
    """Twenty clients at once on a socket whose backlog holds one, accepted only once all have tried: each
    connects (a non-blocking unix connect to a full backlog fails at once; Xvnc's backlog is 5)."""
    path = str(tmp_path / "busy.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)
    listener.setblocking(False)

    async def main():
        clients = [asyncio.ensure_future(open_streams(path=path, timeout=30)) for _ in range(20)]
        await asyncio.sleep(0)  # every client has tried once: the backlog overflowed
        assert sum(c.done() for c in clients) <= 2  # one in the backlog (two: Linux counts from 0)
        accepted = []
        while len(accepted) < 20:
            try:
                accepted.append(listener.accept()[0])
            except BlockingIOError:
                await asyncio.sleep(0.01)
        for conn in accepted:
            conn.sendall(b"RFB 003.008\n")
        for reader, writer in await asyncio.gather(*clients):
            assert await asyncio.wait_for(reader.readexactly(12), 10) == b"RFB 003.008\n"
            writer.close()
        for conn in accepted:
            conn.close()

    try:
        run(main(), timeout=60)
    finally:
        listener.close()


def test_twenty_clients_at_once_on_a_real_xvnc(desktop_sockets):
    """Xvnc refused every connection past the fifth not yet authenticated ("Too many security failures",
    for 10 s) until the backend turned its blacklist off."""

    async def main():
        clients = await asyncio.gather(*(RFBClient.open(desktop_sockets, timeout=30) for _ in range(20)), return_exceptions=True)
        failed = [repr(c) for c in clients if not isinstance(c, RFBClient)]
        for c in clients:
            if isinstance(c, RFBClient):
                await c.close()
        assert not failed, f"{len(failed)} of 20 failed: {failed[:2]}"

    run(main(), timeout=120)


@pytest.fixture
def desktop_sockets():
    """The RFB socket of a real local desktop (TigerVNC's Xvnc, no window manager)."""
    from jupyter_desktop.manager import DesktopManager

    from .conftest import x_server_env

    manager = DesktopManager()
    loop = asyncio.new_event_loop()
    try:
        with x_server_env("xvnc"):
            session = loop.run_until_complete(manager.create(DesktopSpec(profile="none", width=320, height=200)))
        yield session.desktop.endpoint.path
    finally:
        loop.run_until_complete(manager.stop_all())
        loop.close()


# ---------------------------------------------------------------- a fake server for malformed input

Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def handshake(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, width: int = 16, height: int = 8) -> None:
    writer.write(b"RFB 003.008\n")
    await reader.readexactly(12)
    writer.write(b"\x01\x01")  # one security type: None
    await reader.readexactly(1)
    writer.write(struct.pack(">I", 0))
    await reader.readexactly(1)  # ClientInit
    writer.write(struct.pack(">HH", width, height) + PIXEL_FORMAT + struct.pack(">I", 4) + b"fake")
    await writer.drain()


def full_frame(width: int = 16, height: int = 8, value: int = 7) -> bytes:
    return struct.pack(">BxH", 0, 1) + struct.pack(">HHHHi", 0, 0, width, height, 0) + bytes([value]) * (width * height * 4)


async def with_fake_server(tmp_path: Path, script: Script, timeout: float = 30.0) -> RFBClient:
    """An RFBClient opened on a fake server that plays ``script``, then keeps the connection open until the
    test's loop ends (a script closes it itself when that is the point). ``timeout`` is the client's: long,
    except where the test is about it firing."""
    path = str(tmp_path / "fake.sock")

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await script(reader, writer)
            await asyncio.Event().wait()  # until cancelled with the loop
        finally:
            writer.close()

    server = await asyncio.start_unix_server(serve, path)
    try:
        return await RFBClient.open(path, timeout=timeout)
    finally:
        server.close()  # no new connections; the open one stays


async def forever() -> None:
    await asyncio.Event().wait()


def test_not_a_vnc_server(tmp_path: Path):
    async def script(reader, writer):
        writer.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")

    with pytest.raises(RFBProtocolError, match="not a VNC server"):
        run(with_fake_server(tmp_path, script))


def test_silent_server_times_out_instead_of_hanging(tmp_path: Path):
    async def script(reader, writer):
        await forever()

    t0 = time.monotonic()
    with pytest.raises(RFBProtocolError, match="did not finish the handshake within 1 s"):
        run(with_fake_server(tmp_path, script, timeout=1.0), timeout=120)  # a hang fails here, not as the error
    assert time.monotonic() - t0 < 60


def test_truncated_update_is_a_protocol_error(tmp_path: Path):
    async def script(reader, writer):
        await handshake(reader, writer)
        writer.write(full_frame()[:40])  # the rectangle's pixels stop short
        await writer.drain()
        await forever()

    t0 = time.monotonic()
    with pytest.raises(RFBProtocolError, match="truncated message"):
        run(with_fake_server(tmp_path, script, timeout=1.0), timeout=120)
    assert time.monotonic() - t0 < 60


@pytest.mark.parametrize(
    "payload, message",
    [
        (struct.pack(">BxH", 0, 1) + struct.pack(">HHHHi", 10, 0, 16, 8, 0), "outside its 16x8 screen"),
        (struct.pack(">BxH", 0, 1) + struct.pack(">HHHHi", 0, 0, 1, 1, 7), "encoding 7, which this client did not ask for"),
        (b"\x09", "unknown message type 9"),
        (struct.pack(">BxH", 0, 1) + struct.pack(">HHHHi", 0, 0, 0, 9999, -223), "impossible screen size"),
    ],
)
def test_malformed_messages(tmp_path: Path, payload: bytes, message: str):
    async def script(reader, writer):
        await handshake(reader, writer)
        writer.write(payload)
        await writer.drain()

    with pytest.raises(RFBProtocolError, match=message):
        run(with_fake_server(tmp_path, script))


def test_connection_drop_after_handshake_makes_calls_fail_clearly(tmp_path: Path):
    drop = asyncio.Event()

    async def script(reader, writer):
        await handshake(reader, writer)
        writer.write(full_frame())
        await writer.drain()
        await drop.wait()
        writer.close()

    async def main():
        client = await with_fake_server(tmp_path, script)
        assert client.framebuffer[0, 0, 0] == 7 and not client.closed
        noticed = asyncio.Event()
        client.add_close_callback(noticed.set)
        drop.set()  # the server goes away now
        await asyncio.wait_for(noticed.wait(), 60)
        assert client.closed
        with pytest.raises(RFBError, match="closed"):
            await client.sync()
        with pytest.raises(RFBError):
            client.key_event(0x61, True)
        await client.close()

    run(main())


def test_security_types_we_do_not_speak(tmp_path: Path):
    async def script(reader, writer):
        writer.write(b"RFB 003.008\n")
        await reader.readexactly(12)
        writer.write(b"\x01\x13")  # VeNCrypt only

    with pytest.raises(RFBAuthError, match=r"offers security types \[19\]"):
        run(with_fake_server(tmp_path, script))


def test_copyrect_and_cursor_and_desktop_size(tmp_path: Path):
    async def script(reader, writer):
        await handshake(reader, writer)
        frame = bytearray(full_frame(value=0))
        frame[16 : 16 + 4] = b"\x01\x02\x03\x00"  # pixel (0, 0)
        writer.write(bytes(frame))
        # CopyRect pixel (0, 0) to (5, 5); a 2x1 cursor; then a new size
        writer.write(struct.pack(">BxH", 0, 3))
        writer.write(struct.pack(">HHHHi", 5, 5, 1, 1, 1) + struct.pack(">HH", 0, 0))
        writer.write(struct.pack(">HHHHi", 1, 0, 2, 1, -239) + b"\xff\x00\x00\x00" * 2 + b"\x80")
        writer.write(struct.pack(">HHHHi", 0, 0, 32, 16, -223))
        await writer.drain()

    async def main():
        client = await with_fake_server(tmp_path, script)
        await client.wait_for_update(1, timeout=60)
        assert tuple(client.framebuffer[5, 5, :3]) == (1, 2, 3)
        assert client.cursor is not None and client.cursor.hotspot == (1, 0)
        assert client.cursor.image[0, 0].tolist() == [255, 0, 0, 255] and client.cursor.image[0, 1, 3] == 0
        assert (client.width, client.height) == (32, 16)
        assert tuple(client.framebuffer[0, 0, :3]) == (1, 2, 3)  # content kept across the resize
        await client.close()

    run(main())


def test_client_stream_tells_input_from_a_viewers_own_traffic():
    """What the server's proxy reads along in a viewer's bytes (server/proxy.py): input is a person using the
    desktop; handshake, pixel format, encodings, update requests, fences and resizes are what any open tab sends."""
    from jupyter_desktop.rfb.client_messages import ClientStream

    seen: list[str] = []
    stream = ClientStream(seen.append)
    handshake = b"RFB 003.008\n" + b"\x01" + b"\x01"
    traffic = (
        b"\x00" * 4 + PIXEL_FORMAT + struct.pack(">BxH2i", 2, 2, 16, -223)  # SetPixelFormat, SetEncodings
        + struct.pack(">BBHHHH", 3, 1, 0, 0, 1280, 800)  # FramebufferUpdateRequest
        + struct.pack(">B3xIB", 248, 0x80000000, 4) + b"sync"  # ClientFence
        + struct.pack(">BBHHBxIHHHHI", 251, 0, 800, 600, 1, 0, 0, 0, 800, 600, 0)  # SetDesktopSize
        + struct.pack(">BBHHHHHH", 150, 1, 0, 0, 1280, 800, 0, 0)[:10]  # EnableContinuousUpdates
    )
    for byte in handshake + traffic:  # one byte at a time: a message may arrive in pieces
        stream.feed(bytes([byte]))
    assert seen == [] and stream.stage == "messages"
    stream.feed(struct.pack(">BBHH", 5, 1, 10, 20))  # pointer
    stream.feed(struct.pack(">BBxxI", 4, 1, 0x61) + struct.pack(">BBHII", 255, 0, 1, 0x61, 38))  # key, QEMU key
    stream.feed(struct.pack(">B3xi", 6, -4) + b"\0\0\0\1")  # extended clipboard
    assert seen == ["pointer", "key", "key", "clipboard"]
    stream.feed(b"\x7f")  # a message it does not know: from then on everything counts
    stream.feed(struct.pack(">BBHHHH", 3, 1, 0, 0, 1, 1))
    assert seen[-2:] == ["opaque", "opaque"]
    vnc_auth = ClientStream(seen.append)
    vnc_auth.feed(b"RFB 003.008\n\x02" + b"k" * 16 + b"\x01")  # VNC password: a 16-byte response
    assert vnc_auth.stage == "messages"
