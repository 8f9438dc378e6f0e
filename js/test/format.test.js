import { describe, expect, it } from "vitest";
import { formatDuration, formatProfile, formatSize, rowModel, sortDesktops, statusTone, toMillis, windowSize } from "../src/format.js";

describe("times", () => {
  it("accepts epoch seconds, ms and ISO strings", () => {
    expect(toMillis(1700000000)).toBe(1700000000000);
    expect(toMillis(1700000000.5)).toBe(1700000000500);
    expect(toMillis(1700000000000)).toBe(1700000000000);
    expect(toMillis("2023-11-14T22:13:20Z")).toBe(1700000000000);
    expect(toMillis("1700000000")).toBe(1700000000000);
    expect(toMillis(null)).toBeNaN();
  });
  it("formats durations", () => {
    expect([0, 12e3, 61e3, 3600e3, 3720e3, 86400e3, 97200e3, -5].map(formatDuration)).toEqual([
      "0 s", "12 s", "1 min", "1 h", "1 h 2 min", "1 d", "1 d 3 h", "0 s",
    ]);
    expect(formatDuration(NaN)).toBe("—");
  });
});

describe("rowModel", () => {
  const now = 1700000300000;
  const base = { id: "ab12", profile: "xfce", width: 1280, height: 800, backend: "local", created: 1700000000, last_activity: 1700000290 };
  it("offers open/stop for running and starting desktops", () => {
    const row = rowModel({ ...base, status: "running" }, now);
    expect(row).toMatchObject({ id: "ab12", tone: "ok", size: "1280×800", profile: "xfce", age: "5 min", idle: "10 s" });
    expect(row.actions).toEqual(["open", "stop"]);
    expect(rowModel({ ...base, status: "starting" }, now).actions).toEqual(["open", "stop"]);
  });
  it("offers restart/remove for failed and stopped desktops and shows the error", () => {
    const row = rowModel({ ...base, status: "error", error: "Xvnc died" }, now);
    expect(row).toMatchObject({ tone: "error", error: "Xvnc died", actions: ["restart", "remove"] });
    expect(rowModel({ ...base, status: "stopped" }, now).actions).toEqual(["restart", "remove"]);
  });
  it("copes with custom profiles and missing fields", () => {
    expect(formatProfile(["xterm", "-e", "top"])).toBe("xterm -e top");
    expect(formatSize(undefined, 3)).toBe("—");
    expect(rowModel({ id: 7 }, now)).toMatchObject({ id: "7", status: "unknown", tone: "idle", age: "—" });
  });
  it("colours statuses", () => {
    expect(["running", "starting", "stopping", "stopped", "error", "?"].map(statusTone)).toEqual(["ok", "busy", "busy", "idle", "error", "idle"]);
  });
});

describe("misc", () => {
  it("sorts newest first", () => {
    expect(sortDesktops([{ id: "a", created: 1 }, { id: "b", created: 3 }, { id: "c" }, { id: "d", created: 2 }]).map((d) => d.id)).toEqual(["b", "d", "a", "c"]);
  });
  it("fits the window below the toolbar, clamped and even", () => {
    expect(windowSize(1441, 901)).toEqual({ width: 1440, height: 860 });
    expect(windowSize(300, 200)).toEqual({ width: 640, height: 480 });
    expect(windowSize(8000, 5000)).toEqual({ width: 3840, height: 2160 });
  });
});
