// The class page's grid (the JupyterHub service jupyter_desktop.classroom, {prefix} = /services/classroom/): every
// desktop the viewer may watch, live and small, side by side, each labelled with its owner. View-only by default;
// a click enlarges one (Escape or "Back to the class" shrinks it); "Take over" (only where the hub's scopes allow
// it: the service says so per desktop, and enforces it) reconnects that desktop with input. The list is polled
// while the page is shown and someone is there (as the desktop list does: each poll reaches the students' servers
// through JupyterHub's proxy, which counts it as their activity); a page hidden for `idleAfter` lets go of its
// desktops until it is shown again. A student sees their own desktops here, and can share a view of them.
//
// createTile() is the one tile (also the notebook widget's grid: Desktop.grid([...])).

import { ApiError, DesktopApi } from "./api.js";
import { DesktopConnection } from "./connection.js";
import { h, icon, showLastFrame } from "./dom.js";
import { icons } from "./icons.js";
import { pollWhilePresent } from "./poller.js";
import { createStatus } from "./toolbar.js";
import { join, wsUrl } from "./urls.js";
import "./grid.css";

/** The key of a desktop in the list: owner, server, id. */
export const tileKey = (d) => `${d.owner || ""}/${d.server || ""}/${d.id}`;

/** Sorted for the grid: by owner, then by when the desktop started. */
export function sortTiles(desktops) {
  return [...desktops].sort(
    (a, b) => String(a.owner || "").localeCompare(String(b.owner || "")) || String(a.created || "").localeCompare(String(b.created || "")) || String(a.id).localeCompare(String(b.id)),
  );
}

/**
 * One desktop, small, live. The tile's element carries data-owner, data-id, data-state (the connection's phase)
 * and data-mode ("view" or "control").
 * @param {object} o
 * @param {string} o.label        the big name (a student; a desktop's id in a notebook's grid)
 * @param {string} [o.detail]     the small print (id, size)
 * @param {(control: boolean) => string | object} o.url  the stream: a ws URL (or a channel) for view or control
 * @param {Function} o.RFB
 * @param {boolean} [o.canControl]  whether "Take over" is offered
 * @param {() => void} [o.onZoom]   the tile was clicked (the grid enlarges it)
 * @param {() => void} [o.onUnzoom] "Back" was clicked
 * @param {string} [o.backLabel]    the "Back" button's text ("Back to the class")
 * @param {number} [o.pauseWhenHidden]  see DesktopConnection
 * @param {() => Promise<object>} [o.checkStatus]  see DesktopConnection (ends the retries once the desktop is gone)
 * @param {() => Promise<unknown>} [o.heartbeat]    see DesktopConnection
 * @param {object} [o.dataset]    more data-* on the element
 * @param {typeof WebSocket} [o.WebSocket]
 */
export function createTile(o) {
  const screen = h("div", { class: "jd-screen jd-tile-screen" });
  const lastFrame = h("img", { class: "jd-last-frame", alt: "", hidden: true });
  const note = h("div", { class: "jd-tile-note" });
  const stage = h("div", { class: "jd-stage jd-tile-stage" }, screen, lastFrame, note);
  const status = createStatus();
  const mode = h("span", { class: "jd-tile-mode" }, "View only");
  const takeOver = h("button", { type: "button", class: "jd-button jd-tile-control", hidden: !o.canControl, "aria-pressed": "false" }, "Take over");
  const back = h("button", { type: "button", class: "jd-button jd-tile-back" }, icon(icons.back), o.backLabel || "Back to the class");
  const label = h("span", { class: "jd-tile-label" }, o.label);
  const detail = h("span", { class: "jd-tile-detail" }, o.detail || "");
  const caption = h("figcaption", { class: "jd-tile-caption" }, back, h("span", { class: "jd-tile-names" }, label, detail), status.el, mode, takeOver);
  const el = h("figure", { class: "jd-tile jd-view-only", tabindex: "0", dataset: { mode: "view", state: "idle", ...(o.dataset || {}) } }, stage, caption);

  let controlling = false;
  let canControl = !!o.canControl;
  const connection = new DesktopConnection({
    target: screen,
    url: () => o.url(controlling),
    RFB: o.RFB,
    viewOnly: true,
    scaleMode: "scale",
    pauseWhenHidden: o.pauseWhenHidden || 0,
    checkStatus: o.checkStatus,
    heartbeat: o.heartbeat,
    WebSocket: o.WebSocket,
    backoff: { initial: 1000, max: 15000 },
  });
  connection.addEventListener("state", (e) => {
    status.update(e.detail);
    el.dataset.state = e.detail.phase;
  });
  connection.addEventListener("frame", (e) => showLastFrame(lastFrame, e.detail));

  function setControl(on) {
    on = !!on && canControl;
    if (on === controlling) return;
    controlling = on;
    el.dataset.mode = on ? "control" : "view";
    el.classList.toggle("jd-view-only", !on);
    mode.textContent = on ? "You have control" : "View only";
    takeOver.setAttribute("aria-pressed", String(on));
    takeOver.textContent = on ? "Give back control" : "Take over";
    // a new stream: the service decides what a seat may send when it opens
    connection.close();
    connection.setViewOnly(!on);
    connection.retryNow();
    if (on) connection.focus();
  }

  takeOver.addEventListener("click", (e) => {
    e.stopPropagation();
    setControl(!controlling);
  });
  back.addEventListener("click", (e) => {
    e.stopPropagation();
    if (o.onUnzoom) o.onUnzoom();
  });
  // on press, and in the capture phase: noVNC stops the mouse events on its canvas, and its pointer capture (an
  // element over the page) takes the release, so no click ever reaches the tile
  el.addEventListener(
    "mousedown",
    (e) => {
      if (takeOver.contains(e.target) || back.contains(e.target)) return;
      // keys typed next belong to the tile (not to the page: in a notebook, command-mode shortcuts)
      if (!controlling) el.focus({ preventScroll: true });
      if (el.classList.contains("jd-tile-zoomed") || !o.onZoom || e.button !== 0) return;
      e.stopPropagation();
      e.preventDefault();
      o.onZoom();
    },
    true,
  );
  el.addEventListener("keydown", (e) => {
    if (e.target !== el) return; // keys inside the screen are the desktop's
    if ((e.key === "Enter" || e.key === " ") && !el.classList.contains("jd-tile-zoomed") && o.onZoom) {
      e.preventDefault();
      o.onZoom();
    }
  });

  return {
    el,
    connection,
    get controlling() {
      return controlling;
    },
    setControl,
    /** The list changed what this viewer may do, or the desktop's state. */
    update({ detail: text, canControl: may, note: message } = {}) {
      if (text !== undefined) detail.textContent = text;
      if (may !== undefined) {
        canControl = !!may;
        takeOver.hidden = !canControl;
        if (!canControl && controlling) setControl(false);
      }
      if (message !== undefined) {
        note.textContent = message || "";
        note.hidden = !message;
      }
    },
    start() {
      connection.start();
    },
    dispose() {
      connection.close();
      el.remove();
    },
  };
}

/**
 * One tile of `root`'s grid enlarged at a time: the others step aside (CSS), and going back makes it view-only.
 * @param {HTMLElement} root  the grid's root (.jd-grid)
 */
export function createZoom(root) {
  let current = null;
  const zoom = {
    /** The enlarged tile (createTile's), or null. */
    get current() {
      return current;
    },
    zoom(tile) {
      if (current && current !== tile) zoom.unzoom();
      current = tile;
      tile.el.classList.add("jd-tile-zoomed");
      root.classList.add("jd-grid-zoomed");
    },
    unzoom() {
      const tile = current;
      current = null;
      root.classList.remove("jd-grid-zoomed");
      if (!tile) return;
      tile.el.classList.remove("jd-tile-zoomed");
      tile.setControl(false); // back in the grid: view-only again
      tile.el.focus({ preventScroll: true });
    },
    /** Escape: back to the grid, unless the enlarged tile has control (then Escape is the desktop's). */
    onKey(e) {
      if (e.key === "Escape" && current && !current.controlling) zoom.unzoom();
    },
  };
  return zoom;
}

/** The class page's REST client (the service's routes, XSRF token on every request as the hub requires). */
export class ClassroomApi extends DesktopApi {
  list() {
    return this.request("GET", "api/desktops");
  }
  share(user) {
    return this.request("POST", "api/shares", { user });
  }
  unshare(user) {
    return this.request("DELETE", `api/shares/${encodeURIComponent(user)}`);
  }
}

/**
 * The class page.
 * @param {HTMLElement} root
 * @param {object} config  {baseUrl (the service's prefix), xsrfToken?, viewer?, idleAfter? (ms)}
 * @param {object} o
 * @param {Function} o.RFB
 * @param {object} [o.api]  ClassroomApi (tests pass a fake)
 * @param {number} [o.pollInterval]
 * @param {typeof WebSocket} [o.WebSocket]
 */
export function mountGrid(root, config, { RFB, api = new ClassroomApi(config.baseUrl, { xsrfToken: config.xsrfToken }), pollInterval = 5000, WebSocket } = {}) {
  const idleAfter = config.idleAfter > 0 ? config.idleAfter : 5 * 60 * 1000;
  root.classList.add("jd-app", "jd-grid");
  root.textContent = "";
  const count = h("span", { class: "jd-grid-count" });
  const updated = h("span", { class: "jd-updated" });
  const banner = h("div", { class: "jd-banner", role: "alert", hidden: true });
  const problems = h("ul", { class: "jd-grid-problems", hidden: true });
  const empty = h("p", { class: "jd-grid-empty", hidden: true }, "No desktops to show yet: they appear here as soon as they start.");
  const tilesEl = h("div", { class: "jd-grid-tiles" });

  // sharing a view of one's own desktops (a JupyterHub share, view-only)
  const shareInput = h("input", { class: "jd-input", name: "share-with", placeholder: "user name", "aria-label": "Share a view with", autocomplete: "off" });
  const shareList = h("span", { class: "jd-share-list" });
  const shareForm = h(
    "form",
    { class: "jd-share", hidden: true, onsubmit: (e) => (e.preventDefault(), share()) },
    h("span", {}, "Let someone watch your desktops (view only):"),
    shareInput,
    h("button", { type: "submit", class: "jd-button jd-primary" }, "Share"),
    shareList,
  );

  root.append(
    h("header", { class: "jd-grid-header" }, h("h1", {}, icon(icons.monitor), "Class desktops"), count, updated),
    banner,
    shareForm,
    problems,
    empty,
    tilesEl,
  );

  const showError = (msg) => {
    banner.textContent = msg || "";
    banner.hidden = !msg;
  };

  /** @type {Map<string, {tile: ReturnType<typeof createTile>, desktop: object}>} */
  const tiles = new Map();
  const zoomer = createZoom(root);
  const zoom = (key) => tiles.has(key) && zoomer.zoom(tiles.get(key).tile);
  const unzoom = () => zoomer.unzoom();

  const sizeText = (d) => [d.id, d.width && d.height ? `${d.width}×${d.height}` : ""].filter(Boolean).join(" · ");
  /** A desktop's stream at the service: view-only, or with input (`control=1`, refused without the scope). */
  const streamUrl = (d, control) => wsUrl(config.baseUrl, control ? `${d.vnc}${d.vnc.includes("?") ? "&" : "?"}control=1` : d.vnc, window.location.href);

  function render(list) {
    const desktops = sortTiles((list || []).filter((d) => d && d.id && d.vnc));
    const keep = new Set();
    for (const d of desktops) {
      const key = tileKey(d);
      keep.add(key);
      const running = d.status === "running";
      let entry = tiles.get(key);
      if (!entry) {
        const tile = createTile({
          label: d.owner || d.id,
          detail: sizeText(d),
          url: (control) => streamUrl(d, control),
          RFB,
          canControl: !!d.control,
          onZoom: () => zoom(key),
          onUnzoom: unzoom,
          pauseWhenHidden: idleAfter,
          dataset: { owner: d.owner || "", server: d.server || "", id: d.id },
          WebSocket,
        });
        entry = { tile, desktop: d, started: false };
        tiles.set(key, entry);
      }
      entry.desktop = d;
      entry.tile.update({ detail: sizeText(d), canControl: !!d.control, note: running ? "" : `Desktop ${d.status || "not running"}` });
      if (running && !entry.started) {
        entry.started = true;
        entry.tile.start();
      }
      tilesEl.append(entry.tile.el); // in order (moves an existing element)
    }
    for (const [key, entry] of tiles) {
      if (keep.has(key)) continue;
      if (zoomer.current === entry.tile) unzoom();
      entry.tile.dispose();
      tiles.delete(key);
    }
    const owners = new Set(desktops.map((d) => d.owner));
    count.textContent = `${desktops.length} desktop${desktops.length === 1 ? "" : "s"} of ${owners.size} ${owners.size === 1 ? "person" : "people"}`;
    empty.hidden = desktops.length > 0;
  }

  function renderProblems(list) {
    problems.textContent = "";
    for (const p of list || []) problems.append(h("li", {}, h("strong", {}, p.owner || ""), `: ${p.message}`));
    problems.hidden = !(list && list.length);
  }

  function renderSharing(sharing) {
    shareForm.hidden = !(sharing && sharing.can_share);
    shareList.textContent = "";
    const names = (sharing && sharing.shared_with) || [];
    if (names.length) shareList.append("Shared with ");
    for (const name of names) {
      shareList.append(
        h(
          "span",
          { class: "jd-share-item", dataset: { user: name } },
          name,
          h("button", { type: "button", class: "jd-icon-button", title: `Stop sharing with ${name}`, "aria-label": `Stop sharing with ${name}`, onclick: () => unshare(name) }, icon(icons.close)),
        ),
      );
    }
  }

  async function share() {
    const name = shareInput.value.trim();
    if (!name) return;
    try {
      const r = await api.share(name);
      shareInput.value = "";
      showError("");
      renderSharing({ can_share: true, shared_with: r.shared_with });
    } catch (err) {
      showError(`Could not share with ${name}: ${err.message}`);
    }
  }
  async function unshare(name) {
    try {
      const r = await api.unshare(name);
      showError("");
      renderSharing({ can_share: true, shared_with: r.shared_with });
    } catch (err) {
      showError(`Could not stop sharing with ${name}: ${err.message}`);
    }
  }

  let inFlight = null;

  function refresh() {
    if (inFlight) return inFlight;
    inFlight = (async () => {
      try {
        const data = await api.list();
        render(data.desktops);
        renderProblems(data.problems);
        renderSharing(data.sharing);
        showError("");
        updated.textContent = `Updated ${new Date().toLocaleTimeString()}`;
      } catch (err) {
        const why = err instanceof ApiError && err.status === 403 ? "your login to the class page ended: reload the page" : err.message;
        showError(`Cannot list the desktops: ${why}`);
      } finally {
        inFlight = null;
      }
    })();
    return inFlight;
  }

  const onKey = zoomer.onKey;
  document.addEventListener("keydown", onKey);
  const onPageHide = () => tiles.forEach((entry) => entry.tile.connection.close());
  window.addEventListener("pagehide", onPageHide);
  refresh();
  const poller = pollWhilePresent({
    poll: refresh,
    interval: pollInterval,
    idleAfter,
    onPause: () => {
      updated.textContent = `${updated.textContent ? `${updated.textContent}. ` : ""}Not updating the list while you are away: move the pointer to update.`;
    },
  });

  function dispose() {
    poller.stop();
    document.removeEventListener("keydown", onKey);
    window.removeEventListener("pagehide", onPageHide);
    for (const entry of tiles.values()) entry.tile.dispose();
    tiles.clear();
  }
  return { refresh, tiles, zoom, unzoom, dispose, url: (path) => join(config.baseUrl, path) };
}
