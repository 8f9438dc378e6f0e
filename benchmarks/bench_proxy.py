"""Proxy benchmark: full 1280x800 raw RFB frames straight from the desktop's unix socket, through our
WebSocket proxy, and through jupyter-server-proxy's raw socket proxy (how jupyter-remote-desktop-proxy
reaches its VNC server), all in one run against the same desktop; then REST screenshot latency.

Run: .venv/bin/python benchmarks/bench_proxy.py [--frames N]   (needs: pip install jupyter-server-proxy)

Each path is a separate jupyter server process; one Python client speaks RFB over each path the same
way (non-incremental full-frame requests, raw encoding), so the paths differ only in what carries the bytes.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path

import httpx
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jupyter_desktop.backends.local import registry_dir  # noqa: E402
from jupyter_desktop.rfb.client import PIXEL_FORMAT  # noqa: E402
from tests.harness.server import TOKEN, JupyterServer  # noqa: E402


class Unix:
    def __init__(self, path: str) -> None:
        self.path = path

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_unix_connection(self.path, limit=1 << 22)

    async def read(self, n: int) -> bytes:
        return await self.reader.readexactly(n)

    async def skip(self, n: int) -> None:
        while n:
            chunk = await self.reader.read(min(n, 1 << 22))
            if not chunk:
                raise ConnectionError("closed")
            n -= len(chunk)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)

    async def close(self) -> None:
        self.writer.close()


class WebSocket:
    """RFB over a WebSocket: messages are consumed in place (the pixels are skipped, not copied)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.message = memoryview(b"")

    async def open(self) -> None:
        request = HTTPRequest(self.url, headers={"Authorization": f"token {TOKEN}"})
        self.ws = await websocket_connect(request, subprotocols=["binary"], max_message_size=1 << 26)

    async def _more(self) -> None:
        message = await self.ws.read_message()
        if message is None:
            raise ConnectionError("closed")
        self.message = memoryview(message)

    async def read(self, n: int) -> bytes:
        out = b""
        while len(out) < n:
            if not self.message:
                await self._more()
            take = self.message[: n - len(out)]
            out += take
            self.message = self.message[len(take) :]
        return out

    async def skip(self, n: int) -> None:
        while n:
            if not self.message:
                await self._more()
            take = min(n, len(self.message))
            self.message = self.message[take:]
            n -= take

    async def send(self, data: bytes) -> None:
        await self.ws.write_message(data, binary=True)

    async def close(self) -> None:
        self.ws.close()


async def frames(transport, count: int) -> tuple[list[float], int]:
    """RFB handshake, then ``count`` full raw frames; returns the time of each and the bytes of one."""
    await transport.open()
    await transport.read(12)
    await transport.send(b"RFB 003.008\n")
    n = (await transport.read(1))[0]
    await transport.read(n)
    await transport.send(b"\x01")
    await transport.read(4)
    await transport.send(b"\x01")
    w, h = struct.unpack(">HH", await transport.read(4))
    await transport.read(16)
    (name,) = struct.unpack(">I", await transport.read(4))
    await transport.read(name)
    await transport.send(b"\x00\x00\x00\x00" + PIXEL_FORMAT + struct.pack(">BxHi", 2, 1, 0))
    times = []
    size = 0
    for _ in range(count + 2):
        t0 = time.perf_counter()
        await transport.send(struct.pack(">BBHHHH", 3, 0, 0, 0, w, h))
        assert (await transport.read(1))[0] == 0
        (rects,) = struct.unpack(">xH", await transport.read(3))
        size = 4
        for _ in range(rects):
            _, _, rw, rh, _ = struct.unpack(">HHHHi", await transport.read(12))
            await transport.skip(rw * rh * 4)
            size += 12 + rw * rh * 4
        times.append(time.perf_counter() - t0)
    await transport.close()
    return times[2:], size


def report(label: str, times: list[float], size: int, baseline: float | None = None) -> float:
    median = statistics.median(times)
    p95 = sorted(times)[int(len(times) * 0.95)]
    mbps = size / median / 1e6
    share = f"{100 * mbps / baseline:5.0f}% of direct" if baseline else ""
    print(f"  {label:<46} {median * 1000:7.2f} ms/frame (p95 {p95 * 1000:7.2f})  {mbps:7.0f} MB/s  {share}")
    return mbps


def main() -> None:
    # SIGTERM (a `timeout`, Ctrl-C's cousin) must still run the finally below: it stops the servers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=60)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp())
    ours = JupyterServer(root)
    url, auth = ours.url, ours.auth
    jsp = None
    try:
        info = httpx.post(url + "desktop/api/desktops", headers=auth, json={"profile": "openbox"}, timeout=120).json()
        desktop_id = info["id"]
        sock = str(registry_dir() / desktop_id / "rfb.sock")
        httpx.post(url + f"desktop/api/desktops/{desktop_id}/processes", headers=auth, timeout=60,
                   json={"command": ["xterm", "-geometry", "120x40+0+0", "-e", "ls -laR /usr/share | head -2000; sleep 600"]})  # fmt: skip
        time.sleep(1)
        config = root / "jsp_config.py"
        config.write_text(f"c.ServerProxy.servers = {{'vnc': {{'unix_socket': {sock!r}, 'raw_socket_proxy': True}}}}\n")
        jsp = JupyterServer(root, args=(f"--config={config}", "--ServerApp.jpserver_extensions=jupyter_server_proxy=True"),
                            extension=False)  # fmt: skip

        ws = url.replace("http", "ws") + f"desktop/api/desktops/{desktop_id}/vnc"
        paths = {
            "straight from the unix socket": lambda: Unix(sock),
            "jupyter_desktop WebSocket proxy": lambda: WebSocket(ws),
            "jupyter-server-proxy raw_socket_proxy": lambda: WebSocket(jsp.url.replace("http", "ws") + "vnc/"),
        }
        rounds = 5
        print(f"full-frame raw RFB, {info['width']}x{info['height']}x32bpp: {rounds} interleaved rounds of "
              f"{args.frames // rounds} frames per path")  # fmt: skip
        samples: dict[str, list[float]] = {name: [] for name in paths}
        size = 0
        for _ in range(rounds):  # interleaved, so load from elsewhere hits every path alike
            for name, make in paths.items():
                times, size = asyncio.run(frames(make(), args.frames // rounds))
                samples[name] += times
        direct = None
        for name, times in samples.items():
            mbps = report(name, times, size, direct)
            direct = direct or mbps

        print("\nscreenshot over REST (httpx, keep-alive), 1280x800")
        with httpx.Client(headers=auth, timeout=60) as client:
            for fmt in ("raw", "png", "jpeg", "webp"):
                shot = f"{url}desktop/api/desktops/{desktop_id}/screenshot?format={fmt}"
                for _ in range(3):
                    client.get(shot)
                samples, length = [], 0
                for _ in range(50):
                    t0 = time.perf_counter()
                    length = len(client.get(shot).content)
                    samples.append(time.perf_counter() - t0)
                median, p95 = statistics.median(samples), sorted(samples)[int(len(samples) * 0.95)]
                print(f"  format={fmt:<5} median {median * 1000:7.2f} ms   p95 {p95 * 1000:7.2f} ms   {length / 1024:8.0f} KiB")
    finally:
        for server in (jsp, ours):
            if server is not None:
                server.stop()


if __name__ == "__main__":
    main()
