// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createRequest, mountList } from "../src/list-page.js";
import { mountViewer, viewerPrefs } from "../src/viewer-page.js";
import { FakeRFB, FakeSocket } from "./fake-rfb.js";

const tick = (ms = 0) => vi.advanceTimersByTimeAsync(ms);
const config = { baseUrl: "/user/x/", page: "viewer", desktopId: "ab12", wsUrl: "desktop/api/desktops/ab12/vnc" };

function fakeApi(desktop = { id: "ab12", status: "running", profile: "xfce" }) {
  return {
    get: vi.fn(async () => (typeof desktop === "function" ? desktop() : desktop)),
    list: vi.fn(async () => []),
    create: vi.fn(),
    remove: vi.fn(async () => null),
    restart: vi.fn(async () => ({ ...desktop, status: "starting" })),
    getClipboard: vi.fn(async () => "remote text"),
    setClipboard: vi.fn(async () => null),
    screenshotUrl: (id) => `/user/x/desktop/api/desktops/${id}/screenshot?format=png`,
    recording: vi.fn(async () => null),
    call: vi.fn(async (id, op) => (op === "watch" ? new Promise(() => {}) : null)),
    startRecording: vi.fn(async (id) => ({ name: `${id}-rec`, path: `/root/desktop-recordings/${id}-rec`, recording: true, step_count: 0 })),
    stopRecording: vi.fn(async (id) => ({ name: `${id}-rec`, recording: false, step_count: 3, error: null })),
    recordings: vi.fn(async () => []),
    removeRecording: vi.fn(async () => null),
    recordingDownloadUrl: (name) => `/user/x/desktop/api/recordings/${name}/download`,
  };
}

beforeEach(() => {
  vi.useFakeTimers();
  FakeRFB.reset();
  document.body.innerHTML = '<div id="jupyter-desktop"></div>';
  localStorage.clear();
});
afterEach(() => vi.useRealTimers());

const root = () => document.getElementById("jupyter-desktop");
const button = (text) => [...root().querySelectorAll("button, a")].find((b) => b.textContent.trim() === text || b.getAttribute("aria-label") === text);

describe("viewerPrefs", () => {
  it("takes the query over saved preferences", () => {
    expect(viewerPrefs("", {})).toEqual({ scaleMode: "remote", viewOnly: false });
    expect(viewerPrefs("", { scaleMode: "scale" })).toEqual({ scaleMode: "scale", viewOnly: false });
    expect(viewerPrefs("?scale=none&view_only=1", { scaleMode: "scale" })).toEqual({ scaleMode: "none", viewOnly: true });
    expect(viewerPrefs("?view_only", {})).toMatchObject({ viewOnly: true });
    expect(viewerPrefs("?scale=zoom&view_only=0", { scaleMode: "bogus" })).toEqual({ scaleMode: "remote", viewOnly: false });
  });
});

describe("viewer page", () => {
  it("connects to the ws URL under the base URL and shows the status", async () => {
    const api = fakeApi();
    const { connection } = mountViewer(root(), config, { RFB: FakeRFB, WebSocket: FakeSocket, api });
    await tick();
    const rfb = FakeRFB.last;
    expect(rfb.url).toBeInstanceOf(FakeSocket); // ours, to see the screen's updates for the heartbeat
    expect(rfb.url.url).toBe(`ws://${location.host}/user/x/desktop/api/desktops/ab12/vnc`);
    expect(rfb.target).toBe(root().querySelector(".jd-screen"));
    expect(root().querySelector(".jd-status").textContent).toBe("Connecting…");
    rfb.connectNow();
    expect(root().dataset.state).toBe("connected");
    expect(root().querySelector(".jd-status").textContent).toBe("Connected");
    expect(root().querySelector(".jd-overlay").hidden).toBe(true);
    expect(rfb.focused).toBeGreaterThan(0);
    expect(root().querySelector(".jd-subtitle").textContent).toBe("xfce");
    expect(root().querySelector("a.jd-back").getAttribute("href")).toBe("/user/x/desktop/");
    connection.close();
  });

  it("shows a countdown while reconnecting and the error once the desktop stopped", async () => {
    let status = "running";
    const api = fakeApi(() => ({ id: "ab12", status, error: status === "error" ? "Xvnc exited with status 1" : null }));
    const { connection } = mountViewer(root(), config, { RFB: FakeRFB, WebSocket: FakeSocket, api });
    await tick();
    FakeRFB.last.connectNow();
    FakeRFB.last.drop(false);
    await tick();
    expect(root().querySelector(".jd-status").textContent).toMatch(/^Reconnecting in [12]s$/);
    const overlay = root().querySelector(".jd-overlay");
    expect(overlay.hidden).toBe(false);
    expect(overlay.textContent).toContain("Retry now");
    expect(root().querySelector(".jd-last-frame").hidden).toBe(false);

    status = "error";
    await tick(2000);
    FakeRFB.last.drop(false);
    await tick();
    expect(root().dataset.state).toBe("stopped");
    expect(overlay.querySelector(".jd-overlay-title").textContent).toBe("Desktop failed");
    expect(overlay.querySelector(".jd-overlay-detail").textContent).toBe("Xvnc exited with status 1");
    const count = FakeRFB.instances.length;
    await tick(120000);
    expect(FakeRFB.instances.length).toBe(count); // no more retries

    // Restart from the overlay: POST restart, then back through "starting" to a connection.
    status = "starting";
    button("Restart desktop").click();
    await tick();
    expect(api.restart).toHaveBeenCalledWith("ab12");
    expect(root().dataset.state).toBe("waiting");
    status = "running";
    await tick(1000);
    expect(FakeRFB.instances.length).toBe(count + 1);
    connection.close();
  });

  it("toggles view-only and scale mode on the live connection", async () => {
    const { connection } = mountViewer(root(), config, { RFB: FakeRFB, WebSocket: FakeSocket, api: fakeApi() });
    await tick();
    FakeRFB.last.connectNow();
    button("View only").click();
    expect(FakeRFB.last.viewOnly).toBe(true);
    expect(root().classList.contains("jd-view-only")).toBe(true);
    const select = root().querySelector("select.jd-select");
    select.value = "scale";
    select.dispatchEvent(new Event("change"));
    expect(FakeRFB.last).toMatchObject({ scaleViewport: true, resizeSession: false });
    expect(JSON.parse(localStorage.getItem("jupyter-desktop:viewer")).scaleMode).toBe("scale");
    connection.close();
  });

  it("sends, receives and fetches clipboard text", async () => {
    const api = fakeApi();
    const { connection, clipboard } = mountViewer(root(), config, { RFB: FakeRFB, WebSocket: FakeSocket, api });
    await tick();
    FakeRFB.last.connectNow();
    button("Clipboard").click();
    expect(clipboard.open).toBe(true);
    clipboard.textarea.value = "hello desktop";
    button("Send to desktop").click();
    await tick();
    expect(FakeRFB.last.pasted).toEqual(["hello desktop"]);

    clipboard.textarea.blur();
    FakeRFB.last.remoteClipboard("copied on the desktop");
    expect(clipboard.textarea.value).toBe("copied on the desktop");

    button("Fetch from desktop").click();
    await tick();
    expect(api.getClipboard).toHaveBeenCalledWith("ab12");
    expect(clipboard.textarea.value).toBe("remote text");

    // not connected: falls back to the REST API
    connection.close();
    clipboard.textarea.value = "later";
    button("Send to desktop").click();
    await tick();
    expect(api.setClipboard).toHaveBeenCalledWith("ab12", "later");
  });

  it("downloads a screenshot from the canvas", async () => {
    const clicks = [];
    vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function () {
      clicks.push(this.getAttribute("download"));
    });
    URL.createObjectURL = vi.fn(() => "blob:x");
    URL.revokeObjectURL = vi.fn();
    const { connection } = mountViewer(root(), config, { RFB: FakeRFB, WebSocket: FakeSocket, api: fakeApi() });
    await tick();
    FakeRFB.last.connectNow();
    button("Screenshot").click();
    await tick();
    expect(clicks).toHaveLength(1);
    expect(clicks[0]).toMatch(/^desktop-ab12-.*\.png$/);
    connection.close();
  });
});

describe("viewer embedded in JupyterLab's tab", () => {
  it("leaves the host page's title, URL and query alone", async () => {
    history.replaceState(null, "", "/lab/tree?view_only=1&scale=none");
    document.title = "JupyterLab";
    const href = location.href;
    const page = mountViewer(root(), config, { RFB: FakeRFB, WebSocket: FakeSocket, api: fakeApi(), embedded: true, openList: vi.fn() });
    await tick();
    expect(FakeRFB.last).toMatchObject({ viewOnly: false, resizeSession: true }); // Lab's query is not the viewer's
    FakeRFB.last.connectNow();
    FakeRFB.last.drop(false); // connected, then reconnecting: each state change would title a page
    await tick();
    expect(document.title).toBe("JupyterLab");
    expect(location.href).toBe(href);
    expect(root().classList.contains("jd-embedded")).toBe(true);
    page.dispose();
    // the server's page, by contrast, follows its query and titles itself
    const standalone = mountViewer(root(), config, { RFB: FakeRFB, WebSocket: FakeSocket, api: fakeApi() });
    await tick();
    expect(FakeRFB.last).toMatchObject({ viewOnly: true, resizeSession: false });
    expect(document.title).not.toBe("JupyterLab");
    standalone.dispose();
    history.replaceState(null, "", "/");
  });

  it("keeps JupyterLab's shortcuts out of the screen", () => {
    const page = mountViewer(root(), config, { RFB: FakeRFB, WebSocket: FakeSocket, api: fakeApi(), embedded: true });
    expect(root().querySelector(".jd-screen").getAttribute("data-lm-suppress-shortcuts")).toBe("true");
    page.dispose();
  });

  it("turns the links to the list into opening the list tab", async () => {
    const openList = vi.fn();
    const page = mountViewer(root(), { ...config, desktopId: "gone" }, { RFB: FakeRFB, WebSocket: FakeSocket, api: { ...fakeApi(), get: vi.fn(async () => Promise.reject(Object.assign(new Error("no desktop"), { status: 404 }))) }, embedded: true, openList });
    await tick();
    const back = root().querySelector("a.jd-back");
    expect(back.getAttribute("href")).toBe("/user/x/desktop/"); // still a real link (middle click: a browser tab)
    const click = new MouseEvent("click", { bubbles: true, cancelable: true, button: 0 });
    back.dispatchEvent(click);
    expect(click.defaultPrevented).toBe(true);
    expect(openList).toHaveBeenCalledTimes(1);
    const ctrlClick = new MouseEvent("click", { bubbles: true, cancelable: true, button: 0, ctrlKey: true });
    back.dispatchEvent(ctrlClick);
    expect(ctrlClick.defaultPrevented).toBe(false);
    expect(openList).toHaveBeenCalledTimes(1);
    // the desktop is gone: the overlay's "All desktops" opens the list tab too
    expect(root().dataset.state).toBe("stopped");
    const all = button("All desktops");
    const click2 = new MouseEvent("click", { bubbles: true, cancelable: true, button: 0 });
    all.dispatchEvent(click2);
    expect(click2.defaultPrevented).toBe(true);
    expect(openList).toHaveBeenCalledTimes(2);
    page.dispose();
  });

  it("closes the connection and drops its listeners when the tab is disposed", async () => {
    const added = [];
    const removed = [];
    const add = window.addEventListener.bind(window);
    const remove = window.removeEventListener.bind(window);
    vi.spyOn(window, "addEventListener").mockImplementation((type, fn, o) => (added.push([type, fn]), add(type, fn, o)));
    vi.spyOn(window, "removeEventListener").mockImplementation((type, fn, o) => (removed.push([type, fn]), remove(type, fn, o)));
    const api = fakeApi();
    const page = mountViewer(root(), config, { RFB: FakeRFB, WebSocket: FakeSocket, api, embedded: true });
    await tick();
    const rfb = FakeRFB.last;
    rfb.connectNow();
    page.dispose();
    expect(rfb.disconnected).toBe(true);
    expect(root().dataset.state).toBe("stopped");
    for (const entry of added) expect(removed).toContainEqual(entry); // pagehide, pageshow, online
    const calls = api.get.mock.calls.length;
    await tick(120000);
    expect(FakeRFB.instances.length).toBe(1); // no reconnection after dispose
    expect(api.get.mock.calls.length).toBe(calls);
    page.dispose(); // twice is harmless
  });
});

describe("list page", () => {
  const now = Date.now() / 1000;
  const desktops = [
    { id: "run1", status: "running", profile: "openbox", width: 1280, height: 800, created: now - 600, last_activity: now - 5 },
    { id: "err1", status: "error", error: "Xvnc exited with status 1", profile: "xfce", width: 1024, height: 768, created: now - 60, last_activity: now - 60 },
  ];

  it("lists desktops with coloured status, size, profile and actions, and polls", async () => {
    const api = fakeApi();
    api.list.mockResolvedValue(desktops);
    const page = mountList(root(), { baseUrl: "/user/x/", page: "list" }, { api, pollInterval: 3000 });
    await tick();
    const rows = [...root().querySelectorAll(".jd-desktops tbody tr")];
    expect(rows.map((r) => r.dataset.id)).toEqual(["err1", "run1"]); // newest first
    const [err, run] = rows;
    expect(run.querySelector(".jd-badge").dataset.tone).toBe("ok");
    expect(run.textContent).toContain("1280×800");
    expect(run.textContent).toContain("openbox");
    expect(run.textContent).toContain("10 min");
    expect(run.querySelector("a.jd-button").getAttribute("href")).toBe("/user/x/desktop/run1/");
    expect(err.querySelector(".jd-badge").dataset.tone).toBe("error");
    expect(err.textContent).toContain("Xvnc exited with status 1");
    expect([...err.querySelectorAll("button")].map((b) => b.textContent)).toEqual(["Restart", "Remove"]);
    expect([...run.querySelectorAll("button")].map((b) => b.textContent)).toEqual(["Stop"]);
    expect(api.list).toHaveBeenCalledTimes(1);
    await tick(3000);
    expect(api.list).toHaveBeenCalledTimes(2);
    page.stop();
  });

  it("stops (after confirming) and restarts", async () => {
    const api = fakeApi();
    api.list.mockResolvedValue(desktops);
    window.confirm = vi.fn(() => true);
    const page = mountList(root(), { baseUrl: "/user/x/", page: "list" }, { api });
    await tick();
    root().querySelector('tr[data-id="run1"] button').click();
    await tick();
    expect(window.confirm).toHaveBeenCalledOnce();
    expect(api.remove).toHaveBeenCalledWith("run1");
    root().querySelector('tr[data-id="err1"] button').click();
    await tick();
    expect(api.restart).toHaveBeenCalledWith("err1");
    page.stop();
  });

  it("shows the server's message when a desktop cannot be started", async () => {
    const api = fakeApi();
    api.create.mockRejectedValue(new Error("at most 2 desktops per user"));
    const page = mountList(root(), { baseUrl: "/user/x/", page: "list" }, { api });
    await tick();
    root().querySelector("select[name=profile]").value = "xfce";
    root().querySelector("select[name=size]").value = "1280x800";
    root().querySelector("form").dispatchEvent(new Event("submit", { cancelable: true }));
    await tick();
    expect(api.create).toHaveBeenCalledWith({ profile: "xfce", width: 1280, height: 800 });
    expect(root().querySelector(".jd-banner").hidden).toBe(false);
    expect(root().querySelector(".jd-banner").textContent).toBe("Could not start a desktop: at most 2 desktops per user");
    expect(root().querySelector("button.jd-new").disabled).toBe(false);
    page.stop();
  });

  it("says so when the list cannot be loaded, and shows an empty state", async () => {
    const api = fakeApi();
    api.list.mockRejectedValueOnce(new Error("cannot reach the Jupyter server")).mockResolvedValue([]);
    const page = mountList(root(), { baseUrl: "/", page: "list" }, { api, pollInterval: 1000 });
    await tick();
    expect(root().querySelector(".jd-banner").textContent).toBe("Cannot list desktops: cannot reach the Jupyter server");
    await tick(1000);
    expect(root().querySelector(".jd-banner").hidden).toBe(true);
    expect(root().querySelector(".jd-empty").textContent).toMatch(/No desktops yet/);
    page.stop();
  });

  it("builds the create request", () => {
    expect(createRequest("openbox", "window", { innerWidth: 1500, innerHeight: 940 })).toEqual({ profile: "openbox", width: 1500, height: 900 });
    expect(createRequest("none", "1920x1080")).toEqual({ profile: "none", width: 1920, height: 1080 });
    expect(createRequest("", "")).toEqual({});
  });
});

describe("list embedded in JupyterLab's tab", () => {
  const desktops = [{ id: "run1", status: "running", profile: "openbox", width: 1280, height: 800, created: Date.now() / 1000 }];

  it("opens desktops in the host's tabs instead of navigating", async () => {
    const api = fakeApi();
    api.list.mockResolvedValue(desktops);
    api.create.mockResolvedValue({ id: "new1", status: "starting" });
    const openViewer = vi.fn();
    const href = location.href;
    const page = mountList(root(), { baseUrl: "/user/x/", page: "list" }, { api, embedded: true, openViewer, isVisible: () => true });
    await tick();
    for (const link of root().querySelectorAll('tr[data-id="run1"] a')) {
      expect(link.getAttribute("href")).toBe("/user/x/desktop/run1/");
      const click = new MouseEvent("click", { bubbles: true, cancelable: true, button: 0 });
      link.dispatchEvent(click);
      expect(click.defaultPrevented).toBe(true);
    }
    expect(openViewer.mock.calls).toEqual([["run1"], ["run1"]]); // the id's link and "Open"
    root().querySelector("form").dispatchEvent(new Event("submit", { cancelable: true }));
    await tick();
    expect(openViewer).toHaveBeenLastCalledWith("new1");
    expect(location.href).toBe(href);
    expect(root().querySelector("button.jd-new").disabled).toBe(false); // the list stays usable
    page.dispose();
  });

  it("pauses polling while the person is away (a forgotten page must not look like use to JupyterHub)", async () => {
    const api = fakeApi();
    const page = mountList(root(), { baseUrl: "/", page: "list" }, { api, pollInterval: 1000, idleAfter: 3000 });
    await tick();
    await tick(2900);
    const whilePresent = api.list.mock.calls.length;
    expect(whilePresent).toBeGreaterThanOrEqual(3);
    await tick(2000);
    const away = api.list.mock.calls.length;
    expect(away).toBeLessThanOrEqual(whilePresent + 1); // at most the one due at the limit
    await tick(60000); // nobody moved: no more requests
    expect(api.list).toHaveBeenCalledTimes(away);
    expect(root().querySelector(".jd-updated").textContent).toMatch(/Paused while you are away/);
    window.dispatchEvent(new Event("pointermove")); // back: at once, then every second again
    await tick();
    const back = api.list.mock.calls.length;
    expect(back).toBe(away + 1);
    await tick(2000);
    expect(api.list.mock.calls.length).toBe(back + 2);
    page.stop();
  });

  it("polls only while its tab is shown, and not at all once disposed", async () => {
    const api = fakeApi();
    let shown = true;
    const page = mountList(root(), { baseUrl: "/", page: "list" }, { api, pollInterval: 1000, embedded: true, openViewer: vi.fn(), isVisible: () => shown });
    await tick();
    expect(api.list).toHaveBeenCalledTimes(1);
    await tick(1000);
    expect(api.list).toHaveBeenCalledTimes(2);
    shown = false; // another Lab tab in front
    await tick(5000);
    expect(api.list).toHaveBeenCalledTimes(2);
    shown = true;
    await page.refresh(); // the tab shown again: the host asks at once
    expect(api.list).toHaveBeenCalledTimes(3);
    page.dispose();
    await tick(10000);
    document.dispatchEvent(new Event("visibilitychange"));
    await tick();
    expect(api.list).toHaveBeenCalledTimes(3);
  });

  it("stops polling even when disposed while a poll is in flight", async () => {
    const api = fakeApi();
    let answer;
    api.list.mockImplementation(() => new Promise((resolve) => (answer = resolve)));
    const page = mountList(root(), { baseUrl: "/", page: "list" }, { api, pollInterval: 1000 });
    answer([]);
    await tick(1000); // the timer's poll is in flight
    expect(api.list).toHaveBeenCalledTimes(2);
    page.stop();
    answer([]);
    await tick(10000);
    expect(api.list).toHaveBeenCalledTimes(2);
  });
});

describe("recording", () => {
  it("the viewer's record button starts and stops the server's recording and says so", async () => {
    const api = fakeApi();
    const page = mountViewer(root(), config, { RFB: FakeRFB, WebSocket: FakeSocket, api });
    await tick();
    FakeRFB.last.connectNow();
    await tick();
    expect(api.recording).toHaveBeenCalledWith("ab12"); // connected: it asks whether one is under way
    const record = button("Record");
    expect(record.getAttribute("aria-pressed")).toBe("false");
    record.click();
    await tick();
    expect(api.startRecording).toHaveBeenCalledWith("ab12");
    expect(record.getAttribute("aria-pressed")).toBe("true");
    expect(root().querySelector(".jd-note").textContent).toBe("Recording into ab12-rec");
    record.click();
    await tick();
    expect(api.stopRecording).toHaveBeenCalledWith("ab12");
    expect(record.getAttribute("aria-pressed")).toBe("false");
    expect(root().querySelector(".jd-note").textContent).toContain("Recorded 3 steps: ab12-rec");
    // refused (already recording from a kernel): the server's message, and the button shows the server's state
    api.startRecording.mockRejectedValueOnce(new Error("desktop ab12 is already recording (/nb/run); stop that recording first"));
    api.recording.mockResolvedValueOnce({ name: null, path: "/nb/run", recording: true });
    record.click();
    await tick();
    expect(root().querySelector(".jd-note").dataset.tone).toBe("error");
    expect(root().querySelector(".jd-note").textContent).toContain("already recording");
    expect(record.getAttribute("aria-pressed")).toBe("true");
    expect(record.title).toContain("/nb/run");
    page.dispose();
  });

  it("the list page shows the recordings, downloads and deletes them", async () => {
    const api = fakeApi();
    const now = Date.now() / 1000;
    api.recordings.mockResolvedValue([
      { name: null, path: "/nb/live", desktop: "run1", recording: true, start: now - 30, end: null, step_count: 2, bytes: 1500, video: ["video.mp4"] },
      { name: "done-1", path: "/r/done-1", desktop: "run1", recording: false, start: now - 600, end: now - 480, step_count: 12, bytes: 3400000, video: ["video.mp4"] },
    ]);
    window.confirm = vi.fn(() => true);
    const page = mountList(root(), { baseUrl: "/user/x/", page: "list" }, { api });
    await tick();
    const rows = [...root().querySelectorAll(".jd-recordings tbody tr")];
    expect(rows.map((r) => r.dataset.recording)).toEqual(["/nb/live", "done-1"]);
    expect(rows[0].querySelector(".jd-badge").textContent).toBe("recording");
    expect(rows[0].querySelector("button")).toBeNull(); // no delete while it records
    expect(rows[1].textContent).toContain("2 min");
    expect(rows[1].textContent).toContain("3.4 MB");
    expect(rows[1].querySelector("a").getAttribute("href")).toBe("/user/x/desktop/api/recordings/done-1/download");
    rows[1].querySelector("button").click();
    await tick();
    expect(window.confirm).toHaveBeenCalledOnce();
    expect(api.removeRecording).toHaveBeenCalledWith("done-1");
    expect(api.recordings.mock.calls.length).toBeGreaterThanOrEqual(2); // listed again
    page.stop();
  });
});
