"""App ports through Jupyter: ``{base_url}desktop/<id>/port/<port>/...`` proxies HTTP and WebSocket to a port inside
the desktop (a web IDE, an app's dev server, Chromium's DevTools), behind Jupyter's auth.

Only ports the desktop's owner exposed (``Desktop.expose(port)``, the ``expose`` session operation) are proxied,
and the host is the backend's (``BackendDesktop.port_host``: 127.0.0.1 for a local desktop, a Docker desktop's
container address), never one taken from the request.

To the app, the proxy is the browser's origin: requests reach it with ``Host: <host>:<port>`` and, when the browser
sent one, ``Origin: http://<host>:<port>``. Jupyter has checked the browser's own Origin already (its XSRF and
WebSocket origin checks), and apps that refuse other hosts and origins work behind it unchanged: Chromium's DevTools
server answers only a Host that is an IP address or localhost, and since Chromium 111 takes WebSockets only from
its own origin (else ``--remote-allow-origins``). The proxying itself is jupyter-server-proxy's
``ProxyHandler`` (the ``ports`` extra); without it the route answers 503 saying what to install.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tornado import web

from ..errors import DesktopError
from .handlers import RESOURCE

__all__ = ["routes"]

ROUTE = r"desktop/(?P<desktop_id>[^/]+)/port/(?P<port>[0-9]{1,5})(?P<proxied_path>/.*)?"
CONNECT_TIMEOUT = 10.0  # seconds to reach the app's port before a WebSocket is accepted
MISSING = "proxying a desktop's ports needs jupyter-server-proxy: pip install 'jupyter_desktop[ports]'"


def _handler() -> type:
    try:
        from jupyter_server_proxy.handlers import ProxyHandler
    except ImportError:
        from jupyter_server.base.handlers import JupyterHandler

        class Missing(JupyterHandler):
            @web.authenticated
            def get(self, *args: Any, **kwargs: Any) -> None:
                raise web.HTTPError(503, MISSING)

        return Missing

    class PortProxyHandler(ProxyHandler):  # type: ignore[misc,valid-type]
        """One exposed port of one desktop."""

        auth_resource = RESOURCE

        def _refuse(self, status: int, message: str) -> None:
            """Answer ``status`` with the reason in a JSON body (a page or a program reads it), and stop here."""
            self.log.warning("%s %s: %s", status, self.request.path, message)
            self.set_status(status)
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps({"message": message}))
            raise web.Finish()

        async def _target(self, desktop_id: str, port: str, write: bool) -> tuple[str, int]:
            user = self.current_user
            if not self.authorizer.is_authorized(self, user, "write" if write else "read", RESOURCE):
                self._refuse(403, "not allowed to use desktops")
            manager = self.settings["jupyter_desktop"].manager
            try:
                session = manager.get(desktop_id)
            except KeyError:
                self._refuse(404, f"no desktop {desktop_id}")
            number = int(port)
            if number not in session.ports:
                self._refuse(404, f"port {number} of desktop {desktop_id} is not exposed: Desktop.expose({number})")
            try:
                host = await session._backend_desktop().port_host(number)
            except DesktopError as exc:
                self._refuse(502, str(exc))
            self.host_allowlist = [host]  # the backend's host for this request, nothing the request says
            self._upstream = f"{host}:{number}"
            self.proxy_base = f"desktop/{desktop_id}/port/{number}"
            self.settings["jupyter_desktop"].note_activity(desktop_id)
            return host, number

        def proxy_request_headers(self) -> Any:
            headers = super().proxy_request_headers()
            headers["Host"] = self._upstream
            if "Origin" in headers:
                headers["Origin"] = f"http://{self._upstream}"
            return headers

        async def _proxy(self, desktop_id: str, port: str, proxied_path: str | None, write: bool) -> Any:
            host, number = await self._target(desktop_id, port, write)
            try:
                return await self.proxy(host, number, proxied_path or "/")
            except OSError as exc:  # nothing listens there (yet): a 502 that says so, not jupyter-server-proxy's 500
                if self._headers_written:
                    raise
                self._refuse(502, f"nothing answers on port {number} of desktop {desktop_id} ({exc.strerror or exc})")

        async def http_get(self, desktop_id: str, port: str, proxied_path: str | None = None) -> Any:
            return await self._proxy(desktop_id, port, proxied_path, False)

        async def head(self, desktop_id: str, port: str, proxied_path: str | None = None) -> Any:
            return await self._proxy(desktop_id, port, proxied_path, False)

        async def _any(self, desktop_id: str, port: str, proxied_path: str | None = None) -> Any:
            return await self._proxy(desktop_id, port, proxied_path, True)

        post = put = delete = patch = options = _any

        async def get(self, desktop_id: str, port: str, proxied_path: str | None = None) -> Any:
            if self.request.headers.get("Upgrade", "").lower() == "websocket":
                # refusals before the handshake, as HTTP answers: after it, a WebSocket could only be closed
                host, number = await self._target(desktop_id, port, True)
                try:
                    _, writer = await asyncio.wait_for(asyncio.open_connection(host, number), CONNECT_TIMEOUT)
                    writer.close()
                except (OSError, asyncio.TimeoutError) as exc:
                    self._refuse(502, f"nothing answers on port {number} of desktop {desktop_id} ({exc})")
            return await super().get(desktop_id, port, proxied_path)

        async def open(self, desktop_id: str, port: str, proxied_path: str | None = None) -> Any:
            host, number = await self._target(desktop_id, port, True)
            return await self.proxy_open(host, number, proxied_path or "/")

    return PortProxyHandler


def routes() -> list[tuple[str, type]]:
    return [(ROUTE, _handler())]
