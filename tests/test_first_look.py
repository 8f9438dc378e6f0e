"""The light desktop's first look (hardening #8): a line in the middle of the black screen says how to open
openbox's menu, and that menu starts this machine's terminal, web browser and file manager.

Real X servers (TigerVNC's Xvnc, and Xvfb + x11vnc), real openbox; tesseract reads the hint off the screen,
a real right-click opens the real menu, and its Terminal entry starts a real terminal.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from jupyter_desktop import Desktop
from jupyter_desktop.images.desktop import first_look

from .conftest import ocr, read_text, start_desktop
from .harness.docker import engine_problem

_HINT_LINE = re.compile(r'"jupyter-desktop-hint".*?\s(\d+)x(\d+)\+(-?\d+)\+(-?\d+)\s')


def hint_geometry(d: Desktop) -> tuple[int, int, int, int] | None:
    """(x, y, width, height) of the hint's window, from the X server's window tree; None when there is none."""
    m = _HINT_LINE.search(d.run("xwininfo -root -tree").stdout)
    if m is None:
        return None
    w, h, x, y = (int(v) for v in m.groups())
    return x, y, w, h


@pytest.mark.parametrize("x_server", ["xvnc", "xvfb"])
def test_the_first_frame_says_how_to_open_the_menu(x_server: str, tmp_path: Path):
    with start_desktop(x_server) as d:
        first = d.screenshot()
        x, y, w, h = hint_geometry(d)
        assert abs(x + w / 2 - 640) <= 1 and y + h < 400, (x, y, w, h)  # centred, above the middle
        if x_server == "xvnc":  # in the first frame already (x11vnc finds changes by polling: a little later)
            text = ocr(first.crop((x, y, x + w, y + h)), tmp_path)
        else:
            text = read_text(d, tmp_path, "terminal, web browser, files", region=(x, y, w, h))
        text = text.replace("\n", " ")
        assert "Right-click the desktop for the menu" in text, text
        assert "terminal, web browser, files" in text, text
        # the rest stays black: a coloured screen would make the VNC server's copy of the framebuffer resident
        assert {first.getpixel(p) for p in [(3, 3), (1276, 796), (640, 700)]} == {(0, 0, 0)}


def test_a_right_click_on_the_hint_opens_the_menu_whose_terminal_starts(tmp_path: Path):
    """The hint takes no input: a click on it is a click on the desktop. The menu's first entry (Terminal,
    mnemonic t) starts x-terminal-emulator: here one on the desktop's PATH that says it was the menu's."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    terminal = bin_dir / "x-terminal-emulator"
    terminal.write_text('#!/bin/sh\nexec xterm -T from-the-menu "$@"\n')
    terminal.chmod(0o755)
    with Desktop(env={"PATH": f"{bin_dir}:{os.environ['PATH']}"}) as d:
        x, y, w, h = hint_geometry(d)
        # once: the desktop is ready when openbox's event loop runs (--startup), not when it owns the screen
        # (its bindings then load for another ~0.2 s, and a click in between was lost)
        d.right_click(x + w // 2, y + h // 2)
        text = read_text(d, tmp_path, "Web browser", region=(x + w // 2, y + h // 2, 300, 150), timeout=30)
        assert "Terminal" in text and "Files" in text and "Windows" in text and "Exit" not in text, text
        d.press("t")
        window = d.wait_for_window("from-the-menu", timeout=30)
        assert window.active


def test_the_wheel_on_the_desktop_does_not_hide_the_windows(tmp_path: Path):
    """openbox's default config switches among four virtual desktops on the wheel over the desktop: an agent
    scrolling beside a window lost every window. The desktop has one."""
    with Desktop() as d:
        d.launch(["xterm", "-bg", "white", "-geometry", "40x10+600+100", "-T", "stays"])
        term = d.wait_for_window("stays", timeout=20)
        d.scroll("down", 3, x=100, y=700)  # the empty desktop
        d.scroll("up", 5, x=100, y=700)
        d.right_click(100, 700)  # a marker openbox handles after the wheel: its menu shows
        read_text(d, tmp_path, "Terminal", region=(100, 500, 300, 300), timeout=30)
        d.press("Escape")
        assert d.run("xprop -root _NET_CURRENT_DESKTOP").stdout.split()[-1] == "0"
        assert d.wait_until_stable(quiet=0.3)
        shown = d.screenshot(region=(term.x + 10, term.y + 10, 50, 20))
        assert shown.getcolors() == [(1000, (255, 255, 255))], "the xterm is not on screen"


def test_windows_cover_the_hint(tmp_path: Path):
    """It is the desktop's, below every window: an xterm over it hides it, and it is in no window list."""
    with Desktop() as d:
        x, y, w, h = hint_geometry(d)
        d.launch(["xterm", "-bg", "white", "-geometry", f"120x8+{x - 100}+{y - 40}", "-T", "over-the-hint"])
        term = d.wait_for_window("over-the-hint", timeout=20)
        assert term.x <= x and term.y <= y and term.x + term.width >= x + w and term.y + term.height >= y + h
        assert d.wait_until_stable(quiet=0.3)
        covered = d.screenshot(region=(x, y, w, h))
        assert covered.getcolors() is not None and len(covered.getcolors()) <= 2, "the hint shows through"
        assert "Right-click" not in ocr(covered, tmp_path)
        assert [win.title for win in d.windows()] == ["over-the-hint"]


def test_no_hint_without_openbox_nor_where_it_does_not_fit():
    with start_desktop("xvnc", "none") as d:  # the input probe's desktop stays empty
        assert hint_geometry(d) is None
        assert d.screenshot(region=(200, 200, 880, 180)).getcolors() == [(880 * 180, (0, 0, 0))]
    with Desktop(width=320, height=240) as d:  # narrower than the hint: none, and no error
        assert hint_geometry(d) is None
        assert "hint failed" not in (d._session.desktop.dir / "session.log").read_text()


def test_the_menu_offers_what_is_installed():
    installed = {"xterm", "firefox-esr", "pcmanfm"}
    menu = ET.fromstring(first_look.menu_xml(lambda p: f"/usr/bin/{p}" if p in installed else None))
    ns = {"ob": "http://openbox.org/3.4/menu"}
    root = menu.find("ob:menu[@id='root-menu']", ns)
    items = [(i.get("label"), i.find("ob:action/ob:command", ns).text) for i in root.findall("ob:item", ns)]
    assert items == [("_Terminal", "xterm"), ("_Web browser", "firefox-esr"), ("_Files", "pcmanfm")]
    assert root.find("ob:menu[@id='client-list-combined-menu']", ns) is not None  # the window list
    assert "Exit" not in first_look.menu_xml(lambda p: None)  # leaving openbox would end the desktop
    nothing = ET.fromstring(first_look.menu_xml(lambda p: None)).find("ob:menu", ns)
    assert nothing.findall("ob:item", ns) == []


def test_the_menus_chromium_starts_as_root(tmp_path: Path):
    """Debian's x-www-browser is often Chromium, which will not start as root without --no-sandbox (the menu's
    "Web browser" did nothing on a root Jupyter server); as any other user it keeps its sandbox."""
    (tmp_path / "chromium").write_text("")
    (tmp_path / "x-www-browser").symlink_to(tmp_path / "chromium")
    def find(program: str):
        return str(tmp_path / program) if program == "x-www-browser" else None

    def browser(as_root: bool) -> str:
        return re.search(r'label="_Web browser".*?<command>(.*?)</command>', first_look.menu_xml(find, as_root)).group(1)

    assert browser(True) == "x-www-browser --no-sandbox"
    assert browser(False) == "x-www-browser"
    (tmp_path / "firefox-esr").write_text("")
    assert "--no-sandbox" not in first_look.menu_xml(lambda p: str(tmp_path / p) if p == "firefox-esr" else None, True)


@pytest.mark.docker
def test_the_docker_desktop_looks_the_same(tmp_path: Path):
    if (problem := engine_problem()) is not None:
        pytest.skip(problem)
    with Desktop(backend="docker") as d:
        first = d.screenshot()  # start.sh says the desktop is ready once the hint is up
        x, y, w, h = hint_geometry(d)
        text = ocr(first.crop((x, y, x + w, y + h)), tmp_path).replace("\n", " ")
        assert "Right-click the desktop for the menu" in text, text
        menu = ET.fromstring(d.run("cat /etc/xdg/openbox/menu.xml").stdout)
        commands = [c.text for c in menu.iter("{http://openbox.org/3.4/menu}command")]
        assert commands == ["x-terminal-emulator", "x-www-browser", "thunar"]  # the image's apps
