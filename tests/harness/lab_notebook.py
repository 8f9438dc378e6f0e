"""Drive a notebook in a real JupyterLab page (Chromium through Playwright): start JupyterLab, run code in new
cells, read their output, start desktops from them and find, read and click the desktop widget a cell displays.
Used by tests/browser/test_browser_widget.py, tests/browser/test_browser_lab.py and benchmarks/bench_widget.py."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import httpx

from .browser import browser_server
from .processes import commands
from .server import TOKEN, JupyterServer
from .waiting import none_left

NOTEBOOK_VIEWPORT = {"width": 1280, "height": 1000}
_PROMPT_DONE = re.compile(r"^\[\d+\]:$")


def quiet_lab_settings(settings_dir: Path) -> None:
    """No news or update toasts over the notebook (they would sit on top of the widget)."""
    target = settings_dir / "@jupyterlab" / "apputils-extension"
    target.mkdir(parents=True, exist_ok=True)
    (target / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )


def start_lab(root: Path, *, extension: bool = True, args: tuple[str, ...] = (), config: str = "") -> JupyterServer:
    """JupyterLab as its own process, as the browser tests run it (under BASE), with or without our server extension,
    without news toasts (``args``, ``config``: JupyterServer's)."""
    quiet_lab_settings(root / "lab-settings")  # no news toast over the desktop's corner
    return browser_server(root, app="jupyterlab", extension=extension, args=args, config=config)


def write_notebook(path: Path) -> None:
    """An empty notebook for the Python 3 kernel (no kernel-picker dialog)."""
    path.write_text(
        json.dumps(
            {
                "cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": []}],
                "metadata": {
                    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                    "language_info": {"name": "python"},
                },
                "nbformat": 4,
                "nbformat_minor": 5,
            }
        )
    )


class LabNotebook:
    """A notebook open in JupyterLab. ``run(code)`` types code into the last (empty) cell, runs it with
    Shift+Enter (which adds the next empty cell) and returns the cell's output text."""

    def __init__(self, page: Any, lab_url: str, root_dir: Path, name: str = "widget.ipynb", app: str = "lab") -> None:
        self.page = page
        write_notebook(root_dir / name)
        # JupyterLab, or Notebook 7 (the same notebook components, one notebook per page)
        page.goto(
            lab_url + (f"lab/tree/{name}?reset&token={TOKEN}" if app == "lab" else f"notebooks/{name}?token={TOKEN}")
        )
        self.notebook = page.locator(".jp-NotebookPanel .jp-Notebook")
        self.notebook.locator(".jp-Cell").first.wait_for(timeout=60000)
        # Cells run before the kernel is up are dropped: wait until the server says the kernel is idle.
        deadline = time.monotonic() + 120
        while not self._kernel_idle(lab_url, name):
            if time.monotonic() > deadline:
                raise AssertionError(f"the kernel of {name} did not start")
            time.sleep(0.2)
        self.run("print('kernel ready')", timeout=120)

    @staticmethod
    def _kernel_idle(lab_url: str, name: str) -> bool:
        sessions = httpx.get(lab_url + "api/sessions", headers={"Authorization": f"token {TOKEN}"}, timeout=10).json()
        return any(s["path"].endswith(name) and s["kernel"]["execution_state"] == "idle" for s in sessions)

    def cells(self) -> Any:
        return self.notebook.locator(".jp-Cell")

    def submit(self, code: str) -> Any:
        """Type ``code`` into the last cell and run it without waiting; returns that cell."""
        cell = self.cells().nth(self.cells().count() - 1)  # pinned: Shift+Enter adds a new last cell
        cell.locator(".cm-content").click()
        self.page.keyboard.insert_text(code)  # as a paste: no auto-closed brackets or auto-indent
        self.page.keyboard.press("Shift+Enter")
        return cell

    def run(self, code: str, timeout: float = 60) -> str:
        cell = self.submit(code)
        prompt = cell.locator(".jp-InputArea-prompt")
        deadline = time.monotonic() + timeout
        while not _PROMPT_DONE.match(prompt.inner_text().strip()):
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"cell did not finish in {timeout} s: {code!r}; output so far: {self.output(cell)!r}"
                )
            time.sleep(0.05)
        text = self.output(cell)
        if "Traceback" in text or cell.locator("[data-mime-type='application/vnd.jupyter.stderr']").count():
            raise AssertionError(f"cell failed: {code!r}\n{text}")
        return text

    @staticmethod
    def output(cell: Any) -> str:
        return "\n".join(cell.locator(".jp-OutputArea-output").all_inner_texts()).strip()

    def value(self, expression: str, timeout: float = 60) -> Any:
        """The value of a Python expression, through JSON."""
        out = self.run(f"import json as _json; print('<<' + _json.dumps({expression}) + '>>')", timeout)
        match = re.search(r"<<(.*)>>", out, re.DOTALL)
        assert match, out
        return json.loads(match.group(1))


def open_notebook(browser: Any, lab: JupyterServer, name: str, app: str = "lab") -> tuple[Any, LabNotebook]:
    """A fresh browser context (clipboard allowed) with notebook ``name`` of ``lab`` open in JupyterLab (``app``
    "lab") or Notebook 7 ("notebook"); ``nb.errors`` and ``nb.sockets`` record the page's errors and WebSockets."""
    context = browser.new_context(viewport=NOTEBOOK_VIEWPORT, accept_downloads=True)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=lab.origin)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"{exc}\n{exc.stack}"))
    sockets: list[object] = []
    page.on("websocket", lambda ws: sockets.append(ws))
    nb = LabNotebook(page, lab.url, lab.root, name, app)
    nb.errors = errors
    nb.socket_objects = sockets
    nb.sockets = _Urls(sockets)
    return context, nb


class _Urls:
    """The URLs of a page's WebSockets, read when asked."""

    def __init__(self, sockets: list[object]) -> None:
        self._sockets = sockets

    def count(self, url: str) -> int:
        return [ws.url for ws in self._sockets].count(url)

    def __iter__(self):
        return iter([ws.url for ws in self._sockets])

    def __repr__(self) -> str:
        return repr(list(self))


# ---------------------------------------------------------------------------------------------- the widget


def widget_selector(desktop_id: str, **attrs: str) -> str:
    """CSS selector of the desktop widget of ``desktop_id``; ``attrs``: data attributes it must have
    (state="connected", transport="tunnel", ...)."""
    extra = "".join(f"[data-{k.replace('_', '-')}='{v}']" for k, v in attrs.items())
    return f".jd-widget[data-desktop-id='{desktop_id}']{extra}"


def widget(page: Any, desktop_id: str) -> Any:
    return page.locator(widget_selector(desktop_id)).first  # the first view when there are several


def wait_widget(page: Any, desktop_id: str, timeout: float = 60000, **attrs: str) -> Any:
    page.wait_for_selector(widget_selector(desktop_id, **attrs), timeout=timeout)
    return widget(page, desktop_id)


def canvas_geometry(view: Any) -> dict[str, float]:
    """The canvas in the viewport (CSS px) and its framebuffer size (the desktop's pixels)."""
    view.scroll_into_view_if_needed()
    return view.evaluate(
        """root => {
            const c = root.querySelector('.jd-screen canvas');
            const r = c.getBoundingClientRect();
            return {left: r.left, top: r.top, width: r.width, height: r.height, fbWidth: c.width, fbHeight: c.height};
        }"""
    )


def canvas_pixels(view: Any, points: list[tuple[int, int]]) -> list[tuple[int, int, int]]:
    """RGB of the widget's canvas at desktop pixels ``points`` (what the browser shows)."""
    values = view.evaluate(
        """(root, points) => {
            const ctx = root.querySelector('.jd-screen canvas').getContext('2d');
            return points.map(([x, y]) => Array.from(ctx.getImageData(x, y, 1, 1).data.slice(0, 3)));
        }""",
        [list(p) for p in points],
    )
    return [tuple(v) for v in values]


def click_desktop(view: Any, x: int, y: int) -> tuple[float, float]:
    """Click the canvas where desktop pixel (x, y) is shown; returns the viewport point clicked."""
    g = canvas_geometry(view)
    px = g["left"] + (x + 0.5) * g["width"] / g["fbWidth"]
    py = g["top"] + (y + 0.5) * g["height"] / g["fbHeight"]
    view.page.mouse.click(px, py)
    return px, py


def close(a: tuple[int, ...], b: tuple[int, ...], tolerance: int = 24) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b))


class Started:
    """Desktop ids a test started, checked for leftover processes when the server is gone."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    def check_gone(self) -> None:
        none_left(lambda: commands(*self.ids), timeout=30, what="desktop processes")


def start(nb: LabNotebook, started: Started, var: str, options: str) -> str:
    desktop_id = nb.value(f"({var} := __import__('jupyter_desktop').Desktop({options})).id", timeout=120)
    started.ids.append(desktop_id)
    return desktop_id


def show(nb: LabNotebook, var: str, desktop_id: str, transport: str):
    nb.run(var)  # the cell's value: the Desktop renders as the live widget
    return wait_widget(nb.page, desktop_id, state="connected", transport=transport)
