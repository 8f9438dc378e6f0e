"""App port figures, run on demand (prints; asserts only that the answers are right): what the Jupyter server's port
proxy (server/ports.py, on jupyter-server-proxy) costs over reaching the app directly, for the two things a tab does.

- HTTP: GET of a small page, and of a 1 MiB one, from a tornado app inside a local desktop; keep-alive client.
- WebSocket: a message's round trip to an echo handler, the connection open (what Chromium DevTools does for each
  protocol call).
- DevTools: ``Runtime.evaluate("1+1")`` round trips to Chromium inside the desktop, directly and through the proxy.

HTTP rounds interleaved (direct, then through Jupyter); the WebSocket rounds one block after the other. Medians
and p95.

    .venv/bin/python benchmarks/bench_ports.py [--rounds 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import httpx
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jupyter_desktop import Desktop  # noqa: E402
from tests.harness.server import TOKEN, JupyterServer, free_port  # noqa: E402
from tests.harness.waiting import eventually  # noqa: E402

APP = textwrap.dedent("""
    import asyncio, sys
    from tornado import web, websocket
    BIG = b"x" * (1 << 20)
    class Echo(websocket.WebSocketHandler):
        def on_message(self, message):
            self.write_message(message)
    class Small(web.RequestHandler):
        def get(self):
            self.write("ok")
    class Big(web.RequestHandler):
        def get(self):
            self.write(BIG)
    async def main():
        web.Application([(r"/ws", Echo), (r"/big", Big), (r"/", Small)]).listen(int(sys.argv[1]), address="127.0.0.1")
        await asyncio.Event().wait()
    asyncio.run(main())
""")


def stats(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    return f"{statistics.median(ms):7.2f} ms (p95 {p95:7.2f})"


async def ws_round_trips(url: str, headers: dict[str, str], rounds: int, message: str) -> list[float]:
    connection = await websocket_connect(HTTPRequest(url, headers=headers, connect_timeout=30, request_timeout=30))
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        connection.write_message(message)
        answer = await asyncio.wait_for(connection.read_message(), 30)
        times.append(time.perf_counter() - t0)
        assert answer is not None
    connection.close()
    return times


async def cdp_round_trips(url: str, headers: dict[str, str], rounds: int) -> list[float]:
    connection = await websocket_connect(HTTPRequest(url, headers=headers, connect_timeout=30, request_timeout=30))
    times = []
    for i in range(rounds):
        t0 = time.perf_counter()
        connection.write_message(json.dumps({"id": i, "method": "Runtime.evaluate", "params": {"expression": "1+1"}}))
        answer = json.loads(await asyncio.wait_for(connection.read_message(), 30))
        times.append(time.perf_counter() - t0)
        assert answer["result"]["result"]["value"] == 2, answer
    connection.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=200)
    rounds = parser.parse_args().rounds
    with tempfile.TemporaryDirectory() as folder:
        server = JupyterServer(Path(folder))
        os.environ["JUPYTER_DESKTOP_URL"], os.environ["JUPYTER_DESKTOP_TOKEN"] = server.url, TOKEN
        try:
            with Desktop(profile="none", width=800, height=600) as d:
                port, devtools = free_port(), free_port()
                script = Path(folder) / "app.py"
                script.write_text(APP)
                d.launch([sys.executable, str(script), str(port)])
                page = Path(folder) / "page.html"
                page.write_text("<h1>bench</h1>")
                d.launch(["chromium", "--no-sandbox", "--no-first-run", "--disable-gpu",
                          f"--remote-debugging-port={devtools}", f"--user-data-dir={folder}/profile", page.as_uri()])  # fmt: skip
                direct = f"http://127.0.0.1:{port}/"
                proxied = d.expose(port)
                devtools_proxied = d.expose(devtools, "DevTools")
                auth = {"Authorization": f"token {TOKEN}"}
                with httpx.Client(timeout=30) as c:
                    eventually(lambda: c.get(proxied, headers=auth).status_code == 200, what="the app")
                    def listed() -> list[dict] | None:
                        try:
                            return [t for t in c.get(f"http://127.0.0.1:{devtools}/json/list").json() if t["type"] == "page"]
                        except httpx.HTTPError:
                            return None  # Chromium is starting

                    pages = eventually(listed, timeout=60, what="Chromium's page")
                    print(f"{rounds} rounds each; medians (p95)\n")
                    print(f"{'':<34}{'direct':<28}through Jupyter")
                    for path, label in (("", "HTTP GET, 2 bytes"), ("big", "HTTP GET, 1 MiB")):
                        a, b = [], []
                        for _ in range(rounds):
                            t0 = time.perf_counter()
                            assert c.get(direct + path).status_code == 200
                            t1 = time.perf_counter()
                            assert c.get(proxied + path, headers=auth).status_code == 200
                            a.append(t1 - t0)
                            b.append(time.perf_counter() - t1)
                        print(f"{label:<34}{stats(a):<28}{stats(b)}")
                loop = asyncio.new_event_loop()
                ws_direct = f"ws://127.0.0.1:{port}/ws"
                ws_proxied = proxied.replace("http", "ws", 1) + "ws"
                for size, label in ((16, "WebSocket echo, 16 bytes"), (64 << 10, "WebSocket echo, 64 KiB")):
                    message = "x" * size
                    a = loop.run_until_complete(ws_round_trips(ws_direct, {}, rounds, message))
                    b = loop.run_until_complete(ws_round_trips(ws_proxied, auth, rounds, message))
                    print(f"{label:<34}{stats(a):<28}{stats(b)}")
                target = pages[0]["id"]
                cdp_direct = f"ws://127.0.0.1:{devtools}/devtools/page/{target}"
                cdp_proxied = devtools_proxied.replace("http", "ws", 1) + f"devtools/page/{target}"
                a = loop.run_until_complete(cdp_round_trips(cdp_direct, {}, rounds))
                b = loop.run_until_complete(cdp_round_trips(cdp_proxied, auth, rounds))
                print(f"{'DevTools Runtime.evaluate(1+1)':<34}{stats(a):<28}{stats(b)}")
                loop.close()
        finally:
            server.shutdown()


if __name__ == "__main__":
    main()
