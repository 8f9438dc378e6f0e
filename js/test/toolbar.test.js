// @vitest-environment happy-dom
import { describe, expect, it, vi } from "vitest";
import { createButton, createStatus, describeState } from "../src/toolbar.js";

describe("describeState", () => {
  const now = 1_000_000;
  it.each([
    [{ phase: "idle" }, "Not connected", "idle"],
    [{ phase: "connecting", attempt: 0 }, "Connecting…", "busy"],
    [{ phase: "connecting", attempt: 2 }, "Connecting (attempt 3)…", "busy"],
    [{ phase: "waiting", status: "starting" }, "Desktop starting…", "busy"],
    [{ phase: "waiting", status: "stopping" }, "Desktop stopping…", "busy"],
    [{ phase: "connected" }, "Connected", "ok"],
    [{ phase: "reconnecting", retryAt: now + 4200 }, "Reconnecting in 5s", "warn"],
    [{ phase: "reconnecting", retryAt: now - 10 }, "Reconnecting…", "warn"],
    [{ phase: "reconnecting" }, "Reconnecting…", "warn"],
    [{ phase: "stopped", reason: "stopped" }, "Desktop stopped", "idle"],
    [{ phase: "stopped", reason: "error", message: "Xvnc died" }, "Desktop failed", "error"],
    [{ phase: "stopped", reason: "not-found" }, "Desktop not found", "error"],
    [{ phase: "stopped", reason: "unauthorized" }, "Not authorized", "error"],
    [{ phase: "stopped", reason: "closed" }, "Disconnected", "idle"],
  ])("%j", (state, text, tone) => {
    expect(describeState(state, now)).toMatchObject({ text, tone });
  });
  it("carries the error message as detail", () => {
    expect(describeState({ phase: "stopped", reason: "error", message: "Xvnc died" }).detail).toBe("Xvnc died");
  });
});

describe("createStatus", () => {
  it("ticks the countdown while reconnecting", () => {
    vi.useFakeTimers();
    const status = createStatus();
    status.update({ phase: "reconnecting", retryAt: Date.now() + 3000 });
    expect(status.el.textContent).toBe("Reconnecting in 3s");
    expect(status.el.dataset.tone).toBe("warn");
    vi.advanceTimersByTime(1000);
    expect(status.el.textContent).toBe("Reconnecting in 2s");
    status.update({ phase: "connected" });
    expect(status.el.textContent).toBe("Connected");
    expect(vi.getTimerCount()).toBe(0);
    vi.useRealTimers();
  });
});

describe("createButton", () => {
  it("toggles aria-pressed and reports the new state", () => {
    const onClick = vi.fn();
    const b = createButton({ label: "View only", toggle: true, onClick });
    expect(b.getAttribute("aria-pressed")).toBe("false");
    b.click();
    expect(b.getAttribute("aria-pressed")).toBe("true");
    expect(onClick).toHaveBeenLastCalledWith(true, expect.anything());
    b.click();
    expect(onClick).toHaveBeenLastCalledWith(false, expect.anything());
  });
});
