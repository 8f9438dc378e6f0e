"""The viewer and list pages in a real browser (Debian's Chromium through Playwright) against a real
`jupyter server` process with a base URL, real desktops (Xvnc + openbox) and the bundled noVNC.

What a user does: start a desktop from the list page, see it connected and resized to the window, type into it
after clicking, move text through the clipboard panel both ways, download a screenshot, watch it reconnect when
the desktop restarts and give up (saying why) when the desktop is stopped.

Needs /usr/bin/chromium (`apt-get install chromium`); skipped without it unless JUPYTER_DESKTOP_REQUIRE_BROWSER=1
(tests/harness/browser.py: skip_without_chromium).
"""

from __future__ import annotations

import uuid
from types import SimpleNamespace

from PIL import Image

from ..conftest import eventually
from ..harness.browser import BASE, open_context, skip_without_chromium
from ..harness.server import TOKEN, JupyterServer

skip_without_chromium()


def open_viewer(page, server: JupyterServer, desktop_id: str, query: str = "") -> None:
    page.goto(server.url + f"desktop/{desktop_id}/{query}")
    page.wait_for_selector("#jupyter-desktop[data-state=connected]", timeout=30000)


def stage_size(page) -> tuple[int, int]:
    box = page.locator(".jd-stage").bounding_box()
    return round(box["width"]), round(box["height"])


def gone(response) -> bool:
    """A desktop's GET says it is deleted (404) or stopped."""
    return response.status_code == 404 or response.json().get("status") == "stopped"


def remote_size(server: JupyterServer, desktop_id: str) -> tuple[int, int]:
    info = server.api("GET", f"/{desktop_id}").json()
    return info["width"], info["height"]


def test_new_desktop_from_the_list_opens_a_connected_viewer_sized_to_the_window(page, server):
    page.select_option("select[name=profile]", "openbox")
    page.select_option("select[name=size]", "1024x768")
    page.click("button.jd-new")
    page.wait_for_url("**/desktop/*/", timeout=60000)
    desktop_id = page.url.rstrip("/").rsplit("/", 1)[-1]
    assert page.url == server.url + f"desktop/{desktop_id}/"
    page.wait_for_selector("#jupyter-desktop[data-state=connected]", timeout=30000)
    assert page.inner_text(".jd-status") == "Connected"
    assert page.locator(".jd-screen canvas").is_visible()
    # created at 1024x768, then resized by noVNC (resizeSession) to the area under the toolbar
    eventually(lambda: remote_size(server, desktop_id) == stage_size(page), timeout=30, what="remote resize to the window")
    page.set_viewport_size({"width": 900, "height": 640})
    eventually(
        lambda: remote_size(server, desktop_id) == stage_size(page) == (900, stage_size(page)[1]),
        timeout=30,
        what="resize again",
    )

    # back to the list: the desktop is there, running, with its size; stop it from there
    page.click("a.jd-back")
    row = page.locator(f"tr[data-id='{desktop_id}']")
    row.wait_for()
    assert row.locator(".jd-badge").inner_text() == "running"
    assert row.locator(".jd-badge").get_attribute("data-tone") == "ok"
    assert f"{remote_size(server, desktop_id)[0]}×" in row.inner_text()
    row.locator("button", has_text="Stop").click()  # confirm() is accepted by the fixture
    eventually(lambda: gone(server.api("GET", f"/{desktop_id}")), what="desktop stopped")
    page.wait_for_selector(f"tr[data-id='{desktop_id}']", state="detached", timeout=30000)


def test_keyboard_goes_to_the_desktop_after_a_click_and_not_in_view_only(page, server, desktop, tmp_path):
    out = tmp_path / "typed.txt"
    script = f'while read line; do printf "%s\\n" "$line" >> {out}; done'  # every line that reaches the xterm
    cmd = ["xterm", "-geometry", "60x8+0+0", "-T", "typing-target", "-e", "sh", "-c", script]
    assert server.api("POST", f"/{desktop}/processes", json={"command": cmd}).status_code == 201
    eventually(lambda: any(w["title"] == "typing-target" for w in server.api("GET", f"/{desktop}/windows").json()),
               what="xterm window")  # fmt: skip
    open_viewer(page, server, desktop)
    canvas = page.locator(".jd-screen canvas")
    box = canvas.bounding_box()

    page.click("button[aria-label='View only']")
    assert page.get_attribute("button[aria-label='View only']", "aria-pressed") == "true"
    page.mouse.click(box["x"] + 40, box["y"] + 40)
    page.keyboard.type("ignored")
    page.keyboard.press("Enter")

    page.click("button[aria-label='View only']")
    page.mouse.click(box["x"] + 40, box["y"] + 40)  # focus follows the click into the canvas
    page.keyboard.type("hello-from-the-browser")
    page.keyboard.press("Enter")
    # keys go out in order: once this line is there, a leaked "ignored" line would be there before it
    eventually(lambda: out.exists() and "hello-from-the-browser\n" in out.read_text(), what="typed line")
    assert out.read_text() == "hello-from-the-browser\n", "view-only let keys through"


def canvas_pixel(page, x: int, y: int) -> list[int]:
    """The RGB the viewer's canvas shows at (x, y) of its own pixels."""
    return page.evaluate(
        "([x, y]) => Array.from(document.querySelector('.jd-screen canvas').getContext('2d')"
        ".getImageData(x, y, 1, 1).data.slice(0, 3))",
        [x, y],
    )


def pointer(server: JupyterServer, desktop_id: str) -> tuple[int, int]:
    data = server.api("GET", f"/{desktop_id}/pointer").json()
    return data["x"], data["y"]


def test_canvas_shows_the_desktop_and_clicks_land_there(page, server, desktop):
    run = {"command": "xsetroot -solid '#ff8000'", "timeout": 10}
    assert server.api("POST", f"/{desktop}/exec", json=run).json()["returncode"] == 0
    open_viewer(page, server, desktop)
    # pixels, not just a canvas element: the orange root window, drawn by noVNC from the proxied stream
    eventually(lambda: canvas_pixel(page, 5, 5) == [255, 128, 0], what="orange pixels in the canvas")
    eventually(lambda: remote_size(server, desktop) == stage_size(page), what="remote resize to the window")
    canvas = page.locator(".jd-screen canvas")
    box = canvas.bounding_box()
    width, height = remote_size(server, desktop)
    # the canvas shows the remote screen 1:1 after the remote resize: a click at (x, y) of it is (x, y) there
    for x, y in ((100, 80), (width - 50, height - 40)):
        page.mouse.click(box["x"] + x + 0.5, box["y"] + y + 0.5)
        eventually(lambda: pointer(server, desktop) == (x, y), what=f"pointer at ({x}, {y})")


def x_clipboard(server: JupyterServer, desktop_id: str) -> str:
    """What an X application on the desktop would paste."""
    result = server.api(
        "POST", f"/{desktop_id}/exec", json={"command": ["xclip", "-o", "-selection", "clipboard"], "timeout": 10}
    )
    return result.json()["stdout"]


def x_copy(server: JupyterServer, desktop_id: str, text: str) -> None:
    """An X application copies `text`."""
    command = f"printf %s '{text}' | xclip -i -selection clipboard"
    assert server.api("POST", f"/{desktop_id}/exec", json={"command": command, "timeout": 10}).json()["returncode"] == 0


def test_clipboard_panel_both_ways(page, server, desktop):
    open_viewer(page, server, desktop)
    page.click("button[aria-label='Clipboard']")
    text = f"to-desktop-{uuid.uuid4().hex[:8]}"
    page.fill(".jd-clipboard-text", text)
    page.click("text=Send to desktop")
    eventually(lambda: x_clipboard(server, desktop) == text, what="X clipboard set from the browser")

    # an application on the desktop copies: the panel shows it (noVNC's clipboard event)
    copied = f"from-desktop-{uuid.uuid4().hex[:8]}"
    x_copy(server, desktop, copied)
    page.wait_for_function(f"document.querySelector('.jd-clipboard-text').value === {copied!r}", timeout=30000)

    # "Fetch from desktop" asks the server (REST GET .../clipboard)
    fetched = f"fetched-{uuid.uuid4().hex[:8]}"
    x_copy(server, desktop, fetched)
    page.wait_for_function(f"document.querySelector('.jd-clipboard-text').value === {fetched!r}", timeout=30000)
    page.fill(".jd-clipboard-text", "")
    with page.expect_response(lambda r: r.url.endswith(f"/desktop/api/desktops/{desktop}/clipboard")) as response:
        page.click("text=Fetch from desktop")
    assert response.value.json() == {"text": fetched}
    page.wait_for_function(f"document.querySelector('.jd-clipboard-text').value === {fetched!r}", timeout=30000)
    assert page.inner_text(".jd-clipboard-status") == f"Fetched {len(fetched)} characters."


def test_screenshot_download_is_the_desktop(page, server, desktop):
    open_viewer(page, server, desktop)
    with page.expect_download() as info:
        page.click("button[aria-label='Screenshot']")
    download = info.value
    name = download.suggested_filename
    assert name.startswith(f"desktop-{desktop}-") and name.endswith(".png"), name
    image = Image.open(download.path())
    assert image.format == "PNG"
    assert image.size == remote_size(server, desktop)


def test_reconnects_after_a_restart_and_gives_up_when_the_desktop_is_gone(page, server, desktop):
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    asked: list[str] = []  # the viewer's connection attempts, in order: WebSockets and status requests
    page.on("websocket", lambda ws: asked.append(ws.url))
    page.on("request", lambda r: asked.append(r.url) if "/desktop/api/desktops/" in r.url else None)
    page.clock.install()  # the page's timers, under the test's control when it wants (time flows meanwhile)
    open_viewer(page, server, desktop)
    assert sockets == [f"ws://127.0.0.1:{server.port}{BASE}desktop/api/desktops/{desktop}/vnc"]

    # restart = stop + start: the server closes the stream, the viewer waits for the desktop and reconnects
    assert server.api("POST", f"/{desktop}/restart").status_code == 200
    page.wait_for_selector("#jupyter-desktop[data-state=connected]", timeout=30000)
    eventually(lambda: len(sockets) >= 2 and page.get_attribute("#jupyter-desktop", "data-state") == "connected",
               what="reconnected")  # fmt: skip

    # stopped for good: the viewer says so, offers the list, and stops retrying
    assert server.api("DELETE", f"/{desktop}").status_code == 204
    page.wait_for_selector("#jupyter-desktop[data-state=stopped]", timeout=30000)
    title = page.inner_text(".jd-overlay-title")
    assert title in ("Desktop not found", "Desktop stopped"), title
    assert page.locator(".jd-overlay a", has_text="All desktops").is_visible()
    count = len(asked)
    page.clock.run_for("10:00")  # ten minutes of the page's timers: any retry (the backoff tops at 30 s) is due
    marker = f"{server.url}desktop/api/desktops/{desktop}?marker"  # then a request of the test's own
    page.evaluate("url => fetch(url)", marker)
    eventually(lambda: marker in asked, what="the marker request")
    assert asked[count:] == [marker], "the viewer kept reconnecting to a stopped desktop"


def test_new_desktop_from_a_bookmarked_list_page(browser, server):
    """A browser that never opened JupyterLab has no _xsrf cookie yet: the page itself must provide one."""
    context = open_context(browser, server, xsrf=False)
    try:
        page = context.new_page()
        page.goto(server.url + f"desktop/?token={TOKEN}")
        page.click("button.jd-new")
        page.wait_for_url("**/desktop/*/", timeout=30000)
    finally:
        context.close()


def test_every_request_of_the_pages_passes_jupyterhubs_xsrf_check(browser, server, desktop):
    """Under JupyterHub the single-user server checks XSRF on every cookie-authenticated request except page views
    and same-origin no-cors GETs (jupyterhub/_xsrf_utils.py `_needs_check_xsrf`, used here as it is): a module
    script (a CORS-mode fetch: the hub's redirect loop) or a fetch() GET without X-XSRFToken (403) is refused there.
    Every request the list and viewer pages make must need no check, or carry the XSRF token."""
    from jupyterhub._xsrf_utils import _needs_check_xsrf
    from tornado.httputil import HTTPHeaders

    context = open_context(browser, server, xsrf=False)  # fresh from a login: no _xsrf cookie before the page
    try:
        page = context.new_page()
        seen: list = []
        page.on("request", lambda r: seen.append(r))
        page.goto(server.url + f"desktop/?token={TOKEN}")
        page.locator(f"tr[data-id='{desktop}'] a", has_text="Open").click()
        page.wait_for_selector("#jupyter-desktop[data-state=connected]", timeout=30000)
        page.click("button[aria-label='Clipboard']")
        with page.expect_response(lambda r: r.url.endswith(f"/desktop/api/desktops/{desktop}/clipboard")):
            page.click("text=Fetch from desktop")
        (xsrf,) = [c["value"] for c in context.cookies() if c["name"] == "_xsrf"]
        checked, free = [], []
        # a copy: while all_headers() waits (for a long poll's answer), the page's newer requests join `seen`
        for request in list(seen):
            if not request.url.startswith(server.url):
                continue
            headers = HTTPHeaders(request.all_headers())
            if "Sec-Fetch-Mode" not in headers:  # served from the browser's cache: it never reached the server
                continue
            handler = SimpleNamespace(request=SimpleNamespace(method=request.method, headers=headers, path=request.url))
            what = f"{request.method} {request.url[len(server.url) :]} ({headers.get('Sec-Fetch-Mode')})"
            if _needs_check_xsrf(handler):
                assert headers.get("X-XSRFToken") == xsrf, f"JupyterHub would refuse {what}: no XSRF token"
                checked.append(what)
            else:
                free.append(what)
    finally:
        context.close()
    for name in ("viewer.js", "viewer.css"):
        assert f"GET desktop/static/{name} (no-cors)" in free, free
    assert any(w.startswith("GET desktop/api/desktops (") for w in checked), checked  # the list
    assert any(w.startswith(f"GET desktop/api/desktops/{desktop} (") for w in checked), checked  # the viewer's status
    assert any(w.startswith(f"GET desktop/api/desktops/{desktop}/clipboard (") for w in checked), checked
