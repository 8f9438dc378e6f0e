"""Who owns a desktop, and where a backend keeps its desktops' records: what the local and Docker backends share.

- :func:`private_dir`: a backend's directory under ``$TMPDIR``, private to the user (0700), safe from a
  classmate who took its name first.
- :func:`identity` / :func:`owner_alive`: an owner as ``host/boot/pid/start/token`` (the process, told apart from
  a later one with the same pid, and the backend instance in it), and whether it still runs. The Docker
  backend writes it in each desktop's owner record; the local backend records the owner's pid and start time
  (``_proc.is_alive`` checks them).
- :func:`write_atomic`: records are replaced whole, never half-written.
"""

from __future__ import annotations

import contextlib
import os
import socket
import stat
import tempfile
from pathlib import Path

from . import _proc

__all__ = ["private_dir", "identity", "owner_alive", "boot_id", "write_atomic", "HOST", "LIVE_TOKENS"]


def private_dir(name: str) -> Path:
    """``$TMPDIR/<name>-<uid>``: private to this user, created 0700.

    /tmp is shared: anyone can take that name first (on a JupyterHub, one student could so keep another from
    starting desktops; the sticky bit stops the victim from removing it). Then the directory is
    ``$TMPDIR/<name>-<uid>-<random>``, found again by later calls (and by orphan reaping) among the directories
    of that prefix this user owns.
    """
    tmp = Path(tempfile.gettempdir())
    path = tmp / f"{name}-{os.getuid()}"
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700)
    if _is_ours(path):
        return path
    for alternative in sorted(tmp.glob(f"{path.name}-*")):
        if _is_ours(alternative):
            return alternative
    return Path(tempfile.mkdtemp(prefix=f"{path.name}-", dir=tmp))


def _is_ours(path: Path) -> bool:
    """A real directory (not a link) of this user, made private (0700) if it was not."""
    try:
        st = path.lstat()
    except OSError:
        return False
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
        return False
    if st.st_mode & 0o077:
        path.chmod(0o700)
    return True


HOST = socket.gethostname()
LIVE_TOKENS: set[str] = set()  # backend instances of this process that are not closed (their token)


def boot_id() -> str:
    with contextlib.suppress(OSError):
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    return ""


def identity(token: str) -> str:
    """Who owns a desktop: host / boot / pid / process start time / backend instance."""
    return f"{HOST}/{boot_id()}/{os.getpid()}/{_proc.start_time(os.getpid())}/{token}"


def owner_alive(owner: str | None) -> bool:
    """False only when we can tell the owner is gone; an owner on another host counts as alive."""
    parts = (owner or "").split("/")
    if len(parts) != 5 or not parts[2].isdigit():
        return True
    host, boot, pid, start, token = parts
    if host != HOST:
        return True
    if boot != boot_id():
        return False
    if int(pid) == os.getpid() and start == str(_proc.start_time(os.getpid())):
        return token in LIVE_TOKENS
    return _proc.is_alive(int(pid), int(start) if start.isdigit() else None)


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary sibling: a reader sees the old record or the new one."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)
