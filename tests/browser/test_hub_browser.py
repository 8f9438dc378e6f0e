"""A student in Chromium under a real JupyterHub (tests/harness/hub.py: the PyPI jupyterhub, configurable-http-proxy,
unix users logging in with their passwords, the localprocess spawner, deploy/jupyterhub_config.py): the launcher
tile's Desktop tab, the full-page viewer and the list page render and take input, and every request they make passes.

What the hub does that a plain jupyter-server does not, and what broke these three (issue 9): every single-user
response says `Content-Security-Policy: frame-ancestors 'none'` (the Lab tab's old iframe was refused: a blank
tab); cookie-authenticated requests in CORS mode need an XSRF token, or the hub sends them through its OAuth,
which sends them back (the pages' old `<script type=module>`: ERR_TOO_MANY_REDIRECTS, a blank page) or answers 403
(the pages' old GETs without X-XSRFToken). Input is checked on the desktop: the pointer where the click was
(REST), the typed line in the file an xterm's reader writes.

Needs root (unix users) and /usr/bin/chromium.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ..conftest import eventually
from ..harness.browser import VIEWPORT, skip_without_chromium
from ..harness.hub import Hub

skip_without_chromium()

STUDENT = "student2"  # test_hub.py's tests use student1; any student works


@pytest.fixture(scope="module")
def student(hub: Hub) -> dict[str, Any]:
    """The student's server, spawned through the hub's REST API, and a client of its desktop API (the student's
    own token: what the test reads and drives beside the browser)."""
    hub.start_server(STUDENT)
    api = hub.desktop_api(STUDENT, hub.token(STUDENT))
    yield {"api": api}
    for d in api.get("desktops").json():
        api.delete(f"desktops/{d['id']}")
    api.close()


@pytest.fixture
def desktop(student) -> Iterator[str]:
    api = student["api"]
    response = api.post("desktops", json={"profile": "openbox", "width": 800, "height": 600})
    assert response.status_code == 201, response.text
    desktop_id = response.json()["id"]
    yield desktop_id
    api.delete(f"desktops/{desktop_id}")


class Browsing:
    """A student logged in through the hub's login form (their unix password), with every response of their
    server's desktop routes and every WebSocket the page opens on record."""

    def __init__(self, hub: Hub, browser: Any) -> None:
        self.hub = hub
        self.context = browser.new_context(viewport=VIEWPORT)
        self.page = hub.browser_login(self.context, STUDENT)
        self.errors: list[str] = []
        # (status, method, path under the user's server, resource type)
        self.responses: list[tuple[int, str, str, str]] = []
        self.failed: list[str] = []
        self.sockets: list[Any] = []
        base = hub.user_url(STUDENT)
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("dialog", lambda dialog: dialog.accept())

        def on_response(r) -> None:
            if r.url.startswith(base + "desktop/"):
                self.responses.append((r.status, r.request.method, r.url[len(base) :], r.request.resource_type))

        def on_failed(r) -> None:
            # (the gate's long-poll is cut when the page goes to another one: net::ERR_ABORTED, not a refusal)
            if r.url.startswith(base) and not (r.url.endswith("/call/watch") and "ERR_ABORTED" in (r.failure or "")):
                self.failed.append(f"{r.method} {r.url[len(base) :]}: {r.failure}")

        self.page.on("response", on_response)
        self.page.on("requestfailed", on_failed)
        self.page.on("websocket", lambda ws: self.sockets.append(ws) if "/desktop/api/" in ws.url else None)

    def open(self, path: str) -> Any:
        """Open a page of the student's server (the hub's OAuth round trip on the first one); returns the response."""
        response = self.hub.browser_open(self.page, STUDENT, path)
        assert response is not None and response.status == 200, (path, response and response.status, self.page.url)
        assert self.page.url == self.hub.user_url(STUDENT) + path.split("?")[0] or "?" in path, self.page.url
        return response

    def wait(self, selector: str, timeout: float = 60000) -> None:
        """Wait for ``selector``; when it does not come, say what the page's requests met (a refusal, a loop)."""
        try:
            self.page.wait_for_selector(selector, timeout=timeout)
        except Exception as exc:
            bad = [r for r in self.responses if not (200 <= r[0] < 300 or r[0] == 304)]
            raise AssertionError(
                f"{selector} did not show within {timeout / 1000:g} s: failed requests {self.failed}, "
                f"answers other than 2xx {bad}, script errors {self.errors}"
            ) from exc

    def check_requests(self, *expected: str) -> None:
        """Every request of the pages to the desktop routes succeeded (no 403, no redirect to the hub's OAuth: the
        page navigations' own round trip is open()'s), nothing failed (a redirect loop is a failed request), no
        script error; each ``expected`` regex matched some request."""
        bad = [r for r in self.responses if r[3] != "document" and not (200 <= r[0] < 300 or r[0] == 304)]
        assert not bad, f"refused or redirected under the hub: {bad}"
        assert not self.failed, f"requests that failed under the hub: {self.failed}"
        assert not self.errors, f"JavaScript errors: {self.errors}"
        seen = [f"{method} {path}" for _, method, path, _ in self.responses]
        for pattern in expected:
            assert any(re.fullmatch(pattern, s) for s in seen), f"no request matching {pattern!r} in {seen}"

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def browsing(hub: Hub, browser, student) -> Iterator[Browsing]:
    b = Browsing(hub, browser)
    yield b
    b.close()


def pointer(api: httpx.Client, desktop_id: str) -> tuple[int, int]:
    data = api.get(f"desktops/{desktop_id}/pointer").json()
    return data["x"], data["y"]


def canvas_pixel(page: Any, screen: str, x: int, y: int) -> list[int]:
    return page.evaluate(
        "([sel, x, y]) => Array.from(document.querySelector(sel).getContext('2d').getImageData(x, y, 1, 1).data.slice(0, 3))",
        [f"{screen} canvas", x, y],
    )


def check_renders_and_takes_input(page: Any, api: httpx.Client, desktop_id: str, screen: str) -> None:
    """The desktop's pixels in the page's canvas, a click landing where it was made, typed keys in an xterm."""
    run = {"command": "xsetroot -solid '#ff8000'", "timeout": 10}
    assert api.post(f"desktops/{desktop_id}/exec", json=run).json()["returncode"] == 0
    eventually(lambda: canvas_pixel(page, screen, 5, 5) == [255, 128, 0], what="the desktop's orange in the canvas")
    box = page.locator(f"{screen} canvas").bounding_box()
    page.mouse.click(box["x"] + 150.5, box["y"] + 120.5)  # the canvas shows the desktop 1:1 (resized to fit it)
    eventually(lambda: pointer(api, desktop_id) == (150, 120), what="the pointer where the browser clicked")

    typed = f"typed-{uuid.uuid4().hex[:8]}"
    out = f"/tmp/{typed}.txt"  # the student's desktop: their own private /tmp is fine, read back through exec
    script = f'while read line; do printf "%s\\n" "$line" >> {out}; done'
    cmd = ["xterm", "-geometry", "60x8+0+0", "-T", "typing-target", "-e", "sh", "-c", script]
    assert api.post(f"desktops/{desktop_id}/processes", json={"command": cmd}).status_code == 201
    eventually(lambda: any(w["title"] == "typing-target" for w in api.get(f"desktops/{desktop_id}/windows").json()),
               what="the xterm's window")  # fmt: skip
    page.mouse.click(box["x"] + 40, box["y"] + 40)
    page.keyboard.type(typed)
    page.keyboard.press("Enter")

    def written() -> str:
        result = api.post(f"desktops/{desktop_id}/exec", json={"command": ["cat", out], "timeout": 10}).json()
        return result["stdout"] if result["returncode"] == 0 else ""

    eventually(lambda: written() == f"{typed}\n", what="the typed line in the xterm")


def test_the_launcher_tiles_desktop_tab_renders_and_takes_input(hub: Hub, browsing: Browsing, student):
    api = student["api"]
    page = browsing.page
    response = browsing.open("lab?reset")
    # the hub's own header, on the very page that hosts the tab: no framing, not even by the same origin
    assert response.headers["content-security-policy"].split(";")[0] == "frame-ancestors 'none'"
    launcher = page.locator(".jp-Launcher:visible").last
    launcher.wait_for(timeout=120000)
    before = {d["id"] for d in api.get("desktops").json()}
    launcher.locator(".jp-LauncherCard", has_text=re.compile(r"^\s*Desktop\s*$")).click()
    tab = page.locator(".lm-TabBar-tab", has_text=re.compile(r"^Desktop [0-9a-f]+"))
    tab.wait_for(timeout=120000)
    (desktop_id,) = {d["id"] for d in api.get("desktops").json()} - before
    assert tab.inner_text().strip() == f"Desktop {desktop_id}"
    assert page.locator("iframe").count() == 0
    viewer = ".jp-DesktopPanel .jd-viewer"
    browsing.wait(f"{viewer}[data-state=connected]")
    check_renders_and_takes_input(page, api, desktop_id, f"{viewer} .jd-screen")
    (ws,) = browsing.sockets
    assert ws.url == hub.ws_url(STUDENT, f"desktop/api/desktops/{desktop_id}/vnc") and not ws.is_closed()
    browsing.check_requests(
        r"GET desktop/static/viewer\.js", r"GET desktop/static/viewer\.css", rf"GET desktop/api/desktops/{desktop_id}"
    )
    # the tab closes: so does its connection
    tab.locator(".lm-TabBar-tabCloseIcon").click()
    if not ws.is_closed():
        ws.wait_for_event("close", timeout=30000)
    api.delete(f"desktops/{desktop_id}")


def test_the_full_page_viewer_renders_and_takes_input(browsing: Browsing, student, desktop):
    api = student["api"]
    page = browsing.page
    browsing.open(f"desktop/{desktop}/")
    browsing.wait("#jupyter-desktop[data-state=connected]")
    check_renders_and_takes_input(page, api, desktop, "#jupyter-desktop .jd-screen")
    # a read (the clipboard panel's fetch) and a write (send) of the page's own REST client
    copied = f"clip-{uuid.uuid4().hex[:8]}"
    command = f"printf %s '{copied}' | xclip -i -selection clipboard"
    assert api.post(f"desktops/{desktop}/exec", json={"command": command, "timeout": 10}).json()["returncode"] == 0
    page.click("button[aria-label='Clipboard']")
    page.fill(".jd-clipboard-text", "")
    with page.expect_response(lambda r: r.url.endswith(f"/desktop/api/desktops/{desktop}/clipboard")) as fetched:
        page.click("text=Fetch from desktop")
    assert fetched.value.status == 200 and fetched.value.json() == {"text": copied}
    browsing.check_requests(
        r"GET desktop/[0-9a-f]+/", r"GET desktop/static/viewer\.js", rf"GET desktop/api/desktops/{desktop}",
        rf"GET desktop/api/desktops/{desktop}/clipboard",
    )  # fmt: skip


def test_the_list_page_renders_and_its_actions_work(browsing: Browsing, student, desktop):
    api = student["api"]
    page = browsing.page
    browsing.open("desktop/")
    browsing.wait(f"tr[data-id='{desktop}'] .jd-badge[data-tone=ok]")
    # New desktop (a POST from the page), then its viewer
    before = {d["id"] for d in api.get("desktops").json()}
    page.select_option("select[name=size]", "1024x768")
    page.click("button.jd-new")
    page.wait_for_url(re.compile(r".*/desktop/[0-9a-f]+/$"), timeout=120000)
    (created,) = {d["id"] for d in api.get("desktops").json()} - before
    assert page.url == browsing.hub.user_url(STUDENT) + f"desktop/{created}/"
    browsing.wait("#jupyter-desktop[data-state=connected]")
    # back to the list; Stop the new one from there (a DELETE from the page)
    page.click("a.jd-back")
    page.locator(f"tr[data-id='{created}'] button", has_text="Stop").click()  # confirm() accepted
    page.wait_for_selector(f"tr[data-id='{created}']", state="detached", timeout=60000)
    assert created not in {d["id"] for d in api.get("desktops").json()}
    browsing.check_requests(
        r"GET desktop/", r"GET desktop/static/viewer\.js", r"GET desktop/api/desktops", r"POST desktop/api/desktops",
        rf"DELETE desktop/api/desktops/{created}",
    )  # fmt: skip


def test_a_teacher_answers_a_students_agent_and_takes_over(hub: Hub, browser, student, desktop):
    """The cards work for whoever views with the right to act: the teacher (the hub's role gives access to every
    student's server) opens the student's viewer, approves what the student's agent asks, and takes the desktop
    over; the server names the teacher as who answered and who holds it."""
    import threading

    api = student["api"]  # the student's agent: the session operations over the student's own token
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = hub.browser_login(context, "teacher")
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        response = hub.browser_open(page, STUDENT, f"desktop/{desktop}/?scale=none")
        assert response is not None and response.status == 200
        page.wait_for_selector("#jupyter-desktop[data-state=connected]", timeout=60000)

        answers: list[dict] = []
        ask = {"args": {"actions": [{"action": "click", "x": 150, "y": 120}], "timeout": 60.0}}
        agent = threading.Thread(
            target=lambda: answers.append(api.post(f"desktops/{desktop}/call/ask", json=ask, timeout=90).json()), daemon=True
        )
        agent.start()
        card = page.locator(".jd-approval")
        card.wait_for(timeout=30000)
        assert card.locator("li").all_inner_texts() == ["click at (150, 120)"]
        card.get_by_role("button", name="Approve").click()
        agent.join(30)
        assert answers and answers[0]["result"]["decision"] == "approve" and answers[0]["result"]["by"] == "teacher"

        page.locator("button.jd-takeover").click()
        page.wait_for_selector("button.jd-takeover[aria-pressed=true]", timeout=30000)
        assert page.inner_text(".jd-control") == "teacher in control"
        state = api.post(f"desktops/{desktop}/call/control", json={"args": {}}).json()["result"]
        assert (state["holder"], state["by"]) == ("person", "teacher")
        # the student's program waits; the teacher's own click lands meanwhile
        done: list[int] = []
        batch = {"actions": [{"action": "click", "x": 60, "y": 70}]}
        program = threading.Thread(target=lambda: done.append(api.post(f"desktops/{desktop}/actions", json=batch, timeout=90).status_code), daemon=True)
        program.start()
        box = page.locator(".jd-screen canvas").bounding_box()
        page.mouse.click(box["x"] + 300.5, box["y"] + 200.5)
        eventually(lambda: pointer(api, desktop) == (300, 200), what="the teacher's click")
        assert program.is_alive() and not done
        page.locator("button.jd-takeover").click()  # hand back
        program.join(60)
        assert done == [204]
        eventually(lambda: pointer(api, desktop) == (60, 70), what="the student's program's click after the hand-back")
        assert not errors, errors
    finally:
        context.close()
