// RFB through the widget's comm: a WebSocket-like channel that noVNC's RFB accepts as its "raw channel"
// (any object with send/close/binaryType/onopen/onmessage/onerror/protocol/readyState).
//
// Protocol with the kernel (jupyter_desktop/widget.py), one channel id per connection attempt:
//   view -> kernel  {type: "tunnel", op: "open",  channel}
//                   {type: "tunnel", op: "data",  channel} + one binary buffer (browser -> desktop RFB bytes)
//                   {type: "tunnel", op: "close", channel}
//   kernel -> view  {type: "tunnel", op: "open",  channel}
//                   {type: "tunnel", op: "data",  channel} + buffers (desktop -> browser RFB bytes)
//                   {type: "tunnel", op: "closed", channel, reason}
// Every view of the model receives every message: each channel keeps to its own id.

export const CONNECTING = 0;
export const OPEN = 1;
export const CLOSING = 2;
export const CLOSED = 3;

/** Reason the kernel gives when the view itself closed the channel. */
const CLOSED_BY_VIEW = "closed";

let counter = 0;

/** A channel id unique in this page (several views of one model share the comm). */
export function newChannelId(random = Math.random) {
  counter += 1;
  return `${Math.floor(random() * 2 ** 32).toString(36)}-${counter}`;
}

/** A comm buffer (DataView, typed array or ArrayBuffer) as an ArrayBuffer holding exactly its bytes. */
export function toArrayBuffer(buffer) {
  if (buffer instanceof ArrayBuffer) return buffer;
  if (ArrayBuffer.isView(buffer)) {
    const { buffer: ab, byteOffset, byteLength } = buffer;
    return byteOffset === 0 && byteLength === ab.byteLength ? ab : ab.slice(byteOffset, byteOffset + byteLength);
  }
  throw new TypeError(`not binary data: ${Object.prototype.toString.call(buffer)}`);
}

/** Bytes to send, copied: noVNC hands out a view of its send queue and reuses that memory. */
function copyBytes(data) {
  if (typeof data === "string") return new TextEncoder().encode(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data.slice(0));
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  throw new TypeError("send() takes bytes");
}

/**
 * A WebSocket-like channel over an anywidget model's custom messages.
 *
 * Sends are batched lightly: everything sent within `flushDelay` ms goes to the kernel as one message (a
 * mouse move and the frame request noVNC sends with it, a burst of key events), or at once past `maxBatch`
 * bytes. Counters (`bytesIn`, `messagesIn`, `bytesOut`, `messagesOut`) are for the stats and benchmarks.
 */
export class CommChannel {
  /**
   * @param {object} model anywidget model: send(content, callbacks, buffers), on/off("msg:custom", fn)
   * @param {object} [o]
   * @param {string} [o.channel]     channel id (default: a fresh one)
   * @param {number} [o.flushDelay]  ms to gather sends into one message (0: next task)
   * @param {number} [o.maxBatch]    bytes that trigger an immediate send
   * @param {number} [o.openTimeout] ms to wait for the kernel to open the channel (it may be busy or gone)
   */
  constructor(model, o = {}) {
    this.model = model;
    this.channel = o.channel || newChannelId();
    this.flushDelay = o.flushDelay ?? 4;
    this.maxBatch = o.maxBatch ?? 64 * 1024;
    this.openTimeout = o.openTimeout ?? 20000;

    // The WebSocket surface noVNC checks for and uses.
    this.binaryType = "arraybuffer";
    this.protocol = "";
    this.url = `comm:${this.channel}`;
    this.readyState = CONNECTING;
    this.onopen = null;
    this.onmessage = null;
    this.onerror = null;
    this.onclose = null;

    this.bytesIn = 0;
    this.messagesIn = 0;
    this.bytesOut = 0;
    this.messagesOut = 0;
    this.closeReason = "";

    this._listeners = {};
    this._pending = [];
    this._pendingBytes = 0;
    this._flushTimer = null;
    this._onMsg = (msg, buffers) => this._receive(msg, buffers);
    model.on("msg:custom", this._onMsg);
    this._post("open");
    this._openTimer = setTimeout(() => {
      this._openTimer = null;
      if (this.readyState !== CONNECTING) return;
      this._emit("error", { type: "error", message: "the kernel did not answer" });
      this._abort(1006, "The kernel did not open the tunnel: is it busy, or gone?");
    }, this.openTimeout);
  }

  addEventListener(type, fn) {
    (this._listeners[type] ||= new Set()).add(fn);
  }

  removeEventListener(type, fn) {
    this._listeners[type]?.delete(fn);
  }

  /** Queue bytes for the kernel (ignored unless open, like noVNC expects of a closed socket). */
  send(data) {
    if (this.readyState !== OPEN) return;
    const bytes = copyBytes(data);
    if (!bytes.length) return;
    this._pending.push(bytes);
    this._pendingBytes += bytes.length;
    if (this._pendingBytes >= this.maxBatch) this._flush();
    else if (!this._flushTimer) this._flushTimer = setTimeout(() => this._flush(), this.flushDelay);
  }

  /** Close the channel: what is queued goes out first, then the kernel closes its end. */
  close(code = 1000, reason = "") {
    if (this.readyState === CLOSING || this.readyState === CLOSED) return;
    if (this.readyState === OPEN) this._flush();
    this.readyState = CLOSING;
    this._post("close");
    // Like a WebSocket, the close event comes later (noVNC does not expect it inside close()).
    setTimeout(() => this._finish(code, reason || "closed by the view", true), 0);
  }

  // ---------------------------------------------------------------- internals

  _post(op, buffers) {
    try {
      this.model.send({ type: "tunnel", op, channel: this.channel }, undefined, buffers);
      return true;
    } catch (err) {
      // The comm is gone (kernel restarted, widget closed): nothing will ever answer.
      if (op !== "close") queueMicrotask(() => this._abort(1006, `The widget lost its kernel: ${err && err.message ? err.message : err}`));
      return false;
    }
  }

  _flush() {
    if (this._flushTimer) clearTimeout(this._flushTimer);
    this._flushTimer = null;
    if (!this._pending.length) return;
    let joined = this._pending[0];
    if (this._pending.length > 1) {
      joined = new Uint8Array(this._pendingBytes);
      let at = 0;
      for (const part of this._pending) {
        joined.set(part, at);
        at += part.length;
      }
    }
    this._pending = [];
    this._pendingBytes = 0;
    if (this._post("data", [joined.buffer])) {
      this.bytesOut += joined.length;
      this.messagesOut += 1;
    }
  }

  _receive(msg, buffers) {
    if (!msg || msg.type !== "tunnel" || msg.channel !== this.channel) return;
    if (msg.op === "open") {
      if (this.readyState !== CONNECTING) return;
      this._clearOpenTimer();
      this.readyState = OPEN;
      this._emit("open", { type: "open" });
    } else if (msg.op === "data") {
      if (this.readyState !== OPEN) return;
      for (const buffer of buffers || []) {
        const data = toArrayBuffer(buffer);
        if (!data.byteLength) continue;
        this.bytesIn += data.byteLength;
        this.messagesIn += 1;
        this._emit("message", { type: "message", data });
        if (this.readyState !== OPEN) return; // a handler closed us
      }
    } else if (msg.op === "closed") {
      const reason = typeof msg.reason === "string" ? msg.reason : "";
      const clean = reason === CLOSED_BY_VIEW || reason === "the desktop stopped";
      this._finish(clean ? 1000 : 1011, reason, clean);
    }
  }

  _abort(code, reason) {
    if (this.readyState === CLOSED) return;
    this._post("close");
    this._finish(code, reason, false);
  }

  _finish(code, reason, wasClean) {
    if (this.readyState === CLOSED) return;
    this._clearOpenTimer();
    if (this._flushTimer) clearTimeout(this._flushTimer);
    this._flushTimer = null;
    this._pending = [];
    this._pendingBytes = 0;
    this.readyState = CLOSED;
    this.closeReason = reason;
    try {
      this.model.off("msg:custom", this._onMsg);
    } catch {
      /* the model is gone */
    }
    this._emit("close", { type: "close", code, reason, wasClean });
  }

  _clearOpenTimer() {
    if (this._openTimer) clearTimeout(this._openTimer);
    this._openTimer = null;
  }

  _emit(type, event) {
    const handler = this[`on${type}`];
    if (typeof handler === "function") handler.call(this, event);
    for (const fn of this._listeners[type] || []) fn.call(this, event);
  }
}
