"""CuaComputer under cua-agent's own code: its AsyncComputerHandler protocol, and a ComputerAgent run whose model
answers come from a local HTTP server (the Responses API's JSON, built with the openai SDK's types). cua's agent loop,
litellm and httpx run for real; only the model's answer is canned. Every action is checked on a real desktop by the
X events it caused (xev)."""

from __future__ import annotations

import asyncio
import base64
import inspect
import io
import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from PIL import Image

from jupyter_desktop import Desktop
from jupyter_desktop.agents import CuaComputer

from .conftest import Xev, run_async

# no telemetry (cua's PostHog and OpenTelemetry) and no fetch of litellm's price list: this machine has no network
os.environ["CUA_TELEMETRY"] = "0"
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"

cua_agent = pytest.importorskip("cua_agent", reason="cua-agent is not installed: pip install 'jupyter_desktop[cua]'")
from cua_agent import ComputerAgent
from cua_agent.computers import AsyncComputerHandler, is_agent_computer, make_computer_handler
from openai.types.responses import Response, ResponseComputerToolCall, ResponseOutputMessage

MODEL_EDGE = 640  # the bare desktop is 1280x800: screenshots of 640x400, so every model coordinate is scaled


def handler(desktop: Desktop) -> CuaComputer:
    return CuaComputer(desktop, max_long_edge=MODEL_EDGE, settle=0.1)


def screen_point(view: Any, x: int, y: int) -> tuple[int, int]:
    """The screen pixel under the middle of model pixel (x, y), computed here rather than by the code under test."""
    (w, h), (sw, sh) = view.size, view.screen
    return int((x + 0.5) * sw / w), int((y + 0.5) * sh / h)


# ---------------------------------------------------------------------------------------------- the protocol


def test_it_is_cuas_computer_handler(bare: Desktop):
    h = handler(bare)
    assert isinstance(h, AsyncComputerHandler) and is_agent_computer(h)
    assert run_async(make_computer_handler(h)) is h  # taken as it is, not wrapped
    # runtime_checkable only looks at the names: the signatures must be the protocol's as well
    members = [n for n, v in vars(AsyncComputerHandler).items() if inspect.iscoroutinefunction(v)]
    assert len(members) == 14
    for name in members:
        ours, theirs = (
            inspect.signature(getattr(CuaComputer, name)),
            inspect.signature(getattr(AsyncComputerHandler, name)),
        )
        assert inspect.iscoroutinefunction(getattr(h, name)), name
        assert [(p.name, p.kind, p.default) for p in ours.parameters.values()] == [
            (p.name, p.kind, p.default) for p in theirs.parameters.values()
        ], name
    assert run_async(h.get_environment()) == "linux"
    assert run_async(h.get_current_url()) == ""
    assert run_async(h.get_dimensions()) == (640, 400)
    png = Image.open(io.BytesIO(base64.b64decode(run_async(h.screenshot()))))
    assert (png.format, png.size) == ("PNG", (640, 400))


# ---------------------------------------------------------------------------------------------- each action


def test_each_action_on_the_desktop(bare: Desktop, xev: Xev):
    h = handler(bare)
    run_async(h.get_dimensions())
    view = h.view
    at = screen_point(view, 100, 50)

    run_async(h.click(100, 50, button="right"))
    press = xev.wait("ButtonRelease", 1) and xev.events("ButtonPress")[0]
    assert (press.root, press.button) == (at, 3)

    xev.mark()
    run_async(h.double_click(300, 200))
    presses = xev.wait("ButtonRelease", 2) and xev.events("ButtonPress")
    assert [(e.root, e.button) for e in presses] == [(screen_point(view, 300, 200), 1)] * 2

    xev.mark()
    run_async(h.move(10, 390))
    assert xev.wait_for(lambda e: e.kind == "MotionNotify" and e.root == screen_point(view, 10, 390), "the move")

    xev.mark()
    run_async(h.scroll(320, 200, 0, 300))  # 300 pixels down: three notches of the wheel (button 5)
    notches = xev.wait("ButtonRelease", 3) and xev.events("ButtonPress")
    assert [(e.root, e.button) for e in notches] == [(screen_point(view, 320, 200), 5)] * 3

    xev.mark()
    run_async(h.drag([{"x": 20, "y": 20}, {"x": 200, "y": 120}]))
    release = xev.wait("ButtonRelease", 1)[0]
    assert xev.events("ButtonPress")[0].root == screen_point(view, 20, 20)
    assert release.root == screen_point(view, 200, 120)

    xev.mark()
    run_async(h.left_mouse_down(50, 60))
    assert xev.wait("ButtonPress", 1)[0].root == screen_point(view, 50, 60)
    run_async(h.move(70, 80))
    run_async(h.left_mouse_up())  # where the pointer is
    assert xev.wait("ButtonRelease", 1)[0].root == screen_point(view, 70, 80)

    xev.mark()
    run_async(h.keypress(["CTRL", "A"]))  # OpenAI's names; "A" is the a key, not shift+a
    run_async(h.keypress("shift+Tab"))  # one string, as cua's protocol also allows
    xev.wait("KeyRelease", 4)
    assert [e.keysym for e in xev.events("KeyPress")] == ["Control_L", "a", "Shift_L", "ISO_Left_Tab"]

    # a mistake is cua's ToolError, which ComputerAgent hands to the model; nothing is sent
    from cua_agent.types import ToolError

    xev.mark()
    with pytest.raises(ToolError, match=r"off the screen.*x must be in 0\.\.639 and y in 0\.\.399"):
        run_async(h.click(640, 10))
    with pytest.raises(ToolError, match="unknown"):
        run_async(h.keypress(["CTRL", "NOSUCHKEY"]))
    run_async(h.type("z"))  # a marker: everything before it has been sent
    xev.wait_for(lambda e: e.kind == "KeyRelease" and e.keysym == "z", "the marker")
    assert [e.keysym for e in xev.events("KeyPress")] == ["z"]
    assert not xev.events("ButtonPress")


# ---------------------------------------------------------------------------------------------- a ComputerAgent run


class CannedModel:
    """The OpenAI Responses API on 127.0.0.1: each POST gets the next scripted answer; the requests are kept."""

    def __init__(self, answers: list[Response]) -> None:
        self.answers = list(answers)
        self.requests: list[dict[str, Any]] = []
        model = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                model.requests.append({"path": self.path, "body": body})
                answer = model.answers.pop(0).model_dump_json(exclude_none=True).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def computer_call(n: int, action: dict[str, Any]) -> Response:
    call = ResponseComputerToolCall.model_validate(
        {"id": f"cu_{n}", "call_id": f"call_{n}", "type": "computer_call", "status": "completed",
         "pending_safety_checks": [], "action": action}
    )  # fmt: skip
    return response(n, call)


USAGE = {
    "input_tokens": 10,
    "output_tokens": 5,
    "total_tokens": 15,
    "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
    "output_tokens_details": {"reasoning_tokens": 0},
}


def response(n: int, *output: Any) -> Response:
    return Response.model_validate(
        {"id": f"resp_{n}", "object": "response", "created_at": 1_700_000_000 + n, "model": "computer-use-preview",
         "status": "completed", "output": [o.model_dump() for o in output], "parallel_tool_calls": True,
         "tool_choice": "auto", "tools": [], "usage": USAGE}
    )  # fmt: skip


@pytest.fixture
def canned() -> Iterator[CannedModel]:
    done = ResponseOutputMessage.model_validate(
        {"id": "msg_1", "type": "message", "role": "assistant", "status": "completed",
         "content": [{"type": "output_text", "text": "Done.", "annotations": []}]}
    )  # fmt: skip
    model = CannedModel(
        [
            computer_call(1, {"type": "click", "x": 640, "y": 100, "button": "left"}),  # off the 640x400 screenshot
            computer_call(2, {"type": "click", "x": 213, "y": 107, "button": "left"}),
            computer_call(3, {"type": "type", "text": "hello cua"}),
            computer_call(4, {"type": "keypress", "keys": ["ENTER"]}),
            response(5, done),
        ]
    )
    yield model
    model.close()


def test_computer_agent_drives_the_desktop(bare: Desktop, xev: Xev, canned: CannedModel):
    h = handler(bare)
    agent = ComputerAgent(
        model="openai/computer-use-preview", tools=[h], api_base=canned.url, api_key="sk-canned",
        telemetry_enabled=False, screenshot_delay=0, max_retries=0,
    )  # fmt: skip

    async def run() -> list[dict[str, Any]]:
        from litellm.litellm_core_utils.logging_worker import GLOBAL_LOGGING_WORKER

        try:
            return [r async for r in agent.run("Click the field and type hello cua")]
        finally:
            # litellm logs each call from a task of its own on this loop; cancelled with a full queue, that task
            # runs the queue down while the loop shuts (minutes): let it finish its work first
            await asyncio.wait_for(GLOBAL_LOGGING_WORKER.flush(), 30)
            await GLOBAL_LOGGING_WORKER.stop()

    results = run_async(run(), timeout=120)
    assert agent.computer_handler is h

    # the desktop: one click on the screen pixel under model pixel (213, 107), then the text and Return
    xev.wait_for(lambda e: e.kind == "KeyRelease" and e.keysym == "Return", "the final Return released")
    clicks = [(e.root, e.button) for e in xev.events("ButtonPress")]
    assert clicks == [(screen_point(h.view, 213, 107), 1)]
    typed = [e.keysym for e in xev.events("KeyPress") if e.keysym not in ("Shift_L", "Shift_R")]
    assert typed == ["h", "e", "l", "l", "o", "space", "c", "u", "a", "Return"]

    # what cua sent the model: the tool as get_dimensions() / get_environment() say, the off-screen click's error
    # as the call's output, then screenshots at the model's size
    assert len(canned.requests) == 5 and all(r["path"] == "/v1/responses" for r in canned.requests)
    first = canned.requests[0]["body"]
    assert first["model"] == "computer-use-preview"
    assert first["tools"] == [
        {"type": "computer_use_preview", "display_width": 640, "display_height": 400, "environment": "linux"}
    ]
    error = [i for i in canned.requests[1]["body"]["input"] if i.get("type") == "function_call_output"]
    assert len(error) == 1 and error[0]["call_id"] == "call_1"
    assert "off the screen" in error[0]["output"] and "0..639" in error[0]["output"]
    for n in (2, 3, 4):
        outputs = [i for i in canned.requests[n]["body"]["input"] if i.get("type") == "computer_call_output"]
        assert outputs[-1]["call_id"] == f"call_{n}"
        url = outputs[-1]["output"]["image_url"]
        assert url.startswith("data:image/png;base64,")
        assert Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).size == (640, 400)
    last = results[-1]["output"][-1]
    assert last["type"] == "message" and last["content"][0]["text"] == "Done."
