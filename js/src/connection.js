// A live connection to one desktop: noVNC's RFB over the server's WebSocket, with status checks
// and reconnection (exponential backoff) that stops once the desktop is gone.
// Shared by the full-page viewer and (later) the notebook widget: no page structure in here.

import { backoffDelay, decide, DEFAULT_BACKOFF } from "./backoff.js";

/** How the remote screen fits the view: resize the remote session, scale the picture, or 1:1 with scrollbars. */
export const SCALE_MODES = Object.freeze(["remote", "scale", "none"]);

/**
 * Events (CustomEvent, `detail` as listed):
 *  - "state":       {phase, ...} with phase one of
 *                   idle | connecting {attempt} | waiting {status} | connected |
 *                   reconnecting {attempt, delay?, retryAt?, message?} | stopped {reason, message}
 *                   (reason: stopped | error | not-found | unauthorized | closed)
 *  - "desktop":     the desktop's REST JSON, after each status check
 *  - "clipboard":   {text} the desktop's clipboard changed
 *  - "desktopname": {name}
 *  - "frame":       {dataUrl} the last picture, captured when a connection drops (or null when a new one is up)
 */
export class DesktopConnection extends EventTarget {
  /**
   * @param {object} o
   * @param {HTMLElement} o.target   element noVNC renders into (it must have a size)
   * @param {string | (() => string | object)} o.url  ws(s):// URL of the RFB stream, or a function returning
   *                                  one, or a fresh WebSocket-like channel (noVNC accepts any object with
   *                                  send/close/binaryType/onopen/onmessage/...; e.g. a tunnel over a widget comm)
   * @param {Function} o.RFB         noVNC's RFB class (injected: tests pass a fake)
   * @param {() => Promise<object>} [o.checkStatus]  resolves to the desktop's REST JSON; rejects with {status}
   * @param {boolean} [o.viewOnly]
   * @param {"remote"|"scale"|"none"} [o.scaleMode]
   * @param {object} [o.backoff]     {initial, factor, max, jitter} in ms
   * @param {number} [o.pollInterval]  while the desktop is starting/stopping (ms)
   * @param {number} [o.stableAfter]   a connection that lasted this long resets the backoff (ms)
   * @param {object} [o.rfbOptions]    extra RFB constructor options
   * @param {object} [o.rfbSettings]   RFB properties to set, e.g. {qualityLevel: 6, compressionLevel: 2}
   * @param {() => Promise<unknown>} [o.heartbeat]  called every `heartbeatInterval` ms while the page is
   *                                  visible, connected, and the screen changed since the last call: a person
   *                                  watching the desktop is using it (the server's idle timeout, JupyterHub)
   * @param {number} [o.heartbeatInterval]
   * @param {number} [o.pauseWhenHidden]  ms a hidden page stays connected before the connection pauses (state
   *                                  stopped, reason "paused"); it reconnects when the page is shown again. 0: never.
   *                                  A viewer's traffic counts as use for JupyterHub's proxy, even in a forgotten tab.
   * @param {typeof WebSocket} [o.WebSocket]  opens the stream when `url` gives a URL and there is a heartbeat
   *                                  (to see the screen's updates arrive); tests pass a fake
   */
  constructor(o) {
    super();
    this.target = o.target;
    this.url = o.url;
    this.RFB = o.RFB;
    this.checkStatus = o.checkStatus || null;
    this.backoff = { ...DEFAULT_BACKOFF, ...(o.backoff || {}) };
    this.pollInterval = o.pollInterval ?? 1000;
    this.stableAfter = o.stableAfter ?? 10000;
    this.rfbOptions = { wsProtocols: ["binary"], ...(o.rfbOptions || {}) };
    this.rfbSettings = { ...(o.rfbSettings || {}) };
    this._viewOnly = !!o.viewOnly;
    this._scaleMode = SCALE_MODES.includes(o.scaleMode) ? o.scaleMode : "remote";
    this._now = o.now || (() => Date.now());
    this._random = o.random || Math.random;
    this.pauseWhenHidden = o.pauseWhenHidden || 0;
    this._hiddenTimer = null;
    this.heartbeat = o.heartbeat || null;
    this.heartbeatInterval = o.heartbeatInterval ?? 60000;
    this._WebSocket = o.WebSocket || (typeof WebSocket !== "undefined" ? WebSocket : null);
    this._updatedAt = 0; // when the server last sent us anything (screen updates, mostly)
    this._beatAt = 0;
    this._beatTimer = null;

    this.rfb = null;
    this.desktop = null;
    this.attempt = 0;
    this.state = { phase: "idle" };
    this._timer = null;
    this._gen = 0;
    this._started = false;
    this._closed = false;
    this._onWake = () => {
      clearTimeout(this._hiddenTimer);
      if (typeof document !== "undefined" && document.visibilityState === "hidden") {
        if (this.pauseWhenHidden > 0) this._hiddenTimer = setTimeout(() => this._pause(), this.pauseWhenHidden);
        return;
      }
      if (this.state.phase === "stopped" && this.state.reason === "paused") this.retryNow();
      else if (this._timer && (this.state.phase === "reconnecting" || this.state.phase === "waiting")) this.retryNow();
    };
  }

  get phase() {
    return this.state.phase;
  }
  get connected() {
    return this.state.phase === "connected";
  }
  get viewOnly() {
    return this._viewOnly;
  }
  get scaleMode() {
    return this._scaleMode;
  }

  /** Start connecting (checks the desktop's status first). */
  start() {
    if (this._started) return this;
    this._started = true;
    this._closed = false;
    if (typeof window !== "undefined") {
      window.addEventListener("online", this._onWake);
      if (typeof document !== "undefined") document.addEventListener("visibilitychange", this._onWake);
    }
    this._run(false);
    if (this.heartbeat && !this._beatTimer) this._beatTimer = setInterval(() => this._beat(), this.heartbeatInterval);
    return this;
  }

  /** Disconnect for good (the page or widget is going away, or the user said so). */
  close() {
    this._closed = true;
    this._started = false;
    this._gen++;
    this._clearTimer();
    clearTimeout(this._hiddenTimer);
    if (this._beatTimer) clearInterval(this._beatTimer);
    this._beatTimer = null;
    if (typeof window !== "undefined") {
      window.removeEventListener("online", this._onWake);
      if (typeof document !== "undefined") document.removeEventListener("visibilitychange", this._onWake);
    }
    const rfb = this.rfb;
    this.rfb = null;
    if (rfb) {
      try {
        rfb.disconnect();
      } catch {
        /* already gone */
      }
    }
    this._set({ phase: "stopped", reason: "closed", message: "" });
  }

  /** Skip the wait: reconnect now (also after the desktop was found stopped, e.g. once it was restarted). */
  retryNow() {
    if (this.state.phase === "connected" || this.state.phase === "connecting") return;
    if (this._closed) {
      this._closed = false;
      this._started = false;
      return this.start();
    }
    if (this.state.phase === "stopped") this.attempt = 0;
    this._run(false);
  }

  setViewOnly(value) {
    this._viewOnly = !!value;
    if (this.rfb) this.rfb.viewOnly = this._viewOnly;
  }

  setScaleMode(mode) {
    if (!SCALE_MODES.includes(mode)) throw new Error(`unknown scale mode ${mode}; one of ${SCALE_MODES.join(", ")}`);
    this._scaleMode = mode;
    if (this.rfb) this._applyScale(this.rfb);
  }

  /** Type `text` into the desktop's clipboard through RFB. False when not connected or view-only. */
  sendClipboard(text) {
    if (!this.rfb || !this.connected || this._viewOnly) return false;
    this.rfb.clipboardPasteFrom(String(text));
    return true;
  }

  focus() {
    if (this.rfb && this.connected) this.rfb.focus({ preventScroll: true });
  }

  /** The current picture as a Blob (null when not connected). */
  toBlob(type = "image/png", quality) {
    const rfb = this.rfb;
    if (!rfb || !this.connected) return Promise.resolve(null);
    return new Promise((resolve) => rfb.toBlob((blob) => resolve(blob || null), type, quality));
  }

  // ---------------------------------------------------------------- internals

  /** The page stayed hidden: let go of the desktop until it is shown again (see `pauseWhenHidden`). */
  _pause() {
    if (this._closed || (typeof document !== "undefined" && document.visibilityState !== "hidden")) return;
    if (this.state.phase === "stopped") return;
    this._gen++;
    this._clearTimer();
    const rfb = this.rfb;
    this.rfb = null;
    if (rfb) {
      this._captureFrame(rfb);
      try {
        rfb.disconnect();
      } catch {
        /* already gone */
      }
    }
    this._set({ phase: "stopped", reason: "paused", message: "Paused while this page was hidden: it reconnects when you come back." });
  }

  /** The heartbeat: only while a person could be watching (visible page) and there is something to watch. */
  _beat() {
    const pageShown = typeof document === "undefined" || document.visibilityState !== "hidden";
    // and the view itself: a Lab tab in the background, or a collapsed output, is display:none (no boxes)
    const t = this.target;
    const viewShown = !t || typeof t.getClientRects !== "function" || t.getClientRects().length > 0;
    if (!this.heartbeat || !this.connected || !pageShown || !viewShown || this._updatedAt <= this._beatAt) return;
    this._beatAt = this._now();
    Promise.resolve()
      .then(() => this.heartbeat())
      .catch(() => {
        /* the next status check says what is wrong */
      });
  }

  /** The stream for noVNC: a URL becomes a WebSocket of ours when there is a heartbeat, so that the screen's
   * updates can be seen arriving; a channel (the widget's tunnel) is watched when it can be. */
  _channel(endpoint) {
    const mark = () => {
      this._updatedAt = this._now();
    };
    if (typeof endpoint === "string") {
      if (!this.heartbeat || !this._WebSocket) return endpoint;
      const ws = new this._WebSocket(endpoint, this.rfbOptions.wsProtocols);
      ws.binaryType = "arraybuffer";
      ws.addEventListener("message", mark);
      return ws;
    }
    if (endpoint && typeof endpoint.addEventListener === "function") endpoint.addEventListener("message", mark);
    return endpoint;
  }

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  _set(state) {
    this.state = state;
    this._emit("state", state);
  }

  _clearTimer() {
    if (this._timer) clearTimeout(this._timer);
    this._timer = null;
  }

  _later(ms, fn) {
    this._clearTimer();
    this._timer = setTimeout(() => {
      this._timer = null;
      fn();
    }, ms);
  }

  /** Ask the server about the desktop, then connect, wait, or stop. After a failure, connect after a backoff. */
  async _run(afterFailure, message = "") {
    this._clearTimer();
    const gen = ++this._gen;
    if (afterFailure) this._set({ phase: "reconnecting", attempt: this.attempt, message });
    else this._set({ phase: "connecting", attempt: this.attempt });

    let verdict = { action: "connect" };
    if (this.checkStatus) {
      try {
        const desktop = await this.checkStatus();
        if (gen !== this._gen || this._closed) return;
        this.desktop = desktop;
        this._emit("desktop", desktop);
        verdict = decide({ desktop });
      } catch (error) {
        if (gen !== this._gen || this._closed) return;
        verdict = decide({ error });
      }
    }

    if (verdict.action === "stop") {
      this._set({ phase: "stopped", reason: verdict.reason, message: verdict.message });
    } else if (verdict.action === "wait") {
      this._set({ phase: "waiting", status: verdict.status });
      this._later(this.pollInterval, () => this._run(false));
    } else if (afterFailure) {
      const delay = backoffDelay(this.attempt, this.backoff, this._random);
      this.attempt += 1;
      this._set({ phase: "reconnecting", attempt: this.attempt, delay, retryAt: this._now() + delay, message });
      this._later(delay, () => this._open());
    } else {
      this._open();
    }
  }

  _open() {
    this._clearTimer();
    const gen = ++this._gen;
    this._set({ phase: "connecting", attempt: this.attempt });
    let rfb;
    try {
      const endpoint = this._channel(typeof this.url === "function" ? this.url() : this.url);
      rfb = new this.RFB(this.target, endpoint, this.rfbOptions);
    } catch (err) {
      this._run(true, `Could not open the connection: ${err && err.message ? err.message : err}`);
      return;
    }
    this.rfb = rfb;
    let connectedAt = 0;
    let failure = "";
    let fatal = "";

    rfb.addEventListener("connect", () => {
      if (this.rfb !== rfb || gen !== this._gen) return;
      connectedAt = this._now();
      this._emit("frame", null);
      this._set({ phase: "connected" });
    });
    rfb.addEventListener("disconnect", (e) => {
      if (this.rfb !== rfb) return;
      this.rfb = null;
      this._captureFrame(rfb);
      if (this._closed || gen !== this._gen) return;
      if (fatal) {
        this._set({ phase: "stopped", reason: "error", message: fatal });
        return;
      }
      if (connectedAt && this._now() - connectedAt >= this.stableAfter) this.attempt = 0;
      const clean = !!(e && e.detail && e.detail.clean);
      const why = failure || (connectedAt ? "The connection was closed." : clean ? "" : "Could not connect.");
      this._run(true, why);
    });
    rfb.addEventListener("securityfailure", (e) => {
      const d = (e && e.detail) || {};
      failure = `VNC security negotiation failed${d.reason ? `: ${d.reason}` : ""}.`;
    });
    rfb.addEventListener("credentialsrequired", () => {
      fatal = "The VNC server asks for credentials; jupyter_desktop expects security type None (auth is Jupyter's).";
      rfb.disconnect();
    });
    rfb.addEventListener("clipboard", (e) => this._emit("clipboard", { text: e.detail.text }));
    rfb.addEventListener("desktopname", (e) => this._emit("desktopname", { name: e.detail.name }));

    rfb.viewOnly = this._viewOnly;
    rfb.focusOnClick = true;
    this._applyScale(rfb);
    for (const [k, v] of Object.entries(this.rfbSettings)) rfb[k] = v;
  }

  _applyScale(rfb) {
    const mode = this._scaleMode;
    rfb.clipViewport = false;
    rfb.scaleViewport = mode === "scale";
    rfb.resizeSession = mode === "remote";
  }

  _captureFrame(rfb) {
    try {
      const dataUrl = rfb.toDataURL("image/jpeg", 0.7);
      if (typeof dataUrl === "string" && dataUrl.length > 64) this._emit("frame", { dataUrl });
    } catch {
      /* no picture yet */
    }
  }
}
