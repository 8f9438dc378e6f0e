"""Shared fixtures: real desktops on real X servers, tesseract as the vision consumer, xev as the input probe."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from PIL import Image

from jupyter_desktop import Desktop

from .harness.hub import Hub, running_hub
from .harness.processes import marked  # noqa: F401 (the test modules take it from here)
from .harness.waiting import eventually

T = TypeVar("T")
X_SERVERS = ["xvnc", "xvfb"]
CLEAN_SHELL = ["bash", "--norc", "--noprofile"]  # this machine's ~/.bashrc can block on pyenv's lock


@contextlib.contextmanager
def x_server_env(x_server: str) -> Iterator[None]:
    old = os.environ.get("JUPYTER_DESKTOP_X_SERVER")
    os.environ["JUPYTER_DESKTOP_X_SERVER"] = x_server
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("JUPYTER_DESKTOP_X_SERVER", None)
        else:
            os.environ["JUPYTER_DESKTOP_X_SERVER"] = old


def start_desktop(x_server: str = "xvnc", *args, **kwargs) -> Desktop:
    with x_server_env(x_server):
        return Desktop(*args, **kwargs)


def run_async(coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
    """Run a coroutine on a private loop. asyncio.run() would leave the main thread without a current loop,
    which the pytest-jupyter tests later in the session expect; pending tasks are cancelled at the end."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(asyncio.wait_for(coro, timeout) if timeout else coro)
    finally:
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.close()


def ocr(image: Image.Image, tmp_path: Path) -> str:
    """Text tesseract reads from the image (upscaled 2x: terminal fonts are small for it)."""
    path = tmp_path / f"ocr-{time.monotonic_ns()}.png"
    image.resize((image.width * 2, image.height * 2), Image.Resampling.LANCZOS).save(path)
    result = subprocess.run(["tesseract", str(path), "stdout"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def read_text(desktop: Desktop, tmp_path: Path, expected: str, region=None, timeout: float = 60.0) -> str:
    """Screenshot + OCR until ``expected`` appears (apps draw asynchronously); returns the text."""
    seen = []

    def check() -> str:
        seen.append(ocr(desktop.screenshot(region), tmp_path))
        return seen[-1] if expected in seen[-1] else ""

    try:
        return eventually(check, timeout=timeout, interval=0.3, what=f"text {expected!r} on screen")
    except AssertionError:
        desktop.screenshot().save(tmp_path / "last-screen.png")
        raise AssertionError(f"{expected!r} never read on screen; tesseract last read {seen[-1:]!r}") from None


@dataclass
class XEvent:
    kind: str
    text: str

    @property
    def root(self) -> tuple[int, int] | None:
        m = re.search(r"root:\((-?\d+),(-?\d+)\)", self.text)
        return (int(m.group(1)), int(m.group(2))) if m else None

    @property
    def button(self) -> int | None:
        m = re.search(r"button (\d+)", self.text)
        return int(m.group(1)) if m else None

    @property
    def state(self) -> int:
        m = re.search(r"state (0x[0-9a-f]+)", self.text)
        return int(m.group(1), 16) if m else 0

    @property
    def keysym(self) -> str | None:
        m = re.search(r"\(keysym 0x[0-9a-f]+, ([^)]+)\)", self.text)
        return m.group(1) if m else None


_LAST_LINES = ("state 0x", "XFilterEvent returns")


class Xev:
    """xev filling the screen of a WM-less desktop: a log of exactly the X events our input produced."""

    def __init__(self, desktop: Desktop, log: Path) -> None:
        self.desktop = desktop
        self.log = log
        w, h = desktop.get_screen_size()
        log.touch()
        self.process = desktop.launch(
            ["sh", "-c", f"exec stdbuf -oL xev -name xevtest -geometry {w}x{h}+0+0 > {log} 2>&1"]
        )
        eventually(lambda: "MapNotify" in log.read_text(errors="replace"), what="xev window mapped")
        # no window manager: keyboard focus follows the pointer. Two moves, so that the second always moves it;
        # the tests' events start after xev has logged that motion.
        self.mark()
        desktop.move_mouse(w // 2, h // 2 - 1)
        desktop.move_mouse(w // 2, h // 2)
        self.wait_for(lambda e: e.kind == "MotionNotify" and e.root == (w // 2, h // 2), "xev saw the pointer arrive")
        self.mark()

    def mark(self) -> None:
        self._offset = len(self.log.read_bytes())

    def events(self, *kinds: str) -> list[XEvent]:
        text = self.log.read_bytes()[self._offset :].decode(errors="replace")
        blocks = [b.strip() for b in text.split("\n\n") if b.strip()]
        # xev writes an event line by line, its blank separator first: the last block is whole only once
        # the line with its state (and button or key) is there; key events add XLookupString lines after it.
        if blocks and not (text.endswith("\n") and blocks[-1].splitlines()[-1].strip().startswith(_LAST_LINES)):
            blocks.pop()
        out = []
        for block in blocks:
            kind = block.split(" ", 1)[0]
            if not kinds or kind in kinds:
                out.append(XEvent(kind, block))
        return out

    def wait(self, kind: str, count: int, timeout: float = 30.0) -> list[XEvent]:
        return eventually(
            lambda: (lambda e: e if len(e) >= count else None)(self.events(kind)),
            timeout=timeout,
            interval=0.05,
            what=f"{count} {kind} events",
        )

    def wait_for(self, match: Callable[[XEvent], bool], what: str, timeout: float = 30.0) -> list[XEvent]:
        """Every event since the mark, once one of them matches (a marker the test sent last)."""
        return eventually(
            lambda: (lambda e: e if any(map(match, e)) else None)(self.events()), timeout, 0.05, what=what
        )


@pytest.fixture(scope="module", params=X_SERVERS)
def desktop(request) -> Iterator[Desktop]:
    """An openbox desktop on each X server, shared by a module's tests."""
    d = start_desktop(request.param)
    yield d
    d.close()


@pytest.fixture(scope="module")
def bare() -> Iterator[Desktop]:
    """A desktop with no window manager (TigerVNC): the input probe's home."""
    d = start_desktop("xvnc", "none")
    yield d
    d.close()


@pytest.fixture(scope="module")
def hub(tmp_path_factory) -> Iterator[Hub]:
    """A real JupyterHub for the module (tests/harness/hub.py; deploy/jupyterhub_config.py's culling times: an
    hour)."""
    with running_hub(tmp_path_factory.mktemp("hub")) as h:
        yield h


@pytest.fixture
def xev(bare: Desktop, tmp_path: Path) -> Iterator[Xev]:
    if not shutil.which("xev"):
        pytest.fail("xev is missing: sudo apt-get install x11-utils")
    probe = Xev(bare, tmp_path / "xev.log")
    yield probe
    probe.process.kill()
    probe.process.wait(10)


@pytest.fixture
def xterm(desktop: Desktop):
    """A fresh xterm with a font tesseract reads well, focused, on the shared desktop."""
    title = f"term-{time.monotonic_ns()}"
    process = desktop.launch(
        ["xterm", "-fa", "Monospace", "-fs", "16", "-geometry", "70x12+20+20", "-T", title, "-e", *CLEAN_SHELL]
    )
    window = desktop.wait_for_window(title)
    desktop.activate_window(window)
    yield window
    process.kill()
    process.wait(10)


_OTHER_SKIPS = pytest.StashKey[list]()
_NO_SKIP_FAILURE = pytest.StashKey[str]()


def record_skips(config: pytest.Config, runner: str, names: list[str]) -> None:
    """Tests another runner skipped (vitest, run by tests/test_frontend.py): the no-skip guard counts them too."""
    config.stash.setdefault(_OTHER_SKIPS, []).extend(f"{runner}: {name}" for name in names)


def pytest_sessionfinish(session, exitstatus):
    """In CI (``bootstrap.sh test`` sets JUPYTER_DESKTOP_NO_SKIP=1) a skipped test is a failed run: every
    part (Docker, Chromium, JupyterLab, node) must be there, so a skip means something is broken. That holds
    for pytest's skips and for those of the runners the tests start (vitest's skip, todo, a stray only)."""
    if os.environ.get("JUPYTER_DESKTOP_NO_SKIP") != "1":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    others = session.config.stash.get(_OTHER_SKIPS, [])
    if skipped or others:
        reasons = sorted({str(r.longrepr[-1]) if isinstance(r.longrepr, tuple) else str(r.longrepr) for r in skipped})
        message = f"JUPYTER_DESKTOP_NO_SKIP=1 but {len(skipped) + len(others)} test(s) skipped: {reasons + others}"
        session.config.stash[_NO_SKIP_FAILURE] = message
        if not reporter:
            print(message)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """(Runs after pytest_sessionfinish.)"""
    others = config.stash.get(_OTHER_SKIPS, [])
    if others:
        terminalreporter.write_line(f"{len(others)} test(s) of other runners skipped: {others}", yellow=True)
    if _NO_SKIP_FAILURE in config.stash:
        terminalreporter.write_line(config.stash[_NO_SKIP_FAILURE], red=True)


# ------------------------------------------------------------------------------------------ recordings


@pytest.fixture(scope="module")
def desk():
    """A desktop for recordings (tests/test_trajectory.py, test_player.py): Xvnc, ffmpeg required."""
    if not shutil.which("ffmpeg"):
        pytest.fail("ffmpeg is missing: sudo apt-get install ffmpeg")
    d = start_desktop("xvnc")
    yield d
    d.close()


@pytest.fixture
def term(desk: Desktop):
    title = f"rec-{time.monotonic_ns()}"
    process = desk.launch(["xterm", "-fa", "Monospace", "-fs", "16", "-geometry", "70x12+20+20", "-T", title, "-e", *CLEAN_SHELL])
    desk.activate_window(desk.wait_for_window(title))
    desk.wait_until_stable(timeout=10, quiet=0.3)
    yield title
    process.kill()
    process.wait(10)
