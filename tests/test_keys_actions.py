"""Key names and the action vocabulary: pure functions, checked without a desktop."""

from __future__ import annotations

import pytest

from jupyter_desktop import InvalidInputError
from jupyter_desktop.errors import InputLimitError
from jupyter_desktop.actions import InputState, compile_actions
from jupyter_desktop.keys import char_keysym, keysym, parse_chord, parse_keys


@pytest.mark.parametrize(
    "name, value",
    [
        ("Return", 0xFF0D), ("enter", 0xFF0D), ("ENTER", 0xFF0D), ("esc", 0xFF1B), ("ctrl", 0xFFE3),
        ("cmd", 0xFFEB), ("super", 0xFFEB), ("win", 0xFFEB), ("pgdn", 0xFF56), ("Page_Down", 0xFF56),
        ("XF86AudioMute", 0x1008FF12), ("f5", 0xFFC2), ("F12", 0xFFC9), ("backspace", 0xFF08),
        ("a", 0x61), ("A", 0x41), ("é", 0xE9), ("€", 0x10020AC), ("u+263a", 0x100263A), ("space", 0x20),
        # OpenAI's upper-case names, and browser key codes (Playwright, the Agents SDK)
        ("CTRL", 0xFFE3), ("ARROWLEFT", 0xFF51), ("ESC", 0xFF1B), ("BACKSPACE", 0xFF08), ("PAGEDOWN", 0xFF56),
        ("KeyA", 0x61), ("Digit5", 0x35), ("Quote", 0x27), ("Backquote", 0x60), ("Backslash", 0x5C),
        ("Numpad7", 0xFFB7), ("NumpadEnter", 0xFF8D), ("ControlOrMeta", 0xFFE3), ("ArrowUp", 0xFF52),
        ("AudioVolumeMute", 0x1008FF12),
    ],
)  # fmt: skip
def test_key_names(name, value):
    assert keysym(name) == value


def test_raw_keysyms_are_case_sensitive():
    assert keysym("a") != keysym("A")
    assert keysym("Home") == keysym("home") == 0xFF50


def test_unknown_key_suggests_names():
    with pytest.raises(InvalidInputError, match=r"unknown key 'Retrun'.*Did you mean 'Return'"):
        keysym("Retrun")
    with pytest.raises(InvalidInputError, match=r"Did you mean.*'ctrl'"):
        keysym("crtl")


def test_chords_and_sequences():
    assert parse_chord("ctrl+c") == [0xFFE3, 0x63]
    assert parse_chord(["ctrl", "c"]) == [0xFFE3, 0x63]
    assert parse_chord("ctrl+shift+t") == [0xFFE3, 0xFFE1, 0x54]  # shift makes it T
    assert parse_chord("shift+1") == [0xFFE1, 0x21]  # and 1 becomes !
    assert parse_chord("ctrl++") == [0xFFE3, 0x2B]
    assert parse_chord("Shift+KeyA") == [0xFFE1, 0x41]  # a key code is its character: shift makes it A
    assert parse_chord(["Control", "Shift", "Digit1"]) == [0xFFE3, 0xFFE1, 0x21]
    assert parse_chord(["CTRL", "KeyP"]) == [0xFFE3, 0x70]
    assert parse_chord("+") == [0x2B]
    assert parse_keys("ctrl+a ctrl+c") == [[0xFFE3, 0x61], [0xFFE3, 0x63]]
    assert parse_keys(" ") == [[0x20]]
    with pytest.raises(InvalidInputError, match="malformed key chord"):
        parse_chord("ctrl+")
    with pytest.raises(InvalidInputError, match="needs a key"):
        parse_keys("")


def test_characters():
    assert char_keysym("\n") == 0xFF0D and char_keysym("\t") == 0xFF09
    with pytest.raises(InvalidInputError, match="control character"):
        char_keysym("\x07")


SIZE = (100, 50)


def test_click_compiles_to_pointer_events_with_modifiers():
    steps, state = compile_actions([{"action": "click", "x": 10, "y": 20, "button": "right", "modifiers": "ctrl"}], InputState(), SIZE)
    assert steps == [
        ("key", 0xFFE3, True), ("pointer", 10, 20, 0), ("pointer", 10, 20, 4), ("pointer", 10, 20, 0), ("key", 0xFFE3, False),
    ]  # fmt: skip
    assert (state.x, state.y, state.buttons) == (10, 20, 0)


def test_held_button_stays_held_across_moves():
    steps, state = compile_actions([{"action": "mouse_down", "x": 1, "y": 1}, {"action": "move", "x": 5, "y": 5}], InputState(), SIZE)
    assert steps[-1] == ("pointer", 5, 5, 1) and state.buttons == 1
    steps, state = compile_actions([{"action": "mouse_up"}], state, SIZE)
    assert steps == [("pointer", 5, 5, 0)] and state.buttons == 0


def test_scroll_masks():
    steps, _ = compile_actions([{"action": "scroll", "dx": -1, "dy": 2, "x": 0, "y": 0}], InputState(), SIZE)
    wheel = [s[3] for s in steps if s[0] == "pointer" and s[3]]
    assert wheel == [16, 16, 32]


@pytest.mark.parametrize(
    "action, message",
    [
        ({"action": "move", "x": 100, "y": 0}, r"off the 100x50 screen"),
        ({"action": "move", "x": -1, "y": 0}, r"off the 100x50 screen"),
        ({"action": "move", "x": "1", "y": 0}, r"must be a point"),
        ({"action": "click", "x": 1}, "give both x and y"),
        ({"action": "click", "count": 4}, r"count=4 is outside 1..3"),
        ({"action": "click", "button": "side"}, "button must be one of"),
        ({"action": "type"}, "missing 'text'"),
        ({"action": "type", "text": 5}, "text must be a string"),
        ({"action": "press", "keys": "nope"}, "unknown key"),
        ({"action": "wait", "seconds": -1}, "outside"),
        ({"action": "wait", "seconds": float("nan")}, "must be a number"),
        ({"action": "drag", "path": [[1, 1]]}, "at least two points"),
        ({"action": "scroll", "dy": 5000}, "outside"),
        ({"action": "fly"}, "unknown action 'fly'"),
        ({"action": "move", "x": 1, "y": 1, "z": 2}, "unknown field"),
        ({"x": 1}, "must be an object with an 'action' field"),
    ],
)
def test_bad_actions_are_refused(action, message):
    with pytest.raises(InvalidInputError, match=message):
        compile_actions([action], InputState(), SIZE)


def test_a_bad_action_refuses_the_whole_batch_and_keeps_state():
    state = InputState(3, 4)
    with pytest.raises(InvalidInputError, match="action 1"):
        compile_actions([{"action": "move", "x": 9, "y": 9}, {"action": "press", "keys": "zzz"}], state, SIZE)
    assert (state.x, state.y) == (3, 4)


@pytest.mark.parametrize(
    "actions, message",
    [
        ([{"action": "move", "x": 1, "y": 1}] * 1001, r"1001 actions in one batch; the limit is 1000"),
        ([{"action": "type", "text": "a" * 100_001}], r"more than 100000 characters in one batch"),
        ([{"action": "type", "text": "a" * 60_000}] * 2, r"action 1 \(type: more than 100000 characters"),
        ([{"action": "wait", "seconds": 200}], r"seconds=200 is outside 0..60"),
        ([{"action": "wait", "seconds": 10}] * 7, r"pauses 70 s in all .* the limit is 60 s per batch"),
        ([{"action": "type", "text": "abcdefg", "delay": 9}], r"pauses 63 s in all"),
        ([{"action": "press", "keys": "a", "hold": 40}, {"action": "drag", "path": [[0, 0], [5, 5]], "duration": 30}], "pauses 70 s"),
        ([{"action": "drag", "path": [[1, 1]] * 1001}], r"1001 points; the limit is 1000"),
        ([{"action": "scroll", "dy": 1000}] * 300, r"more than 500000 pointer and key events"),
        ([{"action": "press", "keys": "ctrl+0x100000000"}], r"out of range: an X keysym is 0x1..0x1fffffff"),
        ([{"action": "press", "keys": ["u+110000"]}], r"out of range: a code point"),
        ([{"action": "press", "keys": 5}], r"keys must be 'ctrl\+c' or \['ctrl', 'c'\]"),
        ([{"action": "press", "keys": {"a": 1}}], r"keys must be"),
    ],
)
def test_batches_have_limits(actions, message):
    """Every batch is bounded (LIMITS): a request cannot hold a desktop's input for long, nor flood its
    VNC connection. Past a limit it is an InputLimitError (HTTP 413) naming the limit."""
    with pytest.raises(InvalidInputError, match=message):
        compile_actions(actions, InputState(), SIZE)


def test_limit_errors_are_their_own_class():
    with pytest.raises(InputLimitError):
        compile_actions([{"action": "type", "text": "a" * 100_001}], InputState(), SIZE)
    with pytest.raises(InputLimitError):
        compile_actions([{"action": "wait", "seconds": 30}] * 3, InputState(), SIZE)


def test_the_largest_allowed_batch_compiles():
    steps, _ = compile_actions([{"action": "type", "text": "a" * 100_000}], InputState(), SIZE)
    assert len(steps) == 200_000
    steps, _ = compile_actions([{"action": "wait", "seconds": 30}] * 2, InputState(), SIZE)
    assert sum(s[1] for s in steps) == 60


def test_a_line_break_is_one_enter_however_written():
    enter = ("key", 0xFF0D, True)
    for text in ("a\nb", "a\r\nb", "a\rb"):
        steps, _ = compile_actions([{"action": "type", "text": text}], InputState(), SIZE)
        assert steps.count(enter) == 1, text
