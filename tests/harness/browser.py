"""Debian's Chromium through Playwright, and the Jupyter servers the browser tests open in it."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from .server import JupyterServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BASE = "/user/alice/"  # pages and URLs must work under a base URL, as on JupyterHub
VIEWPORT = {"width": 1100, "height": 720}


def skip_without_chromium() -> None:
    """Skip the module (or, from a conftest.py, the folder) without /usr/bin/chromium (`apt-get install chromium`)
    and xclip, unless JUPYTER_DESKTOP_REQUIRE_BROWSER=1 (then fail); skip it without Playwright."""
    if not (os.path.exists(CHROMIUM) and shutil.which("xclip")):
        if os.environ.get("JUPYTER_DESKTOP_REQUIRE_BROWSER") == "1":
            raise RuntimeError(f"{CHROMIUM} (apt-get install chromium) and xclip are required for the browser tests")
        pytest.skip(f"needs {CHROMIUM} (apt-get install chromium)", allow_module_level=True)
    pytest.importorskip("playwright.sync_api")


def chromium() -> Iterator[object]:
    """A headless Chromium, for a fixture (``yield from chromium()``) or a script (``next()``, then exhaust it)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def open_context(browser, server: JupyterServer, xsrf: bool = True):
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    if xsrf:
        # JupyterLab leaves an _xsrf cookie in the browser; the pages send it back as X-XSRFToken.
        context.add_cookies([{"name": "_xsrf", "value": uuid.uuid4().hex, "url": server.origin + "/"}])
    return context


def browser_server(root: Path, app: str = "jupyter_server", **options) -> JupyterServer:
    """A server (``app``: jupyter_server, jupyterlab, notebook) as the browser tests run one: under BASE, its kernels
    without the JUPYTER_DESKTOP_* variables. ``options``: JupyterServer's (args, config, extension)."""
    return JupyterServer(root, app=app, base_url=BASE, export_env=False, **options)
