"""jupyter_desktop under a real JupyterHub (tests/harness/hub.py): the PyPI `jupyterhub` process, the npm
configurable-http-proxy, real unix users logging in with their passwords (PAM), the localprocess spawner, the
deployment recipe deploy/jupyterhub_config.py, everything on 127.0.0.1.

A student's server spawns through the hub's API; through the proxy the student creates a desktop, takes a
screenshot and reads a frame over the RFB WebSocket; the desktop runs as the student, in a private directory;
another student's token and cookie are refused on the REST routes and the WebSocket; a teacher, by the role the
recipe gives the unix group `teachers`, reaches a student's desktop; ``Desktop()`` in the student's kernel drives
the same server's desktops; every listener stays on 127.0.0.1; stopping a server, stopping the hub and the idle
culler leave no process of the student.

Needs root (unix users). Figures (hub start, spawn to first frame, memory) are printed: ``pytest -s`` or ``-rP``.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import socket
import stat
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from jupyter_desktop.backends import _proc

from .conftest import eventually
from .harness.browser import CHROMIUM
from .harness.hub import (
    DOCKER_CONFIG,
    Hub,
    describe,
    nothing_left,
    pgrep_u,
    processes,
    pss_kib,
    run_in_kernel,
    running_hub,
    singleuser_image,
    user_processes,
)
from .harness.rfb import rfb_frame, ws_open, ws_status
from .harness.server import free_port

FIGURES: dict[str, float] = {}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


def figure(name: str, value: float, unit: str = "s") -> None:
    FIGURES[name] = value
    print(f"FIGURE {name}: {value:.2f} {unit}")


# ---------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def student1(hub: Hub) -> dict[str, Any]:
    """student1's server, spawned through the hub's REST API, and an API token of student1."""
    figure("hub start (process to /hub/health through the proxy)", hub.start_seconds)
    seconds = hub.start_server("student1")
    figure("spawn student1 (POST /hub/api/users/student1/server to ready)", seconds)
    return {"token": hub.token("student1"), "spawn_seconds": seconds}


@pytest.fixture(scope="module")
def desktop1(hub: Hub, student1: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """A desktop student1 created through the proxy with their token."""
    api = hub.desktop_api("student1", student1["token"])
    started = time.monotonic()
    response = api.post("desktops", json={"profile": "openbox", "width": 800, "height": 600})
    assert response.status_code == 201, response.text
    info = response.json()
    info["create_seconds"] = time.monotonic() - started
    yield info
    api.delete(f"desktops/{info['id']}")
    api.close()


# ---------------------------------------------------------------------------------------------- helpers


def cookies_for(client: httpx.Client, url: str) -> str:
    """The Cookie header a browser holding ``client``'s cookies sends to ``url`` (matched by path)."""
    path = httpx.URL(url).path
    return "; ".join(f"{c.name}={c.value}" for c in client.cookies.jar if path.startswith(c.path))


def screenshot(api: httpx.Client, desktop_id: str) -> Image.Image:
    response = api.get(f"desktops/{desktop_id}/screenshot", params={"format": "raw"})
    assert response.status_code == 200, response.text
    size = int(response.headers["X-Width"]), int(response.headers["X-Height"])
    return Image.frombytes("RGB", size, response.content)


def desktop_processes(desktop_id: str) -> list[Any]:
    """The live processes of a local desktop (each carries JUPYTER_DESKTOP_ID=<id> in its environment)."""
    pids = _proc.marked_processes([desktop_id]).get(desktop_id, set())
    by_pid = {p.pid: p for p in processes()}
    return [by_pid[p] for p in pids if p in by_pid and by_pid[p].state != "Z"]


def xvnc_of(desktop_id: str) -> Any:
    xvnc = [p for p in desktop_processes(desktop_id) if p.comm == "Xvnc"]
    assert len(xvnc) == 1, f"Xvnc processes of desktop {desktop_id}: {xvnc}"
    return xvnc[0]


def uid(user: str) -> int:
    return pwd.getpwnam(user).pw_uid


# ---------------------------------------------------------------------------------------------- the tests


def test_a_students_server_spawns_through_the_hub_api(hub: Hub, student1):
    model = hub.server_model("student1")
    assert model["ready"] and model["url"] == "/user/student1/", model
    headers = {"Authorization": f"token {student1['token']}"}
    response = httpx.get(hub.user_url("student1") + "api/status", headers=headers)
    assert response.status_code == 200, response.text
    servers = [p for p in hub.tree() if "jupyterhub-singleuser" in p.cmdline]
    assert [p.uid for p in servers] == [uid("student1")], describe(hub.tree())
    # the course's single-user settings (deploy/singleuser/, through JUPYTER_CONFIG_PATH) reached the server
    assert Path(f"/proc/{servers[0].pid}/environ").read_bytes().count(b"JUPYTER_CONFIG_PATH=") == 1


def test_a_student_creates_a_desktop_and_reads_its_frames_through_the_proxy(hub: Hub, student1, desktop1):
    assert desktop1["status"] == "running" and desktop1["owner"] == "student1", desktop1
    api = hub.desktop_api("student1", student1["token"])
    listed = api.get("desktops")
    assert listed.status_code == 200 and desktop1["id"] in [d["id"] for d in listed.json()], listed.text
    png = api.get(f"desktops/{desktop1['id']}/screenshot")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG"), png.status_code
    started = time.monotonic()
    ws = ws_open(hub.ws_url("student1", f"desktop/api/desktops/{desktop1['id']}/vnc?token={student1['token']}"))
    try:
        frame = rfb_frame(ws)
    finally:
        ws.close()
    frame_seconds = time.monotonic() - started
    shot = screenshot(api, desktop1["id"])
    assert frame.size == shot.size == (800, 600)
    # the frame is the desktop's screen (not a blank one): the same pixels as the REST screenshot, and not uniform
    assert len(np.unique(np.asarray(frame).reshape(-1, 3), axis=0)) > 1
    diff = np.abs(np.asarray(frame, np.int16) - np.asarray(shot, np.int16)).max(axis=2)
    assert (diff == 0).mean() > 0.999, f"{(diff != 0).sum()} pixels differ between the frame and the screenshot"
    figure("create a desktop through the proxy", desktop1["create_seconds"])
    figure("WebSocket open to first full frame", frame_seconds)
    figure(
        "spawn to first desktop frame (spawn + create + frame)",
        student1["spawn_seconds"] + desktop1["create_seconds"] + frame_seconds,
    )


def test_the_students_desktop_runs_as_the_student_in_a_private_directory(hub: Hub, desktop1):
    procs = desktop_processes(desktop1["id"])
    assert {p.comm for p in procs} >= {"Xvnc", "openbox"}, procs
    for p in procs:  # real, effective, saved and filesystem uid: all the student's (what ps -o user shows)
        uids = next(line for line in Path(f"/proc/{p.pid}/status").read_text().splitlines() if line.startswith("Uid:"))
        assert uids.split()[1:] == [str(uid("student1"))] * 4, (str(p), uids)
    xvnc = xvnc_of(desktop1["id"])
    args = Path(f"/proc/{xvnc.pid}/cmdline").read_bytes().split(b"\0")
    sock = Path(args[args.index(b"-rfbunixpath") + 1].decode())
    assert stat.S_ISSOCK(sock.stat().st_mode) and sock.stat().st_uid == uid("student1")
    for directory in (sock.parent, sock.parent.parent):  # the desktop's, and the student's registry of them
        st = directory.stat()
        assert st.st_uid == uid("student1") and stat.S_IMODE(st.st_mode) == 0o700, (directory, oct(st.st_mode))
    # no TCP: Xvnc has no listening socket but its unix one (-rfbport -1, -nolisten tcp)
    assert b"-nolisten" in args and args[args.index(b"-rfbport") + 1] == b"-1"


def test_another_students_token_is_refused_on_rest_and_websocket(hub: Hub, student1, desktop1):
    did = desktop1["id"]
    own = hub.desktop_api("student1", student1["token"])
    other_token = hub.token("student2")  # student2's own permissions, as student2's notebooks have
    other = hub.desktop_api("student1", other_token)
    reads = ["desktops", f"desktops/{did}", f"desktops/{did}/screenshot", f"desktops/{did}/windows",
             f"desktops/{did}/clipboard", f"desktops/{did}/pointer"]  # fmt: skip
    for path in reads:
        assert own.get(path).status_code == 200, path  # the control: the owner's token passes
        response = other.get(path)
        assert response.status_code == 403, (path, response.status_code, response.text[:200])
    writes = [
        ("POST", "desktops", {"profile": "openbox"}),
        ("POST", f"desktops/{did}/actions", {"actions": [{"action": "type", "text": "x"}]}),
        ("POST", f"desktops/{did}/exec", {"command": ["true"]}),
        ("POST", f"desktops/{did}/processes", {"command": ["xterm"]}),
        ("PUT", f"desktops/{did}/clipboard", {"text": "from student2"}),
        ("POST", f"desktops/{did}/restart", None),
        ("DELETE", f"desktops/{did}", None),
    ]
    for method, path, body in writes:
        response = other.request(method, path, json=body)
        assert response.status_code == 403, (method, path, response.status_code, response.text[:200])
    after = own.get(f"desktops/{did}").json()
    assert after["status"] == "running" and after["created"] == desktop1["created"], after
    assert [d["id"] for d in own.get("desktops").json()] == [did]
    # the WebSocket: student2's token in the URL (as viewers send it) and in the header
    url = hub.ws_url("student1", f"desktop/api/desktops/{did}/vnc")
    assert ws_status(f"{url}?token={student1['token']}") == 101  # the control
    assert ws_status(f"{url}?token={other_token}") == 403
    assert ws_status(url, header=[f"Authorization: token {other_token}"]) == 403
    # and student2 cannot get a token for student1's server from the hub either
    response = hub.api("POST", "users/student2/tokens", json={"scopes": ["access:servers!user=student1"]})
    assert response.status_code in (400, 403), response.text


def test_another_students_cookie_is_refused_on_rest_and_websocket(hub: Hub, student1, desktop1):
    did = desktop1["id"]
    hub.start_server("student2")  # student2's own server, for its cookie
    vnc = hub.ws_url("student1", f"desktop/api/desktops/{did}/vnc")
    api_url = hub.user_url("student1") + "desktop/api/desktops"
    # the control: student1 logs in with the unix password and opens their server; its cookie passes
    owner = hub.http_login("student1")
    assert hub.open_server(owner, "student1").status_code == 200
    assert "jupyterhub-user-student1" in owner.cookies
    response = owner.get(api_url)
    assert response.status_code == 200 and did in response.text, response.text[:300]
    ws = ws_open(vnc, cookie=cookies_for(owner, vnc))
    try:
        assert rfb_frame(ws).size == (800, 600)
    finally:
        ws.close()

    # student2, logged in, opens student1's server: the hub refuses the OAuth authorization, no cookie for it
    intruder = hub.http_login("student2")
    refused = hub.open_server(intruder, "student1")
    assert refused.status_code == 403, (refused.status_code, str(refused.url))
    assert "/hub/api/oauth2/authorize" in str(refused.url)
    assert "jupyterhub-user-student1" not in [c.name for c in intruder.cookies.jar]
    response = intruder.get(api_url)
    assert response.status_code == 403, response.text[:300]
    assert ws_status(vnc, cookie=cookies_for(intruder, vnc)) == 403
    # student2's own server cookie, presented to student1's server under its cookie name, is refused too
    assert hub.open_server(intruder, "student2").status_code == 200
    own_cookie = next(c.value for c in intruder.cookies.jar if c.name == "jupyterhub-user-student2")
    forged = f"jupyterhub-user-student1={own_cookie}"
    response = httpx.get(api_url, headers={"Cookie": forged})
    assert response.status_code == 403, response.text[:300]
    assert ws_status(vnc, cookie=forged) == 403
    for client in (owner, intruder):
        client.close()


def test_a_students_exposed_port_through_the_hub(hub: Hub, student1, desktop1):
    """An app inside student1's desktop (running as student1), exposed by student1, answers at
    /user/student1/desktop/<id>/port/<port>/ through the hub's proxy with student1's token; student2's token, no
    login, and a port student1 did not expose are refused (the ports extra is in the students' environment)."""
    did = desktop1["id"]
    own = hub.desktop_api("student1", student1["token"])
    port = free_port()
    app = (
        "import getpass, http.server as s\n"
        "class H(s.BaseHTTPRequestHandler):\n"
        "    def do_GET(self):\n"
        "        body = ('hello from ' + getpass.getuser()).encode()\n"
        "        self.send_response(200); self.send_header('Content-Length', str(len(body))); self.end_headers()\n"
        "        self.wfile.write(body)\n"
        f"s.HTTPServer(('127.0.0.1', {port}), H).serve_forever()\n"
    )
    launched = own.post(f"desktops/{did}/processes", json={"command": ["python3", "-c", app]})
    assert launched.status_code == 201, launched.text
    url = hub.user_url("student1") + f"desktop/{did}/port/{port}/"
    assert httpx.get(url, headers={"Authorization": f"token {student1['token']}"}).status_code == 404  # not exposed
    exposed = own.post(f"desktops/{did}/call/expose", json={"args": {"port": port, "name": "App"}})
    assert exposed.status_code == 200, exposed.text
    try:
        assert own.get(f"desktops/{did}").json()["ports"] == [{"port": port, "name": "App", "path": f"desktop/{did}/port/{port}/"}]
        page = eventually(lambda: (r := httpx.get(url, headers={"Authorization": f"token {student1['token']}"}))
                          .status_code == 200 and r, timeout=30, what="the app through the hub")  # fmt: skip
        assert page.text == "hello from student1"  # the desktop's user, not the server's
        other = httpx.get(url, headers={"Authorization": f"token {hub.token('student2')}"})
        assert other.status_code == 403 and "hello" not in other.text
        anonymous = httpx.get(url, follow_redirects=False)
        assert anonymous.status_code in (302, 403) and "hello" not in anonymous.text
    finally:
        own.post(f"desktops/{did}/call/unexpose", json={"args": {"port": port}})
        pid = launched.json()["pid"]
        own.delete(f"desktops/{did}/processes/{pid}")
    own.close()


def test_a_teacher_reaches_a_students_desktop_by_role(hub: Hub, student1, desktop1):
    did = desktop1["id"]
    vnc = hub.ws_url("student1", f"desktop/api/desktops/{did}/vnc")
    # in a browser: the teacher logs in, opens /user/student1/, authorizes on the hub's page, and is in
    teacher = hub.http_login("teacher")
    opened = hub.open_server(teacher, "student1")
    assert opened.status_code == 200 and str(opened.url).startswith(hub.user_url("student1")), opened.url
    response = teacher.get(hub.user_url("student1") + "desktop/api/desktops")
    assert response.status_code == 200 and did in [d["id"] for d in response.json()], response.text[:300]
    assert teacher.get(hub.user_url("student1") + f"desktop/api/desktops/{did}/screenshot").status_code == 200
    ws = ws_open(vnc, cookie=cookies_for(teacher, vnc))
    try:
        assert rfb_frame(ws).size == (800, 600)
    finally:
        ws.close()
    teacher.close()
    # with a token: the role's access:servers!group=students lets the hub grant the teacher a token for
    # student1's server (a token carrying the group filter itself is not understood by the single-user server:
    # JupyterHub resolves group filters only in the hub)
    token = hub.token("teacher", ["access:servers!server=student1/"])
    api = hub.desktop_api("student1", token)
    assert api.get(f"desktops/{did}").status_code == 200
    assert ws_status(f"{vnc}?token={token}") == 101


def test_desktop_in_the_students_kernel_drives_the_same_desktops(hub: Hub, student1, desktop1):
    did = desktop1["id"]
    mark = f"from the kernel {uuid.uuid4().hex[:8]}"
    code = f"""
import json, os
from jupyter_desktop import Desktop
d = Desktop.attach({did!r})
d.set_clipboard({mark!r})
whoami = d.run(["id", "-un"]).stdout.strip()
n = Desktop(width=640, height=480)
print(json.dumps({{"uid": os.getuid(), "whoami": whoami, "new": n.id, "listed": [x["id"] for x in Desktop.list()]}}))
"""
    out = run_in_kernel(hub, "student1", student1["token"], code)
    result = json.loads(out.strip().splitlines()[-1])
    api = hub.desktop_api("student1", student1["token"])
    try:
        assert result["uid"] == uid("student1") and result["whoami"] == "student1", result
        # the kernel's clipboard text is on student1's desktop's X server (read there by xclip)
        response = api.post(f"desktops/{did}/exec", json={"command": ["xclip", "-o", "-selection", "clipboard"]})
        assert response.status_code == 200 and response.json()["stdout"] == mark, response.text
        # the kernel's new desktop is the server's (not one in the kernel's own process), running as student1
        listed = [d["id"] for d in api.get("desktops").json()]
        assert result["new"] in listed and did in listed and set(result["listed"]) == set(listed), (result, listed)
        assert xvnc_of(result["new"]).uid == uid("student1")
    finally:
        api.delete(f"desktops/{result['new']}")


def test_the_course_config_limits_a_students_desktops(hub: Hub, student1, desktop1):
    """deploy/singleuser/jupyter_server_config.py: two desktops per student, local backend only."""
    api = hub.desktop_api("student1", student1["token"])
    second = api.post("desktops", json={"profile": "none", "width": 320, "height": 240})
    assert second.status_code == 201, second.text
    try:
        third = api.post("desktops", json={"profile": "none", "width": 320, "height": 240})
        assert third.status_code == 429 and "2" in third.json()["message"], third.text
        docker = api.post("desktops", json={"profile": "none", "backend": "docker"})
        assert docker.status_code == 400 and "not allowed" in docker.json()["message"], docker.text
    finally:
        api.delete(f"desktops/{second.json()['id']}")


def test_every_listener_is_on_loopback(hub: Hub, student1, desktop1):
    """The proxy, the hub, the students' servers, their kernels (started here) and desktops: nothing listens off
    127.0.0.1 (TCP or UDP)."""
    headers = {"Authorization": f"token {student1['token']}"}
    kernels = hub.user_url("student1") + "api/kernels"
    kernel = httpx.post(kernels, headers=headers, json={"name": "python3"}, timeout=120)
    assert kernel.status_code == 201, kernel.text
    try:
        tree = {p.pid: p for p in hub.tree()}
        kernel_procs = [p for p in tree.values() if "ipykernel_launcher" in p.cmdline]
        assert kernel_procs and all(p.uid == uid("student1") for p in kernel_procs), describe(list(tree.values()))

        def listeners() -> list[tuple[str, str, int]]:
            out = subprocess.run(["ss", "-Htulnp"], capture_output=True, text=True, check=True).stdout
            found = []
            for line in out.splitlines():
                local = line.split()[4]
                for pid in map(int, re.findall(r"pid=(\d+)", line)):
                    if pid in tree:
                        found.append((local, tree[pid].comm, pid))
            return found

        kernel_pids = {k.pid for k in kernel_procs}

        def with_the_kernels_ports() -> list[tuple[str, str, int]] | None:
            found = listeners()  # the kernel's five ZMQ ports appear once it has bound them
            return found if sum(pid in kernel_pids for _, _, pid in found) >= 5 else None

        found = eventually(with_the_kernels_ports, timeout=60, what="the kernel's ports listening")
        ports = {int(local.rsplit(":", 1)[1]) for local, _, _ in found}
        assert {hub.ports["public"], hub.ports["hub"], hub.ports["proxy_api"]} <= ports, found
        off_loopback = [f for f in found if not f[0].startswith("127.0.0.1:")]
        assert not off_loopback, off_loopback
    finally:
        httpx.delete(f"{kernels}/{kernel.json()['id']}", headers=headers, timeout=60)


def test_stopping_a_students_server_leaves_no_process_of_the_student(hub: Hub):
    hub.start_server("student2")
    api = hub.desktop_api("student2", hub.token("student2"))
    response = api.post("desktops", json={"profile": "openbox", "width": 800, "height": 600})
    assert response.status_code == 201, response.text
    did = response.json()["id"]
    xterm = api.post(f"desktops/{did}/processes", json={"command": ["xterm"]})
    assert xterm.status_code == 201, xterm.text
    eventually(lambda: api.get(f"desktops/{did}/windows").json(), what="the xterm's window")
    procs = [p for p in user_processes("student2") if p.state != "Z"]
    assert {"Xvnc", "openbox", "xterm"} <= {p.comm for p in procs}, describe(procs)
    figure("memory (PSS) of a student: server + openbox desktop + xterm", pss_kib([p.pid for p in procs]) / 1024, "MiB")
    figure("memory (PSS) of the desktop alone", pss_kib([p.pid for p in desktop_processes(did)]) / 1024, "MiB")
    hub.stop_server("student2")
    eventually(lambda: nothing_left("student2"), timeout=60, what="no process of student2 (pgrep -u student2)")


def test_stopping_the_hub_leaves_no_process_of_its_users(tmp_path):
    with running_hub(tmp_path / "hub") as h:
        h.start_server("student3")
        token = h.token("student3")
        api = h.desktop_api("student3", token)
        response = api.post("desktops", json={"profile": "openbox", "width": 640, "height": 480})
        assert response.status_code == 201, response.text
        assert xvnc_of(response.json()["id"]).uid == uid("student3")
        tree = h.tree()
        assert any(p.uid == uid("student3") for p in tree)
        public = h.ports["public"]
        started = time.monotonic()
    # running_hub's exit stopped the hub and waited for its whole process tree to end (else it failed)
    figure("hub stop with one student's server and desktop", time.monotonic() - started)
    assert not pgrep_u("student3"), describe(user_processes("student3"))
    assert not [p for p in tree if os.path.exists(f"/proc/{p.pid}") and _proc.is_alive(p.pid)]
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", public)) != 0, "the proxy still listens"


def test_the_idle_culler_stops_an_idle_students_server_and_nothing_is_left(tmp_path):
    timeout, every = 25, 5
    with running_hub(tmp_path / "hub", cull_timeout=timeout, cull_every=every, activity_interval=5) as h:
        h.start_server("student3")
        api = h.desktop_api("student3", h.token("student3"))
        response = api.post("desktops", json={"profile": "openbox", "width": 640, "height": 480})
        assert response.status_code == 201, response.text
        assert xvnc_of(response.json()["id"]).uid == uid("student3")
        idle_since = time.monotonic()  # the last request: from now on nobody uses the server or its desktop
        api.close()
        eventually(lambda: h.server_model("student3") is None, timeout=timeout + 120, interval=0.5,
                   what="student3's idle server culled")  # fmt: skip
        culled_after = time.monotonic() - idle_since
        assert re.search(r"DELETE /hub/api/users/student3/server \S* ?\(idle-culler@", h.log(200000)), h.log()
        assert culled_after >= timeout - 1, f"culled after {culled_after:.1f} s of idleness, before the timeout"
        eventually(lambda: nothing_left("student3"), timeout=60, what="no process of student3 (pgrep -u student3)")
    figure(f"idle to culled (timeout {timeout} s, cull every {every} s, activity every 5 s)", culled_after)


def test_a_forgotten_list_page_does_not_keep_a_server_from_the_culler(tmp_path):
    """Every request through JupyterHub's proxy counts as the user's activity (configurable-http-proxy's route
    last_activity), so the list page, polling every 3 s, kept a student's server alive for as long as its tab was
    open. It pauses once nobody has touched it for pages_idle_after (5 s here), and the idle culler then stops
    the server with the page still open."""
    from playwright.sync_api import sync_playwright

    timeout, every = 25, 5
    env = {"JD_HUB_PAGES_IDLE_AFTER": "5"}
    with running_hub(tmp_path / "hub", cull_timeout=timeout, cull_every=every, activity_interval=5, env=env) as h:
        h.start_server("student3")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = h.browser_login(browser.new_context(), "student3")
                polls: list[float] = []
                list_api = h.user_url("student3") + "desktop/api/desktops"
                page.on("request", lambda r: polls.append(time.monotonic()) if r.url.split("?")[0] == list_api else None)
                assert h.browser_open(page, "student3", "desktop/").status == 200
                page.wait_for_selector(".jd-updated:has-text('Updated')", timeout=60000)
                page.wait_for_selector(".jd-updated:has-text('Paused while you are away')", timeout=60000)
                paused, polled = time.monotonic(), len(polls)  # (the sync API hands events over in its calls)
                assert polled >= 2, polls  # it polled while someone could be there
                eventually(lambda: h.server_model("student3") is None, timeout=timeout + 120, interval=0.5,
                           what="student3's server culled with the list page open")  # fmt: skip
                page.wait_for_timeout(100)  # the requests the page made meanwhile, if any, reach the handler
                assert len(polls) == polled, "the page polled on after it said it paused"
                assert re.search(r"DELETE /hub/api/users/student3/server \S* ?\(idle-culler@", h.log(200000)), h.log()
                figure("list page paused to server culled (timeout 25 s)", time.monotonic() - paused)
            finally:
                browser.close()
        eventually(lambda: nothing_left("student3"), timeout=60, what="no process of student3 (pgrep -u student3)")


def test_people_log_in_with_their_unix_password_in_chromium(hub: Hub, student1, desktop1):
    """The harness's browser login (other modules' browser tests use it): the hub's login form and PAM, then the
    OAuth round trip to the student's server, whose cookie the desktop API takes; a teacher authorizes on the hub's
    page and gets in; someone else's password stays on the login page."""
    from playwright.sync_api import sync_playwright

    api_path = "desktop/api/desktops"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for user in ("student1", "teacher"):
                context = browser.new_context()
                page = hub.browser_login(context, user)
                assert page.url == hub.url + "hub/home", page.url
                # JupyterLab's page: the OAuth round trip to student1's server, whose cookie the API then takes
                response = hub.browser_open(page, "student1", "lab", wait_until="commit")
                assert response.status == 200 and page.url == hub.user_url("student1") + "lab", (user, page.url)
                response = page.goto(hub.user_url("student1") + api_path)
                assert response.status == 200, (user, response.status)
                assert desktop1["id"] in [d["id"] for d in json.loads(page.inner_text("body"))]
                context.close()
            context = browser.new_context()
            page = context.new_page()
            page.goto(hub.url + "hub/login")
            page.fill("#username_input", "student2")
            page.fill("#password_input", hub.password("student1"))  # someone else's
            page.click("#login_submit")
            page.wait_for_selector("text=Invalid username or password", timeout=60000)
            assert "/hub/login" in page.url
            context.close()
        finally:
            browser.close()


def _docker(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True, timeout=120).stdout


def _cgroup_limit(pid: int, controller: str, v1_file: str) -> str:
    """A cgroup v1 controller's limit file for the process's cgroup (this machine's Docker uses cgroup v1)."""
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            return Path(f"/sys/fs/cgroup/{controller}{path}/{v1_file}").read_text().strip()
    raise AssertionError(f"no {controller} cgroup for {pid}: {Path(f'/proc/{pid}/cgroup').read_text()}")


@pytest.mark.docker
@pytest.mark.timeout(1500)  # the first run on a machine builds the image (bootstrap.sh does it before)
def test_dockerspawner_puts_a_students_server_and_desktops_in_a_limited_container(tmp_path):
    """deploy/jupyterhub_docker_config.py with deploy/singleuser's image: student1's server and desktops run in
    one container (host network, 127.0.0.1 only, no published port) whose memory, CPU and pid limits hold for the
    desktop's processes; the desktop works through the proxy; stopping the server removes the container."""
    engine = subprocess.run(["docker", "info"], capture_output=True, text=True) if shutil.which("docker") else None
    if engine is None or engine.returncode != 0:
        problem = "no Docker engine (scripts/docker-setup.sh)"
        if os.environ.get("JUPYTER_DESKTOP_REQUIRE_DOCKER") == "1":
            pytest.fail(f"JUPYTER_DESKTOP_REQUIRE_DOCKER=1 but {problem}")
        pytest.skip(problem)
    image = singleuser_image()
    container = "jupyter-student1"
    env = {"JD_HUB_SINGLEUSER_IMAGE": image, "JD_HUB_MEM_LIMIT": "1G", "JD_HUB_CPU_LIMIT": "0.5",
           "JD_HUB_PIDS_LIMIT": "300"}  # fmt: skip
    try:
        with running_hub(tmp_path / "hub", config=DOCKER_CONFIG, env=env) as h:
            figure("spawn student1 in a Docker container", h.start_server("student1"))
            info = json.loads(_docker("inspect", container))[0]
            host = info["HostConfig"]
            assert info["Config"]["Image"] == image and info["State"]["Running"], info["State"]
            assert host["NetworkMode"] == "host" and not host.get("PortBindings"), host
            assert host["Memory"] == 1 << 30 and host["PidsLimit"] == 300 and host["ShmSize"] == 1 << 30, host
            assert host["CpuQuota"] / host["CpuPeriod"] == 0.5, (host["CpuQuota"], host["CpuPeriod"])

            token = h.token("student1")
            api = h.desktop_api("student1", token)
            response = api.post("desktops", json={"profile": "openbox", "width": 800, "height": 600})
            assert response.status_code == 201, response.text
            did = response.json()["id"]
            ws = ws_open(h.ws_url("student1", f"desktop/api/desktops/{did}/vnc?token={token}"))
            try:
                frame = rfb_frame(ws)
            finally:
                ws.close()
            shot = screenshot(api, did)
            diff = np.abs(np.asarray(frame, np.int16) - np.asarray(shot, np.int16)).max(axis=2)
            assert frame.size == (800, 600) and (diff == 0).mean() > 0.999

            # the course's settings (deploy/singleuser/jupyter_server_config.py, in the image's /etc/jupyter)
            second = api.post("desktops", json={"profile": "none", "width": 320, "height": 240})
            assert second.status_code == 201, second.text
            assert api.post("desktops", json={"profile": "none"}).status_code == 429
            api.delete(f"desktops/{second.json()['id']}")
            # the desktop runs in the container, as its user, under its limits
            xvnc = xvnc_of(did)
            assert xvnc.uid == 1000, str(xvnc)
            assert info["Id"] in Path(f"/proc/{xvnc.pid}/cgroup").read_text()
            assert int(_cgroup_limit(xvnc.pid, "memory", "memory.limit_in_bytes")) == 1 << 30
            assert int(_cgroup_limit(xvnc.pid, "cpu", "cpu.cfs_quota_us")) == host["CpuQuota"]
            assert int(_cgroup_limit(xvnc.pid, "pids", "pids.max")) == 300
            # nothing of the container listens off 127.0.0.1 (it shares the host's network)
            in_container = {int(p) for p in _docker("top", container, "-eo", "pid").split()[1:]}
            assert xvnc.pid in in_container
            out = subprocess.run(["ss", "-Htulnp"], capture_output=True, text=True, check=True).stdout
            mine = [line.split()[4] for line in out.splitlines()
                    if any(int(p) in in_container for p in re.findall(r"pid=(\d+)", line))]  # fmt: skip
            assert mine and all(local.startswith("127.0.0.1:") for local in mine), mine

            h.stop_server("student1")
            assert not _docker("ps", "-aq", "--filter", f"name=^{container}$").strip()
            assert not _proc.is_alive(xvnc.pid)
    finally:
        subprocess.run(["docker", "rm", "-f", container], capture_output=True)
        subprocess.run(["docker", "volume", "rm", "-f", "jupyterhub-user-student1"], capture_output=True)
