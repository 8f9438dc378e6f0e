"""A person in the loop (jupyter_desktop/gate.py), on a real `jupyter server` with real desktops, ``Desktop`` used as a
kernel uses it: the approval policy (``approve``), a person's answers given the way a page gives them (a long-poll
of ``watch`` over REST, then ``decide``), and taking the desktop over. Effects are checked with xev on the desktop:
an approved click lands where it was asked, a denied one never arrives (a later marker motion proves the log is
read past where it would be)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_desktop import ActionDeniedError, Desktop, InvalidInputError, TakenOverError, Trajectory
from jupyter_desktop.rfb import RFBClient

from .conftest import Xev, run_async
from .harness.server import TOKEN, JupyterServer
from .harness.waiting import eventually


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[JupyterServer]:
    srv = JupyterServer(tmp_path_factory.mktemp("gate-server"))
    yield srv
    srv.shutdown()


@pytest.fixture
def desk(server, monkeypatch, tmp_path) -> Iterator[tuple[Desktop, Xev]]:
    """A desktop the server holds, driven from this process as from a kernel, with xev filling its screen."""
    monkeypatch.setenv("JUPYTER_DESKTOP_URL", server.url)
    monkeypatch.setenv("JUPYTER_DESKTOP_TOKEN", TOKEN)
    with Desktop(profile="none", width=640, height=400) as d:
        assert d._server_side
        yield d, Xev(d, tmp_path / "xev.log")


def call(server: JupyterServer, desktop_id: str, op: str, timeout: float = 60, **args: Any) -> Any:
    """A page's call of a session operation (the generic REST route)."""
    response = server.api("POST", f"/{desktop_id}/call/{op}", json={"args": args}, timeout=timeout)
    assert response.status_code == 200, response.text
    return response.json()["result"]


@contextlib.contextmanager
def person(server: JupyterServer, desktop_id: str, decision: str) -> Iterator[dict[str, Any]]:
    """Someone at a page: waits (long-polling watch) for an approval to show up, then answers it."""
    seen: dict[str, Any] = {}

    def answer() -> None:
        version = -1
        while True:
            state = call(server, desktop_id, "watch", version=version, timeout=10.0)
            version = state["version"]
            if state["pending"]:
                seen["pending"] = state["pending"]
                seen["answer"] = call(server, desktop_id, "decide", request=state["pending"][0]["request"], decision=decision)
                return

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    yield seen
    thread.join(30)
    assert not thread.is_alive(), "the approval never showed up"


def click_at(xev: Xev, x: int, y: int) -> bool:
    return any(e.root == (x, y) for e in xev.events("ButtonPress"))


def test_ask_a_person(desk, server) -> None:
    d, xev = desk
    d.approve = "ask"
    d.approval_timeout = 60.0
    # approved once: the click waits for the answer, then lands where it was asked
    with person(server, d.id, "approve") as seen:
        d.left_click(100, 120)
    assert [a["action"] for a in seen["pending"][0]["actions"]] == ["click"]
    assert (seen["pending"][0]["actions"][0]["x"], seen["pending"][0]["actions"][0]["y"]) == (100, 120)
    assert seen["answer"]["decision"] == "approve" and seen["answer"]["by"]  # the server names who answered
    eventually(lambda: click_at(xev, 100, 120), what="the approved click")

    # denied: ActionDeniedError, and the desktop sees nothing of it
    xev.mark()
    with person(server, d.id, "deny") as seen:
        with pytest.raises(ActionDeniedError, match=f"click: denied by {seen.get('answer', {}).get('by', '')}"):
            d.left_click(200, 220)
    d.move_mouse(7, 9)  # moves are not asked: a marker after which the click would be in the log
    xev.wait_for(lambda e: e.kind == "MotionNotify" and e.root == (7, 9), "the marker motion")
    assert not xev.events("ButtonPress", "ButtonRelease")

    # always: clicks are not asked again (no one answers: an ask would time out in 2 s); typing still is
    with person(server, d.id, "always"):
        d.left_click(30, 40)
    d.approval_timeout = 2.0
    d.left_click(50, 60)
    eventually(lambda: click_at(xev, 50, 60), what="a click approved always")
    with pytest.raises(ActionDeniedError, match=r"type: no answer within 2 s \(approval_timeout\)"):
        d.write("never")
    assert not xev.events("KeyPress")
    assert d.control["pending"] == []  # the timed-out one is gone from the pages' cards


def test_policies_in_code(desk) -> None:
    d, xev = desk
    d.approve = "deny-typing"
    with pytest.raises(ActionDeniedError, match="refuses type"):
        d.write("x")
    d.left_click(11, 12)
    d.approve = {"click": "deny", "*": "allow"}
    with pytest.raises(ActionDeniedError, match="refuses click"):
        d.perform([{"action": "move", "x": 1, "y": 1}, {"action": "click", "x": 13, "y": 14}])
    d.approve = lambda action: action["action"] != "scroll"
    d.left_click(15, 16)
    with pytest.raises(ActionDeniedError, match="refuses scroll"):
        d.scroll(0, 3, 5, 5)
    d.move_mouse(3, 3)
    xev.wait_for(lambda e: e.kind == "MotionNotify" and e.root == (3, 3), "the marker motion")
    presses = [e.root for e in xev.events("ButtonPress")]
    assert presses == [(11, 12), (15, 16)], presses  # no (13, 14): the batch was refused whole, its move too
    assert not xev.events("KeyPress")
    for bad in ("maybe", {"clik": "ask"}, {"click": "perhaps"}, 3):
        with pytest.raises(InvalidInputError, match="approve"):
            d.approve = bad
    d.approve = lambda action: "later"
    with pytest.raises(InvalidInputError, match="answers True, False"):
        d.left_click(1, 1)
    d.approve = None
    with pytest.raises(InvalidInputError, match="approve"):
        Desktop(approve="sometimes")


async def viewer_click(server: JupyterServer, desktop_id: str, x: int, y: int) -> None:
    """A person's click in a viewer: RFB through the server's proxy."""
    url = server.url.replace("http", "ws", 1) + f"desktop/api/desktops/{desktop_id}/vnc"
    rfb = await RFBClient.open_websocket(url, headers=server.auth, timeout=20, resizable=False)
    try:
        for mask in (0, 1, 0):
            rfb.pointer_event(x, y, mask)
        await rfb.flush()
        await rfb.sync()
    finally:
        await rfb.close()


def test_take_over_and_hand_back(desk, server) -> None:
    d, xev = desk
    state = call(server, d.id, "take_over")  # a page's "Take over" button
    assert state["holder"] == "person" and state["by"]
    # the kernel hears of it through its watch, a round trip later (input it sends meanwhile is held by the
    # server's proxy: the test below); from then on its calls wait
    eventually(lambda: (d._session._control or {}).get("holder") == "person", what="the kernel heard of the take-over")
    waited: list[BaseException | None] = []

    def agent() -> None:
        try:
            d.left_click(50, 60)
            waited.append(None)
        except BaseException as exc:  # noqa: BLE001 - told to the test
            waited.append(exc)

    thread = threading.Thread(target=agent, daemon=True)
    thread.start()
    # the person's own input never waits: their click lands while the agent's waits
    run_async(viewer_click(server, d.id, 300, 200), 60)
    eventually(lambda: click_at(xev, 300, 200), what="the person's click")
    assert thread.is_alive() and not click_at(xev, 50, 60), f"the agent did not wait while a person held the desktop: {waited}"
    # REST callers (an MCP tool, a script) wait too
    rest: list[int] = []
    rest_thread = threading.Thread(
        target=lambda: rest.append(server.api("POST", f"/{d.id}/actions", json={"actions": [{"action": "click", "x": 70, "y": 80}]}).status_code),
        daemon=True,
    )
    rest_thread.start()
    assert call(server, d.id, "hand_back")["holder"] == "agent"
    thread.join(30)
    rest_thread.join(30)
    assert waited == [None] and rest == [204]
    eventually(lambda: click_at(xev, 50, 60) and click_at(xev, 70, 80), what="the agent's clicks after the hand-back")

    # from code, and refusing instead of waiting
    d.take_over()
    assert d.control["holder"] == "person"
    d.when_taken_over = "raise"
    with pytest.raises(TakenOverError, match="holds desktop"):
        d.left_click(1, 1)
    d.when_taken_over = "wait"
    d.control_timeout = 0.5
    with pytest.raises(TakenOverError, match="did not hand it back within 0.5 s"):
        d.left_click(1, 1)
    d.hand_back()
    d.left_click(2, 2)
    eventually(lambda: click_at(xev, 2, 2), what="a click once handed back")
    assert not click_at(xev, 1, 1)


def test_the_audit_is_in_the_recording(desk, server) -> None:
    d, _ = desk
    folder: Path = server.root / "audit"
    with d.record(folder, video=False):
        d.approve = "ask"
        with person(server, d.id, "approve"):
            d.left_click(5, 6)
        d.approve = None
        d.take_over()
        d.hand_back()
    steps = sorted(Trajectory(folder).steps, key=lambda s: s.time)
    kinds = [(s.source, s.actions[0]["action"]) for s in steps]
    assert kinds[-5:] == [("approval", "ask"), ("approval", "decide"), ("agent", "click"), ("control", "take_over"), ("control", "hand_back")], kinds
    assert [s.source for s in steps[:-5]] == ["agent"] * (len(steps) - 5)  # moves (not asked) from the xev fixture
    asked, decided = steps[-5], steps[-4]
    assert decided.actions[0]["decision"] == "approve" and asked.actions[0]["actions"][0]["x"] == 5


def test_the_proxy_holds_a_programs_input_while_a_person_holds_the_desktop(desk, server) -> None:
    """A program's own RFB connection (``?source=agent``: a kernel's) whose input arrives while a person holds the
    desktop (the program's own check came a round trip late): the server holds its keys and clicks, in order, until
    the hand-back; its screen updates go on, and so does the person's input."""
    import asyncio

    d, xev = desk
    url = server.url.replace("http", "ws", 1) + f"desktop/api/desktops/{d.id}/vnc"

    async def scene() -> None:
        agent = await RFBClient.open_websocket(url + "?source=agent", headers=server.auth, timeout=20, resizable=False)
        person = await RFBClient.open_websocket(url, headers=server.auth, timeout=20, resizable=False)
        try:
            call(server, d.id, "take_over")
            for mask in (0, 1, 0):
                agent.pointer_event(40, 50, mask)
            await agent.flush()
            await asyncio.wait_for(agent.sync(), 20)  # its update requests still pass: it sees the screen
            person.pointer_event(9, 9, 0)  # the person's input goes through at once: a marker after the click
            await person.flush()
            await asyncio.to_thread(xev.wait_for, lambda e: e.kind == "MotionNotify" and e.root == (9, 9), "the marker")
            assert not click_at(xev, 40, 50), "the program's click reached the desktop while a person held it"
            call(server, d.id, "hand_back")
            await asyncio.to_thread(eventually, lambda: click_at(xev, 40, 50), 30, 0.1, "the held click, after the hand-back")
        finally:
            await agent.close()
            await person.close()

    run_async(scene(), 120)


def test_a_desktop_of_this_process_says_nobody_can_answer(monkeypatch, tmp_path) -> None:
    """No server: the widget cannot show cards (a kernel does not hear its comm while a cell runs), so an "ask"
    with nobody watching the gate is refused at once, saying why, instead of after approval_timeout."""
    monkeypatch.setenv("JUPYTER_DESKTOP_URL", "http://127.0.0.1:9/")  # nobody listens: the desktop runs here
    monkeypatch.delenv("JUPYTER_DESKTOP_TOKEN", raising=False)
    with Desktop(profile="none", width=320, height=200, approve="ask") as d:
        assert not d._server_side
        with pytest.raises(ActionDeniedError, match="nobody can answer: this desktop runs in this process"):
            d.left_click(1, 1)
        d.move_mouse(2, 2)  # not asked: goes through
        # its own recording has the take-overs (the audit)
        with d.record(tmp_path / "audit", video=False) as rec:
            d.take_over()
            d.hand_back()
        assert [(s.source, s.actions[0]["action"]) for s in rec.steps] == [("control", "take_over"), ("control", "hand_back")]
