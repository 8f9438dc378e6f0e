"""The desktop manager: the registry of sessions, their lifecycle and limits.

The server extension holds one; so does an embedded ``Desktop`` with no server to talk to. Backends are
created on first use, by name.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import threading
from collections.abc import Callable, Mapping

from .backends.base import Backend, DesktopSpec
from .errors import DesktopNotFoundError, InvalidInputError, LimitError
from .session import Session

# reentrant: a signal handler may run in a thread that is already inside terminate_all_now (atexit)
_terminating = threading.RLock()

__all__ = ["DesktopManager", "BACKENDS", "DesktopNotFoundError", "LimitError"]


def _local() -> Backend:
    from .backends.local import LocalBackend

    return LocalBackend()


def _docker() -> Backend:
    from .backends.docker import DockerBackend

    return DockerBackend()


#: Backend factories by name.
BACKENDS: dict[str, Callable[[], Backend]] = {"local": _local, "docker": _docker}


class DesktopManager:
    """Create, find and stop desktops. All methods run on one event loop."""

    def __init__(
        self,
        backends: Mapping[str, Backend] | None = None,
        *,
        default_backend: str = "local",
        max_desktops: int = 0,
        native_vnc: bool = True,
    ) -> None:
        self._backends: dict[str, Backend] = dict(backends or {})
        self.default_backend = default_backend
        self.max_desktops = max_desktops
        #: Whether its desktops may open a listener for native VNC clients (``Session.enable_vnc``): the embedded
        #: manager's may; a Jupyter server's only with ``DesktopExtension.native_vnc``.
        self.native_vnc = native_vnc
        self.sessions: dict[str, Session] = {}

    def backend(self, name: str | None = None) -> Backend:
        name = name or self.default_backend
        if name not in self._backends:
            if name not in BACKENDS:
                raise InvalidInputError(f"unknown backend {name!r}; choose one of: {', '.join(BACKENDS)}")
            self._backends[name] = BACKENDS[name]()
        return self._backends[name]

    async def create(
        self, spec: DesktopSpec | None = None, *, backend: str | None = None, owner: str | None = None
    ) -> Session:
        """Start a desktop and return its running session (raises with the reason if it cannot start)."""
        spec = spec or DesktopSpec()
        live = [s for s in self.sessions.values() if s.status in ("starting", "running")]
        if self.max_desktops and len(live) >= self.max_desktops:
            raise LimitError(
                f"this server allows {self.max_desktops} desktop(s) at once; stop one first "
                f"(running: {', '.join(s.id for s in live)})"
            )
        desktop_id = secrets.token_hex(4)
        while desktop_id in self.sessions:
            desktop_id = secrets.token_hex(4)
        session = Session(desktop_id, spec, self.backend(backend), owner, native_vnc=self.native_vnc)
        self.sessions[desktop_id] = session
        try:
            await session.start()
        except BaseException:
            self.sessions.pop(desktop_id, None)  # start released everything; the caller gets the reason
            raise
        return session

    async def adopt(self, backend: str | None = None, *, owner: str | None = None) -> list[Session]:
        """Take back the desktops an earlier run of this server left running (see ``Backend.adopt``).

        Each becomes a running session under its old id; one whose VNC server no longer answers is stopped.
        """
        chosen = self.backend(backend)
        sessions = []
        for desktop in await chosen.adopt():
            if desktop.id in self.sessions:
                continue
            session = Session(desktop.id, desktop.spec, chosen, owner, native_vnc=self.native_vnc)
            self.sessions[desktop.id] = session
            try:
                await session.start(desktop)  # stops it if its VNC server does not answer
            except Exception:
                self.sessions.pop(desktop.id, None)
                continue
            sessions.append(session)
        return sessions

    def get(self, desktop_id: str) -> Session:
        try:
            return self.sessions[desktop_id]
        except (KeyError, TypeError):
            known = ", ".join(self.sessions) or "none"
            raise DesktopNotFoundError(f"no desktop with id {desktop_id!r} (known: {known})") from None

    def list(self) -> list[Session]:
        return list(self.sessions.values())

    async def delete(self, desktop_id: str) -> None:
        session = self.get(desktop_id)
        try:
            await session.stop()
        finally:
            self.sessions.pop(desktop_id, None)

    async def stop_all(self) -> None:
        sessions, self.sessions = list(self.sessions.values()), {}
        await asyncio.gather(*(s.stop() for s in sessions), return_exceptions=True)
        for backend in self._backends.values():
            with contextlib.suppress(Exception):
                await backend.close()

    def terminate_all_now(self) -> None:
        """Synchronous stop of every desktop, for atexit and signal handlers (no event loop needed). A second
        caller (the SIGTERM handler and the loop thread's watch, see ``desktop._watch_for_sigterm``) waits for the
        first to finish, so neither lets the process die with a desktop half-stopped."""
        with _terminating:
            sessions, self.sessions = list(self.sessions.values()), {}
            for session in sessions:
                with contextlib.suppress(Exception):
                    session.terminate_now()
