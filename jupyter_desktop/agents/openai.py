"""OpenAI's computer-use tools on a desktop: the Responses API's ``computer`` tool (batched ``actions[]``), the older
``computer_use_preview`` (one ``action``), and the OpenAI Agents SDK's ``Computer`` / ``AsyncComputer``.

>>> gpt = OpenAIComputer(d)
>>> tools = [gpt.tool_param()]                        # {"type": "computer"}
>>> item = gpt.run(computer_call)                     # a computer_call -> its computer_call_output (input item)
>>> agent = Agent(tools=[ComputerTool(gpt.agents_computer())])

A ``computer_call``'s actions are translated whole, then sent as one batch: a bad key name in the third action
sends nothing (:class:`ActionError`). The screenshot that answers them waits until the screen has settled.
Coordinates are pixels of the screenshots the model gets (:class:`ModelView`); OpenAI's upper-case key names
(``CTRL``, ``ENTER``, ``ARROWLEFT``) and Playwright's (``ControlOrMeta``, ``KeyA``) are both understood.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .. import keys
from ..errors import DesktopError, InvalidInputError, MissingDependencyError
from .model_view import ActionError, ModelView, png_base64

if TYPE_CHECKING:
    from ..desktop import Desktop

__all__ = ["OpenAIComputer", "SafetyCheckRefused", "MAX_ACTIONS"]

MAX_ACTIONS = 100  # actions of one computer_call
PIXELS_PER_NOTCH = 100  # OpenAI's scroll_x / scroll_y are distances in pixels (as a browser's wheel); a notch is ~100
WAIT_SECONDS = 1.0  # a "wait" action: the screenshot after it waits for a settled screen as well
_BUTTONS = {"left": "left", "right": "right", "wheel": "middle", "middle": "middle"}
_HISTORY = {"back": "alt+Left", "forward": "alt+Right"}  # X's buttons 8/9 do not exist in RFB: the keys they mean


class SafetyCheckRefused(DesktopError):
    """A ``pending_safety_check`` of a ``computer_call`` was refused by ``on_safety_check``: the call was not run.
    ``checks`` holds the refused checks. Tell the model (or the user) and stop, as OpenAI's guide asks."""

    def __init__(self, message: str, checks: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.checks = checks


def _as_dict(value: Any) -> Any:
    return value.model_dump(exclude_none=True) if hasattr(value, "model_dump") else value


def _key_name(key: Any) -> str:
    """An OpenAI key name as one of ours: upper-case names are aliases of ours in another case; a single letter is
    lower-cased, since the model writes ``["CTRL", "P"]`` for Ctrl+P, not Ctrl+Shift+P."""
    if not isinstance(key, str) or not key:
        raise ActionError(f"a key must be a non-empty string like 'CTRL' or 'a', not {key!r}")
    return key.lower() if len(key) == 1 else key


def _chord(names: Sequence[Any]) -> list[str]:
    """Key names checked now, so that the error names the model's action (with the close matches)."""
    chord = [_key_name(k) for k in names]
    if not chord:
        return chord
    try:
        keys.parse_chord(chord)
    except InvalidInputError as exc:
        raise ActionError(str(exc)) from None
    return chord


class OpenAIComputer:
    """A desktop as OpenAI's computer tool. ``max_long_edge`` / ``max_pixels`` bound the screenshots (none by
    default: the GA models take large images; for ``computer-use-preview`` pass ``size=(1024, 768)`` or similar).
    ``on_safety_check(check) -> bool`` is asked about each ``pending_safety_check``; without one, a call that carries
    any raises :class:`SafetyCheckRefused` (nothing is acknowledged unseen)."""

    def __init__(
        self,
        desktop: Desktop,
        *,
        max_long_edge: int | None = None,
        max_pixels: int | None = None,
        size: tuple[int, int] | None = None,
        settle: float = 0.3,
        settle_timeout: float = 3.0,
        on_safety_check: Callable[[dict[str, Any]], bool] | None = None,
    ) -> None:
        self.desktop = desktop
        self.view = ModelView(
            desktop, max_long_edge=max_long_edge, max_pixels=max_pixels, size=size, settle=settle,
            settle_timeout=settle_timeout,
        )  # fmt: skip
        self.on_safety_check = on_safety_check

    @property
    def display_size(self) -> tuple[int, int]:
        return self.view.refresh()

    def ask_person(self, check: dict[str, Any]) -> bool:
        """An ``on_safety_check`` that asks a person: the check (code, message) as a card over the widget and the
        viewer (``Desktop.ask_person``); True when they approve. ``OpenAIComputer(d, on_safety_check=...ask_person)``
        is set after making it: ``gpt.on_safety_check = gpt.ask_person``."""
        item = {"action": "safety_check", **{k: check.get(k) for k in ("code", "message") if check.get(k) is not None}}
        return self.desktop.ask_person([item]) in ("approve", "always")

    def tool_param(self, preview: bool = False) -> dict[str, Any]:
        """``{"type": "computer"}`` (GA), or the ``computer_use_preview`` tool with the display size."""
        if not preview:
            return {"type": "computer"}
        w, h = self.display_size
        return {"type": "computer_use_preview", "display_width": w, "display_height": h, "environment": "linux"}

    # ------------------------------------------------------------------ actions

    def translate(self, actions: Sequence[Any]) -> tuple[list[dict[str, Any]], float]:
        """OpenAI actions as one batch of ours (screen pixels), and the seconds of ``wait`` in them. Raises
        :class:`ActionError` naming the action and what is allowed."""
        if not isinstance(actions, (list, tuple)):
            raise ActionError(f"actions must be a list, not {type(actions).__name__}")
        if len(actions) > MAX_ACTIONS:
            raise ActionError(f"{len(actions)} actions in one call; the limit is {MAX_ACTIONS}")
        batch: list[dict[str, Any]] = []
        waits = 0.0
        view = self.view
        view.refresh()
        for i, raw in enumerate(actions):
            action = _as_dict(raw)
            kind = action.get("type") if isinstance(action, Mapping) else None
            try:
                held = _chord(action.get("keys") or []) if kind != "keypress" else []
                if kind in ("click", "double_click", "move", "scroll"):
                    x, y = view.to_screen(action.get("x"), action.get("y"), "x, y")
                if kind == "click":
                    button = action.get("button", "left")
                    if button in _HISTORY:
                        batch.append({"action": "press", "keys": _HISTORY[button]})
                    elif button in _BUTTONS:
                        batch.append({"action": "click", "x": x, "y": y, "button": _BUTTONS[button], "modifiers": held})
                    else:
                        raise ActionError(f"button must be left, right, wheel, back or forward, not {button!r}")
                elif kind == "double_click":
                    batch.append({"action": "click", "x": x, "y": y, "count": 2, "modifiers": held})
                elif kind == "move":
                    batch.append({"action": "move", "x": x, "y": y})
                elif kind == "scroll":
                    dx, dy = (_notches(action.get(k), k) for k in ("scroll_x", "scroll_y"))
                    batch.append({"action": "scroll", "x": x, "y": y, "dx": dx, "dy": dy, "modifiers": held})
                elif kind == "drag":
                    path = action.get("path")
                    if not isinstance(path, (list, tuple)) or len(path) < 2:
                        raise ActionError("a drag's path needs at least two points [{x, y}, {x, y}]")
                    points = [list(view.to_screen(*_xy(p), f"path[{j}]")) for j, p in enumerate(path)]
                    batch.append({"action": "drag", "path": points, "button": "left", "modifiers": held})
                elif kind == "keypress":
                    names = action.get("keys")
                    if not isinstance(names, (list, tuple)) or not names:
                        raise ActionError("keypress needs keys: a list like ['CTRL', 'C']")
                    batch.append({"action": "press", "keys": _chord(names)})
                elif kind == "type":
                    text = action.get("text")
                    if not isinstance(text, str):
                        raise ActionError(f"type needs text, a string, not {text!r}")
                    batch.append({"action": "type", "text": text})
                elif kind == "wait":
                    waits += WAIT_SECONDS
                    batch.append({"action": "wait", "seconds": WAIT_SECONDS})
                elif kind != "screenshot":
                    raise ActionError(
                        f"unknown action type {kind!r}; known: click, double_click, drag, keypress, move, scroll, "
                        "type, wait, screenshot"
                    )
            except ActionError as exc:
                raise ActionError(f"action {i} ({kind}): {exc}") from None
        return batch, waits

    def act(self, actions: Sequence[Any]) -> None:
        """Do OpenAI actions, all or none: the batch is checked whole before its first event is sent."""
        batch, _ = self.translate(actions)
        if batch:
            try:
                self.view.perform(batch)
            except InvalidInputError as exc:  # a key name our table does not know, a text too long ...
                raise ActionError(str(exc)) from None

    def screenshot_base64(self) -> str:
        """The settled screen, base64 PNG (the Agents SDK's ``screenshot()``)."""
        return png_base64(self.view.screenshot())

    def run(self, computer_call: Any) -> dict[str, Any]:
        """Answer a ``computer_call`` (the SDK's ``ResponseComputerToolCall`` or its dict): check its pending safety
        checks, do its ``actions`` (or the preview's single ``action``), and return the ``computer_call_output``
        input item with the settled screenshot and the acknowledged checks. A mistake of the model raises
        :class:`ActionError` with nothing sent (``computer_call_output`` has no way to say it)."""
        call = _as_dict(computer_call)
        if not isinstance(call, Mapping) or call.get("type", "computer_call") != "computer_call":
            raise InvalidInputError("run() takes a computer_call item (type 'computer_call')")
        acknowledged = self._safety(call.get("pending_safety_checks") or [])
        actions = call.get("actions")
        if actions is None:
            actions = [call["action"]] if call.get("action") is not None else []
        self.act(actions)
        output: dict[str, Any] = {
            "type": "computer_call_output",
            "call_id": call.get("call_id"),
            "output": {"type": "computer_screenshot", "image_url": "data:image/png;base64," + self.screenshot_base64()},
        }
        if acknowledged:
            output["acknowledged_safety_checks"] = acknowledged
        return output

    def _safety(self, checks: Sequence[Any]) -> list[dict[str, Any]]:
        pending = [_as_dict(c) for c in checks]
        if not pending:
            return []
        refused = [c for c in pending if self.on_safety_check is None or self.on_safety_check(c) is not True]
        if refused:
            codes = ", ".join(str(c.get("code") or c.get("id")) for c in refused)
            how = "no on_safety_check was given" if self.on_safety_check is None else "on_safety_check refused it"
            raise SafetyCheckRefused(f"the computer_call carries safety checks ({codes}); {how}, so nothing was done",
                                     refused)  # fmt: skip
        return [{k: c[k] for k in ("id", "code", "message") if c.get(k) is not None} for c in pending]

    # ------------------------------------------------------------------ the Agents SDK

    def agents_computer(self) -> Any:
        """This desktop as the OpenAI Agents SDK's ``agents.Computer`` (for ``ComputerTool(computer)``)."""
        return _computer_class(_agents().Computer)(self)

    def agents_async_computer(self) -> Any:
        """The same as ``agents.AsyncComputer``; each action runs in a worker thread."""
        return _computer_class(_agents().AsyncComputer)(self)


def _notches(value: Any, name: str) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ActionError(f"{name} must be a number of pixels, not {value!r}")
    if value == 0:
        return 0
    notches = max(1, round(abs(value) / PIXELS_PER_NOTCH))
    return notches if value > 0 else -notches


def _xy(point: Any) -> tuple[Any, Any]:
    point = _as_dict(point)
    if isinstance(point, Mapping):
        return point.get("x"), point.get("y")
    if isinstance(point, (list, tuple)) and len(point) == 2:
        return point[0], point[1]
    raise ActionError(f"a point is {{'x': .., 'y': ..}}, not {point!r}")


def _agents() -> Any:
    try:
        import agents
    except ImportError as exc:
        raise MissingDependencyError(
            "agents_computer() needs the OpenAI Agents SDK: pip install 'jupyter_desktop[openai]'"
        ) from exc
    return agents


@functools.cache
def _computer_class(base: Any) -> type:
    """A subclass of ``agents.Computer`` or ``agents.AsyncComputer`` whose methods are OpenAI actions on the desktop
    (each mouse method takes the held ``keys``). Made once per base class."""
    is_async = asyncio.iscoroutinefunction(base.screenshot)

    def method(kind: str, *fields: str) -> Any:
        def build(args: tuple[Any, ...], keys: Any) -> dict[str, Any]:
            action: dict[str, Any] = {"type": kind, **dict(zip(fields, args))}
            if keys:
                action["keys"] = list(keys)
            if kind == "drag":
                action["path"] = [{"x": x, "y": y} for x, y in action["path"]]
            return action

        if is_async:

            async def run_async(self: Any, *args: Any, keys: Any = None) -> None:
                await asyncio.to_thread(self.computer.act, [build(args, keys)])

            return run_async

        def run(self: Any, *args: Any, keys: Any = None) -> None:
            self.computer.act([build(args, keys)])

        return run

    def __init__(self: Any, computer: OpenAIComputer) -> None:
        self.computer = computer

    def environment(self: Any) -> str:
        return "ubuntu"

    def dimensions(self: Any) -> tuple[int, int]:
        return self.computer.display_size

    if is_async:

        async def screenshot(self: Any) -> str:
            return await asyncio.to_thread(self.computer.screenshot_base64)

        async def wait(self: Any) -> None:
            await asyncio.sleep(WAIT_SECONDS)

    else:

        def screenshot(self: Any) -> str:  # type: ignore[misc]
            return self.computer.screenshot_base64()

        def wait(self: Any) -> None:  # type: ignore[misc]
            time.sleep(WAIT_SECONDS)

    namespace = {
        "__init__": __init__,
        "__module__": __name__,
        "__doc__": f"{base.__module__}.{base.__name__} on a jupyter_desktop Desktop (OpenAIComputer.agents_computer).",
        "environment": property(environment),
        "dimensions": property(dimensions),
        "screenshot": screenshot,
        "wait": wait,
        "click": method("click", "x", "y", "button"),
        "double_click": method("double_click", "x", "y"),
        "scroll": method("scroll", "x", "y", "scroll_x", "scroll_y"),
        "type": method("type", "text"),
        "move": method("move", "x", "y"),
        "keypress": method("keypress", "keys"),
        "drag": method("drag", "path"),
    }
    return type("DesktopAsyncComputer" if is_async else "DesktopComputer", (base,), namespace)
