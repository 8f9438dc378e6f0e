"""REST API under ``{base_url}desktop/api/desktops``: a thin layer over the DesktopManager.

Every handler needs Jupyter auth (``@web.authenticated`` + ``@authorized``). Errors are JSON
``{"message": ...}`` with a 4xx status saying what was wrong; the OpenAPI document is ``openapi.yaml``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import json
import math
import re
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from PIL import Image
from tornado import web

from ..backends.base import DesktopSpec
from ..errors import (
    BY_NAME,
    DesktopBusyError,
    DesktopClosedError,
    DesktopError,
    DesktopNotFoundError,
    DesktopStartError,
    ExistingFileError,
    InputLimitError,
    InvalidInputError,
    LimitError,
    MissingDependencyError,
    NoSuchFileError,
    RFBError,
    StaleNodeError,
    TakenOverError,
)
from .. import atspi, wire
from ..accessibility import outline
from ..session import MAX_FILE, Session

__all__ = ["routes", "DesktopAPIHandler", "RESOURCE"]

RESOURCE = "desktops"  # the authorization resource of every route
ID = r"(?P<desktop_id>[^/]+)"
OPENAPI = Path(__file__).with_name("openapi.yaml")

MAX_BODY = 4 << 20  # bytes of a request body
#: Operations that read without using the desktop: a page's long-poll of the gate must not count as use (a
#: forgotten tab would keep a JupyterHub server from its idle culler).
QUIET_OPS = frozenset({"watch", "control", "describe", "screen_size", "vnc_endpoint"})

_STATUS: list[tuple[type[BaseException], int]] = [
    (DesktopNotFoundError, 404),
    (StaleNodeError, 404),
    (NoSuchFileError, 404),
    (ExistingFileError, 409),
    (InputLimitError, 413),
    (InvalidInputError, 400),
    (DesktopBusyError, 429),
    (LimitError, 429),
    (DesktopClosedError, 409),
    (TakenOverError, 423),
    (MissingDependencyError, 503),
    (DesktopStartError, 503),
    (TimeoutError, 504),
    (RFBError, 502),
    (DesktopError, 409),
]


def api(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """Authenticate, authorize, and turn our exceptions into JSON errors with a fitting 4xx/5xx status."""

    @web.authenticated
    @authorized
    @functools.wraps(method)
    async def wrapper(self: DesktopAPIHandler, *args: Any, **kwargs: Any) -> Any:
        try:
            self.check_query(method.__name__)
            result = await method(self, *args, **kwargs)
            if method.__name__ not in self.QUIET and not self.quiet_call:
                self.ext.note_activity(kwargs.get("desktop_id"))
            return result
        except web.HTTPError:
            raise
        except Exception as exc:
            for kind, status in _STATUS:
                if isinstance(exc, kind):
                    break
            else:
                raise
            # the class crosses the wire: the kernel raises the same one (remote.py)
            name = type(exc).__name__ if type(exc).__name__ in BY_NAME else kind.__name__
            self.set_status(status)
            self.finish({"message": str(exc), "error": name})
            return None

    return wrapper  # type: ignore[return-value]


@web.stream_request_body
class DesktopAPIHandler(APIHandler):
    """Bodies are read as they arrive and kept only up to ``max_body`` bytes (MAX_BODY; a file for FilesHandler); a
    bigger one is refused (413)."""

    auth_resource = RESOURCE
    _body: bytearray
    _body_size = 0
    max_body = MAX_BODY  # bytes of this handler's request bodies (FilesHandler's: a file)
    #: Query parameters each method takes (besides Jupyter's own token and _xsrf); others are refused.
    QUERY: dict[str, tuple[str, ...]] = {}
    #: Methods that are not use of a desktop (status reads a forgotten page repeats): they do not count as
    #: activity, for the idle timeout nor for JupyterHub. Every other successful call does (note_activity).
    QUIET: frozenset[str] = frozenset()
    _track_activity = False  # jupyter_server's own API activity: every request, polls included
    quiet_call = False  # set by a handler for a request that reads without using the desktop (a page's watch)

    def check_query(self, method: str) -> None:
        known = self.QUERY.get(method, ())
        args = self.request.query_arguments
        unknown = {
            name
            for name in set(args) - set(known) - {"token", "_xsrf"}
            # JupyterLab's ServerConnection.makeRequest appends a bare timestamp (?1796140886622) against caches
            if not (name.isdigit() and args[name] == [b""])
        }
        if unknown:
            names = ", ".join(repr(n) for n in sorted(unknown))
            takes = f"it takes {', '.join(known)}" if known else "it takes none"
            raise InvalidInputError(f"unknown query parameter(s) {names:.300}; {takes}")

    @property
    def ext(self) -> Any:
        return self.settings["jupyter_desktop"]

    async def prepare(self) -> None:  # type: ignore[override]
        await super().prepare()
        self._body = bytearray()
        length = self.request.headers.get("Content-Length", "0")
        if length.isdigit() and int(length) > self.max_body:
            raise web.HTTPError(413, _too_big(int(length), self.max_body))

    def data_received(self, chunk: bytes) -> None:
        self._body_size += len(chunk)
        if self._body_size <= self.max_body:
            self._body += chunk  # past the limit, the rest is read and dropped; the handler answers 413

    def session(self, desktop_id: str) -> Session:
        return self.ext.manager.get(desktop_id)

    def body(self) -> Any:  # a JSON object (checked); its values go to the session, which checks them
        if self._body_size > self.max_body:
            raise InputLimitError(_too_big(self._body_size, self.max_body))
        if not self._body:
            return {}
        try:
            data = json.loads(self._body, parse_constant=_not_json)
        except (ValueError, RecursionError) as exc:
            raise InvalidInputError(f"the request body is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise InvalidInputError("the request body must be a JSON object")
        return data

    def reply(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(data))

    def arg_float(self, name: str, default: float, low: float, high: float) -> float:
        value = self.get_argument(name, None)
        if value is None:
            return default
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not low <= number <= high:  # NaN fails this too
            raise InvalidInputError(f"{name} must be a number in {low:g}..{high:g}, not {value!r}")
        return number

    def arg_int(self, name: str, default: int, low: int, high: int) -> int:
        value = self.get_argument(name, None)
        if value is None:
            return default
        if not _INT.fullmatch(value) or not low <= int(value) <= high:
            raise InvalidInputError(f"{name} must be an integer in {low}..{high}, not {value!r}")
        return int(value)


def _path_int(text: str, what: str) -> int:
    if not _INT.fullmatch(text) or int(text) < 0:
        raise InvalidInputError(f"{what} must be a whole number, not {text!r}")
    return int(text)


def _not_json(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _too_big(size: int, limit: int = MAX_BODY) -> str:
    named = " (MAX_FILE)" if limit == MAX_FILE else ""
    return f"the request body is {size} bytes; the limit is {limit} bytes{named}"


def _fields(body: dict[str, Any], allowed: set[str]) -> None:
    unknown = set(body) - allowed
    if unknown:
        raise InvalidInputError(f"unknown field(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(allowed))}")


class DesktopsHandler(DesktopAPIHandler):
    QUIET = frozenset({"get"})

    @api
    async def get(self) -> None:
        self.reply([s.to_dict() for s in self.ext.manager.list()])

    @api
    async def post(self) -> None:
        body = self.body()
        _fields(body, {*DesktopSpec.FIELDS, "backend"})
        spec = DesktopSpec.from_json(
            body, profile=self.ext.default_profile, width=self.ext.default_width, height=self.ext.default_height
        )
        backend = body.get("backend")
        if backend is not None and not isinstance(backend, str):
            raise InvalidInputError(f"backend must be a name such as 'local' or 'docker', not {backend!r:.80}")
        self.ext.check_request(spec, backend)
        owner = self.current_user.username if hasattr(self.current_user, "username") else None
        session = await self.ext.manager.create(spec, backend=backend, owner=owner)
        self.set_header("Location", self.request.path.rstrip("/") + "/" + session.id)
        self.reply(session.to_dict(), 201)


class DesktopHandler(DesktopAPIHandler):
    QUIET = frozenset({"get"})

    @api
    async def get(self, desktop_id: str) -> None:
        self.reply(self.session(desktop_id).to_dict())

    @api
    async def delete(self, desktop_id: str) -> None:
        if self.ext.recordings.recorder(desktop_id) is not None:  # ended while the desktop still shows its screen
            with contextlib.suppress(DesktopError):
                await self.ext.recordings.stop(desktop_id)
        await self.ext.manager.delete(desktop_id)
        self.set_status(204)
        self.finish()


class RestartHandler(DesktopAPIHandler):
    @api
    async def post(self, desktop_id: str) -> None:
        session = self.session(desktop_id)
        await session.restart()
        self.reply(session.to_dict())


_INT = re.compile(r"\s*-?[0-9]{1,9}\s*")


def _parse_ints(text: str, sep: str, count: int, what: str) -> list[int]:
    parts = text.split(sep)
    if len(parts) != count or not all(_INT.fullmatch(p) for p in parts):
        raise InvalidInputError(f"{what} must be {count} integers separated by {sep!r}, not {text!r}")
    return [int(p) for p in parts]


class ScreenshotHandler(DesktopAPIHandler):
    """``?format=png|jpeg|webp|raw&region=x,y,w,h&scale=0.5|WxH&quality=80&fresh=1``.

    ``raw`` is RGB bytes, row after row, with the size in ``X-Width``/``X-Height``: the fastest path.
    """

    QUERY = {"get": ("format", "region", "scale", "quality", "fresh")}
    FORMATS = {"png": "image/png", "jpeg": "image/jpeg", "jpg": "image/jpeg", "webp": "image/webp", "raw": "application/octet-stream"}

    @api
    async def get(self, desktop_id: str) -> None:
        session = self.session(desktop_id)
        fmt = self.get_argument("format", "png").lower()
        if fmt not in self.FORMATS:
            raise InvalidInputError(f"format must be one of {', '.join(self.FORMATS)}, not {fmt!r}")
        region_arg = self.get_argument("region", None)
        region = _parse_ints(region_arg, ",", 4, "region") if region_arg else None
        quality = self.arg_int("quality", 80, 1, 100)
        fresh = self.get_argument("fresh", "1") not in ("0", "false", "no")
        scale_arg = self.get_argument("scale", None)
        scale: float | list[int] | None = None
        if scale_arg:
            if "x" in scale_arg:
                scale = _parse_ints(scale_arg, "x", 2, "scale")
            else:  # a number; the session checks its range (capture)
                try:
                    scale = float(scale_arg)
                except ValueError:
                    raise InvalidInputError(f"scale must be a number (0.5) or a size (1024x640), not {scale_arg!r}") from None
        image = await session.capture(region, scale, fresh)
        data = await asyncio.to_thread(_encode, image, fmt, quality)
        self.set_header("X-Width", str(image.width))
        self.set_header("X-Height", str(image.height))
        self.set_header("Cache-Control", "no-store")
        self.finish(data, set_content_type=self.FORMATS[fmt])  # APIHandler.finish would say JSON


def _encode(image: Image.Image, fmt: str, quality: int) -> bytes:
    if fmt == "raw":
        return image.tobytes()
    buf = io.BytesIO()
    if fmt == "png":
        image.save(buf, "PNG", compress_level=1)  # fast: a screenshot is encoded once and sent at once
    elif fmt in ("jpeg", "jpg"):
        image.save(buf, "JPEG", quality=quality)
    else:
        image.save(buf, "WEBP", quality=quality, method=0)
    return buf.getvalue()


class ActionsHandler(DesktopAPIHandler):
    @api
    async def post(self, desktop_id: str) -> None:
        body = self.body()
        _fields(body, {"actions"})
        await self.session(desktop_id).perform(body.get("actions"))
        self.set_status(204)
        self.finish()


class PointerHandler(DesktopAPIHandler):
    @api
    async def get(self, desktop_id: str) -> None:
        x, y = await self.session(desktop_id).pointer_position()
        self.reply({"x": x, "y": y})


class CallHandler(DesktopAPIHandler):
    """Any operation of the session Protocol that travels as JSON (``wire.py``): ``POST .../call/<op>`` with
    ``{"args": {...}}`` answers ``{"result": ...}``; ``GET .../call`` lists the operations and their parameters."""

    QUIET = frozenset({"get"})

    @api
    async def get(self, desktop_id: str, op: str | None = None) -> None:
        self.session(desktop_id)  # 404 for an unknown desktop, as every route
        if op:
            raise web.HTTPError(405, "call an operation with POST")
        self.reply(wire.describe())

    @api
    async def post(self, desktop_id: str, op: str | None = None) -> None:
        if not op:
            raise web.HTTPError(405, "POST .../call/<op>; GET .../call lists the operations")
        body = self.body()
        _fields(body, {"args"})
        args = wire.check_args(op, body.get("args", {}))
        self.quiet_call = op in QUIET_OPS
        if "by" in wire.operations()[op].parameters:  # who a person is, the server says: the caller's login
            args["by"] = getattr(self.current_user, "username", "") or ""
        result = await getattr(self.session(desktop_id), op)(**args)
        self.reply({"result": wire.encode_result(op, result)})


class ExecHandler(DesktopAPIHandler):
    """Run a command to completion: ``{"command": "ls -l" | ["ls", "-l"], "input", "timeout", "env", "cwd"}``."""

    @api
    async def post(self, desktop_id: str) -> None:
        body = self.body()
        _fields(body, {"command", "input", "timeout", "env", "cwd"})
        if "command" not in body:
            raise InvalidInputError("missing 'command'")
        result = await self.session(desktop_id).run(
            body["command"], input=body.get("input"), timeout=body.get("timeout", 60), env=body.get("env"), cwd=body.get("cwd")
        )
        self.reply(result.to_json())


class ProcessesHandler(DesktopAPIHandler):
    """``POST {"command": ...}`` launches a program, ``{"open": "url or path"}`` opens with the default app."""

    @api
    async def get(self, desktop_id: str) -> None:
        self.reply([p.to_json() for p in self.session(desktop_id).processes.values()])

    @api
    async def post(self, desktop_id: str) -> None:
        body = self.body()
        _fields(body, {"command", "open", "env", "cwd"})
        session = self.session(desktop_id)
        if "open" in body and "command" in body:
            raise InvalidInputError("give either 'command' to launch or 'open' for a URL or file, not both")
        if "open" in body:
            process = await session.open(body["open"], env=body.get("env"), cwd=body.get("cwd"))
        elif "command" in body:
            process = await session.launch(body["command"], env=body.get("env"), cwd=body.get("cwd"))
        else:
            raise InvalidInputError("give 'command' to launch or 'open' for a URL or file")
        self.reply(process.to_json(), 201)


class ProcessHandler(DesktopAPIHandler):
    QUERY = {"delete": ("signal",)}

    @api
    async def get(self, desktop_id: str, pid: str) -> None:
        self.reply(self.session(desktop_id).process(_path_int(pid, "pid")).to_json())

    @api
    async def delete(self, desktop_id: str, pid: str) -> None:
        sig = self.arg_int("signal", signal.SIGTERM, 1, 64)
        if sig not in {s.value for s in signal.Signals}:
            raise InvalidInputError(f"unknown signal {sig}")
        process = self.session(desktop_id).process(_path_int(pid, "pid"))
        await process.kill(sig)
        self.reply(process.to_json())


class ProcessWaitHandler(DesktopAPIHandler):
    QUERY = {"post": ("timeout",)}

    @api
    async def post(self, desktop_id: str, pid: str) -> None:
        timeout = self.arg_float("timeout", 30.0, 0, 3600)
        process = self.session(desktop_id).process(_path_int(pid, "pid"))
        await process.wait(timeout)
        self.reply(process.to_json())


class WindowsHandler(DesktopAPIHandler):
    @api
    async def get(self, desktop_id: str) -> None:
        self.reply([w.to_json() for w in await self.session(desktop_id).windows()])


class WindowCommandHandler(DesktopAPIHandler):
    @api
    async def post(self, desktop_id: str, window_id: str, command: str) -> None:
        if command not in ("activate", "close"):
            raise web.HTTPError(404, f"no window command {command!r}: activate or close")
        await self.session(desktop_id).window_command(_path_int(window_id, "window id"), command)
        self.set_status(204)
        self.finish()


class AccessibilityHandler(DesktopAPIHandler):
    """``GET``: a snapshot of the widgets on the screen (``?format=json|text&app=&all=1&max_nodes=&max_depth=
    &max_text=&timeout=``); ``POST {"ref", "command", "arg"}``: act on one (click, do, set_text, focus, describe)."""

    QUERY = {"get": ("format", "app", "all", "max_nodes", "max_depth", "max_text", "timeout")}

    @api
    async def get(self, desktop_id: str) -> None:
        fmt = self.get_argument("format", "json")
        if fmt not in ("json", "text"):
            raise InvalidInputError(f"format must be json or text, not {fmt!r:.40}")
        snapshot = await self.session(desktop_id).accessibility(
            self.get_argument("app", None),
            self.get_argument("all", "0") in ("1", "true", "yes"),
            self.arg_int("max_nodes", atspi.DEFAULT_NODES, 1, atspi.MAX_NODES),
            self.arg_int("max_depth", atspi.DEFAULT_DEPTH, 1, atspi.MAX_DEPTH),
            self.arg_int("max_text", atspi.DEFAULT_TEXT, 1, atspi.MAX_TEXT),
            self.arg_float("timeout", 30.0, 0.1, atspi.MAX_WAIT),
        )
        if fmt == "text":
            self.finish(outline(snapshot), set_content_type="text/plain; charset=utf-8")
        else:
            self.reply(snapshot)

    @api
    async def post(self, desktop_id: str) -> None:
        body = self.body()
        _fields(body, {"ref", "command", "arg"})
        ref, command, arg = body.get("ref"), body.get("command"), body.get("arg")
        if not isinstance(command, str) or (arg is not None and not isinstance(arg, str)):
            raise InvalidInputError('the body is {"ref": a node\'s ref, "command": click|do|set_text|focus|describe, "arg": a string}')
        self.reply(await self.session(desktop_id).accessible_command(ref, command, arg))


class ClipboardHandler(DesktopAPIHandler):
    @api
    async def get(self, desktop_id: str) -> None:
        self.reply({"text": await self.session(desktop_id).get_clipboard()})

    @api
    async def put(self, desktop_id: str) -> None:
        body = self.body()
        _fields(body, {"text"})
        await self.session(desktop_id).set_clipboard(body.get("text"))
        self.set_status(204)
        self.finish()


class SizeHandler(DesktopAPIHandler):
    @api
    async def get(self, desktop_id: str) -> None:
        width, height = self.session(desktop_id).size
        self.reply({"width": width, "height": height})

    @api
    async def put(self, desktop_id: str) -> None:
        body = self.body()
        _fields(body, {"width", "height"})
        session = self.session(desktop_id)
        await session.resize(body.get("width"), body.get("height"))
        width, height = session.size
        self.reply({"width": width, "height": height})


class StableHandler(DesktopAPIHandler):
    @api
    async def post(self, desktop_id: str) -> None:
        body = self.body()
        _fields(body, {"quiet", "timeout"})
        stable = await self.session(desktop_id).wait_until_stable(body.get("quiet", 0.5), body.get("timeout", 10.0))
        self.reply({"stable": stable})


class ActivityHandler(DesktopAPIHandler):
    """A viewer that shows the desktop to a person says so (the page is visible and its screen changes)."""

    @api
    async def post(self, desktop_id: str) -> None:
        self.session(desktop_id)  # 404 for an unknown desktop; the wrapper notes the activity
        self.set_status(204)
        self.finish()


class FilesHandler(DesktopAPIHandler):
    """A file on the desktop as raw bytes, as its user sees it: ``GET``, ``PUT`` (the body, up to MAX_FILE bytes: this
    route's own body limit) and ``DELETE`` ``.../files?path=`` (``&parents=1&mode=0644``, ``&recursive=1``)."""

    QUERY = {"get": ("path",), "put": ("path", "parents", "mode", "exclusive"), "delete": ("path", "recursive")}
    max_body = MAX_FILE

    def _path(self) -> str:
        path = self.get_argument("path", None, strip=False)
        if path is None:
            raise InvalidInputError("the query parameter path is missing: ?path=notes.txt")
        return path

    def _flag(self, name: str) -> bool:
        value = self.get_argument(name, "0", strip=False)
        if value not in ("0", "1", "true", "false"):
            raise InvalidInputError(f"{name} must be 0, 1, true or false, not {value!r:.40}")
        return value in ("1", "true")

    @api
    async def get(self, desktop_id: str) -> None:
        data = await self.session(desktop_id).read_file(self._path())
        self.set_header("Cache-Control", "no-store")
        self.finish(data, set_content_type="application/octet-stream")  # APIHandler.finish would say JSON

    @api
    async def put(self, desktop_id: str) -> None:
        if self._body_size > self.max_body:
            raise InputLimitError(_too_big(self._body_size, self.max_body))
        mode = self.get_argument("mode", None, strip=False)
        if mode is not None and not re.fullmatch(r"[0-7]{3,4}", mode):
            raise InvalidInputError(f"mode must be octal permission bits (644, 0755), not {mode!r:.40}")
        data, self._body = bytes(self._body), bytearray()
        session = self.session(desktop_id)
        await session.write_file(
            self._path(), data, self._flag("parents"), None if mode is None else int(mode, 8), self._flag("exclusive")
        )
        self.set_status(204)
        self.finish()

    @api
    async def delete(self, desktop_id: str) -> None:
        await self.session(desktop_id).remove_file(self._path(), self._flag("recursive"))
        self.set_status(204)
        self.finish()


class OpenAPIHandler(DesktopAPIHandler):
    QUIET = frozenset({"get"})

    @api
    async def get(self) -> None:
        self.finish(OPENAPI.read_bytes(), set_content_type="application/yaml")


def routes() -> list[tuple[str, type]]:
    base = "desktop/api/desktops"
    return [
        ("desktop/api/openapi.yaml", OpenAPIHandler),
        (base, DesktopsHandler),
        (rf"{base}/{ID}", DesktopHandler),
        (rf"{base}/{ID}/restart", RestartHandler),
        (rf"{base}/{ID}/screenshot", ScreenshotHandler),
        (rf"{base}/{ID}/actions", ActionsHandler),
        (rf"{base}/{ID}/pointer", PointerHandler),
        (rf"{base}/{ID}/exec", ExecHandler),
        (rf"{base}/{ID}/call", CallHandler),
        (rf"{base}/{ID}/call/(?P<op>[^/]+)", CallHandler),
        (rf"{base}/{ID}/processes", ProcessesHandler),
        (rf"{base}/{ID}/processes/(?P<pid>[^/]+)", ProcessHandler),
        (rf"{base}/{ID}/processes/(?P<pid>[^/]+)/wait", ProcessWaitHandler),
        (rf"{base}/{ID}/windows", WindowsHandler),
        (rf"{base}/{ID}/windows/(?P<window_id>[^/]+)/(?P<command>[^/]+)", WindowCommandHandler),
        (rf"{base}/{ID}/accessibility", AccessibilityHandler),
        (rf"{base}/{ID}/clipboard", ClipboardHandler),
        (rf"{base}/{ID}/size", SizeHandler),
        (rf"{base}/{ID}/stable", StableHandler),
        (rf"{base}/{ID}/activity", ActivityHandler),
        (rf"{base}/{ID}/files", FilesHandler),
    ]
