"""The widget's Python side (traits, the comm tunnel's relay) and the %desktop magic, in a real IPython shell."""

from __future__ import annotations

import struct

import pytest
from IPython.core.interactiveshell import InteractiveShell
from PIL import Image

from jupyter_desktop import Desktop, DesktopClosedError, InputLimitError, InvalidInputError
from jupyter_desktop.widget import MAX_GRID_TILES, DesktopGrid, DesktopView

from .conftest import eventually, marked, start_desktop
from .harness.widget import FakeFrontEnd


@pytest.fixture(scope="module")
def desktop():
    d = start_desktop("xvnc", "none", width=640, height=400)
    yield d
    d.close()


def test_view_traits(desktop: Desktop):
    view = desktop.view()
    assert isinstance(view, DesktopView) and desktop.view() is view
    assert (view.desktop_id, view.status, view.screen_width, view.screen_height) == (desktop.id, "running", 640, 400)
    assert view.ws_url == "" and view.viewer_url == ""  # the kernel holds this desktop: the view tunnels
    assert not view.view_only and view.scale == "fit" and view.size == "full"  # the cell's width (f02c180)
    watch = desktop.view(view_only=True, size="compact")
    assert watch is not view and watch.view_only and watch.size == "compact"
    bundle = desktop._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle and bundle["image/png"].startswith(b"\x89PNG")


def test_grid_holds_the_desktops_views(desktop: Desktop):
    grid = Desktop.grid([desktop])
    assert isinstance(grid, DesktopGrid) and grid.views == [desktop.view()]
    state = grid.get_state()["views"]  # what the browser gets: references to the views' own models
    assert state == [f"IPY_MODEL_{desktop.view().model_id}"]
    with pytest.raises(ValueError, match="at least one"):
        Desktop.grid([])
    with pytest.raises(TypeError, match="Desktop objects, not str"):
        Desktop.grid(["d1"])
    with pytest.raises(ValueError, match="twice"):
        Desktop.grid([desktop, desktop])
    with pytest.raises(InputLimitError, match="MAX_GRID_TILES"):
        Desktop.grid([desktop] * (MAX_GRID_TILES + 1))


def test_comm_tunnel_relays_rfb(desktop: Desktop, monkeypatch):
    front = FakeFrontEnd(desktop.view(), monkeypatch)
    front.post({"type": "tunnel", "op": "open", "channel": "c1"})
    assert front.read(12) == b"RFB 003.008\n"
    front.post({"type": "tunnel", "op": "data", "channel": "c1"}, b"RFB 003.008\n")
    count = front.read(1)[0]
    assert 1 in front.read(count)
    front.post({"type": "tunnel", "op": "data", "channel": "c1"}, b"\x01")
    assert front.read(4) == b"\0\0\0\0"
    front.post({"type": "tunnel", "op": "data", "channel": "c1"}, b"\x01")
    assert struct.unpack(">HH", front.read(4)) == (640, 400)
    assert {"type": "tunnel", "op": "open", "channel": "c1"} in front.events
    front.post({"type": "tunnel", "op": "close", "channel": "c1"})
    eventually(lambda: any(e.get("op") == "closed" for e in front.events), what="tunnel closed")
    assert not desktop.view()._channels


def test_tunnel_closed_before_it_ran_still_tells_the_view(desktop: Desktop, monkeypatch):
    """A view that opens and closes a channel at once (a kernel busy until both arrive): the channel ends,
    the view hears "closed", nothing is left behind."""
    front = FakeFrontEnd(desktop.view(), monkeypatch)
    front.post({"type": "tunnel", "op": "open", "channel": "quick"})
    front.post({"type": "tunnel", "op": "close", "channel": "quick"})
    eventually(lambda: any(e.get("op") == "closed" for e in front.events), what="closed")
    assert [e for e in front.events if e.get("op") == "closed"] == [
        {"type": "tunnel", "op": "closed", "channel": "quick", "reason": "closed"}
    ]
    assert not desktop.view()._channels
    front.post({"type": "tunnel", "op": "data", "channel": "quick"}, b"late")  # ignored
    front.post({"type": "tunnel", "op": "open", "channel": ""})  # no id: ignored
    assert not desktop.view()._channels


def test_refresh_says_when_the_desktop_is_gone(monkeypatch):
    d = start_desktop("xvnc", "none")
    view = d.view()
    monkeypatch.setattr(view, "send", lambda *a, **k: None)

    def gone(*_: object) -> None:
        raise DesktopClosedError("no desktop with id x")

    monkeypatch.setattr(type(d), "info", property(gone))
    view.refresh()
    assert (view.status, view.error) == ("stopped", "no desktop with id x")
    monkeypatch.undo()
    d.close()


def test_toolbar_terminate(monkeypatch):
    d = start_desktop("xvnc", "none")
    view = d.view()
    monkeypatch.setattr(view, "send", lambda *a, **k: None)
    view._on_message(view, {"type": "terminate"}, [])
    assert view.status == "stopped" and not marked(d.id)


@pytest.fixture
def shell():
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "jupyter_desktop")
    yield ip
    ip.run_line_magic("unload_ext", "jupyter_desktop")
    InteractiveShell.clear_instance()


def test_desktop_magic(shell):
    d = shell.run_line_magic("desktop", "--profile none --size 800x600 --view-only")
    assert isinstance(d, Desktop) and d.get_screen_size() == (800, 600)
    assert d.view().view_only and d.view().size == "full"  # as wide as the cell, as any view by default
    listing = shell.run_line_magic("desktop", "list")
    assert d.id in repr(listing) and d.id in listing._repr_html_()
    e = shell.run_line_magic("desktop", "--profile none --compact")
    assert e.view().size == "compact" and not e.view().view_only
    shell.run_line_magic("desktop", f"stop {d.id}")
    assert not marked(d.id)
    with pytest.raises(InvalidInputError, match="--size must look like"):
        shell.run_line_magic("desktop", "--size big")
    with pytest.raises(InvalidInputError, match="invalid choice"):
        shell.run_line_magic("desktop", "destroy")
    # screenshots render inline, encoded fast
    png = shell.display_formatter.formatters["image/png"](Image.new("RGB", (4, 4)))
    assert png.startswith(b"\x89PNG")
    shell.run_line_magic("unload_ext", "jupyter_desktop")  # stops what %desktop started
    assert not marked(e.id)
    assert "desktop" not in shell.magics_manager.magics["line"]
    shell.run_line_magic("load_ext", "jupyter_desktop")  # for the fixture's unload
