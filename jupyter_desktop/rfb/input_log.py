"""A person's input, read from a viewer's RFB stream and told as actions of our vocabulary (:mod:`..actions`).

:class:`InputLog` follows the bytes a viewer sends its VNC server (it is a :class:`ClientStream`) and turns the
KeyEvent, PointerEvent and QEMU extended key messages into the actions a person meant, each handed to
``on_action(action, began)`` once it is complete, ``began`` being the clock's time of its first message::

    log = InputLog(lambda action, began: print(began, action))
    log.feed(bytes_from_the_viewer)      # as they arrive: their arrival time is the clock's time then
    log.poll()                           # now and then: hands over what a pause has completed
    log.flush()                          # at the end: everything still open

How events become actions (``slop`` pixels, ``double_click`` and ``pause`` seconds are arguments):

* a button pressed and released without the pointer going further than ``slop`` from where it was pressed is a
  ``click`` at the press point, with the modifier keys held at the press (``"modifiers": ["ctrl"]``); pressed
  again within ``double_click`` seconds of the previous press (and ``slop`` pixels), same button and modifiers,
  it is the same click with ``count`` 2, then 3. A click is handed over once the next press cannot join it: the
  third press, ``double_click`` seconds later, or any other event.
* a button pressed, moved further and released is a ``drag``: the press point, the path thinned to its shape
  (points off the straight line by 2 pixels or more, at most ``max_path`` points), the release point, its
  ``duration`` and modifiers.
* wheel "buttons" 4-7 are ``scroll`` notches (``dy`` > 0 down, ``dx`` > 0 right), summed while they come at the
  same spot (``slop``), in the same direction, with the same modifiers, less than ``pause`` seconds apart.
* a key whose keysym is a character (``keys.char_keysym`` gives that keysym back), without ctrl, alt, super,
  meta or hyper held, is typed text: a run of them is one ``type`` action (shift and AltGr are part of the
  character the viewer already sent: Shift+a comes as "A"). Return and Tab pressed with no modifier *inside* a
  run are "\\n" and "\\t" in its text ("ls -l\\n" is one action); on their own they are ``press`` "Return" /
  "Tab". The text ends at any other action, after a ``pause`` without keys, or at ``max_text`` characters.
* any other key (Escape, arrows, F-keys, BackSpace, keypad keys, a character with ctrl ...) is a ``press`` of a
  chord naming the modifiers held, in the order they went down, and the key: "ctrl+shift+t", "shift+Tab",
  "Escape". :func:`keys.parse_keys` reads each back to exactly the keysyms the viewer sent. The same chord
  pressed again within ``pause`` (a held arrow's repeats, BackSpace hammered) joins it: "Down Down Down".
* modifier keys pressed and released with nothing between (Super tapped to open a menu) are a ``press`` of
  them: "super"; modifiers that served a key, click, drag or scroll are not reported again.
* pointer motion with no button down is dropped, except where it matters to what follows: before key input, if
  the pointer came to rest more than ``slop`` pixels from where the last action left it (the window under the
  pointer may take the keys), and at :meth:`flush`, a ``move`` to the resting point is handed over.
* anything else the pointer does — a second button pressed while one is down, the wheel or a key while a button
  is down, a release whose press came before the log began — is told as it happened: ``mouse_down`` (at the
  first press point, then a ``move`` to where the pointer went) and ``mouse_up`` with their positions; the motion
  in between and the modifiers are not told.
* pasted text (ClientCutText) is no action: it sets the desktop's clipboard, which no action of the vocabulary
  does, and it types nothing — what the person then does with it (ctrl+v, a middle click) is told as keys and
  clicks. Its text goes to ``on_clipboard(text, time)`` and stays in :attr:`clipboard` (at most ``max_text``
  characters), for whoever records a step to note it.

Replaying the actions (``Desktop.perform``) gives the same button and key events, where and with which modifiers,
as the person's input (tests/test_input_log.py checks it with xev on Xvnc) for clicks released where they were
pressed, drags, scrolls, chords, and text typed with shift let go after each capital. It differs, meaning the
same, for: a click whose release slipped a few pixels (replayed at the press point); the motion in between (a
drag's along its thinned path, hover motion not at all); text typed with shift held across several keys, or a
modifier held across several chords (replayed with shift, the modifier, pressed again for each key). Caps Lock
is a key like others ("press Caps_Lock"); the characters it changes come as what they are.

``began`` is the ``clock``'s time (default ``time.time``: Unix time, as a trajectory step's ``time``).

Limits: memory stays bounded (``max_text`` characters of text, ``max_path`` points of a drag kept from at most
``4 * max_path`` raw points, thinned as they come, a paste of more than ``max_paste`` bytes skipped unread, not
buffered); nothing a viewer sends makes it raise. Events the vocabulary cannot say (buttons 8 and up, a key
event with keysym 0, a paste too large or corrupt) are counted in :attr:`ignored`. A stream that cannot be
followed (a message ``ClientStream`` does not know) sets :attr:`opaque`, hands over what was open and reads no
more input; ``on_input`` sees "opaque" (and every input message's kind) as ``ClientStream``'s callers do.
"""

from __future__ import annotations

import math
import struct
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import keys
from .._keysyms import KEYSYMS
from ..actions import MAX_PATH, MAX_SCROLL, MAX_SECONDS
from ..errors import InvalidInputError, RFBProtocolError
from . import clipboard as _clipboard
from .client_messages import CLIENT_CUT_TEXT, KEY_EVENT, POINTER_EVENT, QEMU, ClientStream

__all__ = ["InputLog", "chord_name", "key_name"]

Action = dict[str, Any]

BUTTON_NAMES = {1: "left", 2: "middle", 4: "right"}
_WHEEL = {8: (0, -1), 16: (0, 1), 32: (-1, 0), 64: (1, 0)}  # mask bit: (dx, dy)
_THIN_TOLERANCE = 2.0  # pixels a drag's path may be off its thinned line

_sym = KEYSYMS.__getitem__
_COMMAND = {KEYSYMS[f"{n}_{side}"] for n in ("Control", "Alt", "Meta", "Super", "Hyper") for side in "LR"}
_TEXT_MODIFIERS = {KEYSYMS[n] for n in ("Shift_L", "Shift_R", "ISO_Level3_Shift", "ISO_Level5_Shift", "Mode_switch")}
MODIFIERS = frozenset(_COMMAND | _TEXT_MODIFIERS)
_MODIFIER_NAMES = {
    _sym("Control_L"): "ctrl", _sym("Control_R"): "rctrl", _sym("Shift_L"): "shift", _sym("Shift_R"): "rshift",
    _sym("Alt_L"): "alt", _sym("Alt_R"): "ralt", _sym("Meta_L"): "meta", _sym("Super_L"): "super",
    _sym("ISO_Level3_Shift"): "altgr",
}  # fmt: skip
_JOINS = {_sym("Return"): "\n", _sym("Tab"): "\t"}  # keys that are text inside a run of text
_CHAR_NAMES = {" ": "space", "+": "plus"}  # characters that cannot name themselves in a chord
_UNSHIFT = {v: k for k, v in keys._US_SHIFTED.items()}
_NAMES: dict[int, str] = {}
for _name, _value in KEYSYMS.items():
    _NAMES.setdefault(_value, _name)


def _char(sym: int) -> str | None:
    """The character a keysym types, if typing that character (``keys.char_keysym``) sends this very keysym."""
    if 0x20 <= sym <= 0x7E or 0xA0 <= sym <= 0xFF:
        return chr(sym)
    if 0x01000100 <= sym <= 0x0110FFFF and not 0xD800 <= sym - 0x01000000 <= 0xDFFF:
        ch = chr(sym - 0x01000000)
        try:
            return ch if keys.char_keysym(ch) == sym else None
        except InvalidInputError:
            return None
    return None


def key_name(sym: int) -> str:
    """A name ``keys.keysym`` reads back to ``sym``: a modifier's alias, the character, the X name, or hex."""
    if sym in _MODIFIER_NAMES:
        return _MODIFIER_NAMES[sym]
    ch = _char(sym)
    if ch is not None:
        return _CHAR_NAMES.get(ch, ch)
    return _NAMES.get(sym, f"0x{sym:x}")


def _reads_as(text: str, syms: list[int]) -> bool:
    try:
        return keys.parse_keys(text) == [syms]
    except InvalidInputError:
        return False


def chord_name(held: Sequence[int], sym: int) -> str:
    """The chord ("ctrl+shift+t") that ``keys.parse_keys`` reads back to the keysyms ``held`` then ``sym``.

    With shift in a chord, ``parse_chord`` shifts a character key itself ("shift+t" is T): the character the
    viewer sent is named by its unshifted key then, and by its hex keysym when no name reads back right."""
    want = [*held, sym]
    names = [key_name(m) for m in held]
    candidates = []
    ch = _char(sym)
    if ch is not None and keys.SHIFTS & set(held):
        candidates += [_UNSHIFT.get(ch, ""), ch.lower()]
    candidates += [key_name(sym), f"0x{sym:x}"]
    for last in candidates:
        if last and _reads_as(text := "+".join([*names, last]), want):
            return text
    return "+".join(f"0x{s:x}" for s in want)  # hex names always read back (1..0x1fffffff: checked on input)


@dataclass
class _Open:
    """An action that the next events may still extend (text, a click, a scroll, a run of one chord)."""

    kind: str
    began: float
    last: float  # its latest event (a click's: its latest press)
    action: Action
    chord: str = ""  # a press run's chord
    count: int = 1  # a press run's presses


@dataclass
class _Gesture:
    """A button held down: a click or a drag, known once it is released."""

    button: int
    x: int
    y: int
    began: float
    modifiers: list[str]
    prior: _Open | None  # the click this press may add to (a double click)
    max_points: int
    points: list[tuple[int, int]] = field(default_factory=list)
    far: float = 0.0  # the furthest it went from the press point
    moved: float = 0.0  # when it last moved

    def add(self, x: int, y: int, now: float) -> None:
        if self.points and self.points[-1] == (x, y):
            return
        self.points.append((x, y))
        self.far = max(self.far, math.hypot(x - self.x, y - self.y))
        self.moved = now
        if len(self.points) > 4 * self.max_points:  # halve the raw points, keeping both ends
            self.points = self.points[:-1:2] + [self.points[-1]]


def _thin(points: list[tuple[int, int]], limit: int) -> list[tuple[int, int]]:
    """Douglas-Peucker: the points that keep the path's shape (within a tolerance, raised until at most ``limit``
    remain), both ends always."""
    if len(points) <= 2:
        return list(points)
    tolerance = _THIN_TOLERANCE
    while True:
        keep = [False] * len(points)
        keep[0] = keep[-1] = True
        stack = [(0, len(points) - 1)]
        while stack:
            first, last = stack.pop()
            (x0, y0), (x1, y1) = points[first], points[last]
            length = math.hypot(x1 - x0, y1 - y0)
            worst, index = 0.0, -1
            for i in range(first + 1, last):
                x, y = points[i]
                d = abs((x1 - x0) * (y0 - y) - (x0 - x) * (y1 - y0)) / length if length else math.hypot(x - x0, y - y0)
                if d > worst:
                    worst, index = d, i
            if index >= 0 and worst >= tolerance:
                keep[index] = True
                stack += [(first, index), (index, last)]
        out = [p for p, k in zip(points, keep) if k]
        if len(out) <= limit:
            return out
        tolerance *= 2


class InputLog(ClientStream):
    """Follow a viewer's client-to-server RFB bytes; hand each action a person completed to ``on_action``
    (see the module's docstring for what becomes what)."""

    def __init__(
        self,
        on_action: Callable[[Action, float], None],
        *,
        clock: Callable[[], float] = time.time,
        on_input: Callable[[str], None] | None = None,
        on_clipboard: Callable[[str, float], None] | None = None,
        double_click: float = 0.5,
        slop: float = 5.0,
        pause: float = 1.0,
        max_text: int = 1000,
        max_path: int = 100,
        max_paste: int = 1 << 20,
    ) -> None:
        super().__init__(self._on_kind)
        self.on_action = on_action
        self.clock = clock
        self._on_input = on_input
        self.on_clipboard = on_clipboard
        self.double_click = double_click
        self.slop = slop
        self.pause = pause
        self.max_text = max(1, max_text)
        self.max_path = max(2, min(max_path, MAX_PATH))
        self.max_paste = max_paste
        self._skip = 0  # bytes of a paste too large to keep, still to come
        self.opaque = False  # the stream could not be followed: no more input is read
        self.ignored = 0  # events the vocabulary cannot say
        self.clipboard: str | None = None  # the last text the viewer pasted
        self.x = self.y = 0
        self.mask = 0  # the viewer's button mask
        self._now = 0.0
        self._held: list[int] = []  # modifier keysyms down, in the order they went down
        self._tap: list[int] | None = None  # modifiers pressed since none was down; None once one served
        self._tap_began = 0.0
        self._open: _Open | None = None
        self._gesture: _Gesture | None = None
        self._raw = False  # buttons told as mouse_down / mouse_up until all are up
        self._anchor: tuple[int, int] | None = None  # where the last action left the pointer
        self._rest: tuple[int, int, float] | None = None  # where hover motion went since, and when

    # ------------------------------------------------------------------ the outside

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """The viewer's next bytes, arrived now (the clock's time)."""
        self._now = self.clock()
        self.poll(self._now)
        super().feed(data)

    def poll(self, now: float | None = None) -> None:
        """Hand over the open action if its window passed (a click's ``double_click``, text's ``pause``)."""
        now = self.clock() if now is None else now
        o = self._open
        if o is not None and now - o.last > (self.double_click if o.kind == "click" else self.pause):
            self._close()

    @property
    def idle(self) -> bool:
        """Nothing begun and not handed over yet: the next input message starts a new action."""
        return self._open is None and self._gesture is None and not self._raw and self.mask == 0

    def flush(self) -> None:
        """Hand over everything open: the action, a button still down (as ``mouse_down``), the pointer's rest."""
        if self._gesture is not None:
            self._go_raw()
        self._close()
        self._hover_move()

    # ------------------------------------------------------------------ handing over

    def _deliver(self, action: Action, began: float) -> None:
        if "x" in action:
            self._anchor = (action["x"], action["y"])
        elif action["action"] == "drag":
            x, y = action["path"][-1]
            self._anchor = (x, y)
        self.on_action(action, began)

    def _close(self) -> None:
        o, self._open = self._open, None
        if o is None:
            return
        if o.kind == "press":
            o.action["keys"] = " ".join([o.chord] * o.count)
        self._deliver(o.action, o.began)

    def _say(self, action: Action, began: float) -> None:
        """A complete action: what was open goes first."""
        self._close()
        self._deliver(action, began)

    def _hover_move(self) -> None:
        """A ``move`` to where hover motion left the pointer, if that is more than ``slop`` from where the last
        action (the open one included) left it."""
        rest, self._rest = self._rest, None
        if rest is None:
            return
        x, y, when = rest
        o = self._open
        anchor = (o.action["x"], o.action["y"]) if o is not None and "x" in o.action else self._anchor
        if anchor is None or math.dist(anchor, (x, y)) > self.slop:
            self._say({"action": "move", "x": x, "y": y}, when)

    def _far(self, o: _Open, x: int, y: int) -> bool:
        return math.dist((o.action["x"], o.action["y"]), (x, y)) > self.slop

    def _modifier_names(self) -> list[str]:
        self._tap = None  # the modifiers served
        return [key_name(m) for m in self._held]

    # ------------------------------------------------------------------ the messages

    def _on_kind(self, kind: str) -> None:
        if kind == "opaque" and not self.opaque:
            self.opaque = True
            self.flush()
        if self._on_input is not None:
            self._on_input(kind)

    def _step(self) -> bool:
        if self._skip:
            n = min(self._skip, len(self.buffer))
            del self.buffer[:n]
            self._skip -= n
            return True
        if self.stage == "messages" and self.buffer[0] == CLIENT_CUT_TEXT and len(self.buffer) >= 8:
            length = abs(struct.unpack_from(">i", self.buffer, 4)[0])
            if length > self.max_paste:  # let it pass unread rather than hold it
                del self.buffer[:8]
                self._skip = length
                self.ignored += 1
                self.on_input("clipboard")
                return True
        return super()._step()

    def _message(self, kind: int, length: int) -> None:
        data = bytes(self.buffer[:length])
        super()._message(kind, length)
        now = self._now
        if kind == POINTER_EVENT:
            mask, x, y = struct.unpack_from(">BHH", data, 1)
            self._pointer(mask, x, y, now)
        elif kind == KEY_EVENT:
            down, sym = struct.unpack_from(">B2xI", data, 1)
            self._key(sym, bool(down), now)
        elif kind == QEMU:  # extended key event: down (u16), keysym, keycode
            down, sym = struct.unpack_from(">HI", data, 2)
            self._key(sym, bool(down), now)
        elif kind == CLIENT_CUT_TEXT:
            self._cut_text(data[8:], struct.unpack_from(">i", data, 4)[0] < 0, now)

    def _cut_text(self, payload: bytes, extended: bool, now: float) -> None:
        if not extended:
            text: str | None = payload.decode("latin-1")
        else:
            try:
                actions, _formats = _clipboard.flags(payload)
                text = _clipboard.read_provide(payload) if actions & _clipboard.PROVIDE else None
            except (RFBProtocolError, zlib.error):
                self.ignored += 1
                return
        if text is None:  # the extended clipboard's other messages (caps, notify ...) paste nothing
            return
        self.clipboard = text[: self.max_text]
        if self.on_clipboard is not None:
            self.on_clipboard(self.clipboard, now)

    # ------------------------------------------------------------------ the pointer

    def _pointer(self, mask: int, x: int, y: int, now: float) -> None:
        old = self.mask
        self.mask, self.x, self.y = mask, x, y
        pressed, released = mask & ~old, old & ~mask
        if pressed & 0x80:
            self.ignored += 1
        if self._gesture is not None:
            self._gesture.add(x, y, now)
        elif not old & 7 and not pressed & 0x7F:  # hover
            self._rest = (x, y, now)
            o = self._open
            if o is not None and o.kind in ("click", "scroll") and self._far(o, x, y):
                self._close()  # no further click or notch can join it here
        for bit in (1, 2, 4):
            if released & bit:
                self._release(bit, x, y, now)
        for bit in (1, 2, 4):
            if pressed & bit:
                self._press(bit, x, y, now)
        for bit, (dx, dy) in _WHEEL.items():
            if pressed & bit:
                self._wheel(dx, dy, x, y, now)

    def _press(self, bit: int, x: int, y: int, now: float) -> None:
        self._rest = None
        if self._gesture is not None or self._raw:  # a second button
            if self._gesture is not None:
                self._go_raw()
            self._modifier_names()
            self._say({"action": "mouse_down", "x": x, "y": y, "button": BUTTON_NAMES[bit]}, now)
            return
        modifiers = self._modifier_names()
        o, prior = self._open, None
        if (
            o is not None
            and o.kind == "click"
            and o.action["button"] == BUTTON_NAMES[bit]
            and o.action["modifiers"] == modifiers
            and o.action["count"] < 3
            and now - o.last <= self.double_click
            and not self._far(o, x, y)
        ):
            prior, self._open = o, None
        else:
            self._close()
        self._gesture = _Gesture(bit, x, y, now, modifiers, prior, self.max_path)
        self._gesture.add(x, y, now)

    def _release(self, bit: int, x: int, y: int, now: float) -> None:
        g = self._gesture
        if g is None or g.button != bit:  # several buttons, or one pressed before the log began
            if g is not None:
                self._go_raw()
            self._say({"action": "mouse_up", "x": x, "y": y, "button": BUTTON_NAMES[bit]}, now)
            if not self.mask & 7:
                self._raw = False
            return
        self._gesture = None
        if g.far <= self.slop:
            if g.prior is not None:
                click = g.prior
                click.action["count"] += 1
                click.last = g.began
            else:
                button = BUTTON_NAMES[bit]
                action = {"action": "click", "x": g.x, "y": g.y, "button": button, "count": 1, "modifiers": g.modifiers}
                click = _Open("click", g.began, g.began, action)
            self._open = click
            if click.action["count"] >= 3:
                self._close()
            return
        if g.prior is not None:
            self._deliver(g.prior.action, g.prior.began)
        path = [list(p) for p in _thin(g.points, self.max_path)]
        duration = round(min(max(now - g.began, 0.0), MAX_SECONDS), 3)
        button = BUTTON_NAMES[bit]
        drag = {"action": "drag", "path": path, "button": button, "duration": duration, "modifiers": g.modifiers}
        self._say(drag, g.began)

    def _go_raw(self) -> None:
        """The held button cannot be a click or a drag any more: tell its press (and where it went) as it was."""
        g, self._gesture = self._gesture, None
        if g is None:
            return
        self._raw = True
        if g.prior is not None:
            self._say(g.prior.action, g.prior.began)
        self._say({"action": "mouse_down", "x": g.x, "y": g.y, "button": BUTTON_NAMES[g.button]}, g.began)
        x, y = g.points[-1]
        if (x, y) != (g.x, g.y):
            self._say({"action": "move", "x": x, "y": y}, g.moved)

    def _wheel(self, dx: int, dy: int, x: int, y: int, now: float) -> None:
        if self._gesture is not None:
            self._go_raw()
        self._rest = None
        modifiers = self._modifier_names()
        o = self._open
        if (
            o is not None
            and o.kind == "scroll"
            and o.action["modifiers"] == modifiers
            and not self._far(o, x, y)
            and o.action["dx"] * dx >= 0
            and o.action["dy"] * dy >= 0
            and abs(o.action["dx"] + dx) <= MAX_SCROLL
            and abs(o.action["dy"] + dy) <= MAX_SCROLL
        ):
            o.action["dx"] += dx
            o.action["dy"] += dy
            o.last = now
            return
        self._close()
        action = {"action": "scroll", "dx": dx, "dy": dy, "x": x, "y": y, "modifiers": modifiers}
        self._open = _Open("scroll", now, now, action)

    # ------------------------------------------------------------------ keys

    def _key(self, sym: int, down: bool, now: float) -> None:
        if not 0 < sym <= keys.MAX_KEYSYM:
            self.ignored += 1
            return
        if sym in MODIFIERS:
            if down and sym not in self._held:
                if not self._held:
                    self._tap, self._tap_began = [], now
                self._held.append(sym)
                if self.mask & 7 or self._gesture is not None:
                    self._tap = None  # it modifies what the pointer does
                elif self._tap is not None:
                    self._tap.append(sym)
            elif not down and sym in self._held:
                self._held.remove(sym)
                if not self._held and self._tap:
                    tap, self._tap = self._tap, None
                    rest = self._rest
                    if rest is not None and rest[2] <= self._tap_began:  # the pointer came to rest before the keys
                        self._hover_move()
                    self._chord(chord_name(tap[:-1], tap[-1]), self._tap_began)
            return
        if not down:
            return  # the key's press was the keystroke
        if self._gesture is not None:
            self._go_raw()
        commands = [m for m in self._held if m in _COMMAND]
        text = None if commands else _char(sym)
        o = self._open
        if text is None and not self._held and sym in _JOINS and o is not None and o.kind == "text":
            text = _JOINS[sym]
        held = list(self._held)
        self._modifier_names()
        self._hover_move()  # the pointer moved away while typing: the text after the move is another action
        o = self._open
        if text is not None:
            if o is not None and o.kind == "text" and len(o.action["text"]) < self.max_text:
                o.action["text"] += text
                o.last = now
            else:
                self._close()
                self._open = _Open("text", now, now, {"action": "type", "text": text})
            return
        self._chord(chord_name(held, sym), now)

    def _chord(self, chord: str, now: float) -> None:
        o = self._open
        room = (o.count + 1) * (len(chord) + 1) <= self.max_text if o is not None else False
        if o is not None and o.kind == "press" and o.chord == chord and room:
            o.count += 1
            o.last = now
            return
        self._close()
        self._open = _Open("press", now, now, {"action": "press", "keys": chord}, chord)
