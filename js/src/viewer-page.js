// The full-page viewer, {base}desktop/<id>/: toolbar, the desktop filling the window, clipboard panel,
// and an overlay saying what is going on whenever the desktop is not connected.

import { DesktopApi } from "./api.js";
import { createClipboardPanel } from "./clipboard.js";
import { DesktopConnection, SCALE_MODES } from "./connection.js";
import { download, h, icon, showLastFrame } from "./dom.js";
import { formatProfile } from "./format.js";
import { icons } from "./icons.js";
import { createButton, createSelect, createStatus, createToolbar, describeState } from "./toolbar.js";
import { listUrl, wsUrl } from "./urls.js";

const PREFS_KEY = "jupyter-desktop:viewer";

/** Viewer preferences: URL query (?view_only=1&scale=scale) over saved ones over defaults. */
export function viewerPrefs(search = "", saved = {}) {
  const q = new URLSearchParams(search);
  const prefs = { scaleMode: "remote", viewOnly: false };
  if (SCALE_MODES.includes(saved.scaleMode)) prefs.scaleMode = saved.scaleMode;
  const scale = q.get("scale");
  if (SCALE_MODES.includes(scale)) prefs.scaleMode = scale;
  const vo = q.get("view_only") ?? q.get("viewOnly");
  if (vo !== null) prefs.viewOnly = vo === "" || /^(1|true|yes|on)$/i.test(vo);
  return prefs;
}

function loadSaved() {
  try {
    return JSON.parse(localStorage.getItem(PREFS_KEY) || "{}") || {};
  } catch {
    return {};
  }
}

function save(prefs) {
  try {
    localStorage.setItem(PREFS_KEY, JSON.stringify(prefs));
  } catch {
    /* private mode */
  }
}

export function mountViewer(root, config, { RFB, api = new DesktopApi(config.baseUrl, { xsrfToken: config.xsrfToken }) }) {
  const id = config.desktopId;
  const prefs = viewerPrefs(window.location.search, loadSaved());
  const baseTitle = document.title || `Desktop ${id}`;
  root.classList.add("jd-app", "jd-viewer");
  root.textContent = "";

  // ---- the stage: noVNC's target, the last picture (while reconnecting), the overlay, the clipboard panel
  const screen = h("div", { class: "jd-screen" });
  const lastFrame = h("img", { class: "jd-last-frame", alt: "", hidden: true });
  const overlayTitle = h("div", { class: "jd-overlay-title" });
  const overlayDetail = h("div", { class: "jd-overlay-detail" });
  const overlayActions = h("div", { class: "jd-overlay-actions" });
  const overlay = h("div", { class: "jd-overlay", role: "alert" }, h("div", { class: "jd-overlay-box" }, overlayTitle, overlayDetail, overlayActions));

  let connection;
  const clipboard = createClipboardPanel({
    onSend: async (text) => {
      if (connection.sendClipboard(text)) return "Sent to the desktop: paste it there.";
      if (connection.viewOnly) throw new Error("View only: turn it off to send text.");
      await api.setClipboard(id, text);
      return "Set the desktop's clipboard.";
    },
    onFetch: () => api.getClipboard(id),
    onClose: () => {
      clipButton.setPressed(false);
      connection.focus();
    },
  });
  const stage = h("main", { class: "jd-stage" }, screen, lastFrame, overlay, clipboard.el);

  // ---- toolbar
  const status = createStatus();
  const name = h("span", { class: "jd-title" }, `Desktop ${id}`);
  const info = h("span", { class: "jd-subtitle" });
  const back = h("a", { class: "jd-button jd-back", href: listUrl(config.baseUrl), title: "All desktops" }, icon(icons.back), h("span", { class: "jd-button-label" }, "Desktops"));

  const clipButton = createButton({
    label: "Clipboard",
    icon: icons.clipboard,
    toggle: true,
    onClick: (open) => (open ? clipboard.show() : clipboard.hide()),
  });
  const viewOnlyButton = createButton({
    label: "View only",
    title: "View only: the desktop ignores your mouse and keyboard",
    icon: icons.eye,
    toggle: true,
    pressed: prefs.viewOnly,
    onClick: (on) => {
      connection.setViewOnly(on);
      root.classList.toggle("jd-view-only", on);
      if (!on) connection.focus();
    },
  });
  const scaleSelect = createSelect({
    label: "Fit",
    title: "Resize desktop: the desktop takes the window's size. Scale: the picture shrinks to fit. Actual size: 1:1 with scrollbars.",
    options: [
      ["remote", "Resize desktop"],
      ["scale", "Scale to window"],
      ["none", "Actual size"],
    ],
    value: prefs.scaleMode,
    onChange: (mode) => {
      connection.setScaleMode(mode);
      save({ ...loadSaved(), scaleMode: mode });
    },
  });
  const shotButton = createButton({
    label: "Screenshot",
    title: "Download a screenshot (PNG)",
    icon: icons.camera,
    showLabel: false,
    onClick: () => screenshot(),
  });
  const fullButton =
    document.fullscreenEnabled && root.requestFullscreen
      ? createButton({
          label: "Full screen",
          icon: icons.fullscreen,
          showLabel: false,
          onClick: () => (document.fullscreenElement ? document.exitFullscreen() : root.requestFullscreen()).catch(() => {}),
        })
      : null;

  const toolbar = createToolbar(
    [back, h("span", { class: "jd-heading" }, name, info), status.el],
    [clipButton, viewOnlyButton, scaleSelect, shotButton, fullButton],
  );
  root.append(toolbar, stage);
  root.classList.toggle("jd-view-only", prefs.viewOnly);

  // ---- the connection
  connection = new DesktopConnection({
    target: screen,
    url: wsUrl(config.baseUrl, config.wsUrl, window.location.href),
    RFB,
    checkStatus: () => api.get(id),
    viewOnly: prefs.viewOnly,
    scaleMode: prefs.scaleMode,
  });

  connection.addEventListener("state", (e) => {
    const state = e.detail;
    status.update(state);
    root.dataset.state = state.phase;
    const d = describeState(state);
    document.title = state.phase === "connected" ? baseTitle : `${baseTitle} (${d.text})`;
    showOverlay(state);
    if (state.phase === "connected") {
      connection.focus();
    }
  });
  connection.addEventListener("desktop", (e) => {
    const d = e.detail || {};
    info.textContent = d.profile ? formatProfile(d.profile) : "";
  });
  connection.addEventListener("desktopname", (e) => {
    if (e.detail.name) name.title = e.detail.name;
  });
  connection.addEventListener("clipboard", (e) => clipboard.remoteText(e.detail.text));
  connection.addEventListener("frame", (e) => showLastFrame(lastFrame, e.detail));

  // Keyboard focus goes to the desktop when its area is clicked (noVNC also focuses its canvas on mousedown).
  screen.addEventListener("mousedown", () => connection.focus());

  function actionButton(label, onClick, primary = false) {
    return h("button", { type: "button", class: `jd-button${primary ? " jd-primary" : ""}`, onclick: onClick }, label);
  }

  function showOverlay(state) {
    const d = describeState(state);
    const visible = state.phase !== "connected";
    overlay.hidden = !visible;
    stage.classList.toggle("jd-disconnected", visible && state.phase !== "connecting");
    if (!visible) return;
    overlay.dataset.tone = d.tone;
    overlayTitle.textContent = d.text;
    overlayDetail.textContent = d.detail;
    overlayActions.textContent = "";
    const actions = [];
    if (state.phase === "reconnecting" || state.phase === "waiting") {
      actions.push(actionButton("Retry now", () => connection.retryNow(), true));
    } else if (state.phase === "stopped") {
      if (state.reason === "stopped" || state.reason === "error") actions.push(actionButton("Restart desktop", restart, true));
      if (state.reason === "closed") actions.push(actionButton("Reconnect", () => connection.retryNow(), true));
      if (state.reason === "unauthorized") actions.push(actionButton("Reload page", () => window.location.reload(), true));
      actions.push(h("a", { class: "jd-button", href: listUrl(config.baseUrl) }, "All desktops"));
    }
    overlayActions.append(...actions);
    // Keep the countdown in the overlay in step with the status pill.
    if (state.phase === "reconnecting" && state.retryAt) {
      const tick = setInterval(() => {
        if (connection.state !== state) return clearInterval(tick);
        overlayTitle.textContent = describeState(state).text;
      }, 250);
    }
  }

  async function restart() {
    overlayDetail.textContent = "Restarting…";
    try {
      await api.restart(id);
      connection.retryNow();
    } catch (err) {
      overlayDetail.textContent = `Could not restart: ${err.message}`;
    }
  }

  async function screenshot() {
    const stamp = new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19);
    const filename = `desktop-${id}-${stamp}.png`;
    const blob = await connection.toBlob("image/png");
    if (blob) download(blob, filename);
    else download(api.screenshotUrl(id, "png"), filename); // not connected: let the server take it
  }

  window.addEventListener("pagehide", () => connection.close());
  window.addEventListener("pageshow", (e) => e.persisted && connection.retryNow()); // back from the bfcache
  connection.start();
  return { connection, clipboard, toolbar, stage };
}
