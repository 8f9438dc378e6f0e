// A stand-in for noVNC's RFB class: records what the code under test does with it, and lets a test
// play the server's part (connect, drop, clipboard).
export class FakeRFB extends EventTarget {
  static instances = [];

  static reset() {
    FakeRFB.instances = [];
  }

  static get last() {
    return FakeRFB.instances[FakeRFB.instances.length - 1];
  }

  constructor(target, url, options) {
    super();
    this.target = target;
    this.url = url;
    this.options = options;
    this.viewOnly = false;
    this.scaleViewport = false;
    this.resizeSession = false;
    this.clipViewport = false;
    this.focusOnClick = false;
    this.pasted = [];
    this.focused = 0;
    this.disconnected = false;
    FakeRFB.instances.push(this);
  }

  // --- the server's side
  connectNow() {
    this.dispatchEvent(new CustomEvent("connect", { detail: {} }));
  }
  drop(clean = false) {
    this.dispatchEvent(new CustomEvent("disconnect", { detail: { clean } }));
  }
  remoteClipboard(text) {
    this.dispatchEvent(new CustomEvent("clipboard", { detail: { text } }));
  }

  // --- noVNC API used by the code
  disconnect() {
    if (this.disconnected) return;
    this.disconnected = true;
    this.drop(true);
  }
  clipboardPasteFrom(text) {
    this.pasted.push(text);
  }
  focus() {
    this.focused += 1;
  }
  toBlob(cb, type) {
    cb(new Blob(["png"], { type }));
  }
  toDataURL() {
    return "data:image/jpeg;base64," + "A".repeat(100);
  }
}

/** A stand-in for the browser's WebSocket, as DesktopConnection opens it for noVNC when it watches the updates. */
export class FakeSocket extends EventTarget {
  constructor(url, protocols) {
    super();
    this.url = url;
    this.protocols = protocols;
    FakeSocket.last = this;
  }
  update() {
    this.dispatchEvent(new MessageEvent("message", { data: new ArrayBuffer(8) }));
  }
  close() {}
}
