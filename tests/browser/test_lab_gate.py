"""A person in the loop in a real JupyterLab (Chromium through Playwright): a notebook cell's agent call waits, in
the cell's own thread, for the card over the desktop's widget; the person answers there (approve: the click lands;
deny: ActionDeniedError, nothing sent) and takes the desktop over from the widget's toolbar (the cell waits, the
person's own clicks land) and hands it back (the cell goes on). The kernel cannot hear the widget's comm while a
cell runs; the answers reach it through the server."""

from __future__ import annotations

import pytest

from ..conftest import eventually
from ..harness.browser import skip_without_chromium
from ..harness.lab_notebook import LabNotebook, click_desktop, close, open_notebook, show, start
from ..harness.server import JupyterServer

skip_without_chromium()
pytest.importorskip("jupyterlab")


def finished(cell) -> bool:
    return bool(cell.locator(".jp-InputArea-prompt").inner_text().strip()[1:-2].isdigit())


def output_of(cell, timeout: float = 60) -> str:
    eventually(lambda: finished(cell), timeout=timeout, what="the cell finished")
    return LabNotebook.output(cell)


def pointer(lab: JupyterServer, desktop_id: str) -> tuple[int, int]:
    data = lab.api("GET", f"/{desktop_id}/pointer").json()
    return data["x"], data["y"]


def test_approve_deny_and_take_over_in_the_widget(browser, lab: JupyterServer) -> None:
    context, nb = open_notebook(browser, lab, "gate.ipynb")
    try:
        desktop_id = start(nb, lab.started, "d", "profile='none', width=640, height=400")
        view = show(nb, "d", desktop_id, "websocket")
        nb.run("d.approve = 'ask'; d.approval_timeout = 60")

        # the agent's click, in the cell's own thread: it waits for the card
        cell = nb.submit("d.left_click(100, 120); print('clicked', d.get_cursor_position())")
        card = view.locator(".jd-approval")
        card.wait_for(timeout=30000)
        assert card.locator("li").all_inner_texts() == ["click at (100, 120)"]
        assert not finished(cell) and pointer(lab, desktop_id) != (100, 120)
        card.get_by_role("button", name="Approve").click()
        assert output_of(cell) == "clicked (100, 120)"

        cell = nb.submit("try:\n    d.write('nope')\nexcept Exception as e:\n    print(type(e).__name__, e)")
        card.wait_for(timeout=30000)
        assert "type “nope”" in card.inner_text()
        card.get_by_role("button", name="Deny").click()
        assert output_of(cell).startswith("ActionDeniedError type: denied by")
        card.wait_for(state="detached", timeout=30000)

        # take over from the widget's toolbar: the agent's next click waits, the person's own land
        nb.run("d.approve = None")
        view.locator("button.jd-takeover").click()
        view.locator("button.jd-takeover[aria-pressed=true]").wait_for(timeout=30000)
        assert view.locator(".jd-control").get_attribute("data-holder") == "person"
        # the kernel hears of it through its watch, a round trip later (what it sends meanwhile the server's proxy
        # holds: tests/test_gate.py); from then on its calls wait
        eventually(lambda: nb.value("(d._session._control or {}).get('holder')") == "person", what="the kernel heard")
        cell = nb.submit("print('acting', flush=True); d.left_click(50, 60); print('agent', d.get_cursor_position())")
        eventually(lambda: "acting" in LabNotebook.output(cell), what="the cell running")  # at the agent's click
        click_desktop(view, 300, 200)
        # (the widget scales the screen to the cell: a pixel of rounding)
        eventually(lambda: close(pointer(lab, desktop_id), (300, 200), 2), what="the person's click")
        assert not finished(cell), "the agent's click went through while the person held the desktop"
        view.locator("button.jd-takeover").click()  # hand back
        assert output_of(cell) == "acting\nagent (50, 60)"
        assert view.locator(".jd-control").get_attribute("data-holder") == "agent"
        assert not nb.errors, nb.errors
    finally:
        context.close()
