"""The JupyterLab extension in a real JupyterLab 4 / Notebook 7 (Chromium through Playwright), against the real
server extension: the Launcher's "Desktop" tile starts a desktop and opens it in a tab, "Desktops" opens the
list, File > New has the command, a refused start shows the server's message, and Notebook 7's file browser
"New" menu opens the desktop in a new browser tab.

Runs where `jupyterlab` and `notebook` are installed next to jupyter_desktop (the labextension comes from the
wheel's shared-data, or `jupyter labextension develop`); skipped otherwise.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from .test_browser_viewer import TOKEN, Server, chromium, open_context

pytest.importorskip("jupyterlab")
pytest.importorskip("notebook")


def labextension_installed() -> bool:
    out = subprocess.run(
        [sys.executable, "-m", "jupyter", "labextension", "list", "--json"], capture_output=True, text=True, check=False
    )
    if out.returncode == 0 and out.stdout.strip().startswith("{"):
        return "jupyter-desktop" in json.dumps(json.loads(out.stdout))
    out = subprocess.run(
        [sys.executable, "-m", "jupyter", "labextension", "list"], capture_output=True, text=True, check=False
    )
    return bool(re.search(r"jupyter-desktop v\S+ .*enabled.*OK", out.stdout + out.stderr))


if not labextension_installed():
    pytest.skip("the jupyter-desktop labextension is not installed in this environment", allow_module_level=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    yield from chromium()


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("lab"), app="jupyterlab", args=("--DesktopExtension.max_desktops=1",))
    yield srv
    srv.stop()


@pytest.fixture
def lab_page(browser, lab: Server):
    context = open_context(browser, lab, xsrf=False)  # JupyterLab sets its own _xsrf cookie
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(lab.url + f"lab?reset&token={TOKEN}")  # a fresh workspace: just the Launcher
    page.wait_for_selector(".jp-Launcher", timeout=60000)
    yield page
    context.close()
    assert not errors, f"JavaScript errors in JupyterLab: {errors}"


def desktop_ids(server: Server) -> list[str]:
    return [d["id"] for d in server.api("GET").json()]


def test_launcher_tile_starts_a_desktop_in_a_lab_tab(lab_page, lab):
    page = lab_page
    section = page.locator(".jp-Launcher-section", has=page.locator(".jp-Launcher-sectionTitle", has_text="Other"))
    tile = section.locator(".jp-LauncherCard", has_text=re.compile(r"^\s*Desktop\s*$"))
    assert tile.locator("svg").count() == 1  # the monitor icon
    tile.click()
    tab = page.locator(".lm-TabBar-tab", has_text=re.compile(r"^Desktop [0-9a-f]+"))
    tab.wait_for(timeout=60000)
    (desktop_id,) = desktop_ids(lab)
    assert tab.inner_text().strip() == f"Desktop {desktop_id}"
    iframe = page.locator(".jp-DesktopFrame iframe")
    assert iframe.get_attribute("src") == lab.url + f"desktop/{desktop_id}/"
    assert set(iframe.get_attribute("sandbox").split()) >= {"allow-scripts", "allow-same-origin"}
    frame = page.frame_locator(".jp-DesktopFrame iframe")
    frame.locator("#jupyter-desktop[data-state=connected]").wait_for(timeout=30000)

    # a second desktop is refused (max_desktops=1): a dialog shows the server's message
    page.locator(".lm-DockPanel .lm-TabBar-addButton").first.click()  # the tile replaced the Launcher: a new one
    tile.click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=30000)
    assert "Could not start a desktop" in dialog.inner_text()
    message = lab.api("POST", json={}).json()["message"]
    assert message in dialog.inner_text()
    dialog.locator("button.jp-Dialog-button", has_text="Close").click()
    dialog.wait_for(state="detached")
    expect(page.locator(".lm-TabBar-tab", has_text="Starting desktop")).to_have_count(0, timeout=30000)  # the pending tab closes
    assert desktop_ids(lab) == [desktop_id]
    lab.api("DELETE", f"/{desktop_id}")


def test_desktops_tile_and_file_new_menu(lab_page, lab):
    page = lab_page
    page.locator(".jp-LauncherCard", has_text=re.compile(r"^\s*Desktops\s*$")).click()
    page.locator(".lm-TabBar-tab", has_text=re.compile(r"^Desktops$")).wait_for(timeout=30000)
    page.frame_locator(".jp-DesktopFrame iframe").locator(".jd-list h1", has_text="Desktops").wait_for(timeout=30000)

    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^File$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^New$")).first.hover()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^New Desktop$")).wait_for(timeout=30000)
    page.keyboard.press("Escape")


@pytest.fixture(scope="module")
def nb(tmp_path_factory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("nb"), app="notebook")
    yield srv
    srv.stop()


def test_notebook7_new_menu_opens_the_desktop_in_a_browser_tab(browser, nb):
    context = open_context(browser, nb, xsrf=False)
    try:
        page = context.new_page()
        page.goto(nb.url + f"tree?token={TOKEN}")
        page.locator(".jp-DirListing").wait_for(timeout=60000)
        page.locator(".jp-DropdownMenu .lm-MenuBar-itemLabel", has_text="New").click()
        item = page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^New Desktop$"))
        item.wait_for(timeout=30000)
        with context.expect_page(timeout=60000) as popup_info:
            item.click()
        popup = popup_info.value
        popup.wait_for_url(re.compile(r".*/desktop/[0-9a-f]+/$"), timeout=60000)
        popup.locator("#jupyter-desktop[data-state=connected]").wait_for(timeout=30000)
        assert len(desktop_ids(nb)) == 1
    finally:
        context.close()
