"""One running desktop as the manager holds it: backend handle, RFB control client, status, input state.

Everything here is async and runs on one event loop (the server's, or the embedded manager's thread).
Screens and input go over RFB; apps, windows and the pointer position over the backend's exec channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shlex
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from PIL import Image

from . import actions as _actions
from .backends.base import Backend, BackendDesktop, DesktopSpec, LaunchedProcess, RunResult, check_argv, check_env
from .errors import (
    DesktopBusyError,
    DesktopClosedError,
    DesktopError,
    InputLimitError,
    InvalidInputError,
    MissingDependencyError,
    RFBError,
)
from .rfb import RFBClient
from .rfb.connect import open_streams

__all__ = ["Session", "Window", "STATUSES", "scale_image", "scaled_size"]

STATUSES = ("starting", "running", "stopping", "stopped", "error")

MAX_INPUT = 1 << 20  # bytes given to a command's standard input
MAX_TIMEOUT = 3600.0  # seconds a command may run
MAX_CLIPBOARD = 1 << 20  # characters put on the clipboard
MAX_QUEUE_WAIT = 30.0  # seconds a batch of actions waits for the ones before it
MAX_STABLE_WAIT = 600.0  # seconds wait_until_stable may wait
EFFECT_GRACE = 0.5  # seconds an input's effect has to show before wait_until_stable counts quiet time

_TOOLS = {"xdotool": "xdotool", "wmctrl": "wmctrl", "xprop": "x11-utils", "xwininfo": "x11-utils", "xdg-open": "xdg-utils", "xclip": "xclip"}

# One exec lists the windows: ids, pids, classes and titles from wmctrl when a window manager speaks
# EWMH (else the root's visible children from xdotool), and true geometry from xwininfo's tree (wmctrl
# and xdotool count the frame decoration twice under reparenting window managers).
_WINDOWS_SCRIPT = r"""
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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def scale_image(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Resize for a model. Shrinking averages areas (crisp text, and faster than bilinear: 6 ms vs
    9 ms for 1280x800 -> 1024x640); whole factors use ``reduce`` (under 1 ms for a half)."""
    if image.size == size:
        return image
    fx, fy = image.width / size[0], image.height / size[1]
    if fx == fy and fx.is_integer() and fx > 1:
        return image.reduce(int(fx))
    shrinking = size[0] <= image.width and size[1] <= image.height
    return image.resize(size, Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR)


MAX_SCALED = 8192  # pixels on either side of a scaled screenshot


def scaled_size(size: tuple[int, int], scale: float | Sequence[int]) -> tuple[int, int]:
    """The size of an image of ``size`` scaled by a factor in (0, 4], or to a (width, height)."""
    if isinstance(scale, (int, float)) and not isinstance(scale, bool):
        if not 0 < scale <= 4:  # NaN fails this too
            raise InvalidInputError(f"scale must be a factor in (0, 4] or a (width, height), not {scale!r}")
        out = (max(1, round(size[0] * scale)), max(1, round(size[1] * scale)))
    elif isinstance(scale, (list, tuple)) and len(scale) == 2 and all(isinstance(v, int) and not isinstance(v, bool) for v in scale):
        out = (scale[0], scale[1])
    else:
        raise InvalidInputError(f"scale must be a factor (0.5) or a size (1024, 640), not {scale!r}")
    if not all(0 < v <= MAX_SCALED for v in out):
        raise InputLimitError(f"a scaled screenshot of {out[0]}x{out[1]}: each side must be 1..{MAX_SCALED} pixels")
    return out


def _parse_windows(text: str) -> list[Window]:
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


async def _compile(
    actions: Sequence[Mapping[str, Any]], state: _actions.InputState, size: tuple[int, int]
) -> tuple[list[Any], _actions.InputState]:
    big = isinstance(actions, (list, tuple)) and (
        len(actions) > 100
        or sum(len(a.get("text", "")) for a in actions if isinstance(a, Mapping) and isinstance(a.get("text"), str)) > 2000
    )
    if big:
        return await asyncio.to_thread(_actions.compile_actions, actions, state, size)
    return _actions.compile_actions(actions, state, size)


class Session:
    """A desktop: its spec, backend, RFB client and lifecycle (starting → running → stopped/error)."""

    def __init__(self, desktop_id: str, spec: DesktopSpec, backend: Backend, owner: str | None = None) -> None:
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
        self.input = _actions.InputState()
        self.processes: dict[int, LaunchedProcess] = {}
        self._input_lock = asyncio.Lock()
        self.last_input = 0.0  # time.monotonic() when our last input event was sent
        self._death_task: asyncio.Task[None] | None = None

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
            **(self.desktop.info() if self.desktop else {}),
        }

    # ------------------------------------------------------------------ screen

    @property
    def size(self) -> tuple[int, int]:
        rfb = self.check()
        return rfb.width, rfb.height

    async def screen_size(self) -> tuple[int, int]:
        return self.size

    async def capture(self, region: Sequence[int] | None = None, fresh: bool = True) -> Image.Image:
        """The screen (or ``region`` = (x, y, width, height)) as an RGB image, straight from the mirror."""
        rfb = self.check()
        if fresh:
            await rfb.sync()
        x, y, w, h = self.check_region(region)
        view = rfb.framebuffer[y : y + h, x : x + w]
        # One pass from the RGBX mirror into a new RGB image (a copy: the mirror keeps changing).
        return Image.frombytes("RGB", (w, h), view if view.flags.c_contiguous else view.tobytes(), "raw", "RGBX")

    def check_region(self, region: Sequence[int] | None) -> tuple[int, int, int, int]:
        width, height = self.size
        if region is None:
            return 0, 0, width, height
        if (
            not isinstance(region, (list, tuple))
            or len(region) != 4
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in region)
        ):
            raise InvalidInputError(f"region must be (x, y, width, height) in integers, not {region!r}")
        x, y, w, h = region
        if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > width or y + h > height:
            raise InvalidInputError(f"region {tuple(region)} is not inside the {width}x{height} screen")
        return x, y, w, h

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

    async def wait_until_stable(self, quiet: float = 0.5, timeout: float = 10.0) -> bool:
        """Wait until the screen has not changed for ``quiet`` seconds; False if ``timeout`` came first.

        The quiet time counts from this call at the earliest (a screen that was still before an action says
        nothing about the action's effect), and from the last change seen. When input was sent and nothing
        changed since, its effect gets ``EFFECT_GRACE`` seconds to show before the quiet time starts.
        """
        for name, value in (("quiet", quiet), ("timeout", timeout)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= MAX_STABLE_WAIT:
                raise InvalidInputError(f"{name} must be a number of seconds in 0..{MAX_STABLE_WAIT:g}, not {value!r}")
        start = time.monotonic()
        deadline = start + timeout
        while True:
            rfb = self.check()
            await rfb.sync()
            now = time.monotonic()
            since = max(start, rfb.last_change)
            if self.last_input > rfb.last_change:  # nothing has changed since our last input: not yet
                since = max(since, self.last_input + EFFECT_GRACE)
            still = now - since
            if still >= quiet:
                return True
            if now >= deadline:
                return False
            await asyncio.sleep(max(0.01, min(quiet - still, deadline - now, 0.05)))

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

    # ------------------------------------------------------------------ input

    async def perform(self, actions: Sequence[Mapping[str, Any]]) -> None:
        """Validate a batch of actions (see :mod:`jupyter_desktop.actions`) and send it."""
        rfb = self.check()
        # Check before waiting in line (a bad batch fails at once); a big batch compiles off the event loop
        # (100k characters take ~0.1 s), which serves every other request and viewer meanwhile.
        state, size = self.input, (rfb.width, rfb.height)
        compiled = await _compile(actions, state, size)
        try:
            await asyncio.wait_for(self._input_lock.acquire(), MAX_QUEUE_WAIT)
        except asyncio.TimeoutError:
            raise DesktopBusyError(
                f"desktop {self.id} is still busy with earlier batches of actions after {MAX_QUEUE_WAIT:g} s; "
                "try again, or send fewer or shorter batches at once"
            ) from None
        try:
            rfb = self.check()
            steps, after = compiled
            if _actions.needs_pointer(actions):
                x, y = await self.pointer_position()
                state = _actions.InputState(x, y, self.input.buttons, self.input.keys_down)
                steps, after = await _compile(actions, state, (rfb.width, rfb.height))
            elif self.input != state or size != (rfb.width, rfb.height):  # changed while this batch waited
                steps, after = await _compile(actions, self.input, (rfb.width, rfb.height))
            self.last_input = time.monotonic()
            try:
                await _actions.execute(steps, rfb)
            finally:
                self.last_input = time.monotonic()
            self.input = after
        finally:
            self._input_lock.release()

    async def pointer_position(self) -> tuple[int, int]:
        """Where the pointer really is (a person may have moved it in the browser)."""
        result = await self._tool(["xdotool", "getmouselocation", "--shell"])
        values = dict(line.split("=", 1) for line in result.stdout.split() if "=" in line)
        try:
            return int(values["X"]), int(values["Y"])
        except (KeyError, ValueError):
            raise DesktopError(f"xdotool gave no pointer position: {result.stdout!r} {result.stderr!r}") from None

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
        if not isinstance(text, str):
            raise InvalidInputError(f"clipboard text must be a string, not {type(text).__name__}")
        if len(text) > MAX_CLIPBOARD:
            raise InputLimitError(f"clipboard text of {len(text)} characters; the limit is {MAX_CLIPBOARD}")
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
            raise MissingDependencyError(
                f"{argv[0]} is not installed in the desktop; install it with: sudo apt-get install {_TOOLS.get(argv[0], argv[0])}"
            ) from None
        if result.returncode == 127:
            missing = next((t for t in _TOOLS if t in result.stderr), argv[0])
            raise MissingDependencyError(
                f"{missing} is not installed in the desktop; install it with: sudo apt-get install {_TOOLS.get(missing, missing)}"
            )
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

    async def windows(self) -> list[Window]:
        result = await self._tool(["sh", "-c", _WINDOWS_SCRIPT])
        return _parse_windows(result.stdout)

    async def window_command(self, window_id: int, what: str) -> None:
        if all(w.id != window_id for w in await self.windows()):  # wmctrl says nothing of unknown ids
            raise InvalidInputError(f"no window {hex(window_id)} on desktop {self.id}; windows() lists them")
        flags = {"activate": "-ia", "close": "-ic"}[what]
        result = await self._tool(["wmctrl", flags, hex(window_id)])
        if result.returncode != 0:
            raise DesktopError(f"cannot {what} window {hex(window_id)}: {result.stderr.strip() or 'no such window'}")
