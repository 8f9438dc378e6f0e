// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { mountGrid } from "../src/grid.js";
import { modelId, renderDesktopGrid } from "../src/widget-grid.js";
import { FakeModel, FakeWebSocket } from "./fake-model.js";
import { FakeRFB } from "./fake-rfb.js";

const tick = (ms = 0) => vi.advanceTimersByTimeAsync(ms);
Object.defineProperty(HTMLElement.prototype, "clientWidth", { configurable: true, get: () => 300 });
Object.defineProperty(HTMLElement.prototype, "clientHeight", { configurable: true, get: () => 200 });

let el;
beforeEach(() => {
  vi.useFakeTimers();
  FakeRFB.reset();
  FakeWebSocket.reset();
  document.head.innerHTML = "";
  document.body.innerHTML = '<div id="out"></div>';
  el = document.getElementById("out");
});
afterEach(() => {
  vi.useRealTimers();
});

const press = (target, button = 0) => target.dispatchEvent(new MouseEvent("mousedown", { bubbles: true, cancelable: true, button }));
const rfbOf = (tile) => FakeRFB.instances.filter((r) => tile.contains(r.target)).at(-1);

/** A DesktopGrid's model: `views` references child DesktopView models, found through the widget manager. */
function gridModel(children) {
  const byId = new Map(children.map((m, i) => [`m${i}`, m]));
  const model = new FakeModel({ views: [...byId.keys()].map((id) => `IPY_MODEL_${id}`) });
  model.widget_manager = { get_model: async (id) => byId.get(id) };
  return model;
}

describe("Desktop.grid's widget", () => {
  it("shows one view-only tile per desktop, each on its own desktop's channel", async () => {
    const children = ["aa11", "bb22", "cc33"].map((id) => new FakeModel({ desktop_id: id, screen_width: 640, screen_height: 400 }));
    const cleanup = await renderDesktopGrid({ model: gridModel(children), el, RFB: FakeRFB, WebSocket: FakeWebSocket });
    const tiles = [...el.querySelectorAll(".jd-grid-widget .jd-tile")];
    expect(tiles.map((t) => t.dataset.id)).toEqual(["aa11", "bb22", "cc33"]);
    expect(tiles[0].querySelector(".jd-tile-detail").textContent).toBe("640×400");
    expect(tiles[0].style.getPropertyValue("--jd-aspect")).toBe("640 / 400");
    // no ws_url: each tile tunnels through its own desktop's comm
    for (const child of children) expect(child.sentOf("tunnel", "open")).toHaveLength(1);
    for (const tile of tiles) {
      const rfb = rfbOf(tile);
      rfb.connectNow();
      expect(rfb.viewOnly).toBe(true);
      expect(tile.dataset.mode).toBe("view");
    }
    cleanup();
    await tick(0); // a channel lets go of its comm once closed, as a WebSocket's close event comes later
    expect(el.querySelector(".jd-grid-widget")).toBeNull();
    expect(children.every((c) => c.listenerCount() === 0)).toBe(true);
  });

  it("enlarges a tile on click; take over gives input to that desktop only; back makes it view-only", async () => {
    const children = ["aa11", "bb22"].map((id) => new FakeModel({ desktop_id: id }));
    await renderDesktopGrid({ model: gridModel(children), el, RFB: FakeRFB, WebSocket: FakeWebSocket });
    const root = el.querySelector(".jd-grid-widget");
    const [first, second] = root.querySelectorAll(".jd-tile");
    const reachedPage = vi.fn();
    document.body.addEventListener("keydown", reachedPage);
    press(first.querySelector(".jd-screen"));
    expect(first.classList.contains("jd-tile-zoomed")).toBe(true);
    // keys typed at a view-only tile stay in the grid (in a notebook: not command-mode shortcuts)
    expect(document.activeElement).toBe(first);
    first.dispatchEvent(new KeyboardEvent("keydown", { key: "d", bubbles: true }));
    expect(reachedPage).not.toHaveBeenCalled();
    expect(root.dataset.lmSuppressShortcuts).toBe("true");
    expect(root.classList.contains("jd-grid-zoomed")).toBe(true);
    first.querySelector(".jd-tile-control").click();
    await tick(0);
    expect(first.dataset.mode).toBe("control");
    expect(rfbOf(first).viewOnly).toBe(false);
    expect(rfbOf(second).viewOnly).toBe(true);
    // Escape belongs to the desktop while the tile has control
    root.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    expect(first.classList.contains("jd-tile-zoomed")).toBe(true);
    first.querySelector(".jd-tile-back").click();
    await tick(0);
    expect(root.classList.contains("jd-grid-zoomed")).toBe(false);
    expect(first.dataset.mode).toBe("view");
    expect(rfbOf(first).viewOnly).toBe(true);
    // view-only and enlarged: Escape goes back to the grid
    press(second.querySelector(".jd-screen"));
    root.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    expect(second.classList.contains("jd-tile-zoomed")).toBe(false);
  });

  it("says when a desktop stopped, and follows a new list of desktops", async () => {
    const children = ["aa11", "bb22", "cc33"].map((id) => new FakeModel({ desktop_id: id }));
    const model = gridModel(children);
    await renderDesktopGrid({ model, el, RFB: FakeRFB, WebSocket: FakeWebSocket });
    children[1].kernelSet("status", "stopped");
    expect(el.querySelector(".jd-tile[data-id='bb22'] .jd-tile-note").textContent).toBe("Desktop stopped");
    model.kernelSet("views", ["IPY_MODEL_m2", "IPY_MODEL_m0"]);
    await tick(0);
    expect([...el.querySelectorAll(".jd-tile")].map((t) => t.dataset.id)).toEqual(["cc33", "aa11"]);
    expect(children[1].listenerCount()).toBe(0);
  });

  it("reads the child models' ids", () => {
    expect(modelId("IPY_MODEL_abc")).toBe("abc");
  });
});

describe("the class page", () => {
  const desktop = (owner, id, control = false, status = "running") => ({ owner, server: "", id, status, control, vnc: `api/desktops/${owner}/${id}/vnc`, width: 640, height: 400 });

  it("shows the desktops by owner, offers take-over where allowed, and drops the ones gone", async () => {
    const api = { data: null, list: vi.fn(), share: vi.fn(), unshare: vi.fn() };
    api.list.mockImplementation(async () => api.data);
    api.data = { desktops: [desktop("student2", "b2"), desktop("student1", "a1", true)], problems: [{ owner: "student3", message: "no desktops" }], sharing: { can_share: false } };
    const page = mountGrid(el, { baseUrl: "/services/classroom/" }, { RFB: FakeRFB, api, WebSocket: FakeWebSocket, pollInterval: 1000 });
    await tick(0);
    const tiles = () => [...el.querySelectorAll(".jd-tile")];
    expect(tiles().map((t) => t.dataset.owner)).toEqual(["student1", "student2"]);
    expect(tiles()[0].querySelector(".jd-tile-control").hidden).toBe(false);
    expect(tiles()[1].querySelector(".jd-tile-control").hidden).toBe(true);
    expect(el.querySelector(".jd-grid-problems").textContent).toContain("student3: no desktops");
    expect(FakeRFB.instances.map((r) => r.url)).toEqual(expect.arrayContaining([expect.stringMatching(/\/services\/classroom\/api\/desktops\/student1\/a1\/vnc$/)]));
    // take over: a new stream asking for input
    tiles()[0].querySelector(".jd-tile-control").click();
    await tick(0);
    expect(rfbOf(tiles()[0]).url).toMatch(/vnc\?control=1$/);
    api.data = { desktops: [desktop("student1", "a1", true)], problems: [], sharing: { can_share: false } };
    await tick(1000);
    expect(tiles().map((t) => t.dataset.owner)).toEqual(["student1"]);
    page.dispose();
  });
});
