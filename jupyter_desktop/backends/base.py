"""The backend contract: what every way of running a desktop (local processes, Docker) provides.

A backend provisions a desktop from a :class:`DesktopSpec` and hands back a :class:`BackendDesktop`:
where its RFB endpoint is (the control plane and the browser view both speak RFB to it), and an exec
channel (``run`` and ``launch``) for what RFB cannot do: starting apps, listing windows, files.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..errors import InvalidInputError

__all__ = [
    "PROFILES",
    "DesktopSpec",
    "RFBEndpoint",
    "RunResult",
    "LaunchedProcess",
    "BackendDesktop",
    "Backend",
    "check_argv",
    "check_env",
    "ACCESSIBILITY_ENV",
]

#: Built-in session profiles; any other string (or a list) is a custom session command.
PROFILES = ("openbox", "xfce", "none")

MIN_SIZE, MAX_SIZE = 64, 8192


MAX_ARG = 128 * 1024  # bytes of one command-line argument (Linux refuses more)
MAX_ARGS = 4096  # arguments of one command
MAX_ENV = 256  # variables given in one env


#: What toolkits need to put their widgets on the desktop's accessibility (AT-SPI) bus, set in every desktop's
#: environment. GTK 3 and 4 join by themselves (unless NO_AT_BRIDGE=1); Qt when QT_ACCESSIBILITY=1 (and always with
#: QT_LINUX_ACCESSIBILITY_ALWAYS_ON); Chromium and Electron when ACCESSIBILITY_ENABLED=1 (their web content too, once
#: a reader of the tree is on the bus: no ``--force-renderer-accessibility`` needed); Firefox when GNOME_ACCESSIBILITY=1.
ACCESSIBILITY_ENV = {
    "ACCESSIBILITY_ENABLED": "1",
    "GNOME_ACCESSIBILITY": "1",
    "QT_ACCESSIBILITY": "1",
    "QT_LINUX_ACCESSIBILITY_ALWAYS_ON": "1",
}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_argv(argv: Sequence[str], what: str = "the command") -> None:
    """Refuse what no program can be given: NUL bytes, arguments past the kernel's limits."""
    if len(argv) > MAX_ARGS:
        raise InvalidInputError(f"{what} has {len(argv)} arguments; the limit is {MAX_ARGS}")
    for arg in argv:
        if "\0" in arg:
            raise InvalidInputError(f"{what} contains a NUL character, which no program argument can hold")
        if len(arg) > MAX_ARG:
            raise InvalidInputError(f"an argument of {what} is {len(arg)} characters long; the limit is {MAX_ARG}")


def check_env(env: Any) -> dict[str, str]:
    """``env`` as a plain dict of names to values, or InvalidInputError saying what is wrong with it."""
    if env is None:
        return {}
    if not isinstance(env, Mapping):
        raise InvalidInputError(f"env must map variable names to strings, e.g. {{\"LANG\": \"C.UTF-8\"}}; not {env!r:.80}")
    if len(env) > MAX_ENV:
        raise InvalidInputError(f"env has {len(env)} variables; the limit is {MAX_ENV}")
    for name, value in env.items():
        if not isinstance(name, str) or not name or "=" in name or "\0" in name:
            raise InvalidInputError(f"env: {name!r:.80} is not a variable name (no '=', no NUL, not empty)")
        if not isinstance(value, str) or "\0" in value or len(value) > MAX_ARG:
            raise InvalidInputError(f"env: {name} must be a string without NUL, at most {MAX_ARG} characters")
    return dict(env)


@dataclass(frozen=True)
class DesktopSpec:
    """What to start: the session profile, the screen, extra environment."""

    profile: str | tuple[str, ...] = "openbox"
    width: int = 1280
    height: int = 800
    depth: int = 24
    dpi: int = 96
    env: Mapping[str, str] = field(default_factory=dict)
    name: str = "jupyter-desktop"
    #: OpenGL (GLX, Mesa's software renderer) for apps that need it. Off by default: Mesa's LLVM
    #: renderer is ~50 MiB of memory in the X server, more than the rest of a light desktop.
    opengl: bool = False

    def __post_init__(self) -> None:
        for label, value in (("width", self.width), ("height", self.height)):
            if not _is_int(value) or not MIN_SIZE <= value <= MAX_SIZE:
                raise InvalidInputError(f"{label} must be an integer between {MIN_SIZE} and {MAX_SIZE}, not {value!r}")
        if not _is_int(self.depth) or self.depth not in (16, 24, 32):
            raise InvalidInputError(f"depth must be 16, 24 or 32, not {self.depth!r}")
        if not _is_int(self.dpi) or not 24 <= self.dpi <= 600:
            raise InvalidInputError(f"dpi must be an integer between 24 and 600, not {self.dpi!r}")
        if not isinstance(self.opengl, bool):
            raise InvalidInputError(f"opengl must be true or false, not {self.opengl!r}")
        if isinstance(self.profile, (list, tuple)):
            if not self.profile or not all(isinstance(a, str) and a for a in self.profile):
                raise InvalidInputError("a custom profile command must be a non-empty list of strings")
            check_argv(self.profile, "the profile command")
            object.__setattr__(self, "profile", tuple(self.profile))
        elif not isinstance(self.profile, str) or not self.profile.strip():
            raise InvalidInputError(
                f"profile must be one of {', '.join(PROFILES)} or a command to run as the session, not {self.profile!r}"
            )
        else:
            check_argv([self.profile], "the profile command")
        object.__setattr__(self, "env", check_env(self.env))

    #: The fields of the REST API's create body (POST .../desktops) that make a spec.
    FIELDS: ClassVar[tuple[str, ...]] = ("profile", "width", "height", "depth", "dpi", "env", "opengl")

    def to_json(self) -> dict[str, Any]:
        """The spec as the REST API takes it."""
        return {
            "profile": self.profile if isinstance(self.profile, str) else list(self.profile),
            "width": self.width,
            "height": self.height,
            "depth": self.depth,
            "dpi": self.dpi,
            "env": dict(self.env),
            "opengl": self.opengl,
        }

    @classmethod
    def from_json(cls, body: Mapping[str, Any], **defaults: Any) -> DesktopSpec:
        """A spec from a JSON body; fields it lacks take ``defaults``, then the spec's own. Checked as any spec."""
        return cls(**{**defaults, **{name: body[name] for name in cls.FIELDS if name in body}})

    @property
    def geometry(self) -> str:
        return f"{self.width}x{self.height}"


@dataclass(frozen=True)
class RFBEndpoint:
    """Where a desktop's VNC server listens: a unix socket path, or a host and port (plus a password)."""

    path: str | None = None
    host: str | None = None
    port: int | None = None
    password: str | None = None

    def __str__(self) -> str:
        return self.path or f"{self.host}:{self.port}"


@dataclass(frozen=True)
class RunResult:
    """The outcome of :meth:`Desktop.run`: exit code, standard output and error as text."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def to_json(self) -> dict[str, Any]:
        return {"returncode": self.returncode, "stdout": self.stdout, "stderr": self.stderr}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunResult:
        return cls(data["returncode"], data["stdout"], data["stderr"])

    def check(self) -> RunResult:
        """Raise if the command failed; return self otherwise, for chaining."""
        if self.returncode != 0:
            from ..errors import DesktopError

            raise DesktopError(f"command exited with status {self.returncode}: {self.stderr.strip()[-2000:]}")
        return self


class LaunchedProcess(abc.ABC):
    """A program started on the desktop with ``launch``."""

    pid: int
    argv: Sequence[str]

    @property
    @abc.abstractmethod
    def returncode(self) -> int | None:
        """Exit status, or None while it runs."""

    def to_json(self) -> dict[str, Any]:
        """As the REST API answers (the kernel's RemoteProcess is made from it)."""
        return {"pid": self.pid, "argv": list(self.argv), "returncode": self.returncode}

    async def poll(self) -> int | None:
        """The exit status as of now (asks the backend where that costs a round trip)."""
        return self.returncode

    @abc.abstractmethod
    async def wait(self, timeout: float | None = None) -> int:
        """Wait for it to exit; raises TimeoutError after ``timeout`` seconds."""

    @abc.abstractmethod
    async def kill(self, signal: int = 15) -> None:
        """Send ``signal`` (SIGTERM by default) to it and everything it started."""


class BackendDesktop(abc.ABC):
    """A running desktop as its backend sees it."""

    id: str
    spec: DesktopSpec
    endpoint: RFBEndpoint

    @abc.abstractmethod
    async def run(
        self,
        argv: Sequence[str],
        *,
        input: bytes | None = None,
        timeout: float | None = 60.0,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
    ) -> RunResult:
        """Run a command to completion on the desktop (DISPLAY set) and capture its output."""

    @abc.abstractmethod
    async def launch(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
    ) -> LaunchedProcess:
        """Start a program on the desktop and return without waiting for it."""

    @abc.abstractmethod
    def died(self) -> str | None:
        """None while the desktop runs; otherwise why it stopped (with its last log lines)."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """Stop the desktop and everything started in it. Safe to call twice."""

    async def port_host(self, port: int) -> str:
        """The host through which this process reaches ``port`` inside the desktop (an app's web server: the
        Jupyter server proxies exposed ports to it). Raises DesktopError saying why it cannot."""
        from ..errors import DesktopError

        raise DesktopError(f"desktops of {type(self).__name__} cannot be reached on a port")

    async def accessibility_bus(self) -> str:
        """The D-Bus address of the desktop's accessibility (AT-SPI) bus, reachable from this process (the
        desktop's apps put their widget trees there: :mod:`jupyter_desktop.atspi` reads them). Raises
        AccessibilityError saying why there is none."""
        from ..errors import AccessibilityError

        raise AccessibilityError(f"desktops of {type(self).__name__} have no accessibility bus")

    def terminate_now(self) -> None:
        """Stop synchronously, with no event loop (atexit, signal handlers). Safe to call twice."""

    def info(self) -> dict[str, Any]:
        """Backend details for listings (display number, container id ...)."""
        return {}


class Backend(abc.ABC):
    """A way of running desktops."""

    name: str

    @abc.abstractmethod
    async def start(self, spec: DesktopSpec, desktop_id: str) -> BackendDesktop:
        """Start a desktop; returns once its RFB endpoint accepts connections."""

    async def reap_orphans(self) -> list[str]:
        """Stop desktops whose owning process is gone; returns their ids."""
        return []

    async def adopt(self) -> list[BackendDesktop]:
        """Desktops this backend started for the same owner earlier that still run (a restarted server
        takes them back instead of losing them). Backends whose desktops die with their owner return []."""
        return []

    async def close(self) -> None:
        """Release what the backend itself holds (clients, connections)."""
