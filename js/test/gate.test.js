// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { actionShapes, createGate, describeAction, secondsLeft } from "../src/gate.js";

describe("actions in words and shapes", () => {
  it("says what each action does", () => {
    expect(describeAction({ action: "click", x: 10, y: 20, button: "left", count: 1, modifiers: [] })).toBe("click at (10, 20)");
    expect(describeAction({ action: "click", x: 1, y: 2, button: "right", count: 2, modifiers: ["ctrl"] })).toBe("ctrl+right double-click at (1, 2)");
    expect(describeAction({ action: "type", text: "hello" })).toBe("type “hello”");
    expect(describeAction({ action: "type", text: "x".repeat(300) })).toBe(`type “${"x".repeat(200)}…”`);
    expect(describeAction({ action: "press", keys: "ctrl+c" })).toBe("press ctrl+c");
    expect(describeAction({ action: "drag", path: [[1, 2], [5, 6], [9, 9]] })).toBe("drag from (1, 2) to (9, 9)");
    expect(describeAction({ action: "scroll", x: 3, y: 4, dy: 2 })).toBe("scroll down 2 at (3, 4)");
    expect(describeAction({ action: "move", x: 3, y: 4 })).toBe("move the pointer to (3, 4)");
  });
  it("draws clicks as rings, drags as paths, keys as captions", () => {
    expect(actionShapes({ action: "click", x: 10, y: 20 })).toEqual([{ kind: "ring", x: 10, y: 20, label: "" }]);
    expect(actionShapes({ action: "drag", path: [[1, 2], [9, 9]] })).toEqual([{ kind: "path", points: [[1, 2], [9, 9]] }, { kind: "ring", x: 9, y: 9, label: "" }]);
    expect(actionShapes({ action: "type", text: "hi" })).toEqual([{ kind: "caption", text: "type “hi”" }]);
    expect(actionShapes({ action: "click" })).toEqual([]); // where the pointer is: nothing to draw
    expect(secondsLeft(100.2, 90_000)).toBe(11);
    expect(secondsLeft(10, 90_000)).toBe(0);
  });
});

describe("the gate on a page", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    document.body.innerHTML = '<div class="stage" style="position: relative"><canvas width="640" height="400"></canvas></div>';
  });
  afterEach(() => vi.useRealTimers());

  function fakeApi(states) {
    const calls = [];
    let n = 0;
    return {
      calls,
      call: vi.fn(async (id, op, args) => {
        calls.push([op, args]);
        if (op === "watch") {
          if (n < states.length) return states[n++];
          return new Promise(() => {}); // a long-poll that has not answered yet
        }
        if (op === "decide") return { ...args, by: "alice" };
        if (op === "take_over") return { holder: "person", by: "alice", version: 9, pending: [] };
        if (op === "hand_back") return { holder: "agent", by: null, version: 10, pending: [] };
        throw new Error(`unexpected ${op}`);
      }),
    };
  }

  it("shows an approval as a card with the action drawn, and answers it", async () => {
    const deadline = Date.now() / 1000 + 60;
    const api = fakeApi([{ holder: "agent", version: 3, pending: [{ request: 7, actions: [{ action: "click", x: 100, y: 50 }], deadline }] }]);
    const stage = document.querySelector(".stage");
    // the screen shown at half size, 10 px into the stage (happy-dom does no layout)
    stage.getBoundingClientRect = () => ({ left: 0, top: 0, width: 400, height: 300, bottom: 300, right: 400 });
    stage.querySelector("canvas").getBoundingClientRect = () => ({ left: 10, top: 10, width: 320, height: 200, bottom: 210, right: 330 });
    const said = [];
    const gate = createGate({ api, id: "ab12", stage, canvas: () => stage.querySelector("canvas"), say: (t) => said.push(t) });
    gate.start();
    await vi.advanceTimersByTimeAsync(0);
    const card = stage.querySelector(".jd-approval");
    expect(card.dataset.request).toBe("7");
    expect(card.querySelector("li").textContent).toBe("click at (100, 50)");
    expect(card.querySelector(".jd-approval-left").textContent).toBe("Denied in 60 s without an answer");
    expect([...card.querySelectorAll("button")].map((b) => b.textContent)).toEqual(["Approve", "Always allow click", "Deny"]);
    const rings = stage.querySelectorAll(".jd-approval-marks circle");
    expect(rings.length).toBe(1);
    expect([Number(rings[0].getAttribute("cx")), Number(rings[0].getAttribute("cy"))]).toEqual([10 + 100.5 / 2, 10 + 50.5 / 2]);
    await vi.advanceTimersByTimeAsync(5000);
    expect(stage.querySelector(".jd-approval-left").textContent).toBe("Denied in 55 s without an answer");
    card.querySelector("[data-decision=always]").click();
    await vi.advanceTimersByTimeAsync(0);
    expect(api.calls).toContainEqual(["decide", { request: 7, decision: "always" }]);
    expect(api.calls.filter(([op]) => op === "watch").map(([, a]) => a.version)).toEqual([-1, 3]); // then it waits for a change
    gate.dispose();
    expect(stage.querySelector(".jd-approval-marks")).toBeNull();
  });

  it("takes over and hands back, showing who holds the desktop", async () => {
    const api = fakeApi([{ holder: "agent", version: 1, pending: [] }]);
    const stage = document.querySelector(".stage");
    const gate = createGate({ api, id: "ab12", stage, canvas: () => null });
    gate.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(gate.badge.textContent).toBe("Agent in control");
    gate.takeOver.click();
    await vi.advanceTimersByTimeAsync(0);
    expect(gate.takeOver.getAttribute("aria-pressed")).toBe("true");
    expect(gate.takeOver.textContent).toBe("Hand back");
    expect(gate.badge.textContent).toBe("alice in control");
    gate.takeOver.click();
    await vi.advanceTimersByTimeAsync(0);
    expect(api.calls.map(([op]) => op)).toEqual(["watch", "watch", "take_over", "hand_back"]);
    expect(gate.badge.dataset.holder).toBe("agent");
    gate.dispose();
  });

  it("retries a failed watch after a pause, and stops for a desktop that is gone", async () => {
    const api = { call: vi.fn(async () => Promise.reject(Object.assign(new Error("boom"), { status: 502 }))) };
    const gate = createGate({ api, id: "ab12", stage: document.querySelector(".stage"), canvas: () => null });
    gate.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(api.call).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(600);
    expect(api.call).toHaveBeenCalledTimes(2);
    api.call.mockRejectedValue(Object.assign(new Error("gone"), { status: 404 }));
    await vi.advanceTimersByTimeAsync(1100);
    const calls = api.call.mock.calls.length;
    await vi.advanceTimersByTimeAsync(60000);
    expect(api.call.mock.calls.length).toBe(calls);
    gate.dispose();
  });
});
