"""Desktops in Docker containers, one per desktop, from the image this package ships (``images/desktop``).

The RFB endpoint is a unix socket: Xvnc in the container listens on ``/run/jupyter-desktop/rfb.sock``,
a folder bind-mounted from a private 0700 host directory, ``$TMPDIR/jupyter-desktop-docker-<uid>/<id>/rfb``.
No TCP port is published, and nothing in the container listens on TCP. The desktop's session bus and
accessibility bus have their sockets in that folder too, so this process reads the desktop's widgets
(``accessibility_bus``). The container's user ``desktop`` takes the host user's uid (uid 1000 when the host
user is root), so the host user owns the sockets and the files the desktop writes to the work folder.

Containers carry labels (server id, desktop id, owning process, profile, spec). A server started again
with the same ``server_id`` adopts the desktops its previous run left running; desktops whose owner is
gone and that no server can adopt (no server id: they belong to one process) are removed by
``reap_orphans``. Who owns a desktop now is in ``<dir>/owner`` (labels cannot change), so an adopted
desktop is not reaped as its first owner's orphan.

The docker SDK is synchronous: every call runs in a thread (``asyncio.to_thread``) with a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import fcntl
import json
import logging
import os
import re
import shlex
import shutil
import socket
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from ..errors import (
    AccessibilityError,
    DesktopClosedError,
    DesktopStartError,
    InvalidInputError,
    MissingDependencyError,
)
from ..images import image_tag
from . import owners
from .base import ACCESSIBILITY_ENV, Backend, BackendDesktop, DesktopSpec, LaunchedProcess, RFBEndpoint, RunResult

__all__ = ["LABEL", "DockerBackend", "DockerDesktop", "DockerUnavailableError", "ImageMissingError"]

log = logging.getLogger(__name__)

LABEL = "jupyter-desktop"  # every label key starts with this; "jupyter-desktop.desktop" marks our containers
RUN_DIR = "/run/jupyter-desktop"  # in the container: the bind-mounted folder with rfb.sock, ready, the buses
SESSION_BUS = "bus"  # the session bus's socket in RUN_DIR (the image's DBUS_SESSION_BUS_ADDRESS)
WORK_DIR = "/home/desktop/work"
IMAGE_UID = 1000  # uid of "desktop" in the image

# run(): output to files in the container, then printed, so a daemon the command leaves behind ("app &",
# xclip -i) does not hold the exec stream open; `timeout` kills the command's whole process group.
_RUN_SCRIPT = r"""t=$1; shift
command -v "$1" >/dev/null 2>&1 || { echo "jupyter-desktop: no program $1" >&2; exit 127; }
d=$(mktemp -d) || exit 125
timeout -s KILL "$t" "$@" >"$d/out" 2>"$d/err"; rc=$?
cat "$d/out"; cat "$d/err" >&2; rm -rf "$d"; exit $rc"""

# launch(): pid on the first line, output to a log file. docker exec (runc, crun) starts each command as
# a session leader, so that pid also names the process group that kill() signals.
_LAUNCH_SCRIPT = r"""command -v "$1" >/dev/null 2>&1 || { echo missing; exit 127; }
echo $$
exec "$@" >>/tmp/jupyter-desktop-apps.log 2>&1 </dev/null"""


class DockerUnavailableError(MissingDependencyError):
    """No Docker engine answers (or the docker SDK is not installed)."""


class ImageMissingError(MissingDependencyError):
    """The desktop image is not built."""


def _docker_sdk() -> Any:
    try:
        import docker
    except ImportError:
        raise DockerUnavailableError(
            "the Docker backend needs the docker SDK: pip install 'jupyter_desktop[docker]'"
        ) from None
    return docker


def _no_engine(exc: Exception) -> DockerUnavailableError:
    where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if "Permission denied" in str(exc):
        hint = "you may not use its socket: sudo usermod -aG docker $USER (then log in again)"
    else:
        hint = (
            "start it (sudo systemctl start docker, or sudo dockerd &, or scripts/docker-setup.sh), or install "
            "it: sudo apt-get install docker.io. For Podman, point DOCKER_HOST at its socket "
            "(unix://$XDG_RUNTIME_DIR/podman/podman.sock)"
        )
    return DockerUnavailableError(f"no Docker engine answers at {where} ({exc}); {hint}")


def _unix_address(path: Path) -> str:
    """A D-Bus address of the socket at ``path`` (escaped as D-Bus addresses are)."""
    return f"unix:path={quote(str(path), safe='/-_.')}"


# ---------------------------------------------------------------------- owners

def _folder(labels: Mapping[str, str]) -> Path | None:
    """The host directory of a desktop (owner record, rfb/), from its container's labels."""
    folder = labels.get(f"{LABEL}.dir", "")
    return Path(folder) if os.path.isabs(folder) else None


def _read_owner(labels: Mapping[str, str]) -> str | None:
    """Who owns the desktop now: ``<dir>/owner`` (rewritten on adoption), else who started it."""
    folder = _folder(labels)
    with contextlib.suppress(OSError):
        if folder is not None:
            return (folder / "owner").read_text().strip() or None
    return labels.get(f"{LABEL}.owner")


def _write_owner(folder: Path, owner: str) -> None:
    owners.write_atomic(folder / "owner", owner)


# ---------------------------------------------------------------------- exec streams


def _frames(sock: socket.socket) -> Iterator[tuple[int, bytes]]:
    """(stream, data) frames of a docker exec attach stream (1 stdout, 2 stderr) until it ends."""
    buf = bytearray()
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return
        buf += chunk
        while len(buf) >= 8 and len(buf) >= 8 + (size := int.from_bytes(buf[4:8], "big")):
            yield buf[0], bytes(buf[8 : 8 + size])
            del buf[: 8 + size]


class DockerProcess(LaunchedProcess):
    """A program started with ``launch``: a docker exec whose stream ends when the program exits."""

    def __init__(self, desktop: DockerDesktop, pid: int, argv: Sequence[str]) -> None:
        self._desktop = desktop
        self.pid = pid
        self.argv = list(argv)
        self._code: int | None = None
        self._signal: int | None = None
        self._done: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    @property
    def returncode(self) -> int | None:
        return self._code

    def _finish(self, code: int) -> None:
        # Docker reports death by signal N as 128 + N; show our own kill() as -N, like subprocess.
        if self._signal is not None and code == 128 + self._signal:
            code = -self._signal
        self._code = code
        if not self._done.done():
            self._done.set_result(code)

    async def wait(self, timeout: float | None = None) -> int:
        try:
            return await asyncio.wait_for(asyncio.shield(self._done), timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(f"{self.argv[0]} (pid {self.pid}) still runs after {timeout:g} s") from None

    async def kill(self, signal: int = 15) -> None:
        if self._code is None and not self._desktop.exited:
            self._signal = int(signal)
            with contextlib.suppress(DesktopClosedError):
                await self._desktop.run(
                    ["sh", "-c", 'kill -"$0" "-$1" 2>/dev/null || kill -"$0" "$1"', str(int(signal)), str(self.pid)],
                    timeout=10,
                )


# ---------------------------------------------------------------------- desktops


class DockerDesktop(BackendDesktop):
    def __init__(self, backend: DockerBackend, spec: DesktopSpec, desktop_id: str, folder: Path) -> None:
        self.backend = backend
        self.spec = spec
        self.id = desktop_id
        self.dir = folder  # private to the host user: owner record, rfb/ (mounted at RUN_DIR)
        self.endpoint = RFBEndpoint(path=str(folder / "rfb" / "rfb.sock"))
        self.name = f"jupyter-desktop-{desktop_id}"
        self.container_id: str | None = None
        self._stopped = False
        self._exited = threading.Event()
        self._reason: str | None = None

    @property
    def exited(self) -> bool:
        return self._exited.is_set()

    # ------------------------------------------------------------------ start

    async def start(self) -> None:
        try:
            await asyncio.to_thread(self._prepare_dir)
            await asyncio.to_thread(self._create)
            await self._wait_until_ready()
        except BaseException:
            await self.stop()
            raise
        self._watch()

    def _prepare_dir(self) -> None:
        self.dir.mkdir(mode=0o700)
        _write_owner(self.dir, self.backend.owner)
        (self.dir / "rfb").mkdir(mode=0o700)
        if os.getuid() == 0:  # the container's desktop user must be able to create the socket
            os.chown(self.dir / "rfb", self.backend.uid, self.backend.gid)

    def _command(self) -> list[str]:
        profile = self.spec.profile
        if profile in ("openbox", "xfce", "none"):
            return [str(profile)]
        return ["--", *(profile if isinstance(profile, tuple) else shlex.split(str(profile)))]

    def _create(self) -> None:
        docker = _docker_sdk()
        backend, spec = self.backend, self.spec
        remap = (backend.uid, backend.gid) != (IMAGE_UID, IMAGE_UID)
        mounts = [docker.types.Mount(RUN_DIR, str(self.dir / "rfb"), type="bind")]
        if backend.workdir is not None:
            mounts.append(docker.types.Mount(WORK_DIR, str(backend.workdir), type="bind"))
        try:
            container = backend.client().containers.create(  # create, not run: run pulls a missing image
                backend.image,
                self._command(),
                name=self.name,
                labels={
                    f"{LABEL}.desktop": self.id,
                    f"{LABEL}.server": backend.server_id or "",
                    f"{LABEL}.owner": backend.owner,
                    f"{LABEL}.profile": spec.profile if isinstance(spec.profile, str) else "custom",
                    f"{LABEL}.spec": json.dumps(dataclasses.asdict(spec)),
                    f"{LABEL}.dir": str(self.dir),
                },
                environment={
                    **ACCESSIBILITY_ENV,
                    **spec.env,
                    "JD_GEOMETRY": spec.geometry,
                    "JD_DEPTH": str(spec.depth),
                    "JD_DPI": str(spec.dpi),
                    "JD_NAME": spec.name,
                    "JD_OPENGL": "1" if spec.opengl else "0",
                    "DESKTOP_UID": str(backend.uid),
                    "DESKTOP_GID": str(backend.gid),
                },
                # As root only to give "desktop" another uid; the start script then drops to it for good.
                user="root" if remap else "desktop",
                cap_drop=["ALL"],
                cap_add=["CHOWN", "FOWNER", "SETUID", "SETGID", "SETPCAP", "KILL"] if remap else None,
                security_opt=["no-new-privileges"],
                mounts=mounts,
                nano_cpus=int(backend.cpus * 1e9) if backend.cpus else None,
                mem_limit=backend.memory,
                pids_limit=backend.pids,
                shm_size=backend.shm_size,
                network=backend.network,
            )
            self.container_id = str(container.id)
            container.start()
        except docker.errors.ImageNotFound:
            raise backend.image_missing() from None
        except docker.errors.APIError as exc:
            raise DesktopStartError(f"Docker could not start the desktop container: {exc.explanation or exc}") from None

    async def _wait_until_ready(self) -> None:
        """Until the start script says the window manager is up (Xvnc, hence its socket, came first)."""
        ready, sock = self.dir / "rfb" / "ready", self.dir / "rfb" / "rfb.sock"
        deadline = time.monotonic() + self.backend.start_timeout
        next_check = time.monotonic() + 0.5
        while True:
            if ready.exists() and sock.exists():  # the script removes both when it starts
                return
            now = time.monotonic()
            if now >= next_check:
                next_check = now + 0.5
                state = await asyncio.to_thread(self._state)
                if not state.get("Running"):
                    raise DesktopStartError(
                        f"the desktop container stopped at start. {await asyncio.to_thread(self._exit_reason)}"
                    )
            if now >= deadline:
                logs = await asyncio.to_thread(self._logs)
                raise DesktopStartError(
                    f"the desktop container was not ready in {self.backend.start_timeout:g} s. Its log ends:\n{logs}"
                )
            await asyncio.sleep(0.01)

    # ------------------------------------------------------------------ state

    def _state(self) -> dict[str, Any]:
        docker = _docker_sdk()
        try:
            return dict(self.backend.client().api.inspect_container(self.container_id or self.name)["State"])
        except docker.errors.NotFound:
            return {"Running": False, "Removed": True}

    def _logs(self, lines: int = 15) -> str:
        with contextlib.suppress(Exception):
            data = self.backend.client().api.logs(self.container_id or self.name, tail=lines)
            return data.decode(errors="replace").strip()
        return "(no log)"

    def _exit_reason(self) -> str:
        state = self._state()
        if state.get("Removed"):
            return f"the desktop's container {self.name} was removed"
        code = state.get("ExitCode")
        how = " (SIGKILL: killed, e.g. docker kill)" if code == 137 else ""
        if state.get("OOMKilled"):
            how = f" (out of memory: the limit is {self.backend.memory})"
        error = f" ({state['Error']})" if state.get("Error") else ""
        return (
            f"the desktop's container {self.name} exited with status {code}{how}{error}. Its log ends:\n{self._logs()}"
        )

    def _watch(self) -> None:
        """A thread that waits for the container to exit and records why, so died() answers at once."""

        def watch() -> None:
            import requests  # the docker SDK's transport

            docker = _docker_sdk()
            while not self._stopped:
                if self.backend.closed:
                    return  # abandoned (the backend was closed): whoever adopts it watches it
                try:
                    self.backend.client().api.wait(self.container_id, timeout=300)
                except requests.exceptions.ReadTimeout:
                    continue
                except docker.errors.NotFound:
                    pass
                except Exception:  # the engine restarts, or the client was closed: look again soon
                    time.sleep(1)
                    continue
                break
            if not self._stopped:
                self._reason = self._exit_reason()
            self._exited.set()

        threading.Thread(target=watch, name=f"{self.name}-watch", daemon=True).start()

    def died(self) -> str | None:
        # Never blocks: the watcher thread records the exit (a few ms after the RFB connection notices).
        if self._stopped:
            return "the desktop was stopped"
        if not self._exited.is_set():
            return None
        return self._reason or f"the desktop's container {self.name} exited"

    async def port_host(self, port: int) -> str:
        """The container's address on its network (Docker's bridge by default): this host reaches it directly."""
        self._check_running()
        data = await asyncio.to_thread(self.backend.client().api.inspect_container, self.container_id or self.name)
        networks = (data.get("NetworkSettings") or {}).get("Networks") or {}
        addresses = [n.get("IPAddress") for n in networks.values() if n.get("IPAddress")]
        if not addresses:
            from ..errors import DesktopError

            raise DesktopError(f"desktop {self.id} has no network address (network={self.backend.network!r}): no port of it can be reached")
        return str(addresses[0])

    async def accessibility_bus(self) -> str:
        """The accessibility bus the session bus names (at-spi-bus-launcher puts it in XDG_RUNTIME_DIR, in
        RUN_DIR), with its path in the container turned into the host path of the same socket."""
        from ..atspi import bus_address

        self._check_running()
        session = self._host_socket(f"{RUN_DIR}/{SESSION_BUS}")
        if session is None:
            raise AccessibilityError(
                f"the desktop has no session bus at {RUN_DIR}/{SESSION_BUS} (a custom DBUS_SESSION_BUS_ADDRESS, or "
                "an image from before accessibility: jupyter desktop image build)"
            )
        address = await bus_address(_unix_address(session))
        transport, _, options = address.partition(";")[0].partition(":")
        values = dict(kv.partition("=")[::2] for kv in options.split(","))
        host = self._host_socket(unquote(values.get("path", ""))) if transport == "unix" else None
        if host is None:
            raise AccessibilityError(
                f"the desktop's accessibility bus ({address:.200}) is not a socket in {RUN_DIR}, the folder this "
                "process reaches (is XDG_RUNTIME_DIR changed?)"
            )
        guid = values.get("guid", "")
        return _unix_address(host) + (f",guid={guid}" if re.fullmatch(r"[0-9a-f]{32}", guid) else "")

    def _host_socket(self, path: str) -> Path | None:
        """The host path of a socket at ``path`` in the container's RUN_DIR, if it is one there. Symbolic links
        are resolved here and must stay in the folder: the container could point one at any socket of the host."""
        path = os.path.normpath(path)
        if not path.startswith(RUN_DIR + "/"):
            return None
        folder = (self.dir / "rfb").resolve()
        host = (folder / os.path.relpath(path, RUN_DIR)).resolve()
        return host if host.is_relative_to(folder) and host.is_socket() else None

    def _check_running(self) -> None:
        if self._stopped or self._exited.is_set():
            raise DesktopClosedError(self.died() or "the desktop stopped")

    def info(self) -> dict[str, Any]:
        return {
            "container": (self.container_id or "")[:12],
            "name": self.name,
            "image": self.backend.image,
            "x_server": "xvnc",
        }

    # ------------------------------------------------------------------ exec channel

    def _exec(
        self, cmd: list[str], env: Mapping[str, str] | None, cwd: str | None, stdin: bool
    ) -> tuple[str, Any, socket.socket]:
        docker = _docker_sdk()
        api = self.backend.client().api
        try:
            exec_id = api.exec_create(
                self.container_id, cmd, stdin=stdin, user="desktop", environment=dict(env or {}), workdir=cwd
            )["Id"]
            stream = api.exec_start(exec_id, socket=True)
        except docker.errors.APIError as exc:
            if exc.status_code in (404, 409):  # the container is gone or not running
                raise DesktopClosedError(self.died() or f"the desktop's container {self.name} is not running") from None
            raise
        return exec_id, stream, getattr(stream, "_sock", stream)

    def _exit_code(self, exec_id: str) -> int:
        api = self.backend.client().api
        for _ in range(200):
            result = api.exec_inspect(exec_id)
            if not result.get("Running") and result.get("ExitCode") is not None:
                return int(result["ExitCode"])
            time.sleep(0.01)
        raise DesktopClosedError(f"the desktop's container {self.name} did not report how a command ended")

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
        if not argv:
            raise InvalidInputError("the command is empty")
        return await asyncio.to_thread(self._run, list(argv), input, timeout, env, cwd)

    def _run(
        self, argv: list[str], data: bytes | None, timeout: float | None, env: Mapping[str, str] | None, cwd: str | None
    ) -> RunResult:
        started = time.monotonic()
        exec_id, stream, sock = self._exec(
            ["sh", "-c", _RUN_SCRIPT, "sh", f"{timeout or 0:g}", *argv], env, cwd, data is not None
        )
        out, err = bytearray(), bytearray()
        try:
            sock.settimeout(timeout + 30 if timeout else None)  # the container's `timeout` ends it before
            if data is not None:
                sock.sendall(data)
                sock.shutdown(socket.SHUT_WR)
            for kind, chunk in _frames(sock):
                (out if kind == 1 else err).extend(chunk)
        finally:
            stream.close()
        code = self._exit_code(exec_id)
        stderr = err.decode(errors="replace")
        if code == 127 and stderr.startswith("jupyter-desktop: no program"):
            raise InvalidInputError(f"no program named {argv[0]!r} on the desktop's PATH")
        if timeout and code == 137 and time.monotonic() - started >= timeout:
            raise TimeoutError(f"{shlex.join(argv)} did not finish within {timeout:g} s; it was killed")
        return RunResult(code, out.decode(errors="replace"), stderr)

    async def launch(
        self, argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: str | None = None
    ) -> LaunchedProcess:
        self._check_running()
        if not argv:
            raise InvalidInputError("the command is empty")
        loop = asyncio.get_running_loop()
        exec_id, stream, sock = await asyncio.to_thread(
            self._exec, ["sh", "-c", _LAUNCH_SCRIPT, "sh", *argv], env, cwd, False
        )
        try:
            frames = _frames(sock)
            sock.settimeout(30)
            first = await asyncio.to_thread(lambda: next((c for k, c in frames if k == 1), b""))
        except BaseException:
            stream.close()
            raise
        if not first.strip().isdigit():
            stream.close()
            raise InvalidInputError(f"no program named {argv[0]!r} on the desktop's PATH")
        process = DockerProcess(self, int(first.split()[0]), argv)

        def drain() -> None:  # its own thread: the stream ends when the program exits
            code = -1
            with contextlib.suppress(Exception):
                sock.settimeout(None)
                for _ in frames:
                    pass
                code = self._exit_code(exec_id)
            stream.close()
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                loop.call_soon_threadsafe(process._finish, code)

        threading.Thread(target=drain, name=f"{self.name}-exec-{process.pid}", daemon=True).start()
        return process

    # ------------------------------------------------------------------ lifecycle

    async def stop(self) -> None:
        if not self._stopped:
            await asyncio.to_thread(self._remove, self.backend.stop_timeout)

    def terminate_now(self) -> None:
        self._remove(0)

    def _remove(self, grace: float) -> None:
        if self._stopped:
            return
        self._stopped = True
        docker = _docker_sdk()
        try:
            api = self.backend.client().api
            if grace:
                with contextlib.suppress(docker.errors.NotFound):
                    api.stop(self.container_id or self.name, timeout=int(grace))
            api.remove_container(self.container_id or self.name, force=True)
        except docker.errors.NotFound:
            pass
        except Exception as exc:  # the engine is gone: nothing more we can do here
            log.warning("could not remove container %s: %s", self.name, exc)
        finally:
            self._exited.set()
            shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------------- backend


def _state_dir() -> Path:
    """``$TMPDIR/jupyter-desktop-docker-<uid>``, private to this user."""
    return owners.private_dir("jupyter-desktop-docker")


class DockerBackend(Backend):
    """Start desktops as Docker containers (also Podman's Docker-compatible socket, via ``DOCKER_HOST``).

    ``image``: default ``jupyter-desktop:<hash>`` of the shipped Dockerfile (``jupyter desktop image build``),
    or ``$JUPYTER_DESKTOP_IMAGE``. ``server_id``: a stable name for the owning server (default
    ``$JUPYTER_DESKTOP_SERVER_ID``); with one, a restarted server adopts the desktops it left running,
    without one they belong to this process and are reaped once it is gone. ``cpus``, ``memory``, ``pids``,
    ``shm_size``: per-container limits (None: no limit). ``workdir``: a host folder mounted at
    ``/home/desktop/work`` (the desktop writes there as your uid). ``network``: a Docker network name
    (default: Docker's default bridge; ``"none"`` cuts the desktop off the network). ``uid``/``gid``: the
    desktop user's ids (default yours; 1000 when you are root).
    """

    name = "docker"

    def __init__(
        self,
        image: str | None = None,
        *,
        server_id: str | None = None,
        cpus: float | None = 2.0,
        memory: str | int | None = "4g",
        pids: int | None = 4096,
        shm_size: str | int | None = "1g",
        workdir: str | os.PathLike[str] | None = None,
        network: str | None = None,
        uid: int | None = None,
        gid: int | None = None,
        start_timeout: float = 60.0,
        stop_timeout: float = 3.0,
        api_timeout: float = 30.0,
    ) -> None:
        self.image = image or os.environ.get("JUPYTER_DESKTOP_IMAGE") or image_tag()
        self.server_id = server_id or os.environ.get("JUPYTER_DESKTOP_SERVER_ID") or None
        self.cpus, self.memory, self.pids, self.shm_size = cpus, memory, pids, shm_size
        self.workdir = Path(workdir).resolve() if workdir is not None else None
        if self.workdir is not None and not self.workdir.is_dir():
            raise InvalidInputError(f"workdir {str(workdir)!r} is not a directory")
        self.network = network
        host_uid = os.getuid()
        self.uid = uid if uid is not None else (host_uid if host_uid != 0 else IMAGE_UID)
        self.gid = gid if gid is not None else (os.getgid() if host_uid != 0 else IMAGE_UID)
        if self.uid == 0 or self.gid == 0:
            raise InvalidInputError("the desktop user cannot be root (uid/gid 0)")
        self.start_timeout, self.stop_timeout, self.api_timeout = start_timeout, stop_timeout, api_timeout
        self._token = os.urandom(4).hex()
        self.owner = owners.identity(self._token)
        owners.LIVE_TOKENS.add(self._token)
        self.closed = False
        self._client: Any = None
        self._lock = threading.Lock()

    def client(self) -> Any:
        """The docker SDK client (connected and checked on first use). Blocking: call from a thread."""
        with self._lock:
            if self._client is None:
                docker = _docker_sdk()
                try:
                    client = docker.from_env(timeout=int(self.api_timeout), max_pool_size=64)
                    client.ping()
                except docker.errors.DockerException as exc:
                    raise _no_engine(exc) from None
                self._client = client
            return self._client

    def image_missing(self) -> ImageMissingError:
        """The error for a missing image, naming images built from other versions of the Dockerfile."""
        others: list[str] = []
        if self.image == image_tag():
            with contextlib.suppress(Exception):
                images = self.client().images.list(name=self.image.rpartition(":")[0])
                others = sorted(t for image in images for t in image.tags)
        stale = (
            f" (found only {', '.join(others)}: it must be built from this version of the Dockerfile)" if others else ""
        )
        return ImageMissingError(
            f"the desktop image {self.image} is not built{stale}; run: jupyter desktop image build"
        )

    async def start(self, spec: DesktopSpec, desktop_id: str) -> DockerDesktop:
        await asyncio.to_thread(self.client)
        await self.reap_orphans()
        desktop = DockerDesktop(self, spec, desktop_id, _state_dir() / desktop_id)
        await desktop.start()
        return desktop

    def _ours(self, running_only: bool, **labels: str) -> list[Any]:
        filters = [f"{LABEL}.desktop", *(f"{LABEL}.{k}={v}" for k, v in labels.items())]
        return self.client().containers.list(all=not running_only, filters={"label": filters})

    async def adopt(self) -> list[BackendDesktop]:
        if not self.server_id:
            return []
        containers = await asyncio.to_thread(self._ours, True, server=self.server_id)
        adopted: list[BackendDesktop] = []
        for container in containers:
            desktop = await asyncio.to_thread(self._claim, container)
            if desktop is not None:
                desktop._watch()
                adopted.append(desktop)
        return adopted

    def _claim(self, container: Any) -> DockerDesktop | None:
        """Make this backend the owner of a desktop whose owner is gone (under a lock: one adopter wins)."""
        labels = container.labels
        folder = _folder(labels)
        if folder is None or not (folder / "rfb").is_dir():
            return None  # its socket is not reachable from here
        with open(folder / "owner.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if owners.owner_alive(_read_owner(labels)):
                return None
            _write_owner(folder, self.owner)
        try:
            saved = json.loads(labels[f"{LABEL}.spec"])
            known = {f.name for f in dataclasses.fields(DesktopSpec)}
            fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in saved.items() if k in known}
            spec = DesktopSpec(**fields)
        except (KeyError, TypeError, ValueError):
            spec = DesktopSpec()
        desktop = DockerDesktop(self, spec, labels[f"{LABEL}.desktop"], folder)
        desktop.container_id = str(container.id)
        return desktop

    async def reap_orphans(self) -> list[str]:
        return await asyncio.to_thread(self._reap)

    def _reap(self) -> list[str]:
        docker = _docker_sdk()
        reaped = []
        for container in self._ours(False):
            labels = container.labels
            if owners.owner_alive(_read_owner(labels)):
                continue
            if container.status == "running" and labels.get(f"{LABEL}.server"):
                continue  # its server adopts it when it starts again
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=True)
            folder = _folder(labels)
            if folder is not None and folder.parent == _state_dir() and folder.name == labels[f"{LABEL}.desktop"]:
                shutil.rmtree(folder, ignore_errors=True)
            reaped.append(labels[f"{LABEL}.desktop"])
        return reaped

    async def close(self) -> None:
        """Forget the engine. Desktops still running stay: adoptable (with a server id) or reaped later."""
        self.closed = True
        owners.LIVE_TOKENS.discard(self._token)
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            await asyncio.to_thread(client.close)
