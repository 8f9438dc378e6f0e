"""The class page (jupyter_desktop.classroom, issue 9 item 4) under a real JupyterHub: deploy/jupyterhub_config.py's
service `classroom`, real unix users logging in with their passwords, real desktops, real Chromium.

The teacher's grid shows each student's screen live (each desktop's own root colour read back from its tile's
canvas); it is view-only by default, in the page (noVNC sends nothing) and in the service (a raw RFB client's keys
and pointer on a view-only seat never reach the desktop); take-over needs the custom:desktops:control scope; a
student sees only their own desktops and what was shared with them; a student's share is view-only (a JupyterHub
share of custom:desktops:view, which gives nothing on the server itself) and its withdrawal ends an open view.
Figures (time to first frames of the grid, screen updates per second per tile under load) are printed.

Needs root (unix users) and /usr/bin/chromium.
"""

from __future__ import annotations

import os
import struct
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import websocket

from jupyter_desktop.classroom.permissions import NONE, TAKE_OVER, WATCH, Grants
from jupyter_desktop.classroom.rfb_filter import ViewerFilter

from .conftest import eventually
from .harness.browser import VIEWPORT, chromium, skip_without_chromium
from .harness.hub import STUDENTS, Hub, processes, running_hub
from .harness.rfb import WSReader, rfb_frame, ws_status

skip_without_chromium()  # as the browser tests do (tests/browser/)

SERVICE = "services/classroom/"
COLOURS = {"student1": (200, 40, 40), "student2": (40, 160, 60), "student3": (40, 80, 200)}
SIZE = (640, 400)
PROBE = (600, 380)  # a point of the root window: away from the hint (middle) and the xterms (top left)
VIEW_SCOPES = ["access:services!service=classroom", "custom:desktops:view!group=students"]
CONTROL_SCOPES = ["access:services!service=classroom", "custom:desktops:control!group=students"]
RECHECK = 2  # s: how often the service checks an open view's permission again (30 in the recipe)
FIGURES: dict[str, float] = {}


def figure(name: str, value: float, unit: str = "s") -> None:
    FIGURES[name] = value
    print(f"FIGURE {name}: {value:.2f} {unit}")


def hex_colour(rgb: tuple[int, int, int]) -> str:
    return "#" + "".join(f"{c:02x}" for c in rgb)


# ---------------------------------------------------------------------------------------------- the parts alone


def test_grants_read_the_hubs_filters():
    teacher = Grants(["custom:desktops:control!group=students", "custom:desktops:view!group=students",
                      "access:servers!group=students"])  # fmt: skip
    assert teacher.level("student1", ["students"]) == TAKE_OVER
    assert teacher.level("teacher", ["teachers"]) == NONE
    shared = Grants(["custom:desktops:control!user=student2", "custom:desktops:view!server=student1/"])
    assert shared.level("student2", ["students"]) == TAKE_OVER
    assert shared.level("student1", ["students"]) == WATCH
    assert shared.level("student1", ["students"], "other") == NONE  # a share is one server's
    assert shared.level("student3", ["students"]) == NONE
    assert not Grants(["access:servers!group=students", "custom:desktops:view!user"])  # none of ours, unexpanded
    assert Grants(["custom:desktops:view"]).level("anyone", []) == WATCH


def _client_stream(*messages: bytes) -> bytes:
    handshake = b"RFB 003.008\n" + b"\x01" + b"\x00"  # version, security None, ClientInit asking for exclusive
    return handshake + b"".join(messages)


POINTER = struct.pack(">BBHH", 5, 1, 123, 45)
KEY = struct.pack(">BBxxI", 4, 1, 0x61)
PASTE = struct.pack(">BxxxI", 6, 5) + b"paste"
RESIZE = struct.pack(">BxHHBx", 251, 100, 100, 1) + struct.pack(">IHHHHI", 0, 0, 0, 100, 100, 0)
UPDATE = struct.pack(">BBHHHH", 3, 1, 0, 0, 640, 400)
ENCODINGS = struct.pack(">BxHi", 2, 1, 0)


def test_the_view_only_filter_passes_what_watching_needs_and_nothing_that_acts():
    stream = _client_stream(ENCODINGS, POINTER, UPDATE, KEY, PASTE, RESIZE, UPDATE)
    seat = ViewerFilter(allow_input=False)
    out = b"".join(seat.filter(stream[i : i + 3]) for i in range(0, len(stream), 3))  # in pieces, as they come
    assert out == b"RFB 003.008\n\x01\x01" + ENCODINGS + UPDATE + UPDATE  # ClientInit forced to shared
    assert seat.dropped == 4
    control = ViewerFilter(allow_input=True)
    assert control.filter(stream) == b"RFB 003.008\n\x01\x01" + stream[14:]
    # a message it cannot follow: a view-only seat is closed, a control seat passes the bytes on
    assert ViewerFilter(allow_input=False).filter(_client_stream(b"\x99junk")) is None
    assert ViewerFilter(allow_input=True).filter(_client_stream(b"\x99junk")).endswith(b"\x99junk")


# ---------------------------------------------------------------------------------------------- the class


@pytest.fixture(scope="module")
def hub(tmp_path_factory) -> Iterator[Hub]:
    """The recipe's hub, the service re-checking open views every RECHECK s (so a withdrawn share shows fast)."""
    env = {"JD_HUB_CLASSROOM_RECHECK": str(RECHECK)}
    with running_hub(tmp_path_factory.mktemp("hub"), env=env) as h:
        yield h


@pytest.fixture(scope="module")
def classroom(hub: Hub) -> Iterator[dict[str, Any]]:
    """Every student's server (spawned at once) with one desktop whose root window has the student's colour."""
    started = time.monotonic()
    with ThreadPoolExecutor(len(STUDENTS)) as pool:
        list(pool.map(hub.start_server, STUDENTS))
    figure(f"spawn {len(STUDENTS)} students' servers at once", time.monotonic() - started)
    students: dict[str, dict[str, Any]] = {}
    for name in STUDENTS:
        token = hub.token(name)
        api = hub.desktop_api(name, token)
        response = api.post("desktops", json={"profile": "openbox", "width": SIZE[0], "height": SIZE[1]})
        assert response.status_code == 201, response.text
        did = response.json()["id"]
        colour = {"command": f"xsetroot -solid '{hex_colour(COLOURS[name])}'", "timeout": 10}
        assert api.post(f"desktops/{did}/exec", json=colour).json()["returncode"] == 0
        students[name] = {"token": token, "api": api, "id": did}
    # the service is up (the hub starts it beside itself): its page sends a browser to the hub's OAuth
    eventually(lambda: httpx.get(hub.url + SERVICE).status_code == 302, timeout=60, what="the class page answering")
    yield students
    for s in students.values():
        for d in s["api"].get("desktops").json():
            s["api"].delete(f"desktops/{d['id']}")
        s["api"].close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from chromium()


def service_api(hub: Hub, token: str) -> httpx.Client:
    return httpx.Client(base_url=hub.url + SERVICE, headers={"Authorization": f"token {token}"}, timeout=60)


def vnc_url(hub: Hub, owner: str, desktop_id: str, control: bool = False) -> str:
    return "ws" + hub.url[4:] + SERVICE + f"api/desktops/{owner}/{desktop_id}/vnc" + ("?control=1" if control else "")


def open_class_page(hub: Hub, browser: Any, user: str) -> tuple[Any, Any, list[str]]:
    """``user`` logs in at the hub (their unix password) and opens the class page (the hub's OAuth, no prompt)."""
    context = browser.new_context(viewport=VIEWPORT)
    page = hub.browser_login(context, user)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return context, page, errors


def tile(owner: str) -> str:
    return f".jd-tile[data-owner='{owner}']"


def tile_pixel(page: Any, owner: str, x: int, y: int) -> list[int]:
    return page.evaluate(
        "([sel, x, y]) => { const c = document.querySelector(sel); return c ? Array.from(c.getContext('2d')"
        ".getImageData(x, y, 1, 1).data.slice(0, 3)) : null; }",
        [f"{tile(owner)} canvas", x, y],
    )


def typing_target(student: dict[str, Any]) -> str:
    """An xterm at the top left of the student's desktop that appends every line it reads to a file (read back
    through exec: the student's own private /tmp). Returns the file's path."""
    api, did = student["api"], student["id"]
    out = f"/tmp/typed-{uuid.uuid4().hex[:8]}.txt"
    script = f'while read line; do printf "%s\\n" "$line" >> {out}; done'
    title = f"typing-{uuid.uuid4().hex[:6]}"
    cmd = ["xterm", "-geometry", "40x6+0+0", "-T", title, "-e", "sh", "-c", script]
    assert api.post(f"desktops/{did}/processes", json={"command": cmd}).status_code == 201
    eventually(lambda: any(w["title"] == title and w["active"] for w in api.get(f"desktops/{did}/windows").json()),
               what="the xterm's window, focused")  # fmt: skip
    return out


def typed(student: dict[str, Any], path: str) -> str:
    result = student["api"].post(f"desktops/{student['id']}/exec", json={"command": ["cat", path], "timeout": 10})
    body = result.json()
    return body["stdout"] if body["returncode"] == 0 else ""


def mark_and_read(student: dict[str, Any], path: str) -> str:
    """The student types a marker line (REST: their own input, certainly delivered) and waits for it in the file:
    whatever reached the xterm before it is there too. Returns the file's text."""
    marker = f"marker-{uuid.uuid4().hex[:6]}"
    actions = [{"action": "click", "x": 100, "y": 40}, {"action": "type", "text": marker + "\n"}]
    assert student["api"].post(f"desktops/{student['id']}/actions", json={"actions": actions}).status_code in (200, 204)
    text = eventually(lambda: (t := typed(student, path)) and marker in t and t, what="the marker line")
    return text.replace(marker + "\n", "")


def near(a: tuple[int, int], b: tuple[int, int], by: int = 2) -> bool:
    """Within ``by`` pixels: a click on a scaled tile lands on the desktop pixel its scale rounds to."""
    return abs(a[0] - b[0]) <= by and abs(a[1] - b[1]) <= by


def pointer(student: dict[str, Any]) -> tuple[int, int]:
    data = student["api"].get(f"desktops/{student['id']}/pointer").json()
    return data["x"], data["y"]


class Seat:
    """A raw RFB viewer on the service's WebSocket: what any client can send, whatever its page would do."""

    def __init__(self, url: str, token: str) -> None:
        header = ["Sec-Fetch-Mode: websocket", f"Authorization: token {token}"]
        self.ws = websocket.create_connection(url, subprotocols=["binary"], header=header, timeout=60)
        self.frame = rfb_frame(self.ws)  # the handshake and one full frame (32 bpp, raw)
        self.reader = WSReader(self.ws)

    def act(self) -> None:
        """The pointer to (123, 45), a click there, "leak" and Return, pasted text; then an update request, whose
        answer comes after the VNC server has handled everything before it (one connection, in order)."""
        out = struct.pack(">BBHH", 5, 0, 123, 45) + struct.pack(">BBHH", 5, 1, 123, 45)
        out += struct.pack(">BBHH", 5, 0, 123, 45)
        for keysym in [*map(ord, "leak"), 0xFF0D]:
            out += struct.pack(">BBxxI", 4, 1, keysym) + struct.pack(">BBxxI", 4, 0, keysym)
        out += struct.pack(">BxxxI", 6, 5) + b"paste"
        self.ws.send_binary(out)
        self.ws.send_binary(struct.pack(">BBHHHH", 3, 0, 0, 0, 8, 8))  # non-incremental: answered at once
        self.read_update()

    def read_update(self) -> None:
        while True:
            kind = self.reader.read(1)[0]
            if kind == 2:
                continue
            if kind == 3:
                self.reader.read(3)
                self.reader.read(struct.unpack(">I", self.reader.read(4))[0])
                continue
            assert kind == 0, kind
            self.reader.read(1)
            for _ in range(struct.unpack(">H", self.reader.read(2))[0]):
                _x, _y, w, h, encoding = struct.unpack(">HHHHi", self.reader.read(12))
                if encoding == 0:
                    self.reader.read(w * h * 4)
                elif encoding == -239:
                    self.reader.read(w * h * 4 + (w + 7) // 8 * h)
                else:
                    raise AssertionError(f"encoding {encoding}")
            return

    def close(self) -> None:
        self.ws.close()


def check_seat(hub: Hub, student: dict[str, Any], owner: str, token: str, control: bool) -> bool:
    """Open a seat, act, and say whether the desktop got the input (the pointer moved there; the line typed)."""
    target = typing_target(student)
    student["api"].post(f"desktops/{student['id']}/actions", json={"actions": [{"action": "move", "x": 300, "y": 300}]})
    assert pointer(student) == (300, 300)
    seat = Seat(vnc_url(hub, owner, student["id"], control), token)
    try:
        assert seat.frame.size == SIZE
        seat.act()
        moved = pointer(student) == (123, 45)
    finally:
        seat.close()
    text = mark_and_read(student, target)
    assert moved == ("leak\n" in text), (moved, text)  # the keys and the pointer went, or neither did
    return moved


# ---------------------------------------------------------------------------------------------- the teacher


def test_the_teacher_sees_every_students_desktop_live_in_the_grid(hub: Hub, classroom, browser):
    context, page, errors = open_class_page(hub, browser, "teacher")
    try:
        started = time.monotonic()
        response = page.goto(hub.url + SERVICE)
        assert response.status == 200 and page.url == hub.url + SERVICE, page.url

        def every_tile_shows_its_student() -> bool:
            return all(tile_pixel(page, s, *PROBE) == list(COLOURS[s]) for s in STUDENTS)

        eventually(every_tile_shows_its_student, timeout=60, interval=0.05, what="each student's colour in their tile")
        figure(f"class page opened to {len(STUDENTS)} tiles showing their desktops", time.monotonic() - started)
        for s in STUDENTS:  # labelled, view-only, connected, and the desktop's own size in the canvas
            el = page.locator(tile(s))
            assert el.locator(".jd-tile-label").inner_text() == s
            assert el.get_attribute("data-mode") == "view" and el.get_attribute("data-state") == "connected"
            assert el.get_attribute("data-id") == classroom[s]["id"]
            size = page.evaluate("(sel) => { const c = document.querySelector(sel); return [c.width, c.height]; }",
                                 f"{tile(s)} canvas")  # fmt: skip
            assert tuple(size) == SIZE
        assert page.locator(".jd-tile").count() == len(STUDENTS)
        # live: a student's screen changes, their tile follows
        s2 = classroom["student2"]
        new = {"command": "xsetroot -solid '#f0c000'", "timeout": 10}
        assert s2["api"].post(f"desktops/{s2['id']}/exec", json=new).json()["returncode"] == 0
        eventually(lambda: tile_pixel(page, "student2", *PROBE) == [240, 192, 0], what="student2's new colour")
        back = {"command": f"xsetroot -solid '{hex_colour(COLOURS['student2'])}'", "timeout": 10}
        s2["api"].post(f"desktops/{s2['id']}/exec", json=back)
        # click one: it fills the grid, the others step aside; Escape: back to the class
        page.click(tile("student3"))
        page.wait_for_selector(f"{tile('student3')}.jd-tile-zoomed")
        assert page.locator(tile("student1")).is_hidden()
        big = page.locator(f"{tile('student3')} canvas").bounding_box()
        assert big["width"] > 900, big  # scaled up to the page's width
        assert page.locator(f"{tile('student3')} .jd-tile-control").is_visible()  # the teacher may take over
        page.keyboard.press("Escape")
        page.wait_for_selector(".jd-tile-zoomed", state="detached")
        assert page.locator(tile("student1")).is_visible()
        assert not errors, errors
    finally:
        context.close()


def test_the_grid_is_view_only_until_the_teacher_takes_over(hub: Hub, classroom, browser):
    """In the page: a click and typing in a view-only tile reach nothing; after "Take over" they do."""
    s1 = classroom["student1"]
    target = typing_target(s1)
    context, page, errors = open_class_page(hub, browser, "teacher")
    try:
        page.goto(hub.url + SERVICE)
        page.wait_for_selector(f"{tile('student1')}[data-state=connected]")
        page.click(tile("student1"))
        page.wait_for_selector(f"{tile('student1')}.jd-tile-zoomed[data-mode=view]")
        box = page.locator(f"{tile('student1')} canvas").bounding_box()
        scale = box["width"] / SIZE[0]
        at = (box["x"] + 150 * scale, box["y"] + 30 * scale)  # in the xterm: (150, 30) on the desktop
        page.mouse.click(*at)
        page.keyboard.type("ignored")
        page.keyboard.press("Enter")
        # take over: the tile reconnects with input; the same click and typing reach the xterm
        page.click(f"{tile('student1')} .jd-tile-control")
        page.wait_for_selector(f"{tile('student1')}[data-mode=control][data-state=connected]")
        page.mouse.click(*at)
        eventually(lambda: near(pointer(s1), (150, 30)), what="the pointer where the teacher clicked")
        page.keyboard.type("taken-over")
        page.keyboard.press("Enter")
        # keys go out in order: once this line is there, a leaked "ignored" line would be there before it
        eventually(lambda: "taken-over\n" in typed(s1, target), what="the teacher's line in the xterm")
        assert typed(s1, target) == "taken-over\n", "a view-only tile let keys through"
        # giving control back, or leaving the enlarged view, makes the tile view-only again
        page.click(f"{tile('student1')} .jd-tile-control")
        page.wait_for_selector(f"{tile('student1')}[data-mode=view][data-state=connected]")
        assert not errors, errors
    finally:
        context.close()


def test_the_service_drops_input_unless_the_seat_took_over_with_the_scope(hub: Hub, classroom):
    """Whatever a client sends: on a view-only seat, keys, pointer and pasted text never reach the desktop; a seat
    with input (?control=1) needs custom:desktops:control, and then they do."""
    s1 = classroom["student1"]
    view_token = hub.token("teacher", VIEW_SCOPES)
    control_token = hub.token("teacher", CONTROL_SCOPES)
    # watching needs the view scope; taking over the control scope
    assert ws_status(vnc_url(hub, "student1", s1["id"], control=True), [f"Authorization: token {view_token}"]) == 403
    assert not check_seat(hub, s1, "student1", view_token, control=False)
    assert not check_seat(hub, s1, "student1", control_token, control=False)  # view-only by default
    assert check_seat(hub, s1, "student1", control_token, control=True)  # the control: the test sees input


# ---------------------------------------------------------------------------------------------- students


def test_a_student_sees_only_their_own_desktops(hub: Hub, classroom, browser):
    s1 = classroom["student1"]
    own = service_api(hub, s1["token"])  # student1's own permissions (as their notebooks' tokens have)
    listed = own.get("api/desktops")
    assert listed.status_code == 200, listed.text
    assert {(d["owner"], d["id"], d["control"]) for d in listed.json()["desktops"]} == {("student1", s1["id"], True)}
    for other in ("student2", "student3"):
        for control in (False, True):
            url = vnc_url(hub, other, classroom[other]["id"], control)
            assert ws_status(url, [f"Authorization: token {s1['token']}"]) == 403, (other, control)
    assert ws_status(vnc_url(hub, "student1", s1["id"], True), [f"Authorization: token {s1['token']}"]) == 101
    # in the browser: their own tile only
    context, page, errors = open_class_page(hub, browser, "student1")
    try:
        page.goto(hub.url + SERVICE)
        eventually(lambda: tile_pixel(page, "student1", *PROBE) == list(COLOURS["student1"]), what="student1's tile")
        assert page.locator(".jd-tile").count() == 1
        assert not errors, errors
    finally:
        context.close()


def test_every_route_needs_a_hub_login_with_access_to_the_service(hub: Hub, classroom):
    s2 = classroom["student2"]
    ws = vnc_url(hub, "student2", s2["id"])
    nobody = httpx.Client(base_url=hub.url + SERVICE, timeout=30)
    page = nobody.get("")
    assert page.status_code == 302 and "/hub/api/oauth2/authorize" in page.headers["location"], page.headers
    for path in ("api/desktops", "static/viewer.js", "static/viewer.css"):
        assert nobody.get(path).status_code == 403, path
    assert nobody.post("api/shares", json={"user": "student1"}).status_code == 403
    assert nobody.delete("api/shares/student1").status_code == 403
    assert ws_status(ws) == 403
    # a token of the teacher without access to the service (a notebook's token scoped to a server)
    elsewhere = hub.token("teacher", ["access:servers!server=student2/"])
    assert service_api(hub, elsewhere).get("api/desktops").status_code == 403
    assert ws_status(ws, [f"Authorization: token {elsewhere}"]) == 403
    # with access to the service but no desktop scope: an empty class, no stream
    bare = hub.token("teacher", ["access:services!service=classroom"])
    assert service_api(hub, bare).get("api/desktops").json()["desktops"] == []
    assert ws_status(ws, [f"Authorization: token {bare}"]) == 403


def test_a_student_shares_a_view_only_seat_and_takes_it_back(hub: Hub, classroom):
    s1, s2 = classroom["student1"], classroom["student2"]
    owner, guest = service_api(hub, s1["token"]), service_api(hub, s2["token"])
    # students cannot share through the hub themselves (no `shares` scope: it would share the whole server)
    direct = httpx.post(hub.url + "hub/api/shares/student1/", json={"user": "student2"},
                        headers={"Authorization": f"token {s1['token']}"})  # fmt: skip
    assert direct.status_code == 403, direct.text
    assert "student1" not in {d["owner"] for d in guest.get("api/desktops").json()["desktops"]}
    shared = owner.post("api/shares", json={"user": "student2"})
    assert shared.status_code == 200 and shared.json()["shared_with"] == ["student2"], shared.text
    try:
        # the hub's own record of it: a share of the view scope, nothing else of student1's server
        shares = httpx.get(hub.url + "hub/api/shares/student1", headers={"Authorization": f"token {s1['token']}"})
        assert [(s["user"]["name"], s["scopes"]) for s in shares.json()["items"]] == [
            ("student2", ["custom:desktops:view!server=student1/"])
        ], shares.text
        seen = {(d["owner"], d["id"]): d["control"] for d in guest.get("api/desktops").json()["desktops"]}
        assert seen[("student1", s1["id"])] is False
        assert hub.desktop_api("student1", s2["token"]).get("desktops").status_code == 403  # the server: still no
        control = vnc_url(hub, "student1", s1["id"], control=True)
        assert ws_status(control, [f"Authorization: token {s2['token']}"]) == 403
        assert not check_seat(hub, s1, "student1", s2["token"], control=False)  # watches; its input goes nowhere
        seat = Seat(vnc_url(hub, "student1", s1["id"]), s2["token"])
        assert seat.frame.getpixel(PROBE) == COLOURS["student1"]
    finally:
        taken = owner.delete("api/shares/student2")
    assert taken.status_code == 200 and taken.json()["shared_with"] == [], taken.text
    # the open seat ends within the service's re-check; the guest's list no longer has the desktop
    started = time.monotonic()
    seat.ws.settimeout(RECHECK * 5 + 30)
    with pytest.raises(websocket.WebSocketConnectionClosedException):
        while True:
            seat.ws.recv_data()
    figure(f"share withdrawn to the guest's open view closed (re-check every {RECHECK} s)", time.monotonic() - started)
    assert "student1" not in {d["owner"] for d in guest.get("api/desktops").json()["desktops"]}


# ---------------------------------------------------------------------------------------------- figures



def _cpu_by_program() -> dict[str, float]:
    """CPU seconds so far of every process, summed by program (the class page's service by its module's name)."""
    out: dict[str, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for p in processes():
        try:
            fields = Path(f"/proc/{p.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        name = "the classroom service" if "jupyter_desktop.classroom" in p.cmdline else p.comm
        if name.startswith("chrom"):
            name = "chromium"
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def _machine() -> tuple[int, int]:
    """The machine's idle and total CPU time so far (/proc/stat, in ticks)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return fields[3] + fields[4], sum(fields[:8])


# Counts, in the page, the distinct pictures each tile's canvas shows (a change of the busy xterm's area between
# two animation frames): the screen updates a person sees, at most the display's frame rate.
COUNT_PICTURES = """([x, y, w, h]) => {
  window.__pictures = {};
  const last = {};
  const step = () => {
    for (const tile of document.querySelectorAll('.jd-tile[data-state=connected]')) {
      const canvas = tile.querySelector('canvas');
      if (!canvas) continue;
      const data = canvas.getContext('2d').getImageData(x, y, w, h).data;
      let hash = 0;
      for (let i = 0; i < data.length; i += 4) hash = (hash * 31 + data[i] + data[i + 1] * 7 + data[i + 2] * 13) | 0;
      const key = tile.dataset.owner + '/' + tile.dataset.id;
      if (last[key] !== undefined && last[key] !== hash) window.__pictures[key] = (window.__pictures[key] || 0) + 1;
      last[key] = hash;
    }
    requestAnimationFrame(step);
  };
  requestAnimationFrame(step);
}"""


def test_figures_the_grid_under_load(hub: Hub, classroom, browser):
    """Every desktop busy (an xterm printing the time 20 times a second), the teacher's grid open: the pictures
    each tile shows per second, and the CPU it takes, by program. Then again with two desktops per student (the
    course's limit: 6 desktops, the most the harness's three students have)."""
    busy = ["xterm", "-geometry", "40x6+200+150", "-e", "sh", "-c", "while :; do date +%T.%N; sleep 0.05; done"]
    area = (200, 150, 240, 80)  # the busy xterm, on the desktop
    extra: list[tuple[dict[str, Any], str]] = []
    for s in STUDENTS:
        api, did = classroom[s]["api"], classroom[s]["id"]
        assert api.post(f"desktops/{did}/processes", json={"command": busy}).status_code == 201

    def measure(label: str, tiles: int) -> None:
        context, page, errors = open_class_page(hub, browser, "teacher")
        messages: dict[str, int] = {}
        lock = threading.Lock()

        def on_socket(ws: Any) -> None:
            key = ws.url.split("/api/desktops/")[1]

            def count(_payload: Any) -> None:
                with lock:
                    messages[key] = messages.get(key, 0) + 1

            ws.on("framereceived", count)

        page.on("websocket", on_socket)
        try:
            started = time.monotonic()
            page.goto(hub.url + SERVICE)
            eventually(lambda: page.locator(".jd-tile[data-state=connected]").count() == tiles, timeout=60,
                       what=f"{tiles} tiles connected")  # fmt: skip
            figure(f"{label}: class page opened to {tiles} tiles connected", time.monotonic() - started)
            page.evaluate(COUNT_PICTURES, list(area))
            page.wait_for_timeout(1000)  # settled
            with lock:
                before = dict(messages)
            pictures0 = page.evaluate("() => ({...window.__pictures})")
            cpu0, stat0, wall0 = _cpu_by_program(), _machine(), time.monotonic()
            page.wait_for_timeout(5000)
            pictures1 = page.evaluate("() => ({...window.__pictures})")
            wall = time.monotonic() - wall0
            cpu1, stat1 = _cpu_by_program(), _machine()
            with lock:
                sent = sorted((messages.get(k, 0) - before.get(k, 0)) / wall for k in messages)
            rates = sorted((pictures1.get(k, 0) - pictures0.get(k, 0)) / wall for k in pictures1)
            assert len(rates) == tiles and min(rates) > 1, (rates, pictures1)
            figure(f"{label}: pictures per second per tile, min", rates[0], "/s")
            figure(f"{label}: pictures per second per tile, median", rates[len(rates) // 2], "/s")
            figure(f"{label}: WebSocket messages per second per tile, median", sent[len(sent) // 2], "/s")
            busy_share = 1 - (stat1[0] - stat0[0]) / max(1, stat1[1] - stat0[1])
            figure(f"{label}: the machine's CPU busy (2 cores)", 100 * busy_share, "%")
            use = {k: 100 * (cpu1[k] - cpu0.get(k, 0)) / wall for k in cpu1}
            for name, share in sorted(use.items(), key=lambda kv: -kv[1])[:8]:
                figure(f"{label}: CPU of {name}", share, "% of a core")
            assert not errors, errors
        finally:
            context.close()

    measure(f"{len(STUDENTS)} busy desktops", len(STUDENTS))
    for s in STUDENTS:  # the course's limit: two desktops each
        api = classroom[s]["api"]
        response = api.post("desktops", json={"profile": "openbox", "width": SIZE[0], "height": SIZE[1]})
        assert response.status_code == 201, response.text
        did = response.json()["id"]
        assert api.post(f"desktops/{did}/processes", json={"command": busy}).status_code == 201
        extra.append((classroom[s], did))
    try:
        measure(f"{2 * len(STUDENTS)} busy desktops", 2 * len(STUDENTS))
    finally:
        for student, did in extra:
            student["api"].delete(f"desktops/{did}")
