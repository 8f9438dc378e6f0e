"""What a model sees of a desktop: its screenshots, sized for the model, and the map from their pixels to the screen.

Every adapter in :mod:`jupyter_desktop.agents` speaks to the model through one ``ModelView``. The view

* picks the screenshot size once from the model's image limits (a long edge and a pixel count): a screen that fits
  is sent as it is; a larger one is shrunk, keeping its aspect ratio. The size is kept while the screen keeps its
  size, as the vendors ask ("keep the capture size fixed per session");
* maps a coordinate the model gives, in pixels of that screenshot, to the screen pixel under the middle of the model
  pixel (``int((x + 0.5) * screen / model)``), and back from the middle of a screen pixel (``int((x + 0.5) * model / screen)``): a point the model read off
  the screenshot lands on the screen pixel it saw, and the cursor it is told about is the pixel it will click;
* refuses a coordinate off the screenshot with an error that gives the valid range, instead of clamping it;
* waits, before each screenshot, until the screen has settled after the last input (``Desktop.wait_until_stable``),
  so the model sees the effect of what it did, not the frame before it.

The desktop's own coordinate mapping (``Desktop.screenshot(scale=...)``) is left alone: the view captures the whole
screen as a region, which does not change how ``Desktop`` reads later coordinates.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from PIL import Image

from ..errors import InvalidInputError

if TYPE_CHECKING:
    from ..desktop import Desktop

__all__ = ["ModelView", "ActionError", "fit", "png_base64"]


class ActionError(InvalidInputError):
    """A model's action that cannot be done as given (off the screenshot, an unknown key, too long a wait). The
    message is written for the model: it says what was wrong and what is allowed. Adapters turn it into an error
    result the model reads; nothing of the action was sent."""


def _scaled(size: tuple[int, int], factor: float, max_pixels: int | None) -> tuple[int, int]:
    # floor, with a hair of slack for 1568 / 3000 * 3000 = 1567.999...; then the pixel count is checked exactly
    w, h = max(1, math.floor(size[0] * factor + 1e-9)), max(1, math.floor(size[1] * factor + 1e-9))
    while max_pixels and w * h > max_pixels and w > 1 and h > 1:
        w, h = (w - 1, h) if w >= h else (w, h - 1)
    return w, h


def fit(size: tuple[int, int], max_long_edge: int | None, max_pixels: int | None) -> tuple[int, int]:
    """The largest size with ``size``'s aspect ratio within a long edge and a pixel count (never larger than
    ``size`` itself, and at least 1x1)."""
    factor = fill_factor(size, max_long_edge, max_pixels)
    return size if factor >= 1.0 else _scaled(size, factor, max_pixels)


def fill(size: tuple[int, int], max_long_edge: int | None, max_pixels: int | None) -> tuple[int, int]:
    """``size`` scaled up or down to fill the image budget, keeping its aspect ratio (a zoom's output)."""
    factor = fill_factor(size, max_long_edge, max_pixels)
    return size if factor == math.inf else _scaled(size, factor, max_pixels)


def fill_factor(size: tuple[int, int], max_long_edge: int | None, max_pixels: int | None) -> float:
    w, h = size
    factor = math.inf
    if max_long_edge:
        factor = min(factor, max_long_edge / max(w, h))
    if max_pixels:
        factor = min(factor, math.sqrt(max_pixels / (w * h)))
    return factor


def png_base64(image: Image.Image) -> str:
    """The image as base64 PNG text (no ``data:`` prefix). Level 1: a 1280x800 desktop in ~15 ms, not ~60."""
    buf = io.BytesIO()
    image.save(buf, "PNG", compress_level=1)
    return base64.b64encode(buf.getvalue()).decode("ascii")


class ModelView:
    """A desktop as one model sees it. ``max_long_edge`` and ``max_pixels`` are the model's image limits; ``size``
    fixes the screenshot size instead (any aspect ratio: x and y are then scaled apart). ``settle`` is the quiet time,
    in seconds, the screen must keep before a screenshot, waiting at most ``settle_timeout`` (after which the screenshot
    is taken anyway: a clock or a video never settles)."""

    def __init__(
        self,
        desktop: Desktop,
        *,
        max_long_edge: int | None = None,
        max_pixels: int | None = None,
        size: tuple[int, int] | None = None,
        settle: float = 0.3,
        settle_timeout: float = 3.0,
    ) -> None:
        if size is not None and not (
            isinstance(size, (tuple, list))
            and len(size) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) and 0 < v <= 8192 for v in size)
        ):
            raise InvalidInputError(f"size must be (width, height) in pixels, each 1..8192, not {size!r}")
        for name, value in (("max_long_edge", max_long_edge), ("max_pixels", max_pixels)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise InvalidInputError(f"{name} must be a positive whole number of pixels, or None; not {value!r}")
        for name, seconds in (("settle", settle), ("settle_timeout", settle_timeout)):
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds <= 60:
                raise InvalidInputError(f"{name} must be a number of seconds in 0..60, not {seconds!r}")
        self.desktop = desktop
        self.max_long_edge = max_long_edge
        self.max_pixels = max_pixels
        self.settle = float(settle)
        self.settle_timeout = float(settle_timeout)
        self._fixed = tuple(size) if size is not None else None
        self.screen: tuple[int, int] = (0, 0)
        self.size: tuple[int, int] = (0, 0)
        self.refresh()

    def refresh(self) -> tuple[int, int]:
        """Read the screen size again (after a resize); the model's size follows. Returns the model's size."""
        screen = self.desktop.get_screen_size()
        if screen != self.screen:
            self.screen = screen
            self.size = self._fixed or fit(screen, self.max_long_edge, self.max_pixels)  # type: ignore[assignment]
        return self.size

    @property
    def scaled(self) -> bool:
        return self.size != self.screen

    # ------------------------------------------------------------------ coordinates

    def to_screen(self, x: Any, y: Any, what: str = "coordinate") -> tuple[int, int]:
        """The screen pixel under model pixel (x, y); ``ActionError`` if it is off the screenshot."""
        w, h = self.size
        for v in (x, y):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ActionError(f"{what} must be two numbers [x, y], not {[x, y]!r}")
        if not (0 <= x < w and 0 <= y < h):
            raise ActionError(
                f"{what} ({x:g}, {y:g}) is off the screen: the screenshot is {w}x{h} pixels, so x must be in "
                f"0..{w - 1} and y in 0..{h - 1}"
            )
        sw, sh = self.screen
        return min(sw - 1, int((x + 0.5) * sw / w)), min(sh - 1, int((y + 0.5) * sh / h))

    def point(self, value: Any, what: str = "coordinate") -> tuple[int, int]:
        """``[x, y]`` from a model, checked and mapped to the screen."""
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            raise ActionError(f"{what} must be [x, y], not {value!r}")
        return self.to_screen(value[0], value[1], what)

    def to_model(self, x: int, y: int) -> tuple[int, int]:
        """The model pixel that shows screen pixel (x, y)."""
        # the middle of the screen pixel, as to_screen maps a model pixel's middle: to_model(to_screen(p)) == p
        (w, h), (sw, sh) = self.size, self.screen
        return min(w - 1, int((x + 0.5) * w / sw)), min(h - 1, int((y + 0.5) * h / sh))

    def region(self, box: Any) -> tuple[int, int, int, int]:
        """A model-space box ``[x0, y0, x1, y1]`` (corners, x1 > x0, y1 > y0) as a screen region (x, y, w, h)."""
        if not isinstance(box, (list, tuple)) or len(box) != 4:
            raise ActionError(f"region must be [x0, y0, x1, y1], not {box!r}")
        w, h = self.size
        x0, y0, x1, y1 = box
        for v in box:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ActionError(f"region must be four numbers [x0, y0, x1, y1], not {box!r}")
        if not (0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h):
            raise ActionError(
                f"region {list(box)!r} is not a box on the {w}x{h} screenshot: it needs 0 <= x0 < x1 <= {w} and "
                f"0 <= y0 < y1 <= {h}"
            )
        sw, sh = self.screen
        left, top = int(x0 * sw / w), int(y0 * sh / h)
        right, bottom = max(left + 1, math.ceil(x1 * sw / w)), max(top + 1, math.ceil(y1 * sh / h))
        return left, top, min(sw, right) - left, min(sh, bottom) - top

    # ------------------------------------------------------------------ seeing

    def screenshot(self) -> Image.Image:
        """The screen once it has settled after the last input, at the model's size."""
        self.desktop.wait_until_stable(timeout=self.settle_timeout, quiet=self.settle)
        self.refresh()
        sw, sh = self.screen
        return self.desktop.screenshot(region=(0, 0, sw, sh), scale=self.size if self.scaled else None)

    def zoom(self, box: Any) -> Image.Image:
        """A model-space box at the screen's own resolution, scaled to fill the model's image budget."""
        self.refresh()
        region = self.region(box)
        self.desktop.wait_until_stable(timeout=self.settle_timeout, quiet=self.settle)
        size = fill(region[2:], self.max_long_edge, self.max_pixels) if (self.max_long_edge or self.max_pixels) \
            else self.size
        return self.desktop.screenshot(region=region, scale=size if size != tuple(region[2:]) else None)

    def accessibility(self, app: str | None = None, max_nodes: int = 2000) -> tuple[str, Any]:
        """The widgets on the screen as the outline a model reads (:func:`~jupyter_desktop.accessibility.outline`),
        bounds in model pixels; and the :class:`~jupyter_desktop.accessibility.AccessibilityTree` it came from."""
        from ..accessibility import outline

        self.refresh()
        tree = self.desktop.accessibility(app=app, max_nodes=max_nodes)
        return outline(tree.snapshot, scale=self.size[0] / self.screen[0]), tree  # type: ignore[union-attr]

    def cursor(self) -> tuple[int, int]:
        """Where the pointer is, in model pixels."""
        self.refresh()
        sw, sh = self.screen
        x, y = self._pointer()
        return self.to_model(min(max(x, 0), sw - 1), min(max(y, 0), sh - 1))

    def _pointer(self) -> tuple[int, int]:
        # Desktop.get_cursor_position answers in the desktop's own coordinate space, which a user's
        # screenshot(scale=...) may have changed; the session's answer is in screen pixels.
        d = self.desktop
        return d._call(d._session.pointer_position())

    # ------------------------------------------------------------------ acting

    def perform(self, actions: Sequence[Mapping[str, Any]]) -> None:
        """One batch of :mod:`jupyter_desktop.actions` in screen pixels, checked whole before anything is sent (a bad
        key name in it raises ``InvalidInputError`` and sends nothing)."""
        self.desktop.perform(actions)
