// The full-page viewer, {base}desktop/<id>/: toolbar, the desktop filling the window, clipboard panel,
// and an overlay saying what is going on whenever the desktop is not connected.
//
// Embedded mode (options.embedded: JupyterLab's Desktop tab hosts this UI in its own DOM, no iframe): the viewer
// fills its root instead of the window, leaves document.title, window.location and the URL query alone, keeps
// JupyterLab's shortcuts out of the screen (data-lm-suppress-shortcuts), and "Desktops" calls options.openList
// instead of following the link. dispose() closes the connection and removes every listener it added.

import { DesktopApi } from "./api.js";
import { createClipboardPanel } from "./clipboard.js";
import { DesktopConnection, SCALE_MODES } from "./connection.js";
import { download, h, icon, showLastFrame } from "./dom.js";
import { formatProfile } from "./format.js";
import { createGate } from "./gate.js";
import { icons } from "./icons.js";
import { pollWhilePresent } from "./poller.js";
import { createTabs } from "./tabs.js";
import { createButton, createRecordButton, createSelect, createStatus, createToolbar, describeState } from "./toolbar.js";
import { createUploader, restUploads } from "./upload.js";
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

/**
 * @param {HTMLElement} root
 * @param {object} config  {baseUrl, desktopId, wsUrl?, xsrfToken?}
 * @param {object} o
 * @param {Function} o.RFB         noVNC's RFB class
 * @param {object} [o.api]         DesktopApi (tests pass a fake)
 * @param {boolean} [o.embedded]   hosted in another page's DOM (JupyterLab): see the top of this file
 * @param {() => void} [o.openList]  embedded: what "Desktops" / "All desktops" do
 */
const PORTS_INTERVAL = 5000; // ms between looks at the desktop's exposed ports

export function mountViewer(root, config, { RFB, WebSocket, api = new DesktopApi(config.baseUrl, { xsrfToken: config.xsrfToken }), embedded = false, openList = null }) {
  const id = config.desktopId;
  const prefs = viewerPrefs(embedded ? "" : window.location.search, loadSaved());
  const baseTitle = document.title || `Desktop ${id}`;
  root.classList.add("jd-app", "jd-viewer");
  root.classList.toggle("jd-embedded", embedded);
  root.textContent = "";
  const cleanups = [];
  const listen = (target, type, fn) => {
    target.addEventListener(type, fn);
    cleanups.push(() => target.removeEventListener(type, fn));
  };
  /** A link to the list page; embedded, a click opens the host's list instead (a plain link still works). */
  const listLink = (props, ...children) => {
    const a = h("a", { ...props, href: listUrl(config.baseUrl) }, ...children);
    if (embedded && openList) {
      a.addEventListener("click", (e) => {
        if (e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return; // new tab/window: the page
        e.preventDefault();
        openList();
      });
    }
    return a;
  };

  // ---- the stage: noVNC's target, the last picture (while reconnecting), the overlay, the clipboard panel
  // data-lm-suppress-shortcuts: JupyterLab's shortcuts stay out of the desktop when embedded (harmless elsewhere).
  const screen = h("div", { class: "jd-screen", "data-lm-suppress-shortcuts": "true" });
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
  const back = listLink({ class: "jd-button jd-back", title: "All desktops" }, icon(icons.back), h("span", { class: "jd-button-label" }, "Desktops"));

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

  // a toast over the top of the screen: in the toolbar, a note could wrap it to a second row, which shrinks the
  // stage and so resizes the desktop (a new video segment in a recording)
  const note = h("div", { class: "jd-note jd-toast", role: "status", "aria-live": "polite", hidden: true });
  let noteTimer = null;
  const say = (text, tone = "") => {
    note.textContent = text;
    note.dataset.tone = tone;
    note.hidden = !text;
    clearTimeout(noteTimer);
    noteTimer = setTimeout(() => (note.hidden = true), tone === "error" ? 10000 : 5000);
  };
  cleanups.push(() => clearTimeout(noteTimer));
  const record = createRecordButton({ api, id, say, icon: icons.record });
  // a person in the loop: the agent's approvals as cards over the screen, take over / hand back
  const gate = createGate({ api, id, stage, canvas: () => screen.querySelector("canvas"), say });
  cleanups.push(() => gate.dispose());

  const toolbar = createToolbar(
    [back, h("span", { class: "jd-heading" }, name, info), status.el, gate.badge],
    [clipButton, viewOnlyButton, scaleSelect, gate.takeOver, record.el, shotButton, fullButton],
  );
  stage.append(note);
  // the desktop's exposed ports as tabs beside it (Desktop.expose): the desktop's record says which, asked again
  // every few seconds while a person is here
  const tabs = createTabs({ api, baseUrl: config.baseUrl, stage, onDesktop: () => connection.focus() });
  cleanups.push(() => tabs.dispose());
  const showPorts = (d) => d && Array.isArray(d.ports) && tabs.update(d.ports);
  const ports = pollWhilePresent({
    poll: () => (connection.state.phase === "connected" ? api.get(id).then(showPorts, () => {}) : null), // else it says
    interval: PORTS_INTERVAL,
    idleAfter: config.idleAfter || 15 * 60 * 1000,
  });
  cleanups.push(() => ports.stop());
  root.append(toolbar, tabs.el, stage);
  root.classList.toggle("jd-view-only", prefs.viewOnly);

  // ---- the connection
  connection = new DesktopConnection({
    target: screen,
    url: wsUrl(config.baseUrl, config.wsUrl, window.location.href),
    RFB,
    checkStatus: () => api.get(id),
    heartbeat: () => api.activity(id), // a person watching it change is using it (idle timeout, JupyterHub)
    WebSocket, // tests pass a fake; the page's own by default
    // a forgotten tab lets go (its traffic would count as use for JupyterHub); Lab keeps its own connections
    pauseWhenHidden: embedded ? 0 : config.idleAfter || 0,
    viewOnly: prefs.viewOnly,
    scaleMode: prefs.scaleMode,
  });

  connection.addEventListener("state", (e) => {
    const state = e.detail;
    status.update(state);
    root.dataset.state = state.phase;
    const d = describeState(state);
    if (!embedded) document.title = state.phase === "connected" ? baseTitle : `${baseTitle} (${d.text})`;
    showOverlay(state);
    if (state.phase === "connected") {
      connection.focus();
      record.sync(); // a recording started elsewhere (a kernel, another page) shows here
      gate.start();
    } else if (state.phase === "stopped") {
      gate.stop();
    }
  });
  connection.addEventListener("desktop", (e) => {
    const d = e.detail || {};
    showPorts(d);
    info.textContent = d.profile ? formatProfile(d.profile) : "";
  });
  connection.addEventListener("desktopname", (e) => {
    if (e.detail.name) name.title = e.detail.name;
  });
  connection.addEventListener("clipboard", (e) => clipboard.remoteText(e.detail.text));
  connection.addEventListener("frame", (e) => showLastFrame(lastFrame, e.detail));

  // Keyboard focus goes to the desktop when its area is clicked (noVNC also focuses its canvas on mousedown).
  screen.addEventListener("mousedown", () => connection.focus());
  // Files dropped on the screen go to the desktop's ~/Desktop (PUT .../files).
  const uploads = restUploads(api, id);
  const uploader = createUploader({ target: stage, say, viewOnly: () => connection.viewOnly, unavailable: tabs.refusal, upload: uploads.upload, prepare: uploads.prepare });
  cleanups.push(() => uploader.dispose());

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
      if (state.reason === "closed" || state.reason === "paused") actions.push(actionButton("Reconnect", () => connection.retryNow(), true));
      if (state.reason === "unauthorized") {
        // Embedded, reloading would reload JupyterLab: retry instead (after logging in again in another tab).
        if (embedded) actions.push(actionButton("Retry", () => connection.retryNow(), true));
        else actions.push(actionButton("Reload page", () => window.location.reload(), true));
      }
      actions.push(listLink({ class: "jd-button" }, "All desktops"));
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

  listen(window, "resize", () => gate.redraw());
  listen(window, "pagehide", () => connection.close());
  listen(window, "pageshow", (e) => e.persisted && connection.retryNow()); // back from the bfcache
  connection.start();
  let disposed = false;
  /** Close the connection for good and remove the listeners (the Lab tab closed). */
  function dispose() {
    if (disposed) return;
    disposed = true;
    connection.close();
    cleanups.splice(0).forEach((fn) => fn());
    if (document.fullscreenElement === root) document.exitFullscreen().catch(() => {});
  }
  return { connection, clipboard, toolbar, stage, focus: () => connection.focus(), dispose };
}
