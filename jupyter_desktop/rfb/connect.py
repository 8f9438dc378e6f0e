"""Connecting to a VNC server's socket, so that many clients can connect at the same moment.

A unix socket's listen backlog is small (TigerVNC's Xvnc listens with a backlog of 5), and a non-blocking
``connect()`` to a full backlog fails with EAGAIN at once; asyncio then reports EINVAL. Ten viewers opened at
once (a classroom reloading a page) lost five that way. Here a full backlog is waited out: the connect is
tried again, with a short growing pause, until the server accepted or ``timeout`` passed.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["connect", "open_streams"]

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
