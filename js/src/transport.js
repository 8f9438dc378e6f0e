// How the notebook widget reaches its desktop, decided per connection attempt:
//
//  - WebSocket: in a Jupyter page (JupyterLab, Notebook 7, JupyterHub), when the kernel says the Jupyter server
//    holds the desktop (`ws_url`): `{base}{ws_url}` on the page's own origin, with the page's own auth (cookie).
//  - Comm tunnel: otherwise. The desktop lives in the kernel (no ws_url), or the page is not a Jupyter page
//    (VS Code, Colab, marimo), or the WebSocket never opened (a proxy in the way): the kernel relays the RFB
//    bytes through the widget's comm (tunnel.js).
//
// Once a WebSocket has opened in a view, later reconnects keep to it (a restarting server is not a reason to
// switch); one that never opened switches the view to the tunnel until the user asks to reconnect.

import { CommChannel } from "./tunnel.js";
import { join, normalizeBase, wsUrl } from "./urls.js";

/**
 * What the page says about its Jupyter server: {baseUrl, wsUrl, token}, or null when this is not a Jupyter page.
 * JupyterLab / Notebook 7 / JupyterHub embed <script id="jupyter-config-data">; the classic notebook puts
 * data-base-url on <body>.
 */
export function jupyterPage(doc = typeof document !== "undefined" ? document : null) {
  if (!doc) return null;
  const el = doc.getElementById("jupyter-config-data");
  if (el) {
    try {
      const data = JSON.parse(el.textContent || "{}");
      if (data && typeof data.baseUrl === "string" && data.baseUrl) {
        return {
          baseUrl: normalizeBase(data.baseUrl),
          wsUrl: typeof data.wsUrl === "string" ? data.wsUrl : "",
          token: typeof data.token === "string" ? data.token : "",
        };
      }
    } catch {
      /* not JSON: not a page we know */
    }
  }
  const body = doc.body;
  const base = body && body.getAttribute && body.getAttribute("data-base-url");
  if (base) return { baseUrl: normalizeBase(base), wsUrl: body.getAttribute("data-ws-url") || "", token: "" };
  return null;
}

/** A path on the page's own server (no scheme, no host): the widget only ever connects there. */
export function isRelativePath(path) {
  return typeof path === "string" && !/^[a-z][a-z0-9+.-]*:/i.test(path) && !path.startsWith("//") && !path.includes("\\");
}

/** The WebSocket URL of `path` (relative to the base URL) on this page's server. */
export function socketUrl(page, path, href) {
  // JupyterLab's wsUrl option: WebSockets on another origin ("ws://host:port/base/"); usually empty.
  if (page.wsUrl && /^wss?:\/\//i.test(page.wsUrl)) return join(page.wsUrl, path);
  return wsUrl(page.baseUrl, path, href);
}

/**
 * The way to connect next: {kind: "websocket", url} or {kind: "tunnel", reason}.
 * @param {object} o
 * @param {string} o.wsPath     the model's ws_url ("" when only the kernel can reach the desktop)
 * @param {object|null} o.page  jupyterPage()
 * @param {boolean} o.wsBroken  a WebSocket of this view never opened
 * @param {string} o.href       the page's URL (for ws: vs wss:)
 */
export function chooseTransport({ wsPath, page, wsBroken = false, href = "" }) {
  if (!wsPath) return { kind: "tunnel", reason: "the desktop runs in the kernel" };
  if (!isRelativePath(wsPath)) return { kind: "tunnel", reason: "ws_url is not a path under the Jupyter server" };
  if (!page) return { kind: "tunnel", reason: "not a Jupyter page: the kernel relays the desktop" };
  if (wsBroken) return { kind: "tunnel", reason: "the WebSocket to the Jupyter server did not open" };
  return { kind: "websocket", url: socketUrl(page, wsPath, href) };
}

/**
 * Opens a fresh channel per connection attempt (DesktopConnection's `url` function), following chooseTransport,
 * and counts what comes in (for the stats the benchmark reads).
 */
export class Transport {
  /**
   * @param {object} o
   * @param {object} o.model          anywidget model (ws_url, and the comm for the tunnel)
   * @param {object|null} o.page      jupyterPage()
   * @param {string} [o.href]         the page's URL
   * @param {Function} [o.WebSocket]  WebSocket constructor (tests pass a fake)
   * @param {object} [o.tunnel]       CommChannel options
   * @param {(reason: string) => void} [o.onFallback]  a WebSocket never opened: the next attempt tunnels
   */
  constructor(o) {
    this.model = o.model;
    this.page = o.page || null;
    this.href = o.href || (typeof location !== "undefined" ? location.href : "");
    this.WebSocket = o.WebSocket || globalThis.WebSocket;
    this.tunnelOptions = o.tunnel || {};
    this.onFallback = o.onFallback || null;
    this.wsBroken = false;
    this.wsWorked = false;
    this.current = null; // the last plan: {kind, url | reason}
    this.channel = null;
    this.stats = { kind: "", opened: 0, bytesIn: 0, messagesIn: 0 };
  }

  plan() {
    return chooseTransport({ wsPath: this.model.get("ws_url"), page: this.page, wsBroken: this.wsBroken, href: this.href });
  }

  /** Forget that the WebSocket failed (the user asked to reconnect, or ws_url changed). */
  reset() {
    this.wsBroken = false;
    this.wsWorked = false;
  }

  /** Close the current channel, if noVNC has not (it normally does on disconnect). */
  close() {
    const channel = this.channel;
    this.channel = null;
    if (channel && (channel.readyState === 0 || channel.readyState === 1)) {
      try {
        channel.close();
      } catch {
        /* already going */
      }
    }
  }

  /** A new WebSocket-like channel for noVNC's RFB. */
  open() {
    this.close(); // one live channel per view
    const plan = this.plan();
    this.current = plan;
    this.stats.kind = plan.kind;
    this.stats.opened += 1;
    const count = (e) => {
      const data = e && e.data;
      this.stats.bytesIn += data && typeof data.byteLength === "number" ? data.byteLength : 0;
      this.stats.messagesIn += 1;
    };
    if (plan.kind === "websocket") {
      const ws = new this.WebSocket(plan.url, ["binary"]);
      ws.binaryType = "arraybuffer";
      let opened = false;
      ws.addEventListener("open", () => {
        opened = true;
        this.wsWorked = true;
      });
      ws.addEventListener("message", count);
      ws.addEventListener("close", () => {
        if (opened || this.wsWorked || this.wsBroken) return;
        this.wsBroken = true;
        if (this.onFallback) this.onFallback("the WebSocket to the Jupyter server did not open");
      });
      this.channel = ws;
      return ws;
    }
    const channel = new CommChannel(this.model, this.tunnelOptions);
    channel.addEventListener("message", count);
    this.channel = channel;
    return channel;
  }
}
