// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CommChannel } from "../src/tunnel.js";
import { COMPACT_HEIGHT, describeView, MAX_HEIGHT_SHARE, renderDesktopView, scaleMode, stageStyle } from "../src/widget-view.js";
import { FakeModel, FakeWebSocket } from "./fake-model.js";
import { FakeRFB } from "./fake-rfb.js";

const tick = (ms = 0) => vi.advanceTimersByTimeAsync(ms);
const WS_PATH = "desktop/api/desktops/ab12/vnc";

let el;
let cleanup;
let fetchMock;
let laidOut = true; // happy-dom does no layout: elements get a size unless a test says the view is hidden
const size = (value) => ({ configurable: true, get: () => (laidOut ? value : 0) });
Object.defineProperty(HTMLElement.prototype, "clientWidth", size(800));
Object.defineProperty(HTMLElement.prototype, "clientHeight", size(300));

function labPage(baseUrl = "/user/x/") {
  const script = document.createElement("script");
  script.id = "jupyter-config-data";
  script.type = "application/json";
  script.textContent = JSON.stringify({ baseUrl, token: "" });
  document.head.appendChild(script);
}

function desktopResponse(body, status = 200) {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

function render(traits = {}) {
  const model = new FakeModel(traits);
  cleanup = renderDesktopView({ model, el, RFB: FakeRFB, WebSocket: FakeWebSocket });
  const root = el.querySelector(".jd-widget");
  const button = (label) => root.querySelector(`[aria-label='${label}']`);
  return { model, root, button };
}

beforeEach(() => {
  vi.useFakeTimers();
  FakeRFB.reset();
  FakeWebSocket.reset();
  document.head.innerHTML = "";
  document.body.innerHTML = '<div id="out"></div>';
  el = document.getElementById("out");
  cleanup = null;
  laidOut = true;
  fetchMock = vi.spyOn(window, "fetch").mockImplementation(async () => desktopResponse({ id: "ab12", status: "running" }));
});
afterEach(() => {
  if (cleanup) cleanup();
  vi.useRealTimers();
});

describe("pure parts", () => {
  it("scaleMode maps the traits onto noVNC's modes", () => {
    expect(scaleMode("fit", false)).toBe("scale");
    expect(scaleMode("1:1", false)).toBe("none");
    expect(scaleMode("1:1", true)).toBe("remote");
  });

  it("stageStyle: full is the cell's width at the screen's aspect ratio, capped; compact is 300 px", () => {
    const base = { size: "full", scale: "fit", resizeRemote: false, screenWidth: 1280, screenHeight: 800, maxHeight: 850 };
    const fixed = (px) => ({ height: `${px}px`, aspectRatio: "", maxHeight: "", minHeight: "" });
    // the browser derives the height from the width; never taller than the cap (the screen is letterboxed then)
    expect(stageStyle(base)).toEqual({ height: "auto", aspectRatio: "1280 / 800", maxHeight: "850px", minHeight: "200px" });
    expect(stageStyle({ ...base, size: undefined })).toEqual(stageStyle(base)); // full is the default
    expect(stageStyle({ ...base, size: "compact" })).toEqual(fixed(COMPACT_HEIGHT));
    // 1:1: the screen's own height (scrollbars for the rest), capped too
    expect(stageStyle({ ...base, scale: "1:1" })).toEqual(fixed(800));
    expect(stageStyle({ ...base, scale: "1:1", maxHeight: 500 })).toEqual(fixed(500));
    expect(stageStyle({ ...base, scale: "1:1", screenHeight: 120 })).toEqual(fixed(200));
    // the remote follows the widget (any scale): the widget's ratio becomes the screen's, a fixed point
    expect(stageStyle({ ...base, scale: "1:1", resizeRemote: true }).aspectRatio).toBe("1280 / 800");
    // no screen size yet: 1280x800; a tiny window: the cap wins over the minimum
    expect(stageStyle({ ...base, screenWidth: 0, screenHeight: 0 }).aspectRatio).toBe("1280 / 800");
    expect(stageStyle({ ...base, maxHeight: 150 })).toMatchObject({ maxHeight: "150px", minHeight: "150px" });
  });

  it.each([
    ["running", "", { phase: "connected" }, "running", "ok"],
    ["starting", "", { phase: "waiting", status: "starting" }, "starting", "busy"],
    ["error", "Xvnc exited with 1", { phase: "stopped", reason: "error" }, "error", "error"],
    ["stopped", "", { phase: "stopped", reason: "stopped" }, "stopped", "idle"],
    ["running", "", { phase: "connecting" }, "connecting", "busy"],
    ["running", "", { phase: "reconnecting", retryAt: 5000, message: "dropped" }, "reconnecting in 5s", "warn"],
    ["running", "", { phase: "stopped", reason: "not-found" }, "not found", "error"],
    ["running", "", { phase: "stopped", reason: "closed" }, "disconnected", "idle"],
  ])("describeView(%s, %j, %j) -> %s (%s)", (status, error, state, text, tone) => {
    expect(describeView(status, error, state, "", 0)).toMatchObject({ text, tone });
  });

  it("carries the error text for the hover", () => {
    expect(describeView("error", "Xvnc exited with 1", { phase: "idle" }).detail).toBe("Xvnc exited with 1");
  });
});

describe("the widget in a Jupyter page", () => {
  it("connects through the server's WebSocket with the page's base URL", async () => {
    labPage();
    const { root, button } = render({ ws_url: WS_PATH, viewer_url: "desktop/ab12/" });
    await tick();
    expect(fetchMock.mock.calls[0][0]).toBe("/user/x/desktop/api/desktops/ab12");
    const rfb = FakeRFB.last;
    expect(rfb.url).toBe(FakeWebSocket.last);
    expect(FakeWebSocket.last.url).toBe(`ws://${location.host}/user/x/${WS_PATH}`);
    expect(rfb.target).toBe(root.querySelector(".jd-screen"));
    expect(root.dataset.transport).toBe("websocket");
    rfb.connectNow();
    expect(root.dataset.state).toBe("connected");
    expect(root.querySelector(".jd-status").textContent).toBe("running");
    expect(root.querySelector(".jd-status").dataset.tone).toBe("ok");
    expect(root.querySelector(".jd-status").title).toMatch(/WebSocket/);
    expect(root.querySelector(".jd-overlay").hidden).toBe(true);
    expect(root.querySelector(".jd-screen").hasAttribute("data-lm-suppress-shortcuts")).toBe(true);
    // open in a new tab: the full-page viewer under the base URL
    const link = button("Open in a new tab");
    expect(link.hidden).toBe(false);
    expect(link.getAttribute("href")).toBe("/user/x/desktop/ab12/?scale=scale"); // the tab does not resize the desktop
    expect(link.getAttribute("target")).toBe("_blank");
  });

  it("falls back to the comm tunnel when the WebSocket does not open", async () => {
    labPage();
    const { model, root } = render({ ws_url: WS_PATH });
    await tick();
    FakeWebSocket.last.fire("close", { code: 1006 });
    FakeRFB.last.drop(false); // what noVNC does when its socket closes
    await tick();
    const rfb = FakeRFB.last;
    expect(rfb.url).toBeInstanceOf(CommChannel);
    expect(root.dataset.transport).toBe("tunnel");
    expect(model.sentOf("tunnel", "open")).toHaveLength(1);
    expect(FakeRFB.instances).toHaveLength(2);
  });

  it("a desktop the page's server does not know is the kernel's to relay", async () => {
    labPage();
    fetchMock.mockImplementation(async () => desktopResponse({ message: "no desktop ab12" }, 404));
    const { model, root } = render({ ws_url: WS_PATH });
    await tick();
    expect(FakeRFB.last.url).toBeInstanceOf(CommChannel);
    expect(root.dataset.transport).toBe("tunnel");
    expect(model.sentOf("refresh")).toHaveLength(1);
  });
});

describe("the widget outside a Jupyter page (VS Code, Colab) or with the desktop in the kernel", () => {
  it("tunnels through the comm and hides what needs the server", async () => {
    const { model, root, button } = render({ ws_url: "" });
    await tick();
    expect(fetchMock).not.toHaveBeenCalled();
    const channel = FakeRFB.last.url;
    expect(channel).toBeInstanceOf(CommChannel);
    expect(model.sentOf("tunnel", "open")[0].content.channel).toBe(channel.channel);
    expect(root.dataset.transport).toBe("tunnel");
    expect(button("Open in a new tab").hidden).toBe(true);
    FakeRFB.last.connectNow();
    expect(root.querySelector(".jd-status").title).toMatch(/through the kernel/);
  });

  it("waits while the kernel says the desktop is starting, and connects once it runs", async () => {
    const { model } = render({ status: "starting" });
    await tick();
    expect(FakeRFB.instances).toHaveLength(0);
    expect(model.sentOf("refresh")).toHaveLength(1);
    model.kernelSet("status", "running");
    await tick();
    expect(FakeRFB.instances).toHaveLength(1);
  });
});

describe("toolbar and traits", () => {
  it("view-only, scale and size: the toolbar sets the traits, the traits set the view", async () => {
    const { model, root, button } = render();
    await tick();
    const rfb = FakeRFB.last;
    rfb.connectNow();
    expect(rfb).toMatchObject({ viewOnly: false, scaleViewport: true, resizeSession: false });

    button("View only").click();
    expect(model.get("view_only")).toBe(true);
    expect(model.saved).toBeGreaterThan(0);
    expect(rfb.viewOnly).toBe(true);
    expect(root.classList.contains("jd-view-only")).toBe(true);
    model.kernelSet("view_only", false); // from Python: d.view().view_only = False
    expect(rfb.viewOnly).toBe(false);
    expect(button("View only").getAttribute("aria-pressed")).toBe("false");

    button("Actual size").click();
    expect(model.get("scale")).toBe("1:1");
    expect(rfb).toMatchObject({ scaleViewport: false, resizeSession: false });
    expect(root.dataset.scale).toBe("1:1");
    model.kernelSet("scale", "fit");
    expect(rfb.scaleViewport).toBe(true);
    expect(button("Actual size").getAttribute("aria-pressed")).toBe("false");
    model.kernelSet("resize_remote", true);
    expect(rfb.resizeSession).toBe(true);
    expect(rfb.scaleViewport).toBe(false);
    model.kernelSet("view_only", true);
    model.kernelSet("viewer_url", "desktop/ab12/");
    expect(root.querySelector("[aria-label='Open in a new tab']").hidden).toBe(true); // not a Jupyter page

    // size: full by default (the cell's width at the screen's aspect ratio, at most 85% of the window's height),
    // compact from the toolbar or from Python
    const stage = root.querySelector(".jd-stage");
    expect(root.dataset.size).toBe("full");
    expect(button("Compact").getAttribute("aria-pressed")).toBe("false");
    expect(stage.style.aspectRatio).toBe("800 / 600"); // the model's screen
    expect(stage.style.maxHeight).toBe(`${Math.round(window.innerHeight * MAX_HEIGHT_SHARE)}px`);
    button("Compact").click();
    expect(model.get("size")).toBe("compact");
    expect(root.dataset.size).toBe("compact");
    expect(stage.style.height).toBe(`${COMPACT_HEIGHT}px`);
    expect(stage.style.aspectRatio).toBe("");
    model.kernelSet("size", "full");
    expect(root.dataset.size).toBe("full");
    expect(stage.style.height).toBe("auto");
    expect(button("Compact").getAttribute("aria-pressed")).toBe("false");
    model.kernelSet("screen_width", 1600); // the desktop was resized: the view follows its aspect ratio
    model.kernelSet("screen_height", 900);
    expect(stage.style.aspectRatio).toBe("1600 / 900");
  });

  it("terminate asks for a second click, then asks the kernel", async () => {
    const { model, button } = render();
    await tick();
    const terminate = button("Terminate");
    terminate.click();
    expect(model.sentOf("terminate")).toHaveLength(0);
    expect(terminate.dataset.confirm).toBe("true");
    await tick(5000); // the confirmation lapses
    expect(terminate.dataset.confirm).toBeUndefined();
    terminate.click();
    terminate.click();
    expect(model.sentOf("terminate")).toHaveLength(1);
  });

  it("the badge shows the kernel's status and error", async () => {
    const { model, root } = render();
    await tick();
    FakeRFB.last.connectNow();
    model.kernelSet("error", "Xvnc exited with status 1");
    model.kernelSet("status", "error");
    const badge = root.querySelector(".jd-status");
    expect(badge.textContent).toBe("error");
    expect(badge.dataset.tone).toBe("error");
    expect(badge.title).toBe("Xvnc exited with status 1");
    expect(root.dataset.status).toBe("error");
    model.kernelSet("status", "stopped");
    expect(root.querySelector("[aria-label='Terminate']").disabled).toBe(true);
  });

  it("an error offers a restart through the kernel", async () => {
    const { model, root } = render({ status: "error", error: "Xvnc died" });
    await tick();
    const restart = [...root.querySelectorAll(".jd-overlay button")].find((b) => b.textContent === "Restart desktop");
    expect(restart).toBeTruthy();
    restart.click();
    expect(model.sentOf("restart")).toHaveLength(1);
  });

  it("reconnect drops the connection and opens a new one", async () => {
    const { model, button } = render();
    await tick();
    const first = FakeRFB.last;
    first.connectNow();
    button("Reconnect").click();
    await tick();
    expect(first.disconnected).toBe(true);
    expect(FakeRFB.instances).toHaveLength(2);
    expect(model.sentOf("tunnel", "close")).toHaveLength(1);
    expect(model.sentOf("tunnel", "open")).toHaveLength(2);
  });

  it("download screenshot saves the picture", async () => {
    const { button } = render();
    await tick();
    FakeRFB.last.connectNow();
    const clicks = [];
    const spy = vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function () {
      clicks.push(this.getAttribute("download"));
    });
    button("Download screenshot").click();
    await tick();
    expect(clicks).toHaveLength(1);
    expect(clicks[0]).toMatch(/^desktop-ab12-.*\.png$/);
    spy.mockRestore();
  });

  it("cleanup disconnects, closes the tunnel and lets go of the model", async () => {
    const { model } = render();
    await tick();
    const rfb = FakeRFB.last;
    rfb.connectNow();
    cleanup();
    cleanup = null;
    expect(rfb.disconnected).toBe(true);
    expect(model.sentOf("tunnel", "close")).toHaveLength(1);
    await tick(); // the channel's close event comes a tick later, as a WebSocket's does
    expect(model.listenerCount()).toBe(0);
    expect(el.querySelector(".jd-widget")).toBeNull();
  });
});

describe("keyboard", () => {
  it("keys typed at the desktop never reach the notebook's shortcuts, view-only or not", async () => {
    const { model, root } = render({ view_only: true });
    await tick();
    const seen = [];
    const listener = (e) => seen.push(e.key);
    document.addEventListener("keydown", listener);
    const canvas = document.createElement("canvas");
    root.querySelector(".jd-screen").appendChild(canvas);
    canvas.dispatchEvent(new KeyboardEvent("keydown", { key: "r", bubbles: true }));
    model.kernelSet("view_only", false);
    canvas.dispatchEvent(new KeyboardEvent("keydown", { key: "d", bubbles: true }));
    root.querySelector(".jd-toolbar").dispatchEvent(new KeyboardEvent("keydown", { key: "x", bubbles: true }));
    document.removeEventListener("keydown", listener);
    expect(seen).toEqual(["x"]); // the toolbar is the notebook's as usual
  });
});

describe("resize_remote", () => {
  it("a hidden view never asks the desktop to shrink to nothing; shown again, it follows the widget", async () => {
    laidOut = false; // e.g. rendered before it is attached, or its output collapsed
    const { model } = render({ resize_remote: true });
    await tick();
    const rfb = FakeRFB.last;
    expect(rfb.resizeSession).toBe(false);
    laidOut = true;
    model.kernelSet("size", "compact"); // any layout pass (the ResizeObserver's, in a browser)
    expect(rfb.resizeSession).toBe(true);
  });
});

describe("notes", () => {
  it("a note fades after 3 s, an error after 10 s", async () => {
    const { model, root } = render();
    await tick();
    const note = root.querySelector(".jd-note");
    model.kernelSend({ type: "said", text: "Recording into recordings/x" });
    expect(note.hidden).toBe(false);
    await tick(3100);
    expect(note.hidden).toBe(true);
    model.kernelSend({ type: "said", text: "Recording: disk full", tone: "error" });
    await tick(5000);
    expect(note.hidden).toBe(false); // still there to be read
    expect(note.dataset.tone).toBe("error");
    await tick(5100);
    expect(note.hidden).toBe(true);
  });
});

describe("port tabs", () => {
  it("follow the ports trait of a desktop the server holds", async () => {
    labPage();
    const { model, root } = render({ desktop_id: "ab12", viewer_url: "desktop/ab12/", ws_url: WS_PATH, ports: [] });
    await tick();
    const tabs = root.querySelector(".jd-tabs");
    expect(tabs.hidden).toBe(true);
    model.kernelSet("ports", [{ port: 8080, name: "Site", path: "desktop/ab12/port/8080/" }]);
    expect(tabs.hidden).toBe(false);
    expect([...tabs.querySelectorAll(".jd-tab")].map((b) => b.textContent)).toEqual(["Desktop", "Site"]);
    model.kernelSet("ports", []);
    expect(tabs.hidden).toBe(true);
  });
});
