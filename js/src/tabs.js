// The tab bar beside a desktop: Desktop | each port its owner exposed (Desktop.expose: a web IDE, an app's dev
// server, Chromium's DevTools). A port's tab shows the app in a frame over the desktop's screen, through the Jupyter
// server's proxy at {base}desktop/<id>/port/<port>/ (same origin: the page's login carries over). A port that
// answers as Chromium's DevTools server (/json/version names a webSocketDebuggerUrl) gets the DevTools front end
// that Chromium itself serves (/devtools/inspector.html), connected to one of its pages through the same proxy.
//
// The widget (widget-view.js) and the full-page viewer (viewer-page.js) host it; the list of ports comes from the
// kernel (the widget's `ports` trait) or the REST API (the viewer polls the desktop).

import { h, icon } from "./dom.js";
import { icons } from "./icons.js";
import { join } from "./urls.js";

export const MAX_TABS = 16; // MAX_EXPOSED on the server

/** The ports as the tab bar takes them: `{port, name, path}` with a whole port and a relative path, at most 16. */
export function normalizePorts(ports) {
  const out = [];
  for (const p of Array.isArray(ports) ? ports : []) {
    if (!p || !Number.isInteger(p.port) || p.port < 1 || p.port > 65535) continue;
    if (typeof p.path !== "string" || !p.path || /^[a-z][a-z0-9+.-]*:/i.test(p.path) || p.path.startsWith("//")) continue;
    const name = typeof p.name === "string" && p.name.trim() ? p.name.trim().slice(0, 40) : `port ${p.port}`;
    out.push({ port: p.port, name, path: p.path.endsWith("/") ? p.path : p.path + "/" });
    if (out.length === MAX_TABS) break;
  }
  return out;
}

/**
 * The DevTools front end for one page of a Chromium whose DevTools server is proxied at `portUrl` (an absolute path
 * or URL ending in "/"): Chromium's own /devtools/inspector.html, its WebSocket at the same proxy (ws=host/path,
 * or wss= when the page is https).
 */
export function devtoolsUrl(portUrl, targetId, pageHref) {
  const port = new URL(portUrl, pageHref);
  const socket = `${port.host}${port.pathname}devtools/page/${encodeURIComponent(targetId)}`;
  const key = port.protocol === "https:" ? "wss" : "ws";
  // a query value: DevTools decodes it once (so the path's own %-escapes are escaped again); / and : stay readable
  const value = encodeURIComponent(socket).replace(/%2F/gi, "/").replace(/%3A/gi, ":");
  return `${port.pathname}devtools/inspector.html?${key}=${value}`;
}

/** The pages of a DevTools server's /json/list worth inspecting (tabs, not workers or extensions' backgrounds). */
export function inspectablePages(list) {
  return (Array.isArray(list) ? list : []).filter((t) => t && t.type === "page" && typeof t.id === "string" && t.id);
}

/**
 * Create the tab bar. `api`: a DesktopApi (its `request` carries the page's auth); `stage`: the element the
 * desktop's screen fills (the panels cover it); `onDesktop`: called when the Desktop tab is chosen again (focus
 * the screen). Returns {el, update(ports), select(port | "desktop"), selected(), dispose()}.
 */
export function createTabs({ api, baseUrl, stage, onDesktop = () => {}, pageHref = () => window.location.href }) {
  const el = h("div", { class: "jd-tabs", role: "tablist", "aria-label": "Desktop and its apps", hidden: true });
  const desktopTab = tab("Desktop", "desktop", icons.monitor);
  el.append(desktopTab);
  const tabs = new Map(); // port -> {button, panel, info, loaded}
  let current = "desktop";
  let disposed = false;

  function tab(label, key, svg) {
    const button = h(
      "button",
      { type: "button", class: "jd-tab", role: "tab", "aria-selected": "false", dataset: { tab: String(key) } },
      svg ? icon(svg) : null,
      h("span", { class: "jd-tab-label" }, label),
    );
    button.addEventListener("click", () => select(key));
    return button;
  }

  function update(ports) {
    const wanted = normalizePorts(ports);
    const keep = new Set(wanted.map((p) => p.port));
    for (const [port, t] of tabs) {
      if (keep.has(port)) continue;
      t.button.remove();
      t.panel.remove();
      tabs.delete(port);
      if (current === port) select("desktop");
    }
    for (const info of wanted) {
      const known = tabs.get(info.port);
      if (known) {
        if (known.info.name !== info.name) known.button.querySelector(".jd-tab-label").textContent = info.name;
        known.info = info;
        continue;
      }
      const button = tab(info.name, info.port, icons.external);
      button.title = `${info.name}: port ${info.port} of the desktop, through the Jupyter server`;
      const panel = h("div", { class: "jd-port-panel", role: "tabpanel", hidden: true, dataset: { port: String(info.port) } });
      tabs.set(info.port, { button, panel, info, loaded: false });
      el.append(button);
      stage.append(panel);
    }
    // tab order follows the ports' order
    for (const info of wanted) el.append(tabs.get(info.port).button);
    el.hidden = tabs.size === 0;
  }

  function select(key) {
    const next = key === "desktop" || !tabs.has(key) ? "desktop" : key;
    current = next;
    desktopTab.setAttribute("aria-selected", String(next === "desktop"));
    for (const [port, t] of tabs) {
      const on = port === next;
      t.button.setAttribute("aria-selected", String(on));
      t.panel.hidden = !on;
      if (on && !t.loaded) load(t);
    }
    stage.dataset.tab = String(next);
    if (next === "desktop") onDesktop();
  }

  function portUrl(info) {
    return join(baseUrl, info.path);
  }

  /** Fill a port's panel: DevTools when the port answers as Chromium's DevTools server, else the app's page. */
  async function load(t) {
    t.loaded = true;
    const { info, panel } = t;
    panel.textContent = "";
    panel.append(h("div", { class: "jd-port-message" }, `Opening port ${info.port}…`));
    let version = null;
    try {
      version = await api.request("GET", `${info.path}json/version`);
    } catch (err) {
      if (err && err.status === 502) return failed(t, err.message || `Nothing answers on port ${info.port} yet.`);
      if (err && (err.status === 404 || err.status === 403) && /not exposed|not allowed/.test(err.message || "")) return failed(t, err.message);
      version = null; // an app without /json/version: its own page
    }
    if (disposed || tabs.get(info.port) !== t) return;
    if (version && typeof version === "object" && typeof version.webSocketDebuggerUrl === "string") return devtools(t, version);
    show(t, portUrl(info), info.name);
  }

  function failed(t, message) {
    t.loaded = false; // try again when the tab is chosen again
    t.panel.textContent = "";
    const retry = h("button", { type: "button", class: "jd-button", onclick: () => load(t) }, "Retry");
    t.panel.append(h("div", { class: "jd-port-message", role: "alert" }, h("p", {}, message), retry));
  }

  function show(t, src, label, header = null) {
    t.panel.textContent = "";
    const open = h("a", { class: "jd-button jd-port-open", href: src, target: "_blank", rel: "noopener", title: "Open in a new tab" }, icon(icons.external), h("span", { class: "jd-button-label" }, "New tab"));
    const bar = h("div", { class: "jd-port-bar" }, header, h("span", { class: "jd-toolbar-spacer" }), open);
    const frame = h("iframe", { class: "jd-port-frame", src, title: label });
    t.panel.append(bar, frame);
  }

  async function devtools(t, version) {
    const { info } = t;
    let pages = [];
    try {
      pages = inspectablePages(await api.request("GET", `${info.path}json/list`));
    } catch (err) {
      return failed(t, `DevTools on port ${info.port}: ${err && err.message ? err.message : err}`);
    }
    if (disposed || tabs.get(info.port) !== t) return;
    if (!pages.length) return failed(t, `${version.Browser || "The browser"} on port ${info.port} shows no page to inspect.`);
    const choose = (page) => {
      const picker = h(
        "select",
        { class: "jd-select jd-port-pages", title: "The page DevTools inspects", "aria-label": "Page to inspect" },
        pages.map((p) => h("option", { value: p.id, selected: p.id === page.id }, p.title || p.url || p.id)),
      );
      picker.addEventListener("change", () => choose(pages.find((p) => p.id === picker.value) || page));
      const reload = h("button", { type: "button", class: "jd-button", title: "List the browser's pages again", "aria-label": "Reload the pages", onclick: () => load(t) }, icon(icons.refresh));
      show(t, devtoolsUrl(portUrl(info), page.id, pageHref()), `DevTools: ${page.title || page.url}`, h("span", { class: "jd-port-head" }, picker, reload));
      t.panel.dataset.devtools = page.id;
    };
    choose(pages[0]);
  }

  return {
    el,
    update,
    select,
    selected: () => current,
    /** Why a file dropped now does not go to the desktop ("" when the Desktop tab shows): for upload.js. */
    refusal: () => (current === "desktop" ? "" : "The desktop's tab is not shown: drop files on the Desktop tab to upload them."),
    dispose() {
      disposed = true;
      for (const t of tabs.values()) t.panel.remove();
      tabs.clear();
      el.remove();
    },
  };
}
