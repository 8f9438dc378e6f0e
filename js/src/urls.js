// URL building. Every URL the browser side uses is built here from Jupyter's base URL
// ("/", "/user/alice/", or under a proxy "/prefix/user/alice/"), never assuming "/".

/** Normalise a base URL: a path gets a leading and a trailing slash; an absolute URL a trailing slash. */
export function normalizeBase(base) {
  let b = typeof base === "string" && base.trim() ? base.trim() : "/";
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(b) && !b.startsWith("/")) b = "/" + b;
  if (!b.endsWith("/")) b += "/";
  return b;
}

/** Join a base URL and path segments. Segments are used as given except `encode(id)` ones. */
export function join(base, ...parts) {
  let out = normalizeBase(base);
  for (const part of parts) {
    const p = String(part).replace(/^\/+/, "");
    if (!p) continue;
    out = out.endsWith("/") ? out + p : out + "/" + p;
  }
  return out;
}

const enc = (id) => encodeURIComponent(String(id));

export const paths = {
  desktops: () => "desktop/api/desktops",
  desktop: (id) => `desktop/api/desktops/${enc(id)}`,
  restart: (id) => `desktop/api/desktops/${enc(id)}/restart`,
  activity: (id) => `desktop/api/desktops/${enc(id)}/activity`,
  clipboard: (id) => `desktop/api/desktops/${enc(id)}/clipboard`,
  screenshot: (id, format = "png") => `desktop/api/desktops/${enc(id)}/screenshot?format=${enc(format)}`,
  vnc: (id) => `desktop/api/desktops/${enc(id)}/vnc`,
  call: (id, op) => `desktop/api/desktops/${enc(id)}/call/${enc(op)}`,
  files: (id, path, { parents = false, exclusive = false } = {}) =>
    `desktop/api/desktops/${enc(id)}/files?path=${enc(path)}${parents ? "&parents=1" : ""}${exclusive ? "&exclusive=1" : ""}`,
  recording: (id) => `desktop/api/desktops/${enc(id)}/recording`,
  recordings: () => "desktop/api/recordings",
  recordingItem: (name) => `desktop/api/recordings/${enc(name)}`,
  recordingDownload: (name) => `desktop/api/recordings/${enc(name)}/download`,
  viewer: (id) => `desktop/${enc(id)}/`,
  list: () => "desktop/",
};

export const viewerUrl = (base, id) => join(base, paths.viewer(id));
export const listUrl = (base) => join(base, paths.list());

/**
 * The WebSocket URL of a desktop's RFB stream.
 * `rel` is relative to the base URL (as the page config gives it), or an absolute path, or a ws(s) URL.
 * The scheme follows the page: http -> ws, https -> wss.
 */
export function wsUrl(base, rel, pageHref) {
  if (/^wss?:\/\//i.test(rel)) return rel;
  const href = rel.startsWith("/") ? rel : join(base, rel);
  const url = new URL(href, pageHref);
  if (url.protocol === "https:") url.protocol = "wss:";
  else if (url.protocol === "http:") url.protocol = "ws:";
  return url.href;
}
