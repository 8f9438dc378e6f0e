"""InputLog: a viewer's RFB input decoded into actions of the vocabulary, coalesced as a person means them.

Round trips first: actions compiled by ``actions.compile_actions`` into the events our client sends, encoded as
the client messages a viewer sends (after its handshake), fed one message at a time on a fake clock, must come
back as the same actions. Then a real one: our RFBClient as a viewer of a real Xvnc, its bytes teed into the
decoder through a socket proxy; replaying the decoded actions must make the same X events (xev) as the input.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import struct
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from jupyter_desktop import Desktop, actions, keys
from jupyter_desktop._keysyms import KEYSYMS
from jupyter_desktop.rfb import RFBClient
from jupyter_desktop.rfb import clipboard
from jupyter_desktop.rfb.input_log import InputLog, chord_name

from .conftest import Xev, run_async

SIZE = (1280, 800)
# What a viewer sends before its first input: version, security None, ClientInit (shared), then its set-up.
HANDSHAKE = (
    b"RFB 003.008\n"
    + b"\x01"
    + b"\x01"
    + struct.pack(">B3xBBBBHHHBBB3x", 0, 32, 24, 0, 1, 255, 255, 255, 16, 8, 0)  # SetPixelFormat
    + struct.pack(">BxH3i", 2, 3, 0, -239, -308)  # SetEncodings
    + struct.pack(">BBHHHH", 3, 0, 0, 0, *SIZE)  # FramebufferUpdateRequest
)


def pointer(x: int, y: int, mask: int) -> bytes:
    return struct.pack(">BBHH", 5, mask, x, y)


def key(sym: int, down: bool) -> bytes:
    return struct.pack(">BBxxI", 4, int(down), sym)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_log(clock: Clock | None = None, **options: Any) -> tuple[InputLog, list[tuple[dict, float]]]:
    got: list[tuple[dict, float]] = []
    log = InputLog(lambda a, t: got.append((a, t)), clock=clock or Clock(), **options)
    log.feed(HANDSHAKE)
    return log, got


def replay_steps(log: InputLog, clock: Clock, steps: list, tick: float = 0.001) -> None:
    """Feed compiled steps as wire messages, one a feed, ``tick`` seconds apart (sleeps as they say)."""
    for step in steps:
        if step[0] == "sleep":
            clock.now += step[1]
            continue
        clock.now += tick
        log.feed(pointer(*step[1:]) if step[0] == "pointer" else key(step[1], step[2]))


def decode(batch: list[dict], **options: Any) -> list[dict]:
    """Compile the batch, with a 3 s wait between its actions (so that no two join), and decode it back."""
    spaced: list[dict] = []
    for a in batch:
        spaced += [a, {"action": "wait", "seconds": 3}]
    steps, _ = actions.compile_actions(spaced, actions.InputState(640, 400), SIZE)
    clock = Clock()
    log, got = make_log(clock, **options)
    replay_steps(log, clock, steps)
    log.flush()
    assert not log.opaque and log.ignored == 0
    return [a for a, _ in got]


def click(x, y, button="left", count=1, modifiers=()):
    return {"action": "click", "x": x, "y": y, "button": button, "count": count, "modifiers": list(modifiers)}


def scroll(dx, dy, x, y, modifiers=()):
    return {"action": "scroll", "dx": dx, "dy": dy, "x": x, "y": y, "modifiers": list(modifiers)}


def press(k):
    return {"action": "press", "keys": k}


def type_(text):
    return {"action": "type", "text": text}


@pytest.mark.parametrize(
    "batch",
    [
        [click(100, 200)],
        [click(100, 200, count=2)],
        [click(5, 6, count=3)],
        [click(400, 300, "right", modifiers=["ctrl"])],
        [click(10, 20, "middle", modifiers=["ctrl", "shift"])],
        [scroll(0, -3, 50, 60)],
        [scroll(2, 0, 50, 60, ["shift"])],
        [type_("Hello, World!\n")],
        [type_("a\tb ~é€ü")],
        [press("ctrl+shift+t")],
        [press("ctrl+shift+1")],
        [press("ctrl+plus")],
        [press("ctrl+c")],
        [press("alt+F4")],
        [press("shift+Tab")],
        [press("Escape")],
        [press("Return")],
        [press("F5")],
        [press("BackSpace BackSpace BackSpace")],
        [press("Down Down")],
        [press("super")],
        [press("ctrl+alt")],
        [press("KP_1")],
        [{"action": "move", "x": 700, "y": 10}],
        # several at once, in order
        [
            click(100, 100),
            type_("ls -l\n"),
            press("ctrl+c"),
            scroll(0, 4, 300, 300),
            click(300, 300, "right"),
            press("Escape"),
            type_("Tab\tand more"),
        ],
    ],
    ids=lambda b: " ; ".join(f"{a['action']} {a.get('keys') or a.get('text') or a.get('count') or ''}" for a in b),
)
def test_round_trip(batch):
    assert decode(batch) == batch


def test_round_trip_drag_keeps_its_shape():
    path = [[10, 10], [200, 50], [300, 300], [40, 280]]
    (drag,) = decode([{"action": "drag", "path": path, "duration": 0.3, "modifiers": ["shift"]}])
    assert drag["path"] == path  # the corners, and no point on the straight lines between them
    assert drag["button"] == "left" and drag["modifiers"] == ["shift"]
    assert drag["duration"] == pytest.approx(0.3, abs=0.2)
    (drag,) = decode([{"action": "drag", "path": [[600, 400], [601, 420]], "button": "right", "duration": 0}])
    assert drag["path"] == [[600, 400], [601, 420]] and drag["button"] == "right"


def test_actions_without_pauses_between():
    """Back to back: text ends at a click, a click at the next press elsewhere, a scroll at a key."""
    batch = [type_("abc"), click(10, 10), click(200, 10), scroll(0, 2, 200, 10), press("Escape"), type_("x")]
    steps, _ = actions.compile_actions(batch, actions.InputState(), SIZE)
    clock = Clock()
    log, got = make_log(clock)
    replay_steps(log, clock, steps)
    log.flush()
    assert [a for a, _ in got] == batch


def test_timing_clicks_text_and_began():
    clock = Clock()
    log, got = make_log(clock, double_click=0.5, pause=1.0)
    t0 = clock.now
    for mask in (0, 1, 0):
        log.feed(pointer(50, 50, mask))
    assert got == []  # a second press could still make it a double click
    clock.now += 0.3
    log.poll()
    assert got == []
    clock.now += 0.3
    log.poll()
    assert got == [(click(50, 50), t0)]
    # a double click: the second press within the interval, a few pixels off
    for x, mask in ((50, 1), (50, 0)):
        log.feed(pointer(x, 50, mask))
    clock.now += 0.4
    for x, mask in ((52, 1), (52, 0)):
        log.feed(pointer(x, 49, mask))
    clock.now += 0.6
    log.poll()
    assert got[-1][0] == click(50, 50, count=2)
    # too slow: two clicks
    for _ in range(2):
        log.feed(pointer(50, 50, 1))
        log.feed(pointer(50, 50, 0))
        clock.now += 0.6
    log.poll()
    assert [a for a, _ in got[-2:]] == [click(50, 50), click(50, 50)]
    # text: split by a pause, and by moving the pointer away between keys
    got.clear()
    began = clock.now
    for ch in "ab":
        log.feed(key(ord(ch), True) + key(ord(ch), False))
    clock.now += 1.5
    log.feed(key(ord("c"), True))
    log.feed(pointer(600, 600, 0))
    log.feed(pointer(400, 300, 0))
    log.feed(key(ord("d"), True))
    log.flush()
    assert got == [(type_("ab"), began), (type_("c"), began + 1.5), ({"action": "move", "x": 400, "y": 300}, began + 1.5), (type_("d"), began + 1.5)]


def test_jiggle_and_hover():
    clock = Clock()
    log, got = make_log(clock)
    log.feed(pointer(100, 100, 1) + pointer(100, 100, 0))
    log.feed(pointer(103, 101, 0))  # within slop of the click: no move, and still a double click's place
    log.feed(key(ord("a"), True))
    log.feed(pointer(104, 102, 0))
    log.feed(key(ord("b"), True))
    log.feed(pointer(900, 500, 0) + pointer(901, 500, 0))  # hover to rest, then the end
    log.flush()
    assert [a for a, _ in got] == [click(100, 100), type_("ab"), {"action": "move", "x": 901, "y": 500}]


def test_several_buttons_and_wheel_while_held_are_told_as_they_happened():
    log, got = make_log()
    log.feed(pointer(10, 10, 1) + pointer(60, 10, 1) + pointer(60, 10, 5) + pointer(70, 10, 4) + pointer(70, 10, 0))
    log.feed(pointer(200, 200, 1) + pointer(200, 200, 1 | 16) + pointer(200, 200, 1) + pointer(200, 200, 0))
    log.feed(pointer(5, 5, 4))  # pressed, never released...
    log.flush()
    assert [a for a, _ in got] == [
        {"action": "mouse_down", "x": 10, "y": 10, "button": "left"},
        {"action": "move", "x": 60, "y": 10},
        {"action": "mouse_down", "x": 60, "y": 10, "button": "right"},
        {"action": "mouse_up", "x": 70, "y": 10, "button": "left"},
        {"action": "mouse_up", "x": 70, "y": 10, "button": "right"},
        {"action": "mouse_down", "x": 200, "y": 200, "button": "left"},
        scroll(0, 1, 200, 200),
        {"action": "mouse_up", "x": 200, "y": 200, "button": "left"},
        {"action": "mouse_down", "x": 5, "y": 5, "button": "right"},  # ...but flush tells it held
    ]
    log, got = make_log()
    log.feed(pointer(5, 5, 2))
    log.feed(b"")
    log.feed(pointer(5, 5, 0)[:3])
    log.feed(pointer(5, 5, 0)[3:])
    log.flush()
    assert [a for a, _ in got] == [click(5, 5, "middle")]
    log, got = make_log()
    log.feed(pointer(7, 7, 2))
    log.feed(key(KEYSYMS["Escape"], True))  # a key while the button is down
    log.feed(pointer(7, 7, 0))
    log.flush()
    assert [a for a, _ in got] == [
        {"action": "mouse_down", "x": 7, "y": 7, "button": "middle"},
        press("Escape"),
        {"action": "mouse_up", "x": 7, "y": 7, "button": "middle"},
    ]


def test_modifiers_held_across_keys_and_caps():
    """Shift held across capitals, ctrl held across two chords: the characters and the chords as meant."""
    log, got = make_log()
    shift, ctrl = KEYSYMS["Shift_L"], KEYSYMS["Control_L"]
    log.feed(key(shift, True) + key(ord("H"), True) + key(ord("H"), False) + key(ord("I"), True) + key(shift, False))
    log.feed(key(ord("!"), True))  # caps lock / another layout: "!" without shift is still "!"
    log.feed(key(ctrl, True) + key(ord("a"), True) + key(ord("a"), False) + key(ord("c"), True) + key(ctrl, False))
    log.feed(key(ctrl, True) + key(ctrl, True) + key(ctrl, False))  # a repeat of a modifier, then a tap
    log.feed(key(shift, True) + pointer(3, 3, 8) + pointer(3, 3, 0) + key(shift, False))
    log.feed(key(ord("z"), False))  # a release alone: nothing
    log.flush()
    assert [a for a, _ in got] == [
        type_("HI!"),
        press("ctrl+a"),
        press("ctrl+c"),
        press("ctrl"),
        scroll(0, -1, 3, 3, ["shift"]),
    ]


def test_qemu_extended_keys_and_clipboard():
    pasted: list[tuple[str, float]] = []
    clock = Clock()
    got: list[dict] = []
    log = InputLog(lambda a, t: got.append(a), clock=clock, on_clipboard=lambda text, t: pasted.append((text, t)))
    log.feed(HANDSHAKE)
    qemu = lambda sym, down: struct.pack(">BBHII", 255, 0, int(down), sym, 30)  # noqa: E731 (noVNC to TigerVNC)
    log.feed(qemu(ord("q"), True) + qemu(ord("q"), False) + qemu(0, True))
    log.feed(struct.pack(">B3xI", 6, 5) + b"caf\xe9!")  # Latin-1
    log.feed(clipboard.message(clipboard.provide("snow ☃\nman")))  # extended, UTF-8
    log.feed(clipboard.message(struct.pack(">I", clipboard.NOTIFY | clipboard.TEXT)))  # no text in it
    log.feed(clipboard.message(struct.pack(">I", clipboard.PROVIDE | clipboard.TEXT) + b"not zlib"))
    log.flush()
    assert got == [type_("q")]
    assert pasted == [("café!", clock.now), ("snow ☃\nman", clock.now)] and log.clipboard == "snow ☃\nman"
    assert log.ignored == 2  # keysym 0, the corrupt paste
    assert not log.opaque


def test_limits_keep_memory_bounded():
    log, got = make_log(max_text=50, max_path=20)
    log.feed(pointer(0, 0, 1))
    for i in range(20000):  # a long wiggly drag
        log.feed(pointer(i % 1000, (i * 7) % 700, 1))
        assert len(log._gesture.points) <= 80  # type: ignore[union-attr]
    log.feed(pointer(999, 699, 0))
    text = "".join(random.Random(1).choice("abcdefgh ") for _ in range(1234))
    for ch in text:
        log.feed(key(ord(ch), True) + key(ord(ch), False))
    for _ in range(500):
        log.feed(key(KEYSYMS["Down"], True))
    log.flush()
    drag = got[0][0]
    assert drag["action"] == "drag" and 2 <= len(drag["path"]) <= 20 and drag["path"][0] == [0, 0] and drag["path"][-1] == [999, 699]
    typed = [a["text"] for a, _ in got if a["action"] == "type"]
    assert "".join(typed) == text and max(map(len, typed)) == 50
    downs = [a["keys"].split() for a, _ in got if a["action"] == "press"]
    assert sum(map(len, downs)) == 500 and all(len(" ".join(d)) <= 50 for d in downs)
    actions.compile_actions([a for a, _ in got], actions.InputState(), (1000, 700))  # all valid


def test_a_huge_paste_passes_unread():
    kinds: list[str] = []
    log, got = make_log(max_paste=1000, on_input=kinds.append)
    log.feed(struct.pack(">B3xI", 6, 10_000_000))
    for _ in range(100):
        log.feed(b"x" * 100_000)
        assert len(log.buffer) < 100
    log.feed(key(ord("k"), True))
    log.flush()
    assert [a for a, _ in got] == [type_("k")] and log.clipboard is None and log.ignored == 1
    assert kinds == ["clipboard", "key"] and not log.opaque


def test_opaque_stream_is_reported_not_raised():
    kinds: list[str] = []
    got: list[dict] = []
    log = InputLog(lambda a, t: got.append(a), on_input=kinds.append)
    log.feed(HANDSHAKE + key(ord("x"), True) + pointer(1, 1, 0))
    log.feed(b"\x99garbage")
    log.feed(key(ord("y"), True))  # no longer read
    assert log.opaque and got == [type_("x"), {"action": "move", "x": 1, "y": 1}]  # what was open, handed over
    assert kinds == ["key", "pointer", "opaque", "opaque"]
    log = InputLog(lambda a, t: got.append(a))
    log.feed(b"GET / HTTP/1.1\r\n\r\n")
    assert log.opaque


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.lists(st.integers(1, 40), max_size=20), st.booleans())
def test_garbage_never_raises_and_what_comes_out_is_valid(data, cuts, handshake):
    """Random bytes, cut anywhere, after a handshake or without: no exception; every action compiles."""
    got: list[dict] = []
    log = InputLog(lambda a, t: got.append(a), clock=Clock())
    stream = (HANDSHAKE if handshake else b"") + data
    at = 0
    for n in cuts:
        log.feed(stream[at : at + n])
        at += n
    log.feed(stream[at:])
    log.poll()
    log.flush()
    actions.compile_actions(got, actions.InputState(), (65536, 65536))


message = st.one_of(
    st.builds(pointer, st.integers(0, 300), st.integers(0, 300), st.sampled_from([0, 0, 0, 1, 1, 2, 4, 5, 8, 16, 32, 64, 128])),
    st.builds(
        key,
        st.sampled_from([*map(ord, "aZ !+\t"), *(KEYSYMS[n] for n in ("Shift_L", "Control_L", "Alt_R", "Return", "Tab", "Escape", "Left", "ISO_Level3_Shift", "KP_Enter")), 0x10020AC, 0xFFFFFFFF]),
        st.booleans(),
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(message, st.sampled_from([0.0, 0.01, 0.3, 2.0])), max_size=60))
# found by a full run: the pointer at rest, then Shift tapped: the move came after the tap that began later
@example([(pointer(0, 0, 0), 0.0), (pointer(0, 0, 0), 0.0), (key(ord("a"), False), 0.0),
          (key(KEYSYMS["Shift_L"], True), 0.01), (key(KEYSYMS["Shift_L"], False), 0.0)])  # fmt: skip
def test_random_input_decodes_to_valid_actions_in_time_order(messages):
    clock = Clock()
    got: list[tuple[dict, float]] = []
    log = InputLog(lambda a, t: got.append((a, t)), clock=clock)
    log.feed(HANDSHAKE)
    for data, wait in messages:
        clock.now += wait
        log.feed(data)
    log.flush()
    actions.compile_actions([a for a, _ in got], actions.InputState(), (400, 400))
    times = [t for _, t in got]
    assert times == sorted(times)


def test_every_named_key_reads_back():
    """chord_name names any keysym, alone or under any modifier, so that keys.parse_keys gives it back."""
    held_sets = [[], [KEYSYMS["Control_L"]], [KEYSYMS["Shift_L"]], [KEYSYMS["Control_L"], KEYSYMS["Shift_R"]], [KEYSYMS["Super_L"], KEYSYMS["ISO_Level3_Shift"]]]
    syms = [*KEYSYMS.values(), *range(0x20, 0x100), 0x1000263A, 0x0100E000, 0x01000041, 0x1FFFFFFF]
    for held in held_sets:
        for sym in syms:
            assert keys.parse_keys(chord_name(held, sym)) == [[*held, sym]], (held, hex(sym))


# ---------------------------------------------------------------------- a real viewer on a real desktop


@contextlib.asynccontextmanager
async def teed_viewer(target: str, tmp_path: Path, log: InputLog):
    """Our RFBClient as a viewer, through a unix-socket proxy that feeds what it sends into ``log`` (what the
    server's WebSocket proxy will do)."""
    path = str(tmp_path / "tee.sock")
    tasks: list[asyncio.Task] = []

    async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, tee: bool) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                if tee:
                    log.feed(data)
                writer.write(data)
                await writer.drain()
        writer.close()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_unix_connection(target)
        tasks.append(asyncio.current_task())  # type: ignore[arg-type]
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(pump(reader, up_writer, True), pump(up_reader, writer, False))

    server = await asyncio.start_unix_server(serve, path)
    client = await RFBClient.open(path, timeout=30)
    try:
        yield client
    finally:
        await client.close()
        server.close()
        for task in tasks:
            task.cancel()


def x_input(xev: Xev) -> list[tuple]:
    """The button and key events xev saw: kind, button or keysym, where (buttons), modifier/button state."""
    out = []
    for e in xev.events("ButtonPress", "ButtonRelease", "KeyPress", "KeyRelease"):
        if e.kind.startswith("Button"):
            out.append((e.kind, e.button, e.root, e.state))
        else:
            out.append((e.kind, e.keysym, e.state))
    return out


def test_real_viewer_input_decodes_and_replays_the_same(bare: Desktop, xev: Xev, tmp_path: Path):
    got: list[tuple[dict, float]] = []
    # generous windows: a loaded machine may stretch the pauses between the messages of one action
    log = InputLog(lambda a, t: got.append((a, t)), clock=time.monotonic, double_click=1.0, pause=3.0)
    shift, ctrl = KEYSYMS["Shift_L"], KEYSYMS["Control_L"]
    key_ups = 0

    async def person() -> None:
        async with teed_viewer(bare._session.desktop.endpoint.path, tmp_path, log) as v:

            async def send(*events: tuple, pause: float = 0.0) -> None:
                nonlocal key_ups
                for e in events:
                    if len(e) == 3:
                        v.pointer_event(*e)
                    else:
                        v.key_event(*e)
                        key_ups += not e[1]
                    await v.flush()
                    await asyncio.sleep(0.005)
                await asyncio.sleep(pause)

            await send((300, 200, 0), (305, 210, 0), (310, 220, 0), (310, 220, 1), (310, 220, 0), pause=0.7)  # a click
            await send((400, 250, 1), (400, 250, 0), pause=0.1)  # a double click
            await send((400, 250, 1), (400, 250, 0), pause=0.7)
            await send((ctrl, True), (500, 300, 0), (500, 300, 4), (500, 300, 0), (ctrl, False), pause=0.7)  # ctrl+right
            drag = [(100 + 5 * i, 100 + (i if i < 20 else 20 + 8 * (i - 20)), 1) for i in range(40)]
            await send((100, 100, 0), *drag, (drag[-1][0], drag[-1][1], 0), pause=0.7)  # a drag with a corner
            await send(*[(600, 400, m) for m in (16, 0, 16, 0, 16, 0)], pause=0.7)  # three notches down
            for ch in "Hi there!":
                sym = ord(ch)
                if keys.needs_shift(ch):
                    await send((shift, True), (sym, True), (sym, False), (shift, False))
                else:
                    await send((sym, True), (sym, False))
            await send((KEYSYMS["Return"], True), (KEYSYMS["Return"], False), pause=1.2)
            await send((ctrl, True), (shift, True), (ord("T"), True), (ord("T"), False), (shift, False), (ctrl, False))
            await send((KEYSYMS["Escape"], True), (KEYSYMS["Escape"], False))
            await send((640, 400, 0), (650, 410, 0))
            await v.sync()

    run_async(person(), timeout=120)
    log.flush()
    decoded = [a for a, _ in got]
    assert decoded[:3] == [click(310, 220), click(400, 250, count=2), click(500, 300, "right", modifiers=["ctrl"])]
    drag = decoded[3]
    assert drag["action"] == "drag" and drag["path"] == [[100, 100], [200, 120], [295, 272]] and drag["button"] == "left"
    assert decoded[4:] == [
        scroll(0, 3, 600, 400),
        type_("Hi there!\n"),
        press("ctrl+shift+t"),
        press("Escape"),
        {"action": "move", "x": 650, "y": 410},
    ]
    times = [t for _, t in got]
    assert times == sorted(times) and times[-1] - times[0] > 4

    xev.wait("KeyRelease", key_ups)  # every key the person let go
    original = x_input(xev)
    assert len(original) == 16 + 2 * key_ups  # 8 button presses and releases (scroll notches too), every key
    xev.mark()
    bare.perform(decoded)
    xev.wait("KeyRelease", len([e for e in original if e[0] == "KeyRelease"]))
    replayed = x_input(xev)
    assert replayed == original
    # and the drag's motion went along the same shape, with the button held
    moves = [e.root for e in xev.events("MotionNotify") if e.state & 0x100]
    assert (200, 120) in moves and moves[-1] == (295, 272)
