// The notebook's grid widget (Desktop.grid([d1, d2, d3]), jupyter_desktop/widget.py's DesktopGrid): several desktops
// of one kernel live side by side, as the class page shows a class (grid.js's tiles). Each tile is one desktop's
// own view model (a DesktopView, the trait `views`), so it reaches its desktop exactly as that desktop's widget
// does (the Jupyter server's WebSocket, or the kernel's comm tunnel: transport.js). View-only by default (agents
// are driving); a click enlarges a tile, "Take over" gives this page's mouse and keyboard to that desktop.

import { DesktopApi } from "./api.js";
import { h } from "./dom.js";
import { createTile, createZoom } from "./grid.js";
import { jupyterPage, Transport } from "./transport.js";
import { tokenFetch } from "./widget-view.js";

/** A child widget's model id from the serialized reference ("IPY_MODEL_<id>"). */
export const modelId = (ref) => String(ref).replace(/^IPY_MODEL_/, "");

const sizeText = (m) => `${m.get("screen_width")}×${m.get("screen_height")}`;

/**
 * @param {object} o
 * @param {object} o.model   the DesktopGrid's model (`views`: references to DesktopView models)
 * @param {HTMLElement} o.el
 * @param {Function} o.RFB
 * @param {typeof WebSocket} [o.WebSocket]
 * @param {object} [o.tunnel]   CommChannel options
 * @returns {Promise<() => void>} the cleanup
 */
export async function renderDesktopGrid({ model, el, RFB, WebSocket, tunnel, doc = document, win = window }) {
  const page = jupyterPage(doc);
  const api = page ? new DesktopApi(page.baseUrl, { fetch: tokenFetch(page.token, win) }) : null;
  // data-lm-suppress-shortcuts, and no key event leaves the grid: JupyterLab's shortcuts (command mode's a, b, dd,
  // r, o...) stay out of the desktops and of a view-only tile someone typed into
  const root = h("div", { class: "jd-app jd-widget jd-grid jd-grid-widget", "data-lm-suppress-shortcuts": "true" });
  const tilesEl = h("div", { class: "jd-grid-tiles" });
  root.append(tilesEl);
  el.append(root);
  const zoomer = createZoom(root);
  /** @type {{tile: ReturnType<typeof createTile>, child: object, off: () => void}[]} */
  let entries = [];
  let generation = 0;

  function dispose() {
    zoomer.unzoom();
    for (const entry of entries) {
      entry.off();
      entry.tile.dispose();
    }
    entries = [];
  }

  function tileFor(child) {
    const id = child.get("desktop_id");
    let tile = null;
    const transport = new Transport({
      model: child,
      page,
      href: win.location ? win.location.href : "",
      WebSocket,
      tunnel,
      onFallback: () => setTimeout(() => tile && tile.connection.retryNow(), 0),
    });
    tile = createTile({
      label: id,
      detail: sizeText(child),
      url: () => transport.open(),
      RFB,
      canControl: true,
      onZoom: () => zoomer.zoom(tile),
      onUnzoom: () => zoomer.unzoom(),
      backLabel: "Back to the grid",
      // the kernel's word on the desktop (a refresh brings fresh traits): a stopped desktop ends the retries
      checkStatus: async () => {
        try {
          child.send({ type: "refresh" });
        } catch {
          /* the kernel is gone: the traits are all there is */
        }
        return { id, status: child.get("status"), error: child.get("error") || null };
      },
      heartbeat: () => (api && transport.current && transport.current.kind === "websocket" ? api.activity(id) : null),
      dataset: { id },
      WebSocket,
    });
    tile.el.style.setProperty("--jd-aspect", `${child.get("screen_width") || 16} / ${child.get("screen_height") || 10}`);
    const onChange = () => {
      const status = child.get("status");
      tile.update({ detail: sizeText(child), note: status === "running" ? "" : `Desktop ${status}${child.get("error") ? `: ${child.get("error")}` : ""}` });
      tile.el.style.setProperty("--jd-aspect", `${child.get("screen_width") || 16} / ${child.get("screen_height") || 10}`);
    };
    const events = ["change:status", "change:error", "change:screen_width", "change:screen_height"];
    for (const event of events) child.on(event, onChange);
    onChange();
    const off = () => {
      for (const event of events) child.off(event, onChange);
      transport.close(); // the comm channel, if noVNC has not closed it
    };
    return { tile, child, off };
  }

  async function build() {
    const mine = ++generation;
    const children = await Promise.all((model.get("views") || []).map((ref) => model.widget_manager.get_model(modelId(ref))));
    if (mine !== generation) return; // a newer list arrived meanwhile
    dispose();
    entries = children.map(tileFor);
    for (const entry of entries) {
      tilesEl.append(entry.tile.el);
      entry.tile.start();
    }
  }

  const onKey = (e) => {
    if (e.type === "keydown") zoomer.onKey(e);
    e.stopPropagation();
  };
  const onViews = () => build();
  const KEYS = ["keydown", "keypress", "keyup"];
  for (const type of KEYS) root.addEventListener(type, onKey);
  model.on("change:views", onViews);
  await build();
  return () => {
    generation += 1;
    model.off("change:views", onViews);
    for (const type of KEYS) root.removeEventListener(type, onKey);
    dispose();
    root.remove();
  };
}
