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


def commands(*desktop_ids: str) -> list[str]:
    """``pid: command line`` of each live process of these desktops, to wait on with ``none_left`` (a failure then
    names what survived, not only that something did)."""
    return [f"{p}: {cmdline(p)}" for desktop_id in desktop_ids for p in sorted(marked(desktop_id))]


def shared_memory(pids: set[int]) -> list[str]:
    """The System V shared memory segments these processes made (x11vnc's MIT-SHM images), as ``/proc`` lists
    them."""
    return [" ".join(s.values()) for s in _proc.shared_memory_segments() if int(s["cpid"]) in pids]
