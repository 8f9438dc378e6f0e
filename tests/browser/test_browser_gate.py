"""A person in the loop through a real browser (Debian's Chromium through Playwright) on the full-page viewer of a
real `jupyter server`: an agent (``Desktop`` driven from this process as from a kernel, ``approve="ask"``) waits
for the card over the live screen; the person approves, denies, or allows a kind always in the page; takes the
desktop over (their own clicks land while the agent's wait) and hands it back. Effects are checked with xev on
the desktop."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from jupyter_desktop import ActionDeniedError, Desktop

from ..conftest import Xev, eventually
from ..harness.browser import open_context, skip_without_chromium
from ..harness.server import TOKEN, JupyterServer

skip_without_chromium()


@pytest.fixture
def desk(server, monkeypatch, tmp_path) -> Iterator[tuple[Desktop, Xev]]:
    monkeypatch.setenv("JUPYTER_DESKTOP_URL", server.url)
    monkeypatch.setenv("JUPYTER_DESKTOP_TOKEN", TOKEN)
    with Desktop(profile="none", width=640, height=400) as d:
        yield d, Xev(d, tmp_path / "xev.log")


@pytest.fixture
def page(browser, server: JupyterServer, desk) -> Iterator[Any]:
    d, _ = desk
    context = open_context(browser, server)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(server.url + f"desktop/?token={TOKEN}")  # logs in
    page.goto(server.url + f"desktop/{d.id}/?scale=none")  # 1:1, and the desktop keeps its size
    page.wait_for_selector("#jupyter-desktop[data-state=connected]", timeout=30000)
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


class Agent:
    """An agent's call on its own thread (it waits for the person); what it returned or raised."""

    def __init__(self, call) -> None:
        self.result: list[Any] = []
        self.thread = threading.Thread(target=self._run, args=(call,), daemon=True)
        self.thread.start()

    def _run(self, call) -> None:
        try:
            self.result.append(call())
        except BaseException as exc:  # noqa: BLE001 - told to the test
            self.result.append(exc)

    def done(self, timeout: float = 30) -> Any:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the agent's call never returned"
        return self.result[0]


def click_at(xev: Xev, x: int, y: int) -> bool:
    return any(e.root == (x, y) for e in xev.events("ButtonPress"))


def test_the_person_answers_on_the_card(page, desk) -> None:
    d, xev = desk
    d.approve = "ask"
    d.approval_timeout = 60.0

    agent = Agent(lambda: d.left_click(100, 120))
    card = page.locator(".jd-approval")
    card.wait_for(timeout=30000)
    assert card.locator("li").all_inner_texts() == ["click at (100, 120)"]
    # the click is drawn where it will land: the ring's centre over desktop pixel (100, 120) of the 1:1 canvas
    ring = page.locator(".jd-approval-marks circle").bounding_box()
    canvas = page.locator(".jd-screen canvas").bounding_box()
    assert abs(ring["x"] + ring["width"] / 2 - (canvas["x"] + 100.5)) < 2 and abs(ring["y"] + ring["height"] / 2 - (canvas["y"] + 120.5)) < 2
    assert agent.thread.is_alive() and not click_at(xev, 100, 120)  # it waits for the answer
    card.get_by_role("button", name="Approve").click()
    assert agent.done() is None
    eventually(lambda: click_at(xev, 100, 120), what="the approved click")
    card.wait_for(state="detached", timeout=30000)

    xev.mark()
    agent = Agent(lambda: d.left_click(200, 220))
    card.get_by_role("button", name="Deny").click()
    assert isinstance(agent.done(), ActionDeniedError)
    d.move_mouse(7, 9)  # not asked: a marker after which a click would be in the log
    xev.wait_for(lambda e: e.kind == "MotionNotify" and e.root == (7, 9), "the marker motion")
    assert not xev.events("ButtonPress")

    agent = Agent(lambda: d.left_click(30, 40))
    card.get_by_role("button", name="Always allow click").click()
    assert agent.done() is None
    d.approval_timeout = 2.0
    d.left_click(50, 60)  # not asked any more (an ask would time out: nobody clicks)
    eventually(lambda: click_at(xev, 30, 40) and click_at(xev, 50, 60), what="clicks allowed always")
    # no answer: denied when its time runs out, and its card goes
    agent = Agent(lambda: d.write("late"))
    card.wait_for(timeout=30000)
    assert "type “late”" in card.inner_text()
    assert isinstance(agent.done(), ActionDeniedError)
    card.wait_for(state="detached", timeout=30000)
    assert not xev.events("KeyPress")


def test_the_person_takes_over_and_hands_back(page, desk) -> None:
    d, xev = desk
    take = page.locator("button.jd-takeover")
    take.click()
    page.wait_for_selector("button.jd-takeover[aria-pressed=true]", timeout=30000)
    assert "in control" in page.inner_text(".jd-control") and page.get_attribute(".jd-control", "data-holder") == "person"
    assert d.control["holder"] == "person"
    # the kernel hears of it through its watch, a round trip later (what it sends meanwhile the server's proxy
    # holds: tests/test_gate.py); from then on its calls wait
    eventually(lambda: (d._session._control or {}).get("holder") == "person", what="the kernel heard of the take-over")

    agent = Agent(lambda: d.left_click(50, 60))
    # the person's own clicks land at once
    box = page.locator(".jd-screen canvas").bounding_box()
    page.mouse.click(box["x"] + 300.5, box["y"] + 200.5)
    eventually(lambda: click_at(xev, 300, 200), what="the person's click")
    page.keyboard.type("hi")  # and their typing
    eventually(lambda: [e.keysym for e in xev.events("KeyPress")][-2:] == ["h", "i"], what="the person's keys")
    assert agent.thread.is_alive() and not click_at(xev, 50, 60), "the agent's click went through while the person held the desktop"

    take.click()  # hand back
    page.wait_for_selector("button.jd-takeover[aria-pressed=false]", timeout=30000)
    assert agent.done() is None
    eventually(lambda: click_at(xev, 50, 60), what="the agent's click after the hand-back")
    assert page.get_attribute(".jd-control", "data-holder") == "agent"
