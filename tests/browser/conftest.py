"""Fixtures of the browser tests: Debian's Chromium through Playwright (tests/harness/browser.py) against real
Jupyter servers and real desktops. Each module starts with ``skip_without_chromium()``: a Skipped raised here
would stop pytest itself when it is given this folder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ..harness.browser import browser_server, chromium, open_context
from ..harness.lab_notebook import Started, start_lab
from ..harness.server import HUB_HEADERS_CONFIG, TOKEN, JupyterServer


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """A headless Chromium for the module."""
    yield from chromium()


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[JupyterServer]:
    """A `jupyter server` process with the extension, answering with JupyterHub's headers (the pages' modules)."""
    srv = browser_server(tmp_path_factory.mktemp("jupyter"), config=HUB_HEADERS_CONFIG)
    yield srv
    srv.shutdown()


@pytest.fixture
def page(browser, server: JupyterServer) -> Iterator[object]:
    """A logged-in page on the list page; confirm() dialogs accepted; no JavaScript error allowed."""
    context = open_context(browser, server)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(server.url + f"desktop/?token={TOKEN}")  # logs in: jupyter-server sets its cookie
    page.wait_for_selector(".jd-list")
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def desktop(server: JupyterServer) -> Iterator[str]:
    """A desktop of ``server`` (openbox, 800x600), made over REST as the list page makes one; deleted after."""
    response = server.api("POST", json={"profile": "openbox", "width": 800, "height": 600})
    assert response.status_code == 201, response.text
    desktop_id = response.json()["id"]
    yield desktop_id
    server.api("DELETE", f"/{desktop_id}")


def _lab(tmp_path_factory, name: str, extension: bool) -> Iterator[JupyterServer]:
    started = Started()
    srv = start_lab(tmp_path_factory.mktemp(name), extension=extension)
    srv.started = started  # the desktops a test started (harness.lab_notebook.start): none may outlive the server
    yield srv
    srv.shutdown()
    started.check_gone()


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Iterator[JupyterServer]:
    """JupyterLab with our server extension, for the module: a kernel's Desktop() lives in the server."""
    yield from _lab(tmp_path_factory, "lab", True)


@pytest.fixture(scope="module")
def lab_without_extension(tmp_path_factory) -> Iterator[JupyterServer]:
    """JupyterLab without our server extension, for the module: a kernel's Desktop() lives in the kernel, and the
    widget reaches it through its comm."""
    yield from _lab(tmp_path_factory, "lab-tunnel", False)
