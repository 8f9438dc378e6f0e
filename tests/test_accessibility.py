"""The accessibility tree (jupyter_desktop/atspi.py, accessibility.py) on real desktops with real apps: a GTK dialog
(zenity) whose answer is its exit status, a GTK text field whose text zenity prints, Chromium showing a page, an XFCE
app's menu; through a real jupyter-server (REST, and ``Desktop`` as a kernel uses it) and in this process."""

from __future__ import annotations

import asyncio
import re
import shlex
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from jupyter_desktop import AccessibilityError, ActionDeniedError, Desktop, InvalidInputError, StaleNodeError
from jupyter_desktop.accessibility import AccessibilityTree
from jupyter_desktop.backends import _proc

from .conftest import run_async
from .harness.server import TOKEN, JupyterServer
from .harness.waiting import eventually

@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[JupyterServer]:
    srv = JupyterServer(tmp_path_factory.mktemp("a11y-server"))
    yield srv
    srv.shutdown()


@pytest.fixture(scope="module")
def served(server) -> Iterator[Desktop]:
    """A desktop the server holds, driven from this process as a kernel drives it."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_DESKTOP_URL", server.url)
        mp.setenv("JUPYTER_DESKTOP_TOKEN", TOKEN)
        with Desktop(width=1024, height=700) as d:
            assert d._server_side
            yield d


def inside(thread: threading.Thread, function: str) -> bool:
    """Whether ``thread`` is now running ``function`` (somewhere down its stack)."""
    frame = sys._current_frames().get(thread.ident or -1)
    while frame is not None:
        if frame.f_code.co_name == function:
            return True
        frame = frame.f_back
    return False


def zenity(d: Desktop, *args: str, out: str | None = None):
    """zenity on the desktop; its standard output into ``out`` (a file on the desktop) when given."""
    command = shlex.join(["zenity", *args]) + (f" > {shlex.quote(out)}" if out else "")
    return d.launch(["sh", "-c", command])


def test_a_dialogs_buttons_found_and_pressed(served) -> None:
    """zenity --question exits 0 for Yes and 1 for No: the tree's click (the pointer) and do (AT-SPI's action) each
    press the button they name, and the dialog's own answer says which."""
    d = served
    process = zenity(d, "--question", "--text", "Save the file?")
    yes = d.wait_for_node("push button", "Yes")
    assert yes.bounds and yes.center and "showing" in yes.states, yes
    tree = d.accessibility()
    assert isinstance(tree, AccessibilityTree)
    (label,) = tree.find(role="label", name="save the FILE")  # a part of the name, any case
    assert label.name == "Save the file?"
    assert [n.name for n in tree.find(role="push button", name=re.compile("^(Yes|No)$"))] == ["No", "Yes"]
    app = label
    while app.parent is not None:
        app = app.parent
    assert app.role == "application" and app.name == "zenity" and app in tree.roots
    yes.click()
    assert process.wait(20) == 0

    process = zenity(d, "--question", "--text", "Delete it?")
    no = d.wait_for_node("push button", "No")
    assert [a.lower() for a in no.actions] == ["click"]
    after = no.do("click")
    assert process.wait(20) == 1
    assert after.role == "push button"
    with pytest.raises(StaleNodeError, match="take a new snapshot"):
        no.refresh()  # the dialog is gone: its node too


def test_a_text_field_filled_and_read_back(served) -> None:
    """set_text replaces a GTK entry's text; the node reads it back, and zenity prints it when OK is pressed."""
    d = served
    out = f"/tmp/a11y-entry-{time.monotonic_ns()}.txt"
    process = zenity(d, "--entry", "--text", "Your name", "--entry-text", "old", out=out)
    field = d.wait_for_node("text", states="editable")
    assert field.text == "old"
    assert field.set_text("Ada Lovelace").text == "Ada Lovelace"
    assert field.refresh().text == "Ada Lovelace"
    d.accessibility().find(role="push button", name="OK")[0].do("click")
    assert process.wait(20) == 0
    assert d.run(["cat", out]).stdout.strip() == "Ada Lovelace"


def test_outline_limits_and_mistakes(served) -> None:
    d = served
    process = zenity(d, "--question", "--text", "Outline me")
    yes = d.wait_for_node("push button", "Yes")
    text = d.accessibility(format="text", app="zenity")
    x, y, w, h = yes.bounds
    assert f"- push button 'Yes' @{x},{y} {w}x{h}" in text and f"[{yes.ref}]" in text, text
    assert "filler" not in text  # nameless containers are left out, their children in their place
    assert text.splitlines()[0].startswith("- application 'zenity'")

    cut = d.accessibility(app="zenity", max_nodes=2)
    assert len(cut) == 2 and cut.truncated
    shallow = d.accessibility(app="zenity", max_depth=2)
    assert {n.depth for n in shallow} == {0, 1} and shallow.truncated
    assert d.accessibility(app="no such app").nodes == []

    with pytest.raises(InvalidInputError, match="did you mean 'push button'"):
        d.accessibility().find(role="pushbutton")
    with pytest.raises(InvalidInputError, match="no AT-SPI state"):
        d.accessibility().find(states="shiny")
    with pytest.raises(InvalidInputError, match="max_nodes must be an integer from 1 to 20000"):
        d.accessibility(max_nodes=10**6)
    with pytest.raises(InvalidInputError, match="format must be"):
        d.accessibility(format="xml")
    with pytest.raises(InvalidInputError, match="has no action 'fly'; its actions: Click"):
        yes.do("fly")
    with pytest.raises(InvalidInputError, match="is not editable text"):
        yes.set_text("x")
    with pytest.raises(InvalidInputError, match="not a node reference"):
        d._accessible_command(type(yes)(d, {"ref": "../etc"}), "describe", None)
    with pytest.raises(TimeoutError, match="push button .Yes."):  # names what is there
        d.wait_for_node("push button", "Maybe", timeout=0.5)
    yes.click()
    assert process.wait(20) == 0


def test_rest_routes(served, server) -> None:
    """GET .../accessibility (JSON and the outline), POST a command; mistakes are 4xx naming the problem; no token,
    no tree."""
    d = served
    process = zenity(d, "--question", "--text", "Over REST")
    yes = d.wait_for_node("push button", "Yes")
    snapshot = server.api("GET", f"/{d.id}/accessibility", params={"app": "zenity"}).json()
    assert {n["ref"] for n in snapshot["nodes"]} >= {yes.ref} and snapshot["limits"]["max_nodes"] == 2000
    outline = server.api("GET", f"/{d.id}/accessibility", params={"format": "text"})
    assert outline.headers["content-type"].startswith("text/plain") and "'Yes'" in outline.text

    for params, status, says in (
        ({"max_nodes": "0"}, 400, "max_nodes"),
        ({"format": "xml"}, 400, "format"),
        ({"depth": "3"}, 400, "unknown query parameter"),
    ):
        response = server.api("GET", f"/{d.id}/accessibility", params=params)
        assert response.status_code == status and says in response.json()["message"], response.text
    for body, status, says in (
        ({"ref": yes.ref, "command": "explode"}, 400, "no node command"),
        ({"ref": "nonsense", "command": "describe"}, 400, "not a node reference"),
        ({"ref": ":1.9999/3", "command": "describe"}, 404, "is gone"),
        ({"ref": yes.ref, "command": "do", "arg": "fly"}, 400, "no action 'fly'"),
        ({"ref": yes.ref, "command": "describe", "extra": 1}, 400, "extra"),
    ):
        response = server.api("POST", f"/{d.id}/accessibility", json=body)
        assert response.status_code == status and says in response.json()["message"], (body, response.text)
    anonymous = server.request("GET", f"desktop/api/desktops/{d.id}/accessibility", headers={"Authorization": ""})
    assert anonymous.status_code == 403

    pressed = server.api("POST", f"/{d.id}/accessibility", json={"ref": yes.ref, "command": "click"})
    assert pressed.status_code == 200 and pressed.json()["name"] == "Yes"
    assert process.wait(20) == 0


def test_chromium_page_button_and_field(served, tmp_path) -> None:
    """A web page in Chromium: its button found by name and pressed, its field filled (Chromium's fields have no
    AT-SPI EditableText: set_text focuses, selects all and types); the page's script says what it got."""
    d = served
    page = tmp_path / "page.html"
    page.write_text(
        "<title>Orders</title><h1>Orders</h1>"
        "<input aria-label='Customer' oninput=\"document.getElementById('said').textContent='Customer: '+this.value\">"
        "<button onclick=\"document.getElementById('said').textContent='Order sent'\">Send order</button>"
        "<p id=said>nothing yet</p>"
    )
    page.chmod(0o644)
    tmp_path.chmod(0o755)
    browser = d.launch([
        "chromium", "--no-sandbox", "--no-first-run", "--disable-gpu",  # no --force-renderer-accessibility
        f"--user-data-dir=/tmp/a11y-chromium-{time.monotonic_ns()}", "--window-size=900,600", page.as_uri(),
    ])  # fmt: skip
    try:
        button = d.wait_for_node("push button", "Send order", app="Chromium", timeout=60)
        field = d.wait_for_node("entry", "Customer", app="Chromium")
        field.set_text("Grace")
        d.wait_for_node(name="Customer: Grace", app="Chromium")
        button.click()
        d.wait_for_node(name="Order sent", app="Chromium")
    finally:
        browser.kill()


def test_an_xfce_apps_menu(served) -> None:
    """xfce4-terminal's menu bar: File's items are not in the tree until a click opens the menu; then one is chosen
    by its action and opens a second window."""
    d = served
    terminal = d.launch(["xfce4-terminal", "--disable-server", "--title", "a11y-menu"])
    try:
        file_menu = d.wait_for_node("menu", "File", app="terminal", timeout=30)
        assert "showing" in file_menu.states
        assert not d.accessibility(app="terminal").find(role="menu item", name="Open Terminal")  # not showing yet
        windows = len(d.windows())
        file_menu.click()
        new_window = d.wait_for_node("menu item", "Open Terminal", app="terminal")
        assert new_window.bounds
        new_window.do("click")
        eventually(lambda: len(d.windows()) > windows, what="a second terminal window")
    finally:
        terminal.kill()


def test_in_this_process_and_without_a_bus(monkeypatch) -> None:
    """A desktop of this process reads its tree the same way; a desktop without a session bus says so."""
    monkeypatch.setenv("JUPYTER_DESKTOP_URL", "http://127.0.0.1:9/")  # nobody listens: the desktop runs here
    monkeypatch.delenv("JUPYTER_DESKTOP_TOKEN", raising=False)
    with Desktop(width=800, height=600) as d:
        assert not d._server_side
        process = zenity(d, "--question", "--text", "Here")
        d.wait_for_node("push button", "Yes").click()
        assert process.wait(20) == 0
        atspi = {pid for pid in _proc.marked_processes([d.id]).get(d.id, set())
                 if b"at-spi" in Path(f"/proc/{pid}/cmdline").read_bytes()}  # fmt: skip
        assert len(atspi) >= 3, atspi  # the bus launcher, its dbus-daemon, the registry
    assert not [pid for pid in atspi if _proc.is_alive(pid)], "accessibility processes outlived their desktop"
    with Desktop(profile="none", width=320, height=240) as bare:
        with pytest.raises(AccessibilityError, match="no session bus"):
            bare.accessibility()


def test_node_commands_are_input_for_the_gate_and_the_recording(served, server) -> None:
    """set_text is typing to the approval policy (deny-typing refuses it and the field keeps its text); a node's
    action waits while a person holds the desktop (the dialog answers only after the hand-back); while the server
    records, node commands are agent steps."""
    d = served
    process = zenity(d, "--entry", "--text", "Gated", "--entry-text", "kept")
    field = d.wait_for_node("text", states="editable")
    d.approve = "deny-typing"
    try:
        with pytest.raises(ActionDeniedError, match="type"):
            field.set_text("refused")
    finally:
        d.approve = None
    assert field.refresh().text == "kept"

    started = server.api("POST", f"/{d.id}/recording", json={"name": "a11y-steps", "video": False})
    assert started.status_code == 201, started.text
    field.set_text("recorded")
    took = server.api("POST", f"/{d.id}/call/take_over", json={"args": {}})
    assert took.status_code == 200, took.text
    done: dict[str, float] = {}

    def press_ok() -> None:
        d.accessibility().find(role="push button", name="OK")[0].do("click")
        process.wait(20)
        done["exited"] = time.monotonic()

    presser = threading.Thread(target=press_ok, daemon=True)
    presser.start()
    eventually(lambda: inside(presser, "_gate"), what="the node's action waiting at the gate")
    handed_back = time.monotonic()
    assert server.api("POST", f"/{d.id}/call/hand_back", json={"args": {}}).status_code == 200
    presser.join(30)
    assert done["exited"] > handed_back and process.returncode == 0
    server.api("DELETE", f"/{d.id}/recording")
    steps = server.request("GET", "desktop/api/recordings/a11y-steps").json()["steps"]
    said = [(s["source"], s["actions"][0].get("command"), s["actions"][0].get("arg")) for s in steps
            if s["actions"] and s["actions"][0].get("action") == "accessible"]  # fmt: skip
    assert said == [("agent", "set_text", "recorded"), ("agent", "do", "click")], steps


def test_a_hundred_snapshots_at_once(served, server) -> None:
    """A hundred REST snapshots at once are each answered, whole (4 are read at a time, the rest wait their
    turn): no 5xx, no snapshot missing the dialog."""
    d = served
    process = zenity(d, "--question", "--text", "Crowd")
    yes = d.wait_for_node("push button", "Yes")

    async def crowd() -> list[int]:
        async with httpx.AsyncClient(base_url=server.url, headers=server.auth, timeout=120) as client:
            url = f"desktop/api/desktops/{d.id}/accessibility"
            answers = await asyncio.gather(*(client.get(url, params={"app": "zenity"}) for _ in range(100)))
            assert all(yes.ref in a.text for a in answers if a.status_code == 200)
            return [a.status_code for a in answers]

    statuses = run_async(crowd())
    assert statuses == [200] * 100, statuses
    yes.click()
    assert process.wait(20) == 0
