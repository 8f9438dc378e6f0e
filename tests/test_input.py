"""Every mouse and keyboard method, checked by the X events it really produced (xev) on a real Xvnc."""

from __future__ import annotations

import pytest

from jupyter_desktop import Desktop, InvalidInputError

from .conftest import Xev, eventually

SHIFT, CONTROL, ALT = 0x1, 0x4, 0x8


def test_move_mouse_and_cursor_position(bare: Desktop, xev: Xev):
    bare.move_mouse(321, 123)
    assert bare.get_cursor_position() == (321, 123)
    motions = xev.wait("MotionNotify", 1)
    assert motions[-1].root == (321, 123)
    # xdotool, outside our process, agrees
    assert "x:321 y:123" in bare.run("xdotool getmouselocation").stdout


@pytest.mark.parametrize(
    "method, button, presses",
    [("left_click", 1, 1), ("right_click", 3, 1), ("middle_click", 2, 1), ("double_click", 1, 2), ("triple_click", 1, 3)],
)
def test_clicks_land_where_asked(bare: Desktop, xev: Xev, method, button, presses):
    getattr(bare, method)(400, 300)
    events = xev.wait("ButtonRelease", presses)
    pressed = xev.events("ButtonPress")
    assert [e.button for e in pressed] == [button] * presses
    assert all(e.root == (400, 300) for e in pressed + events)


def test_click_without_coordinates_uses_pointer(bare: Desktop, xev: Xev):
    bare.move_mouse(222, 111)
    xev.mark()
    bare.left_click()
    press = xev.wait("ButtonPress", 1)[0]
    assert press.root == (222, 111) and press.button == 1


def test_click_with_modifiers(bare: Desktop, xev: Xev):
    bare.left_click(50, 60, modifiers="ctrl+shift")
    press = xev.wait("ButtonPress", 1)[0]
    assert press.state & (CONTROL | SHIFT) == CONTROL | SHIFT
    xev.wait("KeyRelease", 2)  # modifiers released again
    assert [e.keysym for e in xev.events("KeyPress")] == ["Control_L", "Shift_L"]


def test_mouse_press_release_and_drag(bare: Desktop, xev: Xev):
    bare.mouse_press("left", 100, 100)
    bare.move_mouse(150, 120)
    bare.mouse_release("left")
    press, release = xev.wait("ButtonPress", 1)[0], xev.wait("ButtonRelease", 1)[0]
    assert press.root == (100, 100) and release.root == (150, 120)
    motion = [e for e in xev.events("MotionNotify") if e.root == (150, 120)]
    assert motion and motion[-1].state & 0x100  # Button1Mask held while moving

    xev.mark()
    bare.drag((10, 10), (200, 50), (300, 300), duration=0.1)
    release = xev.wait("ButtonRelease", 1)[0]
    assert xev.events("ButtonPress")[0].root == (10, 10)
    assert release.root == (300, 300)
    roots = [e.root for e in xev.events("MotionNotify")]
    assert (200, 50) in roots and len(roots) >= 10  # passes through the middle point, in small steps


def test_scroll_all_directions(bare: Desktop, xev: Xev):
    bare.scroll(0, 3, 500, 400)  # down
    bare.scroll(0, -2)  # up, where the pointer is
    bare.scroll(1, 0)  # right
    bare.scroll("left", 2)  # E2B's form
    events = xev.wait("ButtonPress", 8)
    assert [e.button for e in events] == [5, 5, 5, 4, 4, 7, 6, 6]
    assert all(e.root == (500, 400) for e in events)


def test_scroll_with_modifier(bare: Desktop, xev: Xev):
    bare.scroll(0, 1, 10, 10, modifiers=["ctrl"])
    assert xev.wait("ButtonPress", 1)[0].state & CONTROL


def test_press_chords_and_raw_keysyms(bare: Desktop, xev: Xev):
    bare.press("ctrl+shift+t")
    bare.press(["alt", "F4"])
    bare.press("Return")
    bare.press("XF86AudioMute")
    bare.press("pgdn esc")
    events = xev.wait("KeyPress", 9)
    assert [e.keysym for e in events] == [
        "Control_L", "Shift_L", "T",
        "Alt_L", "F4",
        "Return",
        "XF86AudioMute",
        "Next", "Escape",
    ]  # fmt: skip
    t = events[2]
    assert t.state & (CONTROL | SHIFT) == CONTROL | SHIFT
    releases = xev.wait("KeyRelease", 9)
    assert [e.keysym for e in releases][:3] == ["T", "Shift_L", "Control_L"]  # released in reverse


def test_key_down_up_hold(bare: Desktop, xev: Xev):
    bare.key_down("shift")
    bare.press("a")
    bare.key_up("shift")
    events = xev.wait("KeyRelease", 2)
    assert [e.keysym for e in xev.events("KeyPress")] == ["Shift_L", "A"]
    assert [e.keysym for e in events] == ["A", "Shift_L"]


def test_write_types_exact_text(bare: Desktop, xev: Xev):
    bare.write("Hi 5!\n")
    # all of it arrived once the last key is released (shifted keys add Shift presses and releases)
    xev.wait_for(lambda e: e.kind == "KeyRelease" and e.keysym == "Return", "the final Return released")
    presses = [e.keysym for e in xev.events("KeyPress") if e.keysym not in ("Shift_L", "Shift_R")]
    assert presses == ["H", "i", "space", "5", "exclam", "Return"]
    releases = [e.keysym for e in xev.events("KeyRelease") if e.keysym not in ("Shift_L", "Shift_R")]
    assert releases == presses  # each key released, none left held


def test_bad_input_is_refused_before_anything_is_sent(bare: Desktop, xev: Xev):
    w, h = bare.get_screen_size()
    with pytest.raises(InvalidInputError, match=rf"off the {w}x{h} screen"):
        bare.left_click(w, 10)
    with pytest.raises(InvalidInputError, match="Did you mean 'Return'"):
        bare.press("Retrun")
    with pytest.raises(InvalidInputError, match="give both x and y"):
        bare.left_click(10)
    with pytest.raises(InvalidInputError, match="button must be one of"):
        bare.mouse_press("fourth")
    # a batch with one bad action sends nothing at all
    with pytest.raises(InvalidInputError, match="action 1"):
        bare.perform([{"action": "type", "text": "abc"}, {"action": "press", "keys": "nosuchkey"}])
    with pytest.raises(InvalidInputError, match="unknown action"):
        bare.perform([{"action": "teleport"}])
    bare.move_mouse(5, 5)  # something that does arrive, to know the others did not
    eventually(lambda: any(e.root == (5, 5) for e in xev.events("MotionNotify")), what="marker motion")
    assert not xev.events("KeyPress", "ButtonPress")


def test_perform_batch(bare: Desktop, xev: Xev):
    bare.perform(
        [
            {"action": "move", "x": 30, "y": 40},
            {"action": "click", "button": "right"},
            {"action": "wait", "seconds": 0.05},
            {"action": "press", "keys": "space"},
        ]
    )
    press = xev.wait("ButtonPress", 1)[0]
    assert press.root == (30, 40) and press.button == 3
    assert xev.wait("KeyPress", 1)[0].keysym == "space"


def test_scaled_coordinates_map_back(bare: Desktop, xev: Xev):
    small = bare.screenshot(scale=0.5)
    w, h = bare.get_screen_size()
    assert small.size == (w // 2, h // 2)
    bare.left_click(100, 50)  # in the half-size screenshot's pixels
    press = xev.wait("ButtonPress", 1)[0]
    assert press.root == (201, 101)
    assert bare.get_cursor_position() == (100, 50)
    with pytest.raises(InvalidInputError, match="off the 640x400 screenshot"):
        bare.left_click(700, 10)
    sized = bare.screenshot(scale=(320, 200))  # an explicit size works the same way
    assert sized.size == (320, 200)
    xev.mark()
    bare.left_click(10, 10)
    assert xev.wait("ButtonPress", 1)[0].root == (42, 42)
    bare.screenshot(region=(0, 0, 10, 10))  # a region screenshot leaves the mapping alone
    assert bare.get_cursor_position() == (10, 10)
    bare.screenshot(scale=(1000, 625))  # 1.28 screen pixels per unit: (1, 1) is screen (1, 1), whose corner is 0.78
    xev.mark()
    bare.left_click(1, 1)
    assert xev.wait("ButtonPress", 1)[0].root == (1, 1)
    assert bare.get_cursor_position() == (1, 1)
    bare.screenshot()  # a full-size screenshot returns to screen pixels
    xev.mark()
    bare.left_click(700, 10)
    assert xev.wait("ButtonPress", 1)[0].root == (700, 10)
