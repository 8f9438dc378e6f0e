"""Recording benchmark: Desktop.record() (frames from the RFB mirror into ffmpeg) vs ffmpeg's x11grab at the same
settings (1280x800, 10 fps at most, libx264 ultrafast, yuv420p), on the same desktop.

Run: .venv/bin/python benchmarks/bench_recording.py [--seconds N] [--fps F]

Prints, for an idle desktop and a busy one (an xterm printing 20 lines a second):
  - CPU as a share of one core: this process's extra (the recorder's threads, over a phase without recording),
    ffmpeg's, and the sum; x11grab's ffmpeg alone
  - MB per minute of recording on disk (video, screenshots, lines)
  - frames in the video
for Desktop.record's frames on change (the default) and at a constant rate (a frame every 1/fps s, duplicates
included). Nothing is asserted; the machine's other load makes the figures noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jupyter_desktop import Desktop  # noqa: E402
from jupyter_desktop.trajectory import Recorder  # noqa: E402


def cpu_self() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)  # children waited for: each phase's ffmpeg
    return r.ru_utime + r.ru_stime


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def frames(video: Path) -> int:
    out = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-show_entries", "stream=nb_read_frames", "-of", "json",
                          str(video)], capture_output=True, text=True).stdout  # fmt: skip
    return int(json.loads(out)["streams"][0]["nb_read_frames"])


def idle_python(seconds: float) -> float:
    a, t = cpu_self(), time.monotonic()
    time.sleep(seconds)
    return (cpu_self() - a) / (time.monotonic() - t)


def ours(d: Desktop, folder: Path, seconds: float, fps: float, frames_mode: str, baseline: float) -> dict[str, float]:
    a_self, a_children, t = cpu_self(), cpu_children(), time.monotonic()
    rec = Recorder(d, folder, fps=fps, frames=frames_mode)
    time.sleep(seconds)
    rec.stop()
    elapsed = time.monotonic() - t
    python = (cpu_self() - a_self) / elapsed - baseline
    ffmpeg = (cpu_children() - a_children) / elapsed
    return {"python": python * 100, "ffmpeg": ffmpeg * 100, "total": (python + ffmpeg) * 100,
            "mb_min": folder_bytes(folder) / 1e6 / (elapsed / 60), "frames": frames(folder / "video.mp4")}  # fmt: skip


def x11grab(d: Desktop, out: Path, seconds: float, fps: float) -> dict[str, float]:
    env = dict(os.environ, DISPLAY=d.info["display"], XAUTHORITY=str(d._session.desktop.dir / "Xauthority"))  # type: ignore[attr-defined]
    a, t = cpu_children(), time.monotonic()
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-f", "x11grab", "-framerate", f"{fps:g}",
         "-video_size", "1280x800", "-i", d.info["display"], "-t", f"{seconds:g}", "-c:v", "libx264", "-preset",
         "ultrafast", "-pix_fmt", "yuv420p", "-movflags", "+faststart", "-y", str(out)],
        env=env, check=True,
    )  # fmt: skip
    elapsed = time.monotonic() - t
    cpu = (cpu_children() - a) / elapsed
    return {"python": 0.0, "ffmpeg": cpu * 100, "total": cpu * 100, "mb_min": out.stat().st_size / 1e6 / (elapsed / 60), "frames": frames(out)}


def line(label: str, r: dict[str, float]) -> str:
    return (f"  {label:<40} CPU {r['total']:5.1f}% of a core (python {r['python']:5.1f}%, ffmpeg {r['ffmpeg']:5.1f}%)"
            f"   {r['mb_min']:6.2f} MB/min   {r['frames']:5d} frames")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--fps", type=float, default=10.0)
    args = parser.parse_args()
    if not shutil.which("ffmpeg"):
        sys.exit("ffmpeg is missing: sudo apt-get install ffmpeg")
    tmp = Path(tempfile.mkdtemp(prefix="bench-rec-"))
    print(f"Recording, 1280x800, at most {args.fps:g} fps, {args.seconds:g} s a phase ({os.cpu_count()} cores)")
    with Desktop() as d:
        d.wait_until_stable(timeout=20, quiet=1.0)
        for phase in ("idle", "busy"):
            if phase == "busy":
                d.launch(["xterm", "-T", "busy", "-geometry", "160x50+0+0", "-e", "bash", "--norc", "--noprofile", "-c",
                          "while :; do date +%s.%N; echo the quick brown fox jumps over the lazy dog; sleep 0.1; done"])  # fmt: skip
                d.wait_for_window("busy")
                time.sleep(2)
                print("\nbusy: an xterm printing 20 lines a second")
            else:
                print("\nidle: openbox, nothing moving")
            baseline = idle_python(args.seconds / 2)
            print(f"  (this process without recording: {baseline * 100:.1f}% of a core, subtracted below)")
            print(line("Desktop.record (frames on change)", ours(d, tmp / f"{phase}-changes", args.seconds, args.fps, "changes", baseline)))
            print(line("Desktop.record (constant rate)", ours(d, tmp / f"{phase}-every", args.seconds, args.fps, "every", baseline)))
            print(line("ffmpeg -f x11grab", x11grab(d, tmp / f"{phase}-x11grab.mp4", args.seconds, args.fps)))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
