"""Key names, chords and X keysyms.

A key is named three ways, tried in this order:

1. a raw X keysym name, case-sensitive: ``Return``, ``Page_Down``, ``XF86AudioMute``, ``a``, ``A``;
2. a common alias, case-insensitive: ``enter``, ``esc``, ``ctrl``, ``cmd``/``super``/``win``, ``pgdn`` ...;
3. a keysym name in any case: ``return``, ``F5``/``f5``, ``backspace``.

Browser key codes (Playwright's, the Agents SDK's) name keys too: ``KeyA``, ``Digit5``, ``Quote``, ``Numpad7``,
``NumpadEnter``, ``ControlOrMeta``; OpenAI's upper-case names (``CTRL``, ``ARROWLEFT``) are aliases in another case.

A single character always names itself (``"a"``, ``"é"``, ``"€"``). A chord joins keys with ``+``
(``"ctrl+shift+t"``) or is given as a list (``["ctrl", "c"]``); a string of several chords separated by
spaces (``"ctrl+a ctrl+c"``) is pressed one chord after the other, as xdotool does.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

from ._keysyms import KEYSYMS
from .errors import InvalidInputError

__all__ = ["ALIASES", "CODE_CHARS", "SHIFTS", "needs_shift", "keysym", "char_keysym", "parse_chord", "parse_keys"]

_MODIFIERS = {
    "ctrl": "Control_L",
    "control": "Control_L",
    "lctrl": "Control_L",
    "rctrl": "Control_R",
    "shift": "Shift_L",
    "lshift": "Shift_L",
    "rshift": "Shift_R",
    "alt": "Alt_L",
    "lalt": "Alt_L",
    "ralt": "Alt_R",
    "altgr": "ISO_Level3_Shift",
    "option": "Alt_L",
    "meta": "Meta_L",
    "super": "Super_L",
    "cmd": "Super_L",
    "command": "Super_L",
    "win": "Super_L",
    "windows": "Super_L",
}

ALIASES: dict[str, str] = {
    **_MODIFIERS,
    "enter": "Return",
    "return": "Return",
    "esc": "Escape",
    "escape": "Escape",
    "tab": "Tab",
    "space": "space",
    "spacebar": "space",
    "backspace": "BackSpace",
    "bksp": "BackSpace",
    "del": "Delete",
    "delete": "Delete",
    "ins": "Insert",
    "insert": "Insert",
    "home": "Home",
    "end": "End",
    "pgup": "Prior",
    "pageup": "Prior",
    "page_up": "Prior",
    "pgdn": "Next",
    "pagedown": "Next",
    "page_down": "Next",
    "up": "Up",
    "down": "Down",
    "left": "Left",
    "right": "Right",
    "arrowup": "Up",
    "arrowdown": "Down",
    "arrowleft": "Left",
    "arrowright": "Right",
    "capslock": "Caps_Lock",
    "caps_lock": "Caps_Lock",
    "numlock": "Num_Lock",
    "num_lock": "Num_Lock",
    "scrolllock": "Scroll_Lock",
    "scroll_lock": "Scroll_Lock",
    "print": "Print",
    "printscreen": "Print",
    "prtsc": "Print",
    "pause": "Pause",
    "break": "Break",
    "menu": "Menu",
    "apps": "Menu",
    "plus": "plus",
    "minus": "minus",
    "volumeup": "XF86AudioRaiseVolume",
    "volumedown": "XF86AudioLowerVolume",
    "volumemute": "XF86AudioMute",
    "mute": "XF86AudioMute",
    **{f"f{n}": f"F{n}" for n in range(1, 36)},
}

# Browser key codes (KeyboardEvent.code, as Playwright names keys) that stand for a character: a chord with shift
# then makes the shifted character, as for the character itself ("Shift+KeyA" is "A").
CODE_CHARS: dict[str, str] = {
    **{f"key{c}": c for c in "abcdefghijklmnopqrstuvwxyz"},
    **{f"digit{d}": d for d in "0123456789"},
    "quote": "'",
    "backquote": "`",
    "bracketleft": "[",
    "bracketright": "]",
    "semicolon": ";",
    "comma": ",",
    "period": ".",
    "slash": "/",
    "backslash": "\\",
    "equal": "=",
}
ALIASES.update(
    {
        "controlormeta": "Control_L",  # Playwright's: Control on Linux
        **{f"numpad{d}": f"KP_{d}" for d in "0123456789"},
        "numpadadd": "KP_Add",
        "numpadsubtract": "KP_Subtract",
        "numpadmultiply": "KP_Multiply",
        "numpaddivide": "KP_Divide",
        "numpaddecimal": "KP_Decimal",
        "numpadenter": "KP_Enter",
        "audiovolumeup": "XF86AudioRaiseVolume",
        "audiovolumedown": "XF86AudioLowerVolume",
        "audiovolumemute": "XF86AudioMute",
    }
)

_BY_LOWER: dict[str, str] = {}
for _name in KEYSYMS:
    _BY_LOWER.setdefault(_name.lower(), _name)

MAX_KEYSYM = 0x1FFFFFFF  # X keysyms are 29-bit values
MAX_UNICODE = 0x10FFFF

_CONTROL_CHARS = {"\n": "Return", "\r": "Return", "\t": "Tab", "\b": "BackSpace", "\x1b": "Escape"}


def char_keysym(ch: str) -> int:
    """The keysym that types one character (any Unicode code point, or newline/tab)."""
    if ch in _CONTROL_CHARS:
        return KEYSYMS[_CONTROL_CHARS[ch]]
    cp = ord(ch)
    if 0x20 <= cp <= 0x7E or 0xA0 <= cp <= 0xFF:
        return cp  # Latin-1 keysyms equal their code points
    if cp < 0x20 or 0x7F <= cp < 0xA0:
        raise InvalidInputError(f"cannot type the control character {ch!r}; use press() with a key name")
    return 0x01000000 + cp  # the X Unicode keysym range


def needs_shift(ch: str) -> bool:
    """True for characters typed with shift on the US layout (A-Z and the shifted symbols)."""
    return "A" <= ch <= "Z" or ch in _SHIFTED_CHARS


def keysym(name: str) -> int:
    """The keysym of one key name; raises InvalidInputError naming close matches when unknown."""
    if not isinstance(name, str) or not name:
        raise InvalidInputError(f"a key name must be a non-empty string, not {name!r}")
    if name in KEYSYMS:
        return KEYSYMS[name]
    if len(name) == 1:
        return char_keysym(name)
    lower = name.lower()
    if lower in CODE_CHARS:
        return char_keysym(CODE_CHARS[lower])
    if lower in ALIASES:
        return KEYSYMS[ALIASES[lower]]
    if lower in _BY_LOWER:
        return KEYSYMS[_BY_LOWER[lower]]
    if lower.startswith("u+") or lower.startswith("0x"):
        try:
            value = int(name[2:], 16)
        except ValueError:
            pass
        else:
            unicode = lower.startswith("u+")
            high = MAX_UNICODE if unicode else MAX_KEYSYM
            if not 0 < value <= high:
                raise InvalidInputError(
                    f"key {name!r} is out of range: {'a code point' if unicode else 'an X keysym'} is "
                    f"{'u+1' if unicode else '0x1'}..{'u+' if unicode else '0x'}{high:x}"
                )
            return 0x01000000 + value if unicode else value
    candidates = list(ALIASES) + list(KEYSYMS)
    close = difflib.get_close_matches(name, candidates, n=5, cutoff=0.6)
    close += [c for c in difflib.get_close_matches(lower, candidates, n=5, cutoff=0.6) if c not in close]
    hint = f" Did you mean {', '.join(repr(c) for c in close[:5])}?" if close else ""
    raise InvalidInputError(
        f"unknown key {name!r}.{hint} Use an alias (enter, esc, ctrl, alt, shift, cmd, tab, space, "
        "backspace, delete, up, down, left, right, pgup, pgdn, home, end, f1..f35), a single character, "
        "or an X keysym name such as 'Return' or 'XF86AudioMute' (jupyter_desktop.keys.ALIASES lists the aliases)."
    )


# What shift makes of a key on the US layout (the layout Xvnc and Xvfb start with).
_US_SHIFTED = dict(zip("`1234567890-=[]\\;',./", '~!@#$%^&*()_+{}|:"<>?'))
SHIFTS = {KEYSYMS["Shift_L"], KEYSYMS["Shift_R"]}
_SHIFTED_CHARS = frozenset(_US_SHIFTED.values())


def parse_chord(chord: str | Sequence[str], shift_held: bool = False) -> list[int]:
    """Keysyms of one chord, modifiers first: ``"ctrl+shift+t"`` or ``["ctrl", "shift", "t"]``.

    With shift in the chord, a character key becomes its shifted keysym (``T``, ``!``), as a keyboard
    would produce it: a VNC server asked for ``t`` while shift is down works around the shift (with
    Caps Lock), which is not what ``ctrl+shift+t`` means. ``shift_held``: shift is already down
    (``key_down("shift")``).
    """
    if isinstance(chord, str):
        if chord in ("+", "plus"):
            names = ["plus"]
        else:
            names = chord.split("+")
            if chord.endswith("++"):  # "ctrl++" means ctrl and plus
                names = names[:-2] + ["plus"]
    else:
        names = list(chord)
    if not names or any(not n for n in names):
        raise InvalidInputError(f"malformed key chord {chord!r}; write it as 'ctrl+c' or ['ctrl', 'c']")
    names = [n.strip() if isinstance(n, str) else n for n in names]
    names = [CODE_CHARS.get(n.lower(), n) if isinstance(n, str) and len(n) > 1 else n for n in names]
    syms = [keysym(n) for n in names]
    if (shift_held or SHIFTS & set(syms[:-1])) and isinstance(names[-1], str) and len(names[-1]) == 1:
        ch = names[-1]
        shifted = _US_SHIFTED.get(ch, ch.upper())
        if len(shifted) == 1:
            syms[-1] = char_keysym(shifted)
    return syms


def parse_keys(keys: str | Iterable[str], shift_held: bool = False) -> list[list[int]]:
    """Chords to press one after the other.

    A string may hold several chords separated by spaces; a list is one chord (E2B's convention).
    """
    if isinstance(keys, str):
        parts = keys.split()
        if not parts:
            if keys == " ":
                return [[KEYSYMS["space"]]]
            raise InvalidInputError("press() needs a key, e.g. press('enter') or press('ctrl+c')")
        return [parse_chord(p, shift_held) for p in parts]
    if not isinstance(keys, (list, tuple)):
        raise InvalidInputError(f"keys must be 'ctrl+c' or ['ctrl', 'c'], not {keys!r}")
    keys = list(keys)
    if not keys:
        raise InvalidInputError("press() needs at least one key")
    return [parse_chord(keys, shift_held)]
