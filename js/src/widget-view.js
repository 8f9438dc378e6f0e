// The notebook widget's view (anywidget): the live desktop in a cell, with a toolbar.
// widget.js is the entry (it brings noVNC); this module takes RFB as a parameter so tests can pass a fake.
//
// Traits (jupyter_desktop/widget.py): desktop_id, ws_url, viewer_url, status, error, screen_width/height,
// view_only, scale ("fit" | "1:1"), size ("full" | "compact"), resize_remote, recording. Changes apply live both
// ways (the toolbar's toggles set view_only, scale and size). Messages to the kernel: terminate, restart, refresh,
// record, and the comm tunnel (tunnel.js); from it: said (a note to show), and the tunnel's.

import { DesktopApi } from "./api.js";
import { DesktopConnection } from "./connection.js";
import { download, h, icon, showLastFrame } from "./dom.js";
import { statusTone } from "./format.js";
import { createGate } from "./gate.js";
import { icons } from "./icons.js";
import { createButton } from "./toolbar.js";
import { createTabs } from "./tabs.js";
import { isRelativePath, jupyterPage, Transport } from "./transport.js";
import { CommUploads, createUploader } from "./upload.js";
import { join } from "./urls.js";

export const COMPACT_HEIGHT = 300;
const MIN_FULL_HEIGHT = 200;
export const MAX_HEIGHT_SHARE = 0.85; // of the window's height: the whole view, toolbar included, stays in sight
const CONFIRM_MS = 4000;
const RECORD_TITLE = "Record what is done here (steps, screenshots, a video) into recordings/ next to the notebook";
const NOTE_MS = 3000; // a note shows this long; an error (a refused upload, a failed recording) 10 s, as the viewer's

/** DesktopConnection's scale mode for the model's traits. */
export function scaleMode(scale, resizeRemote) {
  if (resizeRemote) return "remote";
  return scale === "1:1" ? "none" : "scale";
}

/**
 * The stage's size, as its inline style {height, aspectRatio, maxHeight, minHeight}.
 * - "full" (the default): the cell's width at the screen's aspect ratio (fit, or the remote following the widget),
 *   or the screen's own height (1:1, with scrollbars); at most `maxHeight` px (then the screen is letterboxed in
 *   the cell's width), at least MIN_FULL_HEIGHT. The browser derives the height from the width (CSS aspect-ratio):
 *   a height the script set from a width it measured could loop when the notebook's scrollbar comes and goes.
 * - "compact": COMPACT_HEIGHT px.
 */
export function stageStyle({ size, scale, resizeRemote, screenWidth, screenHeight, maxHeight }) {
  const fixed = (px) => ({ height: `${px}px`, aspectRatio: "", maxHeight: "", minHeight: "" });
  if (size === "compact") return fixed(COMPACT_HEIGHT);
  const sw = screenWidth > 0 ? screenWidth : 1280;
  const sh = screenHeight > 0 ? screenHeight : 800;
  const cap = maxHeight > 0 ? maxHeight : Infinity;
  const min = Math.min(MIN_FULL_HEIGHT, cap);
  if (scale === "1:1" && !resizeRemote) return fixed(Math.max(min, Math.min(sh, cap)));
  return { height: "auto", aspectRatio: `${sw} / ${sh}`, maxHeight: cap < Infinity ? `${cap}px` : "", minHeight: `${min}px` };
}

const cap = (s) => s.charAt(0).toUpperCase() + s.slice(1);

/**
 * The status badge: the desktop's status (the kernel's or the server's word) and, while it runs, the
 * connection's. Returns {text, tone, detail}; tone drives the colour (ok, busy, warn, error, idle), detail
 * is the hover text (the error message).
 */
export function describeView(status, error, state, via = "", now = Date.now()) {
  const s = state || { phase: "idle" };
  if (status === "error") return { text: "error", tone: "error", detail: error || "The desktop failed." };
  if (status === "stopped") return { text: "stopped", tone: "idle", detail: error || "The desktop has stopped." };
  if (status === "starting" || status === "stopping") return { text: status, tone: "busy", detail: `The desktop is ${status}.` };
  switch (s.phase) {
    case "connected":
      return { text: "running", tone: "ok", detail: via ? `Connected ${via}.` : "Connected." };
    case "waiting":
      return { text: s.status || "starting", tone: "busy", detail: `The desktop is ${s.status || "starting"}.` };
    case "reconnecting": {
      const secs = s.retryAt ? Math.ceil((s.retryAt - now) / 1000) : 0;
      return { text: secs > 0 ? `reconnecting in ${secs}s` : "reconnecting", tone: "warn", detail: s.message || "The connection dropped." };
    }
    case "stopped":
      if (s.reason === "closed") return { text: "disconnected", tone: "idle", detail: "Not connected: Reconnect to see the desktop." };
      if (s.reason === "stopped") return { text: "stopped", tone: "idle", detail: s.message || "The desktop has stopped." };
      if (s.reason === "not-found") return { text: "not found", tone: "error", detail: s.message || "This desktop does not exist (any more)." };
      return { text: "error", tone: "error", detail: s.message || "The connection failed." };
    default:
      return { text: "connecting", tone: "busy", detail: "Connecting to the desktop…" };
  }
}

/** fetch() with JupyterLab's token header when the page config has one (cookie auth covers the rest). */
export function tokenFetch(token, win) {
  return (url, init = {}) => {
    const headers = { ...(init.headers || {}) };
    if (token) headers.Authorization = `token ${token}`;
    return win.fetch(url, { ...init, headers });
  };
}

/**
 * Render one view of the model into `el`. Returns the cleanup function anywidget calls when the view goes.
 * @param {object} o
 * @param {object} o.model   anywidget model
 * @param {HTMLElement} o.el
 * @param {Function} o.RFB   noVNC's RFB class
 * @param {Function} [o.WebSocket]
 * @param {object} [o.tunnel]  CommChannel options
 */
export function renderDesktopView({ model, el, RFB, WebSocket, tunnel, doc = document, win = window }) {
  const page = jupyterPage(doc);
  const api = page ? new DesktopApi(page.baseUrl, { fetch: tokenFetch(page.token, win) }) : null;
  const disposers = [];
  const on = (event, fn) => {
    model.on(event, fn);
    disposers.push(() => model.off(event, fn));
  };
  const timers = new Set();
  const later = (ms, fn) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
    return t;
  };
  const get = (name) => model.get(name);
  const setTrait = (name, value) => {
    if (get(name) === value) return;
    model.set(name, value);
    model.save_changes();
  };

  // ---- DOM
  const root = h("div", { class: "jd-app jd-widget" });
  const badgeText = h("span", { class: "jd-status-text" });
  const badge = h("span", { class: "jd-status", role: "status", "aria-live": "polite" }, h("span", { class: "jd-status-dot" }), badgeText);
  const title = h("span", { class: "jd-title" });
  const note = h("span", { class: "jd-note", role: "status", "aria-live": "polite", hidden: true });

  const viewOnlyButton = createButton({
    label: "View only",
    title: "View only: the desktop ignores your mouse and keyboard",
    icon: icons.eye,
    toggle: true,
    showLabel: false,
    onClick: (pressed) => {
      setTrait("view_only", pressed);
      applyViewOnly();
      if (!pressed) connection.focus();
    },
  });
  const scaleButton = createButton({
    label: "Actual size",
    title: "Actual size (1:1, with scrollbars) or scaled to fit the cell",
    icon: icons.actual,
    toggle: true,
    showLabel: false,
    onClick: (pressed) => {
      setTrait("scale", pressed ? "1:1" : "fit");
      applyScale();
    },
  });
  const sizeButton = createButton({
    label: "Compact",
    title: "Compact (300 px high), or as wide as the cell at the desktop's aspect ratio",
    icon: icons.rows,
    toggle: true,
    showLabel: false,
    onClick: (pressed) => {
      setTrait("size", pressed ? "compact" : "full");
      layout();
    },
  });
  const canFullscreen = typeof root.requestFullscreen === "function" && doc.fullscreenEnabled !== false;
  const fullscreenButton = canFullscreen
    ? createButton({
        label: "Full screen",
        icon: icons.fullscreen,
        showLabel: false,
        onClick: () => {
          const done = doc.fullscreenElement === root ? doc.exitFullscreen() : root.requestFullscreen();
          Promise.resolve(done).catch((err) => say(`Full screen refused: ${err && err.message ? err.message : err}`, "error"));
        },
      })
    : null;
  const newTab = h(
    "a",
    { class: "jd-button", target: "_blank", rel: "noopener", title: "Open in a new tab (the full-page viewer)", "aria-label": "Open in a new tab", hidden: true },
    icon(icons.external),
  );
  const recordButton = createButton({
    label: "Record",
    title: RECORD_TITLE,
    icon: icons.record,
    toggle: true,
    showLabel: false,
    onClick: (pressed) => {
      recordButton.setPressed(!!get("recording")); // the kernel's word (the recording trait) decides
      if (send({ type: "record", on: pressed })) say(pressed ? "Asked the kernel to start recording…" : "Asked the kernel to stop recording…");
    },
  });
  recordButton.classList.add("jd-record");
  const reconnectButton = createButton({ label: "Reconnect", icon: icons.refresh, showLabel: false, onClick: () => reconnect() });
  const canCopy = !!(win.ClipboardItem && win.navigator && win.navigator.clipboard && typeof win.navigator.clipboard.write === "function");
  const copyButton = canCopy
    ? createButton({ label: "Copy screenshot", title: "Copy a screenshot to the clipboard (PNG)", icon: icons.copy, showLabel: false, onClick: () => copyScreenshot() })
    : null;
  const downloadButton = createButton({ label: "Download screenshot", title: "Download a screenshot (PNG)", icon: icons.download, showLabel: false, onClick: () => downloadScreenshot() });
  const terminateButton = createButton({
    label: "Terminate",
    title: "Terminate the desktop and everything running in it (asks the kernel)",
    icon: icons.power,
    showLabel: false,
    onClick: () => terminate(),
  });
  terminateButton.classList.add("jd-danger");
  const confirmLabel = h("span", { class: "jd-button-label", hidden: true }, "Click again to terminate");
  terminateButton.append(confirmLabel);

  const toolbar = h(
    "div",
    { class: "jd-toolbar", role: "toolbar", "aria-label": "Desktop" },
    h("div", { class: "jd-toolbar-group" }, badge, title, note),
    h("div", { class: "jd-toolbar-spacer" }),
    h("div", { class: "jd-toolbar-group" }, [viewOnlyButton, scaleButton, sizeButton, fullscreenButton, newTab, recordButton, reconnectButton, copyButton, downloadButton, terminateButton]),
  );

  // noVNC's target. data-lm-suppress-shortcuts: JupyterLab's shortcuts (a, b, dd, Shift+Enter...) stay out of it.
  const screen = h("div", { class: "jd-screen", "data-lm-suppress-shortcuts": "true" });
  const lastFrame = h("img", { class: "jd-last-frame", alt: "", hidden: true });
  const overlayTitle = h("div", { class: "jd-overlay-title" });
  const overlayDetail = h("div", { class: "jd-overlay-detail" });
  const overlayActions = h("div", { class: "jd-overlay-actions" });
  const overlay = h("div", { class: "jd-overlay", role: "alert" }, h("div", { class: "jd-overlay-box" }, overlayTitle, overlayDetail, overlayActions));
  const stage = h("div", { class: "jd-stage" }, screen, lastFrame, overlay);
  // the desktop's exposed ports as tabs (Desktop.expose), for a desktop the server holds: the page reaches them
  const tabs = api ? createTabs({ api, baseUrl: page.baseUrl, stage, onDesktop: () => connection.focus(), pageHref: () => win.location.href }) : null;
  root.append(toolbar, ...(tabs ? [tabs.el] : []), stage);
  el.appendChild(root);

  // A person in the loop, for a desktop the server holds (the page reaches its REST API): the agent's approvals
  // as cards over the screen, take over / hand back. The kernel cannot hear this view while a cell runs (its comm
  // waits for the cell), so the answers go to the server, which the kernel asks.
  let gate = null;
  const gateFor = () => {
    const id = get("desktop_id");
    if (gate || !api || !get("viewer_url") || !id) return gate;
    gate = createGate({ api, id, stage, canvas: () => screen.querySelector("canvas"), say: (text, tone) => say(text, tone) });
    toolbar.querySelector(".jd-toolbar-group:last-child").prepend(gate.takeOver);
    badge.after(gate.badge);
    return gate;
  };

  // ---- the connection
  let known = { status: get("status"), error: get("error") }; // the freshest word on the desktop's status
  let lastRefresh = 0;
  const requestRefresh = () => {
    const now = Date.now();
    if (now - lastRefresh < 1000) return;
    lastRefresh = now;
    send({ type: "refresh" });
  };
  const send = (msg) => {
    try {
      model.send(msg);
      return true;
    } catch (err) {
      say(`The kernel is not reachable: ${err && err.message ? err.message : err}`, "error");
      return false;
    }
  };

  const transport = new Transport({
    model,
    page,
    href: win.location ? win.location.href : "",
    WebSocket,
    tunnel,
    onFallback: () => later(0, () => connection.retryNow()),
  });

  async function checkStatus() {
    const id = get("desktop_id");
    if (transport.plan().kind === "websocket" && api && id) {
      try {
        const desktop = await api.get(id);
        known = { status: desktop.status, error: desktop.error || "" };
        return desktop;
      } catch (err) {
        // 404: this page's server does not hold the desktop (a kernel on another server, or it is gone);
        // the kernel knows which, and can relay. Other failures: the kernel's word too.
        if (err && err.status === 404) transport.wsBroken = true;
      }
    }
    requestRefresh(); // the traits may be stale; the kernel answers with fresh ones (the next check sees them)
    known = { status: get("status"), error: get("error") };
    return { id, status: known.status, error: known.error || null };
  }

  const connection = new DesktopConnection({
    target: screen,
    url: () => {
      const channel = transport.open();
      root.dataset.transport = transport.current.kind;
      return channel;
    },
    RFB,
    checkStatus,
    // a person watching the desktop change is using it (the server's idle timeout, JupyterHub); through the
    // comm tunnel the kernel's own traffic says so
    heartbeat: () =>
      api && transport.current && transport.current.kind === "websocket" ? api.activity(get("desktop_id")) : null,
    viewOnly: !!get("view_only"),
    scaleMode: scaleMode(get("scale"), get("resize_remote")),
    backoff: { initial: 1000, max: 15000 },
  });

  const via = () =>
    transport.current && transport.current.kind === "tunnel"
      ? `through the kernel (comm tunnel: ${transport.current.reason})`
      : "through the Jupyter server's WebSocket";

  let ticker = null; // the reconnect countdown
  function renderBadge() {
    const state = connection.state;
    const d = describeView(known.status, known.error, state, via());
    badge.dataset.tone = d.tone;
    badgeText.textContent = d.text;
    badge.title = d.detail;
    root.dataset.status = known.status || "";
    terminateButton.disabled = known.status === "stopped";
    const ticking = state.phase === "reconnecting" && !!state.retryAt;
    if (ticking && !ticker) {
      ticker = setInterval(() => {
        renderBadge();
        if (connection.state.phase === "reconnecting") overlayTitle.textContent = cap(describeView(known.status, known.error, connection.state).text);
      }, 500);
    } else if (!ticking && ticker) {
      clearInterval(ticker);
      ticker = null;
    }
  }

  function renderOverlay(state) {
    const visible = state.phase !== "connected";
    overlay.hidden = !visible;
    stage.classList.toggle("jd-disconnected", visible && state.phase !== "connecting");
    if (!visible) return;
    const d = describeView(known.status, known.error, state);
    overlay.dataset.tone = d.tone;
    overlayTitle.textContent = cap(d.text);
    overlayDetail.textContent = d.detail;
    overlayActions.textContent = "";
    const action = (label, fn, primary = false) =>
      h("button", { type: "button", class: `jd-button${primary ? " jd-primary" : ""}`, onclick: fn }, label);
    if (state.phase === "reconnecting" || state.phase === "waiting") overlayActions.append(action("Retry now", () => connection.retryNow(), true));
    else if (state.phase === "stopped") {
      if (known.status === "error") overlayActions.append(action("Restart desktop", () => restart(), true));
      else if (state.reason === "closed" || state.reason === "error") overlayActions.append(action("Reconnect", () => reconnect(), true));
    }
  }

  connection.addEventListener("state", (e) => {
    const state = e.detail;
    root.dataset.state = state.phase;
    renderBadge();
    renderOverlay(state);
    if (state.phase === "connected") {
      watchCanvas();
      layout();
      if (gateFor()) gate.start();
    } else if (state.phase === "stopped" && gate) {
      gate.stop();
    }
  });
  connection.addEventListener("desktop", () => renderBadge());
  connection.addEventListener("frame", (e) => showLastFrame(lastFrame, e.detail));

  // ---- actions
  function say(text, tone = "") {
    note.textContent = text;
    note.dataset.tone = tone;
    note.hidden = !text;
    if (note._timer) clearTimeout(note._timer);
    if (text) note._timer = later(tone === "error" ? 10000 : NOTE_MS, () => (note.hidden = true));
  }

  function reconnect() {
    transport.reset();
    requestRefresh();
    connection.close();
    transport.close();
    connection.retryNow();
  }

  function restart() {
    overlayDetail.textContent = "Restarting…";
    send({ type: "restart" });
  }

  let confirming = null;
  function terminate() {
    if (!confirming) {
      confirmLabel.hidden = false;
      terminateButton.dataset.confirm = "true";
      confirming = later(CONFIRM_MS, resetTerminate);
      return;
    }
    resetTerminate();
    if (send({ type: "terminate" })) say("Asked the kernel to terminate the desktop.");
  }
  function resetTerminate() {
    if (confirming) {
      clearTimeout(confirming);
      timers.delete(confirming);
    }
    confirming = null;
    confirmLabel.hidden = true;
    delete terminateButton.dataset.confirm;
  }

  const shotName = () => `desktop-${get("desktop_id") || "view"}-${new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19)}.png`;

  function copyScreenshot() {
    // The blob goes in as a promise so that write() runs inside the click (browsers want a user gesture).
    const png = connection.toBlob("image/png").then((blob) => blob || Promise.reject(new Error("not connected")));
    let item;
    try {
      item = new win.ClipboardItem({ "image/png": png });
    } catch {
      return downloadScreenshot("The clipboard does not take images here: downloaded instead.");
    }
    win.navigator.clipboard.write([item]).then(
      () => say("Screenshot copied to the clipboard."),
      () => downloadScreenshot("The browser refused the clipboard: downloaded instead."),
    );
  }

  async function downloadScreenshot(message = "") {
    const blob = await connection.toBlob("image/png");
    if (blob) {
      download(blob, shotName());
      say(message || "Screenshot downloaded.");
    } else if (api && get("viewer_url") && get("desktop_id")) {
      download(api.screenshotUrl(get("desktop_id"), "png"), shotName()); // not connected: the server takes it
      say(message || "Screenshot downloaded (taken by the server).");
    } else say("Not connected: no picture to save.", "error");
  }

  // ---- traits -> view
  function applyViewOnly() {
    const v = !!get("view_only");
    connection.setViewOnly(v);
    viewOnlyButton.setPressed(v);
    root.classList.toggle("jd-view-only", v);
    applyLink();
  }
  function applyScale() {
    const scale = get("scale") === "1:1" ? "1:1" : "fit";
    root.dataset.scale = scale;
    root.dataset.resizeRemote = String(!!get("resize_remote"));
    scaleButton.setPressed(scale === "1:1");
    applyLink();
    layout();
  }
  // A hidden view (output collapsed, notebook tab in the background) has no size: it must not ask the desktop
  // to shrink to nothing. It follows the widget again once it is shown.
  let appliedMode = null;
  function applyMode() {
    let mode = scaleMode(get("scale"), get("resize_remote"));
    if (mode === "remote" && (stage.clientWidth === 0 || stage.clientHeight === 0)) mode = "none";
    if (mode !== appliedMode) {
      appliedMode = mode;
      connection.setScaleMode(mode);
    }
  }
  function applyLink() {
    const rel = get("viewer_url");
    const shown = !!(rel && page && isRelativePath(rel));
    newTab.hidden = !shown;
    if (!shown) {
      newTab.removeAttribute("href");
      return;
    }
    // The tab shows the desktop as this view does: scaled (not resized: code in the notebook may rely on the
    // screen's size) unless this view resizes the remote, and view-only if this view is.
    const query = new URLSearchParams({ scale: get("resize_remote") ? "remote" : "scale" });
    if (get("view_only")) query.set("view_only", "1");
    newTab.href = `${join(page.baseUrl, rel)}?${query}`;
  }
  function applyRecording() {
    const folder = get("recording") || "";
    recordButton.setPressed(!!folder);
    recordButton.title = folder ? `Recording into ${folder}: click to stop` : RECORD_TITLE;
    root.dataset.recording = folder ? "true" : "false";
  }
  function applyTitle() {
    const id = get("desktop_id");
    title.textContent = id ? `Desktop ${id}` : "Desktop";
    root.dataset.desktopId = id || "";
  }

  // ---- size
  let canvas = null;
  const resizer = typeof ResizeObserver !== "undefined" ? new ResizeObserver(() => layout()) : null;
  if (resizer) resizer.observe(root);
  function watchCanvas() {
    const c = screen.querySelector("canvas");
    if (c === canvas) return;
    if (canvas && resizer) resizer.unobserve(canvas);
    canvas = c;
    if (canvas && resizer) resizer.observe(canvas);
  }
  function screenSize() {
    if (canvas && canvas.width > 0 && canvas.height > 0) return [canvas.width, canvas.height];
    return [get("screen_width"), get("screen_height")];
  }
  function layout() {
    const size = get("size") === "compact" ? "compact" : "full";
    root.dataset.size = size;
    sizeButton.setPressed(size === "compact");
    const [screenWidth, screenHeight] = screenSize();
    const style =
      doc.fullscreenElement === root
        ? { height: "", aspectRatio: "", maxHeight: "", minHeight: "" } // the stylesheet fills the screen
        : stageStyle({
            size,
            scale: get("scale"),
            resizeRemote: !!get("resize_remote"),
            screenWidth,
            screenHeight,
            maxHeight: Math.round((win.innerHeight || 800) * MAX_HEIGHT_SHARE),
          });
    for (const [key, value] of Object.entries(style)) if (stage.style[key] !== value) stage.style[key] = value;
    applyMode();
    if (gate) gate.redraw(); // the pending action's marks follow the screen's box
  }
  const onFullscreen = () => {
    root.classList.toggle("jd-fullscreen", doc.fullscreenElement === root);
    if (fullscreenButton) fullscreenButton.setAttribute("aria-pressed", String(doc.fullscreenElement === root));
    layout();
  };
  doc.addEventListener("fullscreenchange", onFullscreen);
  disposers.push(() => doc.removeEventListener("fullscreenchange", onFullscreen));

  on("change:view_only", applyViewOnly);
  on("change:scale", applyScale);
  on("change:resize_remote", applyScale);
  on("change:size", layout);
  on("change:screen_width", layout);
  on("change:screen_height", layout);
  on("change:viewer_url", applyLink);
  on("change:desktop_id", () => {
    applyTitle();
    reconnect();
  });
  on("change:ws_url", () => {
    const before = transport.current;
    transport.reset();
    const next = transport.plan();
    if (!before || before.kind !== next.kind || before.url !== next.url) reconnect();
  });
  const onStatus = () => {
    known = { status: get("status"), error: get("error") };
    renderBadge();
    renderOverlay(connection.state);
    const phase = connection.state.phase;
    if (known.status === "running" && (phase === "stopped" || phase === "waiting" || phase === "reconnecting")) {
      if (phase === "stopped" && connection.state.reason === "closed") return; // the user disconnected
      connection.retryNow();
    }
  };
  on("change:status", onStatus);
  on("change:error", onStatus);
  on("change:recording", applyRecording);
  const applyPorts = () => tabs && tabs.update(get("viewer_url") ? get("ports") : []);
  on("change:ports", applyPorts);
  on("change:viewer_url", applyPorts);
  // what the kernel says back (the record button's outcome)
  on("msg:custom", (msg) => {
    if (msg && msg.type === "said" && typeof msg.text === "string") say(msg.text, msg.tone === "error" ? "error" : "");
  });

  // Keyboard focus goes to the desktop when its area is clicked (noVNC focuses its canvas on mousedown too).
  screen.addEventListener("mousedown", () => connection.focus());
  // Keys typed at the desktop stay there. noVNC stops them itself, except in view-only mode (it lets go of the
  // keyboard): then JupyterLab would take stray typing as notebook shortcuts (r: cell to raw, dd: delete...).
  const keep = (e) => e.stopPropagation();
  for (const type of ["keydown", "keypress", "keyup"]) screen.addEventListener(type, keep);
  // Files dropped on the screen go to the desktop's ~/Desktop through the kernel, wherever the desktop lives.
  const uploads = new CommUploads(model);
  const uploader = createUploader({ target: stage, say, viewOnly: () => !!get("view_only"), unavailable: tabs ? tabs.refusal : undefined, upload: (f, p) => uploads.upload(f, p) });
  disposers.push(() => uploader.dispose(), () => uploads.dispose());

  applyTitle();
  applyRecording();
  applyPorts();
  applyLink();
  applyViewOnly();
  applyScale();
  layout();
  renderBadge();
  connection.start();

  // For tests and benchmarks (and curious users in the console): the live objects behind this view.
  root.jdView = { connection, transport, model };

  return () => {
    for (const dispose of disposers.splice(0)) {
      try {
        dispose();
      } catch {
        /* the model is gone */
      }
    }
    for (const t of timers) clearTimeout(t);
    timers.clear();
    if (ticker) clearInterval(ticker);
    if (resizer) resizer.disconnect();
    if (gate) gate.dispose();
    if (tabs) tabs.dispose();
    connection.close();
    transport.close();
    delete root.jdView;
    root.remove();
  };
}
