import { describe, expect, it } from "vitest";
import { join, listUrl, normalizeBase, paths, viewerUrl, wsUrl } from "../src/urls.js";

describe("normalizeBase", () => {
  it.each([
    [undefined, "/"],
    ["", "/"],
    ["/", "/"],
    ["/user/alice", "/user/alice/"],
    ["/user/alice/", "/user/alice/"],
    ["user/alice", "/user/alice/"],
    ["https://hub.example.org/user/alice", "https://hub.example.org/user/alice/"],
  ])("%s -> %s", (input, expected) => expect(normalizeBase(input)).toBe(expected));
});

describe("join", () => {
  it("joins under a base URL without doubling or losing slashes", () => {
    expect(join("/user/x/", "desktop/api/desktops")).toBe("/user/x/desktop/api/desktops");
    expect(join("/user/x", "/desktop/")).toBe("/user/x/desktop/");
    expect(join("/", "desktop", "api")).toBe("/desktop/api");
  });
  it("builds every API path under the base", () => {
    const base = "/user/x/";
    expect(join(base, paths.desktop("ab12cd34"))).toBe("/user/x/desktop/api/desktops/ab12cd34");
    expect(join(base, paths.restart("ab12"))).toBe("/user/x/desktop/api/desktops/ab12/restart");
    expect(join(base, paths.clipboard("ab12"))).toBe("/user/x/desktop/api/desktops/ab12/clipboard");
    expect(join(base, paths.screenshot("ab12"))).toBe("/user/x/desktop/api/desktops/ab12/screenshot?format=png");
    expect(viewerUrl(base, "ab12")).toBe("/user/x/desktop/ab12/");
    expect(listUrl(base)).toBe("/user/x/desktop/");
  });
  it("escapes ids", () => {
    expect(paths.desktop("a/b?c")).toBe("desktop/api/desktops/a%2Fb%3Fc");
  });
});

describe("wsUrl", () => {
  const rel = "desktop/api/desktops/ab12cd34/vnc";
  it("uses ws:// on an http page, under the base URL", () => {
    expect(wsUrl("/user/x/", rel, "http://localhost:8888/user/x/desktop/ab12cd34/")).toBe(
      "ws://localhost:8888/user/x/desktop/api/desktops/ab12cd34/vnc",
    );
  });
  it("uses wss:// on an https page", () => {
    expect(wsUrl("/", rel, "https://hub.example.org/desktop/ab12cd34/")).toBe("wss://hub.example.org/desktop/api/desktops/ab12cd34/vnc");
  });
  it("keeps absolute paths and ws URLs", () => {
    expect(wsUrl("/user/x/", "/other/vnc", "https://h/user/x/")).toBe("wss://h/other/vnc");
    expect(wsUrl("/user/x/", "ws://elsewhere/vnc", "https://h/")).toBe("ws://elsewhere/vnc");
  });
});
