"""Claude's computer-use tools on a desktop: ``computer_20250124``, ``computer_20251124`` and the
``computer_toolset_20260801`` toolset (17 members).

>>> claude = AnthropicComputer(d)
>>> tools = [claude.tool_param("computer_20251124")]           # the tools[] entry
>>> claude.tool_result(tool_use)                               # a tool_use block -> its tool_result block
>>> toolset = claude.toolset()                                 # for client.beta.messages.tool_runner(tools=[toolset])

The model works in pixels of the screenshots it is sent; :class:`~jupyter_desktop.agents.model_view.ModelView` sizes
them by Anthropic's image limits and maps each coordinate back to the screen. A mistake of the model (a point off the
screenshot, an unknown key, a wait too long) is an ``is_error`` result that says what is allowed; nothing of that
action is sent. The SDK (``anthropic``) is needed only for :meth:`AnthropicComputer.toolset`.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import ActionDeniedError, DesktopBusyError, InvalidInputError, MissingDependencyError, TakenOverError
from .model_view import ActionError, ModelView, png_base64

if TYPE_CHECKING:
    from ..desktop import Desktop

__all__ = ["AnthropicComputer", "TOOL_VERSIONS", "BETA_FLAGS", "MEMBERS", "allow_all"]

TOOLSET = "computer_toolset_20260801"
TOOL_VERSIONS = ("computer_20250124", "computer_20251124", TOOLSET)
#: The ``betas=[...]`` flag each single-tool version needs; the toolset is GA and needs none.
BETA_FLAGS = {"computer_20250124": "computer-use-2025-01-24", "computer_20251124": "computer-use-2025-11-24"}

#: Every action (member) and what it answers with when it worked: the toolset SDK's own acknowledgments.
MEMBERS: dict[str, str | None] = {
    "key": "Pressed {text}.",
    "hold_key": "Held {text} for {duration}s.",
    "type": "Typed.",
    "cursor_position": None,
    "mouse_move": "Moved the mouse.",
    "left_mouse_down": "Left mouse button pressed.",
    "left_mouse_up": "Left mouse button released.",
    "left_click": "Clicked.",
    "left_click_drag": "Dragged.",
    "right_click": "Right-clicked.",
    "middle_click": "Middle-clicked.",
    "double_click": "Double-clicked.",
    "triple_click": "Triple-clicked.",
    "scroll": "Scrolled {scroll_direction}.",
    "wait": "Waited {duration}s.",
    "screenshot": None,
    "zoom": None,
}
_CLICKS = {"left_click": ("left", 1), "right_click": ("right", 1), "middle_click": ("middle", 1),
           "double_click": ("left", 2), "triple_click": ("left", 3)}  # fmt: skip
_SCROLL = {"up": (0, -1), "down": (0, 1), "left": (-1, 0), "right": (1, 0)}

# Anthropic's image limits (the 4.6 family and earlier; Opus 4.7 takes 2576 px / 3.75 MP: pass them).
MAX_LONG_EDGE = 1568
MAX_PIXELS = 1_150_000
# What one action may ask for; past these the model is told the limit (the SDK's guide: refuse, do not clamp).
MAX_WAIT = 60  # seconds of wait or hold_key
MAX_REPEAT = 100  # key presses of one key action
MAX_SCROLL = 100  # wheel clicks of one scroll


def allow_all(context: Any) -> bool:
    """The toolset's default ``confirm``: every call runs. The SDK asks for a decision on ``type``, ``key`` and
    ``hold_key``; a desktop made for the agent is a sandbox, so the default is to allow. Pass your own ``confirm``
    to ask a person (it gets ``context.member`` and ``context.input``)."""
    return True


def _field(input: Mapping[str, Any], name: str, kind: type, low: float = 0, high: float = math.inf) -> Any:
    """``input[name]`` if it is a string (``kind`` str) or a number (int: whole; float: any) within low..high."""
    value: Any = input.get(name)
    number = kind in (int, float) and not isinstance(value, bool) and isinstance(value, (int, float) if kind is float else int)
    if not (isinstance(value, str) if kind is str else number):
        what = {str: "a string", int: "a whole number", float: "a number"}[kind]
        raise ActionError(f"{name} must be {what}, not {value!r}")
    if kind is not str and not low <= value <= high:
        raise ActionError(f"{name} must be in {low:g}..{high:g}, not {value!r}")
    return value


def _modifiers(input: Mapping[str, Any]) -> list[str]:
    text = input.get("text")
    if text is None or text == "":
        return []
    if not isinstance(text, str):
        raise ActionError(f"text (keys held during the action) must be a string like 'ctrl+shift', not {text!r}")
    return [name.strip() for name in text.split("+")]


class AnthropicComputer:
    """A desktop as Claude's computer tool. ``max_long_edge`` / ``max_pixels`` are the model's image limits
    (defaults: 1568 px and 1.15 MP, Anthropic's guidance before Opus 4.7); ``size`` fixes the screenshot size
    instead. ``settle`` / ``settle_timeout``: see :class:`ModelView`."""

    def __init__(
        self,
        desktop: Desktop,
        *,
        max_long_edge: int | None = MAX_LONG_EDGE,
        max_pixels: int | None = MAX_PIXELS,
        size: tuple[int, int] | None = None,
        settle: float = 0.3,
        settle_timeout: float = 3.0,
    ) -> None:
        self.desktop = desktop
        self.view = ModelView(
            desktop, max_long_edge=max_long_edge, max_pixels=max_pixels, size=size, settle=settle,
            settle_timeout=settle_timeout,
        )  # fmt: skip

    @property
    def display_size(self) -> tuple[int, int]:
        """(width, height) of the screenshots the model gets, the space of its coordinates."""
        return self.view.refresh()

    def tool_param(self, version: str = TOOLSET) -> dict[str, Any]:
        """The ``tools[]`` entry for ``version``: a single ``computer`` tool with the display size (and zoom enabled
        for ``computer_20251124``), or the ``computer_toolset_20260801`` entry. The single tools need their
        ``betas=[BETA_FLAGS[version]]``."""
        if version == TOOLSET:
            return {"type": TOOLSET}
        if version not in TOOL_VERSIONS:
            raise InvalidInputError(f"unknown computer tool version {version!r}; known: {', '.join(TOOL_VERSIONS)}")
        w, h = self.display_size
        param: dict[str, Any] = {"type": version, "name": "computer", "display_width_px": w, "display_height_px": h}
        if version == "computer_20251124":
            param["enable_zoom"] = True
        return param

    # ------------------------------------------------------------------ one action

    def run(self, input: Mapping[str, Any], name: str | None = None) -> list[dict[str, Any]]:
        """Do one action and return the ``tool_result`` content: an image block for ``screenshot`` and ``zoom``,
        one text block otherwise. ``input`` is a single tool's input (``{"action": "left_click", "coordinate":
        [512, 300]}``) or, with ``name``, a toolset member's input. Raises ``ActionError`` (an
        ``InvalidInputError``) for a mistake of the model; :meth:`tool_result` turns it into an error result."""
        if hasattr(input, "model_dump"):  # the SDK's parsed input models
            input = input.model_dump(exclude_none=True)  # type: ignore[union-attr]
        if not isinstance(input, Mapping):
            raise ActionError(f"the tool input must be an object, not {type(input).__name__}")
        if name is None:
            name = input.get("action")  # type: ignore[assignment]
            if not isinstance(name, str):
                raise ActionError("the input needs an action, one of: " + ", ".join(MEMBERS))
            input = {k: v for k, v in input.items() if k != "action"}
        if name not in MEMBERS:
            raise ActionError(f"unknown action {name!r}; the computer does: {', '.join(MEMBERS)}")
        result = self._do(name, input)
        if isinstance(result, tuple):  # the cursor, in screenshot pixels
            return [{"type": "text", "text": f"X={result[0]},Y={result[1]}"}]
        if result is not None:
            return [_image_block(png_base64(result))]
        return [{"type": "text", "text": MEMBERS[name].format(**input)}]  # type: ignore[union-attr]

    def _do(self, name: str, input: Mapping[str, Any]) -> Any:
        """Do one member; returns an image (screenshot, zoom), a point (cursor) or None."""
        view = self.view
        if name == "screenshot":
            return view.screenshot()
        if name == "zoom":
            return view.zoom(input.get("region"))
        if name == "cursor_position":
            return view.cursor()
        if name == "wait":
            time.sleep(_field(input, "duration", float, 0, MAX_WAIT))
            return None
        view.refresh()
        where: dict[str, int] = {}
        if input.get("coordinate") is not None:
            x, y = view.point(input["coordinate"])
            where = {"x": x, "y": y}
        if name in _CLICKS:
            button, count = _CLICKS[name]
            view.perform([{"action": "click", "button": button, "count": count, "modifiers": _modifiers(input), **where}])
        elif name == "mouse_move":
            if not where:
                raise ActionError("mouse_move needs a coordinate [x, y]")
            view.perform([{"action": "move", **where}])
        elif name in ("left_mouse_down", "left_mouse_up"):
            view.perform([{"action": "mouse_down" if name == "left_mouse_down" else "mouse_up", "button": "left",
                           **where}])  # fmt: skip
        elif name == "left_click_drag":
            if not where or input.get("start_coordinate") is None:
                raise ActionError("left_click_drag needs start_coordinate [x, y] and coordinate [x, y]")
            start = view.point(input["start_coordinate"], "start_coordinate")
            view.perform([{"action": "drag", "path": [list(start), [where["x"], where["y"]]], "button": "left",
                           "modifiers": _modifiers(input)}])  # fmt: skip
        elif name == "scroll":
            direction = input.get("scroll_direction")
            if direction not in _SCROLL:
                raise ActionError(f"scroll_direction must be up, down, left or right, not {direction!r}")
            amount = _field(input, "scroll_amount", int, 0, MAX_SCROLL)
            dx, dy = _SCROLL[direction]
            view.perform([{"action": "scroll", "dx": dx * amount, "dy": dy * amount, "modifiers": _modifiers(input),
                           **where}])  # fmt: skip
        elif name == "type":
            view.perform([{"action": "type", "text": _field(input, "text", str)}])
        elif name == "key":
            text = _field(input, "text", str)
            repeat = 1 if input.get("repeat") is None else _field(input, "repeat", int, 1, MAX_REPEAT)
            view.perform([{"action": "press", "keys": text}] * repeat)
        elif name == "hold_key":
            text = _field(input, "text", str)
            duration = _field(input, "duration", float, 0, MAX_WAIT)
            view.perform([{"action": "press", "keys": text, "hold": duration}])
        return None

    def tool_result(self, tool_use: Any) -> dict[str, Any]:
        """The ``tool_result`` block answering a ``tool_use`` block (the SDK's model or a dict): the single tool's
        ``{"action": ...}`` input, or a toolset member's. A mistake of the model, or a desktop too busy to act,
        gives ``is_error: true`` with text that says what was wrong; a closed desktop raises, since no answer can
        help the model then."""
        block = tool_use.model_dump() if hasattr(tool_use, "model_dump") else tool_use
        member = block.get("name") if block.get("toolset_name") else None
        result: dict[str, Any] = {"type": "tool_result", "tool_use_id": block.get("id")}
        try:
            result["content"] = self.run(block.get("input") or {}, member)
        except (InvalidInputError, DesktopBusyError, TimeoutError, ActionDeniedError, TakenOverError) as exc:
            result["content"] = [{"type": "text", "text": f"{type(exc).__name__}: {exc}"}]
            result["is_error"] = True
        if block.get("toolset_name"):
            result["toolset_name"] = block["toolset_name"]
        return result

    def ask_person(self, context: Any) -> bool:
        """A ``confirm`` for :meth:`toolset` that asks a person: the member and its input as a card over the widget
        and the viewer (``Desktop.ask_person``); True when they approve (or approved its kind "always")."""
        raw = context.input.model_dump(exclude_none=True) if hasattr(context.input, "model_dump") else dict(context.input or {})
        return self.desktop.ask_person([{"action": str(context.member), **raw}]) in ("approve", "always")

    # ------------------------------------------------------------------ the SDK's toolset

    def toolset(self, *, confirm: Any = allow_all, configs: Any = None) -> Any:
        """A ``BetaAbstractComputerToolset20260801`` (the ``anthropic`` SDK's class) serving all 17 members on this
        desktop, for ``client.beta.messages.tool_runner(tools=[toolset])``. ``confirm`` is asked before each call
        (default :func:`allow_all`); ``configs`` goes to the SDK as given (turn members off there)."""
        computer = _sdk_computer()
        return _toolset_class(computer.BetaAbstractComputerToolset20260801)(self, confirm=confirm, configs=configs)

    def async_toolset(self, *, confirm: Any = allow_all, configs: Any = None) -> Any:
        """The same for ``AsyncAnthropic``: a ``BetaAsyncAbstractComputerToolset20260801``. Each call runs in a worker
        thread, so the event loop stays free while the desktop acts and settles."""
        computer = _sdk_computer()
        return _toolset_class(computer.BetaAsyncAbstractComputerToolset20260801)(
            self, confirm=confirm, configs=configs
        )

    def _member_result(self, name: str, input: Any) -> Any:
        """One toolset member call, answered in the SDK's result types; a mistake raises the SDK's ToolError."""
        from anthropic.tools import ToolError
        from anthropic.tools.computer import BetaComputerCursorPositionResult, BetaScreenshotResult

        raw = input.model_dump(exclude_none=True) if hasattr(input, "model_dump") else dict(input)
        try:
            result = self._do(name, raw)
        except (InvalidInputError, DesktopBusyError, TimeoutError, ActionDeniedError, TakenOverError) as exc:
            raise ToolError(f"{type(exc).__name__}: {exc}") from exc
        if isinstance(result, tuple):
            return BetaComputerCursorPositionResult(x=result[0], y=result[1])
        if result is not None:
            return BetaScreenshotResult(data=png_base64(result), media_type="image/png")
        return None


def _image_block(data: str) -> dict[str, Any]:
    return {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": data}}


def _sdk_computer() -> Any:
    try:
        from anthropic.tools import computer
    except ImportError as exc:
        raise MissingDependencyError(
            "the computer toolset needs the anthropic SDK (1.12 or later): pip install 'jupyter_desktop[anthropic]'"
        ) from exc
    return computer


@functools.cache
def _toolset_class(base: Any) -> type:
    """A subclass of the SDK's abstract toolset (sync or async) that serves every member by overriding ``execute``
    (the SDK's hook for that: it then offers all 17 members). Made once per base class."""
    import asyncio
    import inspect

    is_async = inspect.iscoroutinefunction(base.execute)

    def __init__(self: Any, computer: AnthropicComputer, *, confirm: Any, configs: Any) -> None:
        self.computer = computer
        base.__init__(self, confirm=confirm, configs=configs)

    if is_async:

        async def execute(self: Any, context: Any, name: str, input: Any) -> Any:
            return await asyncio.to_thread(self.computer._member_result, name, input)

    else:

        def execute(self: Any, context: Any, name: str, input: Any) -> Any:  # type: ignore[misc]
            return self.computer._member_result(name, input)

    return type(
        "DesktopComputerToolset" if not is_async else "AsyncDesktopComputerToolset",
        (base,),
        {"__init__": __init__, "execute": execute, "__module__": __name__,
         "__doc__": f"{base.__name__} on a jupyter_desktop Desktop (see AnthropicComputer.toolset)."},
    )  # fmt: skip
