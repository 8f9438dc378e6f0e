// Drag files onto the desktop to upload them to the desktop user's ~/Desktop (as Kasm and others do).
//
// - attachDropTarget: the drop overlay ("Drop to upload to ~/Desktop") while files are dragged over the stage;
//   a drag of anything else (text, a link) is left alone, and so is noVNC's own mouse handling.
// - planDrop / nameProblem / freeName / chunkRanges: pure rules, checked before anything is sent: at most
//   UPLOAD_LIMITS.files files and UPLOAD_LIMITS.totalBytes bytes a drop (else the drop is refused whole), each
//   file at most UPLOAD_LIMITS.fileBytes (the desktop's MAX_FILE: jupyter_desktop/session.py) with a usable name
//   (else that file is skipped, saying why); folders are skipped.
// - CommUploads: the notebook widget's way, through the widget's comm to the kernel (which writes with
//   desktop.files.write, wherever the desktop lives): start, 1 MiB binary chunks with at most WINDOW of them
//   unacknowledged, end; the kernel names the file and answers with where it went (jupyter_desktop/upload.py).
// - restUpload: the full-page viewer's way, PUT .../files?path=Desktop/<name>&parents=1 with the file as the body,
//   after listing ~/Desktop once a drop (a name that is taken becomes "name (1).ext").
// - createUploader: the two together for a view: the overlay, the checks, one file after the other, notes.

import "./upload.css";
import { h } from "./dom.js";
import { formatBytes } from "./format.js";

export const UPLOAD_LIMITS = Object.freeze({
  files: 100, // files a drop
  fileBytes: 64 << 20, // bytes a file: the desktop's MAX_FILE
  totalBytes: 256 << 20, // bytes a drop
});
export const CHUNK_BYTES = 1 << 20; // a comm message's binary buffer (Jupyter's websocket drops messages > 10 MiB)
export const WINDOW = 4; // chunks sent ahead of the kernel's acknowledgement
export const FOLDER = "Desktop"; // relative to the desktop user's home
export const SHOWN_FOLDER = "~/Desktop";
const NAME_BYTES = 255; // a file name's bytes on Linux (NAME_MAX)
export const MAX_TRIES = 20; // names tried when the free one is taken between the listing and the write (as upload.py)
export const ANSWER_MS = 120000; // the kernel's silence before an upload through the comm gives up

/** "64 MiB" for a limit (a power of two), formatBytes' "12 MB" for the rest. */
export function formatLimit(n) {
  return n >= 1 << 20 && n % (1 << 20) === 0 ? `${n / (1 << 20)} MiB` : formatBytes(n);
}

/** Whether a drag carries files (not text, a link or an element of the page). */
export function hasFiles(dataTransfer) {
  const types = dataTransfer && dataTransfer.types;
  return !!types && Array.from(types).includes("Files");
}

/** Why a file name cannot be a file's name on the desktop, or "". */
export function nameProblem(name) {
  if (typeof name !== "string" || !name) return "it has no name";
  if (name.includes("/")) return "its name has a /";
  if (name.includes("\0")) return "its name has a NUL character";
  if (name === "." || name === "..") return `"${name}" is not a file's name`;
  if (new TextEncoder().encode(name).length > NAME_BYTES) return `its name is longer than ${NAME_BYTES} bytes`;
  return "";
}

/** `name`, or "name (1).ext", "name (2).ext" ... : the first not in `taken` (a Set of the folder's names). */
export function freeName(name, taken) {
  if (!taken.has(name)) return name;
  const dot = name.lastIndexOf(".");
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ""];
  for (let n = 1; ; n += 1) {
    const candidate = `${stem} (${n})${ext}`;
    if (!taken.has(candidate)) return candidate;
  }
}

/** [start, end) byte ranges of `size` bytes in pieces of `chunk`: none for an empty file. */
export function chunkRanges(size, chunk = CHUNK_BYTES) {
  const ranges = [];
  for (let start = 0; start < size; start += chunk) ranges.push([start, Math.min(size, start + chunk)]);
  return ranges;
}

/**
 * What a drop uploads. `entries`: [{file, folder}] (folder: the item is a directory).
 * Returns {files, skipped: [{name, reason}], refused}: `refused` (a sentence naming the limit) refuses the whole
 * drop; otherwise `files` go, and `skipped` say why they do not.
 */
export function planDrop(entries, limits = UPLOAD_LIMITS) {
  const list = Array.from(entries || []);
  if (list.length > limits.files) {
    return { files: [], skipped: [], refused: `${list.length} files dropped: at most ${limits.files} at a time. Nothing was uploaded.` };
  }
  const files = [];
  const skipped = [];
  let total = 0;
  for (const { file, folder } of list) {
    const name = file && typeof file.name === "string" ? file.name : "";
    let reason = folder ? "it is a folder (drop the files in it, or a .zip)" : nameProblem(name);
    if (!reason && file.size > limits.fileBytes) {
      reason = `it is ${formatBytes(file.size)}; a file is at most ${formatLimit(limits.fileBytes)}`;
    }
    if (reason) skipped.push({ name: name || "(no name)", reason });
    else {
      files.push(file);
      total += file.size;
    }
  }
  if (total > limits.totalBytes) {
    return {
      files: [],
      skipped: [],
      refused: `${formatBytes(total)} dropped: at most ${formatLimit(limits.totalBytes)} at a time. Nothing was uploaded.`,
    };
  }
  return { files, skipped, refused: null };
}

/** The dropped items, read while the drop event lasts (after it, the DataTransfer is empty). */
export function dropEntries(dataTransfer) {
  const items = Array.from((dataTransfer && dataTransfer.items) || []).filter((item) => item.kind === "file");
  if (items.length) {
    return items.map((item) => {
      const entry = typeof item.webkitGetAsEntry === "function" ? item.webkitGetAsEntry() : null;
      return { file: item.getAsFile(), folder: !!(entry && entry.isDirectory) };
    });
  }
  return Array.from((dataTransfer && dataTransfer.files) || []).map((file) => ({ file, folder: false }));
}

/** The note after a drop: where each file went, what was skipped and why, what failed. */
export function summary(done, skipped, failed) {
  const parts = [];
  const shown = 3;
  if (done.length) {
    const each = done.slice(0, shown).map((d) => `${d.name} to ${d.path}`);
    if (done.length > shown) each.push(`${done.length - shown} more to ${SHOWN_FOLDER}`);
    parts.push(`Uploaded ${each.join(", ")}.`);
  }
  for (const s of skipped.slice(0, shown)) parts.push(`Skipped ${s.name}: ${s.reason}.`);
  if (skipped.length > shown) parts.push(`Skipped ${skipped.length - shown} more.`);
  for (const f of failed.slice(0, shown)) parts.push(`Could not upload ${f.name}: ${f.reason}`);
  if (failed.length > shown) parts.push(`${failed.length - shown} more failed.`);
  return parts.join(" ");
}

/**
 * Show the drop overlay while files are dragged over `target`, and call onDrop(entries) when they are dropped.
 * The page never opens a dropped file in place of itself (the browser's default): file drags are always taken.
 * @param {object} o
 * @param {HTMLElement} o.target    the stage (the overlay goes in it)
 * @param {() => string} o.refusal  why a drop would be refused now ("" when it would not): shown in the overlay
 * @param {(entries: Array) => void} o.onDrop
 * @returns {{overlay: HTMLElement, dispose: () => void}}
 */
export function attachDropTarget({ target, refusal = () => "", onDrop }) {
  const title = h("div", { class: "jd-drop-title" });
  const detail = h("div", { class: "jd-drop-detail" });
  const overlay = h("div", { class: "jd-drop", hidden: true, "aria-hidden": "true" }, h("div", { class: "jd-drop-box" }, title, detail));
  target.append(overlay);
  let depth = 0; // dragenter/dragleave pairs: the pointer crosses the stage's children
  const show = () => {
    const why = refusal();
    overlay.dataset.tone = why ? "error" : "";
    title.textContent = why ? "Cannot upload here" : `Drop to upload to ${SHOWN_FOLDER}`;
    detail.textContent = why || `Up to ${UPLOAD_LIMITS.files} files, ${formatLimit(UPLOAD_LIMITS.fileBytes)} each`;
    overlay.hidden = false;
  };
  const hide = () => {
    depth = 0;
    overlay.hidden = true;
  };
  const take = (e) => {
    if (!hasFiles(e.dataTransfer)) return false;
    e.preventDefault(); // ours: not the browser's (it would open the file), nor JupyterLab's
    e.stopPropagation();
    return true;
  };
  const handlers = {
    dragenter: (e) => {
      if (!take(e)) return;
      depth += 1;
      show();
    },
    dragover: (e) => {
      if (!take(e)) return;
      if (e.dataTransfer) e.dataTransfer.dropEffect = refusal() ? "none" : "copy";
      if (overlay.hidden) show();
    },
    dragleave: (e) => {
      if (!hasFiles(e.dataTransfer)) return;
      depth = Math.max(0, depth - 1);
      if (depth === 0) overlay.hidden = true;
    },
    drop: (e) => {
      if (!take(e)) return;
      hide();
      onDrop(dropEntries(e.dataTransfer));
    },
  };
  for (const [type, fn] of Object.entries(handlers)) target.addEventListener(type, fn);
  return {
    overlay,
    dispose() {
      for (const [type, fn] of Object.entries(handlers)) target.removeEventListener(type, fn);
      overlay.remove();
    },
  };
}

/**
 * Drops on a view: the overlay, the checks, then each file through `upload(file, progress)` (which resolves to
 * {name, path}: the name it got and "~/Desktop/<name>"), one after the other, with notes through `say`.
 * `prepare()`, when given, runs once a drop before the first file (the viewer lists ~/Desktop).
 * @returns {{drop: (entries) => Promise<void>, busy: () => boolean, overlay: HTMLElement, dispose: () => void}}
 */
export function createUploader({ target, say, viewOnly = () => false, unavailable = () => "", upload, prepare = null }) {
  let busy = false;
  const refusal = () => {
    if (viewOnly()) return "View only: turn it off to upload files to the desktop.";
    return unavailable() || "";
  };
  async function drop(entries) {
    const why = refusal();
    if (why) return say(why, "error");
    if (busy) return say("An upload is under way: drop more files when it is done.", "error");
    const plan = planDrop(entries);
    if (plan.refused) return say(plan.refused, "error");
    if (!plan.files.length) return say(summary([], plan.skipped, []), "error");
    busy = true;
    const done = [];
    const failed = [];
    try {
      if (prepare) await prepare();
      for (const [i, file] of plan.files.entries()) {
        const count = plan.files.length > 1 ? ` (${i + 1} of ${plan.files.length})` : "";
        const progress = (sent) => {
          const share = file.size ? ` ${Math.floor((100 * sent) / file.size)}%` : "";
          say(`Uploading ${file.name}${count}…${share}`);
        };
        progress(0);
        try {
          done.push(await upload(file, progress));
        } catch (err) {
          failed.push({ name: file.name, reason: err && err.message ? err.message : String(err) });
        }
      }
    } catch (err) {
      failed.push({ name: plan.files.map((f) => f.name).join(", "), reason: err && err.message ? err.message : String(err) });
    } finally {
      busy = false;
    }
    say(summary(done, plan.skipped, failed), failed.length || plan.skipped.length ? "error" : "");
  }
  const target_ = attachDropTarget({ target, refusal, onDrop: (entries) => void drop(entries) });
  return { drop, busy: () => busy, overlay: target_.overlay, dispose: target_.dispose };
}

// ---------------------------------------------------------------------------------------------- the viewer: REST

/**
 * The viewer's uploads: list ~/Desktop once a drop (prepare), then PUT each file under a free name.
 * @param {object} api  DesktopApi (listFiles, putFile)
 */
export function restUploads(api, id) {
  let taken = new Set();
  return {
    async prepare() {
      taken = new Set((await api.listFiles(id, FOLDER)).map((e) => e.name));
    },
    async upload(file) {
      // exclusive: a file of that name made since the listing is never replaced (409: the next free name)
      for (let tries = 0; tries < MAX_TRIES; tries += 1) {
        const name = freeName(file.name, taken);
        taken.add(name);
        try {
          await api.putFile(id, `${FOLDER}/${name}`, file, { parents: true, exclusive: true });
          return { name: file.name, path: `${SHOWN_FOLDER}/${name}` };
        } catch (err) {
          if (!(err && err.status === 409 && err.body && err.body.error === "ExistingFileError")) throw err;
        }
      }
      throw new Error(`${MAX_TRIES} free names in ${SHOWN_FOLDER} were taken meanwhile`);
    },
  };
}

// ---------------------------------------------------------------------------------------------- the widget: comm

let lastId = 0;

/**
 * Uploads through the widget's comm (the kernel's side: jupyter_desktop/upload.py). The protocol, all messages
 * {type: "upload", op, id}:
 *   view -> kernel: start {name, size}; chunk {offset} + one binary buffer; end; abort
 *   kernel -> view: ack {received} (after start and each chunk); done {name, path}; error {message}
 * At most WINDOW chunks are unacknowledged, so the browser holds a few MiB whatever the file's size, and a
 * refusal (view only, too big, the desktop gone) stops the upload at the next chunk.
 */
export class CommUploads {
  constructor(model, { chunk = CHUNK_BYTES, window = WINDOW, answerMs = ANSWER_MS } = {}) {
    this.model = model;
    this.chunk = chunk;
    this.window = window;
    this.answerMs = answerMs;
    this.pending = new Map(); // id -> {onAck, onDone, onError}
    this._onMsg = (msg) => {
      if (!msg || msg.type !== "upload") return;
      const p = this.pending.get(msg.id);
      if (!p) return;
      if (msg.op === "ack") p.onAck(Number(msg.received) || 0);
      else if (msg.op === "done") p.onDone(msg);
      else if (msg.op === "error") p.onError(new Error(String(msg.message || "the kernel refused the upload")));
    };
    model.on("msg:custom", this._onMsg);
  }

  dispose() {
    this.model.off("msg:custom", this._onMsg);
    for (const p of this.pending.values()) p.onError(new Error("the view closed"));
    this.pending.clear();
  }

  /** Upload one File; resolves to {name, path} (where the kernel put it), rejects with the kernel's reason. */
  upload(file, progress = () => {}) {
    const id = `u${Date.now().toString(36)}-${(lastId += 1)}`;
    const ranges = chunkRanges(file.size, this.chunk);
    return new Promise((resolve, reject) => {
      let acked = -1; // bytes the kernel holds; -1 until it accepted the start
      let next = 0; // the next range to send
      let ended = false;
      let reading = false;
      let finished = false;
      let timer = null;
      const send = (content, buffers) => this.model.send({ type: "upload", id, ...content }, undefined, buffers);
      const finish = (err, value) => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        this.pending.delete(id);
        if (err) {
          try {
            send({ op: "abort" }); // the kernel frees what it holds (nothing is written)
          } catch {
            /* the comm is gone */
          }
          reject(err);
        } else resolve(value);
      };
      const waitAnswer = () => {
        clearTimeout(timer);
        timer = setTimeout(
          () => finish(new Error(`the kernel did not answer in ${this.answerMs / 1000} s (is a cell running?)`)),
          this.answerMs,
        );
      };
      const pump = async () => {
        if (reading || finished || acked < 0) return;
        reading = true;
        try {
          while (!finished && next < ranges.length && ranges[next][0] - acked < this.window * this.chunk) {
            const [start, end] = ranges[next];
            const bytes = await file.slice(start, end).arrayBuffer();
            if (finished) return;
            send({ op: "chunk", offset: start }, [bytes]);
            next += 1;
          }
          if (!finished && next === ranges.length && !ended) {
            ended = true;
            send({ op: "end" });
          }
        } catch (err) {
          finish(err);
        } finally {
          reading = false;
        }
      };
      this.pending.set(id, {
        onAck: (received) => {
          acked = received;
          progress(received);
          waitAnswer();
          void pump();
        },
        onDone: (msg) => finish(null, { name: file.name, path: String(msg.path || ""), saved: String(msg.name || "") }),
        onError: (err) => finish(err),
      });
      try {
        send({ op: "start", name: file.name, size: file.size });
      } catch (err) {
        return finish(new Error(`the kernel is not reachable: ${err && err.message ? err.message : err}`));
      }
      waitAnswer();
    });
  }
}
