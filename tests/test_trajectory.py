"""Recording (jupyter_desktop.trajectory, issue 12) on a real desktop: the steps match what was done (checked by the
effects on screen: tesseract reads the recorded screenshots), the video is valid (ffprobe), the same screen is one
file, the size limit and a full disk stop the recording cleanly, an error is recorded and raised, no ffmpeg is left
behind, and the folder loads and exports."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from jupyter_desktop import Desktop, InvalidInputError, MissingDependencyError, RecordingLimitError, Trajectory
from jupyter_desktop import trajectory as trajectory_module

from .conftest import ocr, start_desktop
from .harness.recording import probe, processes_writing
from .harness.waiting import eventually


def test_recorded_run_matches_what_was_done(desk: Desktop, term: str, tmp_path: Path) -> None:
    folder = tmp_path / "run"
    with desk.record(folder, every=0.5) as rec:
        assert processes_writing(folder), "ffmpeg should be recording"
        desk.write("echo alpha-1234")
        # the step is written once the screen settled: its "after" shows the effect
        eventually(lambda: rec.steps, timeout=30, what="the first step settled")
        desk.press("enter")
        desk.left_click(300, 120)  # inside the xterm: it keeps the focus
        desk.perform([{"action": "type", "text": "echo bravo-5678\n"}])
        desk.wait_until_stable(timeout=10, quiet=0.5)
    assert processes_writing(folder) == []  # ffmpeg ended and was reaped

    steps = [s for s in rec.steps if s.source == "agent"]
    assert [s.actions for s in steps] == [
        [{"action": "type", "text": "echo alpha-1234", "delay": 0.0}],
        [{"action": "press", "keys": "enter", "hold": 0.0}],
        [{"action": "click", "button": "left", "count": 1, "modifiers": [], "x": 300, "y": 120}],
        [{"action": "type", "text": "echo bravo-5678\n"}],
    ]
    assert all(s.error is None and s.before and s.after and s.duration >= 0 for s in steps)
    assert [s.step for s in rec.steps] == list(range(len(rec.steps)))
    assert all(a.t <= b.t for a, b in zip(steps, steps[1:]))

    # the screenshots show the effects. A step's "after" is the screen once it settled, or when the next step began
    # (then, what that step acted on), or at the end
    t = Trajectory(folder)
    assert [s.to_dict() for s in t.steps] == [s.to_dict() for s in rec.steps]
    first_before = ocr(t.image(steps[0].before).convert("RGB"), tmp_path)
    assert "alpha-1234" not in first_before
    last_after = ocr(t.image(steps[-1].after).convert("RGB"), tmp_path)
    assert "alpha-1234" in last_after and "bravo-5678" in last_after, last_after
    after_typing = ocr(t.image(steps[0].after).convert("RGB"), tmp_path)
    assert "alpha-1234" in after_typing and "bravo-5678" not in after_typing, after_typing
    assert "bravo-5678" not in ocr(t.image(steps[-1].before).convert("RGB"), tmp_path)
    assert all((folder / s.after).is_file() for s in t.steps)

    # the video: H.264 at the screen's size, as long as the recording
    info = probe(folder / "video.mp4")
    assert (info["codec_name"], info["width"], info["height"], info["pix_fmt"]) == ("h264", 1280, 800, "yuv420p")
    assert int(info["nb_read_frames"]) >= 3
    length = t.meta["end"] - t.meta["start"]
    assert 0 < info["duration"] and abs(info["duration"] - length) < 0.5, (info, length)
    assert t.video == folder / "video.mp4"
    assert t.meta["versions"]["ffmpeg"] and t.meta["desktop"]["width"] == 1280 and t.meta["stopped"] == "stop()"
    assert t.meta["steps"] == len(t.steps) and t.meta["video_error"] is None

    # exports
    out = t.to_jsonl(tmp_path / "export" / "all.jsonl")
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == len(t.steps)
    assert all((out.parent / line["after"]).resolve().is_file() for line in lines)
    inline = [json.loads(line) for line in t.to_jsonl(tmp_path / "inline.jsonl", images="base64").read_text().splitlines()]
    assert inline[0]["before"].startswith("iVBOR")  # a PNG
    dataset = t.to_dataset(tmp_path / "dataset")
    records = [json.loads(line) for line in (dataset / "data.jsonl").read_text().splitlines()]
    assert [r["actions"] for r in records] == [s.actions for s in steps]
    for r in records:
        assert Image.open(dataset / r["before"]).size == (1280, 800)
        assert Image.open(dataset / r["after"]).size == (1280, 800)


def test_same_screen_is_one_file(desk: Desktop, term: str, tmp_path: Path) -> None:
    folder = tmp_path / "same"
    with desk.record(folder, video=False) as rec:
        desk.move_mouse(700, 500)  # the pointer is not in the framebuffer: nothing on screen changes
        desk.move_mouse(710, 510)
        desk.write("echo x")
    a, b, c = rec.steps
    assert a.before == a.after == b.before == b.after == c.before != c.after
    assert len(list((folder / "screens").glob("*.png"))) == 2
    assert not (folder / "video.mp4").exists() and Trajectory(folder).meta["video_error"] == "video=False"


def test_an_error_is_recorded_and_raised(desk: Desktop, tmp_path: Path) -> None:
    with desk.record(tmp_path / "err", video=False) as rec:
        with pytest.raises(InvalidInputError, match="nosuchkey"):
            desk.press("nosuchkey")
        desk.move_mouse(10, 10)
    bad, good = rec.steps
    assert bad.actions == [{"action": "press", "keys": "nosuchkey", "hold": 0.0}]
    assert bad.error.startswith("InvalidInputError: ") and "nosuchkey" in bad.error
    assert good.error is None
    assert Trajectory(tmp_path / "err").steps[0].error == bad.error


def test_size_limit_stops_cleanly(desk: Desktop, term: str, tmp_path: Path) -> None:
    folder = tmp_path / "small"
    limit = 1 << 20
    rec = desk.record(folder, max_bytes=limit, fps=30)
    try:
        n = 0
        while rec.recording:  # each line changes the screen: new screenshots, new frames
            assert n < 400, "the recording never reached its limit"
            desk.write(f"echo {n:05d} {'#' * (n % 50)}\n")
            n += 1
        desk.write("echo after the limit\n")  # not recorded, not an error
    finally:
        with pytest.raises(RecordingLimitError, match=f"size limit of {limit} bytes \\(max_bytes\\)"):
            rec.stop()
    rec.stop()  # raised once
    assert processes_writing(folder) == []
    total = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    assert total <= limit, total
    t = Trajectory(folder)
    assert t.steps and all((folder / s.before).is_file() and (s.after is None or (folder / s.after).is_file()) for s in t.steps)
    assert "max_bytes" in t.meta["stopped"] and t.meta["end"]
    assert probe(folder / "video.mp4")["duration"] > 0
    assert not any(s.actions == [{"action": "type", "text": "echo after the limit\n", "delay": 0.0}] for s in t.steps)


def test_full_disk_stops_cleanly(desk: Desktop, term: str, tmp_path: Path) -> None:
    mount = tmp_path / "tiny"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(mount)]).returncode:
        pytest.skip("mounting a small tmpfs needs root")
    try:
        rec = desk.record(mount / "rec")  # the limit is far: the disk fills first
        with pytest.raises(RecordingLimitError, match="disk is full"):
            try:
                n = 0
                while rec.recording:
                    assert n < 400, "the disk never filled"
                    desk.write(f"echo {n:05d} {'%' * (n % 50)}\n")
                    n += 1
            finally:
                rec.stop()
        assert processes_writing(mount) == []
        t = Trajectory(mount / "rec")
        assert all((mount / "rec" / s.before).is_file() for s in t.steps)
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_without_ffmpeg(desk: Desktop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trajectory_module, "ffmpeg_version", lambda: None)
    with pytest.raises(MissingDependencyError, match="apt-get install ffmpeg"):
        desk.record(tmp_path / "insist", video=True)
    with desk.record(tmp_path / "plain") as rec:
        desk.move_mouse(20, 20)
    assert len(rec.steps) == 1
    meta = Trajectory(tmp_path / "plain").meta
    assert meta["video"] is None and "ffmpeg is not installed" in meta["video_error"]


def test_one_recording_at_a_time_and_folder_reuse(desk: Desktop, tmp_path: Path) -> None:
    with desk.record(tmp_path / "one", video=False):
        with pytest.raises(InvalidInputError, match="already recording"):
            desk.record(tmp_path / "two")
    with pytest.raises(InvalidInputError, match="already holds a recording"):
        desk.record(tmp_path / "one")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "video.mp4").write_text("the user's own file")
    with pytest.raises(InvalidInputError, match="not an empty folder"):
        desk.record(tmp_path / "mine")  # it would write over video.mp4
    assert (tmp_path / "mine" / "video.mp4").read_text() == "the user's own file"
    (tmp_path / "empty").mkdir()
    with desk.record(tmp_path / "empty", video=False):
        pass


def test_closing_the_desktop_ends_the_recording(tmp_path: Path) -> None:
    d = start_desktop("xvnc", "none")
    try:
        rec = d.record(tmp_path / "closing")
        d.move_mouse(5, 5)
        assert processes_writing(tmp_path / "closing")
    finally:
        d.close()
    assert not rec.recording and processes_writing(tmp_path / "closing") == []
    t = Trajectory(tmp_path / "closing")
    assert len(t.steps) == 1 and t.meta["end"] and probe(t.video)["duration"] >= 0


CRASH = """
import os, sys, time
from jupyter_desktop import Desktop
d = Desktop("none")
rec = d.record(sys.argv[1])
d.move_mouse(5, 5)
d.move_mouse(7, 7)
lines = os.path.join(sys.argv[1], "trajectory.jsonl")
while not os.path.exists(lines) or open(lines).read().count("\\n") < 2:  # both steps on disk, not only in memory
    time.sleep(0.05)
print("ready", flush=True)
time.sleep(60)
"""


def test_a_crash_keeps_what_was_recorded(tmp_path: Path) -> None:
    """SIGKILL: the steps written are there, and ffmpeg, its input ended, finishes a valid video and exits."""
    folder = tmp_path / "crash"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    proc = subprocess.Popen([os.environ.get("PYTHON", __import__("sys").executable), "-c", CRASH, str(folder)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    finally:
        proc.kill()
        proc.wait()
    # an orphan becomes a zombie where PID 1 does not reap: "gone or zombie" is "not running"
    eventually(lambda: all(p.split()[1] == "Z" for p in processes_writing(folder)), timeout=60, what="ffmpeg finished")
    t = Trajectory(folder)
    assert [s.actions[0]["action"] for s in t.steps[:2]] == ["move", "move"] and t.meta["end"] is None
    assert probe(folder / "video.mp4")["duration"] >= 0
