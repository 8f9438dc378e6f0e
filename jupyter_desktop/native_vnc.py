"""Native VNC clients (TigerVNC's ``vncviewer``, RealVNC Viewer ...), opt-in: a password-protected RFB listener on
127.0.0.1 in the process that holds the desktop (the Jupyter server, or this process's loop thread).

Every desktop's own VNC server listens only on a private unix socket; that does not change. The listener speaks
the RFB handshake to the native client itself (RFB 3.8, 3.7 or 3.3; one security type, 2 = VNC Authentication),
and only once the password is right does it open the desktop's socket, do that side's handshake (security type
None there) and from ClientInit on relay the bytes both ways, ServerInit included. So it works the same for
every backend: Xvnc and Xvfb + x11vnc desktops, and Docker desktops, whose socket is a bind mount (no port is
published).

What VNC Authentication is worth: DES with the first 8 characters of the password as the key, a 16-byte
challenge answered once per connection, and nothing encrypted afterwards. The password is random (8 letters and
digits, about 47 bits, new on each ``enable``) and the listener is bound to 127.0.0.1, so that only people on
this machine (or an SSH tunnel) reach it; anyone there who learns the password reaches the desktop. Guessing is
slowed down: after ``MAX_FAILURES`` wrong passwords the listener refuses every connection for ``LOCKOUT`` s.
Other limits: ``MAX_CONNECTIONS`` at once (handshakes included), and the handshake must be done within
``HANDSHAKE_TIMEOUT`` s (every read until then falls under it). The password is never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import math
import secrets
import string
import struct
import time
from collections.abc import Callable
from typing import Any, NoReturn

from .backends.base import RFBEndpoint
from .errors import RFBProtocolError
from .rfb.client import security_handshake, vnc_auth_response
from .rfb.connect import open_streams

__all__ = ["NativeVNC", "HOST", "PASSWORD_LENGTH", "MAX_CONNECTIONS", "HANDSHAKE_TIMEOUT", "MAX_FAILURES", "LOCKOUT"]

log = logging.getLogger(__name__)

HOST = "127.0.0.1"  # never anything else: the way in from elsewhere is an SSH tunnel
PASSWORD_LENGTH = 8  # VNC Authentication uses the first 8 characters only
PASSWORD_ALPHABET = string.ascii_letters + string.digits
MAX_CONNECTIONS = 4  # native connections to one desktop at once, handshakes included
HANDSHAKE_TIMEOUT = 10.0  # seconds from accept to ClientInit
MAX_FAILURES = 5  # wrong passwords in a row before the lockout
LOCKOUT = 60.0  # seconds every connection is refused after MAX_FAILURES wrong passwords
CHUNK = 1 << 16

SECURITY_VNC_AUTH = 2


class _Refused(Exception):
    """The handshake ends here; the client was told why (or cannot be)."""


def new_password() -> str:
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))


class NativeVNC:
    """One desktop's listener for native VNC clients. Make it with :meth:`start`; all methods run on one loop.

    ``endpoint()`` says where the desktop's own VNC server is now (raising if the desktop is not running)."""

    def __init__(self, desktop_id: str, endpoint: Callable[[], RFBEndpoint]) -> None:
        self.desktop_id = desktop_id
        self._endpoint = endpoint
        self._password = new_password()
        self._server: asyncio.Server | None = None
        self.port = 0
        self._connections: set[asyncio.Task[Any]] = set()
        self._failures = 0
        self._locked_until = 0.0
        self.closed = False

    def __repr__(self) -> str:  # no password in it
        state = "closed" if self.closed else f"on {HOST}:{self.port}"
        return f"<NativeVNC desktop {self.desktop_id} {state}, {len(self._connections)} connection(s)>"

    @classmethod
    async def start(cls, desktop_id: str, endpoint: Callable[[], RFBEndpoint]) -> NativeVNC:
        self = cls(desktop_id, endpoint)
        self._server = await asyncio.start_server(self._serve, HOST, 0, limit=CHUNK)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info(
            "desktop %s: native VNC clients may connect to %s:%d with its password (VNC Authentication)",
            desktop_id, HOST, self.port,
        )  # fmt: skip
        return self

    def info(self) -> dict[str, Any]:
        """``{"host", "port", "password"}``: what a native client needs."""
        return {"host": HOST, "port": self.port, "password": self._password}

    def new_password(self) -> None:
        """A new password for the connections to come (those made stay)."""
        self._password = new_password()
        self._failures = 0
        log.info("desktop %s: native VNC has a new password", self.desktop_id)

    @property
    def connections(self) -> int:
        """Native connections open now (handshakes included)."""
        return len(self._connections)

    # ------------------------------------------------------------------ closing

    def close_now(self) -> None:
        """Stop listening and cut every native connection (synchronous: on the loop's thread)."""
        if self.closed:
            return
        self.closed = True
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        log.info("desktop %s: native VNC listener on %s:%d closed", self.desktop_id, HOST, self.port)

    async def close(self) -> None:
        tasks = list(self._connections)
        self.close_now()
        if tasks:
            await asyncio.wait(tasks, timeout=5.0)

    # ------------------------------------------------------------------ a connection

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        peer = writer.get_extra_info("peername")
        where = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        desktop: asyncio.StreamWriter | None = None
        try:
            if self.closed:
                return
            try:
                opened = await asyncio.wait_for(self._handshake(reader, writer, where), HANDSHAKE_TIMEOUT)
            except asyncio.TimeoutError:
                log.info("desktop %s: native VNC client %s did not finish the handshake within %g s", self.desktop_id, where, HANDSHAKE_TIMEOUT)
                return
            except (_Refused, asyncio.IncompleteReadError, ConnectionError, OSError):
                return
            desktop_reader, desktop = opened
            log.info("desktop %s: native VNC client %s connected", self.desktop_id, where)
            await _splice(reader, writer, desktop_reader, desktop)
            log.info("desktop %s: native VNC client %s disconnected", self.desktop_id, where)
        except asyncio.CancelledError:
            pass  # the listener closed
        finally:
            self._connections.discard(task)
            for stream in (writer, desktop):
                if stream is not None:
                    with contextlib.suppress(Exception):
                        stream.close()

    def _refusal(self) -> str | None:
        """Why a connection is refused now, if it is."""
        left = self._locked_until - time.monotonic()
        if left > 0:
            return (
                f"too many wrong passwords: this desktop's native VNC listener refuses every connection for "
                f"{math.ceil(left)} s more"
            )
        return None

    async def _handshake(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, where: str
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """Ours as the server, then the desktop's as a client; returns the desktop's streams, past ClientInit."""
        writer.write(b"RFB 003.008\n")
        version = await reader.readexactly(12)
        if not (version.startswith(b"RFB 003.") and version.endswith(b"\n") and version[8:11].isdigit()):
            raise _Refused(f"not an RFB client: {version!r}")
        # RFC 6143 §7.1.1: a 3.x other than 3.7 or 3.8 is 3.3 (Apple's 3.889 asks for its own types: 3.8 then)
        minor = int(version[8:11])
        minor = 8 if minor >= 8 else 7 if minor == 7 else 3

        refusal = self._refusal()
        if refusal is None and len(self._connections) > MAX_CONNECTIONS:
            refusal = f"this desktop takes at most {MAX_CONNECTIONS} native VNC connections at once"
        if refusal is not None:
            log.debug("desktop %s: native VNC client %s refused: %s", self.desktop_id, where, refusal)  # told, not logged
            reason = refusal.encode()
            writer.write((b"\0\0\0\0" if minor == 3 else b"\0") + struct.pack(">I", len(reason)) + reason)
            await writer.drain()
            raise _Refused(refusal)

        if minor == 3:
            writer.write(struct.pack(">I", SECURITY_VNC_AUTH))
        else:
            writer.write(bytes([1, SECURITY_VNC_AUTH]))
            (chosen,) = await reader.readexactly(1)
            if chosen != SECURITY_VNC_AUTH:
                await self._fail(writer, minor, f"security type {chosen} is not offered: only VNC Authentication (2)")
        challenge = secrets.token_bytes(16)
        writer.write(challenge)
        response = await reader.readexactly(16)
        right = hmac.compare_digest(response, vnc_auth_response(self._password, challenge))
        refusal = self._refusal()  # a lockout that began while this one was answering holds for it too
        if refusal is not None:
            await self._fail(writer, minor, refusal)
        if not right:
            self._failures += 1
            if self._failures >= MAX_FAILURES:
                self._failures = 0
                self._locked_until = time.monotonic() + LOCKOUT
                log.warning(
                    "desktop %s: native VNC: %d wrong passwords in a row (the last from %s); refusing every "
                    "connection for %g s",
                    self.desktop_id, MAX_FAILURES, where, LOCKOUT,
                )  # fmt: skip
            else:
                log.info("desktop %s: native VNC client %s gave a wrong password", self.desktop_id, where)
            await self._fail(writer, minor, "wrong password")
        self._failures = 0

        try:
            desktop_reader, desktop = await self._open_desktop()
        except Exception as exc:  # noqa: BLE001 - the client is told, the listener goes on
            await self._fail(writer, minor, f"the desktop cannot be reached: {exc}")
        try:
            writer.write(b"\0\0\0\0")  # SecurityResult: OK
            await reader.readexactly(1)  # ClientInit. Shared, whatever it asks: see below
            # An exclusive connection would make a VNC server without -AlwaysShared drop the others, the session's
            # own control connection among them (the desktop would look dead); ours all run shared anyway.
            desktop.write(b"\x01")
            await desktop.drain()
        except BaseException:
            desktop.close()
            raise
        return desktop_reader, desktop

    async def _open_desktop(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        endpoint = self._endpoint()
        reader, writer = await open_streams(path=endpoint.path, host=endpoint.host, port=endpoint.port)

        async def read(n: int) -> bytes:
            try:
                return await reader.readexactly(n)
            except asyncio.IncompleteReadError as exc:
                raise RFBProtocolError(f"the desktop's VNC server closed the connection ({len(exc.partial)} of {n} bytes read)") from None

        try:
            await security_handshake(read, writer.write, endpoint.password)
        except BaseException:
            writer.close()
            raise
        return reader, writer

    async def _fail(self, writer: asyncio.StreamWriter, minor: int, reason: str) -> NoReturn:
        """SecurityResult: failed (with the reason from RFB 3.8 on), and the end of the handshake."""
        data = reason.encode()
        writer.write(struct.pack(">I", 1) + (struct.pack(">I", len(data)) + data if minor >= 8 else b""))
        with contextlib.suppress(ConnectionError, OSError):
            await writer.drain()
        raise _Refused(reason)


async def _splice(
    client_reader: asyncio.StreamReader,
    client: asyncio.StreamWriter,
    desktop_reader: asyncio.StreamReader,
    desktop: asyncio.StreamWriter,
) -> None:
    """Bytes both ways until either side closes (then both are closed by the caller)."""

    async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while True:
                data = await reader.read(CHUNK)
                if not data:
                    return
                writer.write(data)
                await writer.drain()

    pumps = [asyncio.ensure_future(pump(client_reader, desktop)), asyncio.ensure_future(pump(desktop_reader, client))]
    try:
        await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for p in pumps:
            p.cancel()
        await asyncio.gather(*pumps, return_exceptions=True)
