"""The processes of desktops, read from /proc."""

from __future__ import annotations

from pathlib import Path

from jupyter_desktop.backends import _proc


def marked(desktop_id: str) -> set[int]:
    """Pids of live processes carrying this desktop's marker."""
    return {p for p in _proc.marked_processes([desktop_id]).get(desktop_id, set()) if _proc.is_alive(p)}


def cmdline(pid: int) -> str:
    """A process's command line, its arguments joined by spaces ("" once it is gone)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return ""
