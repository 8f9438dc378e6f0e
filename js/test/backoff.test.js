import { describe, expect, it } from "vitest";
import { backoffDelay, decide } from "../src/backoff.js";

describe("backoffDelay", () => {
  const noJitter = { jitter: 0 };
  it("doubles from 1 s up to 30 s", () => {
    expect([0, 1, 2, 3, 4, 5, 6, 10, 100, 5000].map((n) => backoffDelay(n, noJitter))).toEqual([
      1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000, 30000,
    ]);
  });
  it("honours options", () => {
    expect(backoffDelay(2, { initial: 500, factor: 3, max: 10000, jitter: 0 })).toBe(4500);
    expect(backoffDelay(-3, noJitter)).toBe(1000);
  });
  it("jitters within +-20% and never beyond the cap", () => {
    expect(backoffDelay(1, {}, () => 0)).toBe(1600);
    expect(backoffDelay(1, {}, () => 1)).toBe(2400);
    expect(backoffDelay(1, {}, () => 0.5)).toBe(2000);
    expect(backoffDelay(20, {}, () => 1)).toBe(30000);
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(3);
      expect(d).toBeGreaterThanOrEqual(6400);
      expect(d).toBeLessThanOrEqual(9600);
    }
  });
});

describe("decide", () => {
  it("connects to a running desktop, waits while it starts or stops", () => {
    expect(decide({ desktop: { status: "running" } })).toEqual({ action: "connect" });
    expect(decide({ desktop: { status: "starting" } })).toEqual({ action: "wait", status: "starting" });
    expect(decide({ desktop: { status: "stopping" } })).toEqual({ action: "wait", status: "stopping" });
  });
  it("stops for stopped and failed desktops, with the server's error", () => {
    expect(decide({ desktop: { status: "stopped", error: null } })).toEqual({
      action: "stop",
      reason: "stopped",
      message: "The desktop has stopped.",
    });
    expect(decide({ desktop: { status: "error", error: "Xvnc exited with status 1" } })).toEqual({
      action: "stop",
      reason: "error",
      message: "Xvnc exited with status 1",
    });
  });
  it("stops on 404 and 403, and lets the WebSocket decide otherwise", () => {
    expect(decide({ error: { status: 404, message: "no desktop 'x'" } })).toMatchObject({ action: "stop", reason: "not-found", message: "no desktop 'x'" });
    expect(decide({ error: { status: 403 } })).toMatchObject({ action: "stop", reason: "unauthorized" });
    expect(decide({ error: { status: 0 } })).toEqual({ action: "connect" });
    expect(decide({ error: { status: 502 } })).toEqual({ action: "connect" });
    expect(decide({ desktop: { status: "mystery" } })).toEqual({ action: "connect" });
  });
});
