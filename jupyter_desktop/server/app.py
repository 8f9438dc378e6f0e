"""The jupyter-server extension: configuration, the desktop manager's lifetime, routes."""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import logging
import os
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from tornado.ioloop import IOLoop, PeriodicCallback
from traitlets import Bool, Dict, Float, Int, List, Unicode, default

from ..backends.base import DesktopSpec
from ..manager import BACKENDS, DesktopManager
from ..trajectory import DEFAULT_MAX_BYTES
from . import handlers, mcp_http, pages, ports, proxy, recordings
from .recordings import Recordings

__all__ = ["DesktopExtension"]

ENV_URL = "JUPYTER_DESKTOP_URL"
ENV_TOKEN = "JUPYTER_DESKTOP_TOKEN"


class DesktopExtension(ExtensionApp):
    """Live Linux desktops under this Jupyter server: REST API, VNC WebSocket proxy, viewer pages."""

    name = "jupyter_desktop"
    extension_url = "/desktop/"
    load_other_extensions = True

    default_backend = Unicode("local", help="Backend for new desktops: local or docker.").tag(config=True)
    allowed_backends = List(
        Unicode(), default_value=list(BACKENDS), help="Backends a client may ask for."
    ).tag(config=True)
    default_profile = Unicode("openbox", help="Session of new desktops: openbox, xfce, none or a command.").tag(
        config=True
    )
    allowed_profiles = List(
        Unicode(),
        default_value=None,
        allow_none=True,
        help="Profiles a client may ask for; None allows the built-in ones and any custom session command "
        "(a kernel can run commands anyway). A teacher can restrict it, e.g. ['xfce'].",
    ).tag(config=True)
    default_width = Int(1280, help="Screen width of new desktops.").tag(config=True)
    default_height = Int(800, help="Screen height of new desktops.").tag(config=True)
    max_desktops = Int(8, help="Desktops running at once on this server; 0 for no limit.").tag(config=True)
    idle_timeout = Float(
        0.0,
        help="Stop a desktop after this many seconds nobody used it (input through the API or a viewer, an agent's "
        "calls, a visible viewer whose screen changes; not status polls nor a forgotten open tab); 0 keeps them.",
    ).tag(config=True)
    pages_idle_after = Float(
        300.0,
        help="Seconds without a person's input (pointer, keys) after which the list page stops polling until they "
        "come back: under JupyterHub every request counts as the user's activity, and a forgotten page must not "
        "keep a server from the idle culler.",
    ).tag(config=True)
    docker_options = Dict(
        help="Keyword arguments of the Docker backend: image, cpus, memory, pids, shm_size, network, server_id "
        "(see jupyter_desktop.backends.docker.DockerBackend).",
    ).tag(config=True)
    docker_mount_root_dir = Bool(
        True, help="Mount the server's root directory (the notebooks) as the Docker desktop's work folder."
    ).tag(config=True)
    mcp_max_long_edge = Int(
        1568,
        help="MCP endpoint (desktop/mcp): the long edge, in pixels, of the screenshots its clients' models get; "
        "coordinates are read in their pixels. 0: no limit.",
    ).tag(config=True)
    mcp_max_pixels = Int(
        1_150_000, help="MCP endpoint: the pixel count of its screenshots at most (0: no limit)."
    ).tag(config=True)
    recordings_dir = Unicode(
        "",
        help="Folder of the recordings the server makes (REST, the widget's and the viewer's record button); "
        "'' is desktop-recordings under the server's root directory.",
    ).tag(config=True)
    recording_max_bytes = Int(
        DEFAULT_MAX_BYTES, help="Bytes one recording may take at most (a client may ask for less)."
    ).tag(config=True)
    native_vnc = Bool(
        False,
        help="Let a desktop's user open a password-protected VNC listener on 127.0.0.1 for native VNC clients "
        "(Desktop(vnc=True), d.enable_vnc(); TigerVNC's vncviewer, RealVNC Viewer, through an SSH tunnel from "
        "elsewhere). VNC Authentication is DES with an 8-character password and the stream is not encrypted: "
        "anyone on this machine who learns the password reaches the desktop. Off: enabling is refused (a hub "
        "admin keeps it off for students).",
    ).tag(config=True)
    export_env = Bool(
        True,
        help=f"Put {ENV_URL} and {ENV_TOKEN} in the server's environment, which kernels inherit, so "
        "Desktop() in a kernel finds this server.",
    ).tag(config=True)

    @default("allowed_profiles")
    def _default_allowed_profiles(self) -> None:
        return None

    manager: DesktopManager
    viewers: dict[str, set[Any]]
    recordings: Recordings

    def initialize_settings(self) -> None:
        self.manager = DesktopManager(
            self._backends(),
            default_backend=self.default_backend,
            max_desktops=self.max_desktops,
            native_vnc=self.native_vnc,
        )
        self.viewers = {}
        root = self.recordings_dir or os.path.join(self.serverapp.root_dir if self.serverapp else ".", "desktop-recordings")
        allowed = Path(self.serverapp.root_dir).expanduser().resolve() if self.serverapp else None
        self.recordings = Recordings(self, Path(root).expanduser().resolve(), self.recording_max_bytes, allowed)
        self.settings["jupyter_desktop"] = self
        if self.native_vnc:
            self._log_native_vnc()
        # Last resort if the server dies without stop_extension (an exception during shutdown).
        atexit.register(self.manager.terminate_all_now)
        if self.export_env:
            IOLoop.current().add_callback(self._export_env)
        if self.idle_timeout > 0:
            self._culler = PeriodicCallback(self._cull_idle, min(60_000, self.idle_timeout * 1000 / 2))
            self._culler.start()
        IOLoop.current().add_callback(self._reap_and_adopt)

    def initialize_handlers(self) -> None:
        self.handlers.extend(
            handlers.routes() + recordings.routes() + proxy.routes() + ports.routes() + mcp_http.routes() + pages.routes()
        )

    async def stop_extension(self) -> None:
        await mcp_http.stop(self)
        await self.recordings.stop_all()  # while their desktops still run: their last screenshots, their videos
        await self.manager.stop_all()
        atexit.unregister(self.manager.terminate_all_now)

    # ------------------------------------------------------------------ helpers for handlers

    def check_request(self, spec: DesktopSpec, backend: str | None) -> None:
        """Refuse what this server's configuration does not allow (raises InvalidInputError)."""
        from ..errors import InvalidInputError

        backend = backend or self.default_backend
        if backend not in self.allowed_backends:
            raise InvalidInputError(
                f"backend {backend!r:.80} is not allowed here; allowed: {', '.join(self.allowed_backends)}"
            )
        profile = spec.profile
        if self.allowed_profiles is not None:
            shown = profile if isinstance(profile, str) else " ".join(profile)
            if shown not in self.allowed_profiles:
                raise InvalidInputError(
                    f"profile {shown!r} is not allowed here; allowed: {', '.join(self.allowed_profiles)}"
                )

    def session_viewers(self, desktop_id: str) -> set[Any]:
        return self.viewers.setdefault(desktop_id, set())

    def note_activity(self, desktop_id: str | None = None) -> None:
        """Someone uses a desktop (input, an agent's call, a person watching it change): the desktop is not
        idle, and neither is this server (``desktop_last_activity``: jupyter_server's last_activity() counts
        every ``*_last_activity`` setting, and jupyterhub-singleuser reports it to the hub)."""
        session = self.manager.sessions.get(desktop_id) if desktop_id else None
        if session is not None:
            session.last_activity = time.time()
        if self.serverapp is not None:
            self.serverapp.web_app.settings["desktop_last_activity"] = datetime.now(timezone.utc)

    # ------------------------------------------------------------------ background jobs

    def _export_env(self) -> None:
        serverapp = self.serverapp
        assert serverapp is not None
        os.environ[ENV_URL] = serverapp.connection_url
        token = getattr(serverapp.identity_provider, "token", "") or ""
        if token:
            os.environ[ENV_TOKEN] = token
        if serverapp.sock:
            os.environ["JUPYTER_DESKTOP_SOCK"] = serverapp.sock

    def _log_native_vnc(self) -> None:
        """The native VNC listeners' lines (connections, wrong passwords, a lockout; never a password) in the
        server's log, as its own: the module's logger has no handler of its own."""
        server_log = self.log if isinstance(self.log, logging.Logger) else getattr(self.log, "logger", None)
        if not isinstance(server_log, logging.Logger) or not server_log.handlers:
            return
        log = logging.getLogger("jupyter_desktop.native_vnc")
        for handler in server_log.handlers:
            if handler not in log.handlers:
                log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False

    def _backends(self) -> dict[str, Any]:
        """Backends configured from this app's traits; the rest are made with defaults on first use."""
        if "docker" not in self.allowed_backends:
            return {}
        from ..backends.docker import DockerBackend

        options = dict(self.docker_options)
        options.setdefault("server_id", self._server_id())
        if self.docker_mount_root_dir and self.serverapp is not None:
            options.setdefault("workdir", self.serverapp.root_dir)
        return {"docker": DockerBackend(**options)}

    def _server_id(self) -> str:
        """Stable across restarts of the same server (user, root dir, base URL), so Docker desktops survive them."""
        serverapp = self.serverapp
        assert serverapp is not None
        key = f"{os.getuid()}:{serverapp.root_dir}:{serverapp.base_url}"
        return "jupyter-" + hashlib.sha256(key.encode()).hexdigest()[:12]

    async def _reap_and_adopt(self) -> None:
        """Stop desktops a dead server left behind; take back the Docker desktops this server's last run left."""
        for name in self.allowed_backends:
            try:
                backend = self.manager.backend(name)
                reaped = await backend.reap_orphans()
                adopted = await self.manager.adopt(name)
            except Exception as exc:  # no Docker engine: nothing to reap
                self.log.debug("jupyter_desktop: %s backend not available at start: %s", name, exc)
                continue
            if reaped:
                self.log.info("jupyter_desktop: stopped %d orphaned %s desktop(s): %s", len(reaped), name, reaped)
            if adopted:
                self.log.info("jupyter_desktop: took back %d %s desktop(s): %s", len(adopted), name, [s.id for s in adopted])

    async def _cull_idle(self) -> None:
        """Stop desktops nobody used for ``idle_timeout``: a connected viewer counts only while a person uses it
        (input) or watches it change (the page's heartbeat), not because a forgotten tab is still open."""
        now = time.time()
        for session in list(self.manager.sessions.values()):
            if now - session.last_activity > self.idle_timeout:
                self.log.info("jupyter_desktop: stopping desktop %s, idle for %.0f s", session.id, now - session.last_activity)
                with contextlib.suppress(Exception):
                    await self.manager.delete(session.id)


def static_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "static"

