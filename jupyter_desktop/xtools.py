"""The desktop's X tools, run through a session's exec channel: windows (wmctrl, xdotool, xwininfo, xprop), where the
pointer is (xdotool), and what to install when one is missing. The screen and input do not need them (RFB)."""

from __future__ import annotations

import contextlib
import re
from dataclasses import asdict, dataclass
from collections.abc import Mapping
from typing import Any

from .backends.base import RunResult
from .errors import MissingDependencyError

__all__ = ["Window", "TOOLS", "WINDOWS_SCRIPT", "POINTER_COMMAND", "parse_windows", "parse_pointer", "missing_tool"]

TOOLS = {"xdotool": "xdotool", "wmctrl": "wmctrl", "xprop": "x11-utils", "xwininfo": "x11-utils", "xdg-open": "xdg-utils", "xclip": "xclip"}

# One exec lists the windows: ids, pids, classes and titles from wmctrl when a window manager speaks
# EWMH (else the root's visible children from xdotool), and true geometry from xwininfo's tree (wmctrl
# and xdotool count the frame decoration twice under reparenting window managers).
WINDOWS_SCRIPT = r"""
if command -v wmctrl >/dev/null 2>&1 && wmctrl -m >/dev/null 2>&1; then
  echo wmctrl
  wmctrl -lpx
else
  command -v xdotool >/dev/null 2>&1 || { echo "missing xdotool" >&2; exit 127; }
  echo xdotool
  for w in $(xdotool search --onlyvisible --maxdepth 1 --name '' 2>/dev/null); do
    printf '%s\t%s\t' "$w" "$(xdotool getwindowpid "$w" 2>/dev/null)"
    xdotool getwindowname "$w"
  done
fi
echo '--tree--'
command -v xwininfo >/dev/null 2>&1 || { echo "missing xprop xwininfo" >&2; exit 127; }
xwininfo -root -tree
echo '--active--'
xprop -root _NET_ACTIVE_WINDOW 2>/dev/null || xdotool getactivewindow 2>/dev/null || true
"""
_TREE_LINE = re.compile(r"^\s*(0x[0-9a-f]+) .*?\s(\d+)x(\d+)[+-]-?\d+[+-]-?\d+\s+\+(-?\d+)\+(-?\d+)\s*$")


@dataclass(frozen=True)
class Window:
    """A top-level window on the desktop."""

    id: int
    title: str
    x: int
    y: int
    width: int
    height: int
    active: bool = False
    pid: int | None = None
    wm_class: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Window:
        return cls(**{name: data[name] for name in cls.__dataclass_fields__ if name in data})


def parse_windows(text: str) -> list[Window]:
    listing, _, rest = text.partition("--tree--")
    tree, _, active_part = rest.partition("--active--")
    geometry = {}
    for line in tree.splitlines():
        m = _TREE_LINE.match(line)
        if m:
            wid, w, h, x, y = m.groups()
            geometry[int(wid, 16)] = (int(x), int(y), int(w), int(h))
    active = None
    for token in active_part.replace(",", " ").split():
        with contextlib.suppress(ValueError):
            active = int(token, 0)
    lines = listing.strip().splitlines()
    windows = []
    for line in lines[1:]:
        if lines[0] == "wmctrl":
            parts = line.split(None, 5)
            if len(parts) < 5:
                continue
            wid, pid, wm_class = int(parts[0], 16), int(parts[2]) or None, parts[3]
            title = parts[5] if len(parts) > 5 else ""
        else:
            wid_text, _, rest = line.partition("\t")
            pid_text, _, title = rest.partition("\t")
            if not wid_text.isdigit():
                continue
            wid, pid, wm_class = int(wid_text), int(pid_text) if pid_text.isdigit() else None, "N/A"
        if wid in geometry:
            windows.append(Window(wid, title, *geometry[wid], wid == active, pid, None if wm_class == "N/A" else wm_class))
    return windows


POINTER_COMMAND = ["xdotool", "getmouselocation", "--shell"]


def parse_pointer(result: RunResult) -> tuple[int, int] | None:
    """(x, y) from ``POINTER_COMMAND``'s output, or None when it said nothing usable."""
    values = dict(line.split("=", 1) for line in result.stdout.split() if "=" in line)
    try:
        return int(values["X"]), int(values["Y"])
    except (KeyError, ValueError):
        return None


def missing_tool(program: str) -> MissingDependencyError:
    """The error for a desktop that lacks ``program``, naming the Debian package to install."""
    return MissingDependencyError(
        f"{program} is not installed in the desktop; install it with: sudo apt-get install {TOOLS.get(program, program)}"
    )
