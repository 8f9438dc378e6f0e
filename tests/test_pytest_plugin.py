"""The pytest plugin (jupyter_desktop/pytest_plugin.py, on by its pytest11 entry point), run by pytester in a
pytest of its own on real desktops: a failing test's report names its screenshot (a PNG of that desktop, read back
by tesseract), options from the command line and pyproject.toml, kept recordings, pytest-xdist workers with a
desktop each, pytest-html's report; and ``Desktop.wait_for_text`` (the accessibility tree, else tesseract)."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from PIL import Image

from jupyter_desktop import Desktop, Trajectory, ocr

pytest_plugins = ["pytester"]

MARKER = "PLUGIN MARKER READY"


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=600)


def test_a_failing_test_reports_its_screenshot(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(f"""
        def test_fails(desktop):
            desktop.launch(["xterm", "-fa", "Monospace", "-fs", "20", "-geometry", "30x3+10+10",
                            "-e", "sh", "-c", "echo {MARKER}; sleep 600"])
            desktop.wait_for_text("{MARKER}", timeout=30)
            assert desktop.get_screen_size() == (640, 400)
            assert False, "the app did the wrong thing"

        def test_passes(desktop):
            assert desktop.status == "running"
    """)
    result = run(pytester, "--desktop-size", "640x400")
    result.assert_outcomes(passed=1, failed=1)
    output = result.stdout.str()
    assert "the app did the wrong thing" in output
    (path,) = re.findall(r"last screenshot (\S+\.png)", output)
    image = Image.open(path)
    assert image.size == (640, 400) and image.format == "PNG"
    assert ocr.find(ocr.read(image), MARKER), ocr.read(image).text  # it shows the desktop as the test left it
    assert output.count("last screenshot") == 1  # the passing test has none


def test_options_from_pyproject_and_scope(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml("""
        [tool.pytest.ini_options]
        desktop_size = "800x600"
        desktop_scope = "module"
        desktop_profile = "none"
    """)
    pytester.makepyfile(test_two="""
        import json, pathlib
        def test_one(desktop):
            pathlib.Path("one.json").write_text(json.dumps([desktop.id, desktop.get_screen_size()]))
        def test_two(desktop):
            pathlib.Path("two.json").write_text(json.dumps([desktop.id, desktop.get_screen_size()]))
    """)
    run(pytester).assert_outcomes(passed=2)
    one, two = (json.loads((pytester.path / name).read_text()) for name in ("one.json", "two.json"))
    assert one == two and one[1] == [800, 600]  # one desktop for the module, the size from pyproject.toml

    run(pytester, "--desktop-scope", "function").assert_outcomes(passed=2)
    one, two = (json.loads((pytester.path / name).read_text()) for name in ("one.json", "two.json"))
    assert one[0] != two[0]  # the command line wins: a desktop a test

    bad = run(pytester, "--desktop-size", "huge")
    assert bad.ret != 0 and "--desktop-size must be WIDTHxHEIGHT" in bad.stderr.str() + bad.stdout.str()


def test_recordings_of_failed_tests_are_kept(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        def test_fails(desktop):
            desktop.left_click(10, 10)
            assert False
        def test_passes(desktop):
            desktop.left_click(20, 20)
    """)
    result = run(pytester, "--desktop-record", "failed", "--desktop-profile", "none", "--desktop-size", "320x240")
    result.assert_outcomes(passed=1, failed=1)
    (path,) = re.findall(r"recording: (\S+) ", result.stdout.str())
    steps = Trajectory(path).steps
    clicks = [(a["action"], a["x"], a["y"]) for s in steps if s.source == "agent" for a in s.actions]
    assert clicks == [("click", 10, 10)], steps  # the failing test's own click, not the passing one's
    kept = list(Path(path).parent.parent.glob("desktop-*passes*/recording"))
    assert not kept, kept  # the passing test's recording was removed


def test_xdist_workers_have_their_own_desktops(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import json, os, pathlib
        def _note(desktop, name):
            pathlib.Path(name).write_text(json.dumps([desktop.id, os.environ["PYTEST_XDIST_WORKER"]]))
        def test_a(desktop):
            _note(desktop, "a.json")
        def test_b(desktop):
            _note(desktop, "b.json")
    """)
    run(pytester, "-n", "2", "--desktop-profile", "none", "--desktop-scope", "session").assert_outcomes(passed=2)
    a, b = (json.loads((pytester.path / name).read_text()) for name in ("a.json", "b.json"))
    assert a[1] != b[1] and a[0] != b[0], (a, b)  # two workers, two desktops (a session's each)


def test_pytest_html_report_has_the_screenshot(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        def test_fails(desktop):
            assert False
    """)
    run(pytester, "--html", "report.html", "--self-contained-html", "--desktop-profile", "none",
        "--desktop-size", "320x240").assert_outcomes(failed=1)  # fmt: skip
    report = (pytester.path / "report.html").read_text()
    assert "data:image/png;base64" in report and "desktop-screenshot.png" in report, report[:2000]


def test_wait_for_text_in_the_tree_and_on_the_screen(desk: Desktop) -> None:
    """A GTK label's text is found in the accessibility tree (its node's bounds); a terminal's output, which no
    tree has, by tesseract; what never comes is a TimeoutError saying what was read."""
    dialog = desk.launch(["zenity", "--info", "--text", "Tree text here"])
    label = desk.wait_for_node("label", "Tree text here")
    assert desk.wait_for_text("tree TEXT here") == label.bounds
    desk.wait_for_node("push button", "OK").click()
    assert dialog.wait(20) == 0

    term = desk.launch(["xterm", "-T", "ocr-term", "-fa", "Monospace", "-fs", "18", "-geometry", "40x4+300+200", "-e", "sh", "-c",
                        f"echo {shlex.quote('Screen only 77')}; sleep 600"])  # fmt: skip
    try:
        x, y, w, h = desk.wait_for_text("Screen only 77", timeout=30)
        window = desk.wait_for_window("ocr-term")
        assert window.x <= x and x + w <= window.x + window.width and window.y <= y <= window.y + window.height
        with pytest.raises(TimeoutError, match="Screen only 77"):  # says what it read
            desk.wait_for_text("never shown", timeout=1, accessibility=False)
    finally:
        term.kill()
