"""The live desktop in a notebook cell: an anywidget around noVNC (``static/widget.js``, bundled, no CDN).

How the view reaches the desktop:

- The desktop lives under the Jupyter server (``Desktop()`` in a kernel of a server with our extension):
  the browser opens the server's authenticated WebSocket proxy (``ws_url``) with the page's own auth.
- The desktop lives in the kernel (no server extension: VS Code, Colab, a plain kernel), or the page cannot
  reach the server's proxy: the view asks the kernel to *tunnel* RFB bytes through the widget's comm.
  The kernel relays between the comm and the desktop's VNC socket (or the server's proxy).

Python methods never wait on the browser: ``Desktop`` talks to the desktop directly; the view only shows it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any

import anywidget
import traitlets
from ipywidgets import widget_serialization

from .errors import DesktopClosedError, InputLimitError
from .trajectory import ViewerInput
from .upload import Uploads

__all__ = ["DesktopView", "DesktopGrid", "MAX_GRID_TILES"]

STATIC = Path(__file__).resolve().parent / "static"
_MISSING = """
export default { render({ el }) {
  el.textContent = "jupyter_desktop: the widget bundle (static/widget.js) is missing; rebuild the package (pip install -e .).";
} };
"""

MAX_GRID_TILES = 64  # desktops in one grid: each tile is a live RFB stream the browser decodes
MAX_MESSAGES_PER_SECOND = 200  # jupyter-server drops iopub messages above 1000/s; stay well under
CHUNK = 1 << 20


def _esm() -> Path | str:
    path = STATIC / "widget.js"
    return path if path.exists() else _MISSING


class _Channel:
    """One view's tunnel: RFB bytes between the comm and the desktop's VNC server."""

    def __init__(self, widget: DesktopView, channel: str) -> None:
        self.widget = widget
        self.channel = channel
        self.reader: Any = None
        self.writer: Any = None
        self.task: asyncio.Task[None] | None = None
        self.reason = "closed"  # what the view is told when the channel ends; "closed" = the view closed it
        # A person's input, recorded while the desktop records in this process (Desktop.record). A desktop the
        # server holds: the relay goes through the server's proxy, which records it.
        d = widget._desktop
        self.input = None if d._server_side else ViewerInput(lambda: d._recorder, lambda: d._session.rfb, "human")

    def start(self) -> None:
        """On the loop: run the relay; whatever ends it (even a cancel before it ran) tells the view."""
        self.task = asyncio.get_running_loop().create_task(self.run())
        self.task.add_done_callback(self._finished)

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()

    async def run(self) -> None:
        try:
            self.reader, self.writer = await self.widget._open_vnc()
            self.widget._post({"op": "open", "channel": self.channel})
            last = 0.0
            while True:
                # Pace the messages (the server drops iopub floods); bytes pile up meanwhile, so a busy
                # screen sends fewer, bigger messages.
                await asyncio.sleep(max(0.0, last + 1 / MAX_MESSAGES_PER_SECOND - time.monotonic()))
                data = await self.reader(CHUNK)
                if not data:
                    self.reason = "the desktop stopped"
                    break
                last = time.monotonic()
                self.widget._post({"op": "data", "channel": self.channel}, [data])
        except asyncio.CancelledError:
            self.reason = "closed"
            raise
        except Exception as exc:  # the view shows why
            self.reason = str(exc) or type(exc).__name__

    def _finished(self, _: asyncio.Task[None]) -> None:
        self.close()
        self.widget._channels.pop(self.channel, None)
        self.widget._post({"op": "closed", "channel": self.channel, "reason": self.reason})

    def write(self, data: bytes) -> None:
        if self.writer is not None:
            if self.input is not None:
                self.input.feed(data)
            self.writer(data)

    def close(self) -> None:
        if self.input is not None:
            self.input.flush()
        if self.writer is not None:
            with contextlib.suppress(Exception):
                self.writer(None)
            self.writer = None


class DesktopView(anywidget.AnyWidget):
    """The live view of one desktop, with a toolbar. Get one with ``Desktop.view()`` or display a Desktop."""

    _esm = _esm()
    _css = STATIC / "widget.css" if (STATIC / "widget.css").exists() else ""

    desktop_id = traitlets.Unicode("").tag(sync=True)
    #: WebSocket path relative to the Jupyter base URL; empty when only the kernel can reach the desktop.
    ws_url = traitlets.Unicode("").tag(sync=True)
    #: The full-page viewer, relative to the Jupyter base URL ("" when the server does not hold the desktop).
    viewer_url = traitlets.Unicode("").tag(sync=True)
    status = traitlets.Unicode("starting").tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    screen_width = traitlets.Int(1280).tag(sync=True)
    screen_height = traitlets.Int(800).tag(sync=True)
    #: Watch only, or drive the desktop with mouse and keyboard. Off by default: a person who clicks into
    #: the cell expects control; an agent loop can set it to keep hands off while code drives.
    view_only = traitlets.Bool(False).tag(sync=True)
    #: "fit" scales the screen into the cell; "1:1" shows real pixels with scrollbars.
    scale = traitlets.Enum(["fit", "1:1"], "fit").tag(sync=True)
    #: "full": as wide as the cell at the screen's aspect ratio (with scale "1:1": the screen's height), at most
    #: 85% of the window's height; "compact": 300 px high.
    size = traitlets.Enum(["full", "compact"], "full").tag(sync=True)
    #: Resize the remote screen to the widget when the widget changes size (the user asks for it).
    resize_remote = traitlets.Bool(False).tag(sync=True)
    #: The folder the desktop is being recorded into (``Desktop.record``), "" when it is not: the toolbar's record
    #: button shows it, and starts (into ``recordings/<id>-<date>-<time>`` next to the notebook) or stops one.
    recording = traitlets.Unicode("").tag(sync=True)
    #: The desktop's exposed ports (``Desktop.expose``): ``{"port", "name", "path"}`` each, the path relative to the
    #: Jupyter base URL. The view shows them as tabs beside the desktop (js/src/tabs.js).
    ports = traitlets.List(traitlets.Dict()).tag(sync=True)

    def __init__(self, desktop: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._desktop = desktop
        self._channels: dict[str, _Channel] = {}
        # files dropped on the view (upload.py): to the desktop's ~/Desktop
        self._uploads = Uploads(desktop.files, lambda content: self._post_upload(content), lambda: self.view_only)
        self.on_msg(self._on_message)
        self.refresh()

    def refresh(self) -> None:
        """Copy the desktop's state into the view (id, size, status, how to reach it)."""
        d = self._desktop
        try:
            info = d.info if not d._closed else {"status": "stopped", "id": d.id}
        except DesktopClosedError as exc:  # stopped elsewhere (the launcher's list, another kernel)
            info = {"status": "stopped", "error": str(exc)}
        except Exception as exc:  # the server cannot be reached: the view says why
            info = {"status": "error", "error": f"cannot get the desktop's status: {exc}"}
        with self.hold_sync():
            self.desktop_id = d.id
            self.status = info.get("status", "stopped")
            self.error = info.get("error") or ""
            self.screen_width = info.get("width", self.screen_width)
            self.screen_height = info.get("height", self.screen_height)
            recorder = d._recorder
            self.recording = str(recorder.path) if recorder is not None else ""
            server = d._server_side
            self.ws_url = f"desktop/api/desktops/{d.id}/vnc" if server else ""
            self.viewer_url = f"desktop/{d.id}/" if server else ""
            self.ports = list(info.get("ports") or []) if server else []

    # ------------------------------------------------------------------ messages from the view

    def _post(self, content: dict[str, Any], buffers: list[bytes] | None = None) -> None:
        with contextlib.suppress(Exception):  # the comm may be closed already
            self.send({"type": "tunnel", **content}, buffers)

    def _on_message(self, _: Any, content: dict[str, Any], buffers: list[Any]) -> None:
        kind = content.get("type")
        if kind == "tunnel":
            self._tunnel(content, buffers)
        elif kind == "terminate":
            self._desktop.close()
            self.refresh()
        elif kind == "restart":
            try:
                self._desktop.restart()
            finally:
                self.refresh()
        elif kind == "refresh":
            self.refresh()
        elif kind == "record":
            self._record(content.get("on") is True)
        elif kind == "upload":
            self._uploads.handle(content, buffers)

    def _post_upload(self, content: dict[str, Any]) -> None:
        with contextlib.suppress(Exception):  # the comm may be closed already
            self.send({"type": "upload", **content})

    def _say(self, text: str, tone: str = "") -> None:
        with contextlib.suppress(Exception):  # the comm may be closed already
            self.send({"type": "said", "text": text[:1000], "tone": tone})

    def _record(self, on: bool) -> None:
        """The record button: start a recording next to the notebook, or stop the one under way."""
        d = self._desktop
        try:
            if on:
                recorder = d.record(Path("recordings") / time.strftime(f"{d.id}-%Y%m%d-%H%M%S"))
                self._say(f"Recording into {recorder.path}")
            elif d._recorder is not None:
                recorder = d._recorder
                recorder.stop()
                n = len(recorder.steps)
                self._say(f"Recorded {n} step{'' if n == 1 else 's'}: Trajectory({str(recorder.path)!r}) plays them")
        except Exception as exc:  # the view says why (a full disk, the server's limit ...)
            self._say(f"Recording: {exc}", "error")
        finally:
            self.refresh()

    def _tunnel(self, content: dict[str, Any], buffers: list[Any]) -> None:
        channel = str(content.get("channel", ""))
        op = content.get("op")
        runner = self._desktop._runner
        if op == "open" and channel and channel not in self._channels:
            tunnel = _Channel(self, channel)
            self._channels[channel] = tunnel
            runner.loop.call_soon_threadsafe(tunnel.start)
        elif op == "data" and channel in self._channels:
            tunnel = self._channels[channel]
            data = b"".join(bytes(b) for b in buffers)
            if data:
                runner.loop.call_soon_threadsafe(tunnel.write, data)
        elif op == "close" and channel in self._channels:
            runner.loop.call_soon_threadsafe(self._channels[channel].cancel)

    async def _open_vnc(self) -> tuple[Any, Any]:
        """(read(n) coroutine, write(bytes | None) function) for a fresh connection to the desktop's RFB."""
        return await self._desktop._session.open_rfb()

    def close(self) -> None:
        runner = self._desktop._runner
        for tunnel in list(self._channels.values()):
            runner.loop.call_soon_threadsafe(tunnel.cancel)
        self._uploads.clear()
        super().close()


class DesktopGrid(anywidget.AnyWidget):
    """Several desktops live side by side (``Desktop.grid([d1, d2, d3])``): agents that run in parallel, watched
    at once. The class page's tiles (``js/src/grid.js``): view-only by default, a click enlarges one, "Take over"
    gives the page's mouse and keyboard to that desktop. Each tile is its desktop's own :class:`DesktopView`
    model, so it reaches the desktop the same way (the server's WebSocket, or the kernel's comm tunnel)."""

    _esm = _esm()
    _css = STATIC / "widget.css" if (STATIC / "widget.css").exists() else ""

    #: The desktops' views, in the grid's order.
    views = traitlets.List(traitlets.Instance(DesktopView)).tag(sync=True, **widget_serialization)

    def __init__(self, desktops: Any, **kwargs: Any) -> None:
        from .desktop import Desktop

        desktops = list(desktops)
        if not desktops:
            raise ValueError("Desktop.grid() needs at least one Desktop")
        if len(desktops) > MAX_GRID_TILES:
            raise InputLimitError(
                f"a grid shows at most {MAX_GRID_TILES} desktops (MAX_GRID_TILES), not {len(desktops)}: "
                "make several grids"
            )
        for d in desktops:
            if not isinstance(d, Desktop):
                raise TypeError(f"Desktop.grid() takes Desktop objects, not {type(d).__name__}")
        if len({id(d) for d in desktops}) != len(desktops):
            raise ValueError("Desktop.grid(): a desktop appears twice")
        super().__init__(views=[d.view() for d in desktops], **kwargs)
        self.desktops = desktops
