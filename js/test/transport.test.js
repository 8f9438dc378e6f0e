// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { chooseTransport, isRelativePath, jupyterPage, socketUrl, Transport } from "../src/transport.js";
import { CommChannel } from "../src/tunnel.js";
import { FakeModel, FakeWebSocket } from "./fake-model.js";

const LAB = { baseUrl: "/user/alice/", wsUrl: "", token: "" };
const HREF = "http://hub.example:8000/user/alice/lab/tree/x.ipynb";
const WS_PATH = "desktop/api/desktops/ab12/vnc";

function doc(html) {
  const d = document.implementation.createHTMLDocument("t");
  d.body.innerHTML = html;
  return d;
}

describe("jupyterPage", () => {
  it("reads JupyterLab / Notebook 7 / JupyterHub's page config", () => {
    const d = doc('<script id="jupyter-config-data" type="application/json">{"baseUrl": "/user/alice", "token": "t0k"}</script>');
    expect(jupyterPage(d)).toEqual({ baseUrl: "/user/alice/", wsUrl: "", token: "t0k" });
  });
  it("keeps JupyterLab's wsUrl option", () => {
    const d = doc('<script id="jupyter-config-data" type="application/json">{"baseUrl": "/", "wsUrl": "wss://ws.example/"}</script>');
    expect(jupyterPage(d)).toMatchObject({ baseUrl: "/", wsUrl: "wss://ws.example/" });
  });
  it("reads the classic notebook's body data-base-url", () => {
    const d = doc("");
    d.body.setAttribute("data-base-url", "/nb/");
    expect(jupyterPage(d)).toEqual({ baseUrl: "/nb/", wsUrl: "", token: "" });
  });
  it("is null elsewhere (VS Code, Colab) and for a broken config", () => {
    expect(jupyterPage(doc("<div></div>"))).toBeNull();
    expect(jupyterPage(doc('<script id="jupyter-config-data">{not json</script>'))).toBeNull();
    expect(jupyterPage(doc('<script id="jupyter-config-data">{"other": 1}</script>'))).toBeNull();
    expect(jupyterPage(null)).toBeNull();
  });
});

describe("chooseTransport", () => {
  it("uses the server's WebSocket in a Jupyter page when the server holds the desktop", () => {
    expect(chooseTransport({ wsPath: WS_PATH, page: LAB, href: HREF })).toEqual({
      kind: "websocket",
      url: `ws://hub.example:8000/user/alice/${WS_PATH}`,
    });
  });
  it.each([
    [{ wsPath: "", page: LAB }, /runs in the kernel/],
    [{ wsPath: WS_PATH, page: null }, /not a Jupyter page/],
    [{ wsPath: WS_PATH, page: LAB, wsBroken: true }, /did not open/],
  ])("tunnels through the kernel: %j", (input, reason) => {
    const plan = chooseTransport({ href: HREF, ...input });
    expect(plan.kind).toBe("tunnel");
    expect(plan.reason).toMatch(reason);
  });
});

describe("isRelativePath", () => {
  it("accepts paths on the page's server only", () => {
    expect(isRelativePath(WS_PATH)).toBe(true);
    expect(isRelativePath("/user/alice/desktop/api/desktops/ab12/vnc")).toBe(true);
    for (const bad of ["wss://evil.example/vnc", "//evil.example/vnc", "javascript:alert(1)", "\\\\evil\\x", null]) {
      expect(isRelativePath(bad)).toBe(false);
    }
  });
  it("a ws_url that is not a path is never connected to", () => {
    expect(chooseTransport({ wsPath: "wss://evil.example/vnc", page: LAB, href: HREF })).toMatchObject({ kind: "tunnel" });
  });
});

describe("socketUrl", () => {
  it("follows the page's scheme and base URL", () => {
    expect(socketUrl(LAB, WS_PATH, "https://hub.example/user/alice/lab")).toBe(`wss://hub.example/user/alice/${WS_PATH}`);
    expect(socketUrl({ baseUrl: "/" }, WS_PATH, "http://127.0.0.1:8888/lab")).toBe(`ws://127.0.0.1:8888/${WS_PATH}`);
  });
  it("uses JupyterLab's wsUrl when the page sets one", () => {
    expect(socketUrl({ baseUrl: "/user/a/", wsUrl: "wss://ws.example/user/a/" }, WS_PATH, HREF)).toBe(`wss://ws.example/user/a/${WS_PATH}`);
  });
});

describe("Transport", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    FakeWebSocket.reset();
  });
  afterEach(() => vi.useRealTimers());

  const make = (traits = { ws_url: WS_PATH }, page = LAB) => {
    const model = new FakeModel(traits);
    const onFallback = vi.fn();
    const transport = new Transport({ model, page, href: HREF, WebSocket: FakeWebSocket, onFallback });
    return { model, transport, onFallback };
  };

  it("opens a binary WebSocket per attempt and counts what comes in", () => {
    const { transport } = make();
    const ws = transport.open();
    expect(ws).toBe(FakeWebSocket.last);
    expect(ws.url).toBe(`ws://hub.example:8000/user/alice/${WS_PATH}`);
    expect(ws.protocols).toEqual(["binary"]);
    expect(ws.binaryType).toBe("arraybuffer");
    ws.fire("open");
    ws.fire("message", { data: new ArrayBuffer(100) });
    ws.fire("message", { data: new ArrayBuffer(28) });
    expect(transport.stats).toMatchObject({ kind: "websocket", opened: 1, bytesIn: 128, messagesIn: 2 });
    expect(transport.open()).not.toBe(ws);
    expect(transport.stats.opened).toBe(2);
  });

  it("falls back to the comm tunnel when the WebSocket never opens, until reset", () => {
    const { model, transport, onFallback } = make();
    transport.open().fire("close", { code: 1006 });
    expect(onFallback).toHaveBeenCalledTimes(1);
    expect(transport.wsBroken).toBe(true);
    const channel = transport.open();
    expect(channel).toBeInstanceOf(CommChannel);
    expect(transport.current).toMatchObject({ kind: "tunnel", reason: expect.stringMatching(/did not open/) });
    expect(model.sentOf("tunnel", "open")).toHaveLength(1);
    model.kernelSend({ type: "tunnel", op: "open", channel: channel.channel });
    model.kernelSend({ type: "tunnel", op: "data", channel: channel.channel }, [new Uint8Array(12)]);
    expect(transport.stats).toMatchObject({ kind: "tunnel", bytesIn: 12, messagesIn: 1 });
    transport.reset();
    expect(transport.open()).toBeInstanceOf(FakeWebSocket);
  });

  it("keeps to a WebSocket that worked once (a restarting server is no reason to switch)", () => {
    const { transport, onFallback } = make();
    const ws = transport.open();
    ws.fire("open");
    ws.fire("close", { code: 1006 });
    transport.open().fire("close", { code: 1006 }); // the server is restarting
    expect(onFallback).not.toHaveBeenCalled();
    expect(transport.open()).toBeInstanceOf(FakeWebSocket);
  });

  it("tunnels from the start when the desktop lives in the kernel, or outside a Jupyter page", () => {
    expect(make({ ws_url: "" }).transport.open()).toBeInstanceOf(CommChannel);
    expect(make({ ws_url: WS_PATH }, null).transport.open()).toBeInstanceOf(CommChannel);
    expect(FakeWebSocket.instances).toHaveLength(0);
  });
});
