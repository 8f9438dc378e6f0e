"""``Desktop``: the one object a person watches and an agent drives.

Method names follow E2B Desktop where it has one (``left_click``, ``write``, ``press``, ``launch``,
``get_cursor_position`` ...), with Anthropic's computer-use extras (``triple_click``, modifiers held
during a click or scroll, horizontal scroll, key down/up).

Coordinates: after ``screenshot(scale=...)`` the desktop remembers the scale, and every coordinate you
pass (and ``get_cursor_position`` returns) is in the pixels of that screenshot, so a vision model's
answer can be passed straight back. A full-resolution ``screenshot()`` returns to screen pixels;
region screenshots leave the mapping alone.
"""

from __future__ import annotations

import atexit
import builtins
import contextlib
import os
import functools
import getpass
import io
import math
import re
import signal
import socket
import struct
import threading
import time
import weakref
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from typing import Any, cast

from PIL import Image

from ._loop import LoopThread, loop_thread
from .accessibility import AccessibilityTree, AccessibleNode, matcher, outline
from .backends.base import DesktopSpec, LaunchedProcess, RunResult
from .errors import AccessibilityError, ActionDeniedError, DesktopClosedError, InvalidInputError, TakenOverError
from .gate import check_policy, verdicts
from .manager import DesktopManager
from .protocols import DesktopHub, DesktopSession
from .remote import RemoteRecorder, RemoteSession, ServerHub, find_server
from .session import FILE_TIMEOUT, Session, Window
from .trajectory import DEFAULT_MAX_BYTES, Recorder

__all__ = ["Desktop", "Process", "LocalHub", "find_hub"]

Point = tuple[int, int]

_embedded_lock = threading.Lock()
_embedded_manager: DesktopManager | None = None
_embedded_pid = 0  # the process _embedded_manager belongs to (a forked child holds a copy of its parent's)
_wakeup: tuple[socket.socket, socket.socket] | None = None  # receiver, sender (the wakeup fd): _watch_for_sigterm


def _embedded() -> tuple[LoopThread, DesktopManager]:
    """The in-process manager used when no Jupyter server drives the desktops."""
    global _embedded_manager, _embedded_pid
    runner = loop_thread()
    with _embedded_lock:
        if _embedded_manager is None:
            manager = _embedded_manager = DesktopManager()
            _embedded_pid = os.getpid()
            atexit.register(_terminate_if_ours, manager, _embedded_pid)
            _install_sigterm_handler(runner)
        return runner, _embedded_manager


def _terminate_if_ours(manager: DesktopManager | None, pid: int) -> None:
    """Stop the desktops (atexit, SIGTERM), unless this is a forked child, whose copy of the manager holds its
    parent's."""
    if manager is not None and os.getpid() == pid:
        manager.terminate_all_now()


def _on_sigterm(signum: int, frame: Any) -> None:
    """Stop our desktops, then die of SIGTERM as before."""
    _terminate_if_ours(_embedded_manager, _embedded_pid)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.raise_signal(signal.SIGTERM)


_fork = threading.local()  # per forking thread: whether _before_fork blocked SIGTERM


def _before_fork() -> None:
    """While our handler is set, a fork blocks SIGTERM until the child has put the default back (see below)."""
    if signal.getsignal(signal.SIGTERM) is _on_sigterm:
        _fork.blocked = signal.SIGTERM not in signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})


def _unblock_after_fork() -> None:
    if getattr(_fork, "blocked", False):
        _fork.blocked = False
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})


def _after_fork_in_child() -> None:
    """A forked child (a multiprocessing worker) starts afresh: its parent's desktops are not its own to stop, and
    a SIGTERM it gets must not reach its parent through the wakeup socket. It gets SIGTERM's default back, so that
    ``Pool.terminate()`` ends it at once as it would without us (our handler would run only between bytecodes);
    a SIGTERM that came since the fork waited, blocked, and ends it now."""
    global _embedded_manager, _wakeup
    _embedded_manager = None
    with contextlib.suppress(ValueError):  # after fork the forking thread is the main one; should it not be
        if signal.getsignal(signal.SIGTERM) is _on_sigterm:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if _wakeup is not None:
            current = signal.set_wakeup_fd(-1)
            if current != _wakeup[1].fileno():  # someone took it over since: theirs stays
                signal.set_wakeup_fd(current)
    if _wakeup is not None:
        for end in _wakeup:
            end.close()
        _wakeup = None
    _unblock_after_fork()


os.register_at_fork(before=_before_fork, after_in_parent=_unblock_after_fork, after_in_child=_after_fork_in_child)


def _install_sigterm_handler(runner: LoopThread) -> None:
    """On SIGTERM, stop our desktops, then die of SIGTERM as before (only if nobody else handles it)."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, _on_sigterm):
        return
    signal.signal(signal.SIGTERM, _on_sigterm)
    if _wakeup is None:
        _watch_for_sigterm(runner)


def _watch_for_sigterm(runner: LoopThread) -> None:
    """Python runs a signal's handler between bytecodes of the main thread, so a SIGTERM that lands just as the
    main thread enters a blocking call (``time.sleep``, a read; 1 in ~24 tries in the lifecycle tests) would
    wait for that call to end, desktops and all. Python's C-level handler writes the signal's number to the
    wakeup fd at once, from whichever thread got it: when nobody else uses that fd, the loop thread watches it,
    stops the desktops itself, and signals the main thread, which ends its blocking call and runs the handler.

    The fd is one end of a datagram socket pair whose other end asks for the sender's credentials: a forked child
    shares it until its fork hook lets go, and its SIGTERM must not stop its parent."""
    global _wakeup
    receiver, sender = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    for end in (receiver, sender):
        end.setblocking(False)
    previous = signal.set_wakeup_fd(sender.fileno(), warn_on_full_buffer=False)
    if previous != -1:  # someone's (an asyncio loop's signal handling): theirs, and no watch
        signal.set_wakeup_fd(previous)
        receiver.close()
        sender.close()
        return
    _wakeup = (receiver, sender)
    main = threading.main_thread().ident
    assert main is not None

    def nudge() -> None:  # again each second, should the signal land in the same gap again
        with contextlib.suppress(ProcessLookupError):  # the main thread has ended: the process is exiting
            signal.pthread_kill(main, signal.SIGTERM)
            runner.loop.call_later(1, nudge)

    def woken() -> None:
        while True:
            try:
                numbers, extra, _, _ = receiver.recvmsg(64, socket.CMSG_SPACE(12))
            except BlockingIOError:
                return
            senders = [
                struct.unpack("i", data[:4])[0]  # struct ucred: pid, uid, gid
                for level, kind, data in extra
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS
            ]
            if signal.SIGTERM in numbers and senders == [os.getpid()]:
                runner.loop.remove_reader(receiver.fileno())
                _terminate_if_ours(_embedded_manager, _embedded_pid)
                nudge()
                return

    runner.loop.call_soon_threadsafe(runner.loop.add_reader, receiver.fileno(), woken)


def _drop_later(runner: LoopThread, drop: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Finalizer of a Desktop that was garbage-collected without close()."""
    if not runner.loop.is_closed():
        runner.loop.call_soon_threadsafe(lambda: runner.loop.create_task(drop()))


class LocalHub:
    """The desktops of this process (no Jupyter server drives them): the embedded DesktopManager."""

    server_side = False

    def __init__(self, manager: DesktopManager) -> None:
        self.manager = manager

    async def create(self, spec: DesktopSpec, backend: str | None = None) -> Session:
        return await self.manager.create(spec, backend=backend)

    async def get(self, desktop_id: str) -> Session:
        return self.manager.get(desktop_id)

    async def list(self) -> list[dict[str, Any]]:
        return [s.to_dict() for s in self.manager.list()]

    async def stop(self, session: Session) -> None:
        if session.id in self.manager.sessions:
            await self.manager.delete(session.id)

    async def drop(self, session: Session, owned: bool) -> None:
        if owned:  # a desktop this process started for that object ends with it
            await self.stop(session)


def find_hub(runner: LoopThread) -> DesktopHub:
    """The Jupyter server this kernel belongs to, if it has our extension; else this process. (Called on the
    caller's thread: the embedded manager installs its SIGTERM handler from the main thread.)"""
    server = runner.call(find_server(), 30)
    if server is not None:
        return ServerHub(server)
    return LocalHub(_embedded()[1])


class Process:
    """A program started with :meth:`Desktop.launch` or :meth:`Desktop.open`."""

    def __init__(self, desktop: Desktop, handle: LaunchedProcess) -> None:
        self._desktop = desktop
        self._handle = handle
        self.pid = handle.pid
        self.argv = list(handle.argv)

    @property
    def returncode(self) -> int | None:
        """Exit status, or None while it runs."""
        return self._desktop._call(self._handle.poll())

    @property
    def running(self) -> bool:
        return self.returncode is None

    def wait(self, timeout: float | None = None) -> int:
        """Wait until it exits and return its status; TimeoutError after ``timeout`` seconds."""
        return self._desktop._call(self._handle.wait(timeout), None)

    def kill(self, sig: int = signal.SIGTERM) -> None:
        """Stop it (SIGTERM by default) along with what it started."""
        self._desktop._call(self._handle.kill(sig))

    def __repr__(self) -> str:
        code = self._handle.returncode
        state = "running" if code is None else f"exited {code}"
        return f"<Process {self.pid} {self.argv[0]!r} {state}>"


class Files:
    """The desktop's files, as its user sees them (a local desktop's: this user's; a Docker desktop's: its
    container's); a relative path starts at the user's home. ``d.files.list(path)``, ``read``, ``write``,
    ``remove``. A file read or written is at most 64 MiB (``session.MAX_FILE``: InputLimitError past it)."""

    def __init__(self, desktop: Desktop) -> None:
        self._desktop = desktop

    def list(self, path: str = ".") -> builtins.list[dict[str, Any]]:
        """The entries of a directory (a relative path starts at the desktop user's home), sorted by name: name,
        type (file, directory, link, other), size in bytes, modified (seconds since the epoch). At most 10,000."""
        return self._desktop._call(self._desktop._session.list_files(path))

    def read(self, path: str) -> bytes:
        """A file's bytes. A missing file is a NoSuchFileError, a directory an InvalidInputError."""
        return self._desktop._call(self._desktop._session.read_file(path), FILE_TIMEOUT + 60)

    def read_text(self, path: str, encoding: str = "utf-8") -> str:
        return self.read(path).decode(encoding)

    def write(
        self, path: str, data: bytes | str, *, parents: bool = False, mode: int | None = None, exclusive: bool = False
    ) -> None:
        """Write a file (text as UTF-8), replacing what it held. ``parents``: create missing directories;
        ``mode``: its permission bits (``0o755``; an existing file keeps its own otherwise); ``exclusive``: never
        replace a file: an ExistingFileError when one is there, even one made while this runs."""
        content = data.encode() if isinstance(data, str) else data
        write = self._desktop._session.write_file(path, content, parents, mode, exclusive)
        self._desktop._call(write, FILE_TIMEOUT + 60)

    def remove(self, path: str, *, recursive: bool = False) -> None:
        """Remove a file or link; a directory only with ``recursive``. Never "/", the user's home, nor a directory
        that holds it."""
        self._desktop._call(self._desktop._session.remove_file(path, recursive), FILE_TIMEOUT + 60)


def _kinds(actions: Sequence[Mapping[str, Any]]) -> str:
    kinds = [str(a.get("action")) for a in actions]
    return ", ".join(dict.fromkeys(kinds))


def vnc_instructions(desktop_id: str, info: Mapping[str, Any]) -> str:
    """How to connect a native VNC client to a desktop's listener; the password is not in it (it would stay in a
    notebook's output): it is in the dict ``enable_vnc()`` returns, and in ``d.vnc``."""
    host, port = info["host"], info["port"]
    where = f"{getpass.getuser()}@{socket.gethostname()}"
    return (
        f"Native VNC clients may connect to desktop {desktop_id} at {host} port {port}, with the password in "
        f'd.vnc["password"] (new on each enable_vnc()).\n'
        f"  On this machine:  vncviewer {host}::{port}   (TigerVNC; RealVNC Viewer: {host}::{port})\n"
        f"  From elsewhere:   ssh -N -L 5901:{host}:{port} {where}   then   vncviewer localhost::5901\n"
        "VNC passwords are 8 characters and the stream is not encrypted: keep the tunnel, share no password, "
        "and call d.disable_vnc() when done."
    )


class Desktop:
    """A live Linux desktop you can see and drive.

    >>> d = Desktop()                      # openbox, 1280x800
    >>> d.launch("xterm")
    >>> d.write("echo hello\\n")
    >>> img = d.screenshot()               # PIL.Image

    ``profile``: ``"openbox"`` (light, default), ``"xfce"`` (panel, file manager, terminal), ``"none"``
    (no window manager), or a command to run as the session. ``env`` is added to every program's
    environment on the desktop. ``opengl=True`` gives apps OpenGL (GLX, software-rendered); it is off by
    default because it costs about 50 MiB of memory. ``approve`` is the approval policy every input call passes
    (:attr:`approve`: ``"ask"`` asks a person in the widget or the viewer). ``vnc=True`` lets native VNC clients
    in (:meth:`enable_vnc`). Use it as a context manager, or call :meth:`close`; whatever happens, the desktop does
    not outlive this Python process.
    """

    def __init__(
        self,
        profile: str | Sequence[str] = "openbox",
        *,
        width: int = 1280,
        height: int = 800,
        depth: int = 24,
        dpi: int = 96,
        env: Mapping[str, str] | None = None,
        opengl: bool = False,
        backend: str | None = None,
        timeout: float = 120.0,
        approve: Any = None,
        vnc: bool = False,
    ) -> None:
        check_policy(approve)  # before a desktop starts
        spec = DesktopSpec(
            profile=profile if isinstance(profile, str) else tuple(profile),
            width=width,
            height=height,
            depth=depth,
            dpi=dpi,
            env=env or {},
            opengl=opengl,
        )
        runner = loop_thread()
        hub = find_hub(runner)
        self._adopt(runner, hub, runner.call(hub.create(spec, backend), timeout), owned=True)
        self.approve = approve
        if vnc:
            try:
                self.enable_vnc()
            except BaseException:
                self.close()  # what was asked for cannot be had: no desktop left behind
                raise

    def _adopt(self, runner: LoopThread, hub: DesktopHub, session: DesktopSession, owned: bool) -> None:
        """Set up around a session. ``owned``: garbage collection of this object may stop the desktop."""
        self._runner = runner
        self._hub = hub
        self._session = session
        self._closed = False
        self._factor = (1.0, 1.0)  # screen pixels per coordinate unit
        self._space: tuple[int, int] | None = None  # size of the coordinate space when scaled
        self._screen: tuple[int, int] = (0, 0)  # screen size when the mapping was set
        self._view: Any = None  # the notebook widget, made on first display
        self._recorder: Recorder | RemoteRecorder | None = None  # the recording under way (record())
        self._approve: Any = None  # the approval policy (approve)
        self._approved_kinds: set[str] = set()  # kinds a person (or the policy) approved "always"
        #: An agent's input while a person holds the desktop: "wait" (up to ``control_timeout`` s) or "raise".
        self.when_taken_over = "wait"
        self.control_timeout = 3600.0
        #: Seconds an "ask" waits for a person's answer; then the action is denied.
        self.approval_timeout = 120.0
        self._last_answer: dict[str, Any] = {}
        self.id = session.id
        self._finalizer = weakref.finalize(self, _drop_later, runner, functools.partial(hub.drop, session, owned))
        self._finalizer.atexit = False

    @classmethod
    def list(cls) -> list[dict[str, Any]]:
        """The desktops of the Jupyter server this kernel belongs to (or of this process without one)."""
        runner = loop_thread()
        return runner.call(find_hub(runner).list(), 60)

    @classmethod
    def attach(cls, desktop_id: str) -> Desktop:
        """A Desktop for one that already runs (started from the launcher, another kernel, ``list()``).

        Closing it stops that desktop; dropping it does not.
        """
        runner = loop_thread()
        hub = find_hub(runner)
        self = cls.__new__(cls)
        self._adopt(runner, hub, runner.call(hub.get(desktop_id), 60), owned=False)
        return self

    # ------------------------------------------------------------------ plumbing

    def _call(self, coro: Any, timeout: float | None = 60.0) -> Any:
        if self._closed:
            coro.close()
            raise DesktopClosedError("this Desktop was closed; start a new one with Desktop()")
        return self._runner.call(coro, timeout)

    def _do(self, *actions: dict[str, Any]) -> None:
        self._perform(list(actions))

    def _perform(self, actions: builtins.list[Any]) -> None:
        """Every input goes here: through the gate (a person holding the desktop, the approval policy), sent, and
        recorded as an ``agent`` step while :meth:`record` runs."""
        self._gate(actions)
        recorder = self._recorder
        if not isinstance(recorder, Recorder):  # none, or the server records (it sees the batch itself)
            self._call(self._session.perform(actions), None)
        else:
            recorder._around(actions, lambda: self._call(self._session.perform(actions), None))

    # ------------------------------------------------------------------ a person in the loop

    @property
    def approve(self) -> Any:
        """The approval policy every input call passes (:mod:`jupyter_desktop.gate`): None (all goes through), a
        callable ``(action) -> True | False | "always" | "ask"``, ``"ask"`` (a person answers in the widget or the
        viewer: approve once, always for that kind, deny), ``"deny-typing"``, or rules by kind such as
        ``{"type": "ask", "*": "allow"}``. A refusal raises :class:`ActionDeniedError` and sends nothing."""
        return self._approve

    @approve.setter
    def approve(self, policy: Any) -> None:
        self._approve = check_policy(policy)
        self._approved_kinds = set()

    @property
    def control(self) -> dict[str, Any]:
        """Who holds the desktop ("agent", or "person" and by whom) and the approvals waiting for a person."""
        return self._call(self._session.control())

    def take_over(self) -> None:
        """Take the desktop from the agent: its input calls wait until :meth:`hand_back` (or raise
        :class:`TakenOverError`, with ``when_taken_over = "raise"``); a person's own input never waits. The
        "Take over" button of the widget and of the viewer does the same."""
        self._call(self._session.take_over(getpass.getuser()))
        if isinstance(self._recorder, Recorder):  # its own recording (the server notes its own)
            self._recorder.note([{"action": "take_over", "by": getpass.getuser()}], "control")

    def hand_back(self) -> None:
        """Give the desktop back to the agent."""
        self._call(self._session.hand_back(getpass.getuser()))
        if isinstance(self._recorder, Recorder):
            self._recorder.note([{"action": "hand_back", "by": getpass.getuser()}], "control")

    def ask_person(self, actions: Sequence[Mapping[str, Any]], *, timeout: float | None = None) -> str:
        """Ask a person to approve ``actions`` (dicts: the action vocabulary, or anything a card can show): the card
        over the widget and the full-page viewer. Waits ``timeout`` s at most (default ``approval_timeout``).
        Returns their decision: "approve", "always" (its kinds are allowed from now on), "deny" or "timeout"."""
        wait = self.approval_timeout if timeout is None else timeout
        if not self._server_side and not self._call(self._session.control()).get("watched"):
            # a desktop of this process: only what watches its gate can answer (the widget cannot: a kernel does not
            # hear its comm while a cell runs). Say so at once rather than deny after the timeout.
            raise ActionDeniedError(
                f"{_kinds(actions)}: nobody can answer: this desktop runs in this process, whose widget cannot show "
                "approval cards; run Desktop() under a Jupyter server with jupyter_desktop's extension, or use a "
                "policy that does not ask"
            )
        if isinstance(self._recorder, Recorder):  # its own recording (the server notes its own)
            self._recorder.note([{"action": "ask", "actions": [dict(a) for a in actions]}], "approval")
        answer = self._call(self._session.ask(builtins.list(actions), wait), wait + 60)
        decision = str(answer.get("decision"))
        if isinstance(self._recorder, Recorder):
            self._recorder.note([{"action": "decide", **answer}], "approval")
        if decision == "always":
            self._approved_kinds.update(str(a.get("action")) for a in actions)
        self._last_answer = answer
        return decision

    def _gate(self, actions: builtins.list[Any]) -> None:
        when = self.when_taken_over
        if when not in ("wait", "raise"):
            raise InvalidInputError(f"when_taken_over must be 'wait' or 'raise', not {when!r}")
        wait = self.control_timeout if when == "wait" else 0.0
        if not self._call(self._session.wait_for_control(wait), wait + 60):
            holder = self._call(self._session.control()).get("by") or "a person"
            raise TakenOverError(
                f"{holder} holds desktop {self.id}" + (f" and did not hand it back within {wait:g} s (control_timeout)" if wait else
                                                       ": the agent's input is refused while it does (when_taken_over = 'raise')")
            )
        if self._approve is None:
            return
        dicts = [a for a in actions if isinstance(a, Mapping)]
        said = verdicts(self._approve, dicts, self._approved_kinds)
        denied = [a for a, v in zip(dicts, said) if v == "deny"]
        if denied:
            raise ActionDeniedError(f"the approval policy refuses {_kinds(denied)}: nothing was sent")
        for a, v in zip(dicts, said):
            if v == "always":
                self._approved_kinds.add(str(a.get("action")))
        asked = [a for a, v in zip(dicts, said) if v == "ask"]
        if not asked:
            return
        decision = self.ask_person(asked)
        if decision not in ("approve", "always"):
            answer = self._last_answer
            by = f" by {answer['by']}" if answer.get("by") else ""
            why = f"no answer within {self.approval_timeout:g} s (approval_timeout)" if decision == "timeout" else f"denied{by}"
            raise ActionDeniedError(f"{_kinds(asked)}: {why}; nothing was sent")

    def _to_screen(self, x: float | None, y: float | None) -> tuple[int | None, int | None]:
        if x is None and y is None:
            return None, None
        if x is None or y is None:
            raise InvalidInputError("give both x and y, or neither to act where the pointer is")
        for v in (x, y):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise InvalidInputError(f"coordinates must be finite numbers, not {v!r}")
        if self._space is None:
            return round(x), round(y)
        w, h = self._space
        if not (0 <= x < w and 0 <= y < h):
            raise InvalidInputError(
                f"({x}, {y}) is off the {w}x{h} screenshot these coordinates refer to "
                f"(x in 0..{w - 1}, y in 0..{h - 1}); take screenshot() without scale to use screen pixels"
            )
        fx, fy = self._factor
        sw, sh = self._screen
        return min(sw - 1, int((x + 0.5) * fx)), min(sh - 1, int((y + 0.5) * fy))

    def _point(self, p: Sequence[float]) -> builtins.list[int]:
        if not isinstance(p, (list, tuple)) or len(p) != 2:
            raise InvalidInputError(f"a point is (x, y), not {p!r}")
        x, y = self._to_screen(p[0], p[1])
        return [x, y]  # type: ignore[list-item]

    @staticmethod
    def _modifiers(modifiers: str | Sequence[str] | None) -> Sequence[str] | str:
        return modifiers or []

    # ------------------------------------------------------------------ state

    @property
    def status(self) -> str:
        """starting, running, stopping, stopped or error."""
        return self.info["status"]

    @property
    def info(self) -> dict[str, Any]:
        """Id, status (and the error, if any), profile, size, backend details."""
        if self._closed:
            return {**self._session.to_dict(), "status": "stopped"}
        return self._call(self._session.describe())

    def close(self) -> None:
        """Stop the desktop and everything running in it. Calling it twice is fine."""
        if self._closed:
            return
        recorder = self._recorder
        if recorder is not None:  # its last screenshot and the end of its video, while the desktop is still there
            with contextlib.suppress(Exception):
                recorder.stop()
        self._finalizer.detach()
        try:
            self._runner.call(self._hub.stop(self._session), 60)
        finally:
            self._closed = True
            if self._view is not None:
                self._view.refresh()

    def restart(self) -> None:
        """Start a desktop that died (status ``error``) again, with the same settings."""
        self._call(self._session.restart(), 120)
        if self._view is not None:
            self._view.refresh()

    def __enter__(self) -> Desktop:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        if self._closed:
            return f"<Desktop {self.id} closed>"
        info = self.info
        return f"<Desktop {self.id} {info['status']} {info['width']}x{info['height']} {info['profile']}>"

    @property
    def _server_side(self) -> bool:
        """True when the Jupyter server holds this desktop (so the browser can reach it through the server)."""
        return self._hub.server_side

    def view(self, **options: Any) -> Any:
        """The live view for a notebook cell (an anywidget with a toolbar); displaying the Desktop shows it.

        Options set the view's traits: ``view_only``, ``scale`` ("fit" or "1:1"), ``size`` ("compact" or
        "full"), ``resize_remote``.
        """
        from .widget import DesktopView

        if self._view is None or options:
            self._view = DesktopView(self, **options)
        else:
            self._view.refresh()
        return self._view

    @staticmethod
    def grid(desktops: Iterable[Desktop]) -> Any:
        """Several desktops live side by side in one cell (a widget): agents running in parallel, watched at once.
        View-only until you click a tile and take it over. At most 64 desktops."""
        from .widget import DesktopGrid

        return DesktopGrid(desktops)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any] | None:
        """The live view where widgets render, with a screenshot for places that show only images."""
        bundle: dict[str, Any] = {"text/plain": repr(self)}
        png = self._repr_png_()
        if png is not None:
            bundle["image/png"] = png
        try:
            widget_bundle = self.view()._repr_mimebundle_()
        except Exception:  # no widget machinery (a plain script, nbconvert)
            return bundle
        if isinstance(widget_bundle, tuple):
            widget_bundle = widget_bundle[0]
        return {**bundle, **(widget_bundle or {})}

    def _repr_png_(self) -> bytes | None:
        if self._closed or self.status != "running":
            return None
        buf = io.BytesIO()
        self._call(self._session.capture()).save(buf, "PNG", compress_level=1)
        return buf.getvalue()

    # ------------------------------------------------------------------ native VNC clients (opt-in)

    def enable_vnc(self) -> dict[str, Any]:
        """Let native VNC clients in (TigerVNC's ``vncviewer``, RealVNC Viewer): a password-protected listener on
        127.0.0.1 of the machine that holds the desktop (this one, or the Jupyter server's), reached from elsewhere
        through an SSH tunnel. Prints how to connect and returns ``{"host", "port", "password"}`` (also
        :attr:`vnc`); each call makes a new password. The listener closes with :meth:`disable_vnc`, when the
        desktop stops or restarts, and with the server.

        Mind the risks: VNC Authentication is DES with the password's 8 characters and the stream is not
        encrypted, so anyone on that machine who learns the password reaches the desktop. After 5 wrong passwords
        it refuses everyone for a minute. A Jupyter server allows it only with ``c.DesktopExtension.native_vnc =
        True`` (off by default)."""
        info = self._call(self._session.enable_vnc())
        print(vnc_instructions(self.id, info))
        return info

    def disable_vnc(self) -> None:
        """Close the native VNC listener and its connections (calling it when it is off is fine)."""
        self._call(self._session.disable_vnc())

    @property
    def vnc(self) -> dict[str, Any] | None:
        """``{"host", "port", "password"}`` while native VNC clients may connect (:meth:`enable_vnc`), else None."""
        return self._call(self._session.vnc_endpoint())

    # ------------------------------------------------------------------ screen

    def screenshot(
        self,
        region: tuple[int, int, int, int] | None = None,
        scale: float | tuple[int, int] | None = None,
        *,
        fresh: bool = True,
    ) -> Image.Image:
        """The screen as a PIL image, straight from the framebuffer.

        ``region``: (x, y, width, height) in screen pixels. ``scale``: a factor (0.5) or a size
        ((1024, 640)) for a model-sized image; later coordinates are then read in its pixels.
        ``fresh=False`` skips the round trip that makes sure every change the server knows of is in.
        """
        image = self._call(self._session.capture(region, scale, fresh))
        if region is None:
            screen = image.size if scale is None else self._call(self._session.screen_size())
            sw, sh = self._screen = screen
            if image.size == screen:
                self._factor, self._space = (1.0, 1.0), None
            else:
                self._factor, self._space = (sw / image.width, sh / image.height), image.size
        return image

    def get_screen_size(self) -> tuple[int, int]:
        """(width, height) of the screen in pixels."""
        return self._call(self._session.screen_size())

    def wait_until_stable(self, timeout: float = 10.0, quiet: float = 0.5) -> bool:
        """Wait until the screen stops changing for ``quiet`` seconds; False if ``timeout`` passes first."""
        return self._call(self._session.wait_until_stable(quiet, timeout), None)

    def resize(self, width: int, height: int) -> None:
        """Change the screen size (windows stay; the coordinate mapping returns to screen pixels)."""
        self._call(self._session.resize(width, height))
        self._factor, self._space = (1.0, 1.0), None

    # ------------------------------------------------------------------ mouse

    def _click(self, x: float | None, y: float | None, button: str, count: int, modifiers: Any) -> None:
        sx, sy = self._to_screen(x, y)
        action: dict[str, Any] = {"action": "click", "button": button, "count": count, "modifiers": self._modifiers(modifiers)}
        if sx is not None:
            action.update(x=sx, y=sy)
        self._do(action)

    def left_click(self, x: float | None = None, y: float | None = None, *, modifiers: str | Sequence[str] | None = None) -> None:
        """Click the left button at (x, y), or where the pointer is; ``modifiers="ctrl+shift"`` holds keys."""
        self._click(x, y, "left", 1, modifiers)

    def right_click(self, x: float | None = None, y: float | None = None, *, modifiers: str | Sequence[str] | None = None) -> None:
        self._click(x, y, "right", 1, modifiers)

    def middle_click(self, x: float | None = None, y: float | None = None, *, modifiers: str | Sequence[str] | None = None) -> None:
        self._click(x, y, "middle", 1, modifiers)

    def double_click(self, x: float | None = None, y: float | None = None, *, modifiers: str | Sequence[str] | None = None) -> None:
        self._click(x, y, "left", 2, modifiers)

    def triple_click(self, x: float | None = None, y: float | None = None, *, modifiers: str | Sequence[str] | None = None) -> None:
        self._click(x, y, "left", 3, modifiers)

    def move_mouse(self, x: float, y: float) -> None:
        sx, sy = self._to_screen(x, y)
        if sx is None:
            raise InvalidInputError("move_mouse(x, y) needs both coordinates")
        self._do({"action": "move", "x": sx, "y": sy})

    def mouse_press(self, button: str = "left", x: float | None = None, y: float | None = None) -> None:
        """Press and hold a mouse button (at (x, y) if given)."""
        self._button("mouse_down", button, x, y)

    def mouse_release(self, button: str = "left", x: float | None = None, y: float | None = None) -> None:
        self._button("mouse_up", button, x, y)

    def _button(self, kind: str, button: str, x: float | None, y: float | None) -> None:
        sx, sy = self._to_screen(x, y)
        action: dict[str, Any] = {"action": kind, "button": button}
        if sx is not None:
            action.update(x=sx, y=sy)
        self._do(action)

    def drag(
        self,
        start: Sequence[float] | Sequence[Sequence[float]],
        end: Sequence[float] | None = None,
        *more: Sequence[float],
        button: str = "left",
        duration: float = 0.2,
        modifiers: str | Sequence[str] | None = None,
    ) -> None:
        """Press at ``start``, move through the points to ``end``, release.

        ``drag((10, 10), (200, 50))``, ``drag(p1, p2, p3)`` or ``drag([p1, p2, p3])``.
        """
        if end is None:
            points = list(start)  # type: ignore[arg-type]
        else:
            points = [start, end, *more]
        if len(points) < 2:
            raise InvalidInputError("drag needs at least two points: drag((x1, y1), (x2, y2))")
        path = [self._point(p) for p in points]  # type: ignore[arg-type]
        self._do({"action": "drag", "path": path, "button": button, "duration": duration, "modifiers": self._modifiers(modifiers)})

    def scroll(
        self,
        dx: int | str = 0,
        dy: int = 0,
        x: float | None = None,
        y: float | None = None,
        *,
        modifiers: str | Sequence[str] | None = None,
    ) -> None:
        """Scroll ``dx`` notches right (negative: left) and ``dy`` down (negative: up), at (x, y) if given.

        E2B's form works too: ``scroll("down", 3)``.
        """
        if isinstance(dx, str):
            direction, amount = dx, dy or 1
            moves = {"up": (0, -amount), "down": (0, amount), "left": (-amount, 0), "right": (amount, 0)}
            if direction not in moves:
                raise InvalidInputError(f"scroll direction must be up, down, left or right, not {direction!r}")
            dx, dy = moves[direction]
        sx, sy = self._to_screen(x, y)
        action: dict[str, Any] = {"action": "scroll", "dx": dx, "dy": dy, "modifiers": self._modifiers(modifiers)}
        if sx is not None:
            action.update(x=sx, y=sy)
        self._do(action)

    def get_cursor_position(self) -> tuple[int, int]:
        """Where the pointer is, in the current coordinate space (the pixel under the middle of its screen pixel: a
        click at (x, y) reads back as (x, y))."""
        x, y = self._call(self._session.pointer_position())
        fx, fy = self._factor
        return (int((x + 0.5) / fx), int((y + 0.5) / fy)) if self._space else (x, y)

    # ------------------------------------------------------------------ keyboard

    def write(self, text: str, *, delay: float = 0.0) -> None:
        """Type ``text`` (any Unicode; ``\\n`` presses Enter). ``delay``: seconds between characters."""
        self._do({"action": "type", "text": text, "delay": delay})

    def press(self, keys: str | Sequence[str], *, hold: float = 0.0) -> None:
        """Press a key or chord: ``press("enter")``, ``press("ctrl+shift+t")``, ``press(["ctrl", "c"])``.

        Several chords separated by spaces are pressed in turn (``"ctrl+a ctrl+c"``). ``hold`` keeps the
        keys down that many seconds. Names: aliases (enter, esc, ctrl, cmd, pgdn ...), single characters,
        or X keysym names (``Return``, ``XF86AudioMute``).
        """
        self._do({"action": "press", "keys": keys if isinstance(keys, str) else list(keys), "hold": hold})

    def key_down(self, key: str) -> None:
        self._do({"action": "key_down", "key": key})

    def key_up(self, key: str) -> None:
        self._do({"action": "key_up", "key": key})

    def perform(self, actions: Sequence[Mapping[str, Any]]) -> None:
        """Run a batch of actions in the JSON vocabulary of :mod:`jupyter_desktop.actions` (screen pixels)."""
        self._perform(list(actions))

    # ------------------------------------------------------------------ recording

    def record(
        self,
        path: str | os.PathLike[str],
        *,
        every: float | None = None,
        video: bool | None = None,
        fps: float = 10.0,
        max_bytes: int | None = None,
        settle: float = 2.0,
        cpu: float | None = 0.04,
    ) -> Recorder | RemoteRecorder:
        """Record what is done on this desktop into the folder ``path``: every input call (``perform``, clicks,
        typing ... whoever makes them: your code, an agent adapter) as an ``agent`` step with the screen before
        and after, what a person does in a viewer (the notebook widget, the full-page viewer) as ``human`` steps,
        a video of the screen, and with ``every`` a screenshot that often. Use it as a context manager (or call
        ``stop()``); :class:`~jupyter_desktop.trajectory.Trajectory` loads the folder. Its format, and the
        options (``video``, ``fps``, ``cpu``, ``max_bytes``: default 2 GiB, ``settle``):
        :mod:`jupyter_desktop.trajectory`.

        A desktop the Jupyter server holds is recorded by the server (:class:`~jupyter_desktop.remote.RemoteRecorder`:
        ``path`` must be under the server's root directory; ``max_bytes`` at most its ``recording_max_bytes``), which
        sees every viewer's input; a desktop of this process by this process, which sees the input of the
        notebook widgets that reach it through the kernel.
        """
        if self._closed:
            raise DesktopClosedError("this Desktop was closed; start a new one with Desktop()")
        if self._recorder is not None and self._recorder.recording:
            raise InvalidInputError(f"this desktop is already recording into {self._recorder.path}; stop() that one first")
        if self._server_side:  # the server records: it sees every viewer's input too
            options = {"every": every, "video": video, "fps": fps, "max_bytes": max_bytes, "settle": settle, "cpu": cpu}
            recorder: Recorder | RemoteRecorder = RemoteRecorder(
                cast(RemoteSession, self._session), self._runner, path, on_stop=self._recording_stopped, **options
            )
        else:
            recorder = Recorder(
                self._session, self._runner, path, on_stop=self._recording_stopped,
                every=every, video=video, fps=fps, max_bytes=DEFAULT_MAX_BYTES if max_bytes is None else max_bytes, settle=settle, cpu=cpu,
            )  # fmt: skip

        self._recorder = recorder
        if self._view is not None:
            self._view.refresh()  # the toolbar's record button
        return recorder

    def _recording_stopped(self, recorder: Recorder | RemoteRecorder) -> None:
        if self._recorder is recorder:
            self._recorder = None
            if self._view is not None:
                with contextlib.suppress(Exception):
                    self._view.refresh()

    # ------------------------------------------------------------------ programs

    def launch(
        self, app: str | Sequence[str], *, env: Mapping[str, str] | None = None, cwd: str | None = None
    ) -> Process:
        """Start a program on the desktop: ``launch("xterm")``, ``launch(["xterm", "-e", "top"])``."""
        return Process(self, self._call(self._session.launch(app, env=env, cwd=cwd)))

    def open(self, target: str) -> Process:
        """Open a URL or file with the desktop's default application (xdg-open)."""
        return Process(self, self._call(self._session.open(target)))

    def run(
        self,
        command: str | Sequence[str],
        *,
        input: str | bytes | None = None,
        timeout: float | None = 60.0,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
    ) -> RunResult:
        """Run a command on the desktop and wait: returns ``RunResult(returncode, stdout, stderr)``.

        A string runs through ``sh -c``; a list runs as is.
        """
        return self._call(
            self._session.run(command, input=input, timeout=timeout, env=env, cwd=cwd),
            None if timeout is None else timeout + 30,
        )

    @property
    def files(self) -> Files:
        """The desktop's files: ``d.files.list("Documents")``, ``d.files.read("notes.txt")``, ``write``, ``remove``."""
        return Files(self)

    # ------------------------------------------------------------------ windows

    def windows(self) -> builtins.list[Window]:
        """The top-level windows: id, title, geometry, active, pid, class."""
        return self._call(self._session.windows())

    def wait_for_window(self, title: str | re.Pattern[str], timeout: float = 10.0) -> Window:
        """Wait for a window whose title contains ``title`` (or matches the regex) and return it."""
        if not isinstance(title, (str, re.Pattern)):
            raise InvalidInputError("title must be a string or a compiled regular expression")
        match = title.search if isinstance(title, re.Pattern) else (lambda t: title in t)
        deadline = time.monotonic() + timeout
        while True:
            found = [w for w in self.windows() if match(w.title)]
            if found:
                return next((w for w in found if w.active), found[0])
            if time.monotonic() >= deadline:
                titles = ", ".join(repr(w.title) for w in self.windows()) or "none"
                raise TimeoutError(f"no window titled {title!r} appeared within {timeout:g} s (windows: {titles})")
            time.sleep(0.1)

    def activate_window(self, window: Window | int) -> None:
        """Raise and focus a window."""
        self._call(self._session.window_command(window if isinstance(window, int) else window.id, "activate"))

    def close_window(self, window: Window | int) -> None:
        """Ask a window to close, as its close button would."""
        self._call(self._session.window_command(window if isinstance(window, int) else window.id, "close"))

    # ------------------------------------------------------------------ app ports

    def expose(self, port: int, name: str | None = None) -> str:
        """Let the Jupyter server proxy ``port`` inside the desktop (an app's web server, a web IDE, Chromium's
        ``--remote-debugging-port``), HTTP and WebSocket, behind Jupyter's login: returns its URL,
        ``{server}desktop/<id>/port/<port>/``. Only exposed ports are proxied (``unexpose`` ends it).

        The widget and the full-page viewer show each exposed port as a tab beside the desktop, named ``name``
        (default "port <port>", at most 40 characters). A Chromium DevTools port's tab opens DevTools for the
        browser's page: ``d.launch(["chromium", "--remote-debugging-port=9222"])``, ``d.expose(9222, "DevTools")``.
        """
        if not self._server_side:
            raise InvalidInputError(
                "expose() needs the desktop under a Jupyter server with jupyter_desktop's extension (the URL is the "
                "server's); this desktop runs in this process: reach its apps at http://127.0.0.1:PORT directly"
            )
        path = self._call(self._session.expose(port, name))["path"]
        if self._view is not None:
            self._view.refresh()  # its tab bar
        return cast(Any, self._hub).server.url.rstrip("/") + "/" + path

    def unexpose(self, port: int) -> None:
        """Stop proxying ``port`` (its tab goes)."""
        self._call(self._session.unexpose(port))
        if self._view is not None:
            self._view.refresh()

    # ------------------------------------------------------------------ the accessibility tree

    def accessibility(
        self,
        format: str = "tree",
        *,
        app: str | None = None,
        all: bool = False,
        max_nodes: int = 2000,
        max_depth: int = 64,
        max_text: int = 500,
        timeout: float = 30.0,
    ) -> AccessibilityTree | str:
        """The widgets on the screen, from the desktop's accessibility (AT-SPI) bus: an :class:`AccessibilityTree`
        (``.find(role=, name=, states=)``, nodes you can ``click()``, ``do()``, ``set_text()``, ``focus()``), or with
        ``format="text"`` a compact outline for a language model. ``app``: only applications whose name contains
        it; ``all``: widgets that are not showing too (closed menus, other tabs). Limits: ``max_nodes`` (at most
        20,000), ``max_depth`` (256), ``max_text`` characters of a name or text (100,000), ``timeout`` s (120).
        The desktop's environment has what GTK, Qt, Chromium, Electron and Firefox need to join the bus."""
        if format not in ("tree", "text"):
            raise InvalidInputError(f"format must be 'tree' or 'text', not {format!r:.40}")
        snapshot = self._call(
            self._session.accessibility(app, bool(all), max_nodes, max_depth, max_text, timeout), timeout + 30
        )
        return outline(snapshot) if format == "text" else AccessibilityTree(self, snapshot)

    def wait_for_node(
        self,
        role: str | None = None,
        name: str | re.Pattern[str] | None = None,
        *,
        states: Sequence[str] | str | None = None,
        text: str | re.Pattern[str] | None = None,
        app: str | None = None,
        max_nodes: int = 2000,
        timeout: float = 10.0,
    ) -> AccessibleNode:
        """Wait until a widget with that role, name, states and text (see :meth:`AccessibilityTree.find`) is on the
        screen and return it (the first in document order); TimeoutError after ``timeout`` s, naming what was
        there. ``app`` and ``max_nodes`` as for :meth:`accessibility`."""
        test = matcher(role, name, states, text)  # a bad role or state raises before any wait
        deadline = time.monotonic() + timeout
        while True:
            tree = cast(AccessibilityTree, self.accessibility(
                app=app, max_nodes=max_nodes, timeout=max(1.0, min(30.0, timeout))))  # fmt: skip
            found = [node for node in tree.nodes if test(node.data)]
            if found:
                return found[0]
            if time.monotonic() >= deadline:
                named = sorted({f"{n.role} {n.name!r}" for n in tree.nodes if n.name and n.actions})[:20]
                wanted = ", ".join(f"{k}={v!r}" for k, v in (("role", role), ("name", name), ("text", text)) if v)
                raise TimeoutError(
                    f"no node with {wanted or 'those states'} appeared within {timeout:g} s; on the screen: "
                    + (", ".join(named) or "nothing with a name and an action")
                    + (f" (the snapshot was cut at max_nodes={max_nodes}: raise it or give app=...)" if tree.truncated else "")
                )
            time.sleep(0.1)

    def wait_for_text(
        self,
        text: str,
        *,
        timeout: float = 10.0,
        region: tuple[int, int, int, int] | None = None,
        accessibility: bool = True,
    ) -> tuple[int, int, int, int]:
        """Wait until ``text`` is on the screen (any case) and return where: (x, y, width, height) in screen pixels.
        It is looked for in the accessibility tree first (exact, fast: a widget's name or text), then read off the
        screen by tesseract (a terminal's output, a canvas), each time the screen changed. TimeoutError after
        ``timeout`` s says what tesseract read last. ``region``: (x, y, w, h) to read only there."""
        from . import ocr

        if not isinstance(text, str) or not text.strip() or len(text) > 1000:
            raise InvalidInputError("text must be a non-empty string of at most 1000 characters")
        deadline = time.monotonic() + timeout
        seen, last = b"", ""
        use_tree = accessibility and region is None
        while True:
            if use_tree:
                try:
                    tree = cast(AccessibilityTree, self.accessibility(timeout=max(1.0, min(30.0, timeout))))
                    found = tree.find(name=text) or tree.find(text=text)
                    shown = [n for n in found if n.bounds]
                    if shown:
                        return shown[0].bounds  # type: ignore[return-value]
                except AccessibilityError:
                    use_tree = False  # no bus on this desktop: the screen only
            image = self.screenshot(region=region)
            pixels = image.tobytes()
            if pixels != seen:  # read again only what changed
                seen = pixels
                words = ocr.read(image)
                last = words.text
                box = ocr.find(words, text)
                if box is not None:
                    x, y = (region[0], region[1]) if region else (0, 0)
                    return box[0] + x, box[1] + y, box[2], box[3]
            if time.monotonic() >= deadline:
                read = re.sub(r"\s+", " ", last).strip()
                raise TimeoutError(
                    f"{text!r} did not appear on the screen within {timeout:g} s; tesseract last read: {read[:300]!r}"
                )
            time.sleep(0.1)

    def _accessible_command(self, node: AccessibleNode, command: str, arg: str | None) -> dict[str, Any]:
        """A node's click/do/set_text/focus/describe, through the gate as input is (a set_text is typing, an action
        a click at the node) and recorded as an ``agent`` step of this Desktop's own recording."""
        if command == "describe":
            return self._call(self._session.accessible_command(node.ref, "describe"))
        # where it is now: for a click, and for a policy to judge a "do" as a click there
        now: dict[str, Any] = (
            self._call(self._session.accessible_command(node.ref, "describe"))
            if command == "click" or (command == "do" and self._approve is not None) else {"ref": node.ref}
        )  # fmt: skip
        if command == "click":
            if not now.get("bounds"):
                raise InvalidInputError(f"{node!r} has no place on the screen (no bounds): use do(...) or set_text(...)")
            x, y, w, h = now["bounds"]
            self.left_click(x + w // 2, y + h // 2)
            return now
        if command == "set_text":
            judged = [{"action": "type", "text": arg if isinstance(arg, str) else ""}]
        elif command == "do" and now.get("bounds"):
            x, y, w, h = now["bounds"]
            judged = [{"action": "click", "x": x + w // 2, "y": y + h // 2}]
        else:
            judged = []
        self._gate(judged)
        call = lambda: self._call(self._session.accessible_command(node.ref, command, arg))  # noqa: E731
        recorder = self._recorder
        if not isinstance(recorder, Recorder):  # none, or the server records (the server's session notes it)
            return call()
        step = {"action": "accessible", "command": command, "ref": node.ref, "role": node.role, "name": node.name}
        return recorder._around([step if arg is None else {**step, "arg": arg}], call)

    # ------------------------------------------------------------------ clipboard

    def get_clipboard(self) -> str:
        """The desktop's clipboard text."""
        return self._call(self._session.get_clipboard())

    def set_clipboard(self, text: str) -> None:
        """Put ``text`` on the desktop's clipboard (paste it there with ctrl+v or the middle button... per app)."""
        self._call(self._session.set_clipboard(text))
