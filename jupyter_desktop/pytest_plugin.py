"""pytest plugin: a real desktop for GUI tests (registered by the ``pytest11`` entry point, so installed is on).

::

    def test_save_dialog(desktop):                     # a fresh desktop (function scope by default)
        desktop.launch(["gedit"])
        desktop.wait_for_node("push button", "Save").click()
        desktop.wait_for_text("Saved")                  # the accessibility tree, else OCR (tesseract)

Options (command line, or ``[tool.pytest.ini_options]`` in pyproject.toml without the leading dashes and with
underscores): ``--desktop-backend local|docker``, ``--desktop-profile openbox|xfce|none|<command>``,
``--desktop-size 1280x800``, ``--desktop-scope function|module|session``, ``--desktop-record failed|all|no``.

A failing test gets the desktop's last screenshot (``desktop-screenshot.png`` in a folder of pytest's temporary
directory, the path in the failure's ``desktop`` section, and an image in pytest-html's report when that plugin
runs); with ``--desktop-record failed`` its recording (``Desktop.record``: steps, screenshots, video) is kept too.
Under pytest-xdist each worker starts its own desktops.
"""

from __future__ import annotations

import base64
import re
import shutil
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any, Literal, cast

import pytest

from .desktop import Desktop

__all__ = ["desktop"]

_SCOPES = ("function", "module", "session")
_RECORD = ("no", "failed", "all")
_OPTIONS = {  # name: (default, help)
    "backend": ("local", "where desktops run: local or docker"),
    "profile": ("openbox", "the session: openbox, xfce, none or a command"),
    "size": ("1280x800", "the screen, WIDTHxHEIGHT"),
    "scope": ("function", "how long a desktop lives: function (a fresh one a test), module or session"),
    "record": ("no", "keep a recording (steps, screenshots, video) of tests that fail (failed), of all, or no"),
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("desktop", "jupyter_desktop: real desktops for GUI tests")
    for name, (default, help) in _OPTIONS.items():
        group.addoption(f"--desktop-{name}", dest=f"desktop_{name}", default=None, help=f"{help} (default {default})")
        parser.addini(f"desktop_{name}", help, default=default)


def _option(config: pytest.Config, name: str) -> str:
    value = config.getoption(f"desktop_{name}")
    return str(value if value is not None else config.getini(f"desktop_{name}")).strip()


Scope = Literal["function", "module", "session"]


def _scope(fixture_name: str, config: pytest.Config) -> Scope:
    scope = _option(config, "scope")
    if scope not in _SCOPES:
        raise pytest.UsageError(f"--desktop-scope must be one of {', '.join(_SCOPES)}, not {scope!r}")
    return cast(Scope, scope)


def _spec(config: pytest.Config) -> dict[str, Any]:
    size = _option(config, "size")
    match = re.fullmatch(r"(\d+)x(\d+)", size)
    if not match:
        raise pytest.UsageError(f"--desktop-size must be WIDTHxHEIGHT such as 1280x800, not {size!r}")
    record = _option(config, "record")
    if record not in _RECORD:
        raise pytest.UsageError(f"--desktop-record must be one of {', '.join(_RECORD)}, not {record!r}")
    return {"backend": _option(config, "backend"), "profile": _option(config, "profile"),
            "width": int(match[1]), "height": int(match[2])}  # fmt: skip


@pytest.fixture(scope=_scope)
def desktop(request: pytest.FixtureRequest) -> Iterator[Desktop]:
    """A real desktop (``jupyter_desktop.Desktop``) for this test, module or session (``--desktop-scope``); its
    screen, input, apps and widgets are the test's. Stopped with everything in it when its scope ends."""
    with Desktop(**_spec(request.config)) as d:
        yield d


_RECORDED = pytest.StashKey[list[tuple[Any, Path]]]()  # a test's recordings and their folder


def _folder(item: pytest.Item) -> Path:
    factory = item.config._tmp_path_factory  # type: ignore[attr-defined]  # the session's tmp_path_factory
    name = re.sub(r"[^\w.-]+", "_", item.nodeid)[-120:]
    return Path(factory.mktemp(f"desktop-{name}", numbered=True))


def _desktops(item: pytest.Item) -> list[Desktop]:
    funcargs = getattr(item, "funcargs", {})
    return [v for v in funcargs.values() if isinstance(v, Desktop) and not v._closed]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """With ``--desktop-record``, the test's run on each desktop it uses is recorded."""
    record = _option(item.config, "record") if _desktops(item) else "no"
    recorders = []
    if record != "no":
        folder = _folder(item)
        for i, d in enumerate(_desktops(item)):
            recorders.append((d.record(folder / f"recording-{i}" if i else folder / "recording"), folder))
    try:
        return (yield)
    finally:
        for recorder, _ in recorders:
            recorder.stop()
        item.stash[_RECORDED] = [(r, f) for r, f in recorders]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        _attach(item, report)
    return report


def _attach(item: pytest.Item, report: pytest.TestReport) -> None:
    """A failed test's screenshots and recordings, into its report; a passed test's recordings go (unless all)."""
    recorded = item.stash.get(_RECORDED, [])
    if report.passed and _option(item.config, "record") == "failed":
        for recorder, _ in recorded:
            shutil.rmtree(recorder.path, ignore_errors=True)
    if not report.failed:
        return
    lines, images = [], []
    for i, d in enumerate(_desktops(item)):
        try:
            image = d.screenshot()
        except Exception as exc:  # a desktop that died: say so, the test's own error is the story
            lines.append(f"desktop {d.id}: no screenshot ({type(exc).__name__}: {exc})")
            continue
        folder = recorded[0][1] if recorded else _folder(item)
        path = folder / (f"desktop-screenshot-{i}.png" if i else "desktop-screenshot.png")
        image.save(path)
        images.append(path)
        lines.append(f"desktop {d.id}: last screenshot {path}")
    for recorder, _ in recorded:
        lines.append(f"recording: {recorder.path} (jupyter_desktop.Trajectory(path) plays it)")
    if not lines:
        return
    report.sections.append(("desktop", "\n".join(lines)))
    if item.config.pluginmanager.hasplugin("html"):
        import pytest_html

        extras = getattr(report, "extras", [])
        for path in images:
            extras.append(pytest_html.extras.png(base64.b64encode(path.read_bytes()).decode(), name=path.name))
        report.extras = extras  # type: ignore[attr-defined]
