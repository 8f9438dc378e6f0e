"""A recorded trajectory in a notebook cell: step through it with its screenshots and play its video.

``Trajectory(path)`` displayed in a notebook is the player (``Trajectory.player()`` returns it): an anywidget,
``static/player.js`` (``js/src/player.js``: plain DOM, no noVNC). The steps go to the view as a trait; the
screenshots and the video stay on the kernel's disk until the view asks for them, through the widget's comm:

- ``{"type": "screen", "id", "name"}``: one screenshot, by the name a step gives (``screens/<hash>.png``).
  Only the names of the steps shown are served, and only files in the folder's ``screens/``: never a path the
  view makes up. The answer carries the PNG as a binary buffer, or ``"error"`` (the view shows it).
- ``{"type": "video", "id", "segment", "offset"}``: ``CHUNK`` bytes of a video segment from ``offset``; the view
  asks for the next chunk once one has arrived (one request in flight), assembles a Blob and plays it. A segment
  above ``MAX_VIDEO_BYTES`` is not sent: the view names the file instead.

Every answer echoes the request's ``id`` (each view of the same widget picks its own answers). Limits, each
named in the error that meets it: ``MAX_STEPS`` steps and ``MAX_STEP_BYTES`` of step JSON shown (``first=``
shows later ones), ``MAX_TEXT_SHOWN`` characters of a typed text, ``MAX_SCREEN_BYTES`` a screenshot,
``MAX_VIDEO_BYTES`` a video segment.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from .errors import InputLimitError, InvalidInputError

if TYPE_CHECKING:
    from .trajectory import Trajectory

__all__ = ["TrajectoryPlayer", "MAX_STEPS", "MAX_VIDEO_BYTES", "MAX_SCREEN_BYTES", "CHUNK"]

STATIC = Path(__file__).resolve().parent / "static"
_MISSING = """
export default { render({ el }) {
  el.textContent = "jupyter_desktop: the player bundle (static/player.js) is missing; rebuild the package (pip install -e .).";
} };
"""

MAX_STEPS = 10_000  # steps shown by one player (the view lists them all)
MAX_STEP_BYTES = 8 << 20  # their JSON, all together (the trait goes to the browser at once)
MAX_TEXT_SHOWN = 2000  # characters of one typed text (or pressed keys) kept in the view's copy of a step
MAX_PATH_SHOWN = 1000  # points of one drag kept in the view's copy (actions.MAX_PATH)
MAX_SCREEN_BYTES = 64 << 20  # one screenshot's PNG
MAX_VIDEO_BYTES = 256 << 20  # one video segment: the view holds it whole (a Blob) to play it
CHUNK = 1 << 20  # bytes of video a message
MAX_NAME = 300  # characters of a requested screenshot name
KINDS = ("screen", "video")


def _esm() -> Path | str:
    path = STATIC / "player.js"
    return path if path.exists() else _MISSING


def _shown_action(action: Any) -> Any:
    """The view's copy of an action: long texts and paths cut (marked), the rest as recorded."""
    if not isinstance(action, dict):
        return action
    out = dict(action)
    for key in ("text", "keys"):
        value = out.get(key)
        if isinstance(value, str) and len(value) > MAX_TEXT_SHOWN:
            out[key] = value[:MAX_TEXT_SHOWN]
            out["cut"] = f"{key}: {len(value) - MAX_TEXT_SHOWN} more characters not shown (MAX_TEXT_SHOWN)"
    path = out.get("path")
    if isinstance(path, list) and len(path) > MAX_PATH_SHOWN:
        out["path"] = path[: MAX_PATH_SHOWN - 1] + path[-1:]
        out["cut"] = f"path: {len(path) - MAX_PATH_SHOWN} points not shown (MAX_PATH_SHOWN)"
    return out


class TrajectoryPlayer(anywidget.AnyWidget):
    """Steps through a :class:`~jupyter_desktop.trajectory.Trajectory`: each step's action drawn on its before and
    after screenshots, and the video from that step. Get one with ``Trajectory.player()`` or display a Trajectory.

    ``first``: the index of the first step shown (a trajectory longer than ``MAX_STEPS`` is shown in parts)."""

    _esm = _esm()
    _css = STATIC / "player.css" if (STATIC / "player.css").exists() else ""

    #: The recording's folder (shown, and named when the video is too large to play here).
    path = traitlets.Unicode("").tag(sync=True)
    #: The steps shown (trajectory.jsonl's lines; long texts cut, see ``MAX_TEXT_SHOWN``).
    steps = traitlets.List(traitlets.Dict()).tag(sync=True)
    #: How many steps the trajectory has, and the index of the first one shown.
    total_steps = traitlets.Int(0).tag(sync=True)
    first = traitlets.Int(0).tag(sync=True)
    #: Why not every step is shown ("" when they all are).
    note = traitlets.Unicode("").tag(sync=True)
    screen_width = traitlets.Int(0).tag(sync=True)
    screen_height = traitlets.Int(0).tag(sync=True)
    #: The video's segments: file, path, start (s since the recording began: a step's t minus it is the time in
    #: that segment), end, bytes, playable (within ``max_video_bytes``).
    videos = traitlets.List(traitlets.Dict()).tag(sync=True)
    #: Why there is no video (meta.json's video_error, or "").
    video_error = traitlets.Unicode("").tag(sync=True)
    max_video_bytes = traitlets.Int(MAX_VIDEO_BYTES).tag(sync=True)
    chunk = traitlets.Int(CHUNK).tag(sync=True)

    def __init__(self, trajectory: Trajectory, *, first: int = 0, **kwargs: Any) -> None:
        total = len(trajectory.steps)
        if isinstance(first, bool) or not isinstance(first, int) or not 0 <= first <= max(0, total - 1):
            raise InvalidInputError(f"first must be a step index in 0..{max(0, total - 1)}, not {first!r}")
        self._trajectory = trajectory
        self._folder = trajectory.path.resolve()
        steps: list[dict[str, Any]] = []
        used = 0
        note = ""
        for step in trajectory.steps[first:]:
            if len(steps) >= MAX_STEPS:
                note = f"the first {MAX_STEPS} steps (MAX_STEPS)"
                break
            record = step.to_dict()
            if isinstance(record.get("actions"), list):
                record["actions"] = [_shown_action(a) for a in record["actions"]]
            used += len(json.dumps(record))
            if used > MAX_STEP_BYTES and steps:  # (one step at least)
                note = f"{MAX_STEP_BYTES} bytes of step JSON (MAX_STEP_BYTES)"
                break
            steps.append(record)
        if note:
            last = first + len(steps)
            note = (
                f"showing steps {first}..{last - 1} of {total}: the player shows at most {note}; "
                f"see the rest with Trajectory.player(first={last})"
            )
        elif first:
            note = f"showing steps {first}..{total - 1} of {total} (first={first})"
        # the names the view may ask for: those of the steps it has, nothing else
        self._names = {s[k] for s in steps for k in ("before", "after") if isinstance(s.get(k), str)}
        desktop = trajectory.meta.get("desktop") or {}
        segments = {s.get("file"): s for s in (trajectory.meta.get("video") or {}).get("segments") or []}
        videos = []
        for file in trajectory.videos:
            info = segments.get(file.name, {})
            size = file.stat().st_size
            videos.append(
                {
                    "file": file.name,
                    "path": str(file.resolve()),
                    "start": float(info.get("start") or 0.0),
                    "end": info.get("end"),
                    "bytes": size,
                    "width": info.get("width", desktop.get("width", 0)),
                    "height": info.get("height", desktop.get("height", 0)),
                    "playable": size <= MAX_VIDEO_BYTES,
                }
            )
        self._videos = [Path(v["path"]) for v in videos]
        super().__init__(
            path=str(trajectory.path),
            steps=steps,
            total_steps=total,
            first=first,
            note=note,
            screen_width=int(desktop.get("width") or 0),
            screen_height=int(desktop.get("height") or 0),
            videos=videos,
            video_error=str(trajectory.meta.get("video_error") or ("" if videos else "no video in this recording")),
            **kwargs,
        )
        self.on_msg(self._on_message)

    # ------------------------------------------------------------------ messages from the view

    def _on_message(self, _: Any, content: Any, buffers: list[Any]) -> None:
        reply, data = self.handle(content)
        with contextlib.suppress(Exception):  # the comm may be closed already
            self.send(reply, data)

    def handle(self, content: Any) -> tuple[dict[str, Any], list[bytes]]:
        """The answer to one message from the view: (content, buffers). Never raises: errors are answers."""
        kind = content.get("type") if isinstance(content, dict) else None
        reply: dict[str, Any] = {"type": kind if kind in KINDS else "error"}
        if isinstance(content, dict) and isinstance(content.get("id"), (str, int)):
            reply["id"] = content["id"]
        try:
            if kind == "screen":
                data = self._screen(content)
                reply.update(name=content["name"], bytes=len(data))
                return reply, [data]
            if kind == "video":
                segment, offset, data, size = self._video_chunk(content)
                reply.update(segment=segment, offset=offset, bytes=len(data), size=size, done=offset + len(data) >= size)
                return reply, [data]
            raise InvalidInputError(f"unknown message type {kind!r}; the player answers {', '.join(KINDS)}")
        except (InvalidInputError, OSError) as exc:
            for key in ("name", "segment", "offset"):
                if isinstance(content, dict) and key in content and isinstance(content[key], (str, int)):
                    reply[key] = content[key]
            reply["error"] = str(exc)
            return reply, []

    def _screen(self, content: dict[str, Any]) -> bytes:
        name = content.get("name")
        if not isinstance(name, str) or not name or len(name) > MAX_NAME:
            raise InvalidInputError(f"name must be a screenshot name of at most {MAX_NAME} characters, not {name!r:.80}")
        if name not in self._names:
            raise InvalidInputError(f"{name!r} is not a screenshot of the steps shown: the player serves only those")
        path = (self._folder / name).resolve()
        if path.parent != self._folder / "screens" or path.suffix != ".png":
            raise InvalidInputError(f"{name!r} is not in the recording's screens/ folder: not served")
        if not path.is_file():
            raise InvalidInputError(f"the screenshot {name} is missing from {self._folder}")
        size = path.stat().st_size
        if size > MAX_SCREEN_BYTES:
            raise InputLimitError(
                f"the screenshot {name} is {size} bytes; the player sends at most {MAX_SCREEN_BYTES} "
                f"(MAX_SCREEN_BYTES): open {path}"
            )
        return path.read_bytes()

    def _video_chunk(self, content: dict[str, Any]) -> tuple[int, int, bytes, int]:
        segment, offset = content.get("segment"), content.get("offset")
        if isinstance(segment, bool) or not isinstance(segment, int) or not 0 <= segment < len(self._videos):
            raise InvalidInputError(
                f"segment must be a video segment's index in 0..{len(self._videos) - 1}, not {segment!r:.80}"
                if self._videos
                else "this recording has no video"
            )
        path = self._videos[segment]
        size = path.stat().st_size
        if size > MAX_VIDEO_BYTES:
            raise InputLimitError(
                f"the video {path.name} is {size / (1 << 20):.1f} MiB; the player plays at most "
                f"{MAX_VIDEO_BYTES >> 20} MiB in the notebook (MAX_VIDEO_BYTES): open {path}"
            )
        if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset < size:
            raise InvalidInputError(f"offset must be a byte offset in 0..{size - 1} of {path.name}, not {offset!r:.80}")
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read(CHUNK)
        return segment, offset, data, size
