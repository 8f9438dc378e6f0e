"""The Desktop API on real desktops, on both X servers (TigerVNC's Xvnc and Xvfb + x11vnc)."""

from __future__ import annotations

import io
import re
import time
from pathlib import Path

import pytest
from PIL import Image

from jupyter_desktop import Desktop, DesktopClosedError, DesktopError, InvalidInputError, RunResult

from .conftest import eventually, read_text, start_desktop
from .harness.processes import commands
from .harness.waiting import none_left


def test_typed_text_is_read_back_by_ocr(desktop: Desktop, xterm, tmp_path: Path):
    desktop.write("echo Jupyter Desktop 42\n")
    text = read_text(desktop, tmp_path, "Jupyter Desktop 42", region=(xterm.x, xterm.y, xterm.width, xterm.height))
    # the command line and its output: the text appears twice
    assert text.count("Jupyter Desktop 42") >= 2, text


def test_unicode_and_newlines_arrive_exactly(desktop: Desktop, tmp_path: Path):
    out = tmp_path / "typed.txt"
    title = f"reader-{time.monotonic_ns()}"
    process = desktop.launch(["xterm", "-T", title, "-e", "sh", "-c", f"IFS= read -r a; IFS= read -r b; printf '%s|%s' \"$a\" \"$b\" > {out}"])
    desktop.activate_window(desktop.wait_for_window(title))
    text = "héllo wörld € ✓ Ωμέγα"
    desktop.write(f"{text}\nsecond line: a-b_c {{x}}\n")
    assert process.wait(20) == 0
    assert out.read_text() == f"{text}|second line: a-b_c {{x}}"


def test_screenshot_pixels_are_rgb_and_exact(desktop: Desktop):
    desktop.run("xsetroot -solid '#ff8000'").check()  # orange: tells R, G and B apart
    img = eventually(lambda: (lambda i: i if i.getpixel((3, 3)) == (255, 128, 0) else None)(desktop.screenshot()), what="orange root")
    assert img.mode == "RGB"
    assert img.size == desktop.get_screen_size() == (1280, 800)
    region = desktop.screenshot(region=(10, 20, 30, 40))
    assert region.size == (30, 40)
    assert region.tobytes() == img.crop((10, 20, 40, 60)).tobytes()
    desktop.run("xsetroot -solid '#0040ff'").check()
    assert eventually(lambda: desktop.screenshot().getpixel((3, 3)) == (0, 64, 255), what="blue root")
    png = desktop._repr_png_()
    assert Image.open(io.BytesIO(png)).size == (1280, 800)


def test_screenshot_bad_arguments(desktop: Desktop):
    with pytest.raises(InvalidInputError, match="not inside the 1280x800 screen"):
        desktop.screenshot(region=(1200, 0, 100, 10))
    with pytest.raises(InvalidInputError, match="scale must be"):
        desktop.screenshot(scale=0)
    with pytest.raises(InvalidInputError, match="scale must be"):
        desktop.screenshot(scale="half")


def test_wait_until_stable(desktop: Desktop):
    assert desktop.wait_until_stable(timeout=10, quiet=0.3) is True
    # a screen that never stops changing
    flicker = desktop.launch(["sh", "-c", "while true; do xsetroot -solid red; xsetroot -solid blue; done"])
    try:
        t0 = time.monotonic()
        assert desktop.wait_until_stable(timeout=1.5, quiet=0.5) is False
        assert time.monotonic() - t0 < 4
    finally:
        flicker.kill()
        flicker.wait(10)
    assert desktop.wait_until_stable(timeout=10, quiet=0.3) is True


def test_run(desktop: Desktop):
    result = desktop.run("echo out; echo err >&2; exit 3")
    assert result == RunResult(3, "out\n", "err\n")
    assert desktop.run(["printf", "%s", "a b"]).stdout == "a b"
    assert desktop.run("cat", input="piped ✓").stdout == "piped ✓"
    assert desktop.run("echo $DISPLAY").stdout.startswith(":")
    assert desktop.run("pwd", cwd="/tmp").stdout == "/tmp\n"
    assert desktop.run("echo $MY_VAR", env={"MY_VAR": "mine"}).stdout == "mine\n"
    t0 = time.monotonic()
    with pytest.raises(TimeoutError, match="did not finish within 1 s"):
        desktop.run("sleep 30", timeout=1)
    assert time.monotonic() - t0 < 5
    # a daemon left behind does not make run() wait for it
    assert desktop.run("printf x | xclip -i -selection primary; echo done", timeout=10).stdout == "done\n"
    with pytest.raises(DesktopError, match="status 1"):
        desktop.run("false").check()


def test_launch_and_process_handle(desktop: Desktop):
    process = desktop.launch("sleep 30")
    assert process.running and process.returncode is None
    with pytest.raises(TimeoutError):
        process.wait(0.2)
    process.kill()
    assert process.wait(10) != 0
    assert not process.running
    assert desktop.launch(["sh", "-c", "exit 7"]).wait(10) == 7
    with pytest.raises(InvalidInputError, match="no program named 'no-such-app'"):
        desktop.launch("no-such-app --flag")


def test_windows_wait_activate_close(desktop: Desktop):
    title = f"win-{time.monotonic_ns()}"
    process = desktop.launch(["xterm", "-T", title, "-geometry", "40x10+100+100"])
    window = desktop.wait_for_window(title, timeout=15)
    assert window.title == title and window.width > 100 and window.height > 50
    assert window.pid == process.pid
    assert desktop.wait_for_window(re.compile(r"^win-\d+$")).id == window.id
    other = desktop.launch(["xterm", "-T", title + "-b"])
    b = desktop.wait_for_window(title + "-b")
    desktop.activate_window(window)
    eventually(lambda: next(w for w in desktop.windows() if w.id == window.id).active, what="window active")
    desktop.close_window(b)
    assert other.wait(10) is not None
    assert all(w.id != b.id for w in desktop.windows())
    with pytest.raises(TimeoutError, match="no window titled 'nope'"):
        desktop.wait_for_window("nope", timeout=0.5)
    process.kill()


def test_open_uses_the_default_application(desktop: Desktop, tmp_path: Path):
    apps = tmp_path / "data" / "applications"
    apps.mkdir(parents=True)
    (apps / "testviewer.desktop").write_text(
        "[Desktop Entry]\nType=Application\nName=Test viewer\nExec=xterm -T opened-by-xdg -e less %f\nMimeType=text/plain;\n"
    )
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "mimeapps.list").write_text("[Default Applications]\ntext/plain=testviewer.desktop\n")
    doc = tmp_path / "notes.txt"
    doc.write_text("hello")
    env = {"XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    with start_desktop(desktop.info["x_server"], env=env) as d:
        d.open(str(doc))
        assert d.wait_for_window("opened-by-xdg", timeout=15)
    with pytest.raises(InvalidInputError):
        desktop.open("")


def test_clipboard_both_ways(desktop: Desktop):
    desktop.set_clipboard("from python ✓ é")
    assert desktop.run("xclip -o -selection clipboard").stdout == "from python ✓ é"
    desktop.run("printf 'from the desktop ✓' | xclip -i -selection clipboard").check()
    assert eventually(lambda: desktop.get_clipboard() == "from the desktop ✓", what="clipboard from X")
    desktop.set_clipboard("two\nlines")
    assert desktop.run("xclip -o -selection clipboard").stdout == "two\nlines"
    assert desktop.get_clipboard() == "two\nlines"


def test_resize(desktop: Desktop):
    if desktop.info["x_server"] == "xvfb":
        with pytest.raises(DesktopError, match="tigervnc-standalone-server"):
            desktop.resize(1024, 768)
        return
    desktop.resize(1024, 768)
    try:
        assert desktop.get_screen_size() == (1024, 768)
        assert desktop.screenshot().size == (1024, 768)
        assert "1024x768 pixels" in desktop.run("xdpyinfo").stdout
        with pytest.raises(InvalidInputError, match="width must be"):
            desktop.resize(10, 768)
    finally:
        desktop.resize(1280, 800)


def test_geometry_dpi_depth_env():
    with start_desktop("xvnc", "none", width=800, height=600, dpi=120, depth=16, env={"GREETING": "hi"}) as d:
        assert d.get_screen_size() == (800, 600)
        info = d.run("xdpyinfo").stdout
        assert "800x600 pixels" in info and "120x120 dots per inch" in info and "depth of root window:    16" in info
        assert d.run("echo $GREETING").stdout == "hi\n"
        d.run("xsetroot -solid '#ff0000'").check()
        assert eventually(lambda: d.screenshot().getpixel((1, 1)) == (255, 0, 0), what="red at depth 16")


def test_bad_arguments_are_refused_clearly():
    with pytest.raises(InvalidInputError, match="width must be an integer between"):
        Desktop(width=5)
    with pytest.raises(InvalidInputError, match="depth must be 16, 24 or 32"):
        Desktop(depth=8)
    with pytest.raises(InvalidInputError, match="unknown backend 'nope'"):
        Desktop(backend="nope")
    with pytest.raises(InvalidInputError, match="no program named 'no-such-wm'"):
        Desktop(["no-such-wm"])


def test_calls_after_close_say_so():
    d = start_desktop("xvnc", "none")
    d.close()
    d.close()  # twice is fine
    assert "closed" in repr(d)
    for call in (d.screenshot, lambda: d.left_click(1, 1), lambda: d.write("x"), d.windows, d.get_screen_size):
        with pytest.raises(DesktopClosedError, match="was closed"):
            call()


def test_desktop_that_dies_turns_error_and_restarts():
    with start_desktop("xvnc", "none") as d:
        display = d.info["display"]
        d._session.desktop._server.kill()  # the X server dies under us
        eventually(lambda: d.status == "error", what="status error")
        assert "X server exited" in d.info["error"]
        with pytest.raises(DesktopClosedError, match="restart"):
            d.screenshot()
        d.restart()
        assert d.status == "running"
        assert d.screenshot().size == (1280, 800)
        assert d.info["display"] is not None and display is not None


@pytest.mark.parametrize("x_server", ["xvnc", "xvfb"])
def test_opengl_is_opt_in(x_server: str):
    with start_desktop(x_server, "none") as d:
        assert "GLX" not in d.run("xdpyinfo -queryExtensions").stdout
    with start_desktop(x_server, "none", opengl=True) as d:
        assert "GLX" in d.run("xdpyinfo -queryExtensions").stdout


def test_session_exit_ends_the_desktop():
    with start_desktop("xvnc", ["sh", "-c", "sleep 0.5; exit 3"]) as d:
        eventually(lambda: d.status == "error", what="status error after the session exits")
        assert "session exited with status 3" in d.info["error"]
        none_left(lambda: commands(d.id), what="the rest of the desktop's processes")
        with pytest.raises(DesktopClosedError, match="restart"):
            d.screenshot()
