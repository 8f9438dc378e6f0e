// @vitest-environment happy-dom
// static/viewer.js's entry: what the server's pages and JupyterLab's tabs call.
import { afterEach, describe, expect, it, vi } from "vitest";

const listResponse = () => new Response("[]", { status: 200, headers: { "Content-Type": "application/json" } });

afterEach(() => {
  vi.resetModules();
  document.head.innerHTML = "";
  document.body.innerHTML = "";
  document.documentElement.className = "";
});

describe("viewer.js entry", () => {
  it("on a host page (JupyterLab) mounts nothing by itself and exports the mount functions", async () => {
    const fetch = vi.spyOn(globalThis, "fetch").mockImplementation(async () => listResponse());
    document.body.innerHTML = '<div id="jupyter-desktop"></div><script id="jupyter-config-data" type="application/json">{"baseUrl": "/user/x/"}</script>';
    const lib = await import("../src/viewer.js");
    expect(lib.API_VERSION).toBe(1);
    expect(typeof lib.mountViewer).toBe("function");
    expect(typeof lib.mountList).toBe("function");
    expect(document.getElementById("jupyter-desktop").childElementCount).toBe(0);
    expect(document.documentElement.classList.contains("jd-page")).toBe(false);
    expect(fetch).not.toHaveBeenCalled();

    // the list, embedded: under the given base URL, with the XSRF cookie on its GET
    document.cookie = "_xsrf=tok123; path=/";
    const node = document.createElement("div");
    document.body.appendChild(node);
    const openViewer = vi.fn();
    const list = lib.mountList(node, { baseUrl: "/user/x", openViewer, isVisible: () => true });
    await vi.waitFor(() => expect(fetch).toHaveBeenCalled());
    const [url, init] = fetch.mock.calls[0];
    expect(url).toBe("/user/x/desktop/api/desktops");
    expect(init.headers["X-XSRFToken"]).toBe("tok123");
    expect(node.classList.contains("jd-list")).toBe(true);
    expect(node.classList.contains("jd-embedded")).toBe(true); // embedded unless said otherwise
    list.dispose();
    expect(() => lib.mountViewer(node, { baseUrl: "/" })).toThrow(/desktopId/);
    document.cookie = "_xsrf=; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/";
  });

  it("on the server's page mounts the page its config names", async () => {
    const fetch = vi.spyOn(globalThis, "fetch").mockImplementation(async () => listResponse());
    document.body.innerHTML =
      '<div id="jupyter-desktop"></div>' +
      '<script id="jupyter-desktop-config" type="application/json">{"baseUrl": "/user/x/", "page": "list", "xsrfToken": "from-page"}</script>';
    await import("../src/viewer.js");
    const root = document.getElementById("jupyter-desktop");
    expect(root.classList.contains("jd-list")).toBe(true);
    expect(root.classList.contains("jd-embedded")).toBe(false);
    expect(document.documentElement.classList.contains("jd-page")).toBe(true);
    await vi.waitFor(() => expect(fetch).toHaveBeenCalled());
    expect(fetch.mock.calls[0][1].headers["X-XSRFToken"]).toBe("from-page");
  });
});
