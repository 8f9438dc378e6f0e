// A stand-in for an anywidget model (Backbone-like get/set/on/off/save_changes, send, msg:custom), and a
// WebSocket double. The test plays the kernel: `kernelSend` is what widget.py's view.send() would deliver.
export class FakeModel {
  constructor(traits = {}) {
    this.traits = {
      desktop_id: "ab12",
      ws_url: "",
      viewer_url: "",
      status: "running",
      error: "",
      screen_width: 800,
      screen_height: 600,
      view_only: false,
      scale: "fit",
      size: "full",
      resize_remote: false,
      ...traits,
    };
    this.handlers = {};
    this.sent = []; // [{content, buffers}]
    this.saved = 0;
    this.failSend = null;
  }

  get(name) {
    return this.traits[name];
  }

  set(name, value) {
    const old = this.traits[name];
    this.traits[name] = value;
    if (old !== value) this._fire(`change:${name}`, value);
  }

  save_changes() {
    this.saved += 1;
  }

  on(event, fn) {
    (this.handlers[event] ||= new Set()).add(fn);
  }

  off(event, fn) {
    this.handlers[event]?.delete(fn);
  }

  send(content, callbacks, buffers) {
    if (this.failSend) throw this.failSend;
    this.sent.push({ content, buffers: buffers || [] });
  }

  /** The kernel changes a trait (a sync from Python). */
  kernelSet(name, value) {
    this.set(name, value);
  }

  /** The kernel sends a custom message (widget.py: self.send(content, buffers)). Buffers arrive as DataViews. */
  kernelSend(content, buffers = []) {
    const views = buffers.map((b) => (b instanceof DataView ? b : new DataView(b.buffer || b, b.byteOffset || 0, b.byteLength)));
    for (const fn of [...(this.handlers["msg:custom"] || [])]) fn(content, views);
  }

  /** Messages of one kind the view sent ({type: "tunnel", op} or {type}). */
  sentOf(type, op) {
    return this.sent.filter((m) => m.content.type === type && (op === undefined || m.content.op === op));
  }

  listenerCount() {
    return Object.values(this.handlers).reduce((n, set) => n + set.size, 0);
  }

  _fire(event, value) {
    for (const fn of [...(this.handlers[event] || [])]) fn(this, value);
  }
}

export class FakeWebSocket {
  static instances = [];

  static reset() {
    FakeWebSocket.instances = [];
  }

  static get last() {
    return FakeWebSocket.instances[FakeWebSocket.instances.length - 1];
  }

  constructor(url, protocols) {
    this.url = url;
    this.protocols = protocols;
    this.readyState = 0;
    this.binaryType = "blob";
    this.protocol = "";
    this.onopen = this.onmessage = this.onerror = this.onclose = null;
    this.listeners = {};
    FakeWebSocket.instances.push(this);
  }

  addEventListener(type, fn) {
    (this.listeners[type] ||= []).push(fn);
  }

  removeEventListener(type, fn) {
    this.listeners[type] = (this.listeners[type] || []).filter((f) => f !== fn);
  }

  send() {}

  close() {
    this.readyState = 3;
  }

  fire(type, event = {}) {
    if (type === "open") this.readyState = 1;
    if (type === "close") this.readyState = 3;
    const e = { type, ...event };
    for (const fn of this.listeners[type] || []) fn(e);
    if (this[`on${type}`]) this[`on${type}`](e);
  }
}
