"""Desktops as an MCP server (the ``mcp`` package, ``pip install 'jupyter_desktop[mcp]'``).

>>> server = build_server(OneDesktop(Desktop.attach("1a2b3c4d")))
>>> server.run("stdio")

``jupyter desktop mcp`` serves one desktop this way over stdio; the Jupyter server extension serves the server's
desktops over streamable HTTP at ``<base_url>desktop/mcp``, behind Jupyter's auth (``server/mcp_http.py``).

The model works in pixels of the screenshots the ``screenshot`` tool returns: a
:class:`~jupyter_desktop.agents.model_view.ModelView` sizes them by the model's image limits and maps every coordinate
back to the screen pixel under it; a point off the screenshot is refused with the valid range, never clamped. Every
mistake (a bad argument, an unknown key, a desktop that is gone, a limit passed) is a tool result with ``isError``
whose text says what to do; nothing of that action is sent. Limits: those of :mod:`jupyter_desktop.actions` (text,
drag points, scroll notches), a ``run`` timeout of at most ``MAX_RUN_TIMEOUT`` seconds and output cut to
``MAX_OUTPUT`` characters per stream, waits of at most ``MAX_WAIT`` seconds.
"""

from __future__ import annotations

import functools
import inspect
import json
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal, Protocol

from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult, ImageContent, TextContent, ToolAnnotations
from pydantic import Field

from .. import actions as _actions
from ..accessibility import AccessibleNode
from ..errors import DesktopError, InvalidInputError
from .anthropic import MAX_LONG_EDGE, MAX_PIXELS
from .model_view import ModelView, png_base64

if TYPE_CHECKING:
    from ..desktop import Desktop

__all__ = ["build_server", "Desktops", "OneDesktop", "MAX_OUTPUT", "MAX_RUN_TIMEOUT", "MAX_WAIT"]

MAX_OUTPUT = 50_000  # characters of a command's stdout (and of its stderr) a run result carries: the end of it
MAX_RUN_TIMEOUT = 300.0  # seconds one run may take (an HTTP client waits for the answer)
MAX_WAIT = 30.0  # seconds of one wait or key hold
MAX_REPEAT = 100  # presses of one press_key
_SCROLL = {"up": (0, -1), "down": (0, 1), "left": (-1, 0), "right": (1, 0)}

READ = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
ACT = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=False)
#: Commands reach whatever the desktop reaches (the network, the user's files).
COMMAND = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=True)
MANAGE = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False)

Coordinate = Annotated[float, Field(description="pixels of the latest screenshot, from its top-left corner")]
Modifiers = Annotated[str, Field(description="keys held during the action, e.g. 'ctrl' or 'ctrl+shift'; '' for none",
                                 max_length=200)]  # fmt: skip
DesktopId = Annotated[
    str | None,
    Field(description="the desktop to act on (list_desktops); may be left out while exactly one desktop runs",
          max_length=100),
]  # fmt: skip


class Desktops(Protocol):
    """Where the tools find the desktop they act on. ``pinned``: one desktop, the tools take no ``desktop_id``;
    otherwise a hub's desktops, chosen per call (and ``list_desktops``, ``create_desktop``, ``stop_desktop``). The
    Jupyter server's: ``jupyter_desktop.server.mcp_http.ServerDesktops``."""

    pinned: bool

    def get(self, desktop_id: str | None) -> Desktop:
        raise NotImplementedError

    def list(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    def create(self, profile: str | None, width: int | None, height: int | None) -> Desktop:
        raise InvalidInputError("this server serves one desktop; it cannot start others")

    def stop(self, desktop_id: str) -> None:
        raise InvalidInputError("this server serves one desktop; it cannot stop it")


class OneDesktop(Desktops):
    """One desktop: a :class:`~jupyter_desktop.Desktop`, or a function that starts one on first use (then
    :meth:`close` stops it)."""

    pinned = True

    def __init__(self, desktop: Desktop | Callable[[], Desktop]) -> None:
        self._desktop: Desktop | None = None
        self._start: Callable[[], Desktop] | None = None
        if callable(desktop) and not hasattr(desktop, "screenshot"):
            self._start = desktop
        else:
            self._desktop = desktop  # type: ignore[assignment]
        self._lock = threading.Lock()

    def get(self, desktop_id: str | None = None) -> Desktop:
        with self._lock:
            if self._desktop is None:
                assert self._start is not None
                self._desktop = self._start()
            return self._desktop

    def list(self) -> list[dict[str, Any]]:
        return [self.get().info]

    def close(self) -> None:
        """Stop the desktop if this object started it."""
        with self._lock:
            if self._start is not None and self._desktop is not None:
                self._desktop.close()

    @property
    def started(self) -> Desktop | None:
        return self._desktop


def _result(text: str, structured: dict[str, Any] | None = None) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=structured)


def _error(exc: BaseException) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=f"{type(exc).__name__}: {exc}")], is_error=True)


def _tail(text: str) -> str:
    if len(text) <= MAX_OUTPUT:
        return text
    return f"[the first {len(text) - MAX_OUTPUT} characters were cut; the limit is {MAX_OUTPUT}]\n" + text[-MAX_OUTPUT:]


def build_server(
    desktops: Desktops,
    *,
    max_long_edge: int | None = MAX_LONG_EDGE,
    max_pixels: int | None = MAX_PIXELS,
    size: tuple[int, int] | None = None,
    settle: float = 0.3,
    settle_timeout: float = 3.0,
    name: str = "jupyter-desktop",
) -> MCPServer:
    """An ``MCPServer`` whose tools see and drive ``desktops``. ``max_long_edge`` / ``max_pixels`` are the model's
    image limits (default: Anthropic's, 1568 px and 1.15 MP; a 1280x800 screen is sent as it is), ``size`` fixes
    the screenshot size instead; ``settle`` / ``settle_timeout``: see :class:`ModelView`."""
    views: dict[str, ModelView] = {}
    views_lock = threading.Lock()
    server = MCPServer(
        name,
        instructions=(
            "A live Linux desktop. Take a screenshot first: every x, y you give is in pixels of the latest screenshot "
            "(its size is in the screenshot's text). Each tool that acts returns when its input is sent; take another "
            "screenshot to see the effect."
            + ("" if desktops.pinned else " Several desktops may run: list_desktops, create_desktop; tools take "
               "desktop_id, which may be left out while exactly one runs.")
        ),
    )  # fmt: skip

    def view(desktop_id: str | None) -> ModelView:
        desktop = desktops.get(desktop_id)
        with views_lock:
            current = views.get(desktop.id)
            if current is None or current.desktop is not desktop:
                current = views[desktop.id] = ModelView(
                    desktop, max_long_edge=max_long_edge, max_pixels=max_pixels, size=size, settle=settle,
                    settle_timeout=settle_timeout,
                )  # fmt: skip
            return current

    def act(desktop_id: str | None, action: dict[str, Any], where: tuple[float, float] | None = None) -> ModelView:
        v = view(desktop_id)
        v.refresh()
        if where is not None:
            x, y = v.to_screen(*where)
            action = {**action, "x": x, "y": y}
        v.perform([action])
        return v

    def tool(name: str, annotations: ToolAnnotations, title: str) -> Callable[[Callable[..., CallToolResult]], None]:
        """Register ``fn`` as a tool: its mistakes become error results; pinned, its ``desktop_id`` goes."""

        def register(fn: Callable[..., CallToolResult]) -> None:
            @functools.wraps(fn)
            def run(*args: Any, **kwargs: Any) -> CallToolResult:
                try:
                    return fn(*args, **kwargs)
                except (DesktopError, TimeoutError) as exc:
                    return _error(exc)

            signature = inspect.signature(fn, eval_str=True)
            params = [p for p in signature.parameters.values() if not (desktops.pinned and p.name == "desktop_id")]
            run.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
            server.add_tool(run, name=name, title=title, description=inspect.getdoc(fn), annotations=annotations,
                            structured_output=False)  # fmt: skip

        return register

    # ------------------------------------------------------------------ seeing

    @tool("screenshot", READ, "Screenshot")
    def screenshot(desktop_id: DesktopId = None) -> CallToolResult:
        """The screen as a PNG, once it has settled after the last input. Its pixels are the coordinate space of
        every other tool: x in 0..width-1, y in 0..height-1 (the text says width and height)."""
        v = view(desktop_id)
        image = v.screenshot()
        w, h = image.size
        sw, sh = v.screen
        text = f"Screenshot {w}x{h}: x in 0..{w - 1}, y in 0..{h - 1}" + (
            f" (the screen is {sw}x{sh}; coordinates are mapped to it)" if (w, h) != (sw, sh) else ""
        )
        return CallToolResult(
            content=[ImageContent(type="image", data=png_base64(image), mime_type="image/png"),
                     TextContent(type="text", text=text)],
            structured_content={"width": w, "height": h, "screen_width": sw, "screen_height": sh},
        )  # fmt: skip

    @tool("zoom", READ, "Zoom into a region")
    def zoom(
        x0: Coordinate, y0: Coordinate, x1: Coordinate, y1: Coordinate, desktop_id: DesktopId = None
    ) -> CallToolResult:
        """A region of the screen (corners x0, y0 and x1, y1 in screenshot pixels) at the screen's own resolution,
        scaled to fill the image budget: for reading small text. Its pixels are NOT coordinates: click in the
        screenshot's space."""
        image = view(desktop_id).zoom([x0, y0, x1, y1])
        return CallToolResult(content=[
            ImageContent(type="image", data=png_base64(image), mime_type="image/png"),
            TextContent(type="text", text=f"Zoomed region ({x0:g}, {y0:g})-({x1:g}, {y1:g}), shown {image.width}x{image.height}"),
        ])  # fmt: skip

    @tool("cursor_position", READ, "Pointer position")
    def cursor_position(desktop_id: DesktopId = None) -> CallToolResult:
        """Where the mouse pointer is, in screenshot pixels."""
        x, y = view(desktop_id).cursor()
        return _result(f"x={x}, y={y}", {"x": x, "y": y})

    # ------------------------------------------------------------------ mouse

    @tool("click", ACT, "Click")
    def click(
        x: Coordinate,
        y: Coordinate,
        button: Literal["left", "right", "middle"] = "left",
        count: Annotated[int, Field(ge=1, le=3, description="2: double click, 3: triple click")] = 1,
        modifiers: Modifiers = "",
        desktop_id: DesktopId = None,
    ) -> CallToolResult:
        """Click a mouse button at (x, y), in screenshot pixels."""
        act(desktop_id, {"action": "click", "button": button, "count": count, "modifiers": modifiers}, (x, y))
        return _result(f"Clicked {button}{'' if count == 1 else f' x{count}'} at ({x:g}, {y:g}).")

    @tool("move", ACT, "Move the pointer")
    def move(x: Coordinate, y: Coordinate, desktop_id: DesktopId = None) -> CallToolResult:
        """Move the mouse pointer to (x, y), in screenshot pixels (hover)."""
        act(desktop_id, {"action": "move"}, (x, y))
        return _result(f"Moved to ({x:g}, {y:g}).")

    @tool("drag", ACT, "Drag")
    def drag(
        path: Annotated[
            list[Annotated[list[float], Field(min_length=2, max_length=2)]],
            Field(min_length=2, max_length=_actions.MAX_PATH,
                  description="points [x, y] in screenshot pixels: press at the first, move through, release at the last"),
        ],  # fmt: skip
        button: Literal["left", "right", "middle"] = "left",
        modifiers: Modifiers = "",
        desktop_id: DesktopId = None,
    ) -> CallToolResult:
        """Press a mouse button at the first point, move through the others, release at the last."""
        v = view(desktop_id)
        v.refresh()
        points = [list(v.point(p, f"path point {i}")) for i, p in enumerate(path)]
        v.perform([{"action": "drag", "path": points, "button": button, "modifiers": modifiers}])
        return _result(f"Dragged through {len(points)} points.")

    @tool("scroll", ACT, "Scroll")
    def scroll(
        x: Coordinate,
        y: Coordinate,
        direction: Literal["up", "down", "left", "right"],
        amount: Annotated[int, Field(ge=1, le=_actions.MAX_SCROLL, description="wheel notches")] = 3,
        modifiers: Modifiers = "",
        desktop_id: DesktopId = None,
    ) -> CallToolResult:
        """Turn the mouse wheel with the pointer at (x, y), in screenshot pixels."""
        dx, dy = _SCROLL[direction]
        act(desktop_id, {"action": "scroll", "dx": dx * amount, "dy": dy * amount, "modifiers": modifiers}, (x, y))
        return _result(f"Scrolled {direction} {amount} at ({x:g}, {y:g}).")

    # ------------------------------------------------------------------ keyboard

    @tool("type_text", ACT, "Type text")
    def type_text(
        text: Annotated[str, Field(max_length=_actions.MAX_TEXT, description="any Unicode; \\n presses Enter")],
        desktop_id: DesktopId = None,
    ) -> CallToolResult:
        """Type text with the keyboard into the focused window."""
        act(desktop_id, {"action": "type", "text": text})
        return _result(f"Typed {len(text)} characters.")

    @tool("press_key", ACT, "Press keys")
    def press_key(
        keys: Annotated[str, Field(min_length=1, max_length=1000, description=(
            "a key or chord: 'enter', 'ctrl+s', 'alt+F4', 'ctrl+shift+t'; several chords separated by spaces are "
            "pressed in turn. Names: enter, esc, tab, backspace, delete, up, down, pageup, home, f1..f12, ctrl, "
            "shift, alt, super, single characters, X keysym names"))],
        repeat: Annotated[int, Field(ge=1, le=MAX_REPEAT)] = 1,
        hold: Annotated[float, Field(ge=0, le=MAX_WAIT, description="seconds to keep the keys down")] = 0.0,
        desktop_id: DesktopId = None,
    ) -> CallToolResult:
        """Press a key or a key combination (a chord), like a keyboard shortcut."""
        view(desktop_id).perform([{"action": "press", "keys": keys, "hold": hold}] * repeat)
        return _result(f"Pressed {keys}" + ("" if repeat == 1 else f" {repeat} times") + ".")

    @tool("wait", READ, "Wait")
    def wait(
        seconds: Annotated[float, Field(ge=0, le=MAX_WAIT)], desktop_id: DesktopId = None
    ) -> CallToolResult:
        """Wait, e.g. for a program to start; then take a screenshot."""
        view(desktop_id)  # an unknown desktop is an error now, not after the wait
        time.sleep(seconds)
        return _result(f"Waited {seconds:g} s.")

    # ------------------------------------------------------------------ programs

    @tool("launch", COMMAND, "Start a program")
    def launch(
        command: Annotated[str | list[str], Field(description=(
            "a program and its arguments: 'xterm' or ['firefox', 'https://example.org']"))],
        desktop_id: DesktopId = None,
    ) -> CallToolResult:
        """Start a graphical program on the desktop and return at once (its window appears a moment later)."""
        process = desktops.get(desktop_id).launch(command)
        return _result(f"Started {process.argv[0]} (pid {process.pid}).", {"pid": process.pid, "argv": process.argv})

    @tool("run", COMMAND, "Run a shell command")
    def run(
        command: Annotated[str, Field(min_length=1, max_length=100_000, description="run by sh -c on the desktop")],
        timeout: Annotated[float, Field(gt=0, le=MAX_RUN_TIMEOUT, description="seconds; then it is killed")] = 60.0,
        input: Annotated[str | None, Field(description="given to its standard input", max_length=1 << 20)] = None,
        desktop_id: DesktopId = None,
    ) -> CallToolResult:
        """Run a shell command on the desktop (as its user, with DISPLAY set) and wait for it: exit code, stdout and
        stderr (each cut to its last 50,000 characters)."""
        result = desktops.get(desktop_id).run(command, input=input, timeout=timeout)
        out, err = _tail(result.stdout), _tail(result.stderr)
        text = f"exit code {result.returncode}\n--- stdout\n{out}" + (f"\n--- stderr\n{err}" if err else "")
        return _result(text, {"returncode": result.returncode, "stdout": out, "stderr": err})

    # ------------------------------------------------------------------ windows

    @tool("list_windows", READ, "List windows")
    def list_windows(desktop_id: DesktopId = None) -> CallToolResult:
        """The top-level windows: id, title, geometry in screenshot pixels (x, y, width, height), whether it is the
        active one, its program's pid and class."""
        v = view(desktop_id)
        v.refresh()
        sw, sh = v.screen
        w, h = v.size
        windows = []
        for win in v.desktop.windows():
            data = win.to_json()
            data.update(x=int(win.x * w / sw), y=int(win.y * h / sh), width=round(win.width * w / sw),
                        height=round(win.height * h / sh))  # fmt: skip
            windows.append(data)
        lines = [f"{d['id']}: {d['title']!r} at ({d['x']}, {d['y']}) {d['width']}x{d['height']}"
                 + (" active" if d["active"] else "") for d in windows]  # fmt: skip
        return _result("\n".join(lines) or "no windows", {"windows": windows})

    @tool("activate_window", ACT, "Focus a window")
    def activate_window(window_id: Annotated[int, Field(ge=0, description="from list_windows")],
                        desktop_id: DesktopId = None) -> CallToolResult:  # fmt: skip
        """Raise a window and give it the keyboard focus."""
        desktops.get(desktop_id).activate_window(window_id)
        return _result(f"Activated window {window_id}.")

    @tool("close_window", ACT, "Close a window")
    def close_window(window_id: Annotated[int, Field(ge=0, description="from list_windows")],
                     desktop_id: DesktopId = None) -> CallToolResult:  # fmt: skip
        """Ask a window to close, as its close button would (the program may ask to save first)."""
        desktops.get(desktop_id).close_window(window_id)
        return _result(f"Asked window {window_id} to close.")

    # ------------------------------------------------------------------ the accessibility tree

    @tool("accessibility_tree", READ, "Widgets on the screen")
    def accessibility_tree(
        app: Annotated[str | None, Field(description="only applications whose name contains this", max_length=200)] = None,
        max_nodes: Annotated[int, Field(ge=1, le=20_000)] = 2000,
        desktop_id: DesktopId = None,
    ) -> CallToolResult:
        """The widgets on the screen, one line each: role, name, '@x,y wxh' bounds in screenshot pixels, states,
        text, and its [ref] for node_action. Cheaper than a screenshot for finding buttons, fields and menu items."""
        text, tree = view(desktop_id).accessibility(app, max_nodes)
        return _result(text or "no application shows a widget", {"nodes": len(tree), "truncated": tree.truncated})

    @tool("node_action", ACT, "Act on a widget")
    def node_action(
        ref: Annotated[str, Field(description="a node's [ref] from accessibility_tree", max_length=512)],
        command: Literal["click", "do", "set_text", "focus"],
        arg: Annotated[str | None, Field(description="do: the action's name (e.g. 'click', 'press'); set_text: the text",
                                         max_length=_actions.MAX_TEXT)] = None,
        desktop_id: DesktopId = None,
    ) -> CallToolResult:
        """Act on a widget found with accessibility_tree: click it with the pointer, do one of its actions, replace
        its text, or give it the keyboard focus."""
        node = AccessibleNode(desktops.get(desktop_id), {"ref": ref})
        result = {"click": node.click, "do": node.do, "set_text": node.set_text, "focus": node.focus}[command]
        after = result(arg) if command in ("do", "set_text") else result()  # type: ignore[operator]
        said = f" ({after.role} {after.name!r})" if isinstance(after, AccessibleNode) else ""
        return _result(f"{command} on {ref}{said}: done.")

    # ------------------------------------------------------------------ clipboard

    @tool("get_clipboard", READ, "Read the clipboard")
    def get_clipboard(desktop_id: DesktopId = None) -> CallToolResult:
        """The desktop's clipboard text."""
        text = desktops.get(desktop_id).get_clipboard()
        return _result(text, {"text": text})

    @tool("set_clipboard", ACT, "Set the clipboard")
    def set_clipboard(text: Annotated[str, Field(max_length=_actions.MAX_TEXT)],
                      desktop_id: DesktopId = None) -> CallToolResult:  # fmt: skip
        """Put text on the desktop's clipboard (paste it with ctrl+v)."""
        desktops.get(desktop_id).set_clipboard(text)
        return _result(f"The clipboard holds {len(text)} characters.")

    # ------------------------------------------------------------------ desktops

    @tool("desktop_info", READ, "About the desktop")
    def desktop_info(desktop_id: DesktopId = None) -> CallToolResult:
        """The desktop: id, status, profile, screen size, and the size of its screenshots (the coordinate space)."""
        v = view(desktop_id)
        w, h = v.refresh()
        info = {**v.desktop.info, "screenshot_width": w, "screenshot_height": h}
        return _result(json.dumps(info, default=str), info)

    if desktops.pinned:
        return server

    @tool("list_desktops", READ, "List desktops")
    def list_desktops() -> CallToolResult:
        """The desktops: id, status, profile, screen size."""
        listing = desktops.list()
        lines = [f"{d['id']}: {d.get('status')} {d.get('width')}x{d.get('height')} {d.get('profile')}" for d in listing]
        return _result("\n".join(lines) or "no desktops: create_desktop starts one", {"desktops": listing})

    @tool("create_desktop", MANAGE, "Start a desktop")
    def create_desktop(
        profile: Annotated[str | None, Field(max_length=200, description="openbox, xfce or none; the server's default if left out")] = None,
        width: Annotated[int | None, Field(ge=64, le=8192)] = None,
        height: Annotated[int | None, Field(ge=64, le=8192)] = None,
    ) -> CallToolResult:  # fmt: skip
        """Start a new desktop and return its id (pass it as desktop_id to the other tools)."""
        desktop = desktops.create(profile, width, height)
        info = desktop.info
        return _result(f"Started desktop {desktop.id} ({info.get('width')}x{info.get('height')}).", info)

    @tool("stop_desktop", ACT, "Stop a desktop")
    def stop_desktop(desktop_id: Annotated[str, Field(min_length=1, max_length=100)]) -> CallToolResult:
        """Stop a desktop and everything running on it."""
        desktops.stop(desktop_id)
        with views_lock:
            views.pop(desktop_id, None)
        return _result(f"Stopped desktop {desktop_id}.")

    return server

