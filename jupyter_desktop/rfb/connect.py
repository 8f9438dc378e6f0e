"""Connecting to a VNC server's socket, so that many clients can connect at the same moment; and to a desktop's
RFB stream through a WebSocket (the Jupyter server's authenticated proxy), as the same reader and writer.

A unix socket's listen backlog is small (TigerVNC's Xvnc listens with a backlog of 5), and a non-blocking
``connect()`` to a full backlog fails with EAGAIN at once; asyncio then reports EINVAL. Ten viewers opened at
once (a classroom reloading a page) lost five that way. Here a full backlog is waited out: the connect is
tried again, with a short growing pause, until the server accepted or ``timeout`` passed.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

__all__ = ["connect", "open_streams", "open_websocket_streams", "WebSocketRefused"]

P = TypeVar("P", bound=asyncio.BaseProtocol)

STREAM_LIMIT = 1 << 20


async def _unix_socket(path: str, deadline: float) -> socket.socket:
    pause = 0.001
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            sock.connect(path)  # a unix connect completes at once, or fails at once
            return sock
        except BlockingIOError as exc:  # EAGAIN: the backlog is full; the server accepts soon
            sock.close()
            if time.monotonic() + pause > deadline:
                raise TimeoutError(f"{path}: the server accepted no connection in time ({exc.strerror})") from None
        except BaseException:
            sock.close()
            raise
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.05)


async def connect(
    protocol_factory: Callable[[], P],
    *,
    path: str | None = None,
    host: str | None = None,
    port: int | None = None,
    timeout: float = 10.0,
) -> tuple[asyncio.Transport, P]:
    """``loop.create_unix_connection`` / ``create_connection`` that waits out a full listen backlog.

    Raises OSError (ConnectionRefusedError, FileNotFoundError: nothing listens there) or TimeoutError.
    """
    loop = asyncio.get_running_loop()
    deadline = time.monotonic() + timeout
    if path is not None:
        sock = await _unix_socket(path, deadline)
        opening = loop.create_unix_connection(protocol_factory, sock=sock)
    elif host is not None and port is not None:
        sock = None
        opening = loop.create_connection(protocol_factory, host, port)
    else:
        raise ValueError("connect() needs a unix socket path, or a host and a port")
    try:
        return await asyncio.wait_for(opening, max(0.0, deadline - time.monotonic()))  # type: ignore[return-value]
    except BaseException as exc:
        if sock is not None:
            sock.close()  # the transport owns it only once the connection is made
        if isinstance(exc, asyncio.TimeoutError):
            raise TimeoutError(f"{path or f'{host}:{port}'}: no connection within {timeout:g} s") from None
        raise


async def open_streams(
    *, path: str | None = None, host: str | None = None, port: int | None = None, timeout: float = 10.0
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """``asyncio.open_unix_connection`` / ``open_connection`` through :func:`connect`."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=STREAM_LIMIT, loop=loop)
    transport, protocol = await connect(
        lambda: asyncio.StreamReaderProtocol(reader, loop=loop), path=path, host=host, port=port, timeout=timeout
    )
    return reader, asyncio.StreamWriter(transport, protocol, reader, loop)


class WebSocketRefused(ConnectionError):
    """The WebSocket's server answered the upgrade with an HTTP error (``status``)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _WebSocketWriter:
    """The sending half of a WebSocket, as RFBClient uses an ``asyncio.StreamWriter``. What is written within one
    turn of the event loop goes out as one binary message (an action batch's events: one message, not hundreds),
    in order; ``drain()`` waits until the connection has taken it."""

    def __init__(self, ws: Any, closed: asyncio.Event) -> None:
        self._ws = ws
        self._closed = closed
        self._buffer = bytearray()
        self._sent: asyncio.Future[None] | None = None
        self._error: BaseException | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._closed.is_set():
            raise ConnectionResetError("the WebSocket is closed")
        if not self._buffer:
            asyncio.get_running_loop().call_soon(self._flush)
        self._buffer += data

    def _flush(self) -> None:
        data, self._buffer = bytes(self._buffer), bytearray()
        if not data or self._closed.is_set():
            return
        try:
            self._sent = self._ws.write_message(data, binary=True)
        except Exception as exc:  # tornado's WebSocketClosedError
            self._error = ConnectionResetError(f"the WebSocket closed: {exc}")

    async def drain(self) -> None:
        if self._buffer:
            self._flush()
        if self._error is not None:
            raise self._error
        sent, self._sent = self._sent, None
        if sent is not None:
            try:
                await sent
            except Exception as exc:
                raise ConnectionResetError(f"the WebSocket closed: {exc}") from None

    def close(self) -> None:
        self._closed.set()
        self._ws.close()

    def is_closing(self) -> bool:
        return self._closed.is_set()

    async def wait_closed(self) -> None:
        await self._closed.wait()


async def open_websocket_streams(
    url: str, *, headers: Mapping[str, str] | None = None, sock: str | None = None, timeout: float = 10.0
) -> tuple[asyncio.StreamReader, Any]:
    """A WebSocket carrying a byte stream (RFB, binary messages) as a StreamReader and a StreamWriter-like writer.

    ``sock``: a unix socket to reach the WebSocket's server through (a Jupyter server with ``--sock``); the URL
    still names the path. Raises :class:`WebSocketRefused` when the server answers with an HTTP error, and
    TimeoutError or OSError when it cannot be reached.
    """
    from tornado.httpclient import HTTPClientError, HTTPRequest
    from tornado.netutil import Resolver
    from tornado.websocket import websocket_connect

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=STREAM_LIMIT, loop=loop)
    closed = asyncio.Event()

    def on_message(message: str | bytes | None) -> None:
        if message is None:
            closed.set()
            reader.feed_eof()
        elif message:
            reader.feed_data(message if isinstance(message, bytes) else message.encode("latin-1"))

    resolver = None
    if sock is not None:

        class UnixResolver(Resolver):
            async def resolve(self, host: str, port: int, family: int = 0) -> list[tuple[int, Any]]:
                return [(socket.AF_UNIX, sock)]

        resolver = UnixResolver()
    request = HTTPRequest(url, headers=dict(headers or {}), connect_timeout=timeout, request_timeout=timeout)
    try:
        ws = await asyncio.wait_for(
            websocket_connect(
                request,
                subprotocols=["binary"],
                on_message_callback=on_message,
                resolver=resolver,
                max_message_size=64 << 20,
            ),
            timeout,
        )
    except asyncio.TimeoutError:
        raise TimeoutError(f"{url}: no WebSocket within {timeout:g} s") from None
    except HTTPClientError as exc:
        raise WebSocketRefused(exc.code, f"{url}: the server answered {exc.code} {exc.message or ''}".strip()) from None
    if ws.protocol is not None:  # input events are small writes: no Nagle
        ws.protocol.set_nodelay(True)
    return reader, _WebSocketWriter(ws, closed)
