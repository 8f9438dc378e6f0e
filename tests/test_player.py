"""The trajectory player's kernel side (jupyter_desktop/player.py) on a trajectory recorded on a real desktop: the
steps it gives the view, the screenshots and the video it sends when the view asks (byte for byte the files), what it
refuses (names not of the steps, paths out of the folder, unknown messages, bad offsets), its limits (each named), and
``Trajectory`` displayed as the player. The view's side: js/test/player.test.js and tests/browser/test_player_lab.py.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from jupyter_desktop import Desktop, Trajectory
from jupyter_desktop import player as player_module
from jupyter_desktop.player import CHUNK, MAX_VIDEO_BYTES, TrajectoryPlayer

from .harness.bundles import STATIC, css_selectors

CLICK = (300, 120)  # inside the xterm (term: 70x12 at +20+20)


@pytest.fixture(scope="module")
def recorded(desk: Desktop, tmp_path_factory) -> Path:  # noqa: F811
    """A short trajectory: a click, some typing, a key, with periodic screens and a video."""
    title = "player-term"
    process = desk.launch(["xterm", "-fa", "Monospace", "-fs", "16", "-geometry", "70x12+20+20", "-T", title, "-e", "bash", "--norc", "--noprofile"])
    try:
        desk.activate_window(desk.wait_for_window(title))
        desk.wait_until_stable(timeout=10, quiet=0.3)
        folder = tmp_path_factory.mktemp("player") / "run"
        with desk.record(folder, every=0.5):
            desk.left_click(*CLICK)
            desk.write("echo player-42")
            desk.press("enter")
            desk.wait_until_stable(timeout=10, quiet=0.5)
    finally:
        process.kill()
        process.wait(10)
    return folder


def talk(player: TrajectoryPlayer, content: object) -> tuple[dict, list[bytes]]:
    """One message from the view, through the widget's comm handler; the one answer it sends back."""
    sent: list[tuple[dict, list[bytes]]] = []
    player.send = lambda content, buffers=None: sent.append((content, list(buffers or [])))  # type: ignore[method-assign]
    player._on_message(player, content, [])
    assert len(sent) == 1, sent
    return sent[0]


def test_steps_and_video_go_to_the_view(recorded: Path) -> None:
    t = Trajectory(recorded)
    p = t.player()
    agent = [s for s in t.steps if s.source == "agent"]
    assert [s.actions[0]["action"] for s in agent] == ["click", "type", "press"]
    assert p.steps == [s.to_dict() for s in t.steps]
    assert p.total_steps == len(t.steps) and p.first == 0 and p.note == ""
    assert (p.screen_width, p.screen_height) == (1280, 800)
    video = recorded / "video.mp4"
    assert p.videos == [
        {
            "file": "video.mp4",
            "path": str(video.resolve()),
            "start": 0.0,
            "end": t.meta["video"]["segments"][0]["end"],
            "bytes": video.stat().st_size,
            "width": 1280,
            "height": 800,
            "playable": True,
        }
    ]
    assert p.max_video_bytes == MAX_VIDEO_BYTES and p.chunk == CHUNK and p.video_error == ""


def test_screens_are_the_files(recorded: Path) -> None:
    t = Trajectory(recorded)
    p = t.player()
    names = {n for s in t.steps for n in (s.before, s.after) if n}
    assert len(names) >= 2
    for n, name in enumerate(sorted(names)):
        reply, buffers = talk(p, {"type": "screen", "id": f"v{n}", "name": name})
        assert reply == {"type": "screen", "id": f"v{n}", "name": name, "bytes": (recorded / name).stat().st_size}
        assert buffers == [(recorded / name).read_bytes()]
        assert buffers[0].startswith(b"\x89PNG")


def test_video_in_chunks_is_the_file(recorded: Path, monkeypatch) -> None:
    monkeypatch.setattr(player_module, "CHUNK", 8192)  # several chunks of a short video
    p = Trajectory(recorded).player()
    data = (recorded / "video.mp4").read_bytes()
    got = b""
    replies = []
    while True:
        reply, buffers = talk(p, {"type": "video", "id": "v", "segment": 0, "offset": len(got)})
        assert "error" not in reply, reply
        assert reply["offset"] == len(got) and reply["size"] == len(data) and reply["bytes"] == len(buffers[0])
        got += buffers[0]
        replies.append(reply)
        if reply["done"]:
            break
        assert len(replies) < 10_000
    assert got == data
    assert len(replies) == math.ceil(len(data) / 8192) > 1
    assert not any(r["done"] for r in replies[:-1])


@pytest.mark.parametrize(
    "content, error",
    [
        ({"type": "screen", "name": "../meta.json"}, "not a screenshot of the steps shown"),
        ({"type": "screen", "name": "/etc/passwd"}, "not a screenshot of the steps shown"),
        ({"type": "screen", "name": "screens/../meta.json"}, "not a screenshot of the steps shown"),
        ({"type": "screen", "name": "x" * 400}, "at most 300 characters"),
        ({"type": "screen", "name": 7}, "must be a screenshot name"),
        ({"type": "screen"}, "must be a screenshot name"),
        ({"type": "video", "segment": 1, "offset": 0}, "segment must be a video segment's index in 0..0"),
        ({"type": "video", "segment": True, "offset": 0}, "segment must be"),
        ({"type": "video", "segment": 0, "offset": -1}, "offset must be a byte offset"),
        ({"type": "video", "segment": 0, "offset": 1 << 40}, "offset must be a byte offset"),
        ({"type": "video", "segment": 0, "offset": "0"}, "offset must be a byte offset"),
        ({"type": "read", "path": "/etc/passwd"}, "unknown message type 'read'; the player answers screen, video"),
        ({"name": "screens/x.png"}, "unknown message type None"),
    ],
)
def test_refused(recorded: Path, content: dict, error: str) -> None:
    p = Trajectory(recorded).player()
    reply, buffers = talk(p, {**content, "id": "v1"})
    assert buffers == []
    assert error in reply["error"], reply
    assert reply["id"] == "v1"
    assert reply["type"] == (content.get("type") if content.get("type") in ("screen", "video") else "error")


def test_not_a_dict_is_refused(recorded: Path) -> None:
    p = Trajectory(recorded).player()
    assert talk(p, ["screen"]) == ({"type": "error", "error": "unknown message type None; the player answers screen, video"}, [])


def write_steps(folder: Path, steps: list[dict]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "trajectory.jsonl", "w") as f:
        for i, step in enumerate(steps):
            f.write(json.dumps({"step": i, "time": 1e9 + i, "t": float(i), "source": "agent", "actions": [], **step}) + "\n")


def test_only_the_folders_screens_even_when_a_step_names_another_file(tmp_path: Path) -> None:
    """A trajectory.jsonl edited by hand (or by a bug) cannot make the player read outside screens/."""
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"\x89PNG secret")
    folder = tmp_path / "run"
    (folder / "screens").mkdir(parents=True)
    (folder / "screens" / "ok.png").write_bytes(b"\x89PNG ok")
    (folder / "meta.png").write_bytes(b"\x89PNG not a screen")
    write_steps(
        folder,
        [
            {"before": "../secret.png", "after": "screens/../../secret.png"},
            {"before": "meta.png", "after": str(secret)},
            {"before": "screens/ok.png", "after": "screens/gone.png"},
        ],
    )
    p = Trajectory(folder).player()
    for name in ("../secret.png", "screens/../../secret.png", "meta.png", str(secret)):
        reply, buffers = talk(p, {"type": "screen", "id": 1, "name": name})
        assert buffers == [] and "not in the recording's screens/ folder" in reply["error"], reply
    assert talk(p, {"type": "screen", "id": 1, "name": "screens/ok.png"})[1] == [b"\x89PNG ok"]
    reply, buffers = talk(p, {"type": "screen", "id": 1, "name": "screens/gone.png"})
    assert buffers == [] and reply["error"] == f"the screenshot screens/gone.png is missing from {folder.resolve()}"
    # no video: said, and a request for one is refused
    assert p.videos == [] and p.video_error == "no video in this recording"
    assert talk(p, {"type": "video", "segment": 0, "offset": 0})[0]["error"] == "this recording has no video"


def test_limits_are_named(recorded: Path, tmp_path: Path, monkeypatch) -> None:
    t = Trajectory(recorded)
    n = len(t.steps)
    assert n >= 3
    monkeypatch.setattr(player_module, "MAX_STEPS", 2)
    p = t.player()
    assert len(p.steps) == 2 and p.total_steps == n
    assert p.note == (
        f"showing steps 0..1 of {n}: the player shows at most the first 2 steps (MAX_STEPS); "
        "see the rest with Trajectory.player(first=2)"
    )
    later = t.player(first=2)
    assert [s["step"] for s in later.steps] == list(range(2, min(n, 4))) and later.first == 2
    # only the names of the steps shown are served
    cut = tmp_path / "cut"
    (cut / "screens").mkdir(parents=True)
    for i in range(3):
        (cut / "screens" / f"{i}.png").write_bytes(b"\x89PNG %d" % i)
    write_steps(cut, [{"before": f"screens/{i}.png"} for i in range(3)])
    shown = Trajectory(cut).player()
    assert talk(shown, {"type": "screen", "name": "screens/1.png"})[1] == [b"\x89PNG 1"]
    assert "not a screenshot of the steps shown" in talk(shown, {"type": "screen", "name": "screens/2.png"})[0]["error"]
    assert talk(Trajectory(cut).player(first=2), {"type": "screen", "name": "screens/2.png"})[1] == [b"\x89PNG 2"]
    with pytest.raises(ValueError, match=rf"first must be a step index in 0..{n - 1}, not {n}"):
        t.player(first=n)

    monkeypatch.setattr(player_module, "MAX_STEPS", 10_000)
    monkeypatch.setattr(player_module, "MAX_STEP_BYTES", 400)
    assert "at most 400 bytes of step JSON (MAX_STEP_BYTES); see the rest with Trajectory.player(first=1)" in t.player().note
    monkeypatch.setattr(player_module, "MAX_STEP_BYTES", 8 << 20)

    # a long typed text is cut in the view's copy, and says so
    folder = tmp_path / "long"
    write_steps(folder, [{"actions": [{"action": "type", "text": "y" * 5000}]}])
    (action,) = Trajectory(folder).player().steps[0]["actions"]
    assert action["text"] == "y" * player_module.MAX_TEXT_SHOWN
    assert action["cut"] == f"text: {5000 - player_module.MAX_TEXT_SHOWN} more characters not shown (MAX_TEXT_SHOWN)"

    # a video above the limit: not playable, the view is told where it is, a request names the limit and the file
    size = (recorded / "video.mp4").stat().st_size
    monkeypatch.setattr(player_module, "MAX_VIDEO_BYTES", size - 1)
    p = t.player()
    assert p.videos[0]["playable"] is False
    reply, buffers = talk(p, {"type": "video", "segment": 0, "offset": 0})
    assert buffers == []
    assert "in the notebook (MAX_VIDEO_BYTES): open " + str((recorded / "video.mp4").resolve()) in reply["error"]

    # a screenshot above the limit
    monkeypatch.setattr(player_module, "MAX_SCREEN_BYTES", 10)
    name = t.steps[0].before
    reply, buffers = talk(p, {"type": "screen", "name": name})
    assert buffers == [] and "(MAX_SCREEN_BYTES)" in reply["error"]


def test_a_trajectory_displays_as_the_player(recorded: Path) -> None:
    t = Trajectory(recorded)
    bundle = t._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "image/png", "application/vnd.jupyter.widget-view+json"}
    assert bundle["text/plain"] == repr(t)
    assert bundle["image/png"] == (recorded / t.steps[-1].after).read_bytes()  # the last screen
    assert isinstance(t.player(), TrajectoryPlayer)


def test_a_trajectory_without_widgets_is_text_and_picture(recorded: Path, monkeypatch) -> None:
    def no_widgets(self):
        raise ImportError("no anywidget here")

    monkeypatch.setattr(Trajectory, "player", no_widgets)
    t = Trajectory(recorded)
    assert set(t._repr_mimebundle_()) == {"text/plain", "image/png"}


def test_player_bundle_is_built_and_small() -> None:
    """static/player.js: anywidget's ESM, plain DOM (no noVNC), small; static/player.css scoped to the player."""
    js, css = STATIC / "player.js", STATIC / "player.css"
    assert js.is_file() and css.is_file(), "build the front ends: `npm run build` in the repository root"
    code = js.read_text()
    assert re.search(r"export\s*\{[^}]*\bas default\b", code), "anywidget needs a default export"
    assert "Raw channel missing property" not in code and "clipboardPasteFrom" not in code, "noVNC bundled in"
    assert not re.search(r"""\bimport\s*\(?\s*["'`]""", code), "an import would fetch a module"
    assert js.stat().st_size < 40_000, f"player.js grew to {js.stat().st_size} bytes"
    assert str(TrajectoryPlayer._esm) == code and str(TrajectoryPlayer._css) == css.read_text()
    selectors = css_selectors(css.read_text())
    assert ".jd-player .jd-player-overlay" in selectors
    unscoped = [s for s in selectors if ".jd-" not in s or ":root" in s]
    assert not unscoped, f"player.css: rules that reach beyond jupyter_desktop's elements: {unscoped}"
