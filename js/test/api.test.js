import { describe, expect, it, vi } from "vitest";
import { ApiError, DesktopApi, errorMessage, getCookie } from "../src/api.js";

function fakeFetch(status = 200, body = {}, contentType = "application/json") {
  return vi.fn(async () => ({
    ok: status >= 200 && status < 300,
    status,
    statusText: status === 200 ? "OK" : "Error",
    headers: { get: () => contentType },
    text: async () => (typeof body === "string" ? body : JSON.stringify(body)),
  }));
}

const cookies = () => "other=1; _xsrf=2%7Cabc%7Cdef; last=x";

describe("getCookie", () => {
  it("finds and decodes a cookie", () => {
    expect(getCookie("_xsrf", cookies())).toBe("2|abc|def");
    expect(getCookie("missing", cookies())).toBeUndefined();
    expect(getCookie("_xsrf", "")).toBeUndefined();
  });
});

describe("DesktopApi", () => {
  it("GETs the list under the base URL, with cookies and the XSRF header (JupyterHub checks it on reads)", async () => {
    const fetch = fakeFetch(200, [{ id: "a", status: "running" }]);
    const api = new DesktopApi("/user/x/", { fetch, cookies });
    expect(await api.list()).toEqual([{ id: "a", status: "running" }]);
    const [url, init] = fetch.mock.calls[0];
    expect(url).toBe("/user/x/desktop/api/desktops");
    expect(init.method).toBe("GET");
    expect(init.credentials).toBe("same-origin");
    // a JupyterHub single-user server refuses a cookie-authenticated fetch() GET without it (403)
    expect(init.headers["X-XSRFToken"]).toBe("2|abc|def");
  });

  it("sends the XSRF token on every read: the cookie's, else the one the page embedded", async () => {
    const fetch = fakeFetch(200, { id: "i1", status: "running", text: "t" });
    const noCookie = new DesktopApi("/", { fetch, cookies: () => "other=1", xsrfToken: "page-token" });
    await noCookie.list();
    await noCookie.get("i1");
    await noCookie.getClipboard("i1");
    expect(fetch.mock.calls.map(([u, i]) => [i.method, u, i.headers["X-XSRFToken"]])).toEqual([
      ["GET", "/desktop/api/desktops", "page-token"],
      ["GET", "/desktop/api/desktops/i1", "page-token"],
      ["GET", "/desktop/api/desktops/i1/clipboard", "page-token"],
    ]);
    const both = new DesktopApi("/", { fetch, cookies, xsrfToken: "page-token" });
    await both.get("i1");
    expect(fetch.mock.calls[3][1].headers["X-XSRFToken"]).toBe("2|abc|def"); // the cookie is the fresher one
    const none = new DesktopApi("/", { fetch, cookies: () => "" });
    await none.list();
    expect("X-XSRFToken" in fetch.mock.calls[4][1].headers).toBe(false);
  });

  it("POSTs JSON with the _xsrf cookie as X-XSRFToken", async () => {
    const fetch = fakeFetch(201, { id: "ab12", status: "starting" });
    const api = new DesktopApi("/", { fetch, cookies });
    expect(await api.create({ profile: "xfce", width: 1280, height: 800, junk: 1 })).toMatchObject({ id: "ab12" });
    const [url, init] = fetch.mock.calls[0];
    expect(url).toBe("/desktop/api/desktops");
    expect(init.method).toBe("POST");
    expect(init.headers["X-XSRFToken"]).toBe("2|abc|def");
    expect(init.headers["Content-Type"]).toBe("application/json");
    expect(JSON.parse(init.body)).toEqual({ profile: "xfce", width: 1280, height: 800 });
  });

  it("sends XSRF on DELETE, restart and clipboard PUT", async () => {
    const fetch = fakeFetch(200, {});
    const api = new DesktopApi("/b/", { fetch, cookies });
    await api.remove("i1");
    await api.restart("i1");
    await api.setClipboard("i1", "héllo");
    expect(fetch.mock.calls.map(([u, i]) => [i.method, u, i.headers["X-XSRFToken"]])).toEqual([
      ["DELETE", "/b/desktop/api/desktops/i1", "2|abc|def"],
      ["POST", "/b/desktop/api/desktops/i1/restart", "2|abc|def"],
      ["PUT", "/b/desktop/api/desktops/i1/clipboard", "2|abc|def"],
    ]);
    expect(JSON.parse(fetch.mock.calls[2][1].body)).toEqual({ text: "héllo" });
  });

  it("reads the clipboard text", async () => {
    const api = new DesktopApi("/", { fetch: fakeFetch(200, { text: "abc" }), cookies });
    expect(await api.getClipboard("i1")).toBe("abc");
  });

  it("turns error responses into ApiError with the server's message", async () => {
    const api = new DesktopApi("/", { fetch: fakeFetch(429, { message: "at most 2 desktops per user" }), cookies });
    const err = await api.create().catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(429);
    expect(err.message).toBe("at most 2 desktops per user");
  });

  it("reports an unreachable server as status 0", async () => {
    const api = new DesktopApi("/", { fetch: vi.fn(async () => Promise.reject(new TypeError("Failed to fetch"))), cookies });
    const err = await api.list().catch((e) => e);
    expect(err.status).toBe(0);
    expect(err.message).toMatch(/cannot reach the Jupyter server/);
  });

  it("builds the screenshot URL", () => {
    expect(new DesktopApi("/u/").screenshotUrl("ab")).toBe("/u/desktop/api/desktops/ab/screenshot?format=png");
  });
});

describe("errorMessage", () => {
  it("prefers message, then reason, then short text, then the status", () => {
    expect(errorMessage(400, "Bad Request", { message: "m", reason: "r" })).toBe("m");
    expect(errorMessage(400, "Bad Request", { reason: "r" })).toBe("r");
    expect(errorMessage(502, "Bad Gateway", "upstream down")).toBe("upstream down");
    expect(errorMessage(403, "Forbidden", "<html>...</html>")).toBe("403 Forbidden");
  });
});

describe("XSRF token from the page config", () => {
  it("is used when there is no _xsrf cookie", async () => {
    const fetch = fakeFetch(201, { id: "x" });
    await new DesktopApi("/", { fetch, cookies: () => "", xsrfToken: "2|page|token" }).create();
    expect(fetch.mock.calls[0][1].headers["X-XSRFToken"]).toBe("2|page|token");
  });
  it("loses to the cookie", async () => {
    const fetch = fakeFetch(201, { id: "x" });
    await new DesktopApi("/", { fetch, cookies, xsrfToken: "2|page|token" }).create();
    expect(fetch.mock.calls[0][1].headers["X-XSRFToken"]).toBe("2|abc|def");
  });
});
