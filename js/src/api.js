// REST client for {base}desktop/api/desktops. Jupyter auth: the browser's cookie, plus the X-XSRFToken header
// (the `_xsrf` cookie's value, else the token the page embedded) on EVERY request, reads included: a
// JupyterHub single-user server (jupyterhub/_xsrf_utils.py) checks XSRF on cookie-authenticated fetch() GETs
// too (Sec-Fetch-Mode cors) and answers 403 without it; plain jupyter-server ignores the header on GETs.

import { join, paths } from "./urls.js";

export class ApiError extends Error {
  constructor(message, status, body) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.body = body;
  }
}

/** The value of cookie `name` in a `document.cookie` string, or undefined. */
export function getCookie(name, cookies) {
  for (const part of String(cookies || "").split(";")) {
    const i = part.indexOf("=");
    if (i < 0) continue;
    if (part.slice(0, i).trim() === name) {
      const v = part.slice(i + 1).trim();
      try {
        return decodeURIComponent(v);
      } catch {
        return v;
      }
    }
  }
  return undefined;
}

/** A readable message for a failed response: the server's JSON `message` (or `reason`), else the status. */
export function errorMessage(status, statusText, body) {
  if (body && typeof body === "object") {
    if (typeof body.message === "string" && body.message) return body.message;
    if (typeof body.reason === "string" && body.reason) return body.reason;
  }
  if (typeof body === "string" && body.trim() && body.length < 300 && !/^\s*</.test(body)) return body.trim();
  return `${status} ${statusText || "error"}`.trim();
}

export class DesktopApi {
  /**
   * @param {string} baseUrl Jupyter's base URL.
   * @param {{fetch?: typeof fetch, cookies?: () => string, xsrfToken?: string}} [options]
   *   xsrfToken: used when there is no `_xsrf` cookie (a page embeds it in its config).
   */
  constructor(baseUrl, options = {}) {
    this.baseUrl = baseUrl;
    this.xsrfToken = options.xsrfToken || "";
    this._fetch = options.fetch || ((...args) => globalThis.fetch(...args));
    this._cookies = options.cookies || (() => (typeof document !== "undefined" ? document.cookie : ""));
  }

  url(path) {
    return join(this.baseUrl, path);
  }

  /** `raw`: the body goes as it is (a Blob, bytes), as application/octet-stream; else as JSON. */
  async request(method, path, body, { raw = false } = {}) {
    const headers = { Accept: "application/json" };
    const init = { method, headers, credentials: "same-origin", cache: "no-store" };
    if (body !== undefined) {
      headers["Content-Type"] = raw ? "application/octet-stream" : "application/json";
      init.body = raw ? body : JSON.stringify(body);
    }
    const xsrf = getCookie("_xsrf", this._cookies()) || this.xsrfToken;
    if (xsrf) headers["X-XSRFToken"] = xsrf;
    let response;
    try {
      response = await this._fetch(this.url(path), init);
    } catch (err) {
      throw new ApiError(`cannot reach the Jupyter server (${err && err.message ? err.message : err})`, 0);
    }
    const text = await response.text();
    let data = text;
    if (text && (response.headers.get("Content-Type") || "").includes("json")) {
      try {
        data = JSON.parse(text);
      } catch {
        /* keep the text */
      }
    } else if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        /* not JSON */
      }
    }
    if (!response.ok) throw new ApiError(errorMessage(response.status, response.statusText, data), response.status, data);
    return text ? data : null;
  }

  list() {
    return this.request("GET", paths.desktops());
  }
  get(id) {
    return this.request("GET", paths.desktop(id));
  }
  /** @param {{profile?: string, width?: number, height?: number}} [options] */
  create(options = {}) {
    const body = {};
    for (const k of ["profile", "width", "height"]) if (options[k] !== undefined && options[k] !== "") body[k] = options[k];
    return this.request("POST", paths.desktops(), body);
  }
  remove(id) {
    return this.request("DELETE", paths.desktop(id));
  }
  restart(id) {
    return this.request("POST", paths.restart(id));
  }
  /** Tell the server a person watches this desktop change (it counts as use, for the idle timeout and the hub). */
  activity(id) {
    return this.request("POST", paths.activity(id));
  }
  async getClipboard(id) {
    const data = await this.request("GET", paths.clipboard(id));
    return data && typeof data.text === "string" ? data.text : "";
  }
  setClipboard(id, text) {
    return this.request("PUT", paths.clipboard(id), { text });
  }
  /** A session operation (GET .../call lists them: watch, take_over, decide ...): its result. */
  async call(id, op, args = {}) {
    const data = await this.request("POST", paths.call(id, op), { args });
    return data && typeof data === "object" ? data.result : data;
  }
  /** The entries of a folder on the desktop (relative to its user's home): [{name, type, size, modified}]; [] when
   * there is no such folder. */
  async listFiles(id, path) {
    try {
      return (await this.call(id, "list_files", { path })) || [];
    } catch (err) {
      if (err && err.status === 400 && /no directory/.test(err.message)) return [];
      throw err;
    }
  }
  /** Write a file on the desktop with the bytes of `blob` (at most 64 MiB); `parents`: create missing folders;
   * `exclusive`: never replace a file (409, error ExistingFileError). */
  putFile(id, path, blob, { parents = false, exclusive = false } = {}) {
    return this.request("PUT", paths.files(id, path, { parents, exclusive }), blob, { raw: true });
  }
  /** The desktop's recording under way, or null when it is not recording (204). */
  recording(id) {
    return this.request("GET", paths.recording(id));
  }
  /** Start recording (the server's recordings folder); options: name, every, video ... (openapi.yaml). */
  startRecording(id, options = {}) {
    return this.request("POST", paths.recording(id), options);
  }
  stopRecording(id) {
    return this.request("DELETE", paths.recording(id));
  }
  recordings() {
    return this.request("GET", paths.recordings());
  }
  removeRecording(name) {
    return this.request("DELETE", paths.recordingItem(name));
  }
  recordingDownloadUrl(name) {
    return this.url(paths.recordingDownload(name));
  }
  screenshotUrl(id, format = "png") {
    return this.url(paths.screenshot(id, format));
  }
}
