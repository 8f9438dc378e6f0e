"""Recording benchmark: Desktop.record() (frames from the RFB mirror into ffmpeg) vs ffmpeg's x11grab at the same
settings (1280x800, the same fps, libx264 ultrafast -threads 1, -sws_flags neighbor, yuv420p), on the same desktop.

Run: .venv/bin/python benchmarks/bench_recording.py [--seconds N] [--repeats R] [--fps F ...] [--cpu C]

Prints, for an idle desktop and a busy one (an xterm printing 20 lines a second), the median of R runs of:
  - CPU as a share of one core: this process's extra (the recorder's threads, over a phase without recording),
    ffmpeg's, and the sum; x11grab's ffmpeg alone
  - MB per minute of recording on disk (video, screenshots, lines)
  - frames in the video
for Desktop.record's defaults (frames on change, at most 10 a second within a CPU budget of --cpu of a core: the
frames it sent set the rate x11grab is given on the next line), then for each --fps without a budget: frames on
change, at a constant rate (a frame every 1/fps s, duplicates included: what x11grab does), and x11grab. The runs
are interleaved (ours, x11grab, ours ...) so the machine's other load weighs on both alike. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jupyter_desktop import Desktop  # noqa: E402
from jupyter_desktop.trajectory import DEFAULT_CPU, Recorder  # noqa: E402

Result = dict[str, float]


def cpu_self() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)  # children waited for: each run's ffmpeg
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


def ours(d: Desktop, folder: Path, seconds: float, fps: float, frames_mode: str, cpu: float | None, baseline: float) -> Result:
    a_self, a_children, t = cpu_self(), cpu_children(), time.monotonic()
    rec = Recorder(d._session, d._runner, folder, fps=fps, frames=frames_mode, cpu=cpu)
    time.sleep(seconds)
    rec.stop()
    elapsed = time.monotonic() - t
    python = (cpu_self() - a_self) / elapsed - baseline
    ffmpeg = (cpu_children() - a_children) / elapsed
    n = frames(folder / "video.mp4")
    result = {"python": python * 100, "ffmpeg": ffmpeg * 100, "total": (python + ffmpeg) * 100,
              "mb_min": folder_bytes(folder) / 1e6 / (elapsed / 60), "frames": n, "fps": n / elapsed}  # fmt: skip
    shutil.rmtree(folder, ignore_errors=True)
    return result


def x11grab(d: Desktop, out: Path, seconds: float, fps: float) -> Result:
    """ffmpeg grabbing the X display itself, with Desktop.record's encoder settings (trajectory._Video)."""
    env = dict(os.environ, DISPLAY=d.info["display"], XAUTHORITY=str(d._session.desktop.dir / "Xauthority"))  # type: ignore[attr-defined]
    a, t = cpu_children(), time.monotonic()
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-f", "x11grab", "-framerate", f"{fps:g}",
         "-video_size", "1280x800", "-i", d.info["display"], "-t", f"{seconds:g}", "-sws_flags", "neighbor",
         "-c:v", "libx264", "-preset", "ultrafast", "-threads", "1", "-pix_fmt", "yuv420p",
         "-g", str(max(1, round(fps * 10))), "-movflags", "+faststart", "-y", str(out)],
        env=env, check=True,
    )  # fmt: skip
    elapsed = time.monotonic() - t
    cpu = (cpu_children() - a) / elapsed
    n = frames(out)
    result = {"python": 0.0, "ffmpeg": cpu * 100, "total": cpu * 100, "mb_min": out.stat().st_size / 1e6 / (elapsed / 60),
              "frames": n, "fps": n / elapsed}  # fmt: skip
    out.unlink()
    return result


def median(runs: list[Result]) -> Result:
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]}


def line(label: str, runs: list[Result]) -> str:
    r = median(runs)
    spread = f"{min(x['total'] for x in runs):4.1f}..{max(x['total'] for x in runs):4.1f}"
    return (f"  {label:<44} CPU {r['total']:5.1f}% of a core ({spread}; python {r['python']:4.1f}%, ffmpeg "
            f"{r['ffmpeg']:5.1f}%)  {r['mb_min']:6.2f} MB/min  {r['frames']:4.0f} frames ({r['fps']:4.1f}/s)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--fps", type=float, nargs="*", default=[10.0], help="rates compared without a budget")
    parser.add_argument("--cpu", type=float, default=DEFAULT_CPU, help="Desktop.record's CPU budget (a share of a core)")
    args = parser.parse_args()
    if not shutil.which("ffmpeg"):
        sys.exit("ffmpeg is missing: sudo apt-get install ffmpeg")
    tmp = Path(tempfile.mkdtemp(prefix="bench-rec-"))
    print(f"Recording, 1280x800, {args.seconds:g} s a run, medians of {args.repeats} ({os.cpu_count()} cores); "
          f"CPU: median (min..max)")  # fmt: skip
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
            n = 0

            def run(label: str, make: Callable[[Path], Result], results: dict[str, list[Result]]) -> Result:
                nonlocal n
                n += 1
                r = make(tmp / f"{phase}-{n}")
                results.setdefault(label, []).append(r)
                return r

            results: dict[str, list[Result]] = {}
            budget = f"Desktop.record (defaults: cpu={args.cpu:g})"
            for _ in range(args.repeats):  # ours with the budget, then x11grab at the rate it came to
                got = run(budget, lambda p: ours(d, p, args.seconds, 10.0, "changes", args.cpu, baseline), results)
                rate = max(0.5, round(got["fps"] * 2) / 2)
                run("ffmpeg -f x11grab at that fps", lambda p: x11grab(d, p.with_suffix(".mp4"), args.seconds, rate), results)
                for fps in args.fps:
                    run(f"Desktop.record fps={fps:g}, cpu=None", lambda p: ours(d, p, args.seconds, fps, "changes", None, baseline), results)
                    run(f"Desktop.record fps={fps:g}, constant rate", lambda p: ours(d, p, args.seconds, fps, "every", None, baseline), results)
                    run(f"ffmpeg -f x11grab fps={fps:g}", lambda p: x11grab(d, p.with_suffix(".mp4"), args.seconds, fps), results)
            for label, runs in results.items():
                print(line(label, runs))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
