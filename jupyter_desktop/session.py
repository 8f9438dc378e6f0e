"""One running desktop as the manager holds it: backend handle, RFB control client, status, input state.

Everything here is async and runs on one event loop (the server's, or the embedded manager's thread).
Screens and input go over RFB (:mod:`jupyter_desktop.screen`, shared with the kernel's server-backed session);
apps, windows and the pointer position over the backend's exec channel.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import posixpath
import shlex
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from . import actions as _actions
from . import atspi
from .backends.base import Backend, BackendDesktop, DesktopSpec, LaunchedProcess, RunResult, check_argv, check_env
from .errors import (
    AccessibilityError,
    DesktopClosedError,
    DesktopError,
    ExistingFileError,
    InputLimitError,
    InvalidInputError,
    MissingDependencyError,
    NoSuchFileError,
    RFBError,
    TakenOverError,
)
from .gate import Gate
from .native_vnc import NativeVNC
from .rfb import RFBClient
from .rfb.connect import open_streams
from .screen import RFBScreen, check_clipboard_text, check_region
from .xtools import POINTER_COMMAND, TOOLS, WINDOWS_SCRIPT, Window, missing_tool, parse_pointer, parse_windows

if TYPE_CHECKING:
    from .trajectory import Recorder

__all__ = ["Session", "Window", "STATUSES"]

STATUSES = ("starting", "running", "stopping", "stopped", "error")

MAX_INPUT = 1 << 20  # bytes given to a command's standard input
MAX_LISTED = 10_000  # entries list_files returns

# The entries of "$1" (relative to the user's home), NUL-separated: type, size, mtime, name (last: a name may hold
# tabs or newlines); one more than the limit, to tell a bigger directory.
_LIST_SCRIPT = (
    'cd "$HOME" 2>/dev/null; test -d "$1" || { echo "no directory $1" >&2; exit 2; }; '
    f"find \"$1\" -mindepth 1 -maxdepth 1 -printf '%y\\t%s\\t%T@\\t%f\\0' | head -z -n {MAX_LISTED + 1}"
)
_FILE_TYPES = {"f": "file", "d": "directory", "l": "link"}
MAX_FILE = 64 << 20  # bytes of a file d.files reads or writes
MAX_PATH = 4096  # characters of a path
FILE_TIMEOUT = 300.0  # seconds a file's transfer may take
# d.files' commands, as the desktop's user, from their home; "$1" is the path. The bytes go in on standard input as
# they are, and come out in base64 (the exec channel's output is text). A refusal exits 91-95 with the reason.
_HOME = 'cd "$HOME" 2>/dev/null; unset CDPATH; '
_READ_SCRIPT = _HOME + (
    '[ -d "$1" ] && { echo "it is a directory" >&2; exit 92; }; [ -e "$1" ] || { echo "no such file" >&2; exit 91; }; '
    f'[ -r "$1" ] || {{ echo "permission denied" >&2; exit 95; }}; head -c {MAX_FILE + 1} -- "$1" | base64 -w0'
)
_WRITE_SCRIPT = _HOME + (  # "$2": 1 to create missing directories, "$3": a mode for chmod, "$4": 1 to never replace
    '[ -d "$1" ] && { echo "it is a directory" >&2; exit 92; }; dir=$(dirname -- "$1"); '
    'if [ "$2" = 1 ]; then mkdir -p -- "$dir" || exit 95; fi; '
    '[ -d "$dir" ] || { echo "no directory $dir (parents=True creates it)" >&2; exit 91; }; '
    # exclusive: claim the name first, creating the file empty with O_EXCL (set -C): a file there, or one made
    # meanwhile, is not replaced
    'if [ "$4" = 1 ]; then ( set -C; : > "$1" ) 2>/dev/null || { if [ -e "$1" ] || [ -L "$1" ]; then '
    'echo "it exists (exclusive: not replaced)" >&2; exit 93; fi; echo "permission denied" >&2; exit 95; }; fi; '
    'if [ -e "$1" ]; then [ -w "$1" ]; else [ -w "$dir" ]; fi || { echo "permission denied" >&2; exit 95; }; '
    'cat > "$1" || exit 96; [ -z "$3" ] || chmod -- "$3" "$1" || exit 96'
)
_REMOVE_SCRIPT = _HOME + (  # "$2": 1 to remove a directory and what it holds
    '[ -e "$1" ] || [ -L "$1" ] || { echo "no such file or directory" >&2; exit 91; }; '
    '[ -w "$(dirname -- "$1")" ] || { echo "permission denied" >&2; exit 95; }; '
    'if [ -d "$1" ] && ! [ -L "$1" ]; then real=$(cd -P -- "$1" && pwd -P) || exit 95; '
    'home=$(cd -P -- "$HOME" && pwd -P); '  # refused: the home directory, "/" and any directory on the way
    'case "$home/" in "${real%/}/"*) echo "it is / or holds the home directory $home" >&2; exit 94;; esac; '
    '[ "$2" = 1 ] || { echo "it is a directory (recursive=True removes it)" >&2; exit 92; }; '
    'rm -rf -- "$1" || exit 96; else rm -f -- "$1" || exit 96; fi'
)
_FILE_ERRORS: dict[int, type[DesktopError]] = {
    91: NoSuchFileError, 92: InvalidInputError, 93: ExistingFileError, 94: InvalidInputError, 95: InvalidInputError
}  # else (96: cat, chmod, rm failed) DesktopError


def check_file_path(path: Any) -> str:
    """A path d.files takes (1..MAX_PATH characters, no NUL), as a command's argument (never an option)."""
    if not isinstance(path, str) or not path or "\0" in path or len(path) > MAX_PATH:
        raise InvalidInputError(f"path must be a file's path (1 to {MAX_PATH} characters, no NUL), not {path!r:.200}")
    return "./" + path if path.startswith("-") else path


def check_file_data(data: Any, mode: Any = None) -> None:
    if not isinstance(data, (bytes, bytearray)):
        raise InvalidInputError(f"a file's content is bytes, not {type(data).__name__}")
    if len(data) > MAX_FILE:
        raise InputLimitError(f"the file would be {len(data)} bytes; the limit is {MAX_FILE} bytes (MAX_FILE)")
    if mode is not None and (isinstance(mode, bool) or not isinstance(mode, int) or not 0 <= mode <= 0o7777):
        raise InvalidInputError(f"mode must be permission bits in 0..0o7777 (0o644), or None, not {mode!r:.40}")


MAX_TIMEOUT = 3600.0  # seconds a command may run
MAX_EXPOSED = 16  # ports one desktop exposes at once
MAX_PORT_NAME = 40  # characters of an exposed port's tab name
MAX_SNAPSHOTS = 4  # accessibility snapshots read at once on one desktop (the rest wait their turn)
AGENT_WAIT = 600.0  # seconds a batch from the server's own callers (REST, MCP) waits for a person to hand back

class Session(RFBScreen):
    """A desktop: its spec, backend, RFB client and lifecycle (starting → running → stopped/error)."""

    def __init__(
        self, desktop_id: str, spec: DesktopSpec, backend: Backend, owner: str | None = None, *, native_vnc: bool = True
    ) -> None:
        self.id = desktop_id
        self.spec = spec
        self.backend = backend
        self.owner = owner
        self.status = "starting"
        self.error: str | None = None
        self.created = time.time()
        self.last_activity = self.created  # the server's note_activity() moves it: real use, not polls
        self.desktop: BackendDesktop | None = None
        self.rfb: RFBClient | None = None
        self.processes: dict[int, LaunchedProcess] = {}
        #: The server's recording of this desktop, while one is under way: input it sends (``perform``) is an
        #: ``agent`` step of it, with the error if it failed.
        self.recorder: Recorder | None = None
        self.gate = Gate(self._gate_event)  # who holds the desktop, the approvals waiting (a person in the loop)
        self._init_screen()
        self._death_task: asyncio.Task[None] | None = None
        self._atspi: atspi.AtspiClient | None = None  # the accessibility bus, once asked
        self._atspi_lock = asyncio.Lock()
        #: The ports of the desktop its owner exposed, with their tab names: the only ones the server proxies
        #: (server/ports.py); the widget's and the viewer's tab bars show them.
        self.ports: dict[int, str] = {}
        self._snapshots = asyncio.Semaphore(MAX_SNAPSHOTS)  # a thousand requests at once walk 4 at a time
        #: Whether enable_vnc() may open a listener (the Jupyter server's DesktopExtension.native_vnc).
        self.native_vnc_allowed = native_vnc
        self._vnc: NativeVNC | None = None
        self._vnc_lock = asyncio.Lock()

    # ------------------------------------------------------------------ lifecycle

    async def start(self, running: BackendDesktop | None = None) -> None:
        """Start the desktop, or take over ``running``, one the backend adopted (a restarted server)."""
        self.status, self.error = "starting", None
        try:
            self.desktop = running or await self.backend.start(self.spec, self.id)
            endpoint = self.desktop.endpoint
            self.rfb = await RFBClient.open(
                endpoint.path, host=endpoint.host, port=endpoint.port, password=endpoint.password
            )
        except BaseException as exc:
            self.status, self.error = "error", str(exc)
            await self._release()
            raise
        self.input = _actions.InputState(self.rfb.width // 2, self.rfb.height // 2)
        self.rfb.add_close_callback(self._on_rfb_closed)
        self.status = "running"

    def _on_rfb_closed(self) -> None:
        if self.status != "running":
            return
        rfb_error = self.rfb.error if self.rfb else None
        self.status = "error"
        self._drop_vnc()
        self.error = (self.desktop.died() if self.desktop else None) or str(rfb_error or "the VNC connection closed")
        if self.desktop is not None:
            self._death_task = asyncio.get_running_loop().create_task(self._explain_death(self.desktop))

    async def _explain_death(self, desktop: BackendDesktop) -> None:
        """The RFB connection usually notices first; give the backend a moment to say what died."""
        for _ in range(40):
            reason = desktop.died()
            if reason:
                if self.status == "error" and self.desktop is desktop:
                    self.error = reason
                return
            await asyncio.sleep(0.05)

    async def _release(self) -> None:
        vnc, self._vnc = self._vnc, None
        if vnc is not None:
            await vnc.close()
        client, self._atspi = self._atspi, None
        if client is not None:
            client.close()
        rfb, self.rfb = self.rfb, None
        if rfb is not None:
            await rfb.close()
        desktop, self.desktop = self.desktop, None
        if desktop is not None:
            await desktop.stop()
        self.processes.clear()

    async def stop(self) -> None:
        if self.status == "stopped":
            return
        self.status = "stopping"
        try:
            await self._release()
        finally:
            self.status = "stopped"

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    def terminate_now(self) -> None:
        """Synchronous last-resort stop for atexit and signal handlers."""
        desktop = self.desktop
        if desktop is not None:
            desktop.terminate_now()
        self.status = "stopped"

    def _notice_death(self) -> None:
        """A desktop that died without closing our RFB connection (its session exited) becomes an error,
        and what is left of it is stopped."""
        if self.status == "running" and self.desktop is not None:
            reason = self.desktop.died()
            if reason:
                self.status, self.error = "error", reason
                with contextlib.suppress(RuntimeError):  # not on the loop: the next call on it releases
                    self._death_task = asyncio.get_running_loop().create_task(self._release())
                    self._drop_vnc()

    async def describe(self) -> dict[str, Any]:
        """``to_dict()``, on the session's loop (``Desktop.info`` calls it from another thread)."""
        return self.to_dict()

    def check(self) -> RFBClient:
        """The RFB client of a running desktop, or a clear error saying why there is none."""
        self._notice_death()
        if self.status == "running" and self.rfb is not None and not self.rfb.closed:
            return self.rfb
        if self.status == "running":
            self._on_rfb_closed()
        if self.status == "error":
            raise DesktopClosedError(f"desktop {self.id} failed: {self.error}. Call restart() to start it again.")
        if self.status in ("stopping", "stopped"):
            raise DesktopClosedError(f"desktop {self.id} was closed; start a new one with Desktop()")
        raise DesktopError(f"desktop {self.id} is still starting")

    def _backend_desktop(self) -> BackendDesktop:
        self.check()
        assert self.desktop is not None
        return self.desktop

    def to_dict(self) -> dict[str, Any]:
        self._notice_death()
        rfb = self.rfb
        return {
            "id": self.id,
            "status": self.status,
            "error": self.error,
            "owner": self.owner,
            "backend": self.backend.name,
            "profile": self.spec.profile if isinstance(self.spec.profile, str) else list(self.spec.profile),
            "width": rfb.width if rfb else self.spec.width,
            "height": rfb.height if rfb else self.spec.height,
            "depth": self.spec.depth,
            "dpi": self.spec.dpi,
            "created": self.created,
            "last_activity": self.last_activity,
            "ports": self._exposed(),
            **(self.desktop.info() if self.desktop else {}),
        }

    # ------------------------------------------------------------------ screen

    @property
    def size(self) -> tuple[int, int]:
        rfb = self.check()
        return rfb.width, rfb.height

    async def connected(self) -> RFBClient:
        return self.check()

    def check_region(self, region: Sequence[int] | None) -> tuple[int, int, int, int]:
        return check_region(region, self.size)

    async def open_rfb(self) -> tuple[Any, Any]:
        """A fresh connection to the desktop's VNC server, for a viewer tunnelled through the kernel:
        ``(read(n) coroutine, write(bytes) function; write(None) closes)``."""
        endpoint = self._backend_desktop().endpoint
        reader, writer = await open_streams(path=endpoint.path, host=endpoint.host, port=endpoint.port)

        def write(data: bytes | None) -> None:
            if data is None:
                writer.close()
            else:
                writer.write(data)

        return reader.read, write

    async def resize(self, width: int, height: int) -> None:
        DesktopSpec(width=width, height=height)  # validates the numbers
        rfb = self.check()
        try:
            await rfb.set_desktop_size(width, height)
        except RFBError as exc:
            hint = ""
            if (self.desktop.info() if self.desktop else {}).get("x_server") == "xvfb":
                hint = (
                    ". This desktop runs Xvfb + x11vnc, which cannot resize; TigerVNC's Xvnc can "
                    "(sudo apt-get install tigervnc-standalone-server)"
                )
            raise DesktopError(f"{exc}{hint}") from None

    # ------------------------------------------------------------------ native VNC clients (opt-in)

    async def enable_vnc(self) -> dict[str, Any]:
        if not self.native_vnc_allowed:
            raise InvalidInputError(
                "native VNC clients are off on this Jupyter server: its administrator can allow them with "
                "c.DesktopExtension.native_vnc = True (off by default; see \"Native VNC clients (opt-in)\" in "
                "jupyter_desktop's README for the risks)"
            )
        async with self._vnc_lock:
            self.check()
            if self._vnc is None or self._vnc.closed:
                self._vnc = await NativeVNC.start(self.id, lambda: self._backend_desktop().endpoint)
            else:
                self._vnc.new_password()
            return self._vnc.info()

    async def disable_vnc(self) -> None:
        async with self._vnc_lock:
            vnc, self._vnc = self._vnc, None
            if vnc is not None:
                await vnc.close()

    async def vnc_endpoint(self) -> dict[str, Any] | None:
        vnc = self._vnc
        return vnc.info() if vnc is not None and not vnc.closed else None

    def _drop_vnc(self) -> None:
        """The desktop died: nobody may connect to it any more (on the loop's thread)."""
        vnc, self._vnc = self._vnc, None
        if vnc is not None:
            vnc.close_now()

    # ------------------------------------------------------------------ input

    async def perform(self, actions: Sequence[Mapping[str, Any]]) -> None:
        """Send a batch of actions (:meth:`RFBScreen.perform`) once the agent holds the desktop (a person who took
        it over hands it back: ``AGENT_WAIT`` s at most, then TakenOverError); an ``agent`` step while the server
        records."""
        if not await self.gate.wait_for_control(AGENT_WAIT):
            raise TakenOverError(f"{self.gate.by} holds desktop {self.id} and did not hand it back within {AGENT_WAIT:g} s")
        recorder = self.recorder
        if recorder is None or not recorder.recording:
            return await super().perform(actions)
        began = time.time()
        before = await self.capture(None, None, True)
        start, error = time.monotonic(), None
        try:
            await super().perform(actions)
        except BaseException as exc:
            error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            recorder.note(actions, "agent", began=began, before=before, duration=round(time.monotonic() - start, 4), error=error)

    # ------------------------------------------------------------------ a person in the loop

    async def control(self) -> dict[str, Any]:
        return self.gate.state()

    async def watch(self, version: int = -1, timeout: float = 30.0) -> dict[str, Any]:
        return await self.gate.watch(version, timeout)

    async def take_over(self, by: str = "") -> dict[str, Any]:
        return self.gate.take_over(by)

    async def hand_back(self, by: str = "") -> dict[str, Any]:
        return self.gate.hand_back(by)

    async def wait_for_control(self, timeout: float = 3600.0) -> bool:
        return await self.gate.wait_for_control(timeout)

    async def ask(self, actions: Sequence[Mapping[str, Any]], timeout: float = 120.0) -> dict[str, Any]:
        return await self.gate.ask(actions, timeout)

    async def decide(self, request: int, decision: str, by: str = "") -> dict[str, Any]:
        return self.gate.decide(request, decision, by)

    def _gate_event(self, kind: str, detail: dict[str, Any]) -> None:
        """Approvals and changes of control are steps of the recording under way (the audit)."""
        recorder = self.recorder
        if recorder is not None and recorder.recording and kind != "withdrawn":
            recorder.note([{"action": kind, **detail}], "control" if kind in ("take_over", "hand_back") else "approval")

    async def pointer_position(self) -> tuple[int, int]:
        """Where the pointer really is (a person may have moved it in the browser)."""
        result = await self._tool(POINTER_COMMAND)
        position = parse_pointer(result)
        if position is None:
            raise DesktopError(f"xdotool gave no pointer position: {result.stdout!r} {result.stderr!r}")
        return position

    # ------------------------------------------------------------------ clipboard

    # Setting goes over RFB where the server speaks the extended (UTF-8) clipboard, as TigerVNC does;
    # x11vnc takes cut text over RFB but does not serve it to X clients, so there we use xclip.

    async def get_clipboard(self) -> str:
        # Read from X, the truth whoever set it: a VNC server does not pass one VNC client's clipboard
        # (a browser viewer's) to another (us). RFB is the fallback when xclip is missing.
        rfb = self.check()
        try:
            result = await self._tool(["xclip", "-o", "-selection", "clipboard"])
        except MissingDependencyError:
            return await rfb.get_clipboard()
        return result.stdout if result.returncode == 0 else ""

    async def set_clipboard(self, text: str) -> None:
        check_clipboard_text(text)
        rfb = self.check()
        if rfb.extended_clipboard:
            await rfb.set_clipboard(text)
            return
        result = await self._backend_desktop().run(["xclip", "-i", "-selection", "clipboard"], input=text.encode())
        if result.returncode != 0:
            raise DesktopError(f"xclip could not set the clipboard: {result.stderr.strip()}")

    # ------------------------------------------------------------------ exec channel

    @staticmethod
    def _argv(command: str | Sequence[str], shell: bool = False) -> list[str]:
        """The argv of a command: a list as is; a string split like a shell would, or run by ``sh -c``."""
        if isinstance(command, str):
            try:
                argv = ["sh", "-c", command] if shell and command.strip() else shlex.split(command)
            except ValueError as exc:  # unbalanced quotes
                raise InvalidInputError(f"cannot split the command {command!r:.200}: {exc}") from None
        elif isinstance(command, (list, tuple)) and all(isinstance(a, str) for a in command):
            argv = list(command)
        else:
            raise InvalidInputError(f"a command is a string or a list of strings, not {command!r:.200}")
        if not argv or not argv[0]:
            raise InvalidInputError("the command is empty")
        check_argv(argv)
        return argv

    @staticmethod
    def _options(env: Any, cwd: Any) -> tuple[dict[str, str], str | None]:
        if cwd is not None and (not isinstance(cwd, str) or not cwd or "\0" in cwd or len(cwd) > 4096):
            raise InvalidInputError(f"cwd must be a directory path, not {cwd!r:.200}")
        return check_env(env), cwd

    async def _tool(self, argv: list[str], timeout: float = 20.0) -> RunResult:
        try:
            result = await self._backend_desktop().run(argv, timeout=timeout)
        except InvalidInputError:
            raise missing_tool(argv[0]) from None
        if result.returncode == 127:
            raise missing_tool(next((t for t in TOOLS if t in result.stderr), argv[0]))
        return result

    async def run(
        self,
        command: str | Sequence[str],
        *,
        input: str | bytes | None = None,
        timeout: float | None = 60.0,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
    ) -> RunResult:
        """Run ``command`` to completion; a string runs through ``sh -c`` (pipes, globs, ``&&`` work)."""
        argv = self._argv(command, shell=True)
        env, cwd = self._options(env, cwd)
        if input is not None and not isinstance(input, (str, bytes)):
            raise InvalidInputError(f"input must be text or bytes, not {type(input).__name__}")
        data = input.encode() if isinstance(input, str) else input
        if data is not None and len(data) > MAX_INPUT:
            raise InputLimitError(f"input is {len(data)} bytes; the limit is {MAX_INPUT} bytes per command")
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= MAX_TIMEOUT
        ):
            raise InvalidInputError(f"timeout must be a number of seconds in (0, {MAX_TIMEOUT}], or None, not {timeout!r}")
        return await self._backend_desktop().run(argv, input=data, timeout=timeout, env=env, cwd=cwd)

    async def launch(
        self, command: str | Sequence[str], *, env: Mapping[str, str] | None = None, cwd: str | None = None
    ) -> LaunchedProcess:
        argv = self._argv(command)
        env, cwd = self._options(env, cwd)
        process = await self._backend_desktop().launch(argv, env=env, cwd=cwd)
        self.processes = {pid: p for pid, p in self.processes.items() if p.returncode is None}
        self.processes[process.pid] = process
        return process

    def process(self, pid: int) -> LaunchedProcess:
        try:
            return self.processes[pid]
        except KeyError:
            raise InvalidInputError(f"no process {pid} was launched on desktop {self.id}") from None

    async def open(
        self, target: str, *, env: Mapping[str, str] | None = None, cwd: str | None = None
    ) -> LaunchedProcess:
        if not isinstance(target, str) or not target.strip():
            raise InvalidInputError("open() needs a URL or a file path")
        return await self.launch(["xdg-open", target], env=env, cwd=cwd)

    async def list_files(self, path: str = ".") -> list[dict[str, Any]]:
        if not isinstance(path, str) or not path or "\0" in path or len(path) > 4096:
            raise InvalidInputError(f"path must be a directory's path, not {path!r:.200}")
        if path.startswith("-"):
            path = "./" + path  # not an option of find
        result = await self._backend_desktop().run(["sh", "-c", _LIST_SCRIPT, "sh", path], timeout=60)
        if result.returncode == 2 and result.stderr.startswith("no directory"):
            raise InvalidInputError(f"no directory {path!r:.200} on desktop {self.id}")
        if result.returncode != 0:
            raise DesktopError(f"cannot list {path!r:.200}: {result.stderr.strip()[:500]}")
        entries = []
        for record in result.stdout.split("\0"):
            kind, size, modified, name = (record.split("\t", 3) + ["", "", ""])[:4] if record else ("", "", "", "")
            if not name:
                continue
            entries.append(
                {"name": name, "type": _FILE_TYPES.get(kind, "other"), "size": int(size), "modified": float(modified)}
            )
        if len(entries) > MAX_LISTED:
            raise InputLimitError(f"{path!r:.200} has more than {MAX_LISTED} entries (MAX_LISTED); list a smaller directory")
        return sorted(entries, key=lambda e: e["name"])

    async def _file_command(self, what: str, script: str, path: str, *args: str, data: bytes | None = None) -> str:
        argv = ["sh", "-c", script, "sh", check_file_path(path), *args]
        result = await self._backend_desktop().run(argv, input=data, timeout=FILE_TIMEOUT)
        if result.returncode != 0:
            kind = _FILE_ERRORS.get(result.returncode, DesktopError)
            raise kind(f"cannot {what} {path!r:.200} on desktop {self.id}: {result.stderr.strip()[-500:]}")
        return result.stdout

    async def read_file(self, path: str) -> bytes:
        data = base64.b64decode(await self._file_command("read", _READ_SCRIPT, path))
        if len(data) > MAX_FILE:
            raise InputLimitError(f"{path!r:.200} is more than {MAX_FILE} bytes (MAX_FILE); read parts with run()")
        return data

    async def write_file(
        self, path: str, data: bytes, parents: bool = False, mode: int | None = None, exclusive: bool = False
    ) -> None:
        check_file_path(path)
        check_file_data(data, mode)
        if path.endswith("/"):
            raise InvalidInputError(f"{path!r:.200} names a directory (it ends with /), not a file")
        flags = ("1" if parents else "", "" if mode is None else format(mode, "o"), "1" if exclusive else "")
        await self._file_command("write", _WRITE_SCRIPT, path, *flags, data=bytes(data))

    async def remove_file(self, path: str, recursive: bool = False) -> None:
        if posixpath.normpath(check_file_path(path)) in ("/", "//", "."):  # the script refuses them too
            raise InvalidInputError(f"cannot remove {path!r}: it is / or the home directory")
        await self._file_command("remove", _REMOVE_SCRIPT, path, "1" if recursive else "")

    # ------------------------------------------------------------------ app ports

    async def expose(self, port: int, name: str | None = None) -> dict[str, Any]:
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            raise InvalidInputError(f"port must be a whole number from 1 to 65535, not {port!r:.40}")
        if name is None:
            name = f"port {port}"
        if not isinstance(name, str) or not 1 <= len(name) <= MAX_PORT_NAME or not name.isprintable():
            raise InvalidInputError(
                f"name must be a tab's name: 1 to {MAX_PORT_NAME} printable characters (MAX_PORT_NAME), not {name!r:.80}"
            )
        if port not in self.ports and len(self.ports) >= MAX_EXPOSED:
            raise InputLimitError(f"desktop {self.id} exposes {MAX_EXPOSED} ports (MAX_EXPOSED): unexpose one first")
        await self._backend_desktop().port_host(port)  # say now if no port of it can be reached
        self.ports[port] = name
        return self._port(port)

    async def unexpose(self, port: int) -> None:
        self.ports.pop(port, None)

    async def exposed(self) -> list[dict[str, Any]]:
        return self._exposed()

    def _port(self, port: int) -> dict[str, Any]:
        return {"port": port, "name": self.ports[port], "path": f"desktop/{self.id}/port/{port}/"}

    def _exposed(self) -> list[dict[str, Any]]:
        return [self._port(port) for port in self.ports]  # in the order they were exposed: the tabs' order

    # ------------------------------------------------------------------ the accessibility tree

    async def _accessible(self) -> atspi.AtspiClient:
        async with self._atspi_lock:
            client = self._atspi
            if client is None or not client.connected:
                desktop = self._backend_desktop()
                client = self._atspi = await atspi.AtspiClient.connect(await desktop.accessibility_bus())
            return client

    async def accessibility(
        self,
        app: str | None = None,
        show_all: bool = False,
        max_nodes: int = atspi.DEFAULT_NODES,
        max_depth: int = atspi.DEFAULT_DEPTH,
        max_text: int = atspi.DEFAULT_TEXT,
        timeout: float = 30.0,
    ) -> dict[str, Any]:
        atspi.check_limits(max_nodes, max_depth, max_text, timeout)
        client = await self._accessible()
        deadline = time.monotonic() + timeout  # the wait for a turn counts in the timeout
        try:
            await asyncio.wait_for(self._snapshots.acquire(), timeout)
        except asyncio.TimeoutError:
            raise AccessibilityError(
                f"no snapshot within {timeout:g} s (timeout): {MAX_SNAPSHOTS} are read at a time on a desktop"
            ) from None
        try:
            left = max(0.05, deadline - time.monotonic())
            return await client.snapshot(app, show_all, max_nodes, max_depth, max_text, left)
        finally:
            self._snapshots.release()

    async def accessible_command(self, ref: str, command: str, arg: str | None = None) -> dict[str, Any]:
        if command not in (*atspi.COMMANDS, "click"):
            raise InvalidInputError(f"no node command {command!r:.40}: one of {', '.join((*atspi.COMMANDS, 'click'))}")
        atspi.parse_ref(ref)
        client = await self._accessible()
        if command == "describe":
            return await client.command(ref, "describe")
        if not await self.gate.wait_for_control(AGENT_WAIT):
            raise TakenOverError(f"{self.gate.by} holds desktop {self.id} and did not hand it back within {AGENT_WAIT:g} s")
        node = await client.command(ref, "describe") if command in ("click", "set_text") else {"ref": ref}
        if command == "click":
            x, y = await self._center(node)
            await self.perform([{"action": "click", "x": x, "y": y}])  # as a person clicks: a step while recording
            return node
        if command == "set_text" and "EditableText" not in node["interfaces"] and "editable" in node["states"]:
            # an editable field without AT-SPI's EditableText (Chromium's): focus it, select all, type
            if not isinstance(arg, str):
                raise InvalidInputError("set_text needs a string")
            await client.command(ref, "focus")
            await self.perform([{"action": "press", "keys": "ctrl+a"}, {"action": "type", "text": arg}])
            return await client.command(ref, "describe")
        recorder, began = self.recorder, time.time()
        error = None
        try:
            node = await client.command(ref, command, arg)
            return node
        except BaseException as exc:
            error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            if recorder is not None and recorder.recording:
                step = {"action": "accessible", "command": command, "ref": ref}
                step.update({k: node[k] for k in ("role", "name") if k in node})
                recorder.note([step if arg is None else {**step, "arg": arg}], "agent", began=began, error=error)

    async def _center(self, node: Mapping[str, Any]) -> tuple[int, int]:
        """The middle of a node's bounds, which must be on the screen."""
        bounds = node.get("bounds")
        label = f"node {node['ref']} ({node['role']} {node['name']!r:.60})"
        if not bounds:
            raise InvalidInputError(f"{label} has no place on the screen (no bounds): use do(...) or set_text(...)")
        x, y, w, h = bounds
        cx, cy = x + w // 2, y + h // 2
        width, height = await self.screen_size()
        if not (0 <= cx < width and 0 <= cy < height):
            raise InvalidInputError(f"{label} is off the screen (bounds {bounds}): scroll it into view first")
        return cx, cy

    async def windows(self) -> list[Window]:
        result = await self._tool(["sh", "-c", WINDOWS_SCRIPT])
        return parse_windows(result.stdout)

    async def window_command(self, window_id: int, what: str) -> None:
        if what not in ("activate", "close"):
            raise InvalidInputError(f"a window command is activate or close, not {what!r:.80}")
        if all(w.id != window_id for w in await self.windows()):  # wmctrl says nothing of unknown ids
            raise InvalidInputError(f"no window {hex(window_id)} on desktop {self.id}; windows() lists them")
        flags = {"activate": "-ia", "close": "-ic"}[what]
        result = await self._tool(["wmctrl", flags, hex(window_id)])
        if result.returncode != 0:
            raise DesktopError(f"cannot {what} window {hex(window_id)}: {result.stderr.strip() or 'no such window'}")
