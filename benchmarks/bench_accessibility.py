"""Accessibility tree benchmark: our AT-SPI walk on dbus-fast (jupyter_desktop/atspi.py) against pyatspi (libatspi),
and acting on a widget through AT-SPI against the pointer and xdotool, on one local desktop, in one run.

Run: .venv/bin/python benchmarks/bench_accessibility.py [--rounds N] [--big-rounds N] [--big-all-rounds N]

The widgets: a GTK 3 window (Debian's /usr/bin/python3 with gi) holding a Gtk.FlowBox in a ScrolledWindow with
N/2 small buttons, all on the screen; each button is two nodes (the FlowBox's "list item" and the "push button").
Prints, at 1280x800, medians and p95 in ms, the rounds of the compared ways interleaved:

  - a snapshot of ~200 and ~2,000 nodes: Desktop.accessibility(app=...) in this process (the embedded session,
    bounds included; the walk alone is the snapshot's own "elapsed"), against pyatspi walking the same app
    (role, name, states and Component.getExtents for every node) in a helper run on the desktop, which times its
    own walk (process start and import are told apart: a caller that runs such a helper pays them too); with the
    CPU each process spent (this one, the app, the accessibility bus's dbus-daemon);
  - acting on a button of the big window, each to its return and to its effect (the app's "clicked" handler
    wrote a line to a log, polled every 0.2 ms):
      node.do("Click"): Desktop to the session's loop, the gate, then the session's command: the node's action
        names (GetActions), DoAction, and a describe afterwards (the node as it is now: 2 round trips), over the
        accessibility bus's dbus-daemon. GTK answers DoAction at once and clicks in an idle callback, so the
        return does not wait for the click (the describe afterwards does, the app busy);
      the DoAction call alone: one D-Bus round trip from the session's loop (AtspiClient._call);
      node.click(): two describes and a pointer click (move, press, release) over RFB;
      pyatspi doAction(0): one libatspi call in a helper already running with the button in hand (libatspi talks
        to the app peer to peer, not through the bus daemon); its whole d.run (start, import, find, act) apart;
      `xdotool mousemove X Y click 1` through Desktop.run: a process started by the session, its X connection,
        XTest events, and xdotool's default 100 ms --delay after a click (apart: with --delay 0).

Nothing is asserted.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import cast
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jupyter_desktop import Desktop, atspi  # noqa: E402
from jupyter_desktop.accessibility import AccessibilityTree  # noqa: E402
from jupyter_desktop.backends import _proc  # noqa: E402
from tests.harness.timing import stats  # noqa: E402

SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's: gi with Gtk 3, and pyatspi
SMALL, BIG = 100, 1000  # buttons: ~200 and ~2,000 nodes

# The app: argv n, name, click log. Small buttons so that 1,000 fit a 1280x800 screen (GTK says "showing" only of
# what is in the scrolled window's view); each click appends a line to the log.
APP = r"""
import sys, gi
gi.require_version("Gtk", "3.0")
from gi.repository import Gtk, GLib, Gdk
n, name, log = int(sys.argv[1]), sys.argv[2], open(sys.argv[3], "a", buffering=1)
GLib.set_prgname(name)
GLib.set_application_name(name)
css = Gtk.CssProvider()
css.load_from_data(b"button { padding: 0 2px; margin: 0; min-height: 0; min-width: 0; font-size: 7px; }"
                   b" flowboxchild { padding: 0; }")
Gtk.StyleContext.add_provider_for_screen(Gdk.Screen.get_default(), css, Gtk.STYLE_PROVIDER_PRIORITY_USER)
window = Gtk.Window(title=name)
window.set_default_size(1260, 760)
window.move(0, 0)
box = Gtk.FlowBox()
box.set_max_children_per_line(500)
box.set_selection_mode(Gtk.SelectionMode.NONE)
box.set_homogeneous(True)
box.set_valign(Gtk.Align.START)
for i in range(n):
    button = Gtk.Button(label=str(i))
    button.connect("clicked", lambda b: log.write(b.get_label() + "\n"))
    box.add(button)
scrolled = Gtk.ScrolledWindow()
scrolled.add(box)
window.add(scrolled)
window.connect("destroy", Gtk.main_quit)
window.show_all()
Gtk.main()
"""

# pyatspi's walk of one app (argv: its name): role, name, states, extents of every node, as a script would.
WALK = r"""
import json, sys, time
started = time.perf_counter()
import pyatspi
imported = time.perf_counter()

def walk(acc, out):
    role, name, states = acc.getRole(), acc.name, acc.getState().getStates()
    try:
        e = acc.queryComponent().getExtents(pyatspi.DESKTOP_COORDS)
        bounds = (e.x, e.y, e.width, e.height)
    except NotImplementedError:
        bounds = None
    out.append((role, name, states, bounds))
    for child in acc:
        if child is not None:
            walk(child, out)

t0, c0 = time.perf_counter(), time.process_time()
app = next(a for a in pyatspi.Registry.getDesktop(0) if a is not None and a.name == sys.argv[1])
nodes = []
walk(app, nodes)
print(json.dumps({"walk": time.perf_counter() - t0, "cpu": time.process_time() - c0, "nodes": len(nodes),
                  "import": imported - started}))
"""

# pyatspi's doAction(0) on a button of the app (argv: app name, button index, click log), to its return and to the
# line in the log. The button is reached by child indices (frame, scroll pane, viewport, table, list item, button).
ACT = r"""
import json, os, sys, time
import pyatspi
name, index, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
app = next(a for a in pyatspi.Registry.getDesktop(0) if a is not None and a.name == name)
button = app[0][0][0][0][index][0]
assert button.getRoleName() == "push button", button.getRoleName()
action = button.queryAction()
size = os.path.getsize(log)
t0 = time.perf_counter()
action.doAction(0)
returned = time.perf_counter() - t0
while os.path.getsize(log) == size and time.perf_counter() - t0 < 2:
    time.sleep(0.0002)
print(json.dumps({"return": returned, "effect": time.perf_counter() - t0, "name": button.name}))
"""


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def a11y_bus_pid(desktop_id: str) -> int | None:
    """The accessibility bus's dbus-daemon (started by at-spi-bus-launcher) among the desktop's processes."""
    for pid in _proc.marked_processes([desktop_id]).get(desktop_id, set()):
        try:
            if b"accessibility.conf" in Path(f"/proc/{pid}/cmdline").read_bytes():
                return pid
        except OSError:
            pass
    return None


class Cpu:
    """CPU seconds spent by this process, the app and the accessibility bus around a call."""

    def __init__(self, app: int, bus: int | None) -> None:
        self.app, self.bus = app, bus

    def sample(self) -> tuple[float, float, float]:
        return time.process_time(), cpu_seconds(self.app), cpu_seconds(self.bus) if self.bus else 0.0


def wait_for_log(log: Path, size: int, t0: float, limit: float = 2.0) -> float:
    """Seconds from t0 until the click log grew past ``size`` (the app handled the click); nan after ``limit``."""
    while log.stat().st_size == size:
        if time.perf_counter() - t0 > limit:
            return float("nan")
        time.sleep(0.0002)
    return time.perf_counter() - t0


def ms(samples: list[float]) -> str:
    good = [s for s in samples if s == s]
    if not good:
        return f"{'-':>8} {'-':>8}"
    median, p95 = stats(good)
    missed = f"  ({len(samples) - len(good)} missed)" if len(good) < len(samples) else ""
    return f"{median:8.1f} {p95:8.1f}{missed}"


def median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2] if ordered else float("nan")


def snapshot(d: Desktop, app: str, all: bool = False) -> AccessibilityTree:
    return cast(AccessibilityTree, d.accessibility(app=app, all=all, max_nodes=5000, timeout=60))


def bench_snapshots(
    d: Desktop, name: str, pid: int, bus: int | None, rounds: int, all_rounds: int, table: list[str]
) -> None:
    """``rounds`` of ours and pyatspi's, interleaved, the all=True snapshot in the first ``all_rounds`` of them."""
    cpu = Cpu(pid, bus)
    ours: list[float] = []
    walk: list[float] = []
    ours_all: list[float] = []
    ours_cpu: list[tuple[float, float, float]] = []
    py_walk: list[float] = []
    py_run: list[float] = []
    py_import: list[float] = []
    py_cpu: list[tuple[float, float, float]] = []
    nodes = {"ours": 0, "all": 0, "pyatspi": 0}
    for r in range(rounds):
        c0, t0 = cpu.sample(), time.perf_counter()
        tree = snapshot(d, name)
        t1, c1 = time.perf_counter(), cpu.sample()
        nodes["ours"] = len(tree.nodes)
        if tree.truncated:
            print(f"  !! our snapshot of {name} was truncated")

        c2, t2 = cpu.sample(), time.perf_counter()
        result = d.run([SYSTEM_PYTHON, "-c", WALK, name], timeout=60)
        t3, c3 = time.perf_counter(), cpu.sample()
        if result.returncode:
            raise RuntimeError(f"the pyatspi walk failed: {result.stderr[-2000:]}")
        helper = json.loads(result.stdout)
        nodes["pyatspi"] = helper["nodes"]

        ours.append(t1 - t0)
        walk.append(tree.elapsed)
        ours_cpu.append((c1[0] - c0[0], c1[1] - c0[1], c1[2] - c0[2]))
        py_walk.append(helper["walk"])
        py_run.append(t3 - t2)
        py_import.append(helper["import"])
        py_cpu.append((helper["cpu"], c3[1] - c2[1], c3[2] - c2[2]))  # the helper's own CPU in its walk

        if r < all_rounds:
            t4 = time.perf_counter()
            every = snapshot(d, name, all=True)
            ours_all.append(time.perf_counter() - t4)
            nodes["all"] = len(every.nodes)

    def cpu_cols(samples: list[tuple[float, float, float]]) -> str:
        return "  ".join(f"{median([s[i] for s in samples]) * 1000:6.0f}" for i in range(3))

    table.append(f"  snapshot, {nodes['ours']} nodes ({name})")
    table.append(f"    {'ours: d.accessibility(app=...)':<52} {nodes['ours']:6d} {ms(ours)}   {cpu_cols(ours_cpu)}")
    table.append(f"    {'  of which the walk (snapshot elapsed)':<52} {'':6} {ms(walk)}")
    label = f"ours: d.accessibility(app=..., all=True), {len(ours_all)} rounds"
    table.append(f"    {label:<52} {nodes['all']:6d} {ms(ours_all)}")
    label = "pyatspi walk, timed inside the helper"
    table.append(f"    {label:<52} {nodes['pyatspi']:6d} {ms(py_walk)}   {cpu_cols(py_cpu)}")
    table.append(f"    {'pyatspi helper whole: d.run(python3 -c ...)':<52} {'':6} {ms(py_run)}")
    table.append(f"    {'  of which import pyatspi (inside)':<52} {'':6} {ms(py_import)}")


def bench_acts(d: Desktop, name: str, index: int, log: Path, rounds: int, table: list[str]) -> None:
    tree = snapshot(d, name)
    (node,) = [n for n in tree.find(role="push button") if n.name == str(index)]
    x, y = node.center  # type: ignore[misc]
    client = d._call(d._session._accessible())  # type: ignore[attr-defined]  # the embedded session's AtspiClient
    bus, path = atspi.parse_ref(node.ref)
    actions = {
        "do": lambda: node.do("Click"),
        "raw": lambda: d._call(client._call(bus, path, "org.a11y.atspi.Action", "DoAction", "i", [0])),
        "click": node.click,
        "xdotool": lambda: d.run(["xdotool", "mousemove", str(x), str(y), "click", "1"]),
        "xdotool0": lambda: d.run(["xdotool", "mousemove", str(x), str(y), "click", "--delay", "0", "1"]),
    }
    back: dict[str, list[float]] = {k: [] for k in [*actions, "pyatspi", "pyatspi_run"]}
    effect: dict[str, list[float]] = {k: [] for k in [*actions, "pyatspi"]}
    for r in range(rounds + 1):
        for key, act in actions.items():
            size = log.stat().st_size
            t0 = time.perf_counter()
            act()
            returned = time.perf_counter() - t0
            done = wait_for_log(log, size, t0)
            time.sleep(0.05)  # GTK's click to settle (and no double click with the next)
            if r:
                back[key].append(returned)
                effect[key].append(done)
        t0 = time.perf_counter()
        result = d.run([SYSTEM_PYTHON, "-c", ACT, name, str(index), str(log)], timeout=30)
        whole = time.perf_counter() - t0
        if result.returncode:
            raise RuntimeError(f"the pyatspi action failed: {result.stderr[-2000:]}")
        helper = json.loads(result.stdout)
        time.sleep(0.05)
        if r:
            back["pyatspi"].append(helper["return"])
            effect["pyatspi"].append(helper["effect"])
            back["pyatspi_run"].append(whole)
    clicks = len(log.read_text().splitlines())
    table.append(f"  act on push button {index!r} of {name} at ({x}, {y}); {clicks} clicks logged")
    table.append(f"    {'':52} {'':6} {'return: median':>17} {'p95':>8}   {'effect: median':>14} {'p95':>8}")
    rows = [
        ("ours: node.do('Click')", "do"),
        ("  the DoAction call alone (AtspiClient._call)", "raw"),
        ("ours: node.click() (describe, pointer over RFB)", "click"),
        ("pyatspi doAction(0), timed inside the helper", "pyatspi"),
        ("xdotool mousemove X Y click 1 via d.run", "xdotool"),
        ("  the same with click --delay 0 (no 100 ms sleep)", "xdotool0"),
    ]
    for label, key in rows:
        table.append(f"    {label:<52} {'':6}       {ms(back[key])}         {ms(effect[key])}")
    table.append(f"    {'pyatspi helper whole: d.run (start, find, act)':<52} {'':6}       {ms(back['pyatspi_run'])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15, help="rounds of the small snapshots and of the acts")
    # a ~2,000-node round (ours and pyatspi's) takes 4.5 to 7 s on 2 cores: 12 of them keep the run under 2 minutes
    parser.add_argument("--big-rounds", type=int, default=12, help="rounds of the ~2,000-node snapshots")
    parser.add_argument("--big-all-rounds", type=int, default=3, help="of which with an all=True snapshot too")
    args = parser.parse_args()
    began = time.monotonic()

    versions = {"dbus-fast": importlib.metadata.version("dbus-fast")}
    for package in ("at-spi2-core", "python3-pyatspi", "libgtk-3-0", "xdotool"):
        out = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", package], capture_output=True, text=True)
        versions[package] = out.stdout.strip() or "?"
    print(f"Accessibility tree, 1280x800, local desktop; {os.cpu_count()} cores; python {sys.version.split()[0]}; "
          + ", ".join(f"{k} {v}" for k, v in versions.items()))  # fmt: skip

    work = Path(tempfile.mkdtemp(prefix="bench-a11y-"))
    log = work / "clicks.log"
    log.touch()
    table: list[str] = []
    d = Desktop(width=1280, height=800)
    try:
        bus = None
        apps = {}
        for n in (SMALL, BIG):
            name = f"buttons{n}b"  # no name that another contains: app= matches a part of the name
            process = d.launch([SYSTEM_PYTHON, "-c", APP, str(n), name, str(log)])
            d.wait_for_window(name, timeout=30)
            # the window is mapped once show_all() made every button; a snapshot checks the last is on the screen
            # (wait_for_node would not see it: it has no max_nodes, and past 2,000 the deepest level is cut). The
            # check is the warm-up: the session's bus connection is made, the app has answered once
            for _ in range(50):
                last = snapshot(d, name).find("push button", str(n - 1))
                if last and last[0].bounds:
                    break
                time.sleep(0.1)
            else:
                raise RuntimeError(f"button {n - 1} of {name} did not come on the screen")
            apps[name] = process.pid
            bus = bus or a11y_bus_pid(d.id)
        print(f"desktop {d.id}: apps up {time.monotonic() - began:.1f} s; accessibility bus dbus-daemon pid {bus}")
        table.append(f"  {'':52} {'nodes':>6} {'median':>8} {'p95':>8}   CPU ms (median): walker / app / a11y bus")
        bench_snapshots(d, f"buttons{SMALL}b", apps[f"buttons{SMALL}b"], bus, args.rounds, args.rounds, table)
        bench_snapshots(d, f"buttons{BIG}b", apps[f"buttons{BIG}b"], bus, args.big_rounds, args.big_all_rounds, table)
        bench_acts(d, f"buttons{BIG}b", BIG // 2, log, args.rounds, table)
    finally:
        d.close()
        log.unlink(missing_ok=True)
        work.rmdir()
    print("\n".join(table))
    print(f"(ms; {args.rounds} rounds, {args.big_rounds} of the ~2,000-node snapshots, interleaved; the acts after one "
          f"warm-up round; total {time.monotonic() - began:.0f} s)")  # fmt: skip


if __name__ == "__main__":
    main()
