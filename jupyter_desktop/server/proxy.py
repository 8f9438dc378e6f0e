"""WebSocket ``{base_url}desktop/api/desktops/<id>/vnc``: raw RFB bytes between a browser and one desktop.

The target is looked up by desktop id in the manager, never taken from the request. Each viewer gets its
own connection to the desktop's VNC server (which shares the screen among them).

Backpressure both ways: reading from the VNC server pauses while more than ``IN_FLIGHT`` chunks wait to
reach the browser, and tornado reads the next browser message only once the VNC server took the last.

The VNC socket is read straight into one reusable buffer (no per-read allocation, up to 1 MiB per read)
and each read goes out as one WebSocket frame. The frame's header and payload are joined into one write:
written separately, the small header write gave 47 ms stalls at p95 (benchmarks/bench_proxy.py).
"""

from __future__ import annotations

import asyncio
import collections
import struct
from typing import Any

from jupyter_server.auth.decorator import authorized, ws_authenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from tornado import web
from tornado.iostream import StreamClosedError
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from ..manager import DesktopNotFoundError
from ..gate import MAX_CONTROL_WAIT
from ..rfb.client_messages import INPUT, QEMU, ClientStream
from ..rfb.connect import connect
from ..trajectory import ViewerInput
from .handlers import ID, RESOURCE

__all__ = ["VNCProxyHandler", "routes"]

CHUNK = 1 << 20  # read buffer, and the most one WebSocket message carries
IN_FLIGHT = 4  # chunks written towards the browser but not yet flushed, before we pause reading
WRITE_TIMEOUT = 30.0
MAX_HELD = 1 << 20  # bytes of a program's input held while a person holds the desktop


def _frame_header(length: int) -> bytes:
    """A final, unmasked binary WebSocket frame's header (RFC 6455 §5.2), as a server sends it."""
    if length < 126:
        return struct.pack(">BB", 0x82, length)
    if length < 1 << 16:
        return struct.pack(">BBH", 0x82, 126, length)
    return struct.pack(">BBQ", 0x82, 127, length)


class _FromVNC(asyncio.BufferedProtocol):
    """Reads the VNC server's bytes into buffers the handler then sends on, and pauses when told."""

    def __init__(self, handler: VNCProxyHandler) -> None:
        self.handler = handler
        self.buffer = bytearray(CHUNK)
        self.view = memoryview(self.buffer)
        self.transport: asyncio.Transport | None = None
        self.writable = asyncio.Event()  # cleared while the VNC server is behind on reading us
        self.writable.set()

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def get_buffer(self, sizehint: int) -> bytearray:
        return self.buffer

    def buffer_updated(self, nbytes: int) -> None:
        self.handler.forward(self.view[:nbytes])  # forward() copies it into a frame before we read again

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.writable.set()
        self.handler.vnc_closed(exc)


class _AgentInput(ClientStream):
    """A program's RFB stream (``?source=agent``) cut into whole client messages: while a person holds the desktop
    (jupyter_desktop/gate.py) its input messages — keys, pointer, pasted text — wait here, in order, until the
    hand-back; the rest (update requests: the program still sees the screen) goes on at once."""

    def __init__(self) -> None:
        super().__init__(lambda kind: None)
        self.out = bytearray()
        self.held: list[bytes] = []
        self.held_bytes = 0
        self.holding = False

    def take(self, data: bytes) -> bytes:
        """The bytes of ``data`` (and of what came before it) that may go to the VNC server now."""
        if self.stage == "opaque":  # a stream it cannot follow goes as it comes
            return data
        self.feed(data)
        out = bytes(self.out)
        self.out.clear()
        return out

    def _take(self, n: int) -> bytes | None:
        data = super()._take(n)
        if data is not None:
            self.out += data  # the handshake
        return data

    def _opaque(self) -> bool:
        self.out += self.buffer
        return super()._opaque()

    def _message(self, kind: int, length: int) -> None:
        message = bytes(self.buffer[:length])
        del self.buffer[:length]
        if self.holding and (kind in INPUT or kind == QEMU):
            self.held.append(message)
            self.held_bytes += length
        else:
            self.out += message


class VNCProxyHandler(WebSocketMixin, WebSocketHandler, JupyterHandler):  # type: ignore[misc]
    auth_resource = RESOURCE
    _vnc: asyncio.Transport | None = None
    _protocol: _FromVNC
    desktop_id = ""
    _agent: _AgentInput | None = None
    _release: asyncio.Future[None] | None = None

    @property
    def ext(self) -> Any:
        return self.settings["jupyter_desktop"]

    def select_subprotocol(self, subprotocols: list[str]) -> str | None:
        return "binary" if "binary" in subprotocols else None

    @ws_authenticated
    @authorized("execute", resource=RESOURCE)
    async def get(self, desktop_id: str) -> None:  # type: ignore[override]
        try:
            session = self.ext.manager.get(desktop_id)
        except DesktopNotFoundError as exc:
            raise web.HTTPError(404, str(exc)) from None
        if session.status != "running" or session.desktop is None:
            raise web.HTTPError(409, f"desktop {desktop_id} is {session.status}")
        endpoint = session.desktop.endpoint
        self._in_flight: collections.deque[asyncio.Future[None]] = collections.deque()
        self._paused = False
        self._early: list[bytes | memoryview] | None = []
        try:
            self._vnc, self._protocol = await connect(
                lambda: _FromVNC(self), path=endpoint.path, host=endpoint.host, port=endpoint.port, timeout=10
            )
        except (OSError, asyncio.TimeoutError) as exc:
            raise web.HTTPError(502, f"cannot reach the VNC server of desktop {desktop_id}: {exc}") from None
        self.desktop_id = desktop_id
        # A frame's header goes out in its own small write: let it go at once (no Nagle). (Bigger fixed
        # socket buffers, tried, gave 47 ms stalls at p95 in benchmarks/bench_proxy.py: they turn off the
        # kernel's own buffer tuning.)
        browser = self.request.connection.stream  # type: ignore[union-attr]
        browser.set_nodelay(True)
        try:
            await super().get(desktop_id)
        finally:
            if self.ws_connection is None:  # the upgrade failed: do not keep the VNC connection
                self._vnc.close()

    def open(self, desktop_id: str) -> None:  # type: ignore[override]
        self.ext.session_viewers(desktop_id).add(self)
        # The viewer's input (keys, pointer, pasted text) is a person using the desktop; its update requests
        # are not (a forgotten tab sends them too). While the desktop records, the input is decoded into steps:
        # a person's, or a program's when the connection says so (a kernel's Desktop: ?source=agent).
        source = "agent" if self.get_query_argument("source", "") == "agent" else "human"
        recordings = self.ext.recordings
        session = self.ext.manager.sessions.get(desktop_id)
        # a program's input waits while a person holds the desktop (its own check may be a round trip late)
        self._agent = _AgentInput() if source == "agent" and session is not None else None
        self._session = session
        self.viewer_input = ViewerInput(
            lambda: recordings.recorder(desktop_id),
            lambda: session.rfb if session is not None else None,
            source,
            on_input=lambda kind: self.ext.note_activity(self.desktop_id),
        )
        early, self._early = self._early or [], None
        for data in early:
            self.forward(memoryview(data))
        assert self._vnc is not None
        self._vnc.resume_reading()

    # ------------------------------------------------------------------ VNC server -> browser

    def forward(self, data: memoryview) -> None:
        if self._early is not None:  # the VNC server spoke before the WebSocket was open
            self._early.append(bytes(data))
            return
        try:
            self._in_flight.append(self._send(data))
        except (WebSocketClosedError, StreamClosedError):
            self._close_vnc()
            return
        while self._in_flight and self._in_flight[0].done():
            self._in_flight.popleft()
        if len(self._in_flight) > IN_FLIGHT and not self._paused and self._vnc is not None:
            self._paused = True
            self._vnc.pause_reading()
            asyncio.ensure_future(self._resume_when_drained())

    def _send(self, data: bytes | memoryview) -> asyncio.Future[None]:
        """One binary frame; tornado's own write_message when it compresses (not by default)."""
        connection = self.ws_connection
        stream = getattr(connection, "stream", None)
        if connection is None or connection.is_closing():
            raise WebSocketClosedError()
        if stream is None or getattr(connection, "_compressor", None) is not None:
            return self.write_message(bytes(data), binary=True)  # type: ignore[return-value]
        return stream.write(_frame_header(len(data)) + data)

    async def _resume_when_drained(self) -> None:
        try:
            while len(self._in_flight) > IN_FLIGHT // 2:
                await self._in_flight.popleft()
        except (WebSocketClosedError, StreamClosedError):
            self._close_vnc()
            return
        self._paused = False
        if self._vnc is not None and not self._vnc.is_closing():
            self._vnc.resume_reading()

    def vnc_closed(self, exc: Exception | None) -> None:
        if self.ws_connection is not None and not self.ws_connection.is_closing():
            self.close(1000, f"the VNC connection broke: {exc}" if exc else "the desktop stopped")

    # ------------------------------------------------------------------ browser -> VNC server

    async def on_message(self, message: str | bytes) -> None:
        vnc = self._vnc
        if vnc is None or vnc.is_closing():
            return
        if isinstance(message, str):
            message = message.encode("latin-1", "replace")  # some clients send text frames
        self.viewer_input.feed(message)
        agent = self._agent
        if agent is not None:
            gate = self._session.gate
            agent.holding = gate.holder != "agent" or bool(agent.held)
            message = agent.take(message)
            if agent.held_bytes > MAX_HELD:
                self.close(1013, f"more than {MAX_HELD} bytes of input held while a person holds the desktop (MAX_HELD)")
                return
            if agent.held and self._release is None:
                self._release = asyncio.ensure_future(self._release_when_handed_back())
            if not message:
                return
        vnc.write(message)
        if not self._protocol.writable.is_set():  # the VNC server is behind: read no more from the browser
            try:
                await asyncio.wait_for(self._protocol.writable.wait(), WRITE_TIMEOUT)
            except asyncio.TimeoutError:
                self.close(1011, "the VNC server stopped reading")

    async def _release_when_handed_back(self) -> None:
        """Send the held input, in order, once the agent holds the desktop again."""
        agent = self._agent
        assert agent is not None
        try:
            while agent.held:
                await self._session.gate.wait_for_control(MAX_CONTROL_WAIT)
                if self._session.gate.holder != "agent":
                    continue
                held, agent.held, agent.held_bytes = agent.held, [], 0
                if self._vnc is not None and not self._vnc.is_closing():
                    self._vnc.write(b"".join(held))
        finally:
            self._release = None

    def on_close(self) -> None:
        self.ext.session_viewers(self.desktop_id).discard(self)
        viewer_input = getattr(self, "viewer_input", None)
        if viewer_input is not None:
            viewer_input.flush()  # what the viewer began goes into the recording, if one is under way
        self._close_vnc()

    def _close_vnc(self) -> None:
        if self._release is not None:
            self._release.cancel()
        if self._vnc is not None:
            self._vnc.close()


def routes() -> list[tuple[str, type]]:
    return [(rf"desktop/api/desktops/{ID}/vnc", VNCProxyHandler)]
