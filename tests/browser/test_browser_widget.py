"""The notebook widget in a real JupyterLab (Chromium through Playwright) with a real kernel and real desktops.

Two ways to the desktop, each checked by what the browser shows (the canvas's pixels) and by what reaches the
desktop (where the pointer went, what an xterm received, tesseract reading the screen):

- the Jupyter server's WebSocket proxy: JupyterLab with our server extension, the kernel's Desktop() lives in
  the server; also every toolbar button (view-only, scale, size, full screen, new tab, screenshot to the
  clipboard and as a download, reconnect, terminate) and traits set from Python applying live;
- the comm tunnel: JupyterLab with our server extension disabled, so the kernel runs the desktop in-process
  and the widget's RFB bytes go through the widget's comm.
"""

from __future__ import annotations

import base64
import io
import re
import uuid
from pathlib import Path

import pytest
from PIL import Image

from ..conftest import eventually, ocr
from ..harness.processes import commands
from ..harness.waiting import none_left
from ..harness.browser import BASE, skip_without_chromium
from ..harness.lab_notebook import (
    NOTEBOOK_VIEWPORT,
    LabNotebook,
    Started,
    canvas_geometry,
    canvas_pixels,
    click_desktop,
    close,
    open_notebook,
    show,
    start,
    wait_widget,
)
from ..harness.server import JupyterServer

skip_without_chromium()

pytest.importorskip("jupyterlab")
pytest.importorskip("anywidget")

ORANGE = (255, 128, 0)
TEAL = (0, 128, 128)


def paint_and_read(nb: LabNotebook, view, var: str, color: tuple[int, int, int]) -> None:
    """The desktop's root window changes colour; the widget's canvas shows it."""
    hex_color = "#{:02x}{:02x}{:02x}".format(*color)
    assert nb.value(f"{var}.run(\"xsetroot -solid '{hex_color}'\").returncode") == 0
    g = canvas_geometry(view)
    w, h = int(g["fbWidth"]), int(g["fbHeight"])
    points = [(w - 3, h - 3), (w // 2, h - 3), (w - 3, h // 2)]  # away from the xterm at the top left
    eventually(lambda: all(close(p, color) for p in canvas_pixels(view, points)), timeout=15,
               what=f"canvas shows {hex_color}")  # fmt: skip


def type_into_xterm(nb: LabNotebook, view, var: str, tmp_path: Path, label: str) -> None:
    """Click an xterm through the canvas, type a line: the xterm gets it, and it is on the screen."""
    out = tmp_path / f"typed-{label}.txt"
    title = f"typing-{label}"
    script = f'read line; printf %s "$line" > {out}; exec sleep 600'
    nb.run(
        f"{var}.launch(['xterm', '-fa', 'Monospace', '-fs', '16', '-geometry', '40x4+10+10', '-T', '{title}', "
        f"'-e', 'sh', '-c', {script!r}]); _w = {var}.wait_for_window('{title}', timeout=20)"
    )
    x, y, w, h = nb.value("[_w.x, _w.y, _w.width, _w.height]")
    click_desktop(view, x + w // 2, y + h // 2)
    text = f"canvas typing {label} 42"
    nb.page.keyboard.type(text)
    nb.page.keyboard.press("Enter")
    eventually(lambda: out.exists() and out.read_text() == text, timeout=15, what="the line typed through the canvas")
    # and tesseract reads it off the desktop's own screenshot
    shot = tmp_path / f"shot-{label}.png"
    nb.run(f"{var}.screenshot(region=({x}, {y}, {w}, {h})).save({str(shot)!r})")
    assert text in ocr(Image.open(shot), tmp_path).replace("\n", " "), "tesseract did not read the typed line"


def misfit(view, g: dict[str, float]) -> str:
    """What keeps the canvas ``g`` from being the default view: as wide as the cell's output (the widget's 1 px
    borders aside), at the desktop's aspect ratio, the whole view in the window. "" when it is."""
    cell = view.evaluate("root => root.parentElement.getBoundingClientRect().width")
    height = view.bounding_box()["height"]
    problems = []
    if abs(g["width"] - (cell - 2)) > 1.5:
        problems.append(f"the canvas is {g['width']:.1f} px wide in a {cell:.1f} px cell")
    if abs(g["height"] - g["width"] * g["fbHeight"] / g["fbWidth"]) > 1.5:
        problems.append(f"the canvas is {g['width']:.1f}x{g['height']:.1f}, not {g['fbWidth']}x{g['fbHeight']}'s shape")
    if height > NOTEBOOK_VIEWPORT["height"]:
        problems.append(f"the view is {height:.0f} px high in a {NOTEBOOK_VIEWPORT['height']} px window")
    return "; ".join(problems)


def pointer_follows_clicks(nb: LabNotebook, view, var: str) -> tuple[int, int]:
    g = canvas_geometry(view)
    target = (int(g["fbWidth"] * 0.7), int(g["fbHeight"] * 0.6))
    click_desktop(view, *target)

    def arrived() -> tuple[int, int] | None:
        x, y = nb.value(f"{var}.get_cursor_position()")
        return (x, y) if max(abs(x - target[0]), abs(y - target[1])) <= 2 else None  # scaled: within 2 px

    return eventually(arrived, timeout=10, what=f"pointer at {target}")


# ------------------------------------------------------------------------------------------ the WebSocket path


def test_widget_through_the_server_websocket(browser, lab: JupyterServer, tmp_path):
    context, nb = open_notebook(browser, lab, "websocket.ipynb")
    page = nb.page
    try:
        desktop_id = start(nb, lab.started, "d", "width=800, height=600")
        view = show(nb, "d", desktop_id, "websocket")
        vnc = f"ws://127.0.0.1:{lab.port}{BASE}desktop/api/desktops/{desktop_id}/vnc"
        assert nb.sockets.count(vnc) == 1, nb.sockets
        assert nb.value("d.view().ws_url") == f"desktop/api/desktops/{desktop_id}/vnc"
        assert view.locator(".jd-status").inner_text() == "running"
        assert view.locator(".jd-status").get_attribute("data-tone") == "ok"

        # pixels: the desktop's colour reaches the canvas
        paint_and_read(nb, view, "d", ORANGE)
        g = canvas_geometry(view)
        assert (g["fbWidth"], g["fbHeight"]) == (800, 600)
        assert not misfit(view, g), misfit(view, g)  # the default view: the cell's width at the desktop's 4:3
        paint_and_read(nb, view, "d", TEAL)

        # input: clicks move the desktop's pointer; typing reaches an xterm
        pointer_follows_clicks(nb, view, "d")
        type_into_xterm(nb, view, "d", tmp_path, "ws")

        # view only: clicks and keys do not reach the desktop (a fresh xterm, focused by the window manager,
        # logs every line it gets)
        out = tmp_path / "view-only.txt"
        script = f'while read line; do printf "%s\\n" "$line" >> {out}; done'
        nb.run(f"d.launch(['xterm', '-geometry', '30x3+300+300', '-T', 'view-only', '-e', 'sh', '-c', {script!r}])")
        x, y, w, h = nb.value("(lambda w: [w.x, w.y, w.width, w.height])(d.wait_for_window('view-only'))")
        before = tuple(nb.value("d.get_cursor_position()"))
        view.locator("[aria-label='View only']").click()
        assert nb.value("d.view().view_only") is True
        cells = nb.cells().count()
        click_desktop(view, 100, 500)
        page.keyboard.type("ignored")
        page.keyboard.press("Enter")
        view.locator("[aria-label='View only']").click()
        assert nb.value("d.view().view_only") is False
        view.locator("canvas").focus()  # the keyboard back in the view, the pointer left where it was
        page.keyboard.type("allowed")
        page.keyboard.press("Enter")
        # input goes out in order on one connection: once this line is there, whatever view-only let through
        # (the click, the "ignored" line) was there before it
        eventually(lambda: out.exists() and "allowed\n" in out.read_text(), what="keys once view-only is off")
        assert out.read_text() == "allowed\n", "view-only let keys through"
        assert tuple(nb.value("d.get_cursor_position()")) == before, "view-only let the pointer through"
        # the keys stayed with the widget: no notebook shortcut ran (r would make the cell raw, d d delete it)
        assert nb.cells().count() == cells + 2 and view.is_visible()  # + the two nb.value cells since
        click_desktop(view, x + w // 2, y + h // 2)
        nb.run("d.view().view_only = True")  # and from Python, live
        wait_widget(page, desktop_id, state="connected")
        page.wait_for_function(
            "sel => document.querySelector(sel).getAttribute('aria-pressed') === 'true'",
            arg=f".jd-widget[data-desktop-id='{desktop_id}'] [aria-label='View only']",
        )
        nb.run("d.view().view_only = False")

        # scale: fit (scaled into the cell) <-> 1:1
        view.locator("[aria-label='Actual size']").click()
        page.wait_for_function(
            "sel => { const c = document.querySelector(sel); return c.getBoundingClientRect().width === c.width; }",
            arg=f".jd-widget[data-desktop-id='{desktop_id}'] canvas",
        )
        assert nb.value("d.view().scale") == "1:1"
        assert view.locator(".jd-stage").bounding_box()["height"] == pytest.approx(600, abs=1)  # the screen's
        view.locator("[aria-label='Actual size']").click()
        eventually(lambda: not misfit(view, canvas_geometry(view)), what="fit: the cell's width again")
        assert nb.value("d.view().scale") == "fit"

        # size: full (the default) -> compact from the toolbar, -> full again from Python (traits apply live)
        full = view.locator(".jd-stage").bounding_box()["height"]
        view.locator("[aria-label='Compact']").click()
        eventually(lambda: abs(view.locator(".jd-stage").bounding_box()["height"] - 300) < 1, what="compact")
        assert nb.value("d.view().size") == "compact"
        eventually(lambda: abs(canvas_geometry(view)["height"] - 300) < 1, what="the canvas fit in 300 px")
        nb.run("d.view().size = 'full'")
        eventually(lambda: abs(view.locator(".jd-stage").bounding_box()["height"] - full) < 1, what="full again")
        assert view.locator("[aria-label='Compact']").get_attribute("aria-pressed") == "false"

        # full screen
        view.locator("[aria-label='Full screen']").click()
        page.wait_for_function(
            "() => document.fullscreenElement && document.fullscreenElement.classList.contains('jd-widget')"
        )
        page.evaluate("() => document.exitFullscreen()")
        page.wait_for_function("() => !document.fullscreenElement")

        # open in a new tab: the full-page viewer of this desktop, connected
        with context.expect_page(timeout=30000) as popup_info:
            view.locator("[aria-label='Open in a new tab']").click()
        popup = popup_info.value
        popup.wait_for_url(lab.url + f"desktop/{desktop_id}/?scale=scale", timeout=30000)
        popup.locator("#jupyter-desktop[data-state=connected]").wait_for(timeout=30000)
        popup.close()
        assert nb.value("d.get_screen_size()") == [800, 600]  # the tab scales; it does not resize the desktop

        # screenshot to the clipboard, and as a download: the desktop's picture
        view.locator("[aria-label='Copy screenshot']").click()
        copied = eventually(lambda: page.evaluate(
            """async () => {
                for (const item of await navigator.clipboard.read()) {
                    if (!item.types.includes('image/png')) continue;
                    const blob = await item.getType('image/png');
                    const bytes = new Uint8Array(await blob.arrayBuffer());
                    let s = ''; for (const b of bytes) s += String.fromCharCode(b);
                    return btoa(s);
                }
                return null;
            }"""), timeout=10, what="a PNG on the clipboard")  # fmt: skip
        image = Image.open(io.BytesIO(base64.b64decode(copied)))
        assert image.size == (800, 600)
        assert close(image.convert("RGB").getpixel((790, 590)), TEAL)
        with page.expect_download() as info:
            view.locator("[aria-label='Download screenshot']").click()
        assert info.value.suggested_filename.startswith(f"desktop-{desktop_id}-")
        assert Image.open(info.value.path()).size == (800, 600)

        # reconnect: the WebSocket is dropped and a new one opened (counted by the widget: Playwright's
        # websocket events proved unreliable for a page's later sockets), connected again
        opened = view.evaluate("root => root.jdView.transport.stats.opened")
        first = next(ws for ws in nb.socket_objects if ws.url == vnc)
        view.locator("[aria-label='Reconnect']").click()
        eventually(
            lambda: view.evaluate("root => root.jdView.transport.stats.opened") == opened + 1, what="a new socket"
        )
        wait_widget(page, desktop_id, state="connected", transport="websocket")
        eventually(first.is_closed, what="the old WebSocket closed")
        assert view.evaluate("root => root.jdView.transport.channel.url") == vnc

        # terminate: the kernel stops the desktop; the badge says so
        view.locator("[aria-label='Terminate']").click()
        assert view.locator("[aria-label='Terminate']").get_attribute("data-confirm") == "true"
        assert lab.api("GET", f"/{desktop_id}").json()["status"] == "running"  # one click only asks
        view.locator("[aria-label='Terminate']").click()
        wait_widget(page, desktop_id, status="stopped")
        eventually(lambda: lab.api("GET", f"/{desktop_id}").status_code == 404, what="desktop gone from the server")
        none_left(lambda: commands(desktop_id), what="desktop processes")
        assert view.locator(".jd-status").inner_text() == "stopped"
        assert not nb.errors, nb.errors
    except BaseException:
        page.screenshot(path=str(tmp_path / "failure.png"))  # what the browser showed
        raise
    finally:
        context.close()


def test_widget_in_notebook7(browser, lab: JupyterServer, tmp_path):
    """Notebook 7 (served by the same JupyterLab server) is a Jupyter page too: the server's WebSocket."""
    context, nb = open_notebook(browser, lab, "nb7.ipynb", app="notebook")
    page = nb.page
    try:
        desktop_id = start(nb, lab.started, "n", "profile='none', width=640, height=400")
        view = show(nb, "n", desktop_id, "websocket")
        paint_and_read(nb, view, "n", ORANGE)
        g = canvas_geometry(view)
        assert not misfit(view, g), misfit(view, g)  # Notebook 7's cell too: its width, at 640x400's 16:10
        pointer_follows_clicks(nb, view, "n")
        nb.run("n.close()")
        wait_widget(page, desktop_id, status="stopped")
        # Notebook 7.6 itself throws one while loading its settings ("reading 'schema'", in notebook_core)
        assert not [e for e in nb.errors if "notebook_core" not in e], nb.errors
    except BaseException:
        page.screenshot(path=str(tmp_path / "failure.png"))
        raise
    finally:
        context.close()


# ------------------------------------------------------------------------------------------ the comm tunnel


def test_widget_through_the_comm_tunnel(browser, lab_without_extension: JupyterServer, tmp_path):
    lab = lab_without_extension
    context, nb = open_notebook(browser, lab, "tunnel.ipynb")
    page = nb.page
    try:
        desktop_id = start(nb, lab.started, "e", "width=640, height=400")
        assert nb.value("e._server_side") is False  # no server extension: the desktop lives in the kernel
        assert nb.value("e.view().ws_url") == ""
        view = show(nb, "e", desktop_id, "tunnel")
        assert not [s for s in nb.sockets if "/desktop/api/" in s], nb.sockets
        assert view.locator("[aria-label='Open in a new tab']").is_hidden()
        assert "through the kernel" in view.locator(".jd-status").get_attribute("title")

        paint_and_read(nb, view, "e", ORANGE)
        pointer_follows_clicks(nb, view, "e")
        type_into_xterm(nb, view, "e", tmp_path, "tunnel")
        paint_and_read(nb, view, "e", TEAL)

        # a second view of the same desktop: its own channel, both live
        nb.run("e.view(size='compact')")
        views = page.locator(f".jd-widget[data-desktop-id='{desktop_id}'][data-state=connected]")
        eventually(lambda: views.count() == 2, what="two connected views")
        eventually(lambda: close(canvas_pixels(views.nth(1), [(630, 390)])[0], TEAL), what="the second view's picture")

        # terminate through the toolbar: the kernel closes the desktop
        view.locator("[aria-label='Terminate']").click()
        view.locator("[aria-label='Terminate']").click()
        wait_widget(page, desktop_id, status="stopped")
        assert nb.value("e._closed") is True
        none_left(lambda: commands(desktop_id), what="desktop processes")
        assert not nb.errors, nb.errors
    except BaseException:
        page.screenshot(path=str(tmp_path / "failure.png"))  # what the browser showed
        raise
    finally:
        context.close()


def test_tunnel_survives_a_busy_kernel(browser, lab_without_extension: JupyterServer, tmp_path):
    """A cell that runs for a while does not freeze the view: JupyterLab sends comm messages to a subshell
    (ipykernel 7), so the tunnel keeps relaying; the desktop's changes show while the cell runs."""
    lab = lab_without_extension
    context, nb = open_notebook(browser, lab, f"busy-{uuid.uuid4().hex[:6]}.ipynb")
    page = nb.page
    try:
        desktop_id = start(nb, lab.started, "f", "profile='none', width=320, height=240")
        view = show(nb, "f", desktop_id, "tunnel")
        cell = nb.submit(
            "import time\nfor c in ('#ff8000', '#008080'):\n    f.run(f\"xsetroot -solid '{c}'\"); time.sleep(3)"
        )
        eventually(lambda: close(canvas_pixels(view, [(300, 200)])[0], ORANGE), timeout=3, what="orange mid-cell")
        eventually(lambda: close(canvas_pixels(view, [(300, 200)])[0], TEAL), timeout=4, what="teal mid-cell")
        assert re.match(r"\[\*\]", cell.locator(".jp-InputArea-prompt").inner_text().strip()), (
            "the cell was not running"
        )
        nb.run("f.close()", timeout=90)
    except BaseException:
        page.screenshot(path=str(tmp_path / "failure.png"))
        raise
    finally:
        context.close()


# ------------------------------------------------------------------------------------------ Desktop.grid

GRID_COLOURS = [(200, 40, 40), (40, 160, 60), (40, 80, 200)]
GRID_PROBE = (630, 390)  # a point of each 640x400 root window, away from the xterm and the hint


def grid_tile(page, desktop_id: str, **attrs: str):
    extra = "".join(f"[data-{k}='{v}']" for k, v in attrs.items())
    return page.locator(f".jd-grid-widget .jd-tile[data-id='{desktop_id}']{extra}")


def show_grid(nb: LabNotebook, started: Started, names: list[str]) -> list[str]:
    """Start a 640x400 desktop per name, each root window its own colour; show them in one grid, each tile
    connected and showing its desktop's colour. Returns the desktops' ids in the grid's order."""
    ids = []
    for name, colour in zip(names, GRID_COLOURS):
        ids.append(start(nb, started, name, "width=640, height=400"))
        assert nb.value(f"{name}.run(\"xsetroot -solid '#{bytes(colour).hex()}'\").returncode") == 0
    nb.run(f"__import__('jupyter_desktop').Desktop.grid([{', '.join(names)}])")
    for desktop_id, colour in zip(ids, GRID_COLOURS):
        nb.page.wait_for_selector(f".jd-grid-widget .jd-tile[data-id='{desktop_id}'][data-state=connected]")
        tile = grid_tile(nb.page, desktop_id)
        eventually(lambda: close(canvas_pixels(tile, [GRID_PROBE])[0], colour), what=f"{desktop_id}'s colour in its tile")
    assert nb.page.locator(".jd-grid-widget .jd-tile").count() == len(names)
    return ids


def test_grid_of_desktops_through_the_server_websocket(browser, lab: JupyterServer, tmp_path):
    """Desktop.grid([g1, g2, g3]): each tile shows its own desktop, live; view-only until taken over."""
    context, nb = open_notebook(browser, lab, "grid.ipynb")
    page = nb.page
    try:
        ids = show_grid(nb, lab.started, ["g1", "g2", "g3"])
        for desktop_id in ids:  # each tile on its desktop's WebSocket, through the server
            assert any(f"/desktop/api/desktops/{desktop_id}/vnc" in url for url in nb.sockets), (desktop_id, nb.sockets)
        # live: g2's screen changes, its tile follows; the others keep theirs
        assert nb.value("g2.run(\"xsetroot -solid '#f0c000'\").returncode") == 0
        eventually(lambda: close(canvas_pixels(grid_tile(page, ids[1]), [GRID_PROBE])[0], (240, 192, 0)),
                   what="g2's new colour in its tile")  # fmt: skip
        assert close(canvas_pixels(grid_tile(page, ids[0]), [GRID_PROBE])[0], GRID_COLOURS[0])

        out = tmp_path / "grid-typed.txt"
        script = f'while read line; do printf "%s\\n" "$line" >> {out}; done'
        nb.run(
            f"g1.launch(['xterm', '-geometry', '40x4+10+10', '-T', 'grid-typing', '-e', 'sh', '-c', {script!r}]); "
            "_w = g1.wait_for_window('grid-typing', timeout=20)"
        )
        x, y, w, h = nb.value("[_w.x, _w.y, _w.width, _w.height]")
        # a click enlarges the tile; the others step aside; it is still view-only
        tile = grid_tile(page, ids[0])
        tile.click()
        page.wait_for_selector(f".jd-grid-widget .jd-tile-zoomed[data-id='{ids[0]}'][data-mode=view]")
        assert grid_tile(page, ids[1]).is_hidden()
        grid_width = tile.evaluate("el => el.closest('.jd-grid-widget').getBoundingClientRect().width")
        assert canvas_geometry(tile)["width"] >= grid_width - 4, grid_width  # as wide as the cell
        click_desktop(tile, x + w // 2, y + h // 2)
        page.keyboard.type("ignored")
        page.keyboard.press("Enter")
        # take over: the same click and typing reach the xterm
        tile.locator(".jd-tile-control").click()
        page.wait_for_selector(f".jd-grid-widget .jd-tile[data-id='{ids[0]}'][data-mode=control][data-state=connected]")
        click_desktop(tile, x + w // 2, y + h // 2)
        page.keyboard.type("taken-over")  # (before asking the kernel anything: that types into a cell)
        page.keyboard.press("Enter")
        # keys go out in order: once this line is there, a leaked "ignored" line would be there before it
        eventually(lambda: out.exists() and "taken-over\n" in out.read_text(), what="the typed line in g1's xterm")
        assert out.read_text() == "taken-over\n", "a view-only tile let keys through"
        assert close(tuple(nb.value("g1.get_cursor_position()")), (x + w // 2, y + h // 2), 2)
        # "Back": the grid again, the tile view-only again
        tile.locator(".jd-tile-back").click()
        page.wait_for_selector(f".jd-grid-widget .jd-tile[data-id='{ids[0]}'][data-mode=view][data-state=connected]")
        assert page.locator(".jd-grid-widget .jd-tile-zoomed").count() == 0
        assert grid_tile(page, ids[1]).is_visible()
        # a desktop closed from Python: its tile says so, the others stay live
        nb.run("g3.close()")
        eventually(lambda: "stopped" in grid_tile(page, ids[2]).locator(".jd-tile-note").inner_text(),
                   what="g3's tile saying it stopped")  # fmt: skip
        assert grid_tile(page, ids[0]).get_attribute("data-state") == "connected"
        assert not nb.errors, nb.errors
    except BaseException:
        page.screenshot(path=str(tmp_path / "failure.png"))
        raise
    finally:
        context.close()


def test_grid_of_desktops_through_the_comm_tunnel(browser, lab_without_extension: JupyterServer, tmp_path):
    """The same grid when the desktops live in the kernel: each tile tunnels through its desktop's comm."""
    lab = lab_without_extension
    context, nb = open_notebook(browser, lab, "grid-tunnel.ipynb")
    try:
        show_grid(nb, lab.started, ["t1", "t2"])
        assert not [s for s in nb.sockets if "/desktop/api/" in s], nb.sockets
        assert not nb.errors, nb.errors
    except BaseException:
        nb.page.screenshot(path=str(tmp_path / "failure.png"))
        raise
    finally:
        context.close()
