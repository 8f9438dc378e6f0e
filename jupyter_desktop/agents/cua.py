"""A desktop as cua-agent's computer: ``ComputerAgent(model=..., tools=[CuaComputer(d)])``.

cua's ``ComputerAgent`` takes any object that has the methods of its ``AsyncComputerHandler`` protocol
(``cua_agent.computers.base``): ``get_environment``, ``get_dimensions``, ``screenshot``, ``click``, ``double_click``,
``scroll``, ``type``, ``wait``, ``move``, ``keypress``, ``drag``, ``get_current_url``, ``left_mouse_down``,
``left_mouse_up``, all coroutines. Each of cua's agent loops (OpenAI's, Claude's, the grounded ones ...) turns its
model's answer into calls of those methods, in OpenAI's action space; :class:`CuaComputer` has them, so it needs no
import of cua (the protocol is structural) and importing it costs nothing.

>>> agent = ComputerAgent(model="anthropic/claude-sonnet-4-5-20250929", tools=[CuaComputer(d, max_long_edge=1280)])
>>> async for result in agent.run("Open a terminal and type hello"): ...

The actions are :class:`~jupyter_desktop.agents.openai.OpenAIComputer`'s, run in a worker thread (cua's event loop
is not blocked): coordinates are pixels of the screenshots the model gets (:class:`ModelView`), and
``get_dimensions()`` is their size; a screenshot waits until the screen has settled. A model's mistake (a point off
the screenshot, an unknown key) raises cua's ``ToolError`` when cua-agent is installed, which ``ComputerAgent``
hands back to the model as the call's error output; nothing of the action was sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from .model_view import ActionError, ModelView
from .openai import OpenAIComputer

if TYPE_CHECKING:
    from ..desktop import Desktop

__all__ = ["CuaComputer"]

MAX_WAIT_MS = 60_000
T = TypeVar("T")


class CuaComputer:
    """A desktop as cua-agent's computer handler (its ``AsyncComputerHandler`` protocol). ``max_long_edge`` /
    ``max_pixels`` / ``size`` bound the screenshots, ``settle`` / ``settle_timeout`` tune the wait for a settled
    screen (:class:`ModelView`)."""

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
        self.desktop = desktop
        # cua acknowledges pending safety checks itself; OpenAIComputer's check is for its run(), not used here
        self.computer = OpenAIComputer(
            desktop, max_long_edge=max_long_edge, max_pixels=max_pixels, size=size, settle=settle,
            settle_timeout=settle_timeout,
        )  # fmt: skip

    @property
    def view(self) -> ModelView:
        return self.computer.view

    async def _run(self, function: Callable[..., T], *args: Any) -> T:
        try:
            return await asyncio.to_thread(function, *args)
        except ActionError as exc:
            raise _tool_error(exc) from None

    async def _act(self, action: dict[str, Any]) -> None:
        await self._run(self.computer.act, [action])

    # ------------------------------------------------------------------ what the model sees

    async def get_environment(self) -> Literal["windows", "mac", "linux", "browser"]:
        return "linux"

    async def get_dimensions(self) -> tuple[int, int]:
        """The size of the screenshots, in which the model's coordinates are given."""
        return await self._run(self.view.refresh)

    async def screenshot(self, text: str | None = None) -> str:
        """The settled screen as base64 PNG (no ``data:`` prefix). ``text`` is cua's and is ignored."""
        return await self._run(self.computer.screenshot_base64)

    async def get_current_url(self) -> str:
        """A desktop has no current URL: ``""``, as cua's own non-browser computers answer."""
        return ""

    # ------------------------------------------------------------------ OpenAI's action space

    async def click(self, x: int, y: int, button: str = "left") -> None:
        """``button``: left, right, wheel (or middle), back, forward."""
        await self._act({"type": "click", "x": x, "y": y, "button": button})

    async def double_click(self, x: int, y: int) -> None:
        await self._act({"type": "double_click", "x": x, "y": y})

    async def scroll(self, x: int, y: int, scroll_x: int, scroll_y: int) -> None:
        """``scroll_x`` / ``scroll_y`` are distances in pixels, as in OpenAI's action (about 100 to a wheel notch,
        at least one notch for any non-zero distance); positive is right / down."""
        await self._act({"type": "scroll", "x": x, "y": y, "scroll_x": scroll_x, "scroll_y": scroll_y})

    async def type(self, text: str) -> None:
        await self._act({"type": "type", "text": text})

    async def wait(self, ms: int = 1000) -> None:
        if isinstance(ms, bool) or not isinstance(ms, (int, float)) or not 0 <= ms <= MAX_WAIT_MS:
            raise _tool_error(ActionError(f"wait takes ms, a number in 0..{MAX_WAIT_MS}, not {ms!r}"))
        await asyncio.sleep(ms / 1000)

    async def move(self, x: int, y: int) -> None:
        await self._act({"type": "move", "x": x, "y": y})

    async def keypress(self, keys: list[str] | str) -> None:
        """A chord: ``["CTRL", "C"]``, or one string (``"ctrl+c"``, ``"Return"``)."""
        if isinstance(keys, str):
            keys = keys.split("+") if len(keys) > 1 else [keys]
        await self._act({"type": "keypress", "keys": keys})

    async def drag(self, path: list[dict[str, int]]) -> None:
        """Press the left button at ``path[0]``, move through the points, release at the last."""
        await self._act({"type": "drag", "path": path})

    # ------------------------------------------------------------------ Anthropic's action space

    async def left_mouse_down(self, x: int | None = None, y: int | None = None) -> None:
        """Press the left button at (x, y), or where the pointer is."""
        await self._run(self._button, "mouse_down", x, y)

    async def left_mouse_up(self, x: int | None = None, y: int | None = None) -> None:
        await self._run(self._button, "mouse_up", x, y)

    def _button(self, kind: str, x: int | None, y: int | None) -> None:
        action: dict[str, Any] = {"action": kind, "button": "left"}
        if x is not None or y is not None:
            self.view.refresh()
            action["x"], action["y"] = self.view.to_screen(x, y, "x, y")
        self.view.perform([action])

    # ------------------------------------------------------------------ cua's own

    async def terminate(self, status: str = "success") -> dict[str, Any]:
        """The ``terminate`` action some of cua's loops emit (not in the protocol; cua's own computers have it):
        nothing is done on the desktop, and cua ends the run."""
        return {"success": True, "status": status, "terminated": True}


def _tool_error(exc: ActionError) -> Exception:
    """cua's ``ToolError`` (which ``ComputerAgent`` reports to the model) when cua-agent is there, else ``exc``."""
    try:
        from cua_agent.types import ToolError
    except ImportError:
        return exc
    return ToolError(str(exc))
