// @vitest-environment happy-dom
import { describe, expect, it, vi } from "vitest";
import { ApiError } from "../src/api.js";
import { createTabs, devtoolsUrl, inspectablePages, MAX_TABS, normalizePorts } from "../src/tabs.js";

describe("normalizePorts", () => {
  it("keeps whole ports with relative paths, names them, and stops at 16", () => {
    expect(
      normalizePorts([
        { port: 8080, name: "App", path: "desktop/a/port/8080/" },
        { port: 9222, name: "  ", path: "desktop/a/port/9222" },
        { port: 0, path: "desktop/a/port/0/" },
        { port: 70000, path: "x/" },
        { port: 1.5, path: "x/" },
        { port: 81, path: "https://elsewhere.test/" },
        { port: 82, path: "//elsewhere.test/" },
        { port: 83, path: "javascript:alert(1)" },
        null,
      ]),
    ).toEqual([
      { port: 8080, name: "App", path: "desktop/a/port/8080/" },
      { port: 9222, name: "port 9222", path: "desktop/a/port/9222/" },
    ]);
    const many = Array.from({ length: 40 }, (_, i) => ({ port: 1000 + i, path: `p/${i}/` }));
    expect(normalizePorts(many)).toHaveLength(MAX_TABS);
    expect(normalizePorts(undefined)).toEqual([]);
  });
});

describe("devtoolsUrl", () => {
  it("points Chromium's own front end at its page through the same proxy", () => {
    expect(devtoolsUrl("/user/alice/desktop/ab/port/9222/", "P1", "http://hub.test:8000/user/alice/lab")).toBe(
      "/user/alice/desktop/ab/port/9222/devtools/inspector.html?ws=hub.test:8000/user/alice/desktop/ab/port/9222/devtools/page/P1",
    );
  });
  it("uses wss= on an https page", () => {
    expect(devtoolsUrl("/desktop/ab/port/9222/", "P 2", "https://hub.test/lab")).toBe(
      "/desktop/ab/port/9222/devtools/inspector.html?wss=hub.test/desktop/ab/port/9222/devtools/page/P%25202", // decoded once by DevTools: P%202
    );
  });
});

describe("inspectablePages", () => {
  it("keeps pages, not workers", () => {
    const list = [{ type: "page", id: "a" }, { type: "service_worker", id: "b" }, { type: "page", id: "" }, { type: "page", id: "c" }];
    expect(inspectablePages(list).map((p) => p.id)).toEqual(["a", "c"]);
    expect(inspectablePages({})).toEqual([]);
  });
});

function setup(answers) {
  const stage = document.createElement("div");
  document.body.append(stage);
  const api = { request: vi.fn((method, path) => answers(path)) };
  const onDesktop = vi.fn();
  const tabs = createTabs({ api, baseUrl: "/user/alice/", stage, onDesktop, pageHref: () => "http://hub.test/user/alice/desktop/ab/" });
  stage.before(tabs.el);
  return { stage, api, tabs, onDesktop };
}
const flush = () => new Promise((r) => setTimeout(r, 0));
const labels = (tabs) => [...tabs.el.querySelectorAll(".jd-tab")].map((b) => b.textContent);

describe("createTabs", () => {
  it("is hidden without ports and shows one tab per port after Desktop", () => {
    const { tabs } = setup(() => Promise.reject(new ApiError("404", 404)));
    expect(tabs.el.hidden).toBe(true);
    tabs.update([{ port: 8080, name: "App", path: "desktop/ab/port/8080/" }, { port: 9222, name: "DevTools", path: "desktop/ab/port/9222/" }]);
    expect(tabs.el.hidden).toBe(false);
    expect(labels(tabs)).toEqual(["Desktop", "App", "DevTools"]);
    tabs.update([{ port: 9222, name: "Inspector", path: "desktop/ab/port/9222/" }]);
    expect(labels(tabs)).toEqual(["Desktop", "Inspector"]);
    tabs.update([]);
    expect(tabs.el.hidden).toBe(true);
  });

  it("shows an app's page in a frame when the port is no DevTools server", async () => {
    const { tabs, stage, api } = setup(() => Promise.reject(new ApiError("Not Found", 404, "<html>")));
    tabs.update([{ port: 8080, name: "App", path: "desktop/ab/port/8080/" }]);
    tabs.el.querySelector('[data-tab="8080"]').click();
    await flush();
    expect(api.request).toHaveBeenCalledWith("GET", "desktop/ab/port/8080/json/version");
    const frame = stage.querySelector('.jd-port-panel[data-port="8080"] iframe');
    expect(frame.getAttribute("src")).toBe("/user/alice/desktop/ab/port/8080/");
    expect(stage.querySelector(".jd-port-panel").hidden).toBe(false);
    expect(tabs.selected()).toBe(8080);
    expect(tabs.refusal()).toMatch(/drop files on the Desktop tab/); // a dropped file is not for the app
    tabs.select("desktop");
    expect(tabs.refusal()).toBe("");
  });

  it("opens DevTools on the browser's first page, and switches pages", async () => {
    const pages = [
      { type: "page", id: "P1", title: "First", url: "http://a/" },
      { type: "page", id: "P2", title: "Second", url: "http://b/" },
    ];
    const { tabs, stage } = setup((path) =>
      Promise.resolve(path.endsWith("json/version") ? { Browser: "Chrome/156", webSocketDebuggerUrl: "ws://127.0.0.1:9222/devtools/browser/x" } : pages),
    );
    tabs.update([{ port: 9222, name: "DevTools", path: "desktop/ab/port/9222/" }]);
    tabs.select(9222);
    await flush();
    await flush();
    const panel = stage.querySelector('.jd-port-panel[data-port="9222"]');
    expect(panel.dataset.devtools).toBe("P1");
    expect(panel.querySelector("iframe").getAttribute("src")).toBe(
      "/user/alice/desktop/ab/port/9222/devtools/inspector.html?ws=hub.test/user/alice/desktop/ab/port/9222/devtools/page/P1",
    );
    const picker = panel.querySelector("select");
    picker.value = "P2";
    picker.dispatchEvent(new Event("change"));
    expect(panel.dataset.devtools).toBe("P2");
    expect(panel.querySelector("iframe").getAttribute("src")).toContain("devtools/page/P2");
  });

  it("says when nothing answers, and tries again on Retry", async () => {
    let up = false;
    const { tabs, stage, api } = setup(() =>
      up ? Promise.reject(new ApiError("Not Found", 404)) : Promise.reject(new ApiError("nothing answers on port 8080 of desktop ab", 502)),
    );
    tabs.update([{ port: 8080, name: "App", path: "desktop/ab/port/8080/" }]);
    tabs.select(8080);
    await flush();
    const panel = stage.querySelector(".jd-port-panel");
    expect(panel.textContent).toContain("nothing answers on port 8080");
    expect(panel.querySelector("iframe")).toBeNull();
    up = true;
    panel.querySelector("button").click();
    await flush();
    expect(api.request).toHaveBeenCalledTimes(2);
    expect(panel.querySelector("iframe")).not.toBeNull();
  });

  it("goes back to the desktop when the shown port goes, and focuses it", async () => {
    const { tabs, stage, onDesktop } = setup(() => Promise.reject(new ApiError("Not Found", 404)));
    tabs.update([{ port: 8080, name: "App", path: "desktop/ab/port/8080/" }]);
    tabs.select(8080);
    await flush();
    tabs.update([]);
    expect(tabs.selected()).toBe("desktop");
    expect(onDesktop).toHaveBeenCalled();
    expect(stage.querySelector(".jd-port-panel")).toBeNull();
    expect(stage.dataset.tab).toBe("desktop");
  });
});
