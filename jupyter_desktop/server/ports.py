"""App ports through Jupyter: ``{base_url}desktop/<id>/port/<port>/...`` proxies HTTP and WebSocket to a port inside
the desktop (a web IDE, an app's dev server, Chromium's DevTools), behind Jupyter's auth.

Only ports the desktop's owner exposed (``Desktop.expose(port)``, the ``expose`` session operation) are proxied,
and the host is the backend's (``BackendDesktop.port_host``: 127.0.0.1 for a local desktop, a Docker desktop's
container address), never one taken from the request. The proxying itself is jupyter-server-proxy's
``ProxyHandler`` (the ``ports`` extra); without it the route answers 503 saying what to install.
"""

from __future__ import annotations

import json
from typing import Any

from tornado import web

from ..errors import DesktopError
from .handlers import RESOURCE

__all__ = ["routes"]

ROUTE = r"desktop/(?P<desktop_id>[^/]+)/port/(?P<port>[0-9]{1,5})(?P<proxied_path>/.*)?"
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
            self.proxy_base = f"desktop/{desktop_id}/port/{number}"
            self.settings["jupyter_desktop"].note_activity(desktop_id)
            return host, number

        async def http_get(self, desktop_id: str, port: str, proxied_path: str | None = None) -> Any:
            host, number = await self._target(desktop_id, port, False)
            return await self.proxy(host, number, proxied_path or "/")

        async def open(self, desktop_id: str, port: str, proxied_path: str | None = None) -> Any:
            host, number = await self._target(desktop_id, port, True)
            return await self.proxy_open(host, number, proxied_path or "/")

        async def _any(self, desktop_id: str, port: str, proxied_path: str | None = None) -> Any:
            host, number = await self._target(desktop_id, port, True)
            return await self.proxy(host, number, proxied_path or "/")

        post = put = delete = patch = options = _any

        async def head(self, desktop_id: str, port: str, proxied_path: str | None = None) -> Any:
            host, number = await self._target(desktop_id, port, False)
            return await self.proxy(host, number, proxied_path or "/")

    return PortProxyHandler


def routes() -> list[tuple[str, type]]:
    return [(ROUTE, _handler())]
