"""A notebook's Desktop under a real Jupyter server: screenshots and clicks over RFB (the kernel's session on the
server's WebSocket proxy, a framebuffer mirror in the kernel) against the same over REST (what the kernel did
before: GET .../screenshot?format=raw, POST .../actions), in one run, from a real kernel the server started.

Run: .venv/bin/python benchmarks/bench_kernel.py [--rounds N] [--size 1280x800]

Prints medians and p95 in ms (and, for reference, the same in this process with no server), on an idle screen and on a busy one (an xterm printing 20 times a second: each
fresh screenshot then carries real updates); "fresh=False" reads the mirror without the round trip that makes it
current. A person in the loop (jupyter_desktop/gate.py): an input call with the gate's state the kernel keeps from
its long-poll, against asking the server before each call, against no gate.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.harness.server import JupyterServer  # noqa: E402

KERNEL_CODE = r"""
import json, os, statistics, time
import httpx
from PIL import Image
from jupyter_desktop import Desktop

ROUNDS, (W, H) = {rounds}, {size}
d = Desktop(width=W, height=H)
api = os.environ["JUPYTER_DESKTOP_URL"] + "desktop/api/desktops/" + d.id
rest = httpx.Client(headers={{"Authorization": "token " + os.environ.get("JUPYTER_DESKTOP_TOKEN", "")}}, timeout=60)

def rest_screenshot():
    r = rest.get(api + "/screenshot", params={{"format": "raw"}})
    r.raise_for_status()
    return Image.frombytes("RGB", (int(r.headers["X-Width"]), int(r.headers["X-Height"])), r.content)

def rest_click():
    rest.post(api + "/actions", json={{"actions": [{{"action": "click", "x": W - 100, "y": H - 100}}]}}).raise_for_status()

gate = d._gate
def ungated_move():  # no gate at all: what a move costs without a person in the loop
    d._gate = lambda actions: None
    try:
        d.move_mouse(W - 101, H - 101)
    finally:
        d._gate = gate
def asking_move():  # the alternative to the watched state: ask the server's gate before each call
    d._call(d._session._forwarded("control"))
    ungated_move()

def timed(fn):
    for _ in range(5):
        fn()
    out = []
    for _ in range(ROUNDS):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out

results = {{}}
for screen in ("busy screen", "idle screen"):  # busy first: the new desktop and kernel settle meanwhile
  if screen == "busy screen":  # an xterm printing the time 20 times a second: every fresh screenshot has news
    ticker = d.launch(["xterm", "-T", "ticker", "-geometry", "80x10+0+0", "-e", "sh", "-c", "while :; do date +%T.%N; sleep 0.05; done"])
    d.wait_for_window("ticker")
  else:
    ticker.kill()
    d.wait_until_stable(quiet=0.5, timeout=30)
  for _ in range(2):  # interleaved, twice: neither path gets a quieter machine
    for name, fn in [
        ("screenshot() over RFB", d.screenshot),
        ("screenshot() over REST (raw)", rest_screenshot),
        ("screenshot(fresh=False) over RFB", lambda: d.screenshot(fresh=False)),
        ("left_click() over RFB", lambda: d.left_click(W - 100, H - 100)),
        ("move_mouse(): the gate's state watched", lambda: d.move_mouse(W - 101, H - 101)),
        ("move_mouse(): asking the server's gate each call", asking_move),
        ("move_mouse(): no gate", ungated_move),
        ("click over REST", rest_click),
        ("screenshot(scale=(1024, 640)) over RFB", lambda: d.screenshot(scale=(1024, 640))),
    ]:
        results.setdefault(f"{{screen}}: {{name}}", []).extend(timed(fn))
d.close()
print("RESULTS" + json.dumps(results))
"""


def stats(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def in_process(width: int, height: int, rounds: int) -> dict[str, list[float]]:
    """For reference, right after: the same screenshot and click with the desktop in this process (no server)."""
    import os
    import time as clock

    from jupyter_desktop import Desktop

    for name in ("JUPYTER_DESKTOP_URL", "JPY_PARENT_PID", "JUPYTERHUB_SERVICE_URL"):
        os.environ.pop(name, None)
    out: dict[str, list[float]] = {}
    with Desktop(width=width, height=height) as d:
        d.wait_until_stable(quiet=0.5, timeout=30)
        for _ in range(2):
            for name, fn in [
                ("idle screen: screenshot() in process (no server)", d.screenshot),
                ("idle screen: left_click() in process (no server)", lambda: d.left_click(width - 100, height - 100)),
            ]:
                for _ in range(5):
                    fn()
                for _ in range(rounds):
                    started = clock.perf_counter()
                    fn()
                    out.setdefault(name, []).append((clock.perf_counter() - started) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--size", default="1280x800")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))

    from jupyter_client import BlockingKernelClient

    with tempfile.TemporaryDirectory() as tmp:
        server = JupyterServer(Path(tmp))
        try:
            kernel = httpx.post(server.url + "api/kernels", headers=server.auth, json={"name": "python3"}, timeout=60)
            client = BlockingKernelClient(connection_file=str(server.runtime / f"kernel-{kernel.json()['id']}.json"))
            client.load_connection_file()
            client.start_channels()
            client.wait_for_ready(timeout=60)
            out: list[str] = []
            errors: list[str] = []

            def hook(msg: dict) -> None:
                if msg["msg_type"] == "stream":
                    out.append(msg["content"]["text"])
                elif msg["msg_type"] == "error":
                    errors.append("\n".join(msg["content"]["traceback"]))

            code = KERNEL_CODE.format(rounds=args.rounds, size=(width, height))
            client.execute_interactive(code, timeout=1800, output_hook=hook)
            client.stop_channels()
            if errors:
                raise SystemExit("the kernel failed:\n" + "\n".join(errors))
            results = json.loads("".join(out).split("RESULTS", 1)[1])
        finally:
            server.stop()
    results.update(in_process(width, height, args.rounds))

    print(f"A kernel's Desktop under a real Jupyter server, {width}x{height}, {2 * args.rounds} rounds each (ms):")
    print(f"  {'':55} {'median':>8} {'p95':>8}")
    for name, samples in results.items():
        median, p95 = stats(samples)
        print(f"  {name:55} {median:8.2f} {p95:8.2f}")


if __name__ == "__main__":
    main()
