"""The class page: a JupyterHub service that shows the desktops of the students a viewer may watch, live.

Routes, under the service's prefix (``/services/classroom/``), each needing a hub login (the service's OAuth cookie,
or an API token with ``access:services!service=classroom``):

- ``GET  ./``                                   the page (viewer.js's grid); a browser without a login goes through
                                                the hub's OAuth
- ``GET  ./static/viewer.js|viewer.css``        the bundle the students' servers serve too
- ``GET  ./api/desktops``                       the desktops this viewer may watch, with what they may do
- ``WS   ./api/desktops/<owner>/<id>/vnc``      a desktop's RFB stream, relayed; input is dropped unless
                                                ``?control=1`` was asked for and the viewer may take over
- ``POST ./api/shares`` ``{"user": name}``      share a view of one's own server's desktops (a JupyterHub share
                                                whose only scope is ``custom:desktops:view!server=<me>/``)
- ``DELETE ./api/shares/<name>``                withdraw it

How it reaches the desktops: with the service's own token (its role: ``access:servers`` for each student) through
JupyterHub's proxy to the students' servers' desktop API, the same routes a student's own pages use. What a viewer
may do comes from JupyterHub: the scopes of the token the hub issued the page for them (``custom:desktops:view`` /
``custom:desktops:control``, with the hub's filters) and the shares other users granted them, read from the hub at
each request and again every ``recheck`` seconds while a stream is open (a share withdrawn ends the stream).
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

import httpx
from jupyterhub.services.auth import HubOAuth, HubOAuthCallbackHandler, HubOAuthenticated, UserNotAllowed
from jupyterhub.utils import url_path_join
from tornado import httpclient, web, websocket

from .permissions import NONE, TAKE_OVER, WATCH, Grants, share_scope
from .rfb_filter import ViewerFilter

__all__ = ["Classroom", "make_app", "main"]

log = logging.getLogger("jupyter_desktop.classroom")

STATIC = Path(__file__).resolve().parent.parent / "static"
NAME = r"[^/]+"
PAGINATION = "application/jupyterhub-pagination+json"
MAX_BODY = 64 * 1024

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Class desktops</title>
<link rel="stylesheet" href="{static}viewer.css">
</head>
<body>
<div id="jupyter-desktop"></div>
<script id="jupyter-desktop-config" type="application/json">{config}</script>
<script defer src="{static}viewer.js"></script>
</body>
</html>
"""


class HubError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Classroom:
    """The service's view of the hub: users, shares, and the students' servers behind the proxy."""

    def __init__(self, *, hub_api: str, proxy_url: str, token: str, idle_after: float, recheck: float) -> None:
        self.hub_api = hub_api.rstrip("/") + "/"
        self.proxy_url = proxy_url.rstrip("/")
        self.token = token
        self.idle_after = idle_after
        self.recheck = recheck
        headers = {"Authorization": f"token {token}"}
        self.http = httpx.AsyncClient(headers=headers, timeout=httpx.Timeout(20, connect=5))

    # ---------------------------------------------------------------- the hub's REST API

    async def hub(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self.http.request(method, self.hub_api + path, **kwargs)
        except httpx.HTTPError as exc:
            raise HubError(502, f"cannot reach the hub: {exc}") from None

    async def _pages(self, path: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        offset = 0
        while True:
            sep = "&" if "?" in path else "?"
            response = await self.hub("GET", f"{path}{sep}offset={offset}", headers={"Accept": PAGINATION})
            if response.status_code != 200:
                raise HubError(response.status_code, f"the hub answered {response.status_code} on {path}")
            data = response.json()
            items += data["items"]
            following = (data.get("_pagination") or {}).get("next")
            if not following:
                return items
            offset = following["offset"]

    async def users(self) -> list[dict[str, Any]]:
        """The users whose servers the service may see (its role: the students), with their running servers."""
        return await self._pages("users?state=ready")

    async def user(self, name: str) -> dict[str, Any] | None:
        response = await self.hub("GET", f"users/{quote(name, safe='')}")
        return response.json() if response.status_code == 200 else None

    async def grants(self, viewer: dict[str, Any]) -> Grants:
        """The viewer's desktop scopes: their page token's, and the shares granted to them (read now)."""
        grants = Grants(viewer.get("scopes", []))
        if viewer.get("kind", "user") == "user":
            try:
                shares = await self._pages(f"users/{quote(viewer['name'], safe='')}/shared")
            except HubError as exc:
                if exc.status not in (403, 404):
                    raise
                shares = []  # the service may not read this viewer's shares: none count
            for share in shares:
                for scope in share.get("scopes", []):
                    grants.add(scope)
        return grants

    async def my_shares(self, owner: str) -> list[str] | None:
        """Who holds a view of ``owner``'s default server through a share (None: the service cannot share it)."""
        try:
            shares = await self._pages(f"shares/{quote(owner, safe='')}/")
        except HubError as exc:
            if exc.status in (403, 404):
                return None
            raise
        scope = share_scope(owner)
        return sorted(s["user"]["name"] for s in shares if s.get("user") and scope in s.get("scopes", []))

    async def share(self, owner: str, with_user: str, grant: bool) -> None:
        body = {"user": with_user, "scopes": [share_scope(owner)]}
        response = await self.hub("POST" if grant else "PATCH", f"shares/{quote(owner, safe='')}/", json=body)
        if response.status_code >= 300:
            try:
                message = response.json().get("message") or response.reason_phrase
            except ValueError:
                message = response.reason_phrase
            raise HubError(response.status_code, message)

    # ---------------------------------------------------------------- the students' servers

    def server_url(self, server_path: str, rest: str) -> str:
        """``rest`` under a server's path (``/user/<name>/``) through the hub's proxy."""
        return self.proxy_url + url_path_join(server_path, rest)

    async def desktops_of(self, server_path: str) -> list[dict[str, Any]]:
        try:
            response = await self.http.get(self.server_url(server_path, "desktop/api/desktops"))
        except httpx.HTTPError as exc:
            raise HubError(502, f"cannot reach the server: {exc}") from None
        if response.status_code == 200:
            return response.json()
        if response.status_code == 403:
            raise HubError(403, "the class page has no access to this server (see its role in the hub's config)")
        if response.status_code == 404:
            raise HubError(404, "this server has no desktops (jupyter_desktop is not installed or not enabled)")
        raise HubError(response.status_code, f"the server answered {response.status_code}")

    async def visible(self, viewer: dict[str, Any]) -> list[dict[str, Any]]:
        """The ready servers the viewer may watch: owner, server name, path, level."""
        grants = await self.grants(viewer)
        out: list[dict[str, Any]] = []
        if not grants:
            return out
        for user in await self.users():
            for name, server in (user.get("servers") or {}).items():
                if not server.get("ready"):
                    continue
                level = grants.level(user["name"], user.get("groups") or [], name)
                if level != NONE:
                    out.append({"owner": user["name"], "server": name, "path": server["url"], "level": level})
        return sorted(out, key=lambda s: (s["owner"], s["server"]))


# -------------------------------------------------------------------------------------------- handlers


class Base(HubOAuthenticated, web.RequestHandler):
    """Authenticated with the hub (the service's OAuth cookie, or a token) before the method runs."""

    @property
    def classroom(self) -> Classroom:
        return self.settings["classroom"]

    async def prepare(self) -> None:  # type: ignore[override]
        model = await self.hub_auth.get_user(self, sync=False)
        if model:
            try:
                model = self.check_hub_user(model)
            except UserNotAllowed:
                model = None
        self._hub_auth_user_cache = model

    def get_current_user(self) -> dict[str, Any] | None:
        return getattr(self, "_hub_auth_user_cache", None)

    def set_default_headers(self) -> None:
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Content-Security-Policy", "frame-ancestors 'none'")


class ApiBase(Base):
    def prepare_viewer(self) -> dict[str, Any]:
        viewer = self.current_user
        if not viewer:
            raise web.HTTPError(403, "log in to the hub, with access to this service")
        return viewer

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        message = getattr(exc, "log_message", None) or self._reason
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"message": message}))

    def reply(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data))


class PageHandler(Base):
    @web.authenticated
    def get(self) -> None:
        prefix = self.hub_auth.base_url
        config = {
            "page": "grid",
            "baseUrl": prefix,
            "xsrfToken": self.xsrf_token.decode() if isinstance(self.xsrf_token, bytes) else self.xsrf_token,
            "viewer": self.current_user["name"],
            "idleAfter": int(self.classroom.idle_after * 1000),
        }
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(
            PAGE.format(
                static=html.escape(url_path_join(prefix, "static/")),
                config=json.dumps(config).replace("</", "<\\/"),
            )
        )


class StaticHandler(Base, web.StaticFileHandler):
    """viewer.js and viewer.css, behind the hub login like every route."""

    async def get(self, path: str, include_body: bool = True) -> None:  # type: ignore[override]
        if not self.current_user:
            raise web.HTTPError(403)
        if path not in ("viewer.js", "viewer.css"):
            raise web.HTTPError(404)
        await web.StaticFileHandler.get(self, path, include_body)

    def set_default_headers(self) -> None:
        self.set_header("X-Content-Type-Options", "nosniff")


class DesktopsHandler(ApiBase):
    async def get(self) -> None:
        viewer = self.prepare_viewer()
        try:
            servers = await self.classroom.visible(viewer)
        except HubError as exc:
            raise web.HTTPError(502, str(exc)) from None

        async def one(server: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]] | HubError]:
            try:
                return server, await self.classroom.desktops_of(server["path"])
            except HubError as exc:
                return server, exc

        desktops, problems = [], []
        for server, result in await asyncio.gather(*(one(s) for s in servers)):
            where = {"owner": server["owner"], "server": server["server"]}
            if isinstance(result, HubError):
                problems.append({**where, "message": str(result)})
                continue
            for d in result:
                query = f"?server={quote(server['server'])}" if server["server"] else ""
                desktops.append({
                    **where,
                    "id": d["id"],
                    "status": d.get("status"),
                    "width": d.get("width"),
                    "height": d.get("height"),
                    "profile": d.get("profile"),
                    "created": d.get("created"),
                    "control": server["level"] == TAKE_OVER,
                    "vnc": f"api/desktops/{quote(server['owner'], safe='')}/{quote(d['id'], safe='')}/vnc{query}",
                })  # fmt: skip
        sharing: dict[str, Any] = {"can_share": False, "shared_with": []}
        if viewer.get("kind", "user") == "user":
            try:
                shared = await self.classroom.my_shares(viewer["name"])
            except HubError:
                shared = None
            if shared is not None:
                sharing = {"can_share": True, "shared_with": shared}
        self.reply({"viewer": viewer["name"], "desktops": desktops, "problems": problems, "sharing": sharing})


class SharesHandler(ApiBase):
    """A view of the viewer's own (default) server for another user: a JupyterHub share of the view scope only."""

    def _own(self) -> str:
        viewer = self.prepare_viewer()
        if viewer.get("kind", "user") != "user":
            raise web.HTTPError(403, "only a user shares their server")
        return viewer["name"]

    async def post(self, name: str | None = None) -> None:
        owner = self._own()
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError:
            raise web.HTTPError(400, "the body is not JSON") from None
        target = body.get("user") if isinstance(body, dict) else None
        if not isinstance(target, str) or not re.fullmatch(r"[^/\s]{1,255}", target):
            raise web.HTTPError(400, 'give the user to share with: {"user": "<name>"}')
        if target == owner:
            raise web.HTTPError(400, "that is you")
        await self._change(owner, target, grant=True)
        self.reply({"shared_with": await self.classroom.my_shares(owner) or []})

    async def delete(self, name: str) -> None:
        owner = self._own()
        await self._change(owner, name, grant=False)
        self.reply({"shared_with": await self.classroom.my_shares(owner) or []})

    async def _change(self, owner: str, target: str, grant: bool) -> None:
        try:
            await self.classroom.share(owner, target, grant)
        except HubError as exc:
            status = exc.status if exc.status in (400, 403, 404) else 502
            raise web.HTTPError(status, f"the hub refused: {exc}") from None


class RelayHandler(Base, websocket.WebSocketHandler):
    """One desktop's RFB stream between the viewer's page and the owner's server, input filtered by permission."""

    upstream: websocket.WebSocketClientConnection | None = None
    _pump: asyncio.Task[None] | None = None
    _watch: asyncio.Task[None] | None = None

    def select_subprotocol(self, subprotocols: list[str]) -> str | None:
        return "binary" if "binary" in subprotocols else None

    async def _level(self, viewer: dict[str, Any], owner: str, server: str) -> tuple[int, dict[str, Any] | None]:
        grants = await self.classroom.grants(viewer)
        if not grants:
            return NONE, None
        user = await self.classroom.user(owner)
        if user is None:
            return NONE, None
        return grants.level(owner, user.get("groups") or [], server), user

    async def get(self, owner: str, desktop_id: str) -> None:  # type: ignore[override]
        viewer = self.current_user
        if not viewer:
            raise web.HTTPError(403, "log in to the hub, with access to this service")
        server = self.get_argument("server", "")
        self.control = self.get_argument("control", "") in ("1", "true", "yes")
        try:
            level, user = await self._level(viewer, owner, server)
        except HubError as exc:
            raise web.HTTPError(502, str(exc)) from None
        if level < (TAKE_OVER if self.control else WATCH):
            raise web.HTTPError(403, f"{viewer['name']} may not {'take over' if self.control else 'watch'} this desktop")
        model = ((user or {}).get("servers") or {}).get(server)
        if not model or not model.get("ready"):
            raise web.HTTPError(409, f"{owner}'s server is not running")
        url = self.classroom.server_url(model["url"], f"desktop/api/desktops/{quote(desktop_id, safe='')}/vnc")
        request = httpclient.HTTPRequest(
            "ws" + url[4:] if url.startswith("http") else url,
            headers={"Authorization": f"token {self.classroom.token}"},
            connect_timeout=10,
            request_timeout=20,
        )
        try:
            # pings: a server that went away without closing ends the relay too
            self.upstream = await websocket.websocket_connect(request, subprotocols=["binary"], ping_interval=30)
        except httpclient.HTTPClientError as exc:
            status = exc.code if exc.code in (404, 409) else 502
            raise web.HTTPError(status, f"the desktop's server answered {exc.code}") from None
        except OSError as exc:
            raise web.HTTPError(502, f"cannot reach {owner}'s server: {exc}") from None
        self.filter = ViewerFilter(allow_input=self.control)
        self.owner, self.server, self.desktop_id = owner, server, desktop_id
        self.viewer_token = self.hub_auth.get_token(self)
        try:
            await super().get(owner, desktop_id)
        finally:
            if self.ws_connection is None and self.upstream is not None:  # the upgrade failed
                self.upstream.close()

    def open(self, owner: str, desktop_id: str) -> None:  # type: ignore[override]
        self.set_nodelay(True)
        log.info(
            "%s %s %s's desktop %s", self.current_user["name"], "controls" if self.control else "watches", owner,
            desktop_id,
        )  # fmt: skip
        self._pump = asyncio.ensure_future(self._from_desktop())
        if self.classroom.recheck > 0:
            self._watch = asyncio.ensure_future(self._recheck())

    async def _from_desktop(self) -> None:
        upstream = self.upstream
        assert upstream is not None
        while True:
            message = await upstream.read_message()
            if message is None:
                break
            try:
                await self.write_message(message, binary=isinstance(message, bytes))
            except websocket.WebSocketClosedError:
                break
        self.close(1000, "the desktop's stream ended")

    async def _recheck(self) -> None:
        """While the stream is open: does the viewer still hold the permission it opened with?"""
        need = TAKE_OVER if self.control else WATCH
        while True:
            await asyncio.sleep(self.classroom.recheck)
            try:
                viewer = await self.hub_auth.user_for_token(self.viewer_token, use_cache=False, sync=False)
                level = NONE if not viewer else (await self._level(viewer, self.owner, self.server))[0]
            except (HubError, httpx.HTTPError, web.HTTPError) as exc:
                log.warning("cannot check %s's permission now: %s", self.current_user["name"], exc)
                continue
            if level < need:
                log.info("%s's permission for %s's desktop was withdrawn", self.current_user["name"], self.owner)
                self.close(4003, "permission withdrawn")
                return

    async def on_message(self, message: str | bytes) -> None:
        if isinstance(message, str):
            message = message.encode("latin-1", "replace")
        passed = self.filter.filter(message)
        if passed is None:
            self.close(1008, "unreadable viewer stream on a view-only seat")
            return
        if passed and self.upstream is not None:
            try:
                await self.upstream.write_message(passed, binary=True)
            except websocket.WebSocketClosedError:
                self.close(1000, "the desktop's stream ended")

    def on_close(self) -> None:
        for task in (self._pump, self._watch):
            if task is not None:
                task.cancel()
        if self.upstream is not None:
            self.upstream.close()
            self.upstream = None


class CallbackHandler(HubOAuthCallbackHandler):
    pass


def make_app(classroom: Classroom, prefix: str) -> web.Application:
    def route(path: str) -> str:
        return url_path_join(prefix, path)

    return web.Application(
        [
            (prefix, PageHandler),
            (route("oauth_callback"), CallbackHandler),
            (route(r"static/(.*)"), StaticHandler, {"path": str(STATIC)}),
            (route("api/desktops"), DesktopsHandler),
            (route(rf"api/desktops/({NAME})/({NAME})/vnc"), RelayHandler),
            (route("api/shares"), SharesHandler),
            (route(rf"api/shares/({NAME})"), SharesHandler),
        ],
        classroom=classroom,
        cookie_secret=os.urandom(32),  # a restart logs viewers out: the next page load runs the OAuth again
        xsrf_cookies=False,  # HubOAuth checks XSRF on cookie-authenticated requests itself (jupyterhub._xsrf_utils)
        websocket_ping_interval=30,
    )


def main() -> None:
    """``python -m jupyter_desktop.classroom``: run as a JupyterHub managed service (the hub sets JUPYTERHUB_*)."""
    logging.basicConfig(level=logging.INFO, format="[%(levelname)1.1s %(asctime)s classroom] %(message)s")
    env = os.environ
    prefix = env["JUPYTERHUB_SERVICE_PREFIX"]
    listen = urlparse(env["JUPYTERHUB_SERVICE_URL"])
    hub_auth = HubOAuth.instance(cache_max_age=int(env.get("JD_CLASSROOM_CACHE", "10")))
    classroom = Classroom(
        hub_api=env["JUPYTERHUB_API_URL"],
        proxy_url=env.get("JD_CLASSROOM_PROXY_URL", "http://127.0.0.1:8000"),
        token=env["JUPYTERHUB_API_TOKEN"],
        idle_after=float(env.get("JD_CLASSROOM_IDLE_AFTER", "300")),
        recheck=float(env.get("JD_CLASSROOM_RECHECK", "30")),
    )
    app = make_app(classroom, prefix)
    log.info("class page at %s, listening on %s (hub API %s)", prefix, listen.netloc, hub_auth.api_url)

    async def serve() -> None:
        # the only bodies it takes are {"user": name}: 64 KiB is plenty (tornado's default would be 100 MB)
        app.listen(listen.port or 80, listen.hostname or "127.0.0.1", xheaders=True, max_body_size=MAX_BODY)
        await asyncio.Event().wait()

    asyncio.run(serve())
