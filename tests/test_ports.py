"""App ports through Jupyter (server/ports.py): a real HTTP server and a WebSocket echo inside a desktop the server
holds, reached at {base_url}desktop/<id>/port/<port>/ with Jupyter's auth, refused without it, and only while the
desktop's owner exposes that port."""

from __future__ import annotations

import asyncio
import json
import sys
import textwrap
from collections.abc import Iterator

import httpx
import pytest
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

from jupyter_desktop import Desktop, InvalidInputError

from .conftest import run_async
from .harness.server import TOKEN, JupyterServer, free_port
from .harness.waiting import eventually

ECHO = textwrap.dedent("""
    import asyncio, sys
    from tornado import web, websocket
    class Echo(websocket.WebSocketHandler):
        def on_message(self, message):
            self.write_message("echo: " + message)
    class Page(web.RequestHandler):
        def get(self, rest):
            self.write({"path": "/" + rest, "query": self.get_query_argument("q", "")})
        def post(self, rest):
            self.write({"posted": self.request.body.decode()})
    async def main():
        web.Application([(r"/ws", Echo), (r"/(.*)", Page)]).listen(int(sys.argv[1]), address="127.0.0.1")
        await asyncio.Event().wait()
    asyncio.run(main())
""")


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[JupyterServer]:
    # reached by a host name, as a JupyterHub user's server is (jupyterhub-singleuser allows remote access)
    srv = JupyterServer(tmp_path_factory.mktemp("ports-server"), args=("--ServerApp.allow_remote_access=True",))
    yield srv
    srv.shutdown()


def test_an_exposed_port_through_jupyter(server, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("JUPYTER_DESKTOP_URL", server.url)
    monkeypatch.setenv("JUPYTER_DESKTOP_TOKEN", TOKEN)
    port = free_port()
    script = tmp_path / "echo.py"
    script.write_text(ECHO)
    with Desktop(profile="none", width=320, height=240) as d:
        app = d.launch([sys.executable, str(script), str(port)])
        eventually(lambda: _answers(f"http://127.0.0.1:{port}/up"), what="the app's server")
        path = f"desktop/{d.id}/port/{port}"
        before = server.request("GET", f"{path}/hello")
        assert before.status_code == 404 and "not exposed" in before.text  # nothing is proxied until exposed

        url = d.expose(port)
        assert url == server.url + path + "/"
        assert d.info["ports"] == [{"port": port, "name": f"port {port}", "path": path + "/"}]  # the tab bars' list
        page = server.request("GET", f"{path}/hello/world", params={"q": "42"})
        assert page.status_code == 200 and page.json() == {"path": "/hello/world", "query": "42"}, page.text
        posted = server.request("POST", f"{path}/form", content=b"a=1", headers={"X-XSRFToken": "x", "Cookie": "_xsrf=x"})
        assert posted.status_code == 200 and posted.json() == {"posted": "a=1"}, posted.text
        anonymous = httpx.get(server.url + f"{path}/hello", follow_redirects=False)
        assert anonymous.status_code in (302, 403) and "hello" not in anonymous.text  # the login, not the app

        async def echo(headers: dict[str, str], at: str = f"{path}/ws") -> str:
            ws_url = server.url.replace("http", "ws", 1) + at
            connection = await websocket_connect(HTTPRequest(ws_url, headers=headers, connect_timeout=30, request_timeout=30))
            connection.write_message("hi")
            answer = await asyncio.wait_for(connection.read_message(), 30)
            connection.close()
            return str(answer)

        assert run_async(echo({"Authorization": f"token {TOKEN}"})) == "echo: hi"
        with pytest.raises(HTTPClientError) as refused:
            run_async(echo({}))
        assert refused.value.code == 403

        d.expose(port + 1)  # nothing listens there
        silent = server.request("GET", f"desktop/{d.id}/port/{port + 1}/")
        assert silent.status_code == 502 and f"nothing answers on port {port + 1}" in silent.json()["message"]
        with pytest.raises(HTTPClientError) as unanswered:
            run_async(echo({"Authorization": f"token {TOKEN}"}, f"desktop/{d.id}/port/{port + 1}/ws"))
        assert unanswered.value.code == 502
        d.unexpose(port + 1)

        other = server.request("GET", f"desktop/{d.id}/port/{port + 1}/")
        assert other.status_code == 404  # only the exposed port
        d.unexpose(port)
        assert server.request("GET", f"{path}/hello").status_code == 404
        with pytest.raises(InvalidInputError, match="1 to 65535"):
            d.expose(70000)
        app.kill()


def test_a_desktop_of_this_process_has_no_jupyter_url(monkeypatch) -> None:
    monkeypatch.setenv("JUPYTER_DESKTOP_URL", "http://127.0.0.1:9/")
    monkeypatch.delenv("JUPYTER_DESKTOP_TOKEN", raising=False)
    with Desktop(profile="none", width=320, height=240) as d:
        with pytest.raises(InvalidInputError, match="needs the desktop under a Jupyter server"):
            d.expose(8080)


@pytest.mark.docker
def test_a_docker_desktops_port(server, monkeypatch) -> None:
    """A Docker desktop's web server (no port published) through the same URL: the server reaches the container's
    address on its network."""
    monkeypatch.setenv("JUPYTER_DESKTOP_URL", server.url)
    monkeypatch.setenv("JUPYTER_DESKTOP_TOKEN", TOKEN)
    with Desktop(backend="docker", profile="none", width=320, height=240) as d:
        d.run(["sh", "-c", "mkdir -p /tmp/site && echo 'from the container' > /tmp/site/index.html"]).check()
        d.launch(["python3", "-m", "http.server", "8000", "--directory", "/tmp/site"])
        path = d.expose(8000).removeprefix(server.url)
        page = eventually(lambda: (r := server.request("GET", path)).status_code == 200 and r, what="the page")
        assert page.text == "from the container\n"


HOST = "desktop.test"  # a host name, not an IP address: what the browser sends to a JupyterHub


def test_chromium_devtools_through_jupyter(server, monkeypatch, tmp_path) -> None:
    """Chromium's DevTools server answers only a Host that is an IP address or localhost, and takes WebSockets only
    from its own origin: through the proxy, a browser that reached Jupyter by a host name lists the pages, loads
    the DevTools front end and drives the page over the DevTools protocol; Jupyter still refuses a foreign origin."""
    monkeypatch.setenv("JUPYTER_DESKTOP_URL", server.url)
    monkeypatch.setenv("JUPYTER_DESKTOP_TOKEN", TOKEN)
    page = tmp_path / "page.html"
    page.write_text("<title>Inspected</title><h1>Hello DevTools</h1>")
    with Desktop(profile="none", width=800, height=600) as d:
        d.launch(["chromium", "--no-sandbox", "--no-first-run", "--disable-gpu", "--remote-debugging-port=9222",
                  f"--user-data-dir={tmp_path / 'profile'}", page.as_uri()])
        path = d.expose(9222, "DevTools").removeprefix(server.url)
        assert d.info["ports"] == [{"port": 9222, "name": "DevTools", "path": path}]
        host = f"{HOST}:{server.port}"
        login = server.request("GET", f"desktop/?token={TOKEN}", headers={"Host": host})  # a browser's cookie
        cookie = "; ".join(c.split(";")[0] for c in login.headers.get_list("set-cookie") if c.startswith("username-"))
        assert cookie, login.headers
        by_name = {"Host": host, "Cookie": cookie}

        def pages() -> list[dict] | None:
            answer = server.request("GET", path + "json/list", headers=by_name)
            assert answer.status_code in (200, 502), answer.text  # 502 until Chromium listens
            return answer.status_code == 200 and [t for t in answer.json() if t["title"] == "Inspected"] or None

        target = eventually(pages, what="Chromium's page in /json/list", timeout=60)[0]
        front_end = server.request("GET", path + "devtools/inspector.html", headers=by_name)
        assert front_end.status_code == 200 and "<title>DevTools</title>" in front_end.text

        ws_url = server.url.replace("http", "ws", 1) + path + f"devtools/page/{target['id']}"

        async def evaluate(origin: str) -> str:
            headers = {**by_name, "Origin": origin}
            connection = await websocket_connect(HTTPRequest(ws_url, headers=headers, connect_timeout=30, request_timeout=30))
            expression = "document.querySelector('h1').textContent"
            connection.write_message(json.dumps({"id": 1, "method": "Runtime.evaluate", "params": {"expression": expression}}))
            answer = json.loads(await asyncio.wait_for(connection.read_message(), 30))
            connection.close()
            return answer["result"]["result"]["value"]

        assert run_async(evaluate(f"http://{HOST}:{server.port}")) == "Hello DevTools"  # the page's own origin
        with pytest.raises(HTTPClientError) as refused:
            run_async(evaluate("http://elsewhere.test"))
        assert refused.value.code == 403  # Jupyter's origin check for a browser's cookie, before Chromium
        with pytest.raises(InvalidInputError, match="MAX_PORT_NAME"):
            d.expose(9223, "x" * 41)
