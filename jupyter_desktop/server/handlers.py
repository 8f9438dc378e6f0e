"""REST API under ``{base_url}desktop/api/desktops``: a thin layer over the DesktopManager.

Every handler needs Jupyter auth (``@web.authenticated`` + ``@authorized``). Errors are JSON
``{"message": ...}`` with a 4xx status saying what was wrong; the OpenAPI document is ``openapi.yaml``.
"""

from __future__ import annotations

import asyncio
import functools
import io
import json
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
    DesktopClosedError,
    DesktopError,
    DesktopStartError,
    InvalidInputError,
    MissingDependencyError,
    RFBError,
)
from ..manager import DesktopNotFoundError, LimitError
from ..session import Session, scale_image

__all__ = ["routes", "DesktopAPIHandler", "RESOURCE"]

RESOURCE = "desktops"  # the authorization resource of every route
ID = r"(?P<desktop_id>[^/]+)"
OPENAPI = Path(__file__).with_name("openapi.yaml")

_STATUS: list[tuple[type[BaseException], int]] = [
    (DesktopNotFoundError, 404),
    (InvalidInputError, 400),
    (LimitError, 429),
    (DesktopClosedError, 409),
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
            return await method(self, *args, **kwargs)
        except web.HTTPError:
            raise
        except Exception as exc:
            for kind, status in _STATUS:
                if isinstance(exc, kind):
                    raise web.HTTPError(status, str(exc)) from None
            raise

    return wrapper


class DesktopAPIHandler(APIHandler):
    auth_resource = RESOURCE

    @property
    def ext(self) -> Any:
        return self.settings["jupyter_desktop"]

    def session(self, desktop_id: str) -> Session:
        return self.ext.manager.get(desktop_id)

    def body(self) -> dict[str, Any]:
        if not self.request.body:
            return {}
        try:
            data = json.loads(self.request.body)
        except ValueError as exc:
            raise InvalidInputError(f"the request body is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise InvalidInputError("the request body must be a JSON object")
        return data

    def reply(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(data))

    def arg_float(self, name: str, default: float) -> float:
        value = self.get_argument(name, None)
        if value is None:
            return default
        try:
            return float(value)
        except ValueError:
            raise InvalidInputError(f"{name} must be a number, not {value!r}") from None


def _fields(body: dict[str, Any], allowed: set[str]) -> None:
    unknown = set(body) - allowed
    if unknown:
        raise InvalidInputError(f"unknown field(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(allowed))}")


class DesktopsHandler(DesktopAPIHandler):
    @api
    async def get(self) -> None:
        self.reply([s.to_dict() for s in self.ext.manager.list()])

    @api
    async def post(self) -> None:
        body = self.body()
        _fields(body, {"profile", "width", "height", "depth", "dpi", "env", "opengl", "backend"})
        self.ext.check_request(body)
        spec = DesktopSpec(
            profile=body.get("profile", self.ext.default_profile),
            width=body.get("width", self.ext.default_width),
            height=body.get("height", self.ext.default_height),
            depth=body.get("depth", 24),
            dpi=body.get("dpi", 96),
            env=body.get("env") or {},
            opengl=bool(body.get("opengl", False)),
        )
        owner = self.current_user.username if hasattr(self.current_user, "username") else None
        session = await self.ext.manager.create(spec, backend=body.get("backend"), owner=owner)
        self.set_header("Location", self.request.path.rstrip("/") + "/" + session.id)
        self.reply(session.to_dict(), 201)


class DesktopHandler(DesktopAPIHandler):
    @api
    async def get(self, desktop_id: str) -> None:
        self.reply(self.session(desktop_id).to_dict())

    @api
    async def delete(self, desktop_id: str) -> None:
        await self.ext.manager.delete(desktop_id)
        self.set_status(204)
        self.finish()


class RestartHandler(DesktopAPIHandler):
    @api
    async def post(self, desktop_id: str) -> None:
        session = self.session(desktop_id)
        await session.restart()
        self.reply(session.to_dict())


def _parse_ints(text: str, sep: str, count: int, what: str) -> list[int]:
    parts = text.split(sep)
    if len(parts) != count or not all(p.strip().lstrip("-").isdigit() for p in parts):
        raise InvalidInputError(f"{what} must be {count} integers separated by {sep!r}, not {text!r}")
    return [int(p) for p in parts]


class ScreenshotHandler(DesktopAPIHandler):
    """``?format=png|jpeg|webp|raw&region=x,y,w,h&scale=0.5|WxH&quality=80&fresh=1``.

    ``raw`` is RGB bytes, row after row, with the size in ``X-Width``/``X-Height``: the fastest path.
    """

    FORMATS = {"png": "image/png", "jpeg": "image/jpeg", "jpg": "image/jpeg", "webp": "image/webp", "raw": "application/octet-stream"}

    @api
    async def get(self, desktop_id: str) -> None:
        session = self.session(desktop_id)
        fmt = self.get_argument("format", "png").lower()
        if fmt not in self.FORMATS:
            raise InvalidInputError(f"format must be one of {', '.join(self.FORMATS)}, not {fmt!r}")
        region_arg = self.get_argument("region", None)
        region = _parse_ints(region_arg, ",", 4, "region") if region_arg else None
        quality = int(self.arg_float("quality", 80))
        if not 1 <= quality <= 100:
            raise InvalidInputError("quality must be between 1 and 100")
        fresh = self.get_argument("fresh", "1") not in ("0", "false", "no")
        image = await session.capture(region, fresh)
        scale = self.get_argument("scale", None)
        if scale:
            if "x" in scale:
                size = tuple(_parse_ints(scale, "x", 2, "scale"))
            else:
                factor = self.arg_float("scale", 1.0)
                if not 0 < factor <= 4:
                    raise InvalidInputError("scale must be a factor in (0, 4] or a size like 1024x640")
                size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
            if not all(0 < v <= 16384 for v in size):
                raise InvalidInputError(f"scale size {size} is out of range")
        else:
            size = image.size
        data = await asyncio.to_thread(_encode, image, size, fmt, quality)
        self.set_header("X-Width", str(size[0]))
        self.set_header("X-Height", str(size[1]))
        self.set_header("Cache-Control", "no-store")
        self.finish(data, set_content_type=self.FORMATS[fmt])  # APIHandler.finish would say JSON


def _encode(image: Image.Image, size: tuple[int, int], fmt: str, quality: int) -> bytes:
    image = scale_image(image, size)
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


class ExecHandler(DesktopAPIHandler):
    """Run a command to completion: ``{"command": "ls -l" | ["ls", "-l"], "input", "timeout", "env", "cwd"}``."""

    @api
    async def post(self, desktop_id: str) -> None:
        body = self.body()
        _fields(body, {"command", "input", "timeout", "env", "cwd"})
        if "command" not in body:
            raise InvalidInputError("missing 'command'")
        timeout = body.get("timeout", 60)
        if timeout is not None and (not isinstance(timeout, (int, float)) or not 0 < timeout <= 3600):
            raise InvalidInputError("timeout must be a number of seconds in (0, 3600] or null")
        result = await self.session(desktop_id).run(
            body["command"], input=body.get("input"), timeout=timeout, env=_env(body), cwd=body.get("cwd")
        )
        self.reply({"returncode": result.returncode, "stdout": result.stdout, "stderr": result.stderr})


def _env(body: dict[str, Any]) -> dict[str, str] | None:
    env = body.get("env")
    if env is not None and (not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values())):
        raise InvalidInputError("env must map names to strings")
    return env


def _process(process: Any) -> dict[str, Any]:
    return {"pid": process.pid, "argv": list(process.argv), "returncode": process.returncode}


class ProcessesHandler(DesktopAPIHandler):
    """``POST {"command": ...}`` launches a program, ``{"open": "url or path"}`` opens with the default app."""

    @api
    async def get(self, desktop_id: str) -> None:
        self.reply([_process(p) for p in self.session(desktop_id).processes.values()])

    @api
    async def post(self, desktop_id: str) -> None:
        body = self.body()
        _fields(body, {"command", "open", "env", "cwd"})
        session = self.session(desktop_id)
        if "open" in body:
            process = await session.open(body["open"])
        elif "command" in body:
            process = await session.launch(body["command"], env=_env(body), cwd=body.get("cwd"))
        else:
            raise InvalidInputError("give 'command' to launch or 'open' for a URL or file")
        self.reply(_process(process), 201)


class ProcessHandler(DesktopAPIHandler):
    @api
    async def get(self, desktop_id: str, pid: str) -> None:
        self.reply(_process(self.session(desktop_id).process(int(pid))))

    @api
    async def delete(self, desktop_id: str, pid: str) -> None:
        sig = int(self.arg_float("signal", signal.SIGTERM))
        if sig not in {s.value for s in signal.Signals}:
            raise InvalidInputError(f"unknown signal {sig}")
        process = self.session(desktop_id).process(int(pid))
        await process.kill(sig)
        self.reply(_process(process))


class ProcessWaitHandler(DesktopAPIHandler):
    @api
    async def post(self, desktop_id: str, pid: str) -> None:
        timeout = self.arg_float("timeout", 30.0)
        if not 0 <= timeout <= 3600:
            raise InvalidInputError("timeout must be in 0..3600 seconds")
        process = self.session(desktop_id).process(int(pid))
        await process.wait(timeout)
        self.reply(_process(process))


class WindowsHandler(DesktopAPIHandler):
    @api
    async def get(self, desktop_id: str) -> None:
        self.reply([w.to_dict() for w in await self.session(desktop_id).windows()])


class WindowCommandHandler(DesktopAPIHandler):
    @api
    async def post(self, desktop_id: str, window_id: str, command: str) -> None:
        await self.session(desktop_id).window_command(int(window_id), command)
        self.set_status(204)
        self.finish()


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
        quiet, timeout = body.get("quiet", 0.5), body.get("timeout", 10.0)
        for name, value in (("quiet", quiet), ("timeout", timeout)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 600:
                raise InvalidInputError(f"{name} must be a number of seconds in 0..600")
        self.reply({"stable": await self.session(desktop_id).wait_until_stable(quiet, timeout)})


class OpenAPIHandler(DesktopAPIHandler):
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
        (rf"{base}/{ID}/processes", ProcessesHandler),
        (rf"{base}/{ID}/processes/(?P<pid>\d+)", ProcessHandler),
        (rf"{base}/{ID}/processes/(?P<pid>\d+)/wait", ProcessWaitHandler),
        (rf"{base}/{ID}/windows", WindowsHandler),
        (rf"{base}/{ID}/windows/(?P<window_id>\d+)/(?P<command>activate|close)", WindowCommandHandler),
        (rf"{base}/{ID}/clipboard", ClipboardHandler),
        (rf"{base}/{ID}/size", SizeHandler),
        (rf"{base}/{ID}/stable", StableHandler),
    ]
