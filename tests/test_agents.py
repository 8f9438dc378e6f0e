"""The vendors' computer-use tools on a real desktop (jupyter_desktop.agents).

Every action is checked by its effect: the X events it produced (xev on a real Xvnc), text read back by tesseract,
the pixels of a zoom. The SDKs run for real: the calls are built with the anthropic / openai types, and the SDKs' own
loops (the anthropic tool runner, the OpenAI Agents SDK's Runner) run against a fake HTTP transport that answers
with canned Messages / Responses. That canned answer is the only stand-in: no model can be reached here.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import threading
import sys
import time

import numpy as np
import pytest
from PIL import Image

from jupyter_desktop import Desktop, MissingDependencyError
from jupyter_desktop.agents import ActionError, AnthropicComputer, OpenAIComputer
from jupyter_desktop.agents.anthropic import BETA_FLAGS, MEMBERS
from jupyter_desktop.agents.model_view import fit
from jupyter_desktop.agents.openai import SafetyCheckRefused

from .conftest import Xev, eventually, ocr, read_text, start_desktop

anthropic = pytest.importorskip("anthropic")
openai = pytest.importorskip("openai")
agents_sdk = pytest.importorskip("agents")
httpx2 = pytest.importorskip("httpx2")  # the transport the anthropic and openai SDKs are built on

SHIFT, CONTROL, ALT = 0x1, 0x4, 0x8
SIZE = (1000, 625)  # the model's screenshots of the 1280x800 probe desktop: 1.28 screen pixels per model pixel


def screen_pixel(x: int, y: int) -> tuple[int, int]:
    """Where model pixel (x, y) of a 1000x625 screenshot of 1280x800 lies: under its middle."""
    return int((x + 0.5) * 1.28), int((y + 0.5) * 1.28)


def image_of(block: dict) -> Image.Image:
    assert block["type"] == "image" and block["source"]["media_type"] == "image/png", block
    return Image.open(io.BytesIO(base64.b64decode(block["source"]["data"])))


def tool_use(name: str, input: dict, toolset: bool = True, id: str = "toolu_1") -> dict:
    block = {"type": "tool_use", "id": id, "name": name, "input": input}
    if toolset:
        block["toolset_name"] = "computer"
    return block


def marker(bare: Desktop, xev: Xev, point=(5, 5)) -> None:
    """Move to ``point`` and wait until xev saw it: every event sent before has arrived by then."""
    bare.move_mouse(*point)
    eventually(lambda: any(e.root == point for e in xev.events("MotionNotify")), what="marker motion")


# ---------------------------------------------------------------------------------------------- sizes


def test_screenshot_size_follows_the_image_limits():
    assert fit((1280, 800), 1568, 1_150_000) == (1280, 800)  # fits: sent as it is
    assert fit((1920, 1080), 1568, 1_150_000) == (1429, 804)  # 1.15 MP binds
    assert fit((3000, 500), 1568, 1_150_000) == (1568, 261)  # the long edge binds
    w, h = fit((2560, 1600), 1568, 1_150_000)
    assert w * h <= 1_150_000 and abs(w / h - 1.6) < 0.01


def test_default_size_on_a_large_screen_and_zoom(tmp_path):
    d = start_desktop("xvnc", width=1920, height=1080)
    try:
        claude = AnthropicComputer(d)
        assert claude.display_size == (1429, 804)
        param = claude.tool_param("computer_20251124")
        assert param == {"type": "computer_20251124", "name": "computer", "display_width_px": 1429,
                         "display_height_px": 804, "enable_zoom": True}  # fmt: skip
        assert set(param) <= anthropic.types.beta.BetaToolComputerUse20251124Param.__annotations__.keys()
        assert claude.tool_param("computer_20250124").keys() == {"type", "name", "display_width_px", "display_height_px"}
        assert claude.tool_param() == {"type": "computer_toolset_20260801"}
        shot = image_of(claude.run({"action": "screenshot"})[0])
        assert shot.size == (1429, 804)

        title = f"zoom-{time.monotonic_ns()}"
        d.launch(["xterm", "-fa", "Monospace", "-fs", "9", "-geometry", "60x4+1200+900", "-T", title,
                  "-e", "bash", "--norc", "--noprofile", "-c", "echo zoomed words here; exec sleep 600"])  # fmt: skip
        window = d.wait_for_window(title)
        read_text(d, tmp_path, "zoomed", region=(window.x, window.y, window.width, window.height))
        # the window's box in model pixels, zoomed: the text in it is legible to the vision consumer
        box = [int(window.x * 1429 / 1920), int(window.y * 804 / 1080),
               int((window.x + window.width) * 1429 / 1920), int((window.y + window.height) * 804 / 1080)]  # fmt: skip
        zoom = image_of(claude.run({"action": "zoom", "region": box})[0])
        region = claude.view.region(box)  # the screen pixels under the box
        assert abs(zoom.width / zoom.height / (region[2] / region[3]) - 1) < 0.02
        assert zoom.width == 1568 or zoom.width * zoom.height > 1_000_000  # fills the budget
        assert "zoomed words here" in ocr(zoom, tmp_path)
        # its pixels are the screen's own, not the scaled screenshot's: the same box at full resolution matches
        direct = d.screenshot(region=region).resize(zoom.size, Image.Resampling.BILINEAR)
        diff = np.abs(np.asarray(direct, dtype=float) - np.asarray(zoom, dtype=float)).mean()
        other = d.screenshot(region=(0, 0, region[2], region[3])).resize(zoom.size)
        assert diff < 8 < np.abs(np.asarray(other, dtype=float) - np.asarray(zoom, dtype=float)).mean()
    finally:
        d.close()


# ---------------------------------------------------------------------------------------------- Anthropic, one action


def test_a_click_lands_on_the_pixel_the_model_saw(bare: Desktop, xev: Xev):
    claude = AnthropicComputer(bare, size=SIZE)
    assert claude.tool_param("computer_20250124")["display_width_px"] == 1000
    for point in [(3, 7), (1, 1), (0, 0), (999, 624), (500, 313)]:
        xev.mark()
        result = claude.tool_result(tool_use("computer", {"action": "left_click", "coordinate": list(point)}, False))
        assert result == {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "Clicked."}]}
        press = xev.wait("ButtonPress", 1)[0]
        assert press.root == screen_pixel(*point) and press.button == 1
        # and the cursor the model is told about is the pixel it clicked
        assert claude.run({"action": "cursor_position"}) == [{"type": "text", "text": f"X={point[0]},Y={point[1]}"}]
    shot = image_of(claude.run({}, "screenshot")[0])
    assert shot.size == SIZE


def test_every_member_by_its_effect(bare: Desktop, xev: Xev):
    claude = AnthropicComputer(bare, size=SIZE)
    for name, button, count in [("right_click", 3, 1), ("middle_click", 2, 1), ("double_click", 1, 2),
                                ("triple_click", 1, 3)]:  # fmt: skip
        xev.mark()
        assert claude.run({"coordinate": [100, 50], "text": "ctrl+shift"}, name) == [
            {"type": "text", "text": MEMBERS[name]}
        ]
        presses = xev.wait("ButtonPress", count)
        assert [e.button for e in presses] == [button] * count
        assert all(e.root == screen_pixel(100, 50) and e.state & (CONTROL | SHIFT) == CONTROL | SHIFT for e in presses)
        xev.wait("ButtonRelease", count)  # all of them, before the next mark (a late one would be read as the next's)

    xev.mark()
    claude.run({"action": "left_click_drag", "start_coordinate": [10, 10], "coordinate": [200, 100]})
    press, release = xev.wait("ButtonPress", 1)[0], xev.wait("ButtonRelease", 1)[0]
    assert press.root == screen_pixel(10, 10) and release.root == screen_pixel(200, 100)

    xev.mark()
    claude.run({"action": "mouse_move", "coordinate": [300, 200]})
    claude.run({"action": "left_mouse_down"})
    claude.run({"action": "mouse_move", "coordinate": [310, 210]})
    claude.run({"action": "left_mouse_up"})
    press, release = xev.wait("ButtonPress", 1)[0], xev.wait("ButtonRelease", 1)[0]
    assert press.root == screen_pixel(300, 200) and release.root == screen_pixel(310, 210)

    for direction, button in [("up", 4), ("down", 5), ("left", 6), ("right", 7)]:
        xev.mark()
        assert claude.run({"action": "scroll", "coordinate": [400, 300], "scroll_direction": direction,
                           "scroll_amount": 3, "text": "shift"}) == [{"type": "text", "text": f"Scrolled {direction}."}]  # fmt: skip
        presses = xev.wait("ButtonPress", 3)
        assert [e.button for e in presses] == [button] * 3 and presses[0].state & SHIFT
        assert presses[0].root == screen_pixel(400, 300)

    xev.mark()
    assert claude.run({"action": "key", "text": "ctrl+s", "repeat": 3}) == [{"type": "text", "text": "Pressed ctrl+s."}]
    keys = [e.keysym for e in xev.wait("KeyRelease", 6)]
    assert [e.keysym for e in xev.events("KeyPress")] == ["Control_L", "s"] * 3, keys

    xev.mark()
    claude.run({"action": "type", "text": "Hi!"})
    xev.wait_for(lambda e: e.kind == "KeyRelease" and e.keysym == "exclam", "typed text")
    assert [e.keysym for e in xev.events("KeyPress") if not e.keysym.startswith("Shift")] == ["H", "i", "exclam"]

    xev.mark()
    claude.run({"action": "hold_key", "text": "shift", "duration": 1})
    press, release = xev.wait("KeyPress", 1)[0], xev.wait("KeyRelease", 1)[0]
    held = int(release.text.split("time ")[1].split(",")[0]) - int(press.text.split("time ")[1].split(",")[0])
    assert press.keysym == "Shift_L" and 950 <= held < 5000

    start = time.monotonic()
    assert claude.run({"action": "wait", "duration": 1}) == [{"type": "text", "text": "Waited 1s."}]
    assert time.monotonic() - start >= 1


def test_a_mistake_is_an_error_result_and_sends_nothing(bare: Desktop, xev: Xev):
    claude = AnthropicComputer(bare, size=SIZE)
    xev.mark()
    cases = {
        "off the screen: the screenshot is 1000x625 pixels, so x must be in 0..999": {"action": "left_click", "coordinate": [1000, 5]},
        "Did you mean 'Return'": {"action": "key", "text": "Retrun"},
        "repeat must be in 1..100": {"action": "key", "text": "a", "repeat": 1000},
        "duration must be in 0..60": {"action": "wait", "duration": 3600},
        "scroll_direction must be up, down, left or right": {"action": "scroll", "scroll_direction": "sideways", "scroll_amount": 1},
        "unknown action 'teleport'": {"action": "teleport"},
        "coordinate must be [x, y]": {"action": "mouse_move", "coordinate": [1, 2, 3]},
        "region [0, 0, 2000, 10] is not a box": {"action": "zoom", "region": [0, 0, 2000, 10]},
        "text must be a string": {"action": "type", "text": 5},
    }  # fmt: skip
    for expected, input in cases.items():
        result = claude.tool_result(tool_use("computer", input, False))
        assert result["is_error"] is True, input
        assert expected in result["content"][0]["text"], (expected, result)
    marker(bare, xev)
    assert not xev.events("KeyPress", "ButtonPress")


def test_typed_text_reads_back(desktop: Desktop, xterm, tmp_path):
    claude = AnthropicComputer(desktop)
    claude.run({"action": "type", "text": "echo typedword$((6*7))\n"})
    # the very screenshot the model gets next shows the answer: it waited for the screen to settle
    image = image_of(claude.run({"action": "screenshot"})[0])
    assert "typedword42" in ocr(image, tmp_path).replace(" ", "")


# ---------------------------------------------------------------------------------------------- Anthropic, the SDK


def canned(turns: list[list[dict]], seen: list[dict]):
    """A fake Messages endpoint: answers each request with the next canned assistant turn."""

    def handler(request):
        seen.append({"body": json.loads(request.content), "headers": dict(request.headers)})
        content = turns[len(seen) - 1]
        return httpx2.Response(200, json={
            "id": f"msg_{len(seen)}", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6",
            "content": content, "stop_reason": "tool_use" if content[0]["type"] == "tool_use" else "end_turn",
            "stop_sequence": None, "usage": {"input_tokens": 1, "output_tokens": 1},
        })  # fmt: skip

    return handler


def results_of(request: dict) -> dict[str, dict]:
    return {b["tool_use_id"]: b for b in request["body"]["messages"][-1]["content"] if b["type"] == "tool_result"}


def test_the_sdk_tool_runner_drives_the_toolset(bare: Desktop, xev: Xev):
    from anthropic.tools.computer import BetaAbstractComputerToolset20260801

    claude = AnthropicComputer(bare, size=SIZE)
    asked = []
    toolset = claude.toolset(confirm=lambda ctx: asked.append((ctx.member, ctx.input.model_dump(exclude_none=True))) or ctx.member != "hold_key")
    assert isinstance(toolset, BetaAbstractComputerToolset20260801)
    assert toolset.to_dict() == {"type": "computer_toolset_20260801"}  # all 17 members served: none disabled
    seen: list[dict] = []
    turns = [
        [tool_use("screenshot", {}, id="t1"), tool_use("left_click", {"coordinate": [3, 7]}, id="t2"),
         tool_use("type", {"text": "ok"}, id="t3"), tool_use("cursor_position", {}, id="t4")],
        [tool_use("hold_key", {"text": "a", "duration": 1}, id="t5"), tool_use("type", {"text": "never"}, id="t6")],
        [tool_use("key", {"text": "Retrun"}, id="t7"), tool_use("type", {"text": "never"}, id="t8")],
        [{"type": "text", "text": "done"}],
    ]  # fmt: skip
    client = anthropic.Anthropic(api_key="test", http_client=httpx2.Client(transport=httpx2.MockTransport(canned(turns, seen))))
    xev.mark()
    runner = client.beta.messages.tool_runner(
        model="claude-sonnet-4-6", max_tokens=1000, tools=[toolset], messages=[{"role": "user", "content": "go"}]
    )
    final = list(runner)[-1]
    assert final.content[0].text == "done" and len(seen) == 4
    assert seen[0]["body"]["tools"] == [{"type": "computer_toolset_20260801"}]

    first = results_of(seen[1])
    assert image_of(first["t1"]["content"][0]).size == SIZE
    assert first["t2"]["content"] == [{"type": "text", "text": "Clicked."}] and not first["t2"].get("is_error")
    assert first["t4"]["content"] == [{"type": "text", "text": "X=3,Y=7"}]
    # refused by confirm: an error result, and the SDK halts the turn's remaining computer actions
    second = results_of(seen[2])
    assert second["t5"]["is_error"] and second["t6"]["is_error"]
    third = results_of(seen[3])
    assert third["t7"]["is_error"] and "Did you mean 'Return'" in json.dumps(third["t7"]["content"])
    assert ("type", {"text": "ok"}) in asked and ("hold_key", {"text": "a", "duration": 1}) in asked

    marker(bare, xev)
    assert [e.root for e in xev.events("ButtonPress")] == [screen_pixel(3, 7)]
    assert [e.keysym for e in xev.events("KeyPress")] == ["o", "k"]  # 'never' was never typed, nor 'a' held


def test_the_async_toolset(bare: Desktop, xev: Xev):
    from anthropic.tools.computer import BetaAsyncAbstractComputerToolset20260801

    claude = AnthropicComputer(bare, size=SIZE)
    toolset = claude.async_toolset()
    assert isinstance(toolset, BetaAsyncAbstractComputerToolset20260801)
    seen: list[dict] = []
    turns = [[tool_use("double_click", {"coordinate": [999, 624]}, id="a1")], [{"type": "text", "text": "done"}]]

    async def main():
        async with httpx2.AsyncClient(transport=httpx2.MockTransport(canned(turns, seen))) as http:
            client = anthropic.AsyncAnthropic(api_key="test", http_client=http)
            runner = client.beta.messages.tool_runner(model="claude-sonnet-4-6", max_tokens=100, tools=[toolset],
                                                      messages=[{"role": "user", "content": "go"}])  # fmt: skip
            return [m async for m in runner]

    xev.mark()
    asyncio.run(main())
    presses = xev.wait("ButtonPress", 2)
    assert [e.root for e in presses] == [(1279, 799)] * 2
    assert results_of(seen[1])["a1"]["content"] == [{"type": "text", "text": "Double-clicked."}]


def test_a_single_tool_request_carries_its_beta_flag(bare: Desktop):
    claude = AnthropicComputer(bare)
    seen: list[dict] = []
    client = anthropic.Anthropic(api_key="test", http_client=httpx2.Client(
        transport=httpx2.MockTransport(canned([[{"type": "text", "text": "hi"}]], seen))))  # fmt: skip
    client.beta.messages.create(model="claude-opus-4-6", max_tokens=10, messages=[{"role": "user", "content": "x"}],
                                tools=[claude.tool_param("computer_20251124")], betas=[BETA_FLAGS["computer_20251124"]])  # fmt: skip
    assert seen[0]["body"]["tools"][0]["display_width_px"] == 1280
    assert "computer-use-2025-11-24" in seen[0]["headers"]["anthropic-beta"]


# ---------------------------------------------------------------------------------------------- OpenAI


def computer_call(actions=None, action=None, checks=()):
    from openai.types.responses import ResponseComputerToolCall

    payload = {"type": "computer_call", "id": "cu_1", "call_id": "call_1", "status": "completed",
               "pending_safety_checks": list(checks)}  # fmt: skip
    if actions is not None:
        payload["actions"] = actions
    if action is not None:
        payload["action"] = action
    return ResponseComputerToolCall.model_validate(payload)


def test_openai_batched_actions_by_their_effect(bare: Desktop, xev: Xev):
    gpt = OpenAIComputer(bare, size=SIZE)
    assert gpt.tool_param() == {"type": "computer"}
    assert gpt.tool_param(preview=True) == {"type": "computer_use_preview", "display_width": 1000,
                                            "display_height": 625, "environment": "linux"}  # fmt: skip
    xev.mark()
    item = gpt.run(computer_call([
        {"type": "click", "button": "wheel", "x": 3, "y": 7, "keys": ["SHIFT"]},
        {"type": "double_click", "x": 100, "y": 50},
        {"type": "drag", "path": [{"x": 10, "y": 10}, {"x": 50, "y": 60}, {"x": 200, "y": 100}]},
        {"type": "move", "x": 400, "y": 300},
        {"type": "scroll", "x": 400, "y": 300, "scroll_x": -100, "scroll_y": 300},
        {"type": "keypress", "keys": ["CTRL", "P"]},
        {"type": "type", "text": "ok"},
        {"type": "wait"},
        {"type": "screenshot"},
    ]))  # fmt: skip
    assert item["type"] == "computer_call_output" and item["call_id"] == "call_1"
    assert "acknowledged_safety_checks" not in item
    url = item["output"]["image_url"]
    assert item["output"]["type"] == "computer_screenshot" and url.startswith("data:image/png;base64,")
    assert Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).size == SIZE
    # the answer is a valid input item for the next request
    from openai.types.responses.response_input_item_param import ComputerCallOutput

    assert set(item) <= ComputerCallOutput.__annotations__.keys()

    xev.wait_for(lambda e: e.kind == "KeyRelease" and e.keysym == "k", "typed text")
    presses = xev.events("ButtonPress")
    assert [(e.button, e.root) for e in presses] == [
        (2, screen_pixel(3, 7)), (1, screen_pixel(100, 50)), (1, screen_pixel(100, 50)), (1, screen_pixel(10, 10)),
        (5, screen_pixel(400, 300)), (5, screen_pixel(400, 300)), (5, screen_pixel(400, 300)), (6, screen_pixel(400, 300)),
    ]  # fmt: skip
    assert presses[0].state & SHIFT
    assert [e.root for e in xev.events("ButtonRelease") if e.button == 1][-1] == screen_pixel(200, 100)
    keys = xev.events("KeyPress")
    assert [e.keysym for e in keys if e.keysym != "Shift_L"] == ["Control_L", "p", "o", "k"]
    p = next(e for e in keys if e.keysym == "p")
    assert p.state & CONTROL and not p.state & SHIFT  # CTRL+P is Ctrl+p, not Ctrl+Shift+P

    # the preview's single action, and the history buttons as the keys they mean
    xev.mark()
    gpt.run(computer_call(action={"type": "click", "button": "back", "x": 1, "y": 1}))
    xev.wait("KeyRelease", 2)
    assert [e.keysym for e in xev.events("KeyPress")] == ["Alt_L", "Left"]


def test_openai_mistakes_and_safety_checks_send_nothing(bare: Desktop, xev: Xev):
    gpt = OpenAIComputer(bare, size=SIZE)
    xev.mark()
    with pytest.raises(ActionError, match=r"action 1 \(keypress\): unknown key 'RETRUN'. Did you mean .*'Return'"):
        gpt.run(computer_call([{"type": "click", "button": "left", "x": 1, "y": 1},
                               {"type": "keypress", "keys": ["RETRUN"]}]))  # fmt: skip
    with pytest.raises(ActionError, match="x must be in 0..999"):
        gpt.run(computer_call([{"type": "move", "x": 1000, "y": 0}]))
    with pytest.raises(ActionError, match="unknown action type 'teleport'"):
        gpt.run({"type": "computer_call", "call_id": "c", "actions": [{"type": "teleport"}]})
    check = {"id": "cu_sc_1", "code": "malicious_instructions", "message": "We've detected instructions ..."}
    call = computer_call([{"type": "click", "button": "left", "x": 1, "y": 1}], checks=[check])
    with pytest.raises(SafetyCheckRefused, match="no on_safety_check was given") as refused:
        gpt.run(call)
    assert refused.value.checks == [check]
    asked = []
    gpt.on_safety_check = lambda c: asked.append(c) or False
    with pytest.raises(SafetyCheckRefused, match="refused"):
        gpt.run(call)
    assert asked == [check]
    marker(bare, xev)
    assert not xev.events("KeyPress", "ButtonPress")

    gpt.on_safety_check = lambda c: True
    item = gpt.run(call)
    assert item["acknowledged_safety_checks"] == [check]
    assert xev.wait("ButtonPress", 1)[0].root == screen_pixel(1, 1)


def fake_responses(turns: list[list[dict]], seen: list[dict], client_class):
    def handler(request):
        seen.append(json.loads(request.content))
        return httpx2.Response(200, json={
            "id": f"resp_{len(seen)}", "object": "response", "created_at": 0, "model": "gpt-5.4",
            "output": turns[len(seen) - 1], "parallel_tool_calls": True, "tool_choice": "auto", "tools": [],
            "status": "completed",
        })  # fmt: skip

    http = httpx2.AsyncClient(transport=httpx2.MockTransport(handler))
    return client_class(api_key="test", http_client=http)


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_the_agents_sdk_runs_the_computer(bare: Desktop, xev: Xev, flavour):
    from agents import Agent, ComputerTool, OpenAIResponsesModel, Runner, set_tracing_disabled

    set_tracing_disabled(True)
    gpt = OpenAIComputer(bare, size=SIZE)
    computer = gpt.agents_computer() if flavour == "sync" else gpt.agents_async_computer()
    assert isinstance(computer, agents_sdk.Computer if flavour == "sync" else agents_sdk.AsyncComputer)
    assert computer.dimensions == SIZE and computer.environment == "ubuntu"
    seen: list[dict] = []
    turns = [
        [{"type": "computer_call", "id": "cu_1", "call_id": "call_1", "status": "completed",
          "pending_safety_checks": [{"id": "sc_1", "code": "irrelevant_domain", "message": "m"}],
          "actions": [{"type": "click", "button": "right", "x": 999, "y": 0, "keys": ["CTRL"]},
                      {"type": "keypress", "keys": ["ENTER"]}]}],
        [{"type": "message", "id": "m1", "role": "assistant", "status": "completed",
          "content": [{"type": "output_text", "text": "done", "annotations": []}]}],
    ]  # fmt: skip
    client = fake_responses(turns, seen, openai.AsyncOpenAI)
    agent = Agent(name="desktop", model=OpenAIResponsesModel(model="gpt-5.4", openai_client=client),
                  tools=[ComputerTool(computer, on_safety_check=lambda data: True)])  # fmt: skip
    xev.mark()
    result = Runner.run_sync(agent, "open the menu")
    assert result.final_output == "done"
    assert seen[0]["tools"] == [{"type": "computer"}]
    output = next(i for i in seen[1]["input"] if i.get("type") == "computer_call_output")
    assert output["output"]["image_url"].startswith("data:image/png;base64,")
    assert output["acknowledged_safety_checks"][0]["id"] == "sc_1"
    press = xev.wait("ButtonPress", 1)[0]
    assert press.root == screen_pixel(999, 0) and press.button == 3 and press.state & CONTROL
    assert xev.wait_for(lambda e: e.kind == "KeyPress" and e.keysym == "Return", "Enter")


# ---------------------------------------------------------------------------------------------- without the extras


def test_a_missing_sdk_names_the_extra(bare: Desktop, monkeypatch):
    claude, gpt = AnthropicComputer(bare), OpenAIComputer(bare)
    monkeypatch.setitem(sys.modules, "anthropic.tools", None)
    monkeypatch.setitem(sys.modules, "agents", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'jupyter_desktop\[anthropic\]'"):
        claude.toolset()
    with pytest.raises(MissingDependencyError, match=r"pip install 'jupyter_desktop\[openai\]'"):
        gpt.agents_computer()
    # the plain-dict parts need no SDK
    assert claude.run({"action": "cursor_position"})[0]["type"] == "text"


# ---------------------------------------------------------------------------------------------- a person in the loop


class Person:
    """Someone answering the desktop's approval cards (as a page does: watch, then decide), in order."""

    def __init__(self, d: Desktop, decisions: list[str]) -> None:
        self.d = d
        self.decisions = list(decisions)
        self.seen: list[list[dict]] = []
        self.thread = threading.Thread(target=self._answer, daemon=True)
        self.thread.start()

    def _answer(self) -> None:
        version = -1
        while self.decisions:
            state = self.d._call(self.d._session.watch(version, 10.0), 30)
            version = state["version"]
            for pending in state["pending"]:
                self.seen.append(pending["actions"])
                self.d._call(self.d._session.decide(pending["request"], self.decisions.pop(0), "tester"))
                break

    def done(self) -> None:
        self.thread.join(30)
        assert not self.thread.is_alive(), f"{len(self.decisions)} answers were never asked for"


def test_the_desktops_gate_answers_the_models_calls(bare: Desktop, xev: Xev):
    """Desktop(approve=...) under the adapters: a denied call is an error result the model reads, nothing sent."""
    claude = AnthropicComputer(bare, size=SIZE)
    bare.approve = "ask"
    try:
        person = Person(bare, ["approve", "deny"])
        xev.mark()
        ok = claude.tool_result(tool_use("left_click", {"coordinate": [3, 7]}, id="a"))
        refused = claude.tool_result(tool_use("type", {"text": "never"}, id="b"))
        person.done()
    finally:
        bare.approve = None
    assert not ok.get("is_error") and refused["is_error"]
    assert refused["content"][0]["text"].startswith("ActionDeniedError: type: denied by tester; nothing was sent")
    assert person.seen[0] == [{"action": "click", "button": "left", "count": 1, "modifiers": [], "x": screen_pixel(3, 7)[0], "y": screen_pixel(3, 7)[1]}]
    marker(bare, xev)
    assert [e.root for e in xev.events("ButtonPress")] == [screen_pixel(3, 7)] and not xev.events("KeyPress")


def test_confirm_and_safety_checks_ask_a_person(bare: Desktop, xev: Xev):
    """The toolset's confirm and OpenAI's safety checks, answered by a person on the card (replayed tool calls)."""
    claude = AnthropicComputer(bare, size=SIZE)
    seen: list[dict] = []
    turns = [
        [tool_use("type", {"text": "ok"}, id="t1")],
        [tool_use("key", {"text": "Return"}, id="t2")],
        [{"type": "text", "text": "done"}],
    ]
    client = anthropic.Anthropic(api_key="test", http_client=httpx2.Client(transport=httpx2.MockTransport(canned(turns, seen))))
    person = Person(bare, ["approve", "deny"])
    xev.mark()
    runner = client.beta.messages.tool_runner(
        model="claude-sonnet-4-6", max_tokens=1000, tools=[claude.toolset(confirm=claude.ask_person)],
        messages=[{"role": "user", "content": "go"}],
    )  # fmt: skip
    assert list(runner)[-1].content[0].text == "done"
    person.done()
    assert person.seen == [[{"action": "type", "text": "ok"}], [{"action": "key", "text": "Return"}]]
    assert not results_of(seen[1])["t1"].get("is_error") and results_of(seen[2])["t2"]["is_error"]
    marker(bare, xev)
    assert [e.keysym for e in xev.events("KeyPress")] == ["o", "k"]  # Return was refused

    gpt = OpenAIComputer(bare, size=SIZE)
    gpt.on_safety_check = gpt.ask_person
    check = {"id": "cu_sc_1", "code": "sensitive_domain", "message": "A banking site"}
    call = computer_call([{"type": "click", "button": "left", "x": 1, "y": 1}], checks=[check])
    person = Person(bare, ["deny", "approve"])
    xev.mark()
    with pytest.raises(SafetyCheckRefused, match="on_safety_check refused it"):
        gpt.run(call)
    marker(bare, xev, (6, 6))  # (the pointer is at the first marker's point already)
    assert not xev.events("ButtonPress")
    assert gpt.run(call)["acknowledged_safety_checks"] == [check]
    person.done()
    assert person.seen[0] == [{"action": "safety_check", "code": "sensitive_domain", "message": "A banking site"}]
    assert xev.wait("ButtonPress", 1)[0].root == screen_pixel(1, 1)


def test_the_model_views_accessibility_outline_is_in_model_pixels(desk) -> None:
    """An adapter's view gives the widgets' outline with bounds scaled as its screenshots are: a button's middle
    in the outline, mapped back by the view, lands on that button (zenity's exit status says it was Yes)."""
    from jupyter_desktop.agents import AnthropicComputer

    claude = AnthropicComputer(desk, size=(640, 400))
    process = desk.launch(["zenity", "--question", "--text", "Scaled?"])
    yes = desk.wait_for_node("push button", "Yes")
    text, tree = claude.view.accessibility(app="zenity")
    line = next(line for line in text.splitlines() if "push button 'Yes'" in line)
    where = line.split("@", 1)[1].split()
    x, y = (int(v) for v in where[0].split(","))
    w, h = (int(v) for v in where[1].split("x"))
    sx, sy = desk.get_screen_size()
    assert abs(x - yes.bounds[0] * 640 / sx) <= 1 and abs(w - yes.bounds[2] * 640 / sx) <= 1, (line, yes.bounds)
    claude.run({"action": "left_click", "coordinate": [x + w // 2, y + h // 2]})
    assert process.wait(20) == 0
