// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from "vitest";
import { DesktopApi } from "../src/api.js";
import {
  attachDropTarget,
  chunkRanges,
  CommUploads,
  createUploader,
  freeName,
  hasFiles,
  nameProblem,
  planDrop,
  restUploads,
  summary,
  UPLOAD_LIMITS,
} from "../src/upload.js";
import { FakeModel } from "./fake-model.js";

const MiB = 1 << 20;
const entry = (name, size = 10, folder = false) => ({ file: { name, size }, folder });
const bytes = (n, seed = 0) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) % 256);

/** A drag event as the browser makes it: `types` says what is dragged. */
function dragEvent(type, { types = ["Files"], files = [] } = {}) {
  const e = new Event(type, { bubbles: true, cancelable: true });
  const items = files.map((file) => ({ kind: "file", getAsFile: () => file, webkitGetAsEntry: () => ({ isDirectory: file.folder === true }) }));
  Object.defineProperty(e, "dataTransfer", { value: { types, items, files, dropEffect: "none" } });
  return e;
}

afterEach(() => {
  document.body.textContent = "";
  vi.useRealTimers();
});

describe("the rules", () => {
  it("refuses names a file cannot have on the desktop", () => {
    expect(nameProblem("report.pdf")).toBe("");
    expect(nameProblem("été 2024 (copie).txt")).toBe("");
    expect(nameProblem("")).toMatch(/no name/);
    expect(nameProblem("a/b")).toMatch(/\//);
    expect(nameProblem("a\0b")).toMatch(/NUL/);
    expect(nameProblem("..")).toMatch(/not a file's name/);
    expect(nameProblem("é".repeat(128))).toMatch(/255 bytes/); // 256 bytes in UTF-8
    expect(nameProblem("a".repeat(255))).toBe("");
  });

  it("numbers a name that is taken, before its extension", () => {
    expect(freeName("report.pdf", new Set(["other.pdf"]))).toBe("report.pdf");
    expect(freeName("report.pdf", new Set(["report.pdf"]))).toBe("report (1).pdf");
    expect(freeName("report.pdf", new Set(["report.pdf", "report (1).pdf"]))).toBe("report (2).pdf");
    expect(freeName("archive.tar.gz", new Set(["archive.tar.gz"]))).toBe("archive.tar (1).gz");
    expect(freeName(".bashrc", new Set([".bashrc"]))).toBe(".bashrc (1)");
    expect(freeName("Makefile", new Set(["Makefile"]))).toBe("Makefile (1)");
  });

  it("cuts a file into chunks, none for an empty one", () => {
    expect(chunkRanges(0)).toEqual([]);
    expect(chunkRanges(MiB)).toEqual([[0, MiB]]);
    expect(chunkRanges(MiB + 1)).toEqual([[0, MiB], [MiB, MiB + 1]]);
    expect(chunkRanges(10, 4)).toEqual([[0, 4], [4, 8], [8, 10]]);
  });

  it("tells a drag of files from a drag of text", () => {
    expect(hasFiles({ types: ["Files"] })).toBe(true);
    expect(hasFiles({ types: ["text/plain", "text/html"] })).toBe(false);
    expect(hasFiles(null)).toBe(false);
  });

  it("refuses a whole drop past the count or the total, naming the limit", () => {
    const many = Array.from({ length: 1000 }, (_, i) => entry(`f${i}`));
    const plan = planDrop(many);
    expect(plan.files).toEqual([]);
    expect(plan.refused).toMatch(/1000 files dropped: at most 100 at a time/);
    const big = Array.from({ length: 5 }, (_, i) => entry(`f${i}`, 60 * MiB));
    expect(planDrop(big).refused).toMatch(/at most 256 MiB at a time/);
    expect(planDrop(Array.from({ length: 100 }, (_, i) => entry(`f${i}`))).refused).toBe(null);
  });

  it("skips a file too big, a folder or a bad name, and keeps the rest", () => {
    const plan = planDrop([entry("ok.txt"), entry("huge.iso", 1024 * MiB), entry("photos", 0, true), entry("", 3), entry("max.bin", UPLOAD_LIMITS.fileBytes)]);
    expect(plan.refused).toBe(null);
    expect(plan.files.map((f) => f.name)).toEqual(["ok.txt", "max.bin"]);
    expect(plan.skipped).toEqual([
      { name: "huge.iso", reason: "it is 1.1 GB; a file is at most 64 MiB" },
      { name: "photos", reason: expect.stringMatching(/folder/) },
      { name: "(no name)", reason: "it has no name" },
    ]);
  });

  it("says where each file went", () => {
    const done = [{ name: "a.txt", path: "~/Desktop/a.txt" }, { name: "a.txt", path: "~/Desktop/a (1).txt" }];
    expect(summary(done, [], [])).toBe("Uploaded a.txt to ~/Desktop/a.txt, a.txt to ~/Desktop/a (1).txt.");
    expect(summary([], [{ name: "x", reason: "it is a folder" }], [{ name: "y", reason: "disk full" }])).toBe(
      "Skipped x: it is a folder. Could not upload y: disk full",
    );
  });
});

describe("the drop target", () => {
  function target(refusal = () => "") {
    const stage = document.createElement("div");
    document.body.append(stage);
    const dropped = [];
    const t = attachDropTarget({ target: stage, refusal, onDrop: (entries) => dropped.push(entries) });
    return { stage, overlay: t.overlay, dropped, dispose: t.dispose };
  }

  it("shows the overlay while files are dragged over it, and takes the drop from the browser", () => {
    const { stage, overlay, dropped } = target();
    const enter = dragEvent("dragenter");
    stage.dispatchEvent(enter);
    expect(enter.defaultPrevented).toBe(true);
    expect(overlay.hidden).toBe(false);
    expect(overlay.textContent).toContain("Drop to upload to ~/Desktop");
    const over = dragEvent("dragover");
    stage.dispatchEvent(over);
    expect(over.defaultPrevented).toBe(true); // else the browser would not drop here (and would open the file)
    expect(over.dataTransfer.dropEffect).toBe("copy");
    // crossing into a child: enter the child, then leave the stage itself: still over it
    stage.dispatchEvent(dragEvent("dragenter"));
    stage.dispatchEvent(dragEvent("dragleave"));
    expect(overlay.hidden).toBe(false);
    const file = new File([bytes(3)], "a.bin");
    const drop = dragEvent("drop", { files: [file] });
    stage.dispatchEvent(drop);
    expect(drop.defaultPrevented).toBe(true);
    expect(overlay.hidden).toBe(true);
    expect(dropped).toEqual([[{ file, folder: false }]]);
  });

  it("hides the overlay when the drag leaves", () => {
    const { stage, overlay } = target();
    stage.dispatchEvent(dragEvent("dragenter"));
    stage.dispatchEvent(dragEvent("dragleave"));
    expect(overlay.hidden).toBe(true);
  });

  it("leaves a drag of text alone", () => {
    const { stage, overlay, dropped } = target();
    for (const type of ["dragenter", "dragover", "drop"]) {
      const e = dragEvent(type, { types: ["text/plain"] });
      stage.dispatchEvent(e);
      expect(e.defaultPrevented).toBe(false);
    }
    expect(overlay.hidden).toBe(true);
    expect(dropped).toEqual([]);
  });

  it("says why in the overlay when a drop would be refused", () => {
    const { stage, overlay } = target(() => "View only: turn it off to upload files to the desktop.");
    stage.dispatchEvent(dragEvent("dragenter"));
    expect(overlay.dataset.tone).toBe("error");
    expect(overlay.textContent).toContain("View only");
    const over = dragEvent("dragover");
    stage.dispatchEvent(over);
    expect(over.dataTransfer.dropEffect).toBe("none");
  });

  it("marks folders among the dropped items", () => {
    const { stage, dropped } = target();
    const folder = Object.assign(new File([], "photos"), { folder: true });
    stage.dispatchEvent(dragEvent("drop", { files: [folder] }));
    expect(dropped[0][0].folder).toBe(true);
  });

  it("goes away with dispose", () => {
    const { stage, overlay, dispose, dropped } = target();
    dispose();
    stage.dispatchEvent(dragEvent("drop", { files: [new File(["x"], "x")] }));
    expect(dropped).toEqual([]);
    expect(overlay.isConnected).toBe(false);
  });
});

/**
 * A kernel for CommUploads: widget.py + upload.py's answers, in JavaScript. It assembles each upload, acks each
 * message (on the next task: the kernel is another process), and records the most chunks ever unacknowledged.
 */
class FakeKernel extends FakeModel {
  constructor({ refuseAt = null, silent = false } = {}) {
    super();
    this.files = new Map(); // id -> Uint8Array[]
    this.written = {}; // name -> bytes
    this.unacked = 0;
    this.maxUnacked = 0;
    this.refuseAt = refuseAt;
    this.silent = silent;
  }

  send(content, callbacks, buffers = []) {
    super.send(content, callbacks, buffers);
    if (content.op === "chunk") this.maxUnacked = Math.max(this.maxUnacked, ++this.unacked);
    if (this.silent) return;
    setTimeout(() => this.answer(content, buffers), 0);
  }

  answer(c, buffers) {
    const reply = (m) => this.kernelSend({ type: "upload", id: c.id, ...m });
    if (c.op === "start") {
      this.files.set(c.id, { name: c.name, parts: [], size: c.size });
      reply({ op: "ack", received: 0 });
    } else if (c.op === "chunk") {
      this.unacked -= 1;
      const f = this.files.get(c.id);
      if (!f) return;
      f.parts.push(new Uint8Array(buffers[0]));
      const received = f.parts.reduce((n, p) => n + p.length, 0);
      if (this.refuseAt !== null && received >= this.refuseAt) {
        this.files.delete(c.id);
        return reply({ op: "error", message: "the disk is full" });
      }
      reply({ op: "ack", received });
    } else if (c.op === "end") {
      const f = this.files.get(c.id);
      this.files.delete(c.id);
      const all = new Uint8Array(f.parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of f.parts) all.set(p, (at += p.length) - p.length);
      const name = freeName(f.name, new Set(Object.keys(this.written)));
      this.written[name] = all;
      reply({ op: "done", name, path: `~/Desktop/${name}` });
    } else if (c.op === "abort") {
      this.files.delete(c.id);
    }
  }
}

describe("uploads through the comm", () => {
  it("sends a file in chunks, a few ahead of the kernel, and resolves to where it went", async () => {
    const kernel = new FakeKernel();
    const uploads = new CommUploads(kernel, { chunk: 1000, window: 3 });
    const data = bytes(10500);
    const seen = [];
    const result = await uploads.upload(new File([data], "data.bin"), (n) => seen.push(n));
    expect(result).toEqual({ name: "data.bin", path: "~/Desktop/data.bin", saved: "data.bin" });
    expect(kernel.written["data.bin"]).toEqual(data);
    const chunks = kernel.sentOf("upload", "chunk");
    expect(chunks.map((m) => m.content.offset)).toEqual([0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000]);
    expect(chunks.every((m) => m.buffers.length === 1)).toBe(true);
    expect(kernel.maxUnacked).toBe(3);
    expect(seen.at(-1)).toBe(10500);
    expect(kernel.sentOf("upload", "start")[0].content).toMatchObject({ name: "data.bin", size: 10500 });
    // a second one of the same name: the kernel names it
    const again = await uploads.upload(new File([bytes(5)], "data.bin"));
    expect(again.path).toBe("~/Desktop/data (1).bin");
    expect(uploads.pending.size).toBe(0);
  });

  it("sends an empty file as start and end", async () => {
    const kernel = new FakeKernel();
    await new CommUploads(kernel).upload(new File([], "empty.txt"));
    expect(kernel.sent.map((m) => m.content.op)).toEqual(["start", "end"]);
    expect(kernel.written["empty.txt"]).toEqual(new Uint8Array(0));
  });

  it("stops at the kernel's refusal", async () => {
    const kernel = new FakeKernel({ refuseAt: 2000 });
    const uploads = new CommUploads(kernel, { chunk: 1000, window: 2 });
    await expect(uploads.upload(new File([bytes(20000)], "big.bin"))).rejects.toThrow("the disk is full");
    expect(kernel.sentOf("upload", "chunk").length).toBeLessThanOrEqual(4); // not the 20 chunks
    expect(kernel.sentOf("upload", "end")).toEqual([]);
    expect(kernel.sentOf("upload", "abort").length).toBe(1);
  });

  it("gives up when the kernel does not answer, and tells it to drop what it holds", async () => {
    vi.useFakeTimers();
    const kernel = new FakeKernel({ silent: true });
    const uploads = new CommUploads(kernel, { answerMs: 5000 });
    const done = uploads.upload(new File(["abc"], "a.txt"));
    const caught = done.catch((err) => err);
    await vi.advanceTimersByTimeAsync(5001);
    expect((await caught).message).toMatch(/did not answer in 5 s/);
    expect(kernel.sentOf("upload", "abort").length).toBe(1);
  });

  it("says the kernel is not reachable when the comm is gone", async () => {
    const kernel = new FakeKernel();
    kernel.failSend = new Error("comm closed");
    await expect(new CommUploads(kernel).upload(new File(["a"], "a"))).rejects.toThrow(/not reachable: comm closed/);
  });
});

describe("the uploader", () => {
  function uploader(options = {}) {
    const stage = document.createElement("div");
    document.body.append(stage);
    const notes = [];
    const calls = [];
    const u = createUploader({
      target: stage,
      say: (text, tone = "") => notes.push([text, tone]),
      upload: async (file, progress) => {
        calls.push(file.name);
        progress(file.size);
        if (file.name.startsWith("bad")) throw new Error("refused");
        return { name: file.name, path: `~/Desktop/${file.name}` };
      },
      ...options,
    });
    return { stage, notes, calls, u };
  }

  it("uploads the files one after the other and says where each went", async () => {
    const { notes, calls, u } = uploader();
    await u.drop([{ file: new File(["1"], "one.txt") }, { file: new File(["2"], "bad.txt") }, { file: new File([], "x"), folder: true }]);
    expect(calls).toEqual(["one.txt", "bad.txt"]);
    expect(notes.some(([t]) => t === "Uploading one.txt (1 of 2)… 100%")).toBe(true);
    expect(notes.at(-1)).toEqual([
      "Uploaded one.txt to ~/Desktop/one.txt. Skipped x: it is a folder (drop the files in it, or a .zip). Could not upload bad.txt: refused",
      "error",
    ]);
  });

  it("refuses in view only, saying so, and sends nothing", async () => {
    const { notes, calls, u } = uploader({ viewOnly: () => true });
    await u.drop([{ file: new File(["1"], "one.txt") }]);
    expect(calls).toEqual([]);
    expect(notes).toEqual([["View only: turn it off to upload files to the desktop.", "error"]]);
  });

  it("refuses 1000 files before sending any", async () => {
    const { notes, calls, u } = uploader();
    await u.drop(Array.from({ length: 1000 }, (_, i) => ({ file: new File(["x"], `f${i}`) })));
    expect(calls).toEqual([]);
    expect(notes).toEqual([["1000 files dropped: at most 100 at a time. Nothing was uploaded.", "error"]]);
  });

  it("refuses a drop while another one uploads", async () => {
    let release;
    const { notes, u } = uploader({ upload: () => new Promise((resolve) => (release = () => resolve({ name: "a", path: "~/Desktop/a" }))) });
    const first = u.drop([{ file: new File(["1"], "a") }]);
    await Promise.resolve();
    expect(u.busy()).toBe(true);
    await u.drop([{ file: new File(["2"], "b") }]);
    expect(notes.at(-1)).toEqual(["An upload is under way: drop more files when it is done.", "error"]);
    release();
    await first;
    expect(u.busy()).toBe(false);
  });
});

describe("the viewer's REST uploads", () => {
  function fakeFetch(listing, existing = new Set()) {
    const requests = [];
    const fetch = async (url, init) => {
      requests.push({ url, init });
      const put = init.method === "PUT" && decodeURIComponent(new URL(url, "http://x").searchParams.get("path"));
      if (put && existing.has(put)) {
        const body = { message: `cannot write '${put}': it exists (exclusive: not replaced)`, error: "ExistingFileError" };
        return new Response(JSON.stringify(body), { status: 409, headers: { "Content-Type": "application/json" } });
      }
      if (url.includes("/call/list_files")) {
        if (listing === null) {
          const body = { message: "no directory 'Desktop' on desktop ab12", error: "InvalidInputError" };
          return new Response(JSON.stringify(body), { status: 400, headers: { "Content-Type": "application/json" } });
        }
        return new Response(JSON.stringify({ result: listing }), { status: 200, headers: { "Content-Type": "application/json" } });
      }
      return new Response(null, { status: 204 });
    };
    return { fetch, requests };
  }

  it("lists ~/Desktop once, then PUTs each file under a free name, with the XSRF header", async () => {
    const { fetch, requests } = fakeFetch([{ name: "a.txt", type: "file" }]);
    const api = new DesktopApi("/user/x/", { fetch, cookies: () => "_xsrf=tok" });
    const rest = restUploads(api, "ab12");
    await rest.prepare();
    const file = new File(["hello"], "a.txt");
    expect(await rest.upload(file)).toEqual({ name: "a.txt", path: "~/Desktop/a (1).txt" });
    expect(await rest.upload(new File(["again"], "a.txt"))).toEqual({ name: "a.txt", path: "~/Desktop/a (2).txt" });
    expect(requests.map((r) => `${r.init.method} ${r.url}`)).toEqual([
      "POST /user/x/desktop/api/desktops/ab12/call/list_files",
      "PUT /user/x/desktop/api/desktops/ab12/files?path=Desktop%2Fa%20(1).txt&parents=1&exclusive=1",
      "PUT /user/x/desktop/api/desktops/ab12/files?path=Desktop%2Fa%20(2).txt&parents=1&exclusive=1",
    ]);
    expect(JSON.parse(requests[0].init.body)).toEqual({ args: { path: "Desktop" } });
    const put = requests[1].init;
    expect(put.body).toBe(file); // the file itself: the browser streams it
    expect(put.headers["Content-Type"]).toBe("application/octet-stream");
    expect(put.headers["X-XSRFToken"]).toBe("tok");
  });

  it("never replaces a file made since the listing: the next free name", async () => {
    const { fetch, requests } = fakeFetch([], new Set(["Desktop/a.txt", "Desktop/a (1).txt"]));
    const rest = restUploads(new DesktopApi("/", { fetch, cookies: () => "" }), "ab12");
    await rest.prepare();
    expect(await rest.upload(new File(["x"], "a.txt"))).toEqual({ name: "a.txt", path: "~/Desktop/a (2).txt" });
    expect(requests.filter((r) => r.init.method === "PUT")).toHaveLength(3);
  });

  it("takes a missing ~/Desktop as empty (the PUT creates it)", async () => {
    const { fetch } = fakeFetch(null);
    const rest = restUploads(new DesktopApi("/", { fetch, cookies: () => "" }), "ab12");
    await rest.prepare();
    expect(await rest.upload(new File(["x"], "a.txt"))).toEqual({ name: "a.txt", path: "~/Desktop/a.txt" });
  });
});

describe("the views", () => {
  it("the widget sends a file dropped on its screen to the kernel, and refuses in view only", async () => {
    const { renderDesktopView } = await import("../src/widget-view.js");
    const { FakeRFB } = await import("./fake-rfb.js");
    const el = document.createElement("div");
    document.body.append(el);
    const kernel = new FakeKernel();
    const cleanup = renderDesktopView({ model: kernel, el, RFB: FakeRFB, WebSocket: class {} });
    try {
      const stage = el.querySelector(".jd-stage");
      stage.dispatchEvent(dragEvent("dragenter"));
      expect(stage.querySelector(".jd-drop").hidden).toBe(false);
      stage.dispatchEvent(dragEvent("drop", { files: [new File([bytes(300)], "a.bin")] }));
      await vi.waitFor(() => expect(el.querySelector(".jd-note").textContent).toBe("Uploaded a.bin to ~/Desktop/a.bin."));
      expect(kernel.written["a.bin"]).toEqual(bytes(300));
      kernel.kernelSet("view_only", true);
      kernel.sent.length = 0;
      stage.dispatchEvent(dragEvent("drop", { files: [new File(["x"], "b.bin")] }));
      expect(kernel.sentOf("upload")).toEqual([]);
      expect(el.querySelector(".jd-note").textContent).toMatch(/View only/);
    } finally {
      cleanup();
    }
    expect(el.querySelector(".jd-drop")).toBe(null);
  });

  it("the viewer PUTs a file dropped on its screen", async () => {
    const { mountViewer } = await import("../src/viewer-page.js");
    const { FakeRFB, FakeSocket } = await import("./fake-rfb.js");
    const root = document.createElement("div");
    document.body.append(root);
    const api = {
      get: vi.fn(async () => ({ id: "ab12", status: "running" })),
      recording: vi.fn(async () => null),
      call: vi.fn(() => new Promise(() => {})),
      listFiles: vi.fn(async () => [{ name: "a.bin" }]),
      putFile: vi.fn(async () => null),
      activity: vi.fn(async () => null),
      screenshotUrl: () => "",
    };
    const config = { baseUrl: "/user/x/", page: "viewer", desktopId: "ab12", wsUrl: "desktop/api/desktops/ab12/vnc" };
    const viewer = mountViewer(root, config, { RFB: FakeRFB, WebSocket: FakeSocket, api, embedded: true });
    try {
      const file = new File(["x"], "a.bin");
      viewer.stage.dispatchEvent(dragEvent("drop", { files: [file] }));
      await vi.waitFor(() => expect(root.querySelector(".jd-toast").textContent).toBe("Uploaded a.bin to ~/Desktop/a (1).bin."));
      expect(api.putFile).toHaveBeenCalledWith("ab12", "Desktop/a (1).bin", file, { parents: true, exclusive: true });
    } finally {
      viewer.dispose();
    }
  });
});
