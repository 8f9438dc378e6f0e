// The desktop list, {base}desktop/: status, size, profile, age; open / stop / restart / remove;
// "New desktop" with a profile; the server's recordings (download as a zip, delete). Polls every few seconds while the tab is visible and a person is there: after
// `idleAfter` without a pointer move, key or touch, polling pauses until they come back. Every request reaches
// the server through JupyterHub's proxy, which counts it as the user's activity: a forgotten list page must not
// keep a student's server from the idle culler.
//
// Embedded mode (options.embedded: JupyterLab's Desktops tab hosts this UI in its own DOM, no iframe): opening a
// desktop (its link, "Open", a new desktop) calls options.openViewer(id) instead of navigating the page, polling
// runs only while options.isVisible() says the tab is shown, and dispose() stops it and removes its listeners.

import { DesktopApi } from "./api.js";
import { h, icon } from "./dom.js";
import { pollWhilePresent } from "./poller.js";
import { recordingRow, rowModel, sortDesktops, windowSize } from "./format.js";
import { icons } from "./icons.js";
import { viewerUrl } from "./urls.js";

export const PROFILES = [
  ["openbox", "Openbox (light)"],
  ["xfce", "XFCE (full desktop)"],
  ["none", "No window manager"],
];

export const SIZES = [
  ["window", "Fit this window"],
  ["1024x768", "1024×768"],
  ["1280x800", "1280×800"],
  ["1920x1080", "1920×1080"],
];

/** The POST body for the "New desktop" form. */
export function createRequest(profile, size, win = { innerWidth: 1280, innerHeight: 840 }) {
  const body = {};
  if (profile) body.profile = profile;
  if (size === "window") Object.assign(body, windowSize(win.innerWidth, win.innerHeight));
  else if (/^\d+x\d+$/.test(size || "")) {
    const [width, height] = size.split("x").map(Number);
    Object.assign(body, { width, height });
  }
  return body;
}

/**
 * @param {HTMLElement} root
 * @param {object} config  {baseUrl, xsrfToken?}
 * @param {object} [o]
 * @param {object} [o.api]  DesktopApi (tests pass a fake)
 * @param {number} [o.pollInterval]  ms
 * @param {boolean} [o.embedded]  hosted in another page's DOM (JupyterLab): see the top of this file
 * @param {(id: string) => void} [o.openViewer]  embedded: open a desktop's viewer
 * @param {() => boolean} [o.isVisible]  whether the list is on screen (polls only then); the page's visibility by default
 * @param {number} [o.idleAfter]  ms without the person's input after which polling pauses
 */
export function mountList(
  root,
  config,
  {
    api = new DesktopApi(config.baseUrl, { xsrfToken: config.xsrfToken }),
    pollInterval = 3000,
    idleAfter = 5 * 60 * 1000,
    embedded = false,
    openViewer = null,
    isVisible = null,
  } = {},
) {
  root.classList.add("jd-app", "jd-list");
  root.classList.toggle("jd-embedded", embedded);
  root.textContent = "";
  const base = config.baseUrl;
  const visible = () => document.visibilityState !== "hidden" && (!isVisible || isVisible());
  const hosted = embedded && typeof openViewer === "function";
  /** Go to a desktop's viewer: the host's tab when embedded, else this page navigates. */
  const goViewer = (id) => (hosted ? openViewer(id) : (window.location.href = viewerUrl(base, id)));
  /** A link to a desktop's viewer; embedded, a plain click opens the host's tab (modified clicks: the page). */
  const viewerLink = (id, props, ...children) => {
    const a = h("a", { ...props, href: viewerUrl(base, id) }, ...children);
    if (hosted) {
      a.addEventListener("click", (e) => {
        if (e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        openViewer(id);
      });
    }
    return a;
  };

  const banner = h("div", { class: "jd-banner", role: "alert", hidden: true });
  const showError = (msg) => {
    banner.textContent = msg || "";
    banner.hidden = !msg;
  };

  const profile = h("select", { class: "jd-select", "aria-label": "Profile", name: "profile" }, PROFILES.map(([v, t]) => h("option", { value: v }, t)));
  const size = h("select", { class: "jd-select", "aria-label": "Size", name: "size" }, SIZES.map(([v, t]) => h("option", { value: v }, t)));
  const newButton = h("button", { type: "submit", class: "jd-button jd-primary jd-new" }, icon(icons.plus), h("span", { class: "jd-button-label" }, "New desktop"));
  const form = h("form", { class: "jd-new-form", onsubmit: (e) => (e.preventDefault(), create()) }, profile, size, newButton);

  const tbody = h("tbody");
  const table = h(
    "table",
    { class: "jd-table jd-desktops" },
    h("thead", {}, h("tr", {}, ["Desktop", "Status", "Profile", "Size", "Age", "Idle", ""].map((t) => h("th", { scope: "col" }, t)))),
    tbody,
  );
  const updated = h("div", { class: "jd-updated" });
  const recBody = h("tbody");
  const recTable = h(
    "table",
    { class: "jd-table jd-recordings" },
    h("thead", {}, h("tr", {}, ["Recording", "Desktop", "Started", "Length", "Steps", "Size", ""].map((t) => h("th", { scope: "col" }, t)))),
    recBody,
  );

  root.append(
    h("header", { class: "jd-list-header" }, h("h1", {}, icon(icons.monitor), "Desktops"), form),
    banner,
    h("div", { class: "jd-table-wrap" }, table),
    h("h2", {}, icon(icons.record), "Recordings"),
    h("div", { class: "jd-table-wrap" }, recTable),
    updated,
  );

  const busy = new Set(); // ids with a request in flight
  let desktops = [];
  let recordings = [];
  let inFlight = null;

  async function create() {
    newButton.disabled = true;
    newButton.querySelector(".jd-button-label").textContent = "Starting…";
    showError("");
    try {
      const d = await api.create(createRequest(profile.value, size.value, hosted ? stageSize() : window));
      goViewer(d.id);
      if (hosted) {
        resetNewButton();
        refresh();
      }
    } catch (err) {
      showError(`Could not start a desktop: ${err.message}`);
      resetNewButton();
    }
  }

  function resetNewButton() {
    newButton.disabled = false;
    newButton.querySelector(".jd-button-label").textContent = "New desktop";
  }

  /** Embedded, "Fit this window" means the host's tab (this list's own box, where the viewer tab will be). */
  function stageSize() {
    const r = root.getBoundingClientRect();
    return r.width > 0 && r.height > 0 ? { innerWidth: r.width, innerHeight: r.height } : window;
  }

  async function act(id, what) {
    if (what === "stop" && !window.confirm(`Stop desktop ${id}? Its programs are closed and unsaved work is lost.`)) return;
    busy.add(id);
    render();
    try {
      if (what === "restart") await api.restart(id);
      else await api.remove(id);
      showError("");
    } catch (err) {
      showError(`Could not ${what} desktop ${id}: ${err.message}`);
    } finally {
      busy.delete(id);
      refresh();
    }
  }

  function actionCell(row) {
    const out = [];
    for (const a of row.actions) {
      const disabled = busy.has(row.id);
      if (a === "open") out.push(viewerLink(row.id, { class: "jd-button jd-primary" }, "Open"));
      if (a === "stop") out.push(h("button", { type: "button", class: "jd-button jd-danger", disabled, onclick: () => act(row.id, "stop") }, "Stop"));
      if (a === "restart") out.push(h("button", { type: "button", class: "jd-button", disabled, onclick: () => act(row.id, "restart") }, "Restart"));
      if (a === "remove") out.push(h("button", { type: "button", class: "jd-button", disabled, onclick: () => act(row.id, "remove") }, "Remove"));
    }
    return h("td", { class: "jd-actions" }, out);
  }

  function render() {
    const now = Date.now();
    tbody.textContent = "";
    if (!desktops.length) {
      tbody.append(h("tr", { class: "jd-empty" }, h("td", { colspan: 7 }, "No desktops yet. Start one with “New desktop”.")));
      return;
    }
    for (const d of sortDesktops(desktops)) {
      const row = rowModel(d, now);
      const open = row.actions.includes("open");
      tbody.append(
        h(
          "tr",
          { dataset: { id: row.id, status: row.status } },
          h("td", { class: "jd-id" }, open ? viewerLink(row.id, {}, row.id) : row.id),
          h(
            "td",
            {},
            h("span", { class: "jd-badge", dataset: { tone: row.tone }, title: row.error || row.status }, row.status),
            row.error ? h("div", { class: "jd-error-text" }, row.error) : null,
          ),
          h("td", {}, row.profile),
          h("td", {}, row.size),
          h("td", { title: Number.isFinite(row.created) ? new Date(row.created).toLocaleString() : "" }, row.age),
          h("td", {}, row.idle),
          actionCell(row),
        ),
      );
    }
  }

  async function removeRecording(name) {
    if (!window.confirm(`Delete recording ${name}? Its steps, screenshots and video are removed.`)) return;
    busy.add(`rec:${name}`);
    renderRecordings();
    try {
      await api.removeRecording(name);
      showError("");
    } catch (err) {
      showError(`Could not delete recording ${name}: ${err.message}`);
    } finally {
      busy.delete(`rec:${name}`);
      refresh();
    }
  }

  function renderRecordings() {
    const now = Date.now();
    recBody.textContent = "";
    if (!recordings.length) {
      recBody.append(h("tr", { class: "jd-empty" }, h("td", { colspan: 7 }, "No recordings yet. Record from a desktop's toolbar (the red dot), or with Desktop.record() in a notebook.")));
      return;
    }
    for (const r of recordings) {
      const row = recordingRow(r, now);
      const actions = [];
      if (row.recording) actions.push(h("span", { class: "jd-badge", dataset: { tone: "error" } }, "recording"));
      else if (row.name) {
        const disabled = busy.has(`rec:${row.name}`);
        actions.push(
          h("a", { class: "jd-button", href: api.recordingDownloadUrl(row.name), download: `${row.name}.zip` }, icon(icons.download), h("span", { class: "jd-button-label" }, "Download")),
          h("button", { type: "button", class: "jd-button jd-danger", disabled, onclick: () => removeRecording(row.name) }, "Delete"),
        );
      }
      recBody.append(
        h(
          "tr",
          { dataset: { recording: row.name || row.path, live: String(row.recording) } },
          h("td", { class: "jd-id", title: row.path }, row.name || row.path),
          h("td", {}, row.desktop),
          h("td", {}, row.started),
          h("td", {}, row.length),
          h("td", {}, row.steps),
          h("td", {}, row.size),
          h("td", { class: "jd-actions" }, actions),
        ),
      );
    }
  }

  async function refresh() {
    if (inFlight) return inFlight;
    inFlight = (async () => {
      try {
        const [list, recs] = await Promise.all([api.list(), api.recordings ? api.recordings().catch(() => recordings) : []]);
        recordings = Array.isArray(recs) ? recs : [];
        renderRecordings();
        desktops = Array.isArray(list) ? list : [];
        updated.textContent = `Updated ${new Date().toLocaleTimeString()}`;
        if (!banner.textContent.startsWith("Could not")) showError("");
        render();
      } catch (err) {
        showError(`Cannot list desktops: ${err.message}`);
      } finally {
        inFlight = null;
      }
    })();
    return inFlight;
  }

  render();
  renderRecordings();
  refresh();
  const poller = pollWhilePresent({
    poll: refresh,
    interval: pollInterval,
    idleAfter,
    visible,
    onPause: () => {
      updated.textContent = `${updated.textContent ? `${updated.textContent}. ` : ""}Paused while you are away: move the pointer to update.`;
    },
  });
  /** Stop polling for good and remove the listeners (the page or the Lab tab goes). */
  const stop = () => poller.stop();
  return { refresh, stop, dispose: stop };
}
