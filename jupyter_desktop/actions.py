"""Input actions: a small JSON vocabulary, validated as a whole, then sent as RFB pointer and key events.

``Desktop`` builds these actions, and the server's REST endpoint accepts a list of them, so any language can
drive a desktop with the same words::

    {"action": "click", "x": 10, "y": 20, "button": "left", "count": 2, "modifiers": ["ctrl"]}
    {"action": "move", "x": 10, "y": 20}
    {"action": "mouse_down", "button": "left"}            # x, y optional: where the pointer is
    {"action": "mouse_up", "button": "left"}
    {"action": "drag", "path": [[0, 0], [50, 80]], "button": "left", "duration": 0.2}
    {"action": "scroll", "dx": 0, "dy": 3, "x": 10, "y": 20, "modifiers": []}   # dy > 0 scrolls down
    {"action": "type", "text": "hello\\n", "delay": 0}
    {"action": "press", "keys": "ctrl+shift+t", "hold": 0}       # or ["ctrl", "c"]; "ctrl+a ctrl+c"
    {"action": "key_down", "key": "shift"}
    {"action": "key_up", "key": "shift"}
    {"action": "wait", "seconds": 0.5}

A batch is checked completely before its first event is sent: a bad key name in the tenth action means
no event at all, not nine. Every batch has limits (``LIMITS``): at most ``MAX_BATCH`` actions,
``MAX_TEXT`` characters typed or pressed, ``MAX_EVENTS`` pointer and key events, and ``MAX_SECONDS`` of
pauses (waits, holds, drag durations, typing delays) in all, so that one request cannot hold a desktop's
input for long: the actions of one desktop run one batch at a time.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import keys
from .errors import InputLimitError, InvalidInputError

__all__ = ["ACTIONS", "BUTTONS", "LIMITS", "InputState", "compile_actions", "needs_pointer", "execute"]

BUTTONS = {"left": 1, "middle": 2, "right": 4}
_WHEEL = {"up": 8, "down": 16, "left": 32, "right": 64}
MULTI_CLICK_INTERVAL = 0.02  # seconds between the clicks of a double or triple click
MAX_BATCH = 1000  # actions in one batch
MAX_TEXT = 100_000  # characters typed (and key names pressed) in one batch: Xvnc takes 100k in ~0.4 s
MAX_EVENTS = 500_000  # pointer and key events in one batch
MAX_SECONDS = 60.0  # pauses in one batch, all together
MAX_SCROLL = 1000  # notches of one scroll action
MAX_PATH = 1000  # points of one drag
LIMITS = {
    "actions": MAX_BATCH,
    "text": MAX_TEXT,
    "events": MAX_EVENTS,
    "seconds": MAX_SECONDS,
    "scroll": MAX_SCROLL,
    "path": MAX_PATH,
}

ACTIONS = ("move", "click", "mouse_down", "mouse_up", "drag", "scroll", "type", "press", "key_down", "key_up", "wait")

_FIELDS: dict[str, set[str]] = {
    "move": {"x", "y"},
    "click": {"x", "y", "button", "count", "modifiers"},
    "mouse_down": {"x", "y", "button"},
    "mouse_up": {"x", "y", "button"},
    "drag": {"path", "button", "duration", "modifiers"},
    "scroll": {"dx", "dy", "x", "y", "modifiers"},
    "type": {"text", "delay"},
    "press": {"keys", "hold"},
    "key_down": {"key"},
    "key_up": {"key"},
    "wait": {"seconds"},
}


@dataclass
class InputState:
    """What the desktop's input looks like to us between batches: pointer, held buttons and keys."""

    x: int = 0
    y: int = 0
    buttons: int = 0
    keys_down: list[int] = field(default_factory=list)


Step = tuple  # ("pointer", x, y, mask) | ("key", keysym, down) | ("sleep", seconds)


def needs_pointer(actions: Sequence[Mapping[str, Any]]) -> bool:
    """True if some action acts where the pointer is (no x/y), so the real position must be read first."""
    if not isinstance(actions, (list, tuple)):
        return False  # compile_actions says what is wrong with it
    return any(
        isinstance(a, Mapping) and a.get("action") in ("click", "mouse_down", "mouse_up", "scroll") and "x" not in a
        for a in actions
    )


def _number(action: Mapping[str, Any], name: str, default: float, low: float, high: float) -> float:
    value = action.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidInputError(f"{action['action']}: {name} must be a number, not {value!r}")
    if not low <= value <= high:
        raise InvalidInputError(f"{action['action']}: {name}={value!r} is outside {low:g}..{high:g}")
    return float(value)


def _int(action: Mapping[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = action.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(f"{action['action']}: {name} must be an integer, not {value!r}")
    if not low <= value <= high:
        raise InvalidInputError(f"{action['action']}: {name}={value!r} is outside {low}..{high}")
    return value


def _point(value: Any, what: str, size: tuple[int, int]) -> tuple[int, int]:
    if (
        not isinstance(value, (list, tuple))
        or len(value) != 2
        or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value)
    ):
        raise InvalidInputError(f"{what} must be a point (x, y), not {value!r}")
    x, y = round(value[0]), round(value[1])
    width, height = size
    if not (0 <= x < width and 0 <= y < height):
        raise InvalidInputError(
            f"{what} ({x}, {y}) is off the {width}x{height} screen; x must be in 0..{width - 1}, y in 0..{height - 1}"
        )
    return x, y


def _where(action: Mapping[str, Any], state: InputState, size: tuple[int, int]) -> tuple[int, int]:
    has_x, has_y = "x" in action and action["x"] is not None, "y" in action and action["y"] is not None
    if has_x != has_y:
        raise InvalidInputError(f"{action['action']}: give both x and y, or neither to act where the pointer is")
    if not has_x:
        return state.x, state.y
    return _point((action["x"], action["y"]), f"{action['action']} at", size)


def _button(action: Mapping[str, Any]) -> int:
    name = action.get("button", "left")
    if name not in BUTTONS:
        raise InvalidInputError(f"{action['action']}: button must be one of {', '.join(BUTTONS)}, not {name!r}")
    return BUTTONS[name]


def _modifiers(action: Mapping[str, Any]) -> list[int]:
    mods = action.get("modifiers") or []
    if isinstance(mods, str):
        return keys.parse_chord(mods)
    if not isinstance(mods, (list, tuple)):
        raise InvalidInputError(f"{action['action']}: modifiers must be 'ctrl+shift' or ['ctrl', 'shift']")
    return keys.parse_chord(mods) if mods else []


def _text(action: Mapping[str, Any], name: str) -> Any:
    if name not in action:
        raise InvalidInputError(f"{action['action']}: missing {name!r}")
    return action[name]


def _type_text(text: str) -> str:
    """What typing ``text`` means: a line break is one Enter however it is written (\\n, \\r\\n or \\r)."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def compile_actions(
    actions: Sequence[Mapping[str, Any]], state: InputState, size: tuple[int, int]
) -> tuple[list[Step], InputState]:
    """Check every action and turn the batch into low-level steps, with the input state after them.

    Raises InvalidInputError (InputLimitError past a limit of ``LIMITS``) before anything is sent.
    """
    state = InputState(state.x, state.y, state.buttons, list(state.keys_down))
    if not isinstance(actions, (list, tuple)):
        raise InvalidInputError("actions must be a list of action objects")
    if len(actions) > MAX_BATCH:
        raise InputLimitError(
            f"{len(actions)} actions in one batch; the limit is {MAX_BATCH} actions per batch: send them in several"
        )
    steps: list[Step] = []
    text_budget = MAX_TEXT
    seconds = 0.0

    def pause(duration: float) -> None:
        nonlocal seconds
        seconds += duration
        if seconds > MAX_SECONDS + 1e-9:
            raise InputLimitError(
                f"the batch pauses {seconds:g} s in all (waits, holds, drag durations, typing delays); the limit "
                f"is {MAX_SECONDS:g} s per batch: split it, or wait between requests"
            )
        steps.append(("sleep", duration))

    def spend_text(n: int, what: str) -> None:
        nonlocal text_budget
        text_budget -= n
        if text_budget < 0:
            raise InputLimitError(
                f"{what}: more than {MAX_TEXT} characters in one batch (the limit); type long text in several batches"
            )

    def pointer(x: int, y: int, mask: int) -> None:
        steps.append(("pointer", x, y, mask))
        state.x, state.y, state.buttons = x, y, mask & 0x07

    def press_keys(syms: Sequence[int]) -> None:
        steps.extend(("key", s, True) for s in syms)

    def release_keys(syms: Sequence[int]) -> None:
        steps.extend(("key", s, False) for s in reversed(syms))

    for i, action in enumerate(actions):
        if not isinstance(action, Mapping) or "action" not in action:
            raise InvalidInputError(f"action {i} must be an object with an 'action' field, not {action!r}")
        kind = action["action"]
        if kind not in _FIELDS:
            raise InvalidInputError(f"action {i}: unknown action {kind!r}; known: {', '.join(ACTIONS)}")
        unknown = set(action) - _FIELDS[kind] - {"action"}
        if unknown:
            raise InvalidInputError(
                f"action {i} ({kind}): unknown field(s) {', '.join(sorted(unknown))}; "
                f"it takes {', '.join(sorted(_FIELDS[kind]))}"
            )
        try:
            if kind == "move":
                x, y = _point((_text(action, "x"), _text(action, "y")), "move to", size)
                pointer(x, y, state.buttons)
            elif kind == "click":
                x, y = _where(action, state, size)
                button = _button(action)
                count = _int(action, "count", 1, 1, 3)
                mods = _modifiers(action)
                press_keys(mods)
                pointer(x, y, state.buttons)
                for n in range(count):
                    if n:
                        pause(MULTI_CLICK_INTERVAL)
                    pointer(x, y, state.buttons | button)
                    pointer(x, y, state.buttons & ~button)
                release_keys(mods)
            elif kind in ("mouse_down", "mouse_up"):
                x, y = _where(action, state, size)
                button = _button(action)
                pointer(x, y, state.buttons | button if kind == "mouse_down" else state.buttons & ~button)
            elif kind == "drag":
                path = _text(action, "path")
                if not isinstance(path, (list, tuple)) or len(path) < 2:
                    raise InvalidInputError("drag: path must hold at least two points, e.g. [[10, 10], [200, 50]]")
                if len(path) > MAX_PATH:
                    raise InputLimitError(f"drag: {len(path)} points; the limit is {MAX_PATH} points per drag")
                points = [_point(p, f"drag point {j}", size) for j, p in enumerate(path)]
                button = _button(action)
                duration = _number(action, "duration", 0.2, 0, MAX_SECONDS)
                mods = _modifiers(action)
                # Intermediate motion events every ~10 px: toolkits start a drag only after some motion.
                segments = []
                for (x0, y0), (x1, y1) in zip(points, points[1:]):
                    n = max(3, min(50, int(math.hypot(x1 - x0, y1 - y0) // 10)))
                    segments.append([(round(x0 + (x1 - x0) * k / n), round(y0 + (y1 - y0) * k / n)) for k in range(1, n + 1)])
                total = sum(len(s) for s in segments)
                press_keys(mods)
                pointer(*points[0], state.buttons)
                pointer(*points[0], state.buttons | button)
                for segment in segments:
                    for x, y in segment:
                        if duration:
                            pause(duration / total)
                        pointer(x, y, state.buttons)
                pointer(*points[-1], state.buttons & ~button)
                release_keys(mods)
            elif kind == "scroll":
                x, y = _where(action, state, size)
                dx = _int(action, "dx", 0, -MAX_SCROLL, MAX_SCROLL)
                dy = _int(action, "dy", 0, -MAX_SCROLL, MAX_SCROLL)
                mods = _modifiers(action)
                press_keys(mods)
                pointer(x, y, state.buttons)
                for amount, neg, pos in ((dy, "up", "down"), (dx, "left", "right")):
                    wheel = _WHEEL[pos if amount > 0 else neg]
                    for _ in range(abs(amount)):
                        steps.append(("pointer", x, y, state.buttons | wheel))
                        steps.append(("pointer", x, y, state.buttons))
                release_keys(mods)
            elif kind == "type":
                text = _text(action, "text")
                if not isinstance(text, str):
                    raise InvalidInputError(f"type: text must be a string, not {type(text).__name__}")
                spend_text(len(text), "type")
                text = _type_text(text)
                delay = _number(action, "delay", 0.0, 0, 10)
                shift_held = bool(keys.SHIFTS & set(state.keys_down))
                shift = keys.KEYSYMS["Shift_L"]
                for ch in text:
                    sym = keys.char_keysym(ch)
                    # Shift ourselves, as a keyboard would: left alone, TigerVNC types capitals via Caps Lock.
                    shifted = not shift_held and keys.needs_shift(ch)
                    if shifted:
                        steps.append(("key", shift, True))
                    steps.append(("key", sym, True))
                    steps.append(("key", sym, False))
                    if shifted:
                        steps.append(("key", shift, False))
                    if delay:
                        pause(delay)
            elif kind == "press":
                names = _text(action, "keys")
                if isinstance(names, str):
                    spend_text(len(names), "press")
                elif isinstance(names, (list, tuple)):
                    spend_text(sum(len(n) if isinstance(n, str) else 1 for n in names), "press")
                else:
                    raise InvalidInputError(f"press: keys must be 'ctrl+c' or ['ctrl', 'c'], not {names!r}")
                chords = keys.parse_keys(names, shift_held=bool(keys.SHIFTS & set(state.keys_down)))
                hold = _number(action, "hold", 0.0, 0, MAX_SECONDS)
                for chord in chords:
                    press_keys(chord)
                    if hold:
                        pause(hold)
                    release_keys(chord)
            elif kind in ("key_down", "key_up"):
                sym = keys.keysym(_text(action, "key"))
                steps.append(("key", sym, kind == "key_down"))
                if kind == "key_down" and sym not in state.keys_down:
                    state.keys_down.append(sym)
                elif kind == "key_up" and sym in state.keys_down:
                    state.keys_down.remove(sym)
            elif kind == "wait":
                pause(_number(action, "seconds", 0.0, 0, MAX_SECONDS))
            if len(steps) > MAX_EVENTS:
                raise InputLimitError(
                    f"the batch makes more than {MAX_EVENTS} pointer and key events (the limit); send it in several"
                )
        except InvalidInputError as exc:
            message = str(exc)
            if not message.startswith(kind):
                message = f"{kind}: {message}"
            raise type(exc)(f"action {i} ({message})" if len(actions) > 1 else message) from None
    return steps, state


async def execute(steps: Sequence[Step], rfb: Any) -> None:
    """Send compiled steps over an RFBClient, flushing before each pause and at the end (and every few
    thousand events, letting the event loop serve others meanwhile)."""
    for i, step in enumerate(steps):
        if i and not i % 5000:
            await rfb.flush()
            await asyncio.sleep(0)
        if step[0] == "pointer":
            rfb.pointer_event(step[1], step[2], step[3])
        elif step[0] == "key":
            rfb.key_event(step[1], step[2])
        else:
            await rfb.flush()
            await asyncio.sleep(step[1])
    await rfb.flush()
