"""Process bookkeeping for local desktops: find a desktop's processes, kill them all, tell owners apart.

Every process a local desktop starts carries ``JUPYTER_DESKTOP_ID=<id>`` in its environment, and
children inherit it: daemons that double-fork and leave the process group (dbus, xfconfd, apps that
``setsid``) still carry the marker, so scanning ``/proc`` finds the whole tree. These functions are
synchronous on purpose: atexit and signal handlers call them when no event loop may be running.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import time
from collections.abc import Iterable

MARKER = "JUPYTER_DESKTOP_ID"


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/pid/stat), None if gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    try:
        return int(data[data.rindex(b")") + 2 :].split()[19])
    except (ValueError, IndexError):
        return None


def is_alive(pid: int, started: int | None = None) -> bool:
    """True if ``pid`` runs and is not a zombie (and, given ``started``, is the same process)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return False
    fields = data[data.rindex(b")") + 2 :].split()
    if fields[0] in (b"Z", b"X"):
        return False
    return started is None or int(fields[19]) == started


def marked_processes(ids: Iterable[str] | None = None) -> dict[str, set[int]]:
    """Map desktop id to the pids whose environment carries its marker (all ids when ``ids`` is None)."""
    wanted = None if ids is None else {i.encode() for i in ids}
    prefix = MARKER.encode() + b"="
    found: dict[str, set[int]] = {}
    me = os.getpid()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            with open(f"/proc/{entry.name}/environ", "rb") as f:
                env = f.read()
        except OSError:
            continue
        start = env.find(prefix)
        if start < 0 or (start > 0 and env[start - 1] != 0):
            continue
        end = env.find(b"\0", start)
        value = env[start + len(prefix) : end if end >= 0 else None]
        if wanted is None or value in wanted:
            found.setdefault(value.decode(errors="replace"), set()).add(int(entry.name))
    return found


def _signal_all(pids: Iterable[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def terminate(pids: Iterable[int], grace: float = 2.0) -> set[int]:
    """SIGTERM ``pids``, wait up to ``grace`` seconds, SIGKILL what is left; returns the SIGKILLed pids."""
    pids = {p for p in pids if p > 1 and p != os.getpid()}
    _signal_all(pids, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while pids and time.monotonic() < deadline:
        pids = {p for p in pids if is_alive(p)}
        if pids:
            time.sleep(0.02)
    pids = {p for p in pids if is_alive(p)}
    _signal_all(pids, signal.SIGKILL)
    return pids


def kill_desktop_tree(desktop_id: str, extra: Iterable[int] = (), grace: float = 2.0) -> set[int]:
    """Kill every process of one desktop: those carrying its marker plus ``extra`` pids; returns the pids killed.

    Processes that start while we kill (a session manager respawning a panel) are caught by rescanning. The
    shared memory the killed processes leave is removed (see :func:`remove_shared_memory`).
    """
    extra = set(extra)
    killed = set(extra)  # the caller's own (children dead but not yet waited for count too)
    for _ in range(5):
        pids = marked_processes([desktop_id]).get(desktop_id, set()) | {p for p in extra if is_alive(p)}
        if not pids:
            break
        terminate(pids, grace)
        killed |= pids
        extra = ()
    remove_shared_memory(killed)
    return killed


def remove_shared_memory(creators: Iterable[int]) -> int:
    """Remove the private System V shared memory segments that ``creators``, now dead, made and left behind;
    returns how many. x11vnc's MIT-SHM images are such segments: SIGKILLed, it leaves them, and 4096 of them
    (``kernel.shmmni``: some 130 x11vnc lives) fail every later start. Only segments of our user made with
    ``IPC_PRIVATE`` (nobody can find them by key) by a pid that is gone; one still attached (the X server's) goes
    when it is detached."""
    creators = {p for p in creators if not is_alive(p)}
    if not creators:
        return 0
    libc = ctypes.CDLL(None, use_errno=True)
    removed = 0
    for segment in shared_memory_segments():
        with contextlib.suppress(KeyError, ValueError):
            if int(segment["key"]) == 0 and int(segment["cpid"]) in creators and int(segment["cuid"]) == os.geteuid():
                removed += libc.shmctl(int(segment["shmid"]), 0, None) == 0  # IPC_RMID
    return removed


def shared_memory_segments() -> list[dict[str, str]]:
    """The System V shared memory segments of this IPC namespace, as ``/proc/sysvipc/shm`` lists them (by column
    name: ``key``, ``shmid``, ``cpid``, ``cuid``, ``nattch`` ...)."""
    try:
        with open("/proc/sysvipc/shm") as f:
            head, *rows = (line.split() for line in f)
    except (OSError, ValueError):
        return []
    return [dict(zip(head, row)) for row in rows]


def cleanup_display(display: int) -> None:
    """Remove the X lock file and socket of ``display`` if the server that owned them is gone."""
    lock = f"/tmp/.X{display}-lock"
    try:
        with open(lock) as f:
            pid = int(f.read().strip() or 0)
    except (OSError, ValueError):
        pid = 0
    if pid and is_alive(pid):
        return
    for path in (lock, f"/tmp/.X11-unix/X{display}"):
        with contextlib.suppress(OSError):
            os.unlink(path)
