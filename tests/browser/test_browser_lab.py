"""The JupyterLab extension in a real JupyterLab 4 / Notebook 7 (Chromium through Playwright), against the real
server extension: the Launcher's "Desktop" tile starts a desktop and shows it in a tab, "Desktops" shows the
list, File > New has the command, a refused start shows the server's message, and Notebook 7's file browser
"New" menu opens the desktop in a new browser tab.

JupyterLab runs as a JupyterHub single-user server answers: every response says `Content-Security-Policy:
frame-ancestors 'none'` (JupyterHub >= 4.1), so no page of the server can be framed, not even by Lab itself. The
tabs host the viewer in Lab's own DOM, no iframe (an iframe of the viewer page was refused there: blank tab).

Runs where `jupyterlab` and `notebook` are installed next to jupyter_desktop; the labextension is this checkout's
build (tests/harness/server.py's LABEXTENSION) or, without one, the installed one; skipped when there is neither.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from ..conftest import eventually
from ..harness.browser import BASE, browser_server, open_context, skip_without_chromium
from ..harness.lab_notebook import start_lab
from ..harness.server import HUB_HEADERS_CONFIG, LABEXTENSION, TOKEN, JupyterServer

skip_without_chromium()

pytest.importorskip("jupyterlab")
pytest.importorskip("notebook")


def labextension_installed() -> bool:
    if (LABEXTENSION / "package.json").is_file():
        return True  # the servers below load this checkout's build
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

PANEL = ".jp-DesktopPanel"
VIEWER = f"{PANEL} .jd-viewer"


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Iterator[JupyterServer]:
    root = tmp_path_factory.mktemp("lab")
    srv = start_lab(root, args=("--DesktopExtension.max_desktops=1",), config=HUB_HEADERS_CONFIG)
    yield srv
    srv.shutdown()


@pytest.fixture
def lab_page(browser, lab: JupyterServer):
    context = open_context(browser, lab, xsrf=False)  # JupyterLab sets its own _xsrf cookie
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    response = page.goto(lab.url + f"lab?reset&token={TOKEN}")  # a fresh workspace: just the Launcher
    # served as a hub's single-user server serves it: no page of this server may be framed, even by itself
    assert response.headers["content-security-policy"] == "frame-ancestors 'none'"
    page.wait_for_selector(".jp-Launcher", timeout=60000)
    yield page
    context.close()
    assert not errors, f"JavaScript errors in JupyterLab: {errors}"


def desktop_ids(server: JupyterServer) -> list[str]:
    return [d["id"] for d in server.api("GET").json()]


def remote_size(server: JupyterServer, desktop_id: str) -> tuple[int, int]:
    info = server.api("GET", f"/{desktop_id}").json()
    return info["width"], info["height"]


def pointer(server: JupyterServer, desktop_id: str) -> tuple[int, int]:
    data = server.api("GET", f"/{desktop_id}/pointer").json()
    return data["x"], data["y"]


def canvas_pixel(page, x: int, y: int) -> list[int]:
    return page.evaluate(
        "([sel, x, y]) => Array.from(document.querySelector(sel).getContext('2d').getImageData(x, y, 1, 1).data.slice(0, 3))",
        [f"{VIEWER} .jd-screen canvas", x, y],
    )


def launcher_tile(page, label: str):
    launcher = page.locator(".jp-Launcher:visible").last  # the Launcher in front
    section = launcher.locator(".jp-Launcher-section", has=page.locator(".jp-Launcher-sectionTitle", has_text="Other"))
    return section.locator(".jp-LauncherCard", has_text=re.compile(rf"^\s*{label}\s*$"))


def test_launcher_tile_shows_the_desktop_in_a_lab_tab_without_an_iframe(lab_page, lab, tmp_path: Path):
    page = lab_page
    sockets: list = []
    page.on("websocket", lambda ws: sockets.append(ws) if "/desktop/api/" in ws.url else None)  # not Lab's own
    tile = launcher_tile(page, "Desktop")
    assert tile.locator("svg").count() == 1  # the monitor icon

    # the tab opens at once with Lab's spinner while the server starts the desktop (the POST held here)
    held: list = []
    create = re.compile(r".*/desktop/api/desktops(\?\d+)?$")
    page.route(create, lambda route: held.append(route) if route.request.method == "POST" else route.continue_())
    tile.click()
    page.locator(".lm-TabBar-tab", has_text="Starting desktop…").wait_for(timeout=30000)
    page.locator(".jp-MainAreaWidget .jp-Spinner").wait_for(timeout=30000)
    eventually(lambda: page.evaluate("() => true") and held, what="the held POST")  # evaluate: lets routes run
    assert desktop_ids(lab) == []
    held[0].continue_()
    page.unroute(create)

    tab = page.locator(".lm-TabBar-tab", has_text=re.compile(r"^Desktop [0-9a-f]+"))
    tab.wait_for(timeout=60000)
    (desktop_id,) = desktop_ids(lab)
    assert tab.inner_text().strip() == f"Desktop {desktop_id}"
    assert page.locator("iframe").count() == 0, "the Desktop tab frames a page: frame-ancestors 'none' refuses it"
    page.wait_for_selector(f"{VIEWER}[data-state=connected]", timeout=30000)
    assert page.locator(f"{VIEWER}.jd-embedded .jd-screen[data-lm-suppress-shortcuts]").count() == 1
    assert page.title() != f"Desktop {desktop_id}"  # Lab's title, not the viewer page's
    assert re.search(r"/lab(\?|$)", page.url), page.url  # and Lab's URL

    # renders: the desktop's own pixels (an orange root window) in the tab, at the tab's size (resizeSession)
    run = {"command": "xsetroot -solid '#ff8000'", "timeout": 10}
    assert lab.api("POST", f"/{desktop_id}/exec", json=run).json()["returncode"] == 0
    eventually(lambda: canvas_pixel(page, 5, 5) == [255, 128, 0], what="orange pixels in the Lab tab's canvas")

    def stage() -> tuple[int, int]:
        box = page.locator(f"{VIEWER} .jd-stage").bounding_box()
        return round(box["width"]), round(box["height"])

    eventually(lambda: remote_size(lab, desktop_id) == stage(), what="the desktop resized to the tab")

    # takes input: a click lands where it was made, typed keys reach an xterm
    box = page.locator(f"{VIEWER} .jd-screen canvas").bounding_box()
    width, height = remote_size(lab, desktop_id)
    for x, y in ((100, 80), (width - 50, height - 40)):
        page.mouse.click(box["x"] + x + 0.5, box["y"] + y + 0.5)
        eventually(lambda: pointer(lab, desktop_id) == (x, y), what=f"pointer at ({x}, {y})")
    # JupyterLab's shortcuts stay out: Ctrl+B (Lab: hide the left sidebar) goes to the desktop (its root window).
    # Lab 4 listens for shortcuts in the bubble phase and noVNC stops the keys on its canvas; the screen's
    # data-lm-suppress-shortcuts (vitest checks it) covers hosts that listen in the capture phase.
    assert page.locator("#jp-left-stack").is_visible()
    page.keyboard.press("Control+b")
    out = tmp_path / "typed.txt"
    script = f'while read line; do printf "%s\\n" "$line" >> {out}; done'  # every line that reaches the xterm
    cmd = ["xterm", "-geometry", "60x8+0+0", "-T", "typing-target", "-e", "sh", "-c", script]
    assert lab.api("POST", f"/{desktop_id}/processes", json={"command": cmd}).status_code == 201
    eventually(lambda: any(w["title"] == "typing-target" for w in lab.api("GET", f"/{desktop_id}/windows").json()),
               what="xterm window")  # fmt: skip
    page.mouse.click(box["x"] + 40, box["y"] + 40)
    page.keyboard.type("typed-in-a-lab-tab")
    page.keyboard.press("Enter")
    eventually(lambda: out.exists() and "typed-in-a-lab-tab\n" in out.read_text(), what="typed line")
    assert out.read_text() == "typed-in-a-lab-tab\n"
    assert page.locator("#jp-left-stack").is_visible(), "Lab took a key meant for the desktop (Ctrl+B)"

    # layout restore: a reload brings the tab back, connected
    before = len(sockets)
    page.goto(lab.url + "lab")
    page.locator(".lm-TabBar-tab", has_text=f"Desktop {desktop_id}").wait_for(timeout=60000)
    page.wait_for_selector(f"{VIEWER}[data-state=connected]", timeout=60000)
    assert page.locator("iframe").count() == 0

    # closing the tab closes its connection
    (ws,) = sockets[before:]
    assert ws.url == f"ws://127.0.0.1:{lab.port}{BASE}desktop/api/desktops/{desktop_id}/vnc"
    assert not ws.is_closed()
    page.locator(".lm-TabBar-tab", has_text=f"Desktop {desktop_id}").locator(".lm-TabBar-tabCloseIcon").click()
    if not ws.is_closed():  # (events reach Python only inside Playwright calls: no close is missed in between)
        ws.wait_for_event("close", timeout=30000)
    assert page.locator(PANEL).count() == 0

    # a second desktop is refused (max_desktops=1): a dialog shows the server's message
    page.locator(".lm-DockPanel .lm-TabBar-addButton").first.click()  # a new Launcher
    launcher_tile(page, "Desktop").click()
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


def test_desktops_tile_lists_and_opens_desktops_in_tabs(lab_page, lab):
    page = lab_page
    for leftover in desktop_ids(lab):  # max_desktops=1
        lab.api("DELETE", f"/{leftover}")
    response = lab.api("POST", json={"profile": "openbox", "width": 800, "height": 600})
    assert response.status_code == 201, response.text
    desktop_id = response.json()["id"]
    try:
        launcher_tile(page, "Desktops").click()
        page.locator(".lm-TabBar-tab", has_text=re.compile(r"^Desktops$")).wait_for(timeout=30000)
        page.locator(f"{PANEL} .jd-list h1", has_text="Desktops").wait_for(timeout=30000)
        row = page.locator(f"{PANEL} .jd-list tr[data-id='{desktop_id}']")
        expect(row.locator(".jd-badge")).to_have_text("running", timeout=30000)
        assert page.locator("iframe").count() == 0
        lab_url = page.url

        # "Open" opens the desktop's tab in Lab (the page stays JupyterLab)
        row.locator("a", has_text="Open").click()
        page.locator(".lm-TabBar-tab", has_text=f"Desktop {desktop_id}").wait_for(timeout=30000)
        page.wait_for_selector(f"{VIEWER}[data-state=connected]", timeout=30000)
        assert page.url == lab_url
        # ...whose "Desktops" brings the list's tab back to the front
        page.locator(f"{VIEWER} a.jd-back").click()
        expect(page.locator(".lm-TabBar-tab.lm-mod-current", has_text=re.compile(r"^Desktops$"))).to_have_count(1)
        assert page.url == lab_url

        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^File$")).click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^New$")).first.hover()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^New Desktop$")).wait_for(timeout=30000)
        page.keyboard.press("Escape")
    finally:
        lab.api("DELETE", f"/{desktop_id}")


@pytest.fixture(scope="module")
def nb(tmp_path_factory) -> Iterator[JupyterServer]:
    srv = browser_server(tmp_path_factory.mktemp("nb"), app="notebook")
    yield srv
    srv.shutdown()


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
