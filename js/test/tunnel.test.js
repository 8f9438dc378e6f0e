// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CLOSED, CLOSING, CommChannel, CONNECTING, newChannelId, OPEN, toArrayBuffer } from "../src/tunnel.js";
import { FakeModel } from "./fake-model.js";

const tick = (ms = 0) => vi.advanceTimersByTimeAsync(ms);
const bytes = (...values) => new Uint8Array(values);
const sentBytes = (m) => [...new Uint8Array(m.buffers[0])];

function opened(options = {}) {
  const model = new FakeModel();
  const channel = new CommChannel(model, { channel: "c1", ...options });
  const events = [];
  for (const type of ["open", "message", "error", "close"]) channel[`on${type}`] = (e) => events.push(e);
  model.kernelSend({ type: "tunnel", op: "open", channel: "c1" });
  model.sent.length = 0;
  return { model, channel, events };
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe("toArrayBuffer", () => {
  it("copies exactly the bytes a view covers", () => {
    const backing = bytes(9, 1, 2, 3, 9).buffer;
    expect([...new Uint8Array(toArrayBuffer(new DataView(backing, 1, 3)))]).toEqual([1, 2, 3]);
    expect(toArrayBuffer(backing)).toBe(backing);
    expect([...new Uint8Array(toArrayBuffer(new Uint8Array(backing, 2, 2)))]).toEqual([2, 3]);
    expect(() => toArrayBuffer("text")).toThrow(TypeError);
  });
});

describe("newChannelId", () => {
  it("is unique per call", () => {
    const ids = new Set(Array.from({ length: 50 }, () => newChannelId()));
    expect(ids.size).toBe(50);
  });
});

describe("CommChannel", () => {
  it("asks the kernel to open, and opens when the kernel says so", () => {
    const model = new FakeModel();
    const channel = new CommChannel(model, { channel: "c1" });
    const onopen = vi.fn();
    channel.onopen = onopen;
    expect(model.sent.map((m) => m.content)).toEqual([{ type: "tunnel", op: "open", channel: "c1" }]);
    expect(channel.readyState).toBe(CONNECTING);
    expect(channel.binaryType).toBe("arraybuffer");
    model.kernelSend({ type: "tunnel", op: "open", channel: "other" }); // another view's channel
    expect(channel.readyState).toBe(CONNECTING);
    model.kernelSend({ type: "tunnel", op: "open", channel: "c1" });
    expect(channel.readyState).toBe(OPEN);
    expect(onopen).toHaveBeenCalledTimes(1);
  });

  it("delivers the kernel's buffers as ArrayBuffers, in order, and only its own channel's", () => {
    const { model, channel, events } = opened();
    const backing = bytes(0, 82, 70, 66, 0).buffer;
    model.kernelSend({ type: "tunnel", op: "data", channel: "c1" }, [new DataView(backing, 1, 3), bytes(32)]);
    model.kernelSend({ type: "tunnel", op: "data", channel: "c2" }, [bytes(1, 2, 3)]);
    model.kernelSend({ type: "other" }, [bytes(1)]);
    const messages = events.filter((e) => e.type === "message");
    expect(messages.map((e) => e.data instanceof ArrayBuffer)).toEqual([true, true]);
    expect(messages.map((e) => [...new Uint8Array(e.data)])).toEqual([[82, 70, 66], [32]]);
    expect(channel.bytesIn).toBe(4);
    expect(channel.messagesIn).toBe(2);
  });

  it("batches sends made close together into one message, copying the bytes", async () => {
    const { model, channel } = opened({ flushDelay: 4 });
    const queue = bytes(1, 2, 3, 4); // noVNC reuses its send queue after send()
    channel.send(queue.subarray(0, 2));
    queue.set([7, 7], 0);
    channel.send(queue.subarray(2, 4));
    channel.send(new Uint8Array(0));
    expect(model.sent).toHaveLength(0);
    await tick(4);
    expect(model.sent).toHaveLength(1);
    expect(model.sent[0].content).toEqual({ type: "tunnel", op: "data", channel: "c1" });
    expect(sentBytes(model.sent[0])).toEqual([1, 2, 3, 4]);
    expect(channel.bytesOut).toBe(4);
    expect(channel.messagesOut).toBe(1);
  });

  it("sends at once past maxBatch bytes", () => {
    const { model, channel } = opened({ maxBatch: 8 });
    channel.send(new Uint8Array(5));
    expect(model.sent).toHaveLength(0);
    channel.send(new Uint8Array(5));
    expect(model.sent).toHaveLength(1);
    expect(model.sent[0].buffers[0].byteLength).toBe(10);
  });

  it("ignores sends before it is open", async () => {
    const model = new FakeModel();
    const channel = new CommChannel(model, { channel: "c1" });
    channel.send(bytes(1));
    await tick(50);
    expect(model.sentOf("tunnel", "data")).toHaveLength(0);
  });

  it("close() sends what is queued, then closes the kernel's end; the close event comes after", async () => {
    const { model, channel, events } = opened({ flushDelay: 100 });
    channel.send(bytes(5));
    channel.close();
    expect(model.sent.map((m) => m.content.op)).toEqual(["data", "close"]);
    expect(channel.readyState).toBe(CLOSING);
    expect(events.some((e) => e.type === "close")).toBe(false);
    await tick(0);
    expect(channel.readyState).toBe(CLOSED);
    expect(events.at(-1)).toMatchObject({ type: "close", code: 1000, wasClean: true });
    expect(model.listenerCount()).toBe(0);
    channel.close(); // twice is fine
    expect(model.sentOf("tunnel", "close")).toHaveLength(1);
  });

  it("closes when the kernel's end closes, with the kernel's reason", () => {
    const { model, channel, events } = opened();
    model.kernelSend({ type: "tunnel", op: "closed", channel: "c1", reason: "[Errno 111] Connection refused" });
    expect(channel.readyState).toBe(CLOSED);
    expect(events.at(-1)).toMatchObject({ type: "close", code: 1011, wasClean: false, reason: "[Errno 111] Connection refused" });
    expect(channel.closeReason).toBe("[Errno 111] Connection refused");
    model.kernelSend({ type: "tunnel", op: "data", channel: "c1" }, [bytes(1)]);
    expect(events.filter((e) => e.type === "message")).toHaveLength(0);
    expect(model.sent).toHaveLength(0); // nothing to tell a kernel that already closed
  });

  it("a desktop that stops is a clean close", () => {
    const { model, events } = opened();
    model.kernelSend({ type: "tunnel", op: "closed", channel: "c1", reason: "the desktop stopped" });
    expect(events.at(-1)).toMatchObject({ type: "close", code: 1000, wasClean: true });
  });

  it("gives up when the kernel does not open it in time (busy or gone)", async () => {
    const model = new FakeModel();
    const channel = new CommChannel(model, { channel: "c1", openTimeout: 1000 });
    const events = [];
    channel.addEventListener("error", (e) => events.push(e));
    channel.addEventListener("close", (e) => events.push(e));
    await tick(999);
    expect(channel.readyState).toBe(CONNECTING);
    await tick(1);
    expect(events.map((e) => e.type)).toEqual(["error", "close"]);
    expect(events[1].reason).toMatch(/kernel did not open/);
    expect(model.sentOf("tunnel", "close")).toHaveLength(1);
    model.kernelSend({ type: "tunnel", op: "open", channel: "c1" }); // too late
    expect(channel.readyState).toBe(CLOSED);
  });

  it("closes when the comm is gone", async () => {
    const model = new FakeModel();
    model.failSend = new Error("Comm is closed");
    const channel = new CommChannel(model, { channel: "c1" });
    const onclose = vi.fn();
    channel.onclose = onclose;
    await tick(0);
    expect(channel.readyState).toBe(CLOSED);
    expect(onclose.mock.calls[0][0].reason).toMatch(/lost its kernel: Comm is closed/);
  });

  it("is a raw channel noVNC's Websock accepts: handshake bytes both ways", async () => {
    const had = "WebSocket" in globalThis;
    if (!had) globalThis.WebSocket = { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 };
    try {
      const { default: Websock } = await import("../node_modules/@novnc/novnc/core/websock.js");
      const model = new FakeModel();
      const channel = new CommChannel(model, { channel: "c1", flushDelay: 0 });
      const sock = new Websock();
      const onopen = vi.fn();
      const onmessage = vi.fn();
      sock.on("open", onopen);
      sock.on("message", onmessage);
      sock.attach(channel);
      expect(sock.readyState).toBe("connecting");
      model.kernelSend({ type: "tunnel", op: "open", channel: "c1" });
      expect(sock.readyState).toBe("open");
      expect(onopen).toHaveBeenCalled();
      model.kernelSend({ type: "tunnel", op: "data", channel: "c1" }, [new TextEncoder().encode("RFB 003.008\n")]);
      expect(onmessage).toHaveBeenCalled();
      expect(sock.rQshiftStr(12)).toBe("RFB 003.008\n");
      sock.sQpushString("RFB 003.008\n");
      sock.flush();
      sock.sQpush8(1); // noVNC overwrites its queue right away: the channel must have copied
      await tick(0);
      const data = model.sentOf("tunnel", "data");
      expect(new TextDecoder().decode(data[0].buffers[0])).toBe("RFB 003.008\n");
      sock.close();
      expect(model.sentOf("tunnel", "close")).toHaveLength(1);
    } finally {
      if (!had) delete globalThis.WebSocket;
    }
  });
});
