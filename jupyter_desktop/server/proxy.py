"""WebSocket ``{base_url}desktop/api/desktops/<id>/vnc``: raw RFB bytes between a browser and one desktop.

The target is looked up by desktop id in the manager, never taken from the request. Each viewer gets its
own connection to the desktop's VNC server (which shares the screen among them). Backpressure both ways:
we read the next chunk from the VNC server only once the browser has taken the last one, and tornado reads
the next browser message only once the VNC server has taken the last one.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from jupyter_server.auth.decorator import authorized, ws_authenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from tornado import web
from tornado.iostream import StreamClosedError
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from ..manager import DesktopNotFoundError
from .handlers import ID, RESOURCE

__all__ = ["VNCProxyHandler", "routes"]

CHUNK = 1 << 18
WRITE_TIMEOUT = 30.0


class VNCProxyHandler(WebSocketMixin, WebSocketHandler, JupyterHandler):  # type: ignore[misc]
    auth_resource = RESOURCE
    _reader: asyncio.StreamReader | None = None
    _writer: asyncio.StreamWriter | None = None
    _pump: asyncio.Future[None] | None = None
    desktop_id = ""

    @property
    def ext(self) -> Any:
        return self.settings["jupyter_desktop"]

    def select_subprotocol(self, subprotocols: list[str]) -> str | None:
        return "binary" if "binary" in subprotocols else None

    @ws_authenticated
    @authorized("execute", resource=RESOURCE)
    async def get(self, desktop_id: str) -> None:
        try:
            session = self.ext.manager.get(desktop_id)
        except DesktopNotFoundError as exc:
            raise web.HTTPError(404, str(exc)) from None
        if session.status != "running" or session.desktop is None:
            raise web.HTTPError(409, f"desktop {desktop_id} is {session.status}")
        endpoint = session.desktop.endpoint
        try:
            if endpoint.path:
                opening = asyncio.open_unix_connection(endpoint.path, limit=CHUNK)
            else:
                opening = asyncio.open_connection(endpoint.host, endpoint.port, limit=CHUNK)
            self._reader, self._writer = await asyncio.wait_for(opening, 10)
        except (OSError, asyncio.TimeoutError) as exc:
            raise web.HTTPError(502, f"cannot reach the VNC server of desktop {desktop_id}: {exc}") from None
        self.desktop_id = desktop_id
        try:
            await super().get(desktop_id)
        finally:
            if self.ws_connection is None:  # the upgrade failed: do not keep the VNC connection
                self._close_vnc()

    def open(self, desktop_id: str) -> None:  # type: ignore[override]
        self.ext.session_viewers(desktop_id).add(self)
        self._pump = asyncio.ensure_future(self._vnc_to_browser())

    async def _vnc_to_browser(self) -> None:
        assert self._reader is not None
        reason = "the desktop stopped"
        try:
            while True:
                data = await self._reader.read(CHUNK)
                if not data:
                    break
                await self.write_message(data, binary=True)  # resolves when the browser took it
        except (WebSocketClosedError, StreamClosedError):
            return
        except ConnectionError as exc:
            reason = f"the VNC connection broke: {exc}"
        self.close(1000, reason)

    async def on_message(self, message: str | bytes) -> None:
        if self._writer is None or self._writer.is_closing():
            return
        if isinstance(message, str):
            message = message.encode("latin-1", "replace")  # some clients send text frames
        self._writer.write(message)
        try:
            await asyncio.wait_for(self._writer.drain(), WRITE_TIMEOUT)
        except (asyncio.TimeoutError, ConnectionError):
            self.close(1011, "the VNC server stopped reading")

    def on_close(self) -> None:
        self.ext.session_viewers(self.desktop_id).discard(self)
        self._close_vnc()
        if self._pump is not None:
            self._pump.cancel()

    def _close_vnc(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()


def routes() -> list[tuple[str, type]]:
    return [(rf"desktop/api/desktops/{ID}/vnc", VNCProxyHandler)]
