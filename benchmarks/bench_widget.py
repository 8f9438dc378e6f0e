"""Widget benchmark: what the notebook widget receives while a window is dragged around the desktop, through
the Jupyter server's WebSocket proxy and through the comm tunnel, measured in the browser.

Run: .venv/bin/python benchmarks/bench_widget.py [--seconds N] [--size WxH]

Real parts throughout: JupyterLab (its own process) and a kernel, headless Chromium (Playwright), the widget
as built (static/widget.js). On the desktop an xterm is moved by a loop of `xdotool windowmove` (about 35
moves a second) while the kernel is idle, as when a person drags a window in the cell. Two scenes: the xterm is
still inside (a moved window is mostly CopyRect: few bytes), and the xterm scrolls random text while it moves
(every frame carries new pixels; Xvnc's 60 Hz frame clock is the ceiling). In the browser we count complete RFB
FramebufferUpdate messages noVNC handled (frames) and the bytes the widget's channel received.

Paths:
- websocket:       JupyterLab with our server extension; the browser opens {base}desktop/api/desktops/<id>/vnc.
- tunnel (server): the same desktop and view with ws_url cleared from Python: the kernel relays between the
                   comm and the server's WebSocket (how VS Code reaches a desktop a remote Jupyter server holds).
- tunnel (kernel): JupyterLab without our server extension: the desktop lives in the kernel, which relays
                   between the comm and the desktop's VNC socket (VS Code, Colab, a plain kernel).

Printed, not asserted. CPU is the kernel's and the Jupyter server's share of one core over the window.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.harness.browser import chromium  # noqa: E402
from tests.harness.lab_notebook import Started, open_notebook, show, start, start_lab  # noqa: E402

COUNT_FRAMES = """root => {
    const rfb = root.jdView.connection.rfb;
    const proto = Object.getPrototypeOf(rfb);
    if (!proto.__jdCounting) {
        const handle = proto._framebufferUpdate;  // noVNC: true once a whole FramebufferUpdate is handled
        proto._framebufferUpdate = function (...args) {
            const done = handle.apply(this, args);
            if (done) this.__jdFrames = (this.__jdFrames || 0) + 1;
            return done;
        };
        proto.__jdCounting = true;
    }
}"""

SAMPLE = """root => {
    const v = root.jdView;
    return {frames: (v.connection.rfb && v.connection.rfb.__jdFrames) || 0, bytes: v.transport.stats.bytesIn,
            messages: v.transport.stats.messagesIn, kind: v.transport.current.kind, now: performance.now()};
}"""

MOVER = (
    "W=$(xdotool search --sync --name '^mover$' | head -1); "
    "while :; do for x in $(seq 0 16 480) $(seq 480 -16 0); do "
    "xdotool windowmove $W $x $((x / 3 + 40)); sleep 0.02; done; done"
)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


CHURN = "while :; do head -c 1500 /dev/urandom | base64 -w 76; sleep 0.005; done"
SCENES = {"drag": None, "drag + scrolling text": CHURN}


def measure(
    nb, view, var: str, server_pid: int, kernel_pid: int, seconds: float, churn: str | None
) -> dict[str, float]:
    view.evaluate(COUNT_FRAMES)
    command = ["xterm", "-geometry", "80x24+0+40", "-T", "mover"] + (["-e", "sh", "-c", churn] if churn else [])
    nb.run(f"_term = {var}.launch({command!r}); {var}.wait_for_window('mover')")
    nb.run(f"_mover = {var}.launch(['sh', '-c', {MOVER!r}])")
    time.sleep(2)  # warm up: the mover finds its window, the encoder settles
    a = view.evaluate(SAMPLE)
    cpu_a = (cpu_seconds(kernel_pid), cpu_seconds(server_pid))
    time.sleep(seconds)
    b = view.evaluate(SAMPLE)
    cpu_b = (cpu_seconds(kernel_pid), cpu_seconds(server_pid))
    nb.run("_mover.kill(); _mover.wait(10); _term.kill(); _term.wait(10)")
    elapsed = (b["now"] - a["now"]) / 1000
    frames = b["frames"] - a["frames"]
    received = b["bytes"] - a["bytes"]
    return {
        "kind": b["kind"],
        "fps": frames / elapsed,
        "kib_per_frame": received / max(frames, 1) / 1024,
        "kib_per_s": received / elapsed / 1024,
        "messages_per_s": (b["messages"] - a["messages"]) / elapsed,
        "kernel_cpu": (cpu_b[0] - cpu_a[0]) / elapsed * 100,
        "server_cpu": (cpu_b[1] - cpu_a[1]) / elapsed * 100,
    }


def prepare(nb, started: Started, var: str, size: tuple[int, int], transport: str):
    desktop_id = start(nb, started, var, f"width={size[0]}, height={size[1]}")
    view = show(nb, var, desktop_id, transport)
    kernel_pid = nb.value("__import__('os').getpid()")
    return desktop_id, view, kernel_pid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="measuring window per path")
    parser.add_argument("--size", default="1280x800", help="desktop size")
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    results: list[tuple[str, str, dict[str, float]]] = []
    gen = chromium()
    browser = next(gen)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-widget-") as tmp:
            root = Path(tmp)
            # the server holds the desktop: WebSocket, then the kernel relaying the server's WebSocket
            started = Started()
            (root / "ws").mkdir()
            lab = start_lab(root / "ws")
            try:
                context, nb = open_notebook(browser, lab, "bench.ipynb")
                _, view, kernel_pid = prepare(nb, started, "d", size, "websocket")
                for scene, churn in SCENES.items():
                    results.append(
                        ("websocket", scene, measure(nb, view, "d", lab.process.pid, kernel_pid, args.seconds, churn))
                    )
                # live: the view switches to the comm tunnel (refresh() would set ws_url back: keep it off)
                nb.run("_v = d.view(); _v.refresh = lambda: None; _v.ws_url = ''")
                view.page.wait_for_function(
                    "el => el.dataset.transport === 'tunnel' && el.dataset.state === 'connected'",
                    arg=view.element_handle(),
                    timeout=60000,
                )
                for scene, churn in SCENES.items():
                    results.append(
                        (
                            "tunnel (server)",
                            scene,
                            measure(nb, view, "d", lab.process.pid, kernel_pid, args.seconds, churn),
                        )
                    )
                nb.run("d.close()")
                context.close()
            finally:
                lab.shutdown()
                started.check_gone()
            # the kernel holds the desktop: the comm tunnel to its VNC socket
            started = Started()
            (root / "tunnel").mkdir()
            lab = start_lab(root / "tunnel", extension=False)
            try:
                context, nb = open_notebook(browser, lab, "bench.ipynb")
                _, view, kernel_pid = prepare(nb, started, "e", size, "tunnel")
                for scene, churn in SCENES.items():
                    results.append(
                        (
                            "tunnel (kernel)",
                            scene,
                            measure(nb, view, "e", lab.process.pid, kernel_pid, args.seconds, churn),
                        )
                    )
                nb.run("e.close()")
                context.close()
            finally:
                lab.shutdown()
                started.check_gone()
    finally:
        for _ in gen:  # closes the browser and Playwright
            pass

    print(
        f"\nwidget while a window is dragged, {size[0]}x{size[1]}, {args.seconds:g} s per path (measured in Chromium)"
    )
    print(
        f"{'path':<17} {'scene':<22} {'fps':>6} {'KiB/frame':>10} {'KiB/s':>8} {'msgs/s':>7} {'kernel CPU':>11} {'server CPU':>11}"
    )
    for name, scene, r in results:
        print(f"{name:<17} {scene:<22} {r['fps']:6.1f} {r['kib_per_frame']:10.1f} {r['kib_per_s']:8.0f} {r['messages_per_s']:7.0f}"
              f" {r['kernel_cpu']:10.0f}% {r['server_cpu']:10.0f}%")  # fmt: skip


if __name__ == "__main__":
    main()
