// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from "vitest";
import { configFromPath, normalizeConfig, readConfig } from "../src/config.js";

describe("normalizeConfig", () => {
  it("normalises the base URL and derives the WebSocket path", () => {
    expect(normalizeConfig({ baseUrl: "/user/x", page: "viewer", desktopId: "ab12" })).toEqual({
      baseUrl: "/user/x/",
      page: "viewer",
      desktopId: "ab12",
      wsUrl: "desktop/api/desktops/ab12/vnc",
    });
  });
  it("keeps the server's wsUrl", () => {
    expect(normalizeConfig({ baseUrl: "/", page: "viewer", desktopId: "a", wsUrl: "x/vnc" }).wsUrl).toBe("x/vnc");
  });
  it("defaults to the list page", () => {
    expect(normalizeConfig(null)).toEqual({ baseUrl: "/", page: "list" });
  });
});

describe("configFromPath", () => {
  it("finds the viewer and the base URL in the path", () => {
    expect(configFromPath("/user/alice/desktop/ab12cd34/")).toMatchObject({ baseUrl: "/user/alice/", page: "viewer", desktopId: "ab12cd34" });
    expect(configFromPath("/desktop/ab12")).toMatchObject({ baseUrl: "/", page: "viewer", desktopId: "ab12" });
  });
  it("finds the list page", () => {
    expect(configFromPath("/user/alice/desktop/")).toMatchObject({ baseUrl: "/user/alice/", page: "list" });
    expect(configFromPath("/desktop")).toMatchObject({ baseUrl: "/", page: "list" });
  });
});

describe("readConfig", () => {
  afterEach(() => (document.body.innerHTML = ""));
  it("reads the server's config element", () => {
    document.body.innerHTML =
      '<script id="jupyter-desktop-config" type="application/json">{"baseUrl": "/user/x/", "page": "viewer", "desktopId": "ab12cd34", "wsUrl": "desktop/api/desktops/ab12cd34/vnc"}</script>';
    expect(readConfig(document, { pathname: "/ignored" })).toEqual({
      baseUrl: "/user/x/",
      page: "viewer",
      desktopId: "ab12cd34",
      wsUrl: "desktop/api/desktops/ab12cd34/vnc",
    });
  });
  it("falls back to JupyterLab's page config and the path", () => {
    document.body.innerHTML = '<script id="jupyter-config-data" type="application/json">{"baseUrl": "/hub/user/y/"}</script>';
    expect(readConfig(document, { pathname: "/hub/user/y/desktop/" })).toEqual({ baseUrl: "/hub/user/y/", page: "list" });
  });
});
