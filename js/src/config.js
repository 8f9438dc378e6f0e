// The page configuration the server embeds in its HTML shells:
// <script id="jupyter-desktop-config" type="application/json">{"baseUrl": ..., "page": ..., ...}</script>

import { normalizeBase, paths } from "./urls.js";

export const CONFIG_ID = "jupyter-desktop-config";

/** Validate and complete a config object (baseUrl normalised, wsUrl derived from desktopId if absent). */
export function normalizeConfig(raw) {
  const cfg = raw && typeof raw === "object" ? { ...raw } : {};
  cfg.baseUrl = normalizeBase(cfg.baseUrl);
  if (cfg.page !== "viewer" && cfg.page !== "list" && cfg.page !== "grid") cfg.page = cfg.desktopId ? "viewer" : "list";
  if (cfg.page === "viewer" && cfg.desktopId && !cfg.wsUrl) cfg.wsUrl = paths.vnc(cfg.desktopId);
  return cfg;
}

/**
 * Fallback when a page has no config element: derive it from the path,
 * `{base}desktop/` (list) or `{base}desktop/<id>/` (viewer).
 */
export function configFromPath(pathname) {
  let m = /^(.*\/)desktop\/([^/]+)\/?$/.exec(pathname);
  if (m && m[2] !== "api" && m[2] !== "static") {
    return normalizeConfig({ baseUrl: m[1], page: "viewer", desktopId: decodeURIComponent(m[2]) });
  }
  m = /^(.*\/)desktop\/?$/.exec(pathname);
  if (m) return normalizeConfig({ baseUrl: m[1], page: "list" });
  return normalizeConfig({ baseUrl: "/", page: "list" });
}

/** Read the page config from the document (ours first, JupyterLab's base URL second, the path last). */
export function readConfig(doc = document, loc = window.location) {
  const el = doc.getElementById(CONFIG_ID);
  if (el && el.textContent.trim()) {
    try {
      return normalizeConfig(JSON.parse(el.textContent));
    } catch (err) {
      console.error("jupyter_desktop: invalid page config", err);
    }
  }
  const fromPath = configFromPath(loc.pathname);
  const lab = doc.getElementById("jupyter-config-data");
  if (lab) {
    try {
      const base = JSON.parse(lab.textContent).baseUrl;
      if (base) fromPath.baseUrl = normalizeBase(base);
    } catch {
      /* ignore */
    }
  }
  return fromPath;
}
