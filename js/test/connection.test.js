import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DesktopConnection } from "../src/connection.js";
import { FakeRFB, FakeSocket } from "./fake-rfb.js";

const URL = "ws://localhost:8888/user/x/desktop/api/desktops/ab12/vnc";
const tick = (ms = 0) => vi.advanceTimersByTimeAsync(ms);

/** A connection whose status checks answer from `statuses` (a list consumed in order; the last repeats). */
function setup(statuses = ["running"], options = {}) {
  const answers = [...statuses];
  const checkStatus = vi.fn(async () => {
    const next = answers.length > 1 ? answers.shift() : answers[0];
    if (next instanceof Error) throw next;
    return { id: "ab12", status: next, error: next === "error" ? "Xvnc exited" : null };
  });
  const conn = new DesktopConnection({ target: {}, url: URL, RFB: FakeRFB, checkStatus, backoff: { jitter: 0 }, ...options });
  const states = [];
  conn.addEventListener("state", (e) => states.push(e.detail));
  return { conn, checkStatus, states, phases: () => states.map((s) => s.phase) };
}

const httpError = (status) => Object.assign(new Error(`HTTP ${status}`), { status });

beforeEach(() => {
  vi.useFakeTimers();
  FakeRFB.reset();
});
afterEach(() => vi.useRealTimers());

describe("DesktopConnection", () => {
  it("checks the desktop, then opens noVNC on the WebSocket with the binary subprotocol", async () => {
    const { conn, checkStatus, phases } = setup(["running"]);
    conn.start();
    await tick();
    expect(checkStatus).toHaveBeenCalledTimes(1);
    expect(FakeRFB.instances).toHaveLength(1);
    const rfb = FakeRFB.last;
    expect(rfb.url).toBe(URL);
    expect(rfb.options.wsProtocols).toEqual(["binary"]);
    expect(rfb).toMatchObject({ resizeSession: true, scaleViewport: false, viewOnly: false, focusOnClick: true });
    rfb.connectNow();
    expect(conn.connected).toBe(true);
    expect(phases()).toEqual(["connecting", "connecting", "connected"]);
  });

  it("waits while the desktop is starting, then connects", async () => {
    const { conn, phases } = setup(["starting", "starting", "running"], { pollInterval: 500 });
    conn.start();
    await tick();
    expect(conn.phase).toBe("waiting");
    expect(conn.state.status).toBe("starting");
    expect(FakeRFB.instances).toHaveLength(0);
    await tick(500);
    expect(FakeRFB.instances).toHaveLength(0);
    await tick(500);
    expect(FakeRFB.instances).toHaveLength(1);
    expect(phases()).toContain("waiting");
  });

  it("reconnects with exponential backoff while the desktop is running", async () => {
    const { conn, states } = setup(["running"]);
    conn.start();
    await tick();
    FakeRFB.last.connectNow();
    FakeRFB.last.drop(false); // the connection drops right away
    await tick();
    expect(conn.state).toMatchObject({ phase: "reconnecting", delay: 1000, attempt: 1 });
    expect(conn.state.retryAt).toBe(Date.now() + 1000);
    await tick(999);
    expect(FakeRFB.instances).toHaveLength(1);
    await tick(1);
    expect(FakeRFB.instances).toHaveLength(2);
    // never connects: 2 s, 4 s, 8 s ... 30 s
    const delays = [];
    for (let i = 0; i < 7; i++) {
      FakeRFB.last.drop(false);
      await tick();
      delays.push(conn.state.delay);
      await tick(conn.state.delay);
    }
    expect(delays).toEqual([2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    expect(states.some((s) => s.phase === "stopped")).toBe(false);
  });

  it("resets the backoff after a connection that lasted", async () => {
    const { conn } = setup(["running"], { stableAfter: 5000 });
    conn.start();
    await tick();
    FakeRFB.last.drop();
    await tick();
    await tick(1000);
    FakeRFB.last.drop();
    await tick();
    expect(conn.state.delay).toBe(2000);
    await tick(2000);
    FakeRFB.last.connectNow();
    await tick(6000); // up for 6 s
    FakeRFB.last.drop();
    await tick();
    expect(conn.state.delay).toBe(1000);
  });

  it("stops retrying once the desktop is stopped, failed or gone, and says why", async () => {
    for (const [answer, reason, message] of [
      ["stopped", "stopped", "The desktop has stopped."],
      ["error", "error", "Xvnc exited"],
      [Object.assign(httpError(404), { message: "no desktop 'ab12'" }), "not-found", "no desktop 'ab12'"],
    ]) {
      FakeRFB.reset();
      const { conn } = setup(["running", answer]);
      conn.start();
      await tick();
      FakeRFB.last.connectNow();
      FakeRFB.last.drop(true); // the server closes the socket when the desktop stops
      await tick();
      expect(conn.state).toEqual({ phase: "stopped", reason, message });
      await tick(60000);
      expect(FakeRFB.instances).toHaveLength(1);
    }
  });

  it("stops when not authorized", async () => {
    const { conn } = setup([httpError(403)]);
    conn.start();
    await tick();
    expect(conn.state).toMatchObject({ phase: "stopped", reason: "unauthorized" });
    expect(FakeRFB.instances).toHaveLength(0);
  });

  it("still tries the WebSocket when the status check fails for other reasons", async () => {
    const { conn } = setup([httpError(0)]);
    conn.start();
    await tick();
    expect(FakeRFB.instances).toHaveLength(1);
    FakeRFB.last.drop();
    await tick();
    expect(conn.state).toMatchObject({ phase: "reconnecting", delay: 1000, message: "Could not connect." });
  });

  it("retries now on demand, and after a restart", async () => {
    const { conn } = setup(["running"]);
    conn.start();
    await tick();
    FakeRFB.last.drop();
    await tick();
    expect(conn.phase).toBe("reconnecting");
    conn.retryNow();
    await tick();
    expect(FakeRFB.instances).toHaveLength(2);

    const s = setup(["stopped", "starting", "running"], { pollInterval: 100 });
    s.conn.start();
    await tick();
    expect(s.conn.phase).toBe("stopped");
    s.conn.retryNow();
    await tick();
    expect(s.conn.phase).toBe("waiting");
    await tick(100);
    expect(s.conn.phase).toBe("connecting");
  });

  it("does not reconnect after close()", async () => {
    const { conn } = setup(["running"]);
    conn.start();
    await tick();
    const rfb = FakeRFB.last;
    rfb.connectNow();
    conn.close();
    expect(rfb.disconnected).toBe(true);
    expect(conn.state).toMatchObject({ phase: "stopped", reason: "closed" });
    await tick(60000);
    expect(FakeRFB.instances).toHaveLength(1);
  });

  it("gives up when the VNC server wants credentials", async () => {
    const { conn } = setup(["running"]);
    conn.start();
    await tick();
    FakeRFB.last.dispatchEvent(new CustomEvent("credentialsrequired", { detail: { types: ["password"] } }));
    await tick();
    expect(conn.state).toMatchObject({ phase: "stopped", reason: "error" });
    expect(conn.state.message).toMatch(/security type None/);
  });

  it("applies view-only and scale mode, now and on every reconnect", async () => {
    const { conn } = setup(["running"], { viewOnly: true, scaleMode: "scale" });
    conn.start();
    await tick();
    expect(FakeRFB.last).toMatchObject({ viewOnly: true, scaleViewport: true, resizeSession: false });
    conn.setViewOnly(false);
    conn.setScaleMode("none");
    expect(FakeRFB.last).toMatchObject({ viewOnly: false, scaleViewport: false, resizeSession: false });
    conn.setScaleMode("remote");
    FakeRFB.last.drop();
    await tick();
    await tick(1000);
    expect(FakeRFB.instances).toHaveLength(2);
    expect(FakeRFB.last).toMatchObject({ viewOnly: false, resizeSession: true });
    expect(() => conn.setScaleMode("zoom")).toThrow(/unknown scale mode/);
  });

  it("passes the clipboard both ways, only when connected and not view-only", async () => {
    const { conn } = setup(["running"]);
    const received = [];
    conn.addEventListener("clipboard", (e) => received.push(e.detail.text));
    conn.start();
    await tick();
    expect(conn.sendClipboard("early")).toBe(false);
    FakeRFB.last.connectNow();
    expect(conn.sendClipboard("hello")).toBe(true);
    conn.setViewOnly(true);
    expect(conn.sendClipboard("ignored")).toBe(false);
    expect(FakeRFB.last.pasted).toEqual(["hello"]);
    FakeRFB.last.remoteClipboard("from desktop");
    expect(received).toEqual(["from desktop"]);
  });

  it("keeps the last picture when a connection drops, and clears it on reconnect", async () => {
    const { conn } = setup(["running"]);
    const frames = [];
    conn.addEventListener("frame", (e) => frames.push(e.detail));
    conn.start();
    await tick();
    FakeRFB.last.connectNow();
    FakeRFB.last.drop();
    await tick();
    expect(frames.at(-1).dataUrl).toMatch(/^data:image\/jpeg/);
    await tick(1000);
    FakeRFB.last.connectNow();
    expect(frames.at(-1)).toBeNull();
  });

  it("screenshots through the canvas when connected", async () => {
    const { conn } = setup(["running"]);
    conn.start();
    await tick();
    expect(await conn.toBlob()).toBeNull();
    FakeRFB.last.connectNow();
    const blob = await conn.toBlob("image/png");
    expect(blob.type).toBe("image/png");
  });

  it("takes a factory for the endpoint: a fresh channel per attempt (comm tunnel)", async () => {
    const channels = [];
    const factory = () => {
      const channel = { kind: "channel", n: channels.length };
      channels.push(channel);
      return channel;
    };
    const { conn } = setup(["running"], { url: factory });
    conn.start();
    await tick();
    expect(FakeRFB.last.url).toBe(channels[0]);
    FakeRFB.last.drop();
    await tick();
    await tick(1000);
    expect(FakeRFB.last.url).toBe(channels[1]);
    expect(channels).toHaveLength(2);
  });

  it("treats a throwing RFB constructor as a failed attempt", async () => {
    let fail = true;
    class Flaky extends FakeRFB {
      constructor(...args) {
        if (fail) {
          fail = false;
          throw new Error("SecurityError: insecure WebSocket from an https page");
        }
        super(...args);
      }
    }
    const { conn } = setup(["running"], { RFB: Flaky });
    conn.start();
    await tick();
    expect(conn.state).toMatchObject({ phase: "reconnecting", delay: 1000 });
    expect(conn.state.message).toMatch(/insecure WebSocket/);
    await tick(1000);
    expect(FakeRFB.instances).toHaveLength(1);
  });
});

describe("DesktopConnection heartbeat", () => {
  function watched(visibility = "visible") {
    globalThis.document = { visibilityState: visibility }; // what the page says of itself (this runs in node)
    const heartbeat = vi.fn(async () => null);
    const made = setup(["running"], { heartbeat, heartbeatInterval: 1000, WebSocket: FakeSocket });
    made.conn.start();
    return { ...made, heartbeat };
  }

  afterEach(() => {
    delete globalThis.document;
  });

  it("beats while the page is visible and the screen changes, and not once it stops changing", async () => {
    const { conn, heartbeat } = watched();
    await tick();
    const rfb = FakeRFB.last;
    expect(rfb.url).toBe(FakeSocket.last); // noVNC reads our socket: its updates are seen arriving
    expect(FakeSocket.last.url).toBe(URL);
    expect(FakeSocket.last.protocols).toEqual(["binary"]);
    rfb.connectNow();
    FakeSocket.last.update();
    await tick(1000);
    expect(heartbeat).toHaveBeenCalledTimes(1);
    await tick(3000); // nothing changed on the screen since: a still screen is not watched
    expect(heartbeat).toHaveBeenCalledTimes(1);
    FakeSocket.last.update();
    await tick(1000);
    expect(heartbeat).toHaveBeenCalledTimes(2);
    conn.close();
    FakeSocket.last.update();
    await tick(5000);
    expect(heartbeat).toHaveBeenCalledTimes(2);
  });

  it("does not beat for a hidden page (a forgotten tab), however the screen changes", async () => {
    const { heartbeat } = watched("hidden");
    await tick();
    FakeRFB.last.connectNow();
    for (let i = 0; i < 5; i++) {
      FakeSocket.last.update();
      await tick(1000);
    }
    expect(heartbeat).not.toHaveBeenCalled();
  });

  it("does not beat for a view that is not shown (a Lab tab in the background)", async () => {
    globalThis.document = { visibilityState: "visible" };
    const heartbeat = vi.fn(async () => null);
    let boxes = [];
    const target = { getClientRects: () => boxes };
    const conn = new DesktopConnection({ target, url: URL, RFB: FakeRFB, checkStatus: async () => ({ status: "running" }),
      heartbeat, heartbeatInterval: 1000, WebSocket: FakeSocket });
    conn.start();
    await tick();
    FakeRFB.last.connectNow();
    FakeSocket.last.update();
    await tick(1000);
    expect(heartbeat).not.toHaveBeenCalled();
    boxes = [{}]; // the tab comes to the front
    FakeSocket.last.update();
    await tick(1000);
    expect(heartbeat).toHaveBeenCalledTimes(1);
    conn.close();
  });

  it("without a heartbeat noVNC opens the URL itself", async () => {
    const { conn } = setup(["running"], { WebSocket: FakeSocket });
    FakeSocket.last = null;
    conn.start();
    await tick();
    expect(FakeRFB.last.url).toBe(URL);
    expect(FakeSocket.last).toBe(null);
  });
});

describe("DesktopConnection in a hidden page", () => {
  let listeners;
  beforeEach(() => {
    listeners = {};
    const on = (type, fn) => (listeners[type] = fn);
    globalThis.document = { visibilityState: "visible", addEventListener: on, removeEventListener: () => {} };
    globalThis.window = { addEventListener: () => {}, removeEventListener: () => {} };
  });
  afterEach(() => {
    delete globalThis.document;
    delete globalThis.window;
  });
  const show = (state) => {
    document.visibilityState = state;
    listeners.visibilitychange();
  };

  it("lets go of the desktop once hidden for `pauseWhenHidden`, and comes back when shown", async () => {
    const { conn, phases } = setup(["running"], { pauseWhenHidden: 60000 });
    conn.start();
    await tick();
    const first = FakeRFB.last;
    first.connectNow();
    show("hidden");
    await tick(59000);
    expect(conn.state.phase).toBe("connected"); // a short look away changes nothing
    show("visible");
    show("hidden");
    await tick(60000);
    expect(first.disconnected).toBe(true);
    expect(conn.state).toMatchObject({ phase: "stopped", reason: "paused" });
    await tick(600000); // hidden and paused: no reconnect, no traffic
    expect(FakeRFB.instances).toHaveLength(1);
    show("visible");
    await tick();
    expect(FakeRFB.instances).toHaveLength(2);
    FakeRFB.last.connectNow();
    expect(conn.state.phase).toBe("connected");
    expect(phases()).not.toContain("reconnecting");
    conn.close();
  });

  it("never pauses without pauseWhenHidden", async () => {
    const { conn } = setup(["running"]);
    conn.start();
    await tick();
    FakeRFB.last.connectNow();
    show("hidden");
    await tick(3600000);
    expect(conn.state.phase).toBe("connected");
    conn.close();
  });
});
