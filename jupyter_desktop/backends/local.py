"""Desktops as local processes: TigerVNC's Xvnc (or Xvfb + x11vnc), a window manager, a private D-Bus.

Each desktop lives in a private 0700 directory under ``$TMPDIR/jupyter-desktop-<uid>/<id>/``: its RFB unix
socket (no TCP listener), X authority cookie, logs and ``desktop.json``, which records who owns it. That
directory is the on-disk registry: a later start finds desktops whose owner died (SIGKILL) and reaps them.

Nothing outlives its owner: every process is started in its own session (a kernel interrupt does not
reach it) with ``PR_SET_PDEATHSIG`` (it dies with the owner), and carries the desktop's marker in its
environment, so stop finds and kills the whole tree (see :mod:`._proc`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shlex
import shutil
import signal
import struct
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import DesktopStartError, InvalidInputError, MissingDependencyError
from ..images.desktop import first_look
from . import _proc, owners
from .base import ACCESSIBILITY_ENV, Backend, BackendDesktop, DesktopSpec, LaunchedProcess, RFBEndpoint, RunResult

__all__ = ["LocalBackend", "LocalDesktop", "registry_dir", "reap_orphans"]

# Variables of the owner's environment that would point the desktop's programs at another display,
# bus or session.
_DROP_ENV = (
    "DISPLAY",
    "XAUTHORITY",
    "WAYLAND_DISPLAY",
    "DBUS_SESSION_BUS_ADDRESS",
    "SESSION_MANAGER",
    "XDG_SESSION_ID",
    "XDG_SESSION_TYPE",
    "XDG_CURRENT_DESKTOP",
    "DESKTOP_SESSION",
    "GNOME_TERMINAL_SCREEN",
    "GNOME_TERMINAL_SERVICE",
    _proc.MARKER,
)

# at-spi2-core's bus launcher: Debian 12 and Ubuntu 22.04+, then older layouts
_ATSPI_LAUNCHERS = ("/usr/libexec/at-spi-bus-launcher", "/usr/lib/at-spi2-core/at-spi-bus-launcher")

_INSTALL = {
    "Xvnc": "tigervnc-standalone-server",
    "Xvfb": "xvfb",
    "x11vnc": "x11vnc",
    "openbox": "openbox",
    "xfce4-session": "xfce4-session xfwm4 xfce4-panel xfdesktop4 (or the whole xfce4)",
}

# Autostart entries hidden in every desktop: nothing may blank or lock the screen or ask for power.
_HIDDEN_AUTOSTART = (
    "xfce4-screensaver",
    "xscreensaver",
    "light-locker",
    "xfce4-power-manager",
    "gnome-screensaver",
    "mate-screensaver",
    "update-notifier",
    "blueman",
    "nm-applet",
)

_XFWM4_DEFAULTS = """<?xml version="1.0" encoding="UTF-8"?>
<channel name="xfwm4" version="1.0">
  <property name="general" type="empty">
    <property name="use_compositing" type="bool" value="false"/>
  </property>
</channel>
"""


# openbox's --startup command (sh -c), followed by the file to create: one virtual desktop, then "ready".
_WM_STARTUP = "wmctrl -n 1 >/dev/null 2>&1; exec touch "


def registry_dir() -> Path:
    """``$TMPDIR/jupyter-desktop-<uid>``: the local desktops' directories."""
    return owners.private_dir("jupyter-desktop")


def _need(program: str) -> str:
    path = shutil.which(program)
    if path is None:
        package = _INSTALL.get(program, program)
        raise MissingDependencyError(
            f"{program} is not installed; on Debian/Ubuntu run: sudo apt-get install {package}"
        )
    return path


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


def _write_xauthority(path: Path, cookie: bytes) -> None:
    """One MIT-MAGIC-COOKIE-1 entry for any address and display (FamilyWild, empty number)."""

    def field(data: bytes) -> bytes:
        return struct.pack(">H", len(data)) + data

    entry = struct.pack(">H", 0xFFFF) + field(b"") + field(b"") + field(b"MIT-MAGIC-COOKIE-1") + field(cookie)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(entry)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    owners.write_atomic(path, json.dumps(data))


def _owner() -> dict[str, int | None]:
    return {"owner_pid": os.getpid(), "owner_start": _proc.start_time(os.getpid())}


class LocalProcess(LaunchedProcess):
    def __init__(self, process: asyncio.subprocess.Process, argv: Sequence[str]) -> None:
        self._process = process
        self.pid = process.pid
        self.argv = list(argv)

    @property
    def returncode(self) -> int | None:
        return self._process.returncode

    async def wait(self, timeout: float | None = None) -> int:
        try:
            return await asyncio.wait_for(self._process.wait(), timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(f"{self.argv[0]} (pid {self.pid}) still runs after {timeout:g} s") from None

    async def kill(self, signal: int = signal.SIGTERM) -> None:
        if self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal)  # launched in its own session: its group is its tree


class LocalDesktop(BackendDesktop):
    def __init__(self, backend: LocalBackend, spec: DesktopSpec, desktop_id: str, x_server: str) -> None:
        self.backend = backend
        self.spec = spec
        self.id = desktop_id
        self.x_server = x_server
        self.dir = registry_dir() / desktop_id
        self.socket_path = str(self.dir / "rfb.sock")  # the VNC server's unix socket
        self.endpoint = RFBEndpoint(path=self.socket_path)
        self.display: int | None = None
        self.env: dict[str, str] = {}
        self._server: asyncio.subprocess.Process | None = None
        self._vnc: asyncio.subprocess.Process | None = None
        self._session: asyncio.subprocess.Process | None = None
        self._children: list[asyncio.subprocess.Process] = []
        self._stopped = False

    # ------------------------------------------------------------------ start

    def _record(self) -> None:
        _write_json(
            self.dir / "desktop.json",
            {
                "id": self.id,
                **_owner(),
                "created": time.time(),
                "display": self.display,
                # with start times: a later reap must not take a pid the system gave to another process since
                "pids": [[p.pid, _proc.start_time(p.pid)] for p in self._children if p.returncode is None],
                "x_server": self.x_server,
            },
        )

    async def _spawn(
        self,
        argv: Sequence[str],
        log: str,
        *,
        pass_fds: Sequence[int] = (),
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        stdio: tuple[Any, Any, Any] | None = None,
        deathsig: str = "TERM",
    ) -> asyncio.subprocess.Process:
        """Start a program of this desktop: own session, the desktop's environment, output to ``log``;
        ``deathsig`` is the signal it gets when its owner dies."""
        env = dict(self.env, **(env or {}))
        program = shutil.which(argv[0], path=env.get("PATH", os.defpath)) if argv else None
        if program is None:
            raise InvalidInputError(f"no program named {argv[0] if argv else ''!r} on the desktop's PATH")
        # setpriv: the program gets SIGTERM when this thread (the event loop's, which lives as long as the
        # process) exits, so not even SIGKILL of the owner leaves it behind.
        prefix = [self.backend.setpriv, "--pdeathsig", deathsig, "--"] if self.backend.setpriv else []
        with contextlib.ExitStack() as files:
            if stdio is None:
                out = files.enter_context(open(self.dir / log, "ab"))
                stdio = (subprocess.DEVNULL, out, subprocess.STDOUT)
            try:
                process = await asyncio.create_subprocess_exec(
                    *prefix,
                    program,
                    *argv[1:],
                    stdin=stdio[0],
                    stdout=stdio[1],
                    stderr=stdio[2],
                    env=env,
                    cwd=cwd or env.get("HOME") or None,
                    pass_fds=pass_fds,
                    start_new_session=True,
                )
            except PermissionError:
                raise InvalidInputError(f"{argv[0]!r} is not executable") from None
            except FileNotFoundError as exc:
                raise InvalidInputError(f"cannot start {argv[0]!r}: {exc}") from None
        self._children.append(process)
        return process

    async def start(self) -> None:
        self.dir.mkdir(mode=0o700)
        self._record()
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        spec = self.spec
        xauth = self.dir / "Xauthority"
        _write_xauthority(xauth, secrets.token_bytes(16))
        base = {k: v for k, v in os.environ.items() if k not in _DROP_ENV}
        self.env = {
            **base,
            "XAUTHORITY": str(xauth),
            "XDG_SESSION_TYPE": "x11",
            "GDK_BACKEND": "x11",
            "QT_QPA_PLATFORM": "xcb",
            "XDG_CONFIG_DIRS": f"{self.dir / 'xdg'}:{base.get('XDG_CONFIG_DIRS', '/etc/xdg')}",
            # the desktop's own runtime folder: its accessibility bus socket (at-spi/) and the like live and go with it
            "XDG_RUNTIME_DIR": str(self.dir / "runtime"),
            **ACCESSIBILITY_ENV,
            **spec.env,
            _proc.MARKER: self.id,
        }
        self._write_xdg_overrides()
        (self.dir / "runtime").mkdir(mode=0o700)

        bus = None
        if spec.profile != "none" and self.backend.dbus_daemon:
            bus = self.dir / "bus"
            await self._spawn(
                [self.backend.dbus_daemon, "--session", "--nofork", "--nopidfile", f"--address=unix:path={bus}"],
                "dbus.log",
            )
            self.env["DBUS_SESSION_BUS_ADDRESS"] = f"unix:path={bus}"

        read_fd, write_fd = os.pipe()
        try:
            common = ["-displayfd", str(write_fd), "-nolisten", "tcp", "-auth", str(xauth), "-dpi", str(spec.dpi)]
            common += ["-s", "0"]  # screen saver off
            if not spec.opengl:
                common += ["-extension", "GLX"]
            if self.x_server == "xvnc":
                argv = [
                    self.backend.programs["Xvnc"],
                    *common,
                    "-geometry", spec.geometry,
                    "-depth", str(spec.depth),
                    "-rfbunixpath", self.socket_path,
                    "-rfbunixmode", "0600",
                    "-rfbport", "-1",
                    "-SecurityTypes", "None",
                    # Xvnc counts every connection not yet past the handshake against its peer address, and
                    # all unix-socket peers share one: 5 viewers connecting at once locked out the rest for
                    # 10 s. The blacklist guards against password guessing; a 0600 socket needs no guard.
                    "-UseBlacklist", "0",
                    "-AlwaysShared",
                    "-AcceptSetDesktopSize",
                    "-desktop", spec.name,
                ]  # fmt: skip
            else:
                argv = [self.backend.programs["Xvfb"], *common, "-screen", "0", f"{spec.geometry}x{spec.depth}"]
            self._server = await self._spawn(argv, "xserver.log", pass_fds=[write_fd])
            os.close(write_fd)
            write_fd = -1
            self.display = await self._read_display(read_fd)
        finally:
            os.close(read_fd)
            if write_fd >= 0:
                os.close(write_fd)
        self.env["DISPLAY"] = f":{self.display}"
        self._record()

        if self.x_server == "xvfb":
            self._vnc = await self._spawn(
                [
                    self.backend.programs["x11vnc"],
                    "-display", f":{self.display}",
                    "-auth", str(xauth),
                    "-unixsock", self.socket_path,
                    "-rfbport", "0",
                    "-rfbportv6", "-1",  # with only -rfbport 0, x11vnc still listens on [::]:5900
                    "-nopw", "-shared", "-forever", "-norc", "-quiet", "-noipv6", "-xkb",
                    "-desktop", spec.name,
                ],
                "x11vnc.log",
                # x11vnc's SIGTERM handler calls Xlib, so a TERM that lands inside an Xlib call deadlocks on the
                # display lock (seen when the owner's RFB connection closing and its death signal coincide: 2 of
                # 40 SIGKILLed owners left it hanging). It has nothing to clean up that outlives the X server.
                deathsig="KILL",
            )  # fmt: skip
            await self._wait_for_socket(Path(self.socket_path), self._vnc, "x11vnc.log")
        if bus is not None:
            await self._wait_for_socket(bus, None, "dbus.log", required=False)
            if self.backend.atspi_launcher:  # the accessibility bus, now that DISPLAY is known (apps find it by D-Bus)
                await self._spawn([self.backend.atspi_launcher, "--launch-immediately"], "atspi.log")

        session = self._session_argv()
        if session:
            process = self._session = await self._spawn(session, "session.log")
            if spec.profile in ("openbox", "xfce"):
                await self._wait_for_window_manager(process)
            if spec.profile == "openbox":
                await self._first_look()  # once openbox is up: it lowers its own stacking anchor as it starts
        if spec.dpi != 96 and self.backend.xrdb:
            await self.run([self.backend.xrdb, "-merge"], input=f"Xft.dpi: {spec.dpi}\n".encode(), timeout=10)
        self._record()

    async def _wait_for_window_manager(self, session: asyncio.subprocess.Process) -> None:
        """Return once the window manager handles events: openbox's --startup command ran, or (XFCE) a window
        manager owns the screen (EWMH's _NET_SUPPORTING_WM_CHECK is set).

        An app mapped while the window manager is still starting can wait seconds before it is managed
        (seen with openbox and xterm: 5 s), so a desktop is not "running" before its WM is.
        """
        started = self.dir / "wm-started"
        openbox = self.spec.profile == "openbox"
        xprop = self.backend.xprop
        if not openbox and not xprop:
            return
        deadline = time.monotonic() + self.backend.start_timeout
        while time.monotonic() < deadline:
            if openbox:
                if started.exists():
                    return
            else:
                result = await self.run([xprop or "xprop", "-root", "_NET_SUPPORTING_WM_CHECK"], timeout=10)
                if "window id" in result.stdout:
                    return
            if session.returncode is not None:
                raise DesktopStartError(f"the session exited at start. Its log ends:\n{_tail(self.dir / 'session.log')}")
            await asyncio.sleep(0.01)
        raise DesktopStartError(f"the window manager did not start within {self.backend.start_timeout:g} s")

    async def _first_look(self) -> None:
        """In the middle of the light desktop, how to open its menu (images/desktop/first_look.py: a few X
        requests, no process, under 100 KiB in the X server)."""
        try:
            assert self.display is not None
            await asyncio.to_thread(first_look.show_hint, self.display, self.env["XAUTHORITY"])
        except (OSError, first_look.XError) as exc:  # only the look: the desktop works without it
            with open(self.dir / "session.log", "a") as log:
                log.write(f"jupyter-desktop: the desktop's hint failed: {exc}\n")

    def _write_xdg_overrides(self) -> None:
        autostart = self.dir / "xdg" / "autostart"
        autostart.mkdir(parents=True)
        for name in _HIDDEN_AUTOSTART:
            (autostart / f"{name}.desktop").write_text(
                f"[Desktop Entry]\nType=Application\nName={name}\nExec=true\nHidden=true\n"
            )
        xfconf = self.dir / "xdg" / "xfce4" / "xfconf" / "xfce-perchannel-xml"
        xfconf.mkdir(parents=True)
        (xfconf / "xfwm4.xml").write_text(_XFWM4_DEFAULTS)
        # openbox's root menu (right-click the desktop): this machine's terminal, web browser and file manager
        path = self.env.get("PATH", os.defpath)
        menu = first_look.menu_xml(lambda program: shutil.which(program, path=path))
        (self.dir / "xdg" / "openbox").mkdir()
        (self.dir / "xdg" / "openbox" / "menu.xml").write_text(menu)

    def _session_argv(self) -> list[str] | None:
        profile = self.spec.profile
        if profile == "none":
            return None
        if profile == "openbox":
            # --startup runs right before openbox's event loop, after its config, theme and bindings: until
            # then an app's ConfigureRequest (xterm then waits 5 s) or a click (lost) goes unanswered. One
            # virtual desktop: the wheel on the desktop would switch among four and hide every window.
            started = shlex.quote(str(self.dir / "wm-started"))
            return [self.backend.programs["openbox"], "--sm-disable", "--startup", f"sh -c {shlex.quote(_WM_STARTUP + started)}"]
        if profile == "xfce":
            self.env["XFCE_PANEL_MIGRATE_DEFAULT"] = "1"  # the default panel, no first-run dialog
            self.env["XDG_CURRENT_DESKTOP"] = "XFCE"
            return [self.backend.programs["xfce4-session"]]
        if isinstance(profile, tuple):
            return list(profile)
        return shlex.split(profile)

    async def _read_display(self, fd: int) -> int:
        loop = asyncio.get_running_loop()
        got: asyncio.Future[bytes] = loop.create_future()
        data = bytearray()

        def readable() -> None:
            chunk = os.read(fd, 64)
            data.extend(chunk)
            if (not chunk or b"\n" in data) and not got.done():
                got.set_result(bytes(data))

        loop.add_reader(fd, readable)
        waiter = asyncio.ensure_future(self._server.wait()) if self._server else None
        waits: list[asyncio.Future[Any]] = [got, waiter] if waiter else [got]
        try:
            done, _ = await asyncio.wait(
                waits,
                timeout=self.backend.start_timeout,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            loop.remove_reader(fd)
            if waiter is not None and not waiter.done():
                waiter.cancel()
        text = got.result().strip() if got in done else b""
        if not text.isdigit():
            log = _tail(self.dir / "xserver.log")
            what = "exited" if waiter in done else f"did not start within {self.backend.start_timeout:g} s"
            raise DesktopStartError(f"the X server {what}. Its log ends:\n{log}")
        return int(text)

    async def _wait_for_socket(
        self, path: Path, process: asyncio.subprocess.Process | None, log: str, required: bool = True
    ) -> None:
        deadline = time.monotonic() + self.backend.start_timeout
        while time.monotonic() < deadline:
            if process is not None and process.returncode is not None:
                raise DesktopStartError(f"{log.split('.')[0]} exited at start. Its log ends:\n{_tail(self.dir / log)}")
            if path.exists():
                try:
                    _, writer = await asyncio.open_unix_connection(str(path))
                except OSError:
                    pass
                else:
                    writer.close()
                    return
            await asyncio.sleep(0.01)
        if required:
            raise DesktopStartError(f"{path.name} did not appear within {self.backend.start_timeout:g} s")

    # ------------------------------------------------------------------ exec channel

    def _command_env(self, env: Mapping[str, str] | None) -> dict[str, str]:
        if env and _proc.MARKER in env:
            raise InvalidInputError(f"{_proc.MARKER} is reserved")
        return dict(env or {})

    async def run(
        self,
        argv: Sequence[str],
        *,
        input: bytes | None = None,
        timeout: float | None = 60.0,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
    ) -> RunResult:
        self._check_running()
        # Output goes to files, not pipes: a daemon the command leaves behind (xclip -i, "app &") keeps
        # inherited pipes open, and waiting for their end would hang; with files we wait for the command.
        with contextlib.ExitStack() as files:
            stdin: Any = subprocess.DEVNULL
            if input is not None:
                stdin = files.enter_context(tempfile.TemporaryFile(dir=self.dir))
                stdin.write(input)
                stdin.seek(0)
            out = files.enter_context(tempfile.TemporaryFile(dir=self.dir))
            err = files.enter_context(tempfile.TemporaryFile(dir=self.dir))
            process = await self._spawn(argv, "", env=self._command_env(env), cwd=cwd, stdio=(stdin, out, err))
            try:
                await asyncio.wait_for(process.wait(), timeout)
            except asyncio.TimeoutError:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGKILL)
                await process.wait()
                raise TimeoutError(f"{shlex.join(argv)} did not finish within {timeout:g} s; it was killed") from None
            finally:
                self._children.remove(process)
            out.seek(0)
            err.seek(0)
            return RunResult(process.returncode or 0, out.read().decode(errors="replace"), err.read().decode(errors="replace"))

    async def launch(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
    ) -> LaunchedProcess:
        self._check_running()
        process = await self._spawn(argv, "apps.log", env=self._command_env(env), cwd=cwd)
        self._record()
        return LocalProcess(process, argv)

    def _check_running(self) -> None:
        reason = self.died()
        if reason:
            from ..errors import DesktopClosedError

            raise DesktopClosedError(reason)

    # ------------------------------------------------------------------ lifecycle

    def died(self) -> str | None:
        if self._stopped:
            return "the desktop was stopped"
        # The session ending ends the desktop, as logging out does (restart() starts a new one).
        watched = ((self._server, "xserver.log", "X server"), (self._vnc, "x11vnc.log", "x11vnc"), (self._session, "session.log", "session"))
        for process, log, what in watched:
            if process is not None and process.returncode is not None:
                return f"the {what} exited with status {process.returncode}. Its log ends:\n{_tail(self.dir / log)}"
        return None

    async def port_host(self, port: int) -> str:
        return "127.0.0.1"  # the desktop's programs share this machine's network

    async def accessibility_bus(self) -> str:
        from .. import atspi
        from ..errors import AccessibilityError

        self._check_running()
        bus = self.env.get("DBUS_SESSION_BUS_ADDRESS")
        if not bus:
            raise AccessibilityError(
                f"desktop {self.id} has no session bus, hence no accessibility bus: "
                + ("the profile 'none' starts none" if self.spec.profile == "none" else "install dbus-daemon")
            )
        if not self.backend.atspi_launcher:
            raise AccessibilityError("no accessibility bus: install at-spi2-core (sudo apt-get install at-spi2-core)")
        return await atspi.bus_address(bus)

    def info(self) -> dict[str, Any]:
        return {"display": f":{self.display}" if self.display is not None else None, "x_server": self.x_server}

    def terminate_now(self) -> None:
        """Stop synchronously (atexit, signal handlers): kill the tree, remove locks and the directory."""
        if self._stopped:
            return
        self._stopped = True
        # x11vnc first, and with SIGKILL: SIGTERM can deadlock it (see _start). Only while it still carries our marker
        if self._vnc is not None and self._vnc.pid in _proc.marked_processes([self.id]).get(self.id, ()):
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._vnc.pid, signal.SIGKILL)
        _proc.kill_desktop_tree(self.id, [p.pid for p in self._children])
        if self.display is not None:
            _proc.cleanup_display(self.display)
        shutil.rmtree(self.dir, ignore_errors=True)

    async def stop(self) -> None:
        if self._stopped:
            return
        await asyncio.to_thread(self.terminate_now)
        for process in self._children:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(process.wait(), 2)


class LocalBackend(Backend):
    """Start desktops as local processes.

    ``x_server``: ``"auto"`` (TigerVNC's Xvnc when installed, else Xvfb + x11vnc), ``"xvnc"`` or ``"xvfb"``.
    When not given, ``$JUPYTER_DESKTOP_X_SERVER`` decides, read at each start.
    """

    name = "local"

    def __init__(self, x_server: str | None = None, start_timeout: float = 30.0) -> None:
        self.x_server = x_server
        self.start_timeout = start_timeout
        self.setpriv = shutil.which("setpriv")
        self.dbus_daemon = shutil.which("dbus-daemon")
        self.atspi_launcher = next((p for p in _ATSPI_LAUNCHERS if os.access(p, os.X_OK)), None)
        self.xrdb = shutil.which("xrdb")
        self.xprop = shutil.which("xprop")
        self.programs: dict[str, str] = {}
        self._choice()

    def _choice(self) -> str:
        choice = self.x_server or os.environ.get("JUPYTER_DESKTOP_X_SERVER") or "auto"
        if choice not in ("auto", "xvnc", "xvfb"):
            raise InvalidInputError(f"x_server must be 'auto', 'xvnc' or 'xvfb', not {choice!r}")
        return choice

    def _pick_x_server(self) -> str:
        choice = self._choice()
        if choice in ("auto", "xvnc") and shutil.which("Xvnc"):
            self.programs["Xvnc"] = _need("Xvnc")
            return "xvnc"
        if choice == "xvnc":
            _need("Xvnc")
        if shutil.which("Xvfb") and shutil.which("x11vnc"):
            self.programs["Xvfb"] = _need("Xvfb")
            self.programs["x11vnc"] = _need("x11vnc")
            return "xvfb"
        if choice == "xvfb":
            _need("Xvfb")
            _need("x11vnc")
        raise MissingDependencyError(
            "no X server with VNC is installed; on Debian/Ubuntu run: sudo apt-get install "
            "tigervnc-standalone-server (or: sudo apt-get install xvfb x11vnc)"
        )

    async def start(self, spec: DesktopSpec, desktop_id: str) -> LocalDesktop:
        await self.reap_orphans()
        x_server = self._pick_x_server()
        if spec.profile == "openbox":
            self.programs["openbox"] = _need("openbox")
        elif spec.profile == "xfce":
            self.programs["xfce4-session"] = _need("xfce4-session")
        desktop = LocalDesktop(self, spec, desktop_id, x_server)
        await desktop.start()
        return desktop

    async def reap_orphans(self) -> list[str]:
        return await asyncio.to_thread(reap_orphans)


def reap_orphans() -> list[str]:
    """Stop the local desktops whose owning process is gone (it was SIGKILLed); returns their ids."""
    reaped = []
    for entry in registry_dir().iterdir():
        try:
            info = json.loads((entry / "desktop.json").read_text())
        except (OSError, ValueError):
            # A start that crashed before writing its record, or foreign junk: remove once it is stale.
            with contextlib.suppress(OSError):
                if time.time() - entry.lstat().st_mtime > 60 and not _proc.marked_processes([entry.name]):
                    shutil.rmtree(entry, ignore_errors=True)
            continue
        if _proc.is_alive(info.get("owner_pid", 0), info.get("owner_start")):
            continue
        desktop_id = info.get("id", entry.name)
        recorded = _recorded_pids(info)
        _proc.kill_desktop_tree(desktop_id, [p for p, started in recorded if _proc.is_alive(p, started)])
        _proc.remove_shared_memory(p for p, _ in recorded)  # what died of its death signal left
        if isinstance(info.get("display"), int):
            _proc.cleanup_display(info["display"])
        shutil.rmtree(entry, ignore_errors=True)
        reaped.append(desktop_id)
    return reaped


def _recorded_pids(info: dict[str, Any]) -> list[tuple[int, int | None]]:
    """``(pid, start time)`` of a desktop record's processes."""
    pids = info.get("pids")
    if not isinstance(pids, list):
        return []
    return [(p[0], p[1]) for p in pids if isinstance(p, list) and len(p) == 2 and all(isinstance(v, int) for v in p)]
