"""Screen and input over RFB: the one code path of the in-process session and of the server-backed one.

Both hold an :class:`~jupyter_desktop.rfb.RFBClient` to their desktop: in process over the desktop's unix socket
(or TCP), in a kernel under a Jupyter server through the server's authenticated WebSocket proxy. The client keeps
a mirror of the framebuffer; screenshots come from it, and actions (:mod:`jupyter_desktop.actions`) are compiled
here and sent as RFB pointer and key events. What needs the desktop's programs (where the pointer is, windows,
the clipboard through xclip) is each session's own.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from typing import Any

from PIL import Image

from . import actions as _actions
from .errors import DesktopBusyError, InputLimitError, InvalidInputError
from .rfb import RFBClient

__all__ = ["RFBScreen", "scale_image", "scaled_size", "check_clipboard_text"]

MAX_CLIPBOARD = 1 << 20  # characters put on the clipboard
MAX_QUEUE_WAIT = 30.0  # seconds a batch of actions waits for the ones before it
MAX_STABLE_WAIT = 600.0  # seconds wait_until_stable may wait
EFFECT_GRACE = 0.5  # seconds an input's effect has to show before wait_until_stable counts quiet time
MAX_SCALED = 8192  # pixels on either side of a scaled screenshot


def scale_image(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Resize for a model. Shrinking averages areas (crisp text, and faster than bilinear: 6 ms vs
    9 ms for 1280x800 -> 1024x640); whole factors use ``reduce`` (under 1 ms for a half)."""
    if image.size == size:
        return image
    fx, fy = image.width / size[0], image.height / size[1]
    if fx == fy and fx.is_integer() and fx > 1:
        return image.reduce(int(fx))
    shrinking = size[0] <= image.width and size[1] <= image.height
    return image.resize(size, Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR)


def scaled_size(size: tuple[int, int], scale: float | Sequence[int]) -> tuple[int, int]:
    """The size of an image of ``size`` scaled by a factor in (0, 4], or to a (width, height)."""
    if isinstance(scale, (int, float)) and not isinstance(scale, bool):
        if not 0 < scale <= 4:  # NaN fails this too
            raise InvalidInputError(f"scale must be a number in 0..4 (above 0) or a (width, height), not {scale!r}")
        out = (max(1, round(size[0] * scale)), max(1, round(size[1] * scale)))
    elif isinstance(scale, (list, tuple)) and len(scale) == 2 and all(isinstance(v, int) and not isinstance(v, bool) for v in scale):
        out = (scale[0], scale[1])
    else:
        raise InvalidInputError(f"scale must be a factor (0.5) or a size (1024, 640), not {scale!r}")
    if not all(0 < v <= MAX_SCALED for v in out):
        raise InputLimitError(f"a scaled screenshot of {out[0]}x{out[1]}: each side must be 1..{MAX_SCALED} pixels")
    return out


def check_clipboard_text(text: Any) -> str:
    if not isinstance(text, str):
        raise InvalidInputError(f"clipboard text must be a string, not {type(text).__name__}")
    if len(text) > MAX_CLIPBOARD:
        raise InputLimitError(f"clipboard text of {len(text)} characters; the limit is {MAX_CLIPBOARD}")
    return text


async def _compile(
    actions: Sequence[Mapping[str, Any]], state: _actions.InputState, size: tuple[int, int]
) -> tuple[list[Any], _actions.InputState]:
    big = isinstance(actions, (list, tuple)) and (
        len(actions) > 100
        or sum(len(a.get("text", "")) for a in actions if isinstance(a, Mapping) and isinstance(a.get("text"), str)) > 2000
    )
    if big:
        return await asyncio.to_thread(_actions.compile_actions, actions, state, size)
    return _actions.compile_actions(actions, state, size)


class RFBScreen:
    """The screen and input of a session, over its RFB client. A session provides ``id``, :meth:`connected`
    (its live RFB client, or a clear error) and :meth:`pointer_position` (where the pointer really is)."""

    id: str

    def _init_screen(self) -> None:
        self.input = _actions.InputState()
        self._input_lock = asyncio.Lock()
        self.last_input = 0.0  # time.monotonic() when our last input event was sent

    async def connected(self) -> RFBClient:
        raise NotImplementedError

    async def pointer_position(self) -> tuple[int, int]:
        raise NotImplementedError

    # ------------------------------------------------------------------ screen

    async def screen_size(self) -> tuple[int, int]:
        rfb = await self.connected()
        return rfb.width, rfb.height

    async def capture(
        self, region: Sequence[int] | None = None, scale: float | Sequence[int] | None = None, fresh: bool = True
    ) -> Image.Image:
        """The screen (or ``region`` = (x, y, width, height)) as an RGB image, straight from the mirror; ``scale``:
        a factor in (0, 4] or a (width, height) to resize it to (checked before anything is read)."""
        rfb = await self.connected()
        x, y, w, h = check_region(region, (rfb.width, rfb.height))
        size = None if scale is None else scaled_size((w, h), scale)
        if fresh:
            await rfb.sync()
            x, y, w, h = check_region(region, (rfb.width, rfb.height))  # the screen may have been resized
            size = None if scale is None else scaled_size((w, h), scale)
        view = rfb.framebuffer[y : y + h, x : x + w]
        # One pass from the RGBX mirror into a new RGB image (a copy: the mirror keeps changing).
        image = Image.frombytes("RGB", (w, h), view if view.flags.c_contiguous else view.tobytes(), "raw", "RGBX")
        if size is None or size == image.size:
            return image
        return await asyncio.to_thread(scale_image, image, size)  # 6-8 ms for 1280x800 -> 1024x640: off the loop

    async def wait_until_stable(self, quiet: float = 0.5, timeout: float = 10.0) -> bool:
        """Wait until the screen has not changed for ``quiet`` seconds; False if ``timeout`` came first.

        The quiet time counts from this call at the earliest (a screen that was still before an action says
        nothing about the action's effect), and from the last change seen. When input was sent and nothing
        changed since, its effect gets ``EFFECT_GRACE`` seconds to show before the quiet time starts.
        """
        for name, value in (("quiet", quiet), ("timeout", timeout)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= MAX_STABLE_WAIT:
                raise InvalidInputError(f"{name} must be a number of seconds in 0..{MAX_STABLE_WAIT:g}, not {value!r}")
        start = time.monotonic()
        deadline = start + timeout
        while True:
            rfb = await self.connected()
            await rfb.sync()
            now = time.monotonic()
            since = max(start, rfb.last_change)
            if self.last_input > rfb.last_change:  # nothing has changed since our last input: not yet
                since = max(since, self.last_input + EFFECT_GRACE)
            still = now - since
            if still >= quiet:
                return True
            if now >= deadline:
                return False
            await asyncio.sleep(max(0.01, min(quiet - still, deadline - now, 0.05)))

    # ------------------------------------------------------------------ input

    async def perform(self, actions: Sequence[Mapping[str, Any]]) -> None:
        """Validate a batch of actions (see :mod:`jupyter_desktop.actions`) and send it."""
        rfb = await self.connected()
        # Check before waiting in line (a bad batch fails at once); a big batch compiles off the event loop
        # (100k characters take ~0.1 s), which serves every other request and viewer meanwhile.
        state, size = self.input, (rfb.width, rfb.height)
        compiled = await _compile(actions, state, size)
        try:
            await asyncio.wait_for(self._input_lock.acquire(), MAX_QUEUE_WAIT)
        except asyncio.TimeoutError:
            raise DesktopBusyError(
                f"desktop {self.id} is still busy with earlier batches of actions after {MAX_QUEUE_WAIT:g} s; "
                "try again, or send fewer or shorter batches at once"
            ) from None
        try:
            rfb = await self.connected()
            steps, after = compiled
            if _actions.needs_pointer(actions):
                x, y = await self.pointer_position()
                state = _actions.InputState(x, y, self.input.buttons, self.input.keys_down)
                steps, after = await _compile(actions, state, (rfb.width, rfb.height))
            elif self.input != state or size != (rfb.width, rfb.height):  # changed while this batch waited
                steps, after = await _compile(actions, self.input, (rfb.width, rfb.height))
            self.last_input = time.monotonic()
            try:
                await _actions.execute(steps, rfb)
            finally:
                self.last_input = time.monotonic()
            self.input = after
        finally:
            self._input_lock.release()


def check_region(region: Sequence[int] | None, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """``region`` = (x, y, width, height) inside a screen of ``size``; the whole screen for None."""
    width, height = size
    if region is None:
        return 0, 0, width, height
    if (
        not isinstance(region, (list, tuple))
        or len(region) != 4
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in region)
    ):
        raise InvalidInputError(f"region must be (x, y, width, height) in integers, not {region!r}")
    x, y, w, h = region
    if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > width or y + h > height:
        raise InvalidInputError(f"region {tuple(region)} is not inside the {width}x{height} screen")
    return x, y, w, h
