"""Browser pages: ``{base_url}desktop/`` lists desktops, ``{base_url}desktop/<id>/`` shows one (noVNC).

The pages are small HTML shells; the UI is ``static/viewer.js`` (noVNC bundled, no CDN), served here
behind Jupyter auth like everything else. JupyterLab's Desktop tabs load the same script into Lab's page.

``viewer.js`` is a classic script (``<script defer>``), not a module: a module script is fetched in CORS mode,
and a JupyterHub single-user server refuses a cookie-authenticated CORS-mode request that has no XSRF token (it
sends the browser to the hub's OAuth, which sends it back: a redirect loop, a blank page). Classic scripts and
stylesheets are same-origin no-cors GETs, which it serves to a cookie login like a page view.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import JupyterHandler
from tornado import web

from .handlers import ID, RESOURCE

__all__ = ["routes"]

STATIC = Path(__file__).resolve().parent.parent / "static"

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{static}viewer.css">
</head>
<body>
<div id="jupyter-desktop"></div>
<script id="jupyter-desktop-config" type="application/json">{config}</script>
<script defer src="{static}viewer.js"></script>
</body>
</html>
"""


class PageHandler(JupyterHandler):
    auth_resource = RESOURCE

    def page(self, title: str, config: dict[str, Any]) -> None:
        base = self.base_url
        # Reading xsrf_token sets the _xsrf cookie the page's POST/PUT/DELETE send back (JupyterLab's pages
        # set it too, but a bookmarked viewer may be the first Jupyter page this browser opens).
        ext = self.settings["jupyter_desktop"]
        config = {
            "baseUrl": base,
            "xsrfToken": self.xsrf_token.decode(),
            "idleAfter": ext.pages_idle_after * 1000,  # ms without a person's input before the list stops polling
            **config,
        }
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(
            PAGE.format(
                title=html.escape(title),
                static=html.escape(f"{base}desktop/static/"),
                # "</" cannot end the script element early
                config=json.dumps(config).replace("</", "<\\/"),
            )
        )


class ListPage(PageHandler):
    @web.authenticated
    @authorized("read", resource=RESOURCE)
    def get(self) -> None:
        self.page("Desktops", {"page": "list"})


class ViewerPage(PageHandler):
    @web.authenticated
    @authorized("read", resource=RESOURCE)
    def get(self, desktop_id: str) -> None:
        if desktop_id not in self.settings["jupyter_desktop"].manager.sessions:
            raise web.HTTPError(404, f"no desktop {desktop_id!r} on this server")
        self.page(
            f"Desktop {desktop_id}",
            {"page": "viewer", "desktopId": desktop_id, "wsUrl": f"desktop/api/desktops/{desktop_id}/vnc"},
        )


class StaticHandler(JupyterHandler, web.StaticFileHandler):
    """The viewer's JS and CSS, behind Jupyter auth (no route here is public)."""

    auth_resource = RESOURCE

    @web.authenticated
    @authorized("read", resource=RESOURCE)
    def get(self, path: str, include_body: bool = True) -> Any:  # type: ignore[override]
        return web.StaticFileHandler.get(self, path, include_body)

    def compute_etag(self) -> str | None:
        return web.StaticFileHandler.compute_etag(self)


def routes() -> list[tuple[str, type, dict[str, Any]] | tuple[str, type]]:
    return [
        ("desktop/?", ListPage),
        (rf"desktop/{ID}/?", ViewerPage),
        (r"desktop/static/(.*)", StaticHandler, {"path": str(STATIC)}),
    ]
