"""Recordings the server makes of its desktops, and their REST routes (``openapi.yaml``: Recordings).

The server sees every input that reaches a desktop through it: each viewer's RFB stream (the WebSocket proxy,
which the notebook widget's tunnel also goes through) and the kernels' own RFB connections. While a desktop
records, each connection's input is decoded into steps (:class:`~jupyter_desktop.trajectory.ViewerInput`):
``human`` for a viewer, ``agent`` for a connection that says it is a program's (``?source=agent``: a kernel's
``Desktop``). The folder is the format of :mod:`jupyter_desktop.trajectory` (``Trajectory(path)`` loads it), under
``DesktopExtension.recordings_dir``, one folder per recording named by the client or after the desktop and time.

Routes (all behind Jupyter's auth, like every route of the extension)::

    POST   desktop/api/desktops/<id>/recording      start  {"name" | "path", "every", "video", "fps", "max_bytes",
                                                    "settle", "cpu"} (``Recorder``'s options); ``path``: a folder
                                                    under the server's root directory
    GET    desktop/api/desktops/<id>/recording      the desktop's recording under way (204: none)
    DELETE desktop/api/desktops/<id>/recording      stop it; its summary
    GET    desktop/api/recordings                   every recording in the folder, newest first
    GET    desktop/api/recordings/<name>            one: its summary, meta.json and steps (?offset, ?limit)
    DELETE desktop/api/recordings/<name>            remove its folder (not while it records)
    GET    desktop/api/recordings/<name>/files/<f>  one of its files (ranges: a browser's <video> seeks)
    GET    desktop/api/recordings/<name>/download   the folder as a zip, streamed
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import re
import shutil
import threading
import time
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_server.base.handlers import AuthenticatedFileHandler
from tornado import web
from tornado.iostream import StreamClosedError
from tornado.ioloop import PeriodicCallback

from .._loop import LoopCaller
from ..errors import DesktopError, DesktopNotFoundError, InvalidInputError, LimitError, RecordingLimitError
from ..trajectory import Recorder, Trajectory
from .handlers import ID, RESOURCE, DesktopAPIHandler, _fields, api

if TYPE_CHECKING:
    from ..session import Session

__all__ = ["Recordings", "routes"]

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
CHECK_EVERY = 1.0  # seconds between looks at whether a recording's desktop still runs
MAX_LISTED = 1000  # recordings the list shows (newest first)
MAX_STEPS = 10_000  # steps one GET of a recording returns (?offset, ?limit page through more)
ZIP_CHUNK = 1 << 20
ZIP_STALL = 120.0  # seconds the packing of a download may take between two chunks (a stuck disk)
MAX_DOWNLOADS = 8  # zips being streamed at once (each packs on a thread of its own)
OPTIONS = {"name", "path", "every", "video", "fps", "max_bytes", "settle", "cpu"}


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not NAME.fullmatch(name) or name.endswith(".tmp"):
        raise InvalidInputError(
            f"a recording's name is 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit, not {name!r:.120}"
        )
    return name


class Recordings:
    """The extension's recordings: their folder, the one under way per desktop (``Session.recorder``, which the
    viewers' input and the server's own input calls go to)."""

    def __init__(self, ext: Any, root: Path, max_bytes: int, allowed: Path | None = None) -> None:
        self.ext = ext
        self.root = root
        self.max_bytes = max_bytes
        self.allowed = allowed  # where a client may ask for a folder of its own (``path``): the server's root dir
        self.active: dict[str, Recorder] = {}  # desktop id -> its recording under way
        self._starting: set[str] = set()
        self._stopping: set[str] = set()
        self._checker: PeriodicCallback | None = None

    def recorder(self, desktop_id: str) -> Recorder | None:
        """The recording under way on a desktop, if any."""
        return self.active.get(desktop_id)

    def _check_desktops(self) -> None:
        """End the recordings whose desktop stopped or went away."""
        for desktop_id in list(self.active):
            session = self.ext.manager.sessions.get(desktop_id)
            if (session is None or session.status != "running") and desktop_id not in self._stopping:
                asyncio.ensure_future(self._stop_quietly(desktop_id))

    async def _stop_quietly(self, desktop_id: str) -> None:
        with contextlib.suppress(Exception):
            await self.stop(desktop_id)

    # ------------------------------------------------------------------ start, stop

    def _folder(self, options: dict[str, Any], desktop_id: str) -> Path:
        name, path = options.get("name"), options.get("path")
        if name is not None and path is not None:
            raise InvalidInputError("give a recording either a name (a folder in the server's recordings folder) or a path, not both")
        if path is not None:
            if not isinstance(path, str) or not path or len(path) > 4096 or "\0" in path:
                raise InvalidInputError(f"path must be a folder's path (at most 4096 characters), not {path!r:.120}")
            if any(len(part.encode(errors="replace")) > 255 for part in Path(path).parts):
                raise InvalidInputError(f"each folder name in path may be 255 bytes long at most: {path!r:.120}")
            base = self.allowed or self.root
            folder = (base / path).resolve()  # relative: to the server's root directory
            if not folder.is_relative_to(base):
                raise InvalidInputError(f"a recording's path must be inside the server's root directory {base}, not {path!r:.200}")
            if (folder / "trajectory.jsonl").exists():
                raise DesktopError(f"{folder} already holds a recording; choose another folder")
            return folder
        name = check_name(name) if name is not None else time.strftime(f"{desktop_id}-%Y%m%d-%H%M%S")
        folder = self.root / name
        if folder.exists():
            raise DesktopError(f"a recording named {name!r} exists already; choose another name or delete it")
        return folder

    async def start(self, session: Session, options: dict[str, Any]) -> dict[str, Any]:
        _fields(options, OPTIONS)
        if session.status != "running":
            raise DesktopError(f"desktop {session.id} is {session.status}: only a running desktop can record")
        if session.id in self.active or session.id in self._starting:
            where = self.active[session.id].path if session.id in self.active else "starting"
            raise DesktopError(f"desktop {session.id} is already recording ({where}); stop that recording first")
        folder = self._folder(options, session.id)
        max_bytes = self.max_bytes if options.get("max_bytes") is None else options["max_bytes"]
        if isinstance(max_bytes, int) and not isinstance(max_bytes, bool) and max_bytes > self.max_bytes:
            raise LimitError(f"max_bytes may be at most {self.max_bytes} bytes on this server (recording_max_bytes), not {max_bytes}")
        kwargs = {k: options[k] for k in ("every", "video", "fps", "settle", "cpu") if k in options}
        self._starting.add(session.id)  # a second start meanwhile is refused
        try:
            runner = LoopCaller.here()
            # (it takes the first screenshot and starts ffmpeg: blocking work, off the loop, which it calls back)
            recorder = await asyncio.to_thread(Recorder, session, runner, folder, max_bytes=max_bytes, **kwargs)
        finally:
            self._starting.discard(session.id)
        self.active[session.id] = recorder
        session.recorder = recorder
        if self._checker is None:
            self._checker = PeriodicCallback(self._check_desktops, CHECK_EVERY * 1000)
            self._checker.start()
        return self.summary(folder)

    async def stop(self, desktop_id: str) -> dict[str, Any]:
        """End a desktop's recording: the viewers' open actions, the last screenshot, the video."""
        recorder = self.active.get(desktop_id)
        if recorder is None or desktop_id in self._stopping:
            raise DesktopNotFoundError(f"desktop {desktop_id} is not recording")
        self._stopping.add(desktop_id)
        error = None
        try:
            await asyncio.to_thread(recorder.stop)
        except RecordingLimitError as exc:
            error = str(exc)
        finally:
            self.active.pop(desktop_id, None)
            self._stopping.discard(desktop_id)
            session = self.ext.manager.sessions.get(desktop_id)
            if session is not None and session.recorder is recorder:
                session.recorder = None
            if not self.active and self._checker is not None:
                self._checker.stop()
                self._checker = None
        return {**self.summary(recorder.path), "error": error}

    async def stop_all(self) -> None:
        await asyncio.gather(*(self._stop_quietly(d) for d in list(self.active)))

    # ------------------------------------------------------------------ reading

    def path(self, name: str) -> Path:
        """A finished or running recording of the recordings folder, by name."""
        path = self.root / check_name(name)
        if not (path / "trajectory.jsonl").is_file():
            raise DesktopNotFoundError(f"no recording named {name!r} in {self.root}")
        return path

    def _live(self, path: Path) -> Recorder | None:
        for recorder in self.active.values():
            if recorder.path == path:
                return recorder
        return None

    def summary(self, path: Path) -> dict[str, Any]:
        try:
            meta = json.loads((path / "meta.json").read_text())
        except (OSError, ValueError):
            meta = {}
        live = self._live(path)
        info = {
            "name": path.name if path.parent == self.root else None,
            "path": str(path),
            "desktop": (meta.get("desktop") or {}).get("id"),
            "recording": live is not None,
            "start": meta.get("start"),
            "end": meta.get("end"),
            "step_count": meta.get("steps", 0),
            "bytes": meta.get("bytes", 0),
            "video": [s["file"] for s in (meta.get("video") or {}).get("segments", [])],
            "stopped": meta.get("stopped"),
        }
        if live is not None:
            info.update(step_count=len(live.steps), bytes=live.bytes, video=[s["file"] for s in live.segments])
        return info

    def list(self) -> list[dict[str, Any]]:
        """The recordings folder's recordings, newest first, after those under way elsewhere (``path``)."""
        try:
            folders = [p for p in self.root.iterdir() if NAME.fullmatch(p.name) and (p / "trajectory.jsonl").is_file()]
        except FileNotFoundError:
            folders = []
        folders.sort(key=lambda p: (p / "trajectory.jsonl").stat().st_mtime, reverse=True)
        elsewhere = [r.path for r in self.active.values() if r.path.parent != self.root]
        return [self.summary(p) for p in (elsewhere + folders)[:MAX_LISTED]]

    def details(self, name: str, offset: int, limit: int) -> dict[str, Any]:
        trajectory = Trajectory(self.path(name))
        return {
            **self.summary(self.path(name)),
            "meta": trajectory.meta,
            "total_steps": len(trajectory.steps),
            "offset": offset,
            "steps": [s.to_dict() for s in trajectory.steps[offset : offset + limit]],
        }

    async def delete(self, name: str) -> None:
        path = self.path(name)
        if self._live(path) is not None:
            raise DesktopError(f"recording {name!r} is under way; stop it first (DELETE desktop/api/desktops/<id>/recording)")
        await asyncio.to_thread(shutil.rmtree, path)


# ---------------------------------------------------------------------- routes


class DesktopRecordingHandler(DesktopAPIHandler):
    QUIET = frozenset({"get"})

    @property
    def recordings(self) -> Recordings:
        return self.ext.recordings

    @api
    async def post(self, desktop_id: str) -> None:
        summary = await self.recordings.start(self.session(desktop_id), self.body())
        self.reply(summary, 201)

    @api
    async def get(self, desktop_id: str) -> None:
        self.session(desktop_id)
        recorder = self.recordings.recorder(desktop_id)
        if recorder is None:  # not recording: no content (a page asks this whenever it connects; not an error)
            self.set_status(204)
            self.finish()
            return
        self.reply(self.recordings.summary(recorder.path))

    @api
    async def delete(self, desktop_id: str) -> None:
        self.reply(await self.recordings.stop(desktop_id))


class RecordingsHandler(DesktopAPIHandler):
    QUIET = frozenset({"get"})

    @api
    async def get(self) -> None:
        self.reply(await asyncio.to_thread(self.ext.recordings.list))


class RecordingHandler(DesktopAPIHandler):
    QUIET = frozenset({"get"})
    QUERY = {"get": ("offset", "limit")}

    @api
    async def get(self, name: str) -> None:
        offset = self.arg_int("offset", 0, 0, 10**9)
        limit = self.arg_int("limit", MAX_STEPS, 0, MAX_STEPS)
        self.reply(await asyncio.to_thread(self.ext.recordings.details, name, offset, limit))

    @api
    async def delete(self, name: str) -> None:
        await self.ext.recordings.delete(name)
        self.set_status(204)
        self.finish()


class RecordingFileHandler(AuthenticatedFileHandler):
    """A recording's file (screens/…, video.mp4, trajectory.jsonl, meta.json), with ranges; nothing outside it."""

    auth_resource = RESOURCE

    def initialize(self, **kwargs: Any) -> None:  # type: ignore[override]
        super().initialize(path=str(self.settings["jupyter_desktop"].recordings.root))

    @web.authenticated
    def get(self, name: str, path: str, include_body: bool = True) -> Any:  # type: ignore[override]
        if not NAME.fullmatch(name):
            raise web.HTTPError(404)
        return super().get(f"{name}/{path}", include_body=include_body)

    @web.authenticated
    def head(self, name: str, path: str) -> Any:  # type: ignore[override]
        return self.get(name, path, include_body=False)

    def get_login_url(self) -> str:
        if not self.current_user:  # an API route: refused, not sent to the login page (as APIHandler does)
            raise web.HTTPError(403)
        return super().get_login_url()

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        body = {"message": self._reason}
        if status_code == 404:
            body["error"] = "DesktopNotFoundError"
        self.finish(body)


class _Pipe:
    """A file object for ZipFile on its own thread: each MiB written goes into a small asyncio queue the handler
    drains on the loop (the thread waits while it is full: the browser's pace; no executor thread is held)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.chunks: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue(maxsize=4)
        self.buffer = bytearray()
        self.cancelled = threading.Event()

    def put(self, item: bytes | BaseException | None) -> None:
        future = asyncio.run_coroutine_threadsafe(self.chunks.put(item), self.loop)
        while not self.cancelled.is_set():
            try:
                future.result(0.5)
                return
            except concurrent.futures.TimeoutError:
                continue
        future.cancel()
        raise OSError("the download was cancelled")

    def write(self, data: bytes) -> int:
        if self.cancelled.is_set():
            raise OSError("the download was cancelled")
        self.buffer += data
        if len(self.buffer) >= ZIP_CHUNK:
            self.flush()
        return len(data)

    def flush(self) -> None:
        if self.buffer:
            chunk, self.buffer = bytes(self.buffer), bytearray()
            self.put(chunk)


def _zip(folder: Path, pipe: _Pipe) -> None:
    try:
        with zipfile.ZipFile(pipe, "w") as archive:  # type: ignore[call-overload]  # unseekable: data descriptors
            for file in sorted(folder.rglob("*")):
                if not file.is_file() or file.is_symlink() or file.name.endswith(".tmp"):
                    continue
                packed = file.suffix in (".png", ".mp4")  # compressed already
                archive.write(file, f"{folder.name}/{file.relative_to(folder)}", zipfile.ZIP_STORED if packed else zipfile.ZIP_DEFLATED)
        pipe.flush()
        end: bytes | BaseException | None = None
    except BaseException as exc:  # noqa: BLE001 - told to the handler
        end = exc
    with contextlib.suppress(OSError):
        pipe.put(end)


class RecordingDownloadHandler(DesktopAPIHandler):
    QUIET = frozenset({"get"})
    downloads = 0  # under way on this server

    @api
    async def get(self, name: str) -> None:
        recordings: Recordings = self.ext.recordings
        folder = recordings.path(name)
        if recordings._live(folder) is not None:
            raise DesktopError(f"recording {name!r} is under way (its video is not finished); stop it first")
        if RecordingDownloadHandler.downloads >= MAX_DOWNLOADS:
            raise LimitError(f"{MAX_DOWNLOADS} recordings are being downloaded from this server already (MAX_DOWNLOADS); try again shortly")
        RecordingDownloadHandler.downloads += 1
        self.set_header("Content-Type", "application/zip")
        self.set_header("Content-Disposition", f'attachment; filename="{name}.zip"')
        self.set_header("Cache-Control", "no-store")
        pipe = _Pipe(asyncio.get_running_loop())
        thread = threading.Thread(target=_zip, args=(folder, pipe), name="jupyter-desktop-zip", daemon=True)
        try:
            thread.start()
            while True:
                chunk = await asyncio.wait_for(pipe.chunks.get(), ZIP_STALL)
                if chunk is None:
                    break
                if isinstance(chunk, BaseException):
                    raise web.HTTPError(500, f"cannot pack {name}: {chunk}") from None  # mid-stream: the body breaks off
                self.write(chunk)
                await self.flush()
        except StreamClosedError:  # the browser went away
            return
        finally:
            pipe.cancelled.set()
            RecordingDownloadHandler.downloads -= 1
        self.finish()


def routes() -> list[tuple[str, type]]:
    name = r"(?P<name>[^/]+)"
    return [
        (rf"desktop/api/desktops/{ID}/recording", DesktopRecordingHandler),
        ("desktop/api/recordings", RecordingsHandler),
        (rf"desktop/api/recordings/{name}", RecordingHandler),
        (rf"desktop/api/recordings/{name}/files/(?P<path>.+)", RecordingFileHandler),
        (rf"desktop/api/recordings/{name}/download", RecordingDownloadHandler),
    ]
