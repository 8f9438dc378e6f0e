// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  actionShapes,
  ANSWER_MS,
  describeAction,
  drawShapes,
  formatSeconds,
  markScale,
  OneAtATime,
  renderPlayer,
  SCROLL_ARROW,
  stepAtTime,
  stepLabel,
  stepShapes,
  stepTitle,
  videoPosition,
} from "../src/player-view.js";
import { FakeModel } from "./fake-model.js";

const STEPS = [
  {
    step: 0,
    time: 1718000000,
    t: 0.5,
    source: "agent",
    actions: [{ action: "click", x: 300, y: 120, button: "left", count: 1, modifiers: [] }],
    before: "screens/a.png",
    after: "screens/b.png",
    duration: 0.012,
    error: null,
  },
  {
    step: 1,
    time: 1718000001,
    t: 1.5,
    source: "agent",
    actions: [{ action: "type", text: "echo hi\n" }],
    before: "screens/b.png",
    after: "screens/c.png",
    duration: 0.2,
    error: "InvalidInputError: no",
  },
  { step: 2, time: 1718000002, t: 2.5, source: "periodic", actions: [], before: null, after: "screens/c.png", duration: 0, error: null },
];

describe("actions as text", () => {
  it.each([
    [{ action: "click", x: 10, y: 20, button: "left", count: 1 }, "click left at (10, 20)"],
    [{ action: "click", x: 10, y: 20, button: "right", count: 2, modifiers: ["ctrl", "shift"] }, "ctrl+shift+double-click right at (10, 20)"],
    [{ action: "click", button: "left" }, "click left at the pointer"],
    [{ action: "move", x: 5, y: 6 }, "move to (5, 6)"],
    [{ action: "mouse_down", x: 1, y: 2, button: "middle" }, "press the middle button at (1, 2)"],
    [{ action: "mouse_up", button: "left" }, "release the left button at the pointer"],
    [{ action: "drag", path: [[0, 0], [5, 5], [50, 80]], button: "left", duration: 0.2 }, "drag left from (0, 0) to (50, 80) via 1 point, 200 ms"],
    [{ action: "scroll", dx: 0, dy: 3, x: 10, y: 20 }, "scroll down 3 at (10, 20)"],
    [{ action: "scroll", dx: -2, dy: -1, x: 10, y: 20 }, "scroll up 1, left 2 at (10, 20)"],
    [{ action: "type", text: "hello\n" }, 'type "hello\\n"'],
    [{ action: "press", keys: "ctrl+shift+t", hold: 0 }, "press ctrl+shift+t"],
    [{ action: "press", keys: ["ctrl", "c"], hold: 0.5 }, "press ctrl+c (held 500 ms)"],
    [{ action: "key_down", key: "shift" }, "hold down shift"],
    [{ action: "key_up", key: "shift" }, "release shift"],
    [{ action: "wait", seconds: 1.5 }, "wait 1.50 s"],
    [{ action: "teleport", to: "mars" }, '{"action":"teleport","to":"mars"}'],
  ])("%j -> %s", (action, text) => {
    expect(describeAction(action)).toBe(text);
  });

  it("a long typed text is cut, and a cut the kernel made is said", () => {
    const text = describeAction({ action: "type", text: "x".repeat(500) });
    expect(text).toContain("… (500 characters)");
    expect(text.length).toBeLessThan(260);
    expect(describeAction({ action: "type", text: "abc", cut: "text: 9 more characters not shown (MAX_TEXT_SHOWN)" })).toContain("MAX_TEXT_SHOWN");
  });

  it("steps: title, list label, seconds", () => {
    expect(stepTitle(STEPS[0])).toBe("#0 agent · t 500 ms · took 12 ms");
    expect(stepLabel(STEPS[0])).toBe("#0 agent 500 ms click left at (300, 120)");
    expect(stepLabel(STEPS[1])).toBe('#1 agent 1.50 s type "echo hi\\n" ✗');
    expect(stepLabel(STEPS[2])).toBe("#2 periodic 2.50 s screen");
    expect(formatSeconds(125.25)).toBe("2 min 5.3 s");
    expect(formatSeconds(undefined)).toBe("—");
  });
});

describe("actions as shapes (image pixels)", () => {
  it("click: a ring at x, y labelled with button, count, modifiers; none at the pointer", () => {
    expect(actionShapes({ action: "click", x: 300, y: 120, button: "left", count: 1 })).toEqual([{ kind: "ring", x: 300, y: 120, label: "left" }]);
    expect(actionShapes({ action: "click", x: 3, y: 4, button: "right", count: 3, modifiers: ["ctrl"] })).toEqual([
      { kind: "ring", x: 3, y: 4, label: "ctrl+right ×3" },
    ]);
    expect(actionShapes({ action: "click", button: "left" })).toEqual([]);
  });

  it("drag: the path from start to end", () => {
    const [s] = actionShapes({ action: "drag", path: [[0, 0], [10, 0], [10, 10]], button: "left" });
    expect(s).toEqual({ kind: "path", points: [[0, 0], [10, 0], [10, 10]], label: "left" });
    expect(actionShapes({ action: "drag", path: [[0, 0]] })).toEqual([]);
    expect(actionShapes({ action: "drag", path: "nope" })).toEqual([]);
  });

  it("scroll: an arrow from x, y the way it scrolls", () => {
    const [down] = actionShapes({ action: "scroll", x: 100, y: 100, dx: 0, dy: 3 });
    expect(down).toMatchObject({ kind: "arrow", x: 100, y: 100, x2: 100, y2: 100 + SCROLL_ARROW, label: "scroll down 3" });
    const [left] = actionShapes({ action: "scroll", x: 100, y: 100, dx: -1, dy: 0 });
    expect(left).toMatchObject({ x2: 100 - SCROLL_ARROW, y2: 100 });
  });

  it("type, press, keys: captions; move: a dot; wait: nothing", () => {
    expect(actionShapes({ action: "type", text: "hi\n" })).toEqual([{ kind: "caption", text: "hi\n", style: "text" }]);
    expect(actionShapes({ action: "press", keys: ["ctrl", "c"] })).toEqual([{ kind: "caption", text: "ctrl+c", style: "keys" }]);
    expect(actionShapes({ action: "key_down", key: "shift" })).toEqual([{ kind: "caption", text: "shift down", style: "keys" }]);
    expect(actionShapes({ action: "move", x: 1, y: 2 })).toEqual([{ kind: "dot", x: 1, y: 2 }]);
    expect(actionShapes({ action: "wait", seconds: 1 })).toEqual([]);
    expect(actionShapes(null)).toEqual([]);
  });

  it("a step's shapes carry their action's index", () => {
    const step = { actions: [{ action: "wait", seconds: 1 }, { action: "click", x: 1, y: 2 }, { action: "type", text: "a" }] };
    expect(stepShapes(step).map((s) => [s.kind, s.index])).toEqual([
      ["ring", 1],
      ["caption", 2],
    ]);
  });

  it("marks keep a legible size on the page however small the image is shown", () => {
    expect(markScale(1280, 800)).toEqual({ r: 20, font: 16 });
    expect(markScale(1280, 800, 1280)).toEqual({ r: 20, font: 16 });
    // shown at 320 px: 4 image px a page px; a ring of 8 page px, labels of 11
    expect(markScale(1280, 800, 320)).toEqual({ r: 32, font: 44 });
    expect(markScale(0, 0)).toEqual({ r: 20, font: 16 }); // size unknown: 1280
  });

  it("drawn in SVG at the image's coordinates", () => {
    const g = document.createElementNS("http://www.w3.org/2000/svg", "g");
    drawShapes(g, stepShapes({ actions: [{ action: "click", x: 300, y: 120 }, { action: "drag", path: [[1, 2], [30, 40]] }] }), 1280, 800);
    const ring = g.querySelector(".jd-mark-click .jd-mark-ring");
    expect([ring.getAttribute("cx"), ring.getAttribute("cy"), ring.getAttribute("r")]).toEqual(["300", "120", "20"]);
    expect(g.querySelector(".jd-mark-drag .jd-mark-path").getAttribute("points")).toBe("1,2 30,40");
    expect(g.querySelector(".jd-mark-drag").dataset.x2).toBe("30");
  });
});

describe("the video's clock", () => {
  const videos = [{ start: 0 }, { start: 10 }];
  it("a step's t is a time in a segment", () => {
    expect(videoPosition(videos, 3.5)).toEqual({ segment: 0, time: 3.5 });
    expect(videoPosition(videos, 12)).toEqual({ segment: 1, time: 2 });
    expect(videoPosition([], 1)).toBeNull();
  });
  it("the step playing at a video time", () => {
    expect(stepAtTime(STEPS, videos, 0, 0.1)).toBe(-1);
    expect(stepAtTime(STEPS, videos, 0, 1.6)).toBe(1);
    expect(stepAtTime(STEPS, videos, 1, 0)).toBe(2);
  });
});

describe("one request at a time", () => {
  it("asks for the wanted first, drops the unwanted, never two in flight", () => {
    const sent = [];
    const q = new OneAtATime((k) => sent.push(k));
    q.want(["a", "b", "c"]);
    expect(sent).toEqual(["a"]);
    q.want(["c", "a"]); // a is in flight already; b is no longer wanted
    expect(q.done("zzz")).toBe(false);
    q.done("a");
    expect(sent).toEqual(["a", "c"]);
    q.done("c");
    expect(sent).toEqual(["a", "c"]);
  });
});

describe("the view", () => {
  let el;
  let cleanup;
  let urls;
  beforeEach(() => {
    document.body.innerHTML = '<div id="out"></div>';
    el = document.getElementById("out");
    urls = 0;
    vi.spyOn(URL, "createObjectURL").mockImplementation(() => `blob:test/${++urls}`);
    vi.spyOn(URL, "revokeObjectURL").mockImplementation(() => {});
  });
  afterEach(() => {
    if (cleanup) cleanup();
    cleanup = null;
  });

  function render(traits = {}) {
    const model = new FakeModel({
      path: "/runs/try1",
      steps: STEPS,
      total_steps: 3,
      first: 0,
      note: "",
      screen_width: 1280,
      screen_height: 800,
      videos: [{ file: "video.mp4", path: "/runs/try1/video.mp4", start: 0, bytes: 2500, playable: true }],
      video_error: "",
      max_video_bytes: 256 << 20,
      chunk: 1024,
      ...traits,
    });
    cleanup = renderPlayer({ model, el });
    const root = el.querySelector(".jd-player");
    return { model, root, q: (s) => root.querySelector(s) };
  }

  const screenAnswer = (model, request, bytes = new Uint8Array([137, 80, 78, 71])) =>
    model.kernelSend({ type: "screen", id: request.id, name: request.name, bytes: bytes.length }, [bytes]);

  it("lists every step, and Next, Previous and the arrow keys move between them", () => {
    const { root, q } = render();
    expect(root.querySelectorAll(".jd-player-list option")).toHaveLength(3);
    expect(q("[aria-label='Step']").max).toBe("2");
    expect(q(".jd-player-counter").textContent).toBe("Step 1 of 3");
    expect(q(".jd-player-source").textContent).toBe("agent");
    expect(q(".jd-player-actions").textContent).toBe("click left at (300, 120)");
    expect(q("[aria-label='Previous step']").disabled).toBe(true);
    q("[aria-label='Next step']").click();
    expect(root.dataset.step).toBe("1");
    expect(q(".jd-player-error").hidden).toBe(false);
    expect(q(".jd-player-error").textContent).toBe("InvalidInputError: no");
    root.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowRight", bubbles: true }));
    expect(root.dataset.step).toBe("2");
    expect(q("[aria-label='Next step']").disabled).toBe(true);
    root.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowLeft", bubbles: true }));
    expect(q(".jd-player-counter").textContent).toBe("Step 2 of 3");
  });

  it("asks the kernel for one screenshot at a time, shows each, and says why one cannot be shown", () => {
    const { model, root, q } = render();
    const asked = () => model.sent.filter((m) => m.content.type === "screen").map((m) => m.content);
    expect(asked().map((m) => m.name)).toEqual(["screens/a.png"]); // one in flight
    screenAnswer(model, asked()[0]);
    expect(asked().map((m) => m.name)).toEqual(["screens/a.png", "screens/b.png"]);
    expect(q("[data-pane='before'] img").getAttribute("src")).toBe("blob:test/1");
    // another view's answer is not this one's
    model.kernelSend({ type: "screen", id: "someone-else", name: "screens/b.png", bytes: 1 }, [new Uint8Array([1])]);
    expect(q("[data-pane='after'] img").getAttribute("src")).toBeNull();
    model.kernelSend({ type: "screen", id: asked()[1].id, name: "screens/b.png", error: "the screenshot screens/b.png is missing" });
    const status = q("[data-pane='after'] .jd-player-shot-status");
    expect(status.textContent).toContain("is missing");
    expect(status.dataset.tone).toBe("error");
    expect(asked().map((m) => m.name)).toEqual(["screens/a.png", "screens/b.png", "screens/c.png"]); // the next step's
    expect(root.dataset.mode).toBe("both");
  });

  it("draws the click where it was, in image pixels", () => {
    const { model, q } = render();
    const request = model.sent.find((m) => m.content.type === "screen").content;
    screenAnswer(model, request);
    const img = q("[data-pane='before'] img");
    Object.defineProperty(img, "naturalWidth", { value: 1280 });
    Object.defineProperty(img, "naturalHeight", { value: 800 });
    img.dispatchEvent(new Event("load"));
    const overlay = q("[data-pane='before'] svg");
    expect(overlay.getAttribute("viewBox")).toBe("0 0 1280 800");
    const mark = overlay.querySelector(".jd-mark-click");
    expect([mark.dataset.x, mark.dataset.y]).toEqual(["300", "120"]);
  });

  it("streams the video chunk after chunk into a Blob, one request in flight", () => {
    const { model, root } = render();
    const chunks = () => model.sent.filter((m) => m.content.type === "video").map((m) => m.content);
    expect(chunks()).toEqual([{ type: "video", segment: 0, offset: 0, id: chunks()[0].id }]);
    const id = chunks()[0].id;
    model.kernelSend({ type: "video", id, segment: 0, offset: 0, bytes: 1024, size: 2500, done: false }, [new Uint8Array(1024)]);
    expect(chunks().map((c) => c.offset)).toEqual([0, 1024]);
    expect(root.querySelector(".jd-player-video-status").textContent).toContain("Loading the video");
    model.kernelSend({ type: "video", id, segment: 0, offset: 1024, bytes: 1024, size: 2500, done: false }, [new Uint8Array(1024)]);
    model.kernelSend({ type: "video", id, segment: 0, offset: 2048, bytes: 452, size: 2500, done: true }, [new Uint8Array(452)]);
    expect(chunks().map((c) => c.offset)).toEqual([0, 1024, 2048]);
    expect(root.querySelector("video").getAttribute("src")).toMatch(/^blob:test\//);
    expect(root.dataset.video).toBe("ready");
  });

  it("a request the kernel does not answer is given up after ANSWER_MS, said, and the video can be asked again", () => {
    vi.useFakeTimers();
    try {
      const { model, root, q } = render();
      const asked = (type) => model.sent.filter((m) => m.content.type === type).map((m) => m.content);
      expect(asked("screen").map((m) => m.name)).toEqual(["screens/a.png"]);
      vi.advanceTimersByTime(ANSWER_MS - 1);
      expect(q("[data-pane='before'] .jd-player-shot-status").textContent).toBe("Loading the screenshot…");
      vi.advanceTimersByTime(1);
      expect(q("[data-pane='before'] .jd-player-shot-status").textContent).toContain("no answer from the kernel in 30 s");
      expect(asked("screen").map((m) => m.name)).toEqual(["screens/a.png", "screens/b.png"]); // the queue goes on
      // a late answer is still shown
      screenAnswer(model, asked("screen")[0]);
      expect(q("[data-pane='before'] img").getAttribute("src")).toMatch(/^blob:test\//);
      // b went unanswered too: it is asked again when its step is shown
      vi.advanceTimersByTime(ANSWER_MS);
      expect(q("[data-pane='after'] .jd-player-shot-status").textContent).toContain("no answer");
      q("[aria-label='Next step']").click();
      expect(q("[data-pane='before'] .jd-player-shot-status").textContent).toBe("Loading the screenshot…");
      expect(asked("screen").map((m) => m.name)).toEqual(["screens/a.png", "screens/b.png", "screens/c.png"]); // c in flight
      vi.advanceTimersByTime(ANSWER_MS);
      expect(asked("screen").map((m) => m.name).slice(-1)).toEqual(["screens/b.png"]); // then b again
      q("[aria-label='Previous step']").click();
      expect(root.dataset.video).toBe("error");
      expect(root.querySelector(".jd-player-video-status").textContent).toContain("no answer from the kernel");
      const load = q("[aria-label='Load the video']");
      expect(load.hidden).toBe(false);
      load.click();
      expect(asked("video").map((m) => m.offset)).toEqual([0, 0]);
      expect(root.dataset.video).toBe("loading");
    } finally {
      vi.useRealTimers();
    }
  });

  it("a video above the limit is not loaded: the view names the file", () => {
    const { model, root } = render({ videos: [{ file: "video.mp4", path: "/runs/try1/video.mp4", start: 0, bytes: 300 << 20, playable: false }] });
    expect(model.sent.filter((m) => m.content.type === "video")).toEqual([]);
    const status = root.querySelector(".jd-player-video-status").textContent;
    expect(status).toContain("too large to play in the notebook");
    expect(status).toContain("/runs/try1/video.mp4");
    expect(status).toContain("256.0 MiB");
  });

  it("no video: the recording's reason", () => {
    const { root } = render({ videos: [], video_error: "ffmpeg is missing" });
    expect(root.querySelector(".jd-player-video-status").textContent).toBe("No video: ffmpeg is missing.");
  });

  it("cleans up: listeners, object URLs", () => {
    const { model } = render();
    expect(model.listenerCount()).toBeGreaterThan(0);
    cleanup();
    cleanup = null;
    expect(model.listenerCount()).toBe(0);
    expect(el.querySelector(".jd-player")).toBeNull();
  });
});
