// Entry point of static/viewer.js, a classic script (esbuild IIFE) that defines one global, `jupyterDesktop`.
//
// - The server's HTML shells for {base}desktop/ (page "list") and {base}desktop/<id>/ (page "viewer") load it with
//   <script defer>: it finds their config element and mounts the page.
// - The class page of the JupyterHub service jupyter_desktop.classroom (page "grid") loads it the same way.
// - JupyterLab's Desktop and Desktops tabs (labextension/src/index.ts) load it with a <script> element and call
//   jupyterDesktop.mountViewer(node, config) / mountList(node, config) to host the UI in Lab's own DOM (embedded
//   mode): no iframe, which JupyterHub's `Content-Security-Policy: frame-ancestors 'none'` would refuse.
//
// Classic, not a module: a module script is fetched in CORS mode, and a JupyterHub single-user server refuses
// cookie-authenticated CORS-mode requests that carry no XSRF token (it redirects to the hub's OAuth, which
// redirects back: a loop). Classic scripts and stylesheets are same-origin no-cors GETs, which it lets through.

import RFB from "@novnc/novnc";
import "./style.css";
import { CONFIG_ID, normalizeConfig, readConfig } from "./config.js";
import { h } from "./dom.js";
import { mountGrid as mountGridPage } from "./grid.js";
import { mountList as mountListPage } from "./list-page.js";
import { mountViewer as mountViewerPage } from "./viewer-page.js";

/** Bumped when mountViewer / mountList change incompatibly (the labextension checks it). */
export const API_VERSION = 1;

/**
 * Host a desktop's viewer in `root` (another page's element, e.g. a JupyterLab tab's node).
 * @param {HTMLElement} root
 * @param {object} config  {baseUrl, desktopId, wsUrl?, xsrfToken?, embedded = true, openList?: () => void}
 * @returns {{connection, focus: () => void, dispose: () => void}}
 */
export function mountViewer(root, config) {
  const { embedded = true, openList = null, ...rest } = config || {};
  const cfg = normalizeConfig({ ...rest, page: "viewer" });
  if (!cfg.desktopId) throw new Error("jupyterDesktop.mountViewer: config.desktopId is required");
  return mountViewerPage(root, cfg, { RFB, embedded, openList });
}

/**
 * Host the list of desktops in `root`.
 * @param {HTMLElement} root
 * @param {object} config  {baseUrl, xsrfToken?, embedded = true, openViewer?: (id) => void, isVisible?: () => boolean,
 *                          pollInterval?}
 * @returns {{refresh: () => Promise<void>, dispose: () => void}}
 */
export function mountList(root, config) {
  const { embedded = true, openViewer = null, isVisible = null, pollInterval, ...rest } = config || {};
  const cfg = normalizeConfig({ ...rest, page: "list" });
  return mountListPage(root, cfg, { embedded, openViewer, isVisible, ...(pollInterval ? { pollInterval } : {}) });
}

/**
 * Host the class page's grid in `root`: the desktops the viewer may watch, live (jupyter_desktop.classroom).
 * @param {HTMLElement} root
 * @param {object} config  {baseUrl (the service's prefix), xsrfToken?, idleAfter?, pollInterval?}
 * @returns {{refresh: () => Promise<void>, zoom: (key) => void, unzoom: () => void, dispose: () => void}}
 */
export function mountGrid(root, config) {
  const { pollInterval, ...rest } = config || {};
  const cfg = normalizeConfig({ ...rest, page: "grid" });
  return mountGridPage(root, cfg, { RFB, ...(pollInterval ? { pollInterval } : {}) });
}

/** The server's pages: read the config the page embeds, mount the page it names. */
export function mountPage(doc = document, loc = window.location) {
  const config = readConfig(doc, loc);
  let root = doc.getElementById("jupyter-desktop");
  if (!root) root = doc.body.appendChild(h("div", { id: "jupyter-desktop" }));
  doc.documentElement.classList.add("jd-page");
  if (config.page === "viewer" && config.desktopId) return mountViewerPage(root, config, { RFB });
  if (config.page === "grid") return mountGridPage(root, config, { RFB });
  return mountListPage(root, config, config.idleAfter > 0 ? { idleAfter: config.idleAfter } : {});
}

// Only the server's pages carry the config element; a host page (JupyterLab) mounts explicitly.
if (typeof document !== "undefined" && document.getElementById(CONFIG_ID)) mountPage();
