"""Trajectories: record what is done on a desktop (steps, screenshots, a video), load it back, export it.

>>> with d.record("runs/try1", every=1.0) as rec:   # every: a periodic screenshot too (seconds)
...     d.left_click(100, 200); d.write("hello\\n")
>>> rec.steps
>>> t = Trajectory("runs/try1")
>>> t.to_dataset("runs/try1-dataset")

The recording is made where ``Desktop`` runs (this process or the kernel), from the framebuffer mirror the session
keeps over RFB: the same for local, Docker and server-held desktops, with no X grab and no server change.

The folder (the file format)::

    trajectory.jsonl   one JSON object a line, one line per step, appended as it goes
    screens/<hash>.png the screenshots; the name is a hash of the pixels, so the same screen is one file
    video.mp4          H.264 (yuv420p), a frame whenever the screen changed (at most ``fps`` a second, and within
                       the ``cpu`` budget), real timestamps: video time = a step's ``t``. After a resize:
                       video-2.mp4, video-3.mp4 ...
    meta.json          what was recorded and how (below); written at the start, rewritten at the end

A step::

    {"step": 0,                     # its index
     "time": 1718000000.123,        # Unix time it began
     "t": 1.234,                    # seconds since the recording began (the position in the video)
     "source": "agent",             # agent: a Desktop call (any program); human: a person's input;
                                    # periodic: the screen every ``every`` seconds (when it changed);
                                    # approval: an agent asked a person / their answer ({"action": "ask" |
                                    # "decide", "request", "actions" | "decision", "by"}); control: a person
                                    # took the desktop over / handed it back ({"action": "take_over" |
                                    # "hand_back", "by"}) (jupyter_desktop.gate)
     "actions": [{"action": "click", "x": 10, "y": 20, ...}],   # the JSON action vocabulary
                                    # (jupyter_desktop.actions), screen pixels; [] for a periodic step
     "before": "screens/9f2c....png",   # the screen as the step began (null for a periodic step)
     "after": "screens/41aa....png",    # once the screen settled (``settle`` seconds at most) or the next step
                                        # began; a periodic step's screen
     "duration": 0.012,             # seconds the call took
     "error": null}                 # "InvalidInputError: ..." when the call raised (it is raised again)

``meta.json``: ``format`` (1), ``desktop`` (id, profile, size, backend ...), ``versions`` (jupyter_desktop,
Python, ffmpeg), ``start`` and ``end`` (Unix times; ``end`` null while recording or after a crash), ``settings``
(every, fps, max_bytes, settle, frames, cpu), ``video`` (its segments with size and start, or null) and
``video_error`` (why there is none), ``steps``, ``bytes``, ``stopped`` (``stop()``, a limit, the desktop closing ...).

The video's cost: ffmpeg (libx264 ultrafast, one thread; swscale's ``neighbor`` RGBX -> yuv420p, the chroma of
one pixel in four) and the thread feeding it, ~13 ms of CPU a 1280x800 frame of a busy screen on a slow core,
nothing while the screen is still. ``cpu`` (default 0.04: 4 % of one core) is a budget for it, measured (ffmpeg's
CPU time from /proc, this thread's): while it is spent a changed screen waits for its frame, so a busy screen gets
a few frames a second (~2.5 on that core, more on a faster one, at most ``fps``=10) and a still one is exact; up
to a second's budget saved while still is spent on the next changes at full ``fps``. ffmpeg's start (~0.15 s of
CPU, once a segment) and the recorder's other threads are outside it: ~5 % in all for a busy screen.
``cpu=None``: ``fps`` alone (~14 % of a core at 10 fps on a busy screen; ffmpeg x11grab: ~11 %).

A crash loses at most the step in flight: lines are appended and flushed once their screenshots are on disk, and
ffmpeg finishes the video when its input ends, which a dead process's pipe does. Limits: ``max_bytes`` for the
whole folder (the video's index, written at the end, may add a little), a full disk: either stops the recording
cleanly (everything written stays valid) and :meth:`Recorder.stop` raises :class:`RecordingLimitError` naming it.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import contextlib
import dataclasses
import errno
import functools
import hashlib
import io
import json
import os
import platform
import queue
import shutil
import subprocess
import threading
import time
import warnings
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from .errors import InvalidInputError, MissingDependencyError, RecordingLimitError

if TYPE_CHECKING:
    from ._loop import LoopCaller
    from .protocols import DesktopSession
    from .rfb import RFBClient

__all__ = ["Step", "Recorder", "Trajectory", "ViewerInput", "RecordingLimitError", "SOURCES", "DEFAULT_MAX_BYTES"]

FORMAT = 1
SOURCES = ("agent", "human", "periodic", "approval", "control")
DEFAULT_MAX_BYTES = 2 << 30  # 2 GiB a recording
DEFAULT_FPS = 10.0
DEFAULT_CPU = 0.04  # the video's CPU budget, a share of one core (ffmpeg, the thread feeding it): ~5 % in all
CPU_BURST = 1.0  # seconds of budget that can be saved up while the screen is still (a burst of frames after it)
FRAME_COST = 12e-9  # CPU seconds per pixel a frame costs ffmpeg, when its CPU time cannot be read (no /proc)
SETTLE_QUIET = 0.3  # seconds the screen must stay still for a step's "after" screenshot
VIDEO_RESERVE = 160 << 10  # bytes kept free under max_bytes for what ffmpeg still holds (a few frames, its index)
FFMPEG_WAIT = 60.0  # seconds ffmpeg may take to finish the video after its input ends
MAX_NOTES = 256  # steps noted (Recorder.note) and not yet taken in
INPUT_POLL = 0.1  # seconds: a viewer's click or text is handed over this soon after its window passed

_active: weakref.WeakSet[Recorder] = weakref.WeakSet()


@dataclass(frozen=True)
class Step:
    """One line of ``trajectory.jsonl`` (see the module's docstring)."""

    step: int
    time: float
    t: float
    source: str
    actions: list[dict[str, Any]] = field(default_factory=list)
    before: str | None = None
    after: str | None = None
    duration: float = 0.0
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Step:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def ffmpeg_version() -> str | None:
    """``ffmpeg -version``'s first words (``5.1.6-0+deb12u1``), or None without ffmpeg."""
    exe = shutil.which("ffmpeg")
    if exe is None:
        return None
    try:
        stat = os.stat(exe)
    except OSError:
        return None
    return _ffmpeg_version(exe, stat.st_mtime_ns, stat.st_ino)


@functools.lru_cache(maxsize=4)
def _ffmpeg_version(exe: str, mtime: int, inode: int) -> str | None:
    """(Asked once per executable: ``ffmpeg -version`` costs 0.1 s of CPU, as much as a minute of idle video.)"""
    try:
        out = subprocess.run([exe, "-version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    words = out.split()
    return words[2] if len(words) > 2 and words[0] == "ffmpeg" else "unknown"


def _disk_error(exc: OSError, path: Path) -> RecordingLimitError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return RecordingLimitError(f"the disk is full: cannot write {path} ({exc.strerror}); the recording stopped")
    return RecordingLimitError(f"cannot write {path}: {exc}; the recording stopped")


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, path)


class _Video:
    """One ffmpeg process fed raw RGBX frames on its standard input (a segment: one screen size).

    Where its CPU goes (1280x800, a busy screen, per frame): x264 ultrafast ~5 ms, the RGBX -> yuv420p conversion
    (swscale) ~4 ms with ``neighbor`` (~6.5 ms with its default bicubic chroma), the 4 MB through the pipe ~2 ms
    on each side. Single-threaded x264 (``-threads 1``) costs less CPU than its threads; the rest is the number of
    frames (the budget, in the video loop).
    """

    def __init__(self, path: Path, size: tuple[int, int], fps: float, every_tick: bool) -> None:
        self.path = path
        self.size = size
        self.log = path.with_suffix(".log")
        w, h = size
        # Changes only: ffmpeg stamps each frame with the time it reads it (our write: it keeps up), in
        # milliseconds; a constant rate: frame n is at n / fps.
        timing = ["-framerate", f"{fps:g}"] if every_tick else ["-use_wallclock_as_timestamps", "1", "-framerate", "1000"]
        pad = ["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2"] if w % 2 or h % 2 else []
        argv = [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin",
            *timing, "-f", "rawvideo", "-pix_fmt", "rgb0", "-video_size", f"{w}x{h}",
            "-i", "pipe:0", "-an", *pad, "-sws_flags", "neighbor", "-c:v", "libx264", "-preset", "ultrafast",
            "-threads", "1", "-pix_fmt", "yuv420p",
            "-g", str(max(1, round(fps * 10))), *([] if every_tick else ["-fps_mode", "vfr"]),
            "-movflags", "+faststart", "-y", str(path),
        ]  # fmt: skip
        self.frames = 0
        self.started = time.time()
        self.estimated = False  # its CPU time could not be read: the budget charges FRAME_COST a pixel a frame
        with open(self.log, "wb") as log:
            # its own session: a terminal's Ctrl-C is not for it; when our end of the pipe closes (stop, or this
            # process dying) it finishes the file and exits
            self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
        assert self.process.stdin is not None
        with contextlib.suppress(AttributeError, OSError, ImportError):  # Linux: fewer, larger writes
            import fcntl

            fcntl.fcntl(self.process.stdin.fileno(), fcntl.F_SETPIPE_SZ, 1 << 20)  # type: ignore[attr-defined]
        self._stat = Path(f"/proc/{self.process.pid}/stat")
        self._tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def cpu(self) -> float | None:
        """ffmpeg's CPU time so far (seconds), or None where it cannot be read (no /proc)."""
        try:
            fields = self._stat.read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / self._tick  # utime, stime
        except (OSError, IndexError, ValueError):
            return None

    def write(self, frame: np.ndarray) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(memoryview(frame).cast("B"))  # type: ignore[arg-type]
        self.process.stdin.flush()
        self.frames += 1

    def finish(self) -> str | None:
        """End the input, wait for the file; ffmpeg's complaint, if any."""
        with contextlib.suppress(OSError):
            assert self.process.stdin is not None
            self.process.stdin.close()
        try:
            code = self.process.wait(FFMPEG_WAIT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        text = self.log.read_text(errors="replace").strip() if self.log.exists() else ""
        if code == 0 and not text:
            self.log.unlink(missing_ok=True)
            return None
        return f"ffmpeg exited with {code}: {text[-500:]}" if code else None

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


class Recorder:
    """A recording of a desktop into a folder; what :meth:`Desktop.record` returns. Use it as a context manager,
    or call :meth:`stop`. See the module's docstring for the folder's format.

    ``every``: also a ``periodic`` step with a screenshot every that many seconds (when the screen changed).
    ``video``: None records a video when ffmpeg is installed (meta.json says why not otherwise); True insists
    (MissingDependencyError without ffmpeg); False records none. ``fps``: the video's most frames a second (a
    frame is sent only when the screen changed). ``max_bytes``: the folder's size limit. ``settle``: at most this
    many seconds after a step for its "after" screenshot (taken once the screen is still for 0.3 s).
    ``cpu``: the video's CPU budget as a share of one core (0.04: 4 %), ffmpeg's and the thread feeding it
    together; a changed screen waits for its frame while the budget is spent (None: no budget, ``fps`` alone).
    ``frames="every"`` sends a frame every 1/fps s even when nothing changed (a constant rate, no budget; for
    comparison).
    """

    def __init__(
        self,
        session: DesktopSession,
        runner: LoopCaller,
        path: str | os.PathLike[str],
        *,
        on_stop: Callable[[Recorder], None] | None = None,
        every: float | None = None,
        video: bool | None = None,
        fps: float = DEFAULT_FPS,
        max_bytes: int = DEFAULT_MAX_BYTES,
        settle: float = 2.0,
        frames: str = "changes",
        cpu: float | None = DEFAULT_CPU,
    ) -> None:
        if every is not None and (isinstance(every, bool) or not isinstance(every, (int, float)) or not 0.05 <= every <= 3600):
            raise InvalidInputError(f"every must be a number of seconds in 0.05..3600 (or None), not {every!r}")
        if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not 0.1 <= fps <= 60:
            raise InvalidInputError(f"fps must be a number in 0.1..60, not {fps!r}")
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1 << 20:
            raise InvalidInputError(f"max_bytes must be an integer of at least 1 MiB (1048576), not {max_bytes!r}")
        if isinstance(settle, bool) or not isinstance(settle, (int, float)) or not 0 <= settle <= 60:
            raise InvalidInputError(f"settle must be a number of seconds in 0..60, not {settle!r}")
        if cpu is not None and (isinstance(cpu, bool) or not isinstance(cpu, (int, float)) or not 0.001 <= cpu <= 64):
            raise InvalidInputError(f"cpu must be a share of one core in 0.001..64 (0.05: 5 %), or None, not {cpu!r}")
        if video is not None and not isinstance(video, bool):
            raise InvalidInputError(f"video must be True, False or None (a video when ffmpeg is installed), not {video!r}")
        if frames not in ("changes", "every"):
            raise InvalidInputError(f"frames must be 'changes' or 'every', not {frames!r}")
        self.path = Path(path)
        if (self.path / "trajectory.jsonl").exists():
            raise InvalidInputError(f"{self.path} already holds a recording; choose another folder")
        if self.path.exists() and (not self.path.is_dir() or any(self.path.iterdir())):
            raise InvalidInputError(
                f"{self.path} is not an empty folder: a recording writes trajectory.jsonl, meta.json, screens/ and "
                "video.mp4 into its folder; choose a new or empty one"
            )
        ffmpeg = ffmpeg_version()
        if video and ffmpeg is None:
            raise MissingDependencyError("recording a video needs ffmpeg: sudo apt-get install ffmpeg (or video=False)")
        self._session = session
        self._runner = runner  # runs the session's coroutines on its loop (from the recorder's threads)
        self._on_stop = on_stop
        self.every = every
        self.fps = float(fps)
        self.max_bytes = max_bytes
        self.settle = float(settle)
        self.cpu = None if cpu is None else float(cpu)
        self._every_tick = frames == "every"
        self._steps: list[Step] = []
        self._count = 0
        self._lock = threading.RLock()  # steps: numbering, the pending one
        self._pending: tuple[Step, float] | None = None  # a step waiting for its "after" screenshot, its end
        self._wake = threading.Condition(self._lock)
        self._known: set[str] = set()  # screenshots on disk (or queued)
        self._last_screen: str | None = None
        self._bytes = 0  # written by the writer thread: lines and screenshots
        self._video_bytes = 0  # the segments done, plus the current one's size when last looked at
        self._halted = threading.Event()  # no more steps, frames or files (a limit, or stopping)
        self._halt_lock = threading.Lock()
        self._stopped = False
        self._raised = False
        self._warned = False
        self.error: RecordingLimitError | None = None
        self.stopped_because: str | None = None
        self._video: _Video | None = None
        self._segments: list[dict[str, Any]] = []
        self._video_error: str | None = None
        self._rfb: RFBClient | None = None
        self._notes: queue.Queue[tuple[Any, ...] | None] = queue.Queue(maxsize=MAX_NOTES)
        self._dropped = 0  # notes refused: the queue was full
        self._inputs: weakref.WeakSet[ViewerInput] = weakref.WeakSet()  # viewers whose input is recorded (loop)
        self._polling: asyncio.TimerHandle | None = None
        self._copy: tuple[tuple[int, float, tuple[int, ...]], np.ndarray] | None = None  # _mirror_copy's

        try:
            (self.path / "screens").mkdir(parents=True, exist_ok=True)
            self._lines = open(self.path / "trajectory.jsonl", "a", encoding="utf-8")
        except OSError as exc:
            raise _disk_error(exc, self.path) from None
        self.start = time.time()
        self._start_mono = time.monotonic()
        self._meta: dict[str, Any] = {
            "format": FORMAT,
            "desktop": self._describe_desktop(),
            "versions": {"jupyter_desktop": _version(), "python": platform.python_version(), "ffmpeg": ffmpeg},
            "start": self.start,
            "end": None,
            "settings": {"every": every, "fps": self.fps, "max_bytes": max_bytes, "settle": self.settle, "frames": frames,
                         "cpu": self.cpu},
            "video": None,
            "video_error": None,
            "steps": 0,
            "bytes": 0,
            "stopped": None,
        }
        if video is False:
            self._video_error = "video=False"
        elif ffmpeg is None:
            self._video_error = "ffmpeg is not installed (sudo apt-get install ffmpeg): no video"
        self._sent = -1.0  # rfb.last_change of the last frame sent
        if self._video_error is None:
            # The first frame before the clock starts: once ffmpeg has read it (it takes 0.1-0.5 s to start),
            # video time 0 is now, and the steps' t is their position in the video.
            try:
                rfb = self._connected()
                stamp, frame = rfb.last_change, rfb.framebuffer
                if self._new_segment((frame.shape[1], frame.shape[0]), frame) is not None:
                    self._sent = stamp
            except Exception as exc:  # noqa: BLE001 - no video, said in meta.json
                self._video_error = self._video_error or f"cannot record the screen: {exc}"
            self.start = time.time()
            self._start_mono = time.monotonic()
            self._meta["start"] = self.start
            if self._segments:
                self._segments[0]["start"] = 0.0
        self._meta["video_error"] = self._video_error
        try:
            _write_json(self.path / "meta.json", self._meta)
        except OSError as exc:
            self._lines.close()
            raise _disk_error(exc, self.path / "meta.json") from None

        self._jobs: queue.Queue[tuple[str, Any] | None] = queue.Queue(maxsize=32)
        self._threads = [threading.Thread(target=self._writer, name="jupyter-desktop-rec-writer", daemon=True)]
        self._threads.append(threading.Thread(target=self._take_notes, name="jupyter-desktop-rec-notes", daemon=True))
        self._threads.append(threading.Thread(target=self._watcher, name="jupyter-desktop-rec-watch", daemon=True))
        if self._segments:
            self._threads.append(threading.Thread(target=self._video_loop, name="jupyter-desktop-rec-video", daemon=True))
        _active.add(self)
        _register_atexit()
        for thread in self._threads:
            thread.start()

    # ------------------------------------------------------------------ public

    @property
    def steps(self) -> list[Step]:
        """The steps recorded so far (a step still waiting for its "after" screenshot is not among them yet)."""
        with self._lock:
            return list(self._steps)

    @property
    def recording(self) -> bool:
        return not self._halted.is_set()

    @property
    def bytes(self) -> int:
        """Bytes written so far (lines, screenshots, the video as far as last looked at)."""
        return self._bytes + self._video_bytes

    @property
    def segments(self) -> list[dict[str, Any]]:
        """The video's segments so far (meta.json's ``video.segments``)."""
        return [dict(s) for s in self._segments]

    def stop(self) -> None:
        """End the recording: the last step's "after" screenshot (once the screen settled, ``settle`` s at most),
        the video finished, meta.json completed. Raises
        :class:`RecordingLimitError` if a limit stopped it earlier (once). Calling it again is fine."""
        first = False
        notes = self._threads[1]
        if not self._stopped and not self._halted.is_set():
            with contextlib.suppress(Exception):  # what the viewers began: clicks, text still open
                self._runner.call(self._flush_inputs(), 10)
        if not self._stopped and not self._halted.is_set() and notes.is_alive() and threading.current_thread() is not notes:
            self._notes.put(None)  # the steps noted so far first
            notes.join()
        with self._lock:
            if not self._stopped:
                self._stopped = first = True
                try:
                    self._settle()
                    self._finish_pending()
                finally:
                    self._halt("stop()")
                    self._wake.notify_all()
        if first:
            with contextlib.suppress(queue.Full):
                self._notes.put_nowait(None)  # (a full queue: it ends at its next note, seeing the halt)
            for thread in self._threads[1:]:  # the notes, the watcher, the video
                thread.join()
            self._jobs.put(None)  # the writer writes what is queued, then ends
            self._threads[0].join()
            self._close()
            _active.discard(self)
            if self._on_stop is not None:
                self._on_stop(self)
        if self.error is not None and not self._raised:
            self._raised = True
            raise self.error

    def note(
        self,
        actions: Sequence[Mapping[str, Any]],
        source: str = "human",
        *,
        began: float | None = None,
        before: Image.Image | np.ndarray | None = None,
        duration: float = 0.0,
        error: str | None = None,
    ) -> bool:
        """Record a step done elsewhere (a person's input a viewer sent, which :class:`ViewerInput` decodes).
        ``began``: its Unix time (default now); ``before``: the screen as it began (a PIL image or the mirror's
        RGBX array, copied), default the screen when the step is written; its "after" is the screen once it
        settles. It never waits (any thread, an event loop's too): the step is queued, at most ``MAX_NOTES``
        waiting (more are counted in meta.json's ``dropped``). False when it was not taken."""
        if source not in SOURCES:
            raise InvalidInputError(f"source must be one of {', '.join(SOURCES)}, not {source!r}")
        if self._halted.is_set():
            return False
        try:
            self._notes.put_nowait((_jsonable(actions), source, time.time() if began is None else float(began), before, duration, error))
        except queue.Full:
            self._dropped += 1
            return False
        return True

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        if kind is None:
            self.stop()
        else:  # the block's own error matters more than the recording's
            with contextlib.suppress(RecordingLimitError):
                self.stop()

    def __repr__(self) -> str:
        state = "recording" if self.recording else f"stopped ({self.stopped_because})"
        return f"<Recorder {str(self.path)!r} {state}, {len(self._steps)} steps>"

    # ------------------------------------------------------------------ the Desktop's calls

    def _around(self, actions: Sequence[Mapping[str, Any]], call: Callable[[], Any]) -> Any:
        """Run ``call`` (it sends ``actions``) as an ``agent`` step."""
        if self._halted.is_set():
            self._warn()
            return call()
        with self._lock:
            self._finish_pending()
            index = self._count
            self._count += 1
            begun, mono = time.time(), time.monotonic()
            before = self._shot(fresh=True)
        error = None
        called = time.monotonic()
        try:
            return call()
        except BaseException as exc:
            error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            end = time.monotonic()
            step = Step(index, round(begun, 4), round(mono - self._start_mono, 4), "agent", _jsonable(actions), before, None, round(end - called, 4), error)
            with self._lock:
                if not self._halted.is_set():
                    self._finish_pending()  # another thread's step, if any
                    self._pending = (step, end)
                    self._wake.notify_all()

    def _attach(self, viewer: ViewerInput) -> None:
        """(On the loop.) Follow a viewer's input: poll it while recording, flush it at the end."""
        if viewer not in self._inputs:
            self._inputs.add(viewer)
            if self._polling is None:
                self._polling = asyncio.get_running_loop().call_later(INPUT_POLL, self._poll_inputs)

    def _mirror_copy(self, rfb: RFBClient) -> np.ndarray:
        """(On the loop.) A copy of the mirror's screen, one for every viewer that holds the same screen (a class
        of viewers typing at once holds one copy, not one each); never written to."""
        key = (id(rfb), rfb.last_change, rfb.framebuffer.shape)
        if self._copy is None or self._copy[0] != key:
            self._copy = (key, rfb.framebuffer.copy())
        return self._copy[1]

    def _poll_inputs(self) -> None:
        for viewer in list(self._inputs):
            viewer.poll()  # a click is complete once a double click can no longer join it; text after a pause
        self._polling = asyncio.get_running_loop().call_later(INPUT_POLL, self._poll_inputs) if self.recording else None

    async def _flush_inputs(self) -> None:
        for viewer in list(self._inputs):
            viewer.flush()

    def _warn(self) -> None:
        if self.error is not None and not self._warned:
            self._warned = True
            warnings.warn(str(self.error), RuntimeWarning, stacklevel=4)

    # ------------------------------------------------------------------ screenshots and steps

    def _describe_desktop(self) -> dict[str, Any]:
        try:
            info = dict(self._session.to_dict())
        except Exception:  # noqa: BLE001 - only for the record
            info = {"id": self._session.id}
        return json.loads(json.dumps(info, default=str))

    def _shot(self, fresh: bool) -> str | None:
        """The screen now, as a file name under screens/ (written by the writer thread if it is new)."""
        try:
            image = self._runner.call(self._session.capture(None, None, fresh), 30)
        except Exception:  # noqa: BLE001 - a dead desktop: the call itself will say so
            return None
        return self._keep(image)

    def _keep(self, image: Image.Image) -> str:
        """A screenshot's file name under screens/ (queued for the writer if it is new)."""
        digest = hashlib.sha1(image.tobytes(), usedforsecurity=False)
        digest.update(f"{image.width}x{image.height}".encode())
        name = f"screens/{digest.hexdigest()[:20]}.png"
        if name not in self._known:
            self._known.add(name)
            self._put(("png", (name, image)))
        self._last_screen = name
        return name

    def _settle(self) -> None:
        """Wait (``settle`` s at most from the step's end) until the screen is still, if a step is pending."""
        if self._pending is None or self._halted.is_set():
            return
        remaining = self.settle - (time.monotonic() - self._pending[1])
        if remaining > 0:
            with contextlib.suppress(Exception):
                self._runner.call(self._session.wait_until_stable(min(SETTLE_QUIET, remaining), remaining), remaining + 30)

    def _finish_pending(self) -> None:
        """Give the pending step its "after" screenshot (the screen now) and write it. Holds the lock."""
        pending, self._pending = self._pending, None
        if pending is None:
            return
        step = dataclasses.replace(pending[0], after=None if self._halted.is_set() else self._shot(fresh=True))
        self._emit(step)

    def _emit(self, step: Step) -> None:
        if self._halted.is_set():
            return
        self._steps.append(step)
        self._put(("line", step))

    def _put(self, job: tuple[str, Any]) -> None:
        while not self._halted.is_set():
            try:
                self._jobs.put(job, timeout=0.5)
                return
            except queue.Full:
                continue

    def _halt(self, reason: str, error: RecordingLimitError | None = None) -> None:
        """No more steps, frames or files (any thread; not under the step lock: the writer calls it)."""
        with self._halt_lock:
            if self.stopped_because is None:
                self.stopped_because = reason
                if error is not None:
                    self.error = error
            self._halted.set()

    # ------------------------------------------------------------------ threads

    def _take_notes(self) -> None:
        """Makes the noted steps (:meth:`note`) pending steps, in the order noted."""
        while True:
            note = self._notes.get()
            if note is None or self._halted.is_set():
                return
            actions, source, began, before, duration, error = note
            with self._lock:
                if self._halted.is_set():
                    return
                self._finish_pending()
                if isinstance(before, np.ndarray):
                    h, w = before.shape[:2]
                    before = Image.frombytes("RGB", (w, h), before if before.flags.c_contiguous else before.tobytes(), "raw", "RGBX")
                name = self._keep(before) if before is not None else self._shot(fresh=True)
                step = Step(self._count, round(began, 4), round(began - self.start, 4), source, actions, name, None, duration, error)
                self._count += 1
                self._pending = (step, time.monotonic())
                self._wake.notify_all()

    def _watcher(self) -> None:
        """Takes the "after" screenshot of a step once the screen settled, and the periodic screenshots."""
        next_periodic = time.monotonic() + self.every if self.every else None
        while not self._halted.is_set():
            with self._lock:
                now = time.monotonic()
                wait = 0.5 if next_periodic is None else min(0.5, max(0.0, next_periodic - now))
                if self._pending is None and wait > 0:
                    self._wake.wait(wait)
                pending = self._pending
            if self._halted.is_set():
                return
            if pending is not None:
                step, end = pending
                remaining = self.settle - (time.monotonic() - end)
                if remaining > 0:  # (not under the lock: the next step may begin meanwhile, and take over)
                    with contextlib.suppress(Exception):
                        self._runner.call(self._session.wait_until_stable(min(SETTLE_QUIET, remaining), remaining), remaining + 30)
                with self._lock:
                    if self._pending is pending:
                        self._finish_pending()
            if next_periodic is not None and time.monotonic() >= next_periodic:
                next_periodic = max(next_periodic + (self.every or 0), time.monotonic() + 0.01)
                with self._lock:
                    if self._halted.is_set():
                        return
                    if self._pending is not None:  # its "after" screenshot comes first (the lines stay in order)
                        continue
                    last = self._last_screen
                    mono = time.monotonic()
                    name = self._shot(fresh=False)
                    if name is not None and name != last:
                        self._emit(Step(self._count, round(time.time(), 4), round(mono - self._start_mono, 4), "periodic", [], None, name))
                        self._count += 1

    def _writer(self) -> None:
        """Writes screenshots and lines in order, counting bytes against the limit."""
        while True:
            job = self._jobs.get()
            if job is None:
                return
            if self._halted.is_set() and self.error is not None:
                continue  # a limit: nothing more is written (the stop() lines are still wanted)
            kind, value = job
            try:
                if kind == "png":
                    name, image = value
                    buf = io.BytesIO()
                    image.save(buf, "PNG", compress_level=1)
                    data = buf.getvalue()
                    self._check_room(len(data), name)
                    (self.path / name).write_bytes(data)
                    self._bytes += len(data)
                else:
                    line = json.dumps(value.to_dict(), separators=(",", ":")) + "\n"
                    size = len(line.encode())
                    self._check_room(size, "trajectory.jsonl")
                    self._lines.write(line)
                    self._lines.flush()
                    self._bytes += size
            except RecordingLimitError as exc:
                self._halt("limit", exc)
            except OSError as exc:
                self._halt("disk", _disk_error(exc, self.path / (value[0] if kind == "png" else "trajectory.jsonl")))

    def _check_room(self, size: int, what: str) -> None:
        if self._bytes + self._video_bytes + size + VIDEO_RESERVE > self.max_bytes:
            raise RecordingLimitError(
                f"the recording {self.path} reached its size limit of {self.max_bytes} bytes (max_bytes) with "
                f"{self._bytes + self._video_bytes} bytes written; it stopped before {what}"
            )

    def _connected(self) -> RFBClient:
        rfb = self._rfb
        if rfb is None or rfb.closed:
            rfb = self._rfb = self._runner.call(self._session.connected(), 30)
        return rfb

    def _video_loop(self) -> None:
        """Sends the mirror to ffmpeg whenever it changed (at most ``fps`` a second, within the ``cpu`` budget)."""
        interval = 1.0 / self.fps
        sent = self._sent
        tick = time.monotonic()
        checked = 0.0
        # The budget, a token bucket of CPU seconds: it fills at ``cpu`` a second (CPU_BURST seconds' worth at
        # most) and pays what ffmpeg and this thread really spent; a frame is sent only while it is not empty.
        budget = None if self._every_tick else self.cpu
        allowance = (budget or 0.0) * CPU_BURST
        spent_video: _Video | None = None
        spent = 0.0
        refilled = time.monotonic()
        try:
            while True:
                stopping = self._halted.is_set()
                try:
                    rfb = self._connected()
                except Exception as exc:  # noqa: BLE001 - the desktop is gone: end the video there
                    self._video_error = self._video_error or f"the desktop's screen went away: {exc}"
                    return
                frame = rfb.framebuffer
                size = (frame.shape[1], frame.shape[0])
                if size[0] and size[1]:
                    video = self._video
                    if video is not None and video.size != size:  # resized: a new segment
                        self._end_segment()
                        video = None
                    if video is None:
                        stamp = rfb.last_change
                        video = self._new_segment(size, frame)
                        if video is None:
                            return
                        sent = stamp
                    if budget is not None:
                        now = time.monotonic()
                        cost = self._video_cpu(video)
                        if spent_video is not video:  # a new segment: its start-up is not the frames' cost
                            spent_video, spent = video, cost
                        allowance = min(budget * CPU_BURST, allowance + budget * (now - refilled)) - (cost - spent)
                        spent, refilled = cost, now
                    stamp = rfb.last_change  # read first: a change during the copy is sent next time
                    if (stamp != sent and (budget is None or allowance > 0)) or self._every_tick or stopping:
                        try:
                            video.write(frame)
                        except (BrokenPipeError, ValueError, OSError):
                            self._video_error = video.finish() or "ffmpeg stopped reading its input"
                            self._video = None
                            self._segments[-1]["error"] = self._video_error
                            if "No space left" in self._video_error:
                                self._halt("disk", RecordingLimitError(f"the disk is full: ffmpeg could not write {video.path}; the recording stopped"))
                            return
                        sent = stamp
                        if budget is not None and video.estimated:
                            allowance -= FRAME_COST * size[0] * size[1]
                now = time.monotonic()
                if video is not None and now - checked >= 0.5:
                    checked = now
                    with contextlib.suppress(OSError):
                        self._video_bytes = self._done_video_bytes() + video.path.stat().st_size
                    if self._bytes + self._video_bytes + VIDEO_RESERVE > self.max_bytes and not stopping:
                        self._halt("limit", RecordingLimitError(
                            f"the recording {self.path} reached its size limit of {self.max_bytes} bytes (max_bytes) "
                            f"with {self._bytes + self._video_bytes} bytes written; it stopped"
                        ))  # fmt: skip
                        continue  # one last frame, then the end
                if stopping:
                    return
                tick = max(tick + interval, now)
                self._halted.wait(max(0.0, tick - time.monotonic()))
        finally:
            self._end_segment()

    @staticmethod
    def _video_cpu(video: _Video) -> float:
        """CPU seconds the video cost so far: ffmpeg's (when it can be read: else ``estimated``, charged per frame
        by the caller) and this thread's."""
        ffmpeg = video.cpu()
        if ffmpeg is None:
            video.estimated = True
            ffmpeg = 0.0
        return ffmpeg + time.thread_time()

    def _new_segment(self, size: tuple[int, int], frame: np.ndarray) -> _Video | None:
        """Start ffmpeg on a segment and give it its first frame (returns once ffmpeg has read it)."""
        n = len(self._segments) + 1
        path = self.path / ("video.mp4" if n == 1 else f"video-{n}.mp4")
        try:
            video = _Video(path, size, self.fps, self._every_tick)
        except OSError as exc:
            self._video_error = f"cannot start ffmpeg: {exc}"
            return None
        try:
            video.write(frame)
        except (OSError, ValueError):
            self._video_error = video.finish() or "ffmpeg did not read its input"
            return None
        self._video = video
        self._segments.append({"file": path.name, "width": size[0], "height": size[1], "start": round(time.time() - self.start, 4)})
        return video

    def _done_video_bytes(self) -> int:
        return sum(s.get("bytes", 0) for s in self._segments)

    def _end_segment(self) -> None:
        video, self._video = self._video, None
        if video is None:
            return
        problem = video.finish()
        segment = self._segments[-1]
        segment["end"] = round(time.time() - self.start, 4)
        segment["frames"] = video.frames
        with contextlib.suppress(OSError):
            segment["bytes"] = video.path.stat().st_size
        if problem:
            segment["error"] = problem
        self._video_bytes = self._done_video_bytes()

    def _close(self) -> None:
        """After the threads: the last lines, meta.json's end."""
        with contextlib.suppress(OSError):
            self._lines.close()
        meta = self._meta
        meta.update(
            end=time.time(),
            steps=len(self._steps),
            bytes=self._bytes + self._video_bytes,
            stopped=self.stopped_because if self.error is None else str(self.error),
            dropped=self._dropped,
            video={"segments": self._segments} if self._segments else None,
            video_error=self._video_error,
        )
        try:
            _write_json(self.path / "meta.json", meta)
        except OSError as exc:
            if self.error is None:
                self.error = _disk_error(exc, self.path / "meta.json")

    def _kill(self) -> None:
        """Last resort at interpreter exit when stop() could not run: no ffmpeg left behind."""
        video = self._video
        if video is not None:
            video.kill()


class ViewerInput:
    """One viewer's connection to a desktop, followed while that desktop records: what it sends (RFB client
    messages) decoded into actions (:class:`~jupyter_desktop.rfb.input_log.InputLog`: a click, a drag, a run of
    typed text ...) and noted as steps of ``source`` (``human``: a person at a viewer) in the recording that
    ``recorder()`` returns. Feed it every chunk before it goes to the VNC server; call :meth:`poll` now and then
    (a click is complete only once a double click can no longer join it) and :meth:`flush` when it ends.

    A step's "before" is the screen as its first message arrived, a copy of ``mirror()``'s framebuffer (the
    desktop's own RFB client) taken while no action was open, at most every 0.1 s and only when the screen
    changed; ``on_input`` sees each input message's kind (``ClientStream``'s). It never blocks: the recorder
    queues the steps (:meth:`Recorder.note`).
    """

    HOLD_EVERY = 0.1  # seconds between copies of a changing screen while the viewer's pointer moves

    def __init__(
        self,
        recorder: Callable[[], Recorder | None],
        mirror: Callable[[], RFBClient | None],
        source: str = "human",
        on_input: Callable[[str], None] | None = None,
    ) -> None:
        from .rfb.input_log import InputLog

        if source not in SOURCES:
            raise InvalidInputError(f"source must be one of {', '.join(SOURCES)}, not {source!r}")
        self.source = source
        self._recorder = recorder
        self._mirror = mirror
        self.log = InputLog(self._action, on_input=on_input)
        self._before: tuple[float, float, np.ndarray] | None = None  # the mirror's last_change, when, the copy

    def _recording(self) -> Recorder | None:
        recorder = self._recorder()
        return recorder if recorder is not None and recorder.recording else None

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        recorder = self._recording()
        if recorder is not None:
            recorder._attach(self)
            if self.log.idle:
                self._hold(recorder)
        self.log.feed(data)

    def poll(self) -> None:
        self.log.poll()

    def flush(self) -> None:
        self.log.flush()

    def _hold(self, recorder: Recorder) -> None:
        """Keep the screen now as the next action's "before" (if it changed since the copy held)."""
        rfb = self._mirror()
        if rfb is None or rfb.closed:
            self._before = None
            return
        held, now = self._before, time.monotonic()
        if held is not None and (held[0] == rfb.last_change or now - held[1] < self.HOLD_EVERY) and held[2].shape == rfb.framebuffer.shape:
            return
        self._before = (rfb.last_change, now, recorder._mirror_copy(rfb))

    def _action(self, action: dict[str, Any], began: float) -> None:
        recorder = self._recording()
        held, self._before = self._before, None
        if recorder is None:
            return
        recorder.note([action], self.source, began=began, before=None if held is None else held[2])
        self._hold(recorder)  # the screen now (the message that completed it has not reached the desktop): the next one's


def _jsonable(actions: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    try:
        return json.loads(json.dumps([dict(a) for a in actions], default=str))
    except (TypeError, ValueError):
        return [{"action": "unknown", "repr": repr(actions)[:1000]}]


def _version() -> str:
    from . import __version__

    return __version__


_atexit_registered = False


def _register_atexit() -> None:
    global _atexit_registered
    if not _atexit_registered:
        _atexit_registered = True
        atexit.register(_stop_all)


def _stop_all() -> None:
    for recorder in list(_active):
        try:
            recorder.stop()
        except Exception:  # noqa: BLE001 - exiting anyway
            recorder._kill()


class Trajectory:
    """A recorded folder, loaded: ``steps``, ``meta``, ``screens``, ``video``; export with :meth:`to_jsonl` and
    :meth:`to_dataset`. A recording cut short by a crash loads too (its last, half-written line is skipped)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        lines = self.path / "trajectory.jsonl"
        if not lines.is_file():
            raise FileNotFoundError(f"no recording in {self.path}: {lines.name} is missing")
        meta = self.path / "meta.json"
        self.meta: dict[str, Any] = json.loads(meta.read_text()) if meta.is_file() else {}
        self.steps: list[Step] = []
        text = lines.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(text, 1):
            if not line.strip():
                continue
            try:
                self.steps.append(Step.from_dict(json.loads(line)))
            except (ValueError, TypeError):
                if number < len(text):  # only the last line may be cut short (a crash while writing it)
                    raise ValueError(f"{lines}:{number} is not a step: {line[:200]!r}") from None

    @property
    def screens(self) -> list[Path]:
        """The screenshot files (each distinct screen once)."""
        return sorted((self.path / "screens").glob("*.png"))

    @property
    def videos(self) -> list[Path]:
        """The video's segments in order (one unless the screen was resized)."""
        segments = (self.meta.get("video") or {}).get("segments") or []
        found = [self.path / s["file"] for s in segments if (self.path / s["file"]).is_file()]
        if not found and (self.path / "video.mp4").is_file():
            found = [self.path / "video.mp4"]
        return found

    @property
    def video(self) -> Path | None:
        """video.mp4, or None when there is none."""
        videos = self.videos
        return videos[0] if videos else None

    def image(self, name: str) -> Image.Image:
        """A screenshot by the name a step gives (``screens/<hash>.png``)."""
        return Image.open(self.path / name)

    def __len__(self) -> int:
        return len(self.steps)

    def __repr__(self) -> str:
        return f"<Trajectory {str(self.path)!r} {len(self.steps)} steps, {len(self.screens)} screens>"

    def to_jsonl(self, path: str | os.PathLike[str], *, images: str = "path") -> Path:
        """Every step as one JSON line in one file. ``images="path"``: screenshot paths relative to that file's
        folder; ``"base64"``: the PNGs inline (a self-contained file)."""
        if images not in ("path", "base64"):
            raise InvalidInputError(f"images must be 'path' or 'base64', not {images!r}")
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out, "w", encoding="utf-8") as f:
            for step in self.steps:
                record = step.to_dict()
                for key in ("before", "after"):
                    name = record[key]
                    if name is None:
                        continue
                    if images == "path":
                        record[key] = os.path.relpath((self.path / name).resolve(), out.parent.resolve())
                    else:
                        record[key] = base64.b64encode((self.path / name).read_bytes()).decode()
                f.write(json.dumps(record) + "\n")
        return out

    def to_dataset(self, path: str | os.PathLike[str]) -> Path:
        """A folder for training or evaluation: ``data.jsonl``, one record per step that acted (source agent or
        human, with both screenshots): ``{"id", "source", "before", "actions", "after", "error", "duration"}`` with
        image paths relative to the folder, and ``images/`` holding those screenshots (each once)."""
        out = Path(path)
        (out / "images").mkdir(parents=True, exist_ok=True)
        copied: set[str] = set()
        with open(out / "data.jsonl", "w", encoding="utf-8") as f:
            for step in self.steps:
                if step.source not in ("agent", "human") or step.before is None or step.after is None:
                    continue
                record: dict[str, Any] = {"id": f"{self.path.name}-{step.step}", "source": step.source}
                for key in ("before", "after"):
                    name = Path(getattr(step, key)).name
                    if name not in copied:
                        shutil.copyfile(self.path / getattr(step, key), out / "images" / name)
                        copied.add(name)
                    record[key] = f"images/{name}"
                record.update(actions=step.actions, error=step.error, duration=step.duration)
                f.write(json.dumps(record) + "\n")
        return out

    def player(self, *, first: int = 0) -> Any:
        """The player widget: each step's action drawn on its screenshots, and the video (jupyter_desktop.player);
        ``first``: the first step shown (a player shows at most ``player.MAX_STEPS``)."""
        from .player import TrajectoryPlayer

        return TrajectoryPlayer(self, first=first)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        """The player where widgets render, with the last screenshot for places that show only images."""
        bundle: dict[str, Any] = {"text/plain": repr(self)}
        shots = [name for s in reversed(self.steps) for name in (s.after, s.before) if name]
        with contextlib.suppress(OSError):
            if shots:
                bundle["image/png"] = (self.path / "screens" / Path(shots[0]).name).read_bytes()
        try:
            widget_bundle = self.player()._repr_mimebundle_()
        except Exception:  # no widget machinery (a plain script, nbconvert)
            return bundle
        if isinstance(widget_bundle, tuple):
            widget_bundle = widget_bundle[0]
        return {**(widget_bundle or {}), **bundle}  # its text: the trajectory's, not the widget's
