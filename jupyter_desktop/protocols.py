"""The seam: what a desktop session does, and what a hub of sessions does. ``Desktop`` is written against these.

Sessions: :class:`~jupyter_desktop.session.Session` (the desktop lives in this process) and
:class:`~jupyter_desktop.remote.RemoteSession` (it lives under a Jupyter server; screen and input still over RFB).
Hubs: :class:`~jupyter_desktop.desktop.LocalHub` (this process's DesktopManager) and
:class:`~jupyter_desktop.remote.ServerHub` (a Jupyter server's REST API). ``Desktop`` picks its hub once, when it
is made; ``tests/test_seam.py`` checks that each implementation matches these signature for signature.

A new operation is its signature here and its implementation in ``Session``: the server's generic route and the
kernel's ``RemoteSession`` carry every operation whose arguments and result are JSON (``wire.py``); ``Desktop``
calls it the same way for both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from PIL import Image

from .backends.base import DesktopSpec, LaunchedProcess, RunResult
from .rfb import RFBClient
from .xtools import Window

__all__ = ["DesktopSession", "DesktopHub", "LOCAL_ONLY"]

#: Operations that make sense only where the desktop is reached directly (a byte stream's callables): never over
#: the server's generic route (wire.py).
LOCAL_ONLY = frozenset({"open_rfb", "connected"})


@runtime_checkable
class DesktopSession(Protocol):
    """One desktop: its screen, input, programs, windows, clipboard and life."""

    id: str

    # ---- life
    def to_dict(self) -> dict[str, Any]:
        """The desktop as last known (no I/O)."""

    async def describe(self) -> dict[str, Any]:
        """The desktop as it is now: id, status, error, profile, size, backend details."""

    async def restart(self) -> None:
        """Start a desktop that died again, with the same settings."""

    # ---- screen
    async def screen_size(self) -> tuple[int, int]: ...

    async def capture(
        self, region: Sequence[int] | None = None, scale: float | Sequence[int] | None = None, fresh: bool = True
    ) -> Image.Image: ...

    async def wait_until_stable(self, quiet: float = 0.5, timeout: float = 10.0) -> bool: ...

    async def resize(self, width: int, height: int) -> None: ...

    async def connected(self) -> RFBClient:
        """The session's live RFB client, whose ``framebuffer`` mirror (numpy, RGBX) and ``last_change`` recording
        reads (:mod:`jupyter_desktop.trajectory`); reopened if it closed while the desktop runs."""

    async def open_rfb(self) -> tuple[Any, Any]:
        """A fresh RFB byte stream for a viewer the kernel relays: (read(n) coroutine, write(bytes | None))."""

    # ---- input
    async def perform(self, actions: Sequence[Mapping[str, Any]]) -> None: ...

    async def pointer_position(self) -> tuple[int, int]: ...

    # ---- clipboard
    async def get_clipboard(self) -> str: ...

    async def set_clipboard(self, text: str) -> None: ...

    # ---- programs
    async def run(
        self,
        command: str | Sequence[str],
        *,
        input: str | bytes | None = None,
        timeout: float | None = 60.0,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
    ) -> RunResult: ...

    async def launch(
        self, command: str | Sequence[str], *, env: Mapping[str, str] | None = None, cwd: str | None = None
    ) -> LaunchedProcess: ...

    async def open(
        self, target: str, *, env: Mapping[str, str] | None = None, cwd: str | None = None
    ) -> LaunchedProcess: ...

    # ---- files
    async def list_files(self, path: str = ".") -> list[dict[str, Any]]:
        """The entries of a directory as the desktop's user sees it (relative to their home): name, type
        (file, directory, link, other), size in bytes, modified (seconds since the epoch)."""

    # bytes are no JSON: read_file and write_file have REST routes of their own (GET/PUT .../files?path=)
    async def read_file(self, path: str) -> bytes:
        """A file's bytes (at most MAX_FILE), as the desktop's user reads it (relative to their home)."""

    async def write_file(
        self, path: str, data: bytes, parents: bool = False, mode: int | None = None, exclusive: bool = False
    ) -> None:
        """Write ``data`` (at most MAX_FILE bytes) to a file as the desktop's user; ``parents``: create missing
        directories; ``mode``: its permission bits (an existing file keeps its own otherwise); ``exclusive``: never
        replace a file (ExistingFileError), not even one made while this runs."""

    async def remove_file(self, path: str, recursive: bool = False) -> None:
        """Remove a file, or a directory with ``recursive``; never "/", the user's home, nor a folder holding it."""

    # ---- app ports (the Jupyter server proxies an exposed port at desktop/<id>/port/<port>/)
    async def expose(self, port: int, name: str | None = None) -> dict[str, Any]:
        """Let the Jupyter server proxy ``port`` inside the desktop (HTTP and WebSocket, behind Jupyter's auth):
        ``{"port", "name", "path"}``, the path under the server's base URL; ``name``: its tab in the widget and the
        viewer (default "port <port>")."""

    async def unexpose(self, port: int) -> None:
        """Stop proxying ``port``."""

    async def exposed(self) -> list[dict[str, Any]]:
        """The ports exposed now, as ``expose`` returns them."""

    # ---- the accessibility tree (jupyter_desktop.atspi)
    async def accessibility(
        self,
        app: str | None = None,
        show_all: bool = False,
        max_nodes: int = 2000,
        max_depth: int = 64,
        max_text: int = 500,
        timeout: float = 30.0,
    ) -> dict[str, Any]:
        """A snapshot of the widgets on the screen (every widget with ``show_all``), from the desktop's AT-SPI bus:
        ``{"nodes": [...], "truncated", "limits", "elapsed"}``, each node's role, name, states, bounds (screen
        pixels), actions, text or value, ``ref``, ``depth`` and ``parent`` (an index), in document order."""

    async def accessible_command(self, ref: str, command: str, arg: str | None = None) -> dict[str, Any]:
        """Act on the node ``ref``: describe (read it again), click (the pointer, at its middle), do (its action
        named ``arg``), set_text (to ``arg``), focus. Answers the node; waits like input while a person holds."""

    # ---- native VNC clients (jupyter_desktop.native_vnc), opt-in
    async def enable_vnc(self) -> dict[str, Any]:
        """A password-protected VNC listener on 127.0.0.1 for native clients (TigerVNC's vncviewer, RealVNC Viewer):
        ``{"host", "port", "password"}``. A new password on each call (a listener already open keeps its port and
        its connections). Refused where the Jupyter server's ``DesktopExtension.native_vnc`` is False (its default)."""

    async def disable_vnc(self) -> None:
        """Close the listener and every native connection; nothing listens afterwards."""

    async def vnc_endpoint(self) -> dict[str, Any] | None:
        """``{"host", "port", "password"}`` while native VNC clients may connect, else None."""

    # ---- windows
    async def windows(self) -> list[Window]: ...

    async def window_command(self, window_id: int, what: str) -> None: ...

    # ---- a person in the loop (jupyter_desktop.gate); ``by``: the server sets it to the caller's Jupyter user
    async def control(self) -> dict[str, Any]:
        """Who holds the desktop (holder "agent" or "person", by whom, since) and the approvals waiting."""

    async def watch(self, version: int = -1, timeout: float = 30.0) -> dict[str, Any]:
        """control() once its version differs from ``version`` (a long-poll for pages), or after ``timeout`` s."""

    async def take_over(self, by: str = "") -> dict[str, Any]:
        """A person takes the desktop: agent input waits until hand_back() (a person's own input never waits)."""

    async def hand_back(self, by: str = "") -> dict[str, Any]:
        """Give the desktop back to the agent."""

    async def wait_for_control(self, timeout: float = 3600.0) -> bool:
        """True once the agent holds the desktop (at once if it does), False if ``timeout`` came first."""

    async def ask(self, actions: Sequence[Mapping[str, Any]], timeout: float = 120.0) -> dict[str, Any]:
        """Ask a person to approve ``actions`` (the widget's and the viewer's card); their answer: decision
        approve, always, deny or timeout, and by whom."""

    async def decide(self, request: int, decision: str, by: str = "") -> dict[str, Any]:
        """A person's answer to a waiting approval: approve, always (its kinds from now on) or deny."""


@runtime_checkable
class DesktopHub(Protocol):
    """Where desktops live: this process, or a Jupyter server."""

    #: True when the Jupyter server holds the desktops (a browser page can reach them through the server).
    server_side: bool

    async def create(self, spec: DesktopSpec, backend: str | None = None) -> DesktopSession: ...

    async def get(self, desktop_id: str) -> DesktopSession: ...

    async def list(self) -> list[dict[str, Any]]: ...

    async def stop(self, session: Any) -> None:
        """Stop the desktop and everything in it (``Desktop.close()``)."""

    async def drop(self, session: Any, owned: bool) -> None:
        """What garbage collection of a Desktop does: stop a desktop it started in this process (``owned``);
        otherwise let go of it and leave it running."""
