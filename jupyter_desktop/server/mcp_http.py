"""The MCP server over streamable HTTP at ``{base_url}desktop/mcp``, behind Jupyter's auth like every route.

An MCP client (``Authorization: token <Jupyter or JupyterHub API token>``) drives the server's desktops: the tools of
:func:`jupyter_desktop.agents.mcp.build_server`, each taking the ``desktop_id`` it acts on (``list_desktops``,
``create_desktop``). The transport is the ``mcp`` package's own (``StreamableHTTPSessionManager``), stateless with
JSON responses: each POST is one JSON-RPC exchange, nothing is kept between requests, so any number of clients and
server restarts need no session bookkeeping. Tornado is not ASGI: the handler hands the request to the manager as an
ASGI scope (the body it read, within ``MAX_BODY``) and writes back what the manager sends.

The tools are synchronous (they wait for the screen to settle, for commands to end): the MCP server runs them in
worker threads, and each reaches the server's desktops through a ``Desktop`` whose calls run on this server's event
loop. Without the ``mcp`` package the route answers 503 saying what to install.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from .._loop import LoopThread
from ..desktop import LocalHub
from ..backends.base import DesktopSpec
from ..errors import InvalidInputError
from .handlers import MAX_BODY, RESOURCE, DesktopAPIHandler

if TYPE_CHECKING:
    from ..desktop import Desktop
    from ..session import Session

__all__ = ["routes", "MCPHandler", "MCPService"]

PATH = "desktop/mcp"
REQUEST_TIMEOUT = 600.0  # seconds one MCP request may take (a run may take 300, a new desktop 120)
_HIDDEN_HEADERS = {b"authorization", b"cookie"}  # Jupyter's credentials stay with Jupyter


class _ServerLoop(LoopThread):
    """The Jupyter server's own event loop, as ``Desktop`` reaches its loop: ``call`` from a worker thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:  # no thread of its own: the server's
        self.loop = loop
        self.pid = os.getpid()
        self.thread = threading.current_thread()  # made on the loop's thread: call() refuses to block it


class _ManagerHub(LocalHub):
    """The extension's DesktopManager as a ``DesktopHub``: the MCP tools' desktops are the server's, made within the
    server's limits (``check_request``), and dropping the ``Desktop`` objects the tools use never stops one
    (stop_desktop does, through the manager)."""

    server_side = True

    def __init__(self, ext: Any) -> None:
        super().__init__(ext.manager)
        self.ext = ext

    async def create(self, spec: DesktopSpec, backend: str | None = None) -> Session:
        self.ext.check_request(spec, backend)
        return await super().create(spec, backend)

    async def drop(self, session: Any, owned: bool) -> None:
        pass


class ServerDesktops:
    """The server's desktops, for the MCP tools (a :class:`jupyter_desktop.agents.mcp.Desktops`)."""

    pinned = False

    def __init__(self, ext: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.ext = ext
        self.runner = _ServerLoop(loop)
        self.hub = _ManagerHub(ext)
        self._desktops: dict[str, Desktop] = {}
        self._lock = threading.Lock()

    def _call(self, coro: Coroutine[Any, Any, Any], timeout: float = 60) -> Any:
        return self.runner.call(coro, timeout)

    def _wrap(self, session: Session) -> Desktop:
        from ..desktop import Desktop

        with self._lock:
            desktop = self._desktops.get(session.id)
            if desktop is None or desktop._session is not session:
                desktop = Desktop.__new__(Desktop)
                desktop._adopt(self.runner, self.hub, session, owned=False)
                self._desktops[session.id] = desktop
            return desktop

    def get(self, desktop_id: str | None) -> Desktop:
        if desktop_id is None:
            live = [d for d in self.list() if d.get("status") in ("starting", "running")]
            if len(live) != 1:
                ids = ", ".join(d["id"] for d in live)
                raise InvalidInputError(
                    "no desktop runs: start one with create_desktop" if not live
                    else f"{len(live)} desktops run ({ids}): say which with desktop_id"
                )  # fmt: skip
            desktop_id = live[0]["id"]
        if not isinstance(desktop_id, str):
            raise InvalidInputError(f"desktop_id must be a string, not {desktop_id!r:.80}")
        session = self._call(self.hub.get(desktop_id))
        self.runner.loop.call_soon_threadsafe(self.ext.note_activity, desktop_id)
        return self._wrap(session)

    def list(self) -> list[dict[str, Any]]:
        return self._call(self.hub.list())

    def create(self, profile: str | None, width: int | None, height: int | None) -> Desktop:
        spec = DesktopSpec.from_json(
            {k: v for k, v in (("profile", profile), ("width", width), ("height", height)) if v is not None},
            profile=self.ext.default_profile, width=self.ext.default_width, height=self.ext.default_height,
        )  # fmt: skip
        session = self._call(self.hub.create(spec), 180)
        return self._wrap(session)

    def stop(self, desktop_id: str) -> None:
        session = self._call(self.hub.get(desktop_id))
        self._call(self.hub.stop(session), 120)
        with self._lock:
            self._desktops.pop(desktop_id, None)


class MCPService:
    """The MCP server and its session manager, started on the first request and stopped with the extension."""

    def __init__(self, ext: Any) -> None:
        self.ext = ext
        self.manager: Any = None
        self._started: asyncio.Future[None] | None = None
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def handler(self) -> Any:
        if self._started is None:
            self._started = asyncio.get_running_loop().create_future()
            self._task = asyncio.create_task(self._run(self._started))
        await asyncio.shield(self._started)
        return self.manager

    async def _run(self, started: asyncio.Future[None]) -> None:
        try:
            from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

            from ..agents.mcp import build_server

            with _root_logging_untouched():  # MCPServer() configures the root logger; the server's is Jupyter's
                server = build_server(
                    ServerDesktops(self.ext, asyncio.get_running_loop()),
                    max_long_edge=self.ext.mcp_max_long_edge or None, max_pixels=self.ext.mcp_max_pixels or None,
                )  # fmt: skip
            self.manager = StreamableHTTPSessionManager(
                app=server._lowlevel_server, json_response=True, stateless=True, max_request_body_size=MAX_BODY
            )
            async with self.manager.run():
                started.set_result(None)
                await self._stop.wait()
        except BaseException as exc:
            if not started.done():
                started.set_exception(exc)
            if not isinstance(exc, Exception):
                raise

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(self._task, 10)


@contextlib.contextmanager
def _root_logging_untouched() -> Any:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


class MCPHandler(DesktopAPIHandler):
    """POST (and GET, DELETE) of the MCP streamable HTTP transport, answered by the ``mcp`` package's manager.

    Auth is Jupyter's, as on every route (``@web.authenticated`` + ``@authorized``): the API token in the
    ``Authorization`` header (JupyterHub's too), or the login cookie with the XSRF check as any API route. The action
    is ``execute``: the tools run commands on the desktops."""

    def service(self) -> MCPService:
        ext = self.ext
        service = getattr(ext, "_mcp_service", None)
        if service is None:
            service = ext._mcp_service = MCPService(ext)
        return service

    async def _serve(self) -> None:
        if self._body_size > MAX_BODY:
            raise web.HTTPError(413, f"the request body is {self._body_size} bytes; the limit is {MAX_BODY} bytes")
        try:
            manager = await self.service().handler()
        except ImportError as exc:
            raise web.HTTPError(503, f"the MCP server needs the mcp package ({exc}): pip install 'jupyter_desktop[mcp]'") from None
        request = self.request
        host, _, port = (request.host or "localhost").partition(":")
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": request.protocol,
            "path": "/" + PATH,
            "raw_path": ("/" + PATH).encode(),
            "root_path": "",
            "query_string": b"",
            "headers": [
                (name.lower().encode("latin-1"), value.encode("latin-1"))
                for name, value in request.headers.get_all()
                if name.lower().encode("latin-1") not in _HIDDEN_HEADERS
            ],
            "client": (request.remote_ip or "", 0),
            "server": (host, int(port) if port.isdigit() else (443 if request.protocol == "https" else 80)),
        }
        body = bytes(self._body)
        content_type = "application/json"
        sent = False
        done = asyncio.Event()

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal content_type
            if message["type"] == "http.response.start":
                self.set_status(message["status"])
                for raw_name, raw_value in message.get("headers", []):
                    name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
                    if name.lower() == "content-type":
                        content_type = value  # APIHandler.finish sets it
                    elif name.lower() != "content-length":
                        self.add_header(name, value)
            elif message["type"] == "http.response.body":
                if message.get("body"):
                    self.write(message["body"])
                if message.get("more_body"):
                    await self.flush()

        try:
            await asyncio.wait_for(manager.handle_request(scope, receive, send), REQUEST_TIMEOUT)
        except asyncio.TimeoutError:
            if not self._headers_written:
                raise web.HTTPError(504, f"the MCP request took longer than {REQUEST_TIMEOUT:g} s") from None
        finally:
            done.set()
        if not self._finished:
            self.finish(set_content_type=content_type)

    @web.authenticated
    @authorized("execute", resource=RESOURCE)
    async def post(self) -> None:
        self.ext.note_activity()
        await self._serve()

    @web.authenticated
    @authorized("execute", resource=RESOURCE)
    async def get(self) -> None:
        await self._serve()

    @web.authenticated
    @authorized("execute", resource=RESOURCE)
    async def delete(self) -> None:
        await self._serve()


async def stop(ext: Any) -> None:
    """Stop the MCP service if it was started (the extension stops)."""
    service = getattr(ext, "_mcp_service", None)
    if service is not None:
        await service.stop()


def routes() -> list[tuple[str, type]]:
    return [(PATH + "/?", MCPHandler)]
