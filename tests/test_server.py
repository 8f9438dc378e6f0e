"""The server extension in a real jupyter-server (pytest-jupyter, in-process, base URL ``/a%40b/``)."""

from __future__ import annotations

import asyncio
import json
import re
import struct
import time
from http.cookies import Morsel, SimpleCookie
from urllib.parse import urlencode

import pytest
from PIL import Image
from tornado import web
from tornado.httpclient import HTTPClientError

from jupyter_desktop.rfb.client import PIXEL_FORMAT
from pytest_jupyter.jupyter_server import *  # noqa: F403 - the fixtures, for this module only

from .conftest import eventually, marked
from .harness.server import extension_routes


@pytest.fixture
def jp_server_config():
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_desktop": True}},
        "DesktopExtension": {"export_env": False, "max_desktops": 3},
    }


@pytest.fixture
def call(jp_asyncio_loop, jp_fetch):
    """Synchronous REST calls: returns (status, parsed body)."""

    def request(path: str, method: str = "GET", body=None, headers=None, raw: bool = False, **params):
        kwargs = {"method": method, "headers": headers or {}, "params": params or None, "follow_redirects": False}
        if body is not None:
            kwargs["body"] = body if isinstance(body, (str, bytes)) else json.dumps(body)
        elif method in ("POST", "PUT"):
            kwargs["body"] = ""
        try:
            response = jp_asyncio_loop.run_until_complete(jp_fetch(*path.split("/"), **kwargs))
        except HTTPClientError as exc:
            response = exc.response
        if raw:
            return response.code, response
        text = response.body.decode() if response.body else ""
        return response.code, (json.loads(text) if text and "json" in response.headers.get("Content-Type", "") else text)

    return request


@pytest.fixture
def desktop_id(call, jp_asyncio_loop, jp_serverapp):
    status, info = call("desktop/api/desktops", "POST", {"profile": "openbox", "width": 800, "height": 600})
    assert status == 201, info
    yield info["id"]
    jp_asyncio_loop.run_until_complete(jp_serverapp.web_app.settings["jupyter_desktop"].manager.stop_all())


def concrete(pattern: str, desktop_id: str) -> str:
    values = {"desktop_id": desktop_id, "pid": "1", "window_id": "1", "command": "close", "op": "describe", "name": "nope",
              "path": "meta.json", "port": "8000", "proxied_path": "/x"}
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: values[m.group(1)], pattern)
    return path.replace("/?", "/").replace("(.*)", "viewer.js").rstrip("$")


def _set_cookies(response) -> dict[str, Morsel]:
    jar = SimpleCookie()
    for header in response.headers.get_list("Set-Cookie"):
        jar.load(header)
    return dict(jar)


@pytest.fixture
def browser_login(call, jp_serverapp, jp_http_port) -> dict[str, dict[str, str]]:
    """The credentials a browser holds, got the way a browser gets them: the ``_xsrf`` cookie jupyter-server's
    login page sets, and the login cookie its login form gives back for the token. Token requests skip the XSRF
    and Origin checks altogether, so only these exercise them. Returns the headers of a logged-out and a
    logged-in browser request, both passing the XSRF check (cookie + matching X-XSRFToken header). The login
    cookie's name carries the host, so every request names the one jp_ws_fetch connects to."""
    host = {"Host": f"localhost:{jp_http_port}", "Authorization": ""}
    status, page = call("login", headers=host, raw=True)
    assert status == 200, status
    xsrf = _set_cookies(page)["_xsrf"]
    form = urlencode({"password": jp_serverapp.identity_provider.token, "_xsrf": xsrf.value})
    headers = {**host, "Cookie": f"_xsrf={xsrf.coded_value}", "Content-Type": "application/x-www-form-urlencoded"}
    status, reply = call("login", "POST", form, headers=headers, raw=True)
    assert status == 302, (status, reply.body[:500])
    users = [m for name, m in _set_cookies(reply).items() if name.startswith("username-")]
    assert len(users) == 1, reply.headers.get_list("Set-Cookie")
    logged_out = {**host, "Cookie": f"_xsrf={xsrf.coded_value}", "X-XSRFToken": xsrf.value}
    logged_in = {**logged_out, "Cookie": f"_xsrf={xsrf.coded_value}; {users[0].key}={users[0].coded_value}"}
    return {"logged_out": logged_out, "logged_in": logged_in}


def _to_login(status: int, response) -> bool:
    return status == 302 and "/login" in response.headers.get("Location", "")


def test_every_route_needs_auth(call, jp_asyncio_loop, jp_ws_fetch, desktop_id, browser_login):
    """Each method of each route, asked by a logged-out browser whose request passes the XSRF check, is refused;
    the same request with the login cookie added gets through to the handler (so the refusal is the auth's)."""
    logged_out, logged_in = browser_login["logged_out"], browser_login["logged_in"]
    # the XSRF check is on and these headers are what pass it: a logged-in write without the header is refused
    no_header = {k: v for k, v in logged_in.items() if k != "X-XSRFToken"}
    status, reply = call("desktop/api/desktops", "POST", "{not json", headers=no_header)
    assert status == 403 and "xsrf" in reply["message"].lower(), (status, reply)
    status, reply = call("desktop/api/desktops", "POST", "{not json", headers=logged_in)
    assert status == 400 and "not JSON" in reply["message"], (status, reply)  # the handler read it

    routes = extension_routes()
    assert len(routes) >= 18
    checked = 0
    for pattern, handler in routes:
        if pattern.endswith("/vnc"):
            path = concrete(pattern, desktop_id)
            ws = jp_asyncio_loop.run_until_complete(jp_ws_fetch(*path.split("/"), headers=logged_in))
            assert jp_asyncio_loop.run_until_complete(ws.read_message())[:4] == b"RFB ", path
            ws.close()
            with pytest.raises(HTTPClientError) as info:
                jp_asyncio_loop.run_until_complete(jp_ws_fetch(*path.split("/"), headers=logged_out))
            assert info.value.code == 403, path
            checked += 1
            continue
        # a desktop id nobody has: a request that gets through touches nothing and answers 404; writes carry a
        # body no handler accepts (400)
        path = concrete(pattern, "nope")
        for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"):
            if getattr(handler, method.lower()) is getattr(web.RequestHandler, method.lower()):
                continue  # not served: tornado answers 405 before anything else
            body = "{not json" if method in ("POST", "PUT", "PATCH") else None
            status, response = call(path, method, body, headers=logged_in, raw=True)
            assert status not in (401, 403) and not _to_login(status, response), (
                f"{method} {path} refused a logged-in browser ({status}): the refusal below would prove nothing"
            )
            status, response = call(path, method, body, headers=logged_out, raw=True)
            # API routes refuse; pages send the browser to the login page
            assert status in (401, 403) or _to_login(status, response), f"{method} {path} answered {status} logged out"
            assert b"xsrf" not in (response.body or b"").lower(), f"{method} {path}: refused by the XSRF check, not auth"
            checked += 1
    assert checked >= 25


def test_websocket_refuses_a_foreign_origin(jp_asyncio_loop, jp_ws_fetch, jp_http_port, desktop_id, browser_login):
    """A page on another site that makes a logged-in browser open the desktop's WebSocket (the browser sends
    the login cookie along) is refused; the same request from the server's own origin gets RFB."""
    path = f"desktop/api/desktops/{desktop_id}/vnc".split("/")
    logged_in = browser_login["logged_in"]
    for origin in ("http://evil.example", f"http://localhost:{jp_http_port}.evil.example", "null"):
        with pytest.raises(HTTPClientError) as info:
            jp_asyncio_loop.run_until_complete(jp_ws_fetch(*path, headers={**logged_in, "Origin": origin}))
        assert info.value.code == 403, origin
    own = {**logged_in, "Origin": f"http://localhost:{jp_http_port}"}
    ws = jp_asyncio_loop.run_until_complete(jp_ws_fetch(*path, headers=own))
    assert jp_asyncio_loop.run_until_complete(ws.read_message()) == b"RFB 003.008\n"
    ws.close()


def test_rest_round_trip(call, desktop_id):
    api = f"desktop/api/desktops/{desktop_id}"
    status, listing = call("desktop/api/desktops")
    assert status == 200 and [d["id"] for d in listing] == [desktop_id]
    status, info = call(api)
    assert info["status"] == "running" and (info["width"], info["height"]) == (800, 600)
    assert call(api, **{"1796140886622": ""})[0] == 200  # JupyterLab's ServerConnection adds such a timestamp

    for fmt, mime in (("png", "image/png"), ("jpeg", "image/jpeg"), ("webp", "image/webp")):
        status, response = call(f"{api}/screenshot", raw=True, format=fmt)
        assert status == 200 and response.headers["Content-Type"] == mime
        assert Image.open(__import__("io").BytesIO(response.body)).size == (800, 600)
    status, response = call(f"{api}/screenshot", raw=True, format="raw", region="10,20,30,40", scale="0.5")
    assert status == 200 and (response.headers["X-Width"], response.headers["X-Height"]) == ("15", "20")
    assert len(response.body) == 15 * 20 * 3

    assert call(f"{api}/actions", "POST", {"actions": [{"action": "move", "x": 7, "y": 9}]})[0] == 204
    assert call(f"{api}/pointer") == (200, {"x": 7, "y": 9})
    assert call(f"{api}/exec", "POST", {"command": "echo $DISPLAY; echo err >&2; exit 4"})[1]["returncode"] == 4
    assert call(f"{api}/exec", "POST", {"command": ["printf", "%s", "x y"]})[1]["stdout"] == "x y"

    status, proc = call(f"{api}/processes", "POST", {"command": ["xterm", "-T", "rest-term"]})
    assert status == 201 and proc["returncode"] is None
    windows = eventually(lambda: [w for w in call(f"{api}/windows")[1] if w["title"] == "rest-term"], what="window")
    assert windows[0]["pid"] == proc["pid"]
    assert call(f"{api}/windows/{windows[0]['id']}/activate", "POST")[0] == 204
    assert call(f"{api}/processes/{proc['pid']}", "DELETE")[0] == 200
    status, done = call(f"{api}/processes/{proc['pid']}/wait", "POST", timeout="10")
    assert status == 200 and done["returncode"] is not None

    assert call(f"{api}/clipboard", "PUT", {"text": "über"})[0] == 204
    assert call(f"{api}/clipboard") == (200, {"text": "über"})
    assert call(f"{api}/size", "PUT", {"width": 640, "height": 480}) == (200, {"width": 640, "height": 480})
    assert call(f"{api}/size") == (200, {"width": 640, "height": 480})
    assert call(f"{api}/stable", "POST", {"quiet": 0.2, "timeout": 10}) == (200, {"stable": True})
    status, spec = call("desktop/api/openapi.yaml")
    assert status == 200 and "openapi: 3.0.3" in spec and "/desktop/api/desktops/{id}/vnc" in spec
    status, page = call(f"desktop/{desktop_id}/")
    assert status == 200 and '"wsUrl": "desktop/api/desktops/' in page and "/a%40b/desktop/static/viewer.js" in page
    assert call(api, "DELETE")[0] == 204
    assert call(api)[0] == 404


@pytest.mark.parametrize(
    "method, path, body, status, message",
    [
        ("GET", "desktop/api/desktops/nope", None, 404, "no desktop with id 'nope'"),
        ("POST", "desktop/api/desktops", "{not json", 400, "not JSON"),
        ("POST", "desktop/api/desktops", "[1]", 400, "must be a JSON object"),
        ("POST", "desktop/api/desktops", {"width": 5}, 400, "width must be"),
        ("POST", "desktop/api/desktops", {"colour": "red"}, 400, "unknown field"),
        ("POST", "desktop/api/desktops", {"backend": "vm"}, 400, "not allowed"),
        ("POST", "desktop/api/desktops/{id}/actions", {"actions": [{"action": "click", "x": 5000, "y": 1}]}, 400, "off the 800x600 screen"),
        ("POST", "desktop/api/desktops/{id}/actions", {"actions": "click"}, 400, "must be a list"),
        ("POST", "desktop/api/desktops/{id}/actions", {"actions": [{"action": "press", "keys": "Retrun"}]}, 400, "Did you mean 'Return'"),
        ("GET", "desktop/api/desktops/{id}/screenshot?format=bmp", None, 400, "format must be one of"),
        ("GET", "desktop/api/desktops/{id}/screenshot?region=1,2", None, 400, "region must be 4 integers"),
        ("GET", "desktop/api/desktops/{id}/screenshot?region=700,0,200,10", None, 400, "not inside the 800x600 screen"),
        ("GET", "desktop/api/desktops/{id}/screenshot?scale=abc", None, 400, "scale must be a number"),
        ("POST", "desktop/api/desktops/{id}/exec", {}, 400, "missing 'command'"),
        ("POST", "desktop/api/desktops/{id}/exec", {"command": "sleep 5", "timeout": 0.5}, 504, "did not finish"),
        ("POST", "desktop/api/desktops/{id}/processes", {"command": "no-such-program"}, 400, "no program named"),
        ("GET", "desktop/api/desktops/{id}/processes/12345", None, 400, "no process 12345"),
        ("PUT", "desktop/api/desktops/{id}/size", {"width": 1}, 400, "width must be"),
        ("PUT", "desktop/api/desktops/{id}/clipboard", {"text": 5}, 400, "must be a string"),
        ("POST", "desktop/api/desktops/{id}/stable", {"quiet": -1}, 400, "quiet must be"),
        ("POST", "desktop/api/desktops/{id}/windows/99999/close", None, 400, "no window 0x1869f"),
        ("GET", "desktop/nope/", None, 404, ""),
        # found by trying the product (hardening issue): each answered 500 "Unhandled error" before
        ("POST", "desktop/api/desktops", {"env": "abc"}, 400, "env must map variable names to strings"),
        ("POST", "desktop/api/desktops", {"env": ["ab"]}, 400, "env must map variable names to strings"),
        ("POST", "desktop/api/desktops", {"env": {"A": "x\u0000y"}}, 400, "env: A must be a string without NUL"),
        ("POST", "desktop/api/desktops", {"opengl": "false"}, 400, "opengl must be true or false"),
        ("POST", "desktop/api/desktops", {"width": True}, 400, "width must be an integer"),
        ("POST", "desktop/api/desktops", {"profile": "openbox\u0000"}, 400, "NUL"),
        ("GET", "desktop/api/desktops/{id}/screenshot?format=jpeg&quality=nan", None, 400, "quality must be an integer in 1..100"),
        ("GET", "desktop/api/desktops/{id}/screenshot?scale=nan", None, 400, "scale must be a number in 0..4"),
        ("GET", "desktop/api/desktops/{id}/screenshot?scale=20000x10", None, 413, "each side must be 1..8192"),
        ("GET", "desktop/api/desktops/{id}/screenshot?region=--5,0,1,1", None, 400, "region must be 4 integers"),
        ("POST", "desktop/api/desktops/{id}/actions", {"actions": [{"action": "press", "keys": "ctrl+0x100000000"}]}, 400, "out of range"),
        ("POST", "desktop/api/desktops/{id}/actions", {"actions": [{"action": "move", "x": float("inf"), "y": 1}]}, 400, "not JSON"),
        ("DELETE", "desktop/api/desktops/{id}/processes/1?signal=nan", None, 400, "signal must be an integer in 1..64"),
        ("POST", "desktop/api/desktops/{id}/processes/1/wait?timeout=inf", None, 400, "timeout must be a number in 0..3600"),
        ("POST", "desktop/api/desktops/{id}/exec", {"command": "true", "env": {"A=B": "1"}}, 400, "is not a variable name"),
        ("POST", "desktop/api/desktops/{id}/exec", {"command": "true", "cwd": 5}, 400, "cwd must be a directory path"),
        ("POST", "desktop/api/desktops/{id}/exec", {"command": "true", "timeout": True}, 400, "timeout must be a number"),
        ("POST", "desktop/api/desktops/{id}/exec", {"command": "true", "input": 5}, 400, "input must be text or bytes"),
        ("POST", "desktop/api/desktops/{id}/exec", {"command": ["a\u0000b"]}, 400, "NUL"),
        ("POST", "desktop/api/desktops/{id}/processes", {"command": "xterm 'unbalanced"}, 400, "cannot split the command"),
        ("POST", "desktop/api/desktops/{id}/stable", {"quiet": float("nan")}, 400, "not JSON"),
        ("POST", "desktop/api/desktops/{id}/stable", {"quiet": True}, 400, "quiet must be a number of seconds"),
        ("GET", "desktop/api/desktops/{id}/screenshot?colour=1", None, 400, "unknown query parameter(s) 'colour'; it takes format"),
        ("GET", "desktop/api/desktops/{id}?123=4", None, 400, "unknown query parameter(s) '123'; it takes none"),
        # limits: each names the limit (413), and nothing is sent
        ("POST", "desktop/api/desktops/{id}/actions", {"actions": [{"action": "wait", "seconds": 200}] * 10}, 400, "seconds=200 is outside 0..60"),
        ("POST", "desktop/api/desktops/{id}/actions", {"actions": [{"action": "wait", "seconds": 50}] * 2}, 413, "the limit is 60 s per batch"),
        ("POST", "desktop/api/desktops/{id}/actions", {"actions": [{"action": "type", "text": "x" * 100_001}]}, 413, "more than 100000 characters"),
        ("POST", "desktop/api/desktops/{id}/actions", {"actions": [{"action": "move", "x": 1, "y": 1}] * 1001}, 413, "the limit is 1000 actions"),
        ("POST", "desktop/api/desktops/{id}/exec", {"command": "cat", "input": "x" * (1 << 20 | 1)}, 413, "the limit is 1048576 bytes"),
        ("PUT", "desktop/api/desktops/{id}/clipboard", {"text": "x" * (1 << 20 | 1)}, 413, "the limit is 1048576"),
        ("POST", "desktop/api/desktops/{id}/actions", '{"actions": [], "pad": "' + "x" * (4 << 20) + '"}', 413, "the limit is 4194304 bytes"),
    ],
)  # fmt: skip
def test_bad_requests_get_4xx_with_a_message(call, desktop_id, method, path, body, status, message):
    path = path.replace("{id}", desktop_id)
    path, _, query = path.partition("?")
    params = dict(p.split("=") for p in query.split("&")) if query else {}
    got, reply = call(path, method, body, **params)
    assert got == status, reply
    if message:
        assert message in reply["message"], reply


def test_a_queue_of_action_batches_is_bounded(call, jp_asyncio_loop, jp_fetch, jp_serverapp, desktop_id, monkeypatch):
    """A batch waits at most MAX_QUEUE_WAIT for the ones before it, then gets 429 saying the desktop is busy
    (before: a batch of long waits held every later request, from anyone, for as long as it liked)."""
    monkeypatch.setattr("jupyter_desktop.screen.MAX_QUEUE_WAIT", 0.5)
    path = f"desktop/api/desktops/{desktop_id}/actions".split("/")
    body = json.dumps({"actions": [{"action": "wait", "seconds": 3}, {"action": "move", "x": 3, "y": 4}]})

    async def main():
        first = asyncio.ensure_future(jp_fetch(*path, method="POST", body=body))
        session = jp_serverapp.web_app.settings["jupyter_desktop"].manager.get(desktop_id)
        while not session._input_lock.locked():  # the first batch holds the desktop's input
            await asyncio.sleep(0.01)
        with pytest.raises(HTTPClientError) as info:
            await jp_fetch(*path, method="POST", body=json.dumps({"actions": [{"action": "move", "x": 1, "y": 1}]}))
        assert not first.done()
        return info.value, await first

    refused, first = jp_asyncio_loop.run_until_complete(main())
    assert refused.code == 429 and "still busy with earlier batches" in json.loads(refused.response.body)["message"]
    assert first.code == 204
    assert call(f"desktop/api/desktops/{desktop_id}/pointer") == (200, {"x": 3, "y": 4})


def test_limit_on_desktops(call, desktop_id):
    ids = [call("desktop/api/desktops", "POST", {"profile": "none"})[1]["id"] for _ in range(2)]
    status, reply = call("desktop/api/desktops", "POST", {"profile": "none"})
    assert status == 429 and "allows 3 desktop(s)" in reply["message"]
    for desktop in ids:
        call(f"desktop/api/desktops/{desktop}", "DELETE")


def rfb_handshake(ws, jp_asyncio_loop, width: int, height: int) -> bytes:
    return jp_asyncio_loop.run_until_complete(rfb_first_frame(ws, width, height))


async def rfb_first_frame(ws, width: int, height: int) -> bytes:
    """A browser's side of RFB through the proxy: version, security None, init, one full frame."""

    buffer = bytearray()

    async def read(n: int) -> bytes:
        while len(buffer) < n:
            message = await ws.read_message()
            assert message is not None, f"the proxy closed the WebSocket: {ws.close_code} {ws.close_reason}"
            buffer.extend(message)
        out = bytes(buffer[:n])
        del buffer[:n]
        return out

    assert await read(12) == b"RFB 003.008\n"
    await ws.write_message(b"RFB 003.008\n", binary=True)
    count = (await read(1))[0]
    assert count, "the VNC server refused the connection (security type list empty)"
    assert 1 in await read(count)
    await ws.write_message(b"\x01", binary=True)
    assert await read(4) == b"\0\0\0\0"
    await ws.write_message(b"\x01", binary=True)
    w, h = struct.unpack(">HH", await read(4))
    assert (w, h) == (width, height)
    await read(16)
    (name_length,) = struct.unpack(">I", await read(4))
    await read(name_length)
    await ws.write_message(b"\x00\x00\x00\x00" + PIXEL_FORMAT, binary=True)
    await ws.write_message(struct.pack(">BxHi", 2, 1, 0), binary=True)  # raw only
    await ws.write_message(struct.pack(">BBHHHH", 3, 0, 0, 0, w, h), binary=True)
    frame = bytearray(w * h * 4)
    covered = 0
    while covered < w * h:
        kind = (await read(1))[0]
        assert kind == 0, f"unexpected message {kind}"
        (rects,) = struct.unpack(">xH", await read(3))
        for _ in range(rects):
            x, y, rw, rh, enc = struct.unpack(">HHHHi", await read(12))
            assert enc == 0
            data = await read(rw * rh * 4)
            for row in range(rh):
                start = ((y + row) * w + x) * 4
                frame[start : start + rw * 4] = data[row * rw * 4 : (row + 1) * rw * 4]
            covered += rw * rh
    return bytes(frame)


def test_websocket_proxy_two_viewers_and_close_on_stop(call, jp_asyncio_loop, jp_ws_fetch, desktop_id):
    api = f"desktop/api/desktops/{desktop_id}"
    call(f"{api}/exec", "POST", {"command": "xsetroot -solid '#ff8000'"})
    first = jp_asyncio_loop.run_until_complete(jp_ws_fetch(*f"{api}/vnc".split("/"), subprotocols=["binary"]))
    second = jp_asyncio_loop.run_until_complete(jp_ws_fetch(*f"{api}/vnc".split("/")))
    assert first.selected_subprotocol == "binary"
    for ws in (first, second):
        frame = rfb_handshake(ws, jp_asyncio_loop, 800, 600)
        assert frame[:3] == b"\xff\x80\x00"  # the orange root window, pixel (0, 0), through the proxy
    assert call(api, "DELETE")[0] == 204
    for ws in (first, second):
        while jp_asyncio_loop.run_until_complete(ws.read_message()) is not None:
            pass  # drains, then the proxy closes it
        assert ws.close_code == 1000 and "stopped" in (ws.close_reason or "")


def test_twenty_viewers_connecting_at_once_all_get_frames(call, jp_asyncio_loop, jp_ws_fetch, desktop_id):
    """A classroom reloading the page: every viewer's upgrade, handshake and first frame succeed. (Xvnc's
    listen backlog of 5 and its blacklist of unauthenticated connections dropped half of ten.)"""
    api = f"desktop/api/desktops/{desktop_id}"
    call(f"{api}/exec", "POST", {"command": "xsetroot -solid '#0080ff'"})

    async def viewer() -> bytes:
        ws = await jp_ws_fetch(*f"{api}/vnc".split("/"), subprotocols=["binary"])
        try:
            return await rfb_first_frame(ws, 800, 600)
        finally:
            ws.close()

    async def all_at_once() -> list:
        return await asyncio.gather(*(viewer() for _ in range(20)), return_exceptions=True)

    frames = jp_asyncio_loop.run_until_complete(asyncio.wait_for(all_at_once(), 120))
    failed = [repr(f) for f in frames if not isinstance(f, bytes)]
    assert not failed, f"{len(failed)} of 20 viewers failed: {failed[:3]}"
    assert all(f[:3] == b"\x00\x80\xff" for f in frames)


def test_websocket_to_unknown_desktop(jp_asyncio_loop, jp_ws_fetch):
    with pytest.raises(HTTPClientError) as info:
        jp_asyncio_loop.run_until_complete(jp_ws_fetch("desktop", "api", "desktops", "nope", "vnc"))
    assert info.value.code == 404


def test_only_use_counts_as_activity(call, jp_asyncio_loop, jp_ws_fetch, jp_serverapp, desktop_id):
    """A desktop (and the server, for JupyterHub) is active while a person or an agent uses it: input through a
    viewer, an agent's calls, a visible viewer's heartbeat. Status polls and a viewer that is merely connected
    (a forgotten tab) are not use: the idle timeout stops that desktop, and the hub sees no activity."""
    from datetime import datetime, timezone

    ext = jp_serverapp.web_app.settings["jupyter_desktop"]
    settings = jp_serverapp.web_app.settings
    ext.idle_timeout = 60
    run = jp_asyncio_loop.run_until_complete
    typed, forgotten = desktop_id, call("desktop/api/desktops", "POST", {"profile": "none"})[1]["id"]
    agent = call("desktop/api/desktops", "POST", {"profile": "none"})[1]["id"]
    viewers = {}
    for desktop in (typed, forgotten):  # both viewers connected, past the handshake, a first frame in
        viewers[desktop] = run(jp_ws_fetch(*f"desktop/api/desktops/{desktop}/vnc".split("/")))
        run(rfb_first_frame(viewers[desktop], 800 if desktop == typed else 1280, 600 if desktop == typed else 800))
    long_ago = datetime(2020, 1, 1, tzinfo=timezone.utc)
    for session in ext.manager.list():
        session.last_activity -= 3600  # all idle for an hour
    settings["desktop_last_activity"] = settings["api_last_activity"] = long_ago

    # a forgotten list page and viewer: polls, and the viewer's own update requests
    for path in ("desktop/api/desktops", f"desktop/api/desktops/{forgotten}", "desktop/api/openapi.yaml"):
        assert call(path)[0] == 200
    run(viewers[forgotten].write_message(struct.pack(">BBHHHH", 3, 0, 0, 0, 1, 1), binary=True))
    run(viewers[forgotten].read_message())  # the server answered it: the proxy passed the request on
    assert settings["desktop_last_activity"] == settings["api_last_activity"] == long_ago

    # a person's pointer through the other viewer, an agent's action
    run(viewers[typed].write_message(struct.pack(">BBHH", 5, 0, 40, 30), binary=True))
    assert call(f"desktop/api/desktops/{agent}/actions", "POST", {"actions": [{"action": "move", "x": 5, "y": 5}]})[0] == 204
    eventually(  # the server's loop runs while the check waits
        lambda: run(asyncio.sleep(0.05)) or time.time() - ext.manager.get(typed).last_activity < 60,
        what="the viewer's input noted",
    )
    assert settings["desktop_last_activity"] > long_ago  # what jupyterhub-singleuser reports to the hub

    run(ext._cull_idle())
    assert call(f"desktop/api/desktops/{forgotten}")[0] == 404 and not marked(forgotten)
    for desktop in (typed, agent):
        assert call(f"desktop/api/desktops/{desktop}")[1]["status"] == "running"

    # a visible viewer's heartbeat keeps a desktop it only watches
    ext.manager.get(agent).last_activity -= 3600
    assert call(f"desktop/api/desktops/{agent}/activity", "POST")[0] == 204
    run(ext._cull_idle())
    assert call(f"desktop/api/desktops/{agent}")[1]["status"] == "running"
    for ws in viewers.values():
        ws.close()


def test_server_config_restricts_profiles_and_backends(call, jp_serverapp):
    ext = jp_serverapp.web_app.settings["jupyter_desktop"]
    ext.allowed_profiles = ["none"]
    status, reply = call("desktop/api/desktops", "POST", {"profile": "xfce"})
    assert status == 400 and "profile 'xfce' is not allowed here; allowed: none" in reply["message"]
    ext.allowed_backends = ["local"]
    status, reply = call("desktop/api/desktops", "POST", {"profile": "none", "backend": "docker"})
    assert status == 400 and "backend 'docker' is not allowed" in reply["message"]
