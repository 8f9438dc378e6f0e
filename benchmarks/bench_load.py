"""Load test: many viewers and a stream of REST actions on one desktop, through a real `jupyter server`.

Run: .venv/bin/python benchmarks/bench_load.py [--viewers 20] [--rate 100] [--seconds 60]

A classroom reloading a page, or a notebook re-rendering its views after a kernel restart: ``--viewers``
RFB WebSocket viewers open *at the same moment* on one desktop, each asking for updates as noVNC does
(ZRLE + CopyRect, a new incremental request after each update), while a client sends ``--rate`` REST action
batches per second (a pointer move each) for ``--seconds``, and an xterm scrolls text the whole time.

Prints: viewers that got their first frame (and the time that took), errors, action latency p50/p95/max,
frames per second and bytes per second per viewer, the server's memory (RSS) before and after.
Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
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

from jupyter_desktop.rfb.client import PIXEL_FORMAT  # noqa: E402
from tests.harness.server import TOKEN, JupyterServer  # noqa: E402

AUTH = {"Authorization": f"token {TOKEN}"}
ENC_RAW, ENC_COPYRECT, ENC_ZRLE, PSEUDO_DESKTOP_SIZE, PSEUDO_LAST_RECT = 0, 1, 16, -223, -224


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


class Viewer:
    """An RFB client over the server's WebSocket that keeps asking for updates, and counts them."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.buf = bytearray()
        self.frames = 0
        self.bytes = 0
        self.first_frame: float | None = None
        self.error: str | None = None
        self.ws = None

    async def _read(self, n: int) -> bytes:
        while len(self.buf) < n:
            message = await self.ws.read_message()
            if message is None:
                raise ConnectionError(f"closed: {self.ws.close_code} {self.ws.close_reason}")
            self.bytes += len(message)
            self.buf += message
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    async def run(self, t0: float, stop: asyncio.Event) -> None:
        try:
            self.ws = await websocket_connect(HTTPRequest(self.url, headers=AUTH), subprotocols=["binary"])
            await self._read(12)
            self.ws.write_message(b"RFB 003.008\n", binary=True)
            count = (await self._read(1))[0]
            if count == 0:
                raise ConnectionError("the VNC server refused the connection")
            await self._read(count)
            self.ws.write_message(b"\x01", binary=True)
            await self._read(4)
            self.ws.write_message(b"\x01", binary=True)
            w, h = struct.unpack(">HH", await self._read(4))
            await self._read(16)
            (name,) = struct.unpack(">I", await self._read(4))
            await self._read(name)
            encodings = [ENC_ZRLE, ENC_COPYRECT, ENC_RAW, PSEUDO_DESKTOP_SIZE, PSEUDO_LAST_RECT]
            self.ws.write_message(
                b"\x00\x00\x00\x00" + PIXEL_FORMAT + struct.pack(f">BxH{len(encodings)}i", 2, len(encodings), *encodings),
                binary=True,
            )
            self.ws.write_message(struct.pack(">BBHHHH", 3, 0, 0, 0, w, h), binary=True)
            while not stop.is_set():
                kind = (await self._read(1))[0]
                if kind != 0:  # bell, clipboard: not asked for, not expected here
                    raise ConnectionError(f"unexpected message type {kind}")
                (rects,) = struct.unpack(">xH", await self._read(3))
                for _ in range(rects):
                    _, _, rw, rh, enc = struct.unpack(">HHHHi", await self._read(12))
                    if enc == ENC_ZRLE:
                        (length,) = struct.unpack(">I", await self._read(4))
                        await self._read(length)
                    elif enc == ENC_COPYRECT:
                        await self._read(4)
                    elif enc == ENC_RAW:
                        await self._read(rw * rh * 4)
                    elif enc == PSEUDO_LAST_RECT:
                        break
                    elif enc == PSEUDO_DESKTOP_SIZE:
                        w, h = rw, rh
                if self.first_frame is None:
                    self.first_frame = time.monotonic() - t0
                self.frames += 1
                self.ws.write_message(struct.pack(">BBHHHH", 3, 1, 0, 0, w, h), binary=True)
        except Exception as exc:  # noqa: BLE001 - a benchmark reports, it does not stop
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            if self.ws is not None:
                self.ws.close()


class Connection:
    """One keep-alive HTTP/1.1 connection, requests written by hand: the load generator shares this 2-core
    machine with the server, and httpx cost it ~7 ms of CPU per request (69% of a core at 100/s)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        if self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        head = (f"POST /{path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nAuthorization: {AUTH['Authorization']}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")  # fmt: skip
        self.writer.write(head.encode() + body)
        assert self.reader is not None
        headers = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), 30)
        status = int(headers.split(b" ", 2)[1])
        length = 0
        for line in headers.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        return status, await self.reader.readexactly(length) if length else b""


def action_process(url: str, path: str, rate: float, seconds: float, results: multiprocessing.Queue) -> None:
    """The REST client, in a process of its own: the viewers' work must not delay its schedule."""

    async def run() -> None:
        host, port = url.split("//", 1)[1].rstrip("/").split(":")
        pool: asyncio.Queue[Connection] = asyncio.Queue()
        for _ in range(32):
            pool.put_nowait(Connection(host, int(port)))
        latencies: list[float] = []
        errors: list[str] = []
        sent = await actions(pool, path, rate, seconds, latencies, errors)
        results.put((sent, latencies, errors))

    asyncio.run(run())


async def actions(pool: asyncio.Queue, path: str, rate: float, seconds: float, latencies: list, errors: list) -> int:
    interval = 1 / rate
    start = time.monotonic()
    tasks = []

    async def one(i: int) -> None:
        t0 = time.monotonic()
        connection = await pool.get()
        try:
            body = json.dumps({"actions": [{"action": "move", "x": 100 + i % 200, "y": 100}]}).encode()
            status, reply = await connection.post(path, body)
            if status != 204:
                errors.append(f"{status} {reply[:100]!r}")
            else:
                latencies.append(time.monotonic() - t0)
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
            if connection.writer is not None:
                connection.writer.close()
        finally:
            pool.put_nowait(connection)

    i = 0
    while time.monotonic() - start < seconds:
        tasks.append(asyncio.ensure_future(one(i)))
        i += 1
        await asyncio.sleep(max(0.0, start + i * interval - time.monotonic()))
    await asyncio.gather(*tasks)
    return i


async def main_async(url: str, desktop: str, args: argparse.Namespace, server_pid: int) -> None:
    ws_url = url.replace("http", "ws", 1) + f"desktop/api/desktops/{desktop}/vnc"
    stop = asyncio.Event()
    t0 = time.monotonic()
    viewers = [Viewer(ws_url) for _ in range(args.viewers)]
    running = [asyncio.ensure_future(v.run(t0, stop)) for v in viewers]  # all at the same moment
    while time.monotonic() - t0 < 30 and not all(v.first_frame is not None or v.error for v in viewers):
        await asyncio.sleep(0.05)
    connected = [v for v in viewers if v.first_frame is not None]
    print(f"viewers opened at once: {len(connected)} of {args.viewers} got their first frame; "
          f"first frames within {max((v.first_frame for v in connected), default=float('nan')):.2f} s")  # fmt: skip
    counts = {v: (v.frames, v.bytes) for v in viewers}
    t_load = time.monotonic()
    results: multiprocessing.Queue = multiprocessing.Queue()
    sender = multiprocessing.Process(
        target=action_process, args=(url, f"desktop/api/desktops/{desktop}/actions", args.rate, args.seconds, results)
    )
    sender.start()
    while sender.is_alive():
        await asyncio.sleep(0.1)
    sent, latencies, errors = results.get(timeout=10)
    elapsed = time.monotonic() - t_load
    stop.set()
    fps = [(v.frames - counts[v][0]) / elapsed for v in viewers if not v.error]
    bps = [(v.bytes - counts[v][1]) / elapsed for v in viewers if not v.error]
    for task in running:
        task.cancel()
    await asyncio.gather(*running, return_exceptions=True)
    viewer_errors = [v.error for v in viewers if v.error and "CancelledError" not in v.error]
    print(f"load: {sent} action batches in {elapsed:.1f} s ({sent / elapsed:.0f}/s asked {args.rate:g}/s), "
          f"{args.viewers} viewers, an xterm scrolling")  # fmt: skip
    print(f"  action errors: {len(errors)}{' e.g. ' + errors[0] if errors else ''}")
    print(f"  viewer errors: {len(viewer_errors)}{' e.g. ' + viewer_errors[0] if viewer_errors else ''}")
    if latencies:
        print(f"  action latency: p50 {statistics.median(latencies) * 1000:.1f} ms   p95 {pct(latencies, 0.95) * 1000:.1f} ms"
              f"   max {max(latencies) * 1000:.1f} ms")  # fmt: skip
    if fps:
        print(f"  viewer updates/s: median {statistics.median(fps):.1f}   min {min(fps):.1f}   max {max(fps):.1f};"
              f"   KiB/s per viewer: median {statistics.median(bps) / 1024:.0f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--viewers", type=int, default=20)
    parser.add_argument("--rate", type=float, default=100.0, help="REST action batches per second")
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()

    server = JupyterServer(Path(tempfile.mkdtemp(prefix="bench-load-")))
    url = server.url
    try:
        api = url + "desktop/api/desktops"
        desktop = httpx.post(api, json={"width": 1280, "height": 800}, headers=AUTH, timeout=120).json()["id"]
        scroll = "while :; do ls -l /usr/lib; sleep 0.02; done"
        httpx.post(f"{api}/{desktop}/processes", headers=AUTH, timeout=60,
                   json={"command": ["xterm", "-geometry", "120x40+0+0", "-e", "sh", "-c", scroll]})  # fmt: skip
        time.sleep(1.0)  # the xterm is up and scrolling before the viewers come
        before = rss_mib(server.process.pid)
        asyncio.run(main_async(url, desktop, args, server.process.pid))
        after = rss_mib(server.process.pid)
        print(f"  jupyter server RSS: {before:.0f} MiB before, {after:.0f} MiB after")
        httpx.delete(f"{api}/{desktop}", headers=AUTH, timeout=60)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
