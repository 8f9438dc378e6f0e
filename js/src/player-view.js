// The trajectory player's view (anywidget): a recorded trajectory's steps, each step's action drawn on its before
// and after screenshots, and the video from that step. player.js is the entry; the kernel side is
// jupyter_desktop/player.py.
//
// Traits: path, steps (trajectory.jsonl's lines), total_steps, first, note, screen_width/height, videos
// ([{file, path, start, end, bytes, playable}]), video_error, max_video_bytes, chunk. Messages to the kernel, one
// of each kind in flight (a queue for screenshots, chunk after chunk for the video), each with this view's id:
//   {type: "screen", id, name}            -> {type: "screen", id, name, bytes} + [PNG] | {..., error}
//   {type: "video", id, segment, offset}  -> {type: "video", id, segment, offset, bytes, size, done} + [chunk] | {..., error}
// A request unanswered after ANSWER_MS is given up and said (a busy kernel, a server dropping messages over its
// iopub limits); a screenshot is asked again when its step is shown, the video on "Load the video".

import { h } from "./dom.js";

export const MAX_CACHED_SCREENS = 40; // object URLs of screenshots kept (the rest are asked for again)
export const AUTO_VIDEO_BYTES = 64 << 20; // a segment up to this size loads by itself; a larger one on a click
export const SCROLL_ARROW = 60; // image pixels: a scroll's arrow length
export const SOURCES = ["agent", "human", "periodic"];
export const ANSWER_MS = 30000; // a request the kernel has not answered by then is given up (said; retried on demand)
const NO_ANSWER = `no answer from the kernel in ${ANSWER_MS / 1000} s (is it busy running a cell?)`;

const SVG = "http://www.w3.org/2000/svg";
const BUTTON_NAMES = { left: "left", middle: "middle", right: "right" };

const isNum = (v) => typeof v === "number" && Number.isFinite(v);
const point = (x, y) => `(${Math.round(x)}, ${Math.round(y)})`;

/** Seconds as "1.23 s", "12 ms", "2 min 5.0 s". */
export function formatSeconds(s) {
  if (!isNum(s)) return "—";
  if (s < 0) return `-${formatSeconds(-s)}`;
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 60) return `${s.toFixed(2)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${(s - m * 60).toFixed(1)} s`;
}

/** Bytes as "3.2 MiB". */
export function formatBytes(n) {
  if (!isNum(n)) return "—";
  if (n < 1024) return `${n} B`;
  if (n < 1 << 20) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / (1 << 20)).toFixed(1)} MiB`;
}

/** A typed text, quoted with its line breaks and tabs visible, cut at `max` characters. */
export function quoteText(text, max = 200) {
  const s = String(text);
  const cut = s.length > max ? s.slice(0, max) : s;
  return JSON.stringify(cut) + (s.length > max ? `… (${s.length} characters)` : "");
}

/** The keys of a press action as a readable chord sequence: "ctrl+shift+t", ["ctrl", "c"] -> "ctrl+c". */
export function keysText(keys) {
  if (Array.isArray(keys)) return keys.map(String).join("+");
  return String(keys ?? "");
}

function modifierPrefix(action) {
  const mods = action.modifiers;
  if (Array.isArray(mods) && mods.length) return mods.map(String).join("+") + "+";
  if (typeof mods === "string" && mods) return mods + "+";
  return "";
}

function clickWord(count) {
  return count === 2 ? "double-click" : count === 3 ? "triple-click" : "click";
}

/** One action of the vocabulary (jupyter_desktop/actions.py) as a line of text. */
export function describeAction(a) {
  if (!a || typeof a !== "object") return String(a);
  const at = isNum(a.x) && isNum(a.y) ? ` at ${point(a.x, a.y)}` : " at the pointer";
  const button = BUTTON_NAMES[a.button] || "left";
  const cut = a.cut ? ` [${a.cut}]` : "";
  switch (a.action) {
    case "click":
      return `${modifierPrefix(a)}${clickWord(a.count)} ${button}${at}`;
    case "move":
      return `move to ${point(a.x, a.y)}`;
    case "mouse_down":
      return `press the ${button} button${at}`;
    case "mouse_up":
      return `release the ${button} button${at}`;
    case "drag": {
      const path = Array.isArray(a.path) ? a.path : [];
      if (path.length < 2) return `drag (no path)${cut}`;
      const [x0, y0] = path[0];
      const [x1, y1] = path[path.length - 1];
      const via = path.length > 2 ? ` via ${path.length - 2} point${path.length > 3 ? "s" : ""}` : "";
      const time = isNum(a.duration) ? `, ${formatSeconds(a.duration)}` : "";
      return `${modifierPrefix(a)}drag ${button} from ${point(x0, y0)} to ${point(x1, y1)}${via}${time}${cut}`;
    }
    case "scroll": {
      const parts = [];
      if (isNum(a.dy) && a.dy) parts.push(`${a.dy > 0 ? "down" : "up"} ${Math.abs(a.dy)}`);
      if (isNum(a.dx) && a.dx) parts.push(`${a.dx > 0 ? "right" : "left"} ${Math.abs(a.dx)}`);
      return `${modifierPrefix(a)}scroll ${parts.join(", ") || "0"}${at}`;
    }
    case "type":
      return `type ${quoteText(a.text)}${cut}`;
    case "press":
      return `press ${keysText(a.keys)}${isNum(a.hold) && a.hold ? ` (held ${formatSeconds(a.hold)})` : ""}${cut}`;
    case "key_down":
      return `hold down ${a.key}`;
    case "key_up":
      return `release ${a.key}`;
    case "wait":
      return `wait ${formatSeconds(a.seconds)}`;
    default: {
      const text = JSON.stringify(a);
      return text.length > 200 ? `${text.slice(0, 200)}…` : text;
    }
  }
}

/**
 * What to draw for one action over a screenshot, in image pixels:
 *   {kind: "ring", x, y, label}        a click (label: button, count, modifiers), a button pressed or released
 *   {kind: "dot", x, y}                a move
 *   {kind: "path", points, label}      a drag: its polyline, from points[0] to the last
 *   {kind: "arrow", x, y, x2, y2, label}  a scroll at (x, y), pointing the way it scrolls
 *   {kind: "caption", text, style}     typed text (style "text") or a key chord ("keys"), shown in a box
 * An action that happened where the pointer was (no x, y) has no mark, only its text.
 */
export function actionShapes(a) {
  if (!a || typeof a !== "object") return [];
  const where = isNum(a.x) && isNum(a.y);
  const button = BUTTON_NAMES[a.button] || "left";
  switch (a.action) {
    case "click": {
      if (!where) return [];
      const count = isNum(a.count) && a.count > 1 ? ` ×${a.count}` : "";
      return [{ kind: "ring", x: a.x, y: a.y, label: `${modifierPrefix(a)}${button}${count}` }];
    }
    case "mouse_down":
    case "mouse_up":
      return where ? [{ kind: "ring", x: a.x, y: a.y, label: `${button} ${a.action === "mouse_down" ? "down" : "up"}` }] : [];
    case "move":
      return where ? [{ kind: "dot", x: a.x, y: a.y }] : [];
    case "drag": {
      const points = (Array.isArray(a.path) ? a.path : []).filter((p) => Array.isArray(p) && isNum(p[0]) && isNum(p[1]));
      if (points.length < 2) return [];
      return [{ kind: "path", points: points.map(([x, y]) => [x, y]), label: `${modifierPrefix(a)}${button}` }];
    }
    case "scroll": {
      if (!where) return [];
      const dx = isNum(a.dx) ? a.dx : 0;
      const dy = isNum(a.dy) ? a.dy : 0;
      const length = Math.hypot(dx, dy);
      const label = describeAction(a).replace(/ at .*$/, "");
      if (!length) return [{ kind: "dot", x: a.x, y: a.y, label }];
      return [
        {
          kind: "arrow",
          x: a.x,
          y: a.y,
          x2: a.x + (dx / length) * SCROLL_ARROW,
          y2: a.y + (dy / length) * SCROLL_ARROW,
          label,
        },
      ];
    }
    case "type":
      return typeof a.text === "string" ? [{ kind: "caption", text: a.text, style: "text" }] : [];
    case "press":
      return [{ kind: "caption", text: keysText(a.keys), style: "keys" }];
    case "key_down":
    case "key_up":
      return [{ kind: "caption", text: `${a.key} ${a.action === "key_down" ? "down" : "up"}`, style: "keys" }];
    default:
      return [];
  }
}

/** The shapes of a step's actions, in order, each with its action's index. */
export function stepShapes(step) {
  const actions = step && Array.isArray(step.actions) ? step.actions : [];
  return actions.flatMap((a, index) => actionShapes(a).map((s) => ({ ...s, index })));
}

/** The step's header: "#3 agent · t 1.23 s · took 12 ms". */
export function stepTitle(step) {
  if (!step) return "";
  return `#${step.step} ${step.source} · t ${formatSeconds(step.t)} · took ${formatSeconds(step.duration)}`;
}

/** A short line for the step list: "#3 agent 1.23 s click left at (10, 20)". */
export function stepLabel(step) {
  if (!step) return "";
  const actions = Array.isArray(step.actions) ? step.actions : [];
  let what = actions.length ? describeAction(actions[0]) : step.source === "periodic" ? "screen" : "no action";
  if (actions.length > 1) what += ` (+${actions.length - 1})`;
  if (what.length > 80) what = `${what.slice(0, 80)}…`;
  return `#${step.step} ${step.source} ${formatSeconds(step.t)} ${what}${step.error ? " ✗" : ""}`;
}

/** Where a moment t (seconds since the recording began) is in the video: {segment, time}, or null (no video). */
export function videoPosition(videos, t) {
  if (!Array.isArray(videos) || !videos.length || !isNum(t)) return null;
  let segment = 0;
  for (let i = 0; i < videos.length; i++) if (isNum(videos[i].start) && videos[i].start <= t + 1e-6) segment = i;
  const start = isNum(videos[segment].start) ? videos[segment].start : 0;
  return { segment, time: Math.max(0, t - start) };
}

/** The index of the last step (in `steps`) that began by `time` into video segment `segment`; -1 if none. */
export function stepAtTime(steps, videos, segment, time) {
  const seg = videos && videos[segment];
  if (!seg) return -1;
  const t = (isNum(seg.start) ? seg.start : 0) + time;
  let found = -1;
  for (let i = 0; i < steps.length; i++) {
    if (!isNum(steps[i].t) || steps[i].t > t + 1e-3) break;
    found = i;
  }
  return found;
}

/**
 * A ring's radius and the labels' font size, in image pixels, for an image of that size shown `shownWidth` CSS px
 * wide: 1/64 of the image's side, and at least 8 px (ring) and 11 px (labels) on the page however small it is shown.
 */
export function markScale(width, height, shownWidth = 0) {
  const side = Math.max(isNum(width) ? width : 0, isNum(height) ? height : 0) || 1280;
  const k = isNum(shownWidth) && shownWidth > 0 && isNum(width) && width > 0 ? width / shownWidth : 1;
  const r = Math.max(6, Math.round(side / 64), Math.round(8 * k));
  return { r, font: Math.max(10, Math.round(r * 0.8), Math.round(11 * k)) };
}

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children) if (c) el.appendChild(c);
  return el;
}

function label(x, y, text, font, cls = "jd-mark-label") {
  const t = svg("text", { x, y, class: cls, "font-size": font });
  t.textContent = text;
  return t;
}

/** The overlay's SVG content for these shapes on a width x height image (captions are HTML: see below). */
export function drawShapes(group, shapes, width, height, shownWidth = 0) {
  const { r, font } = markScale(width, height, shownWidth);
  for (const s of shapes) {
    const common = { "data-index": s.index ?? 0 };
    if (s.kind === "ring") {
      group.appendChild(
        svg(
          "g",
          { class: "jd-mark jd-mark-click", "data-x": s.x, "data-y": s.y, ...common },
          svg("circle", { class: "jd-mark-halo", cx: s.x, cy: s.y, r }),
          svg("circle", { class: "jd-mark-ring", cx: s.x, cy: s.y, r }),
          svg("circle", { class: "jd-mark-center", cx: s.x, cy: s.y, r: Math.max(2, r / 6) }),
          label(s.x + r + 4, s.y - r / 2, s.label, font),
        ),
      );
    } else if (s.kind === "dot") {
      group.appendChild(
        svg(
          "g",
          { class: "jd-mark jd-mark-move", "data-x": s.x, "data-y": s.y, ...common },
          svg("circle", { class: "jd-mark-dot", cx: s.x, cy: s.y, r: Math.max(3, r / 3) }),
          s.label ? label(s.x + r, s.y - r / 2, s.label, font) : null,
        ),
      );
    } else if (s.kind === "path") {
      const [x0, y0] = s.points[0];
      const [x1, y1] = s.points[s.points.length - 1];
      const pts = s.points.map(([x, y]) => `${x},${y}`).join(" ");
      group.appendChild(
        svg(
          "g",
          { class: "jd-mark jd-mark-drag", "data-x": x0, "data-y": y0, "data-x2": x1, "data-y2": y1, ...common },
          svg("polyline", { class: "jd-mark-halo", points: pts }),
          svg("polyline", { class: "jd-mark-path", points: pts }),
          svg("circle", { class: "jd-mark-start", cx: x0, cy: y0, r: Math.max(3, r / 2.5) }),
          svg("circle", { class: "jd-mark-end", cx: x1, cy: y1, r: Math.max(3, r / 2.5) }),
          label(x0 + r / 2 + 4, y0 - r / 2, `${s.label} start`, font),
          label(x1 + r / 2 + 4, y1 - r / 2, "end", font),
        ),
      );
    } else if (s.kind === "arrow") {
      const angle = Math.atan2(s.y2 - s.y, s.x2 - s.x);
      const head = r * 0.8;
      const wing = (sign) => `${s.x2 - head * Math.cos(angle + sign * 0.5)},${s.y2 - head * Math.sin(angle + sign * 0.5)}`;
      const headPts = `${wing(1)} ${s.x2},${s.y2} ${wing(-1)}`;
      group.appendChild(
        svg(
          "g",
          { class: "jd-mark jd-mark-scroll", "data-x": s.x, "data-y": s.y, ...common },
          svg("line", { class: "jd-mark-halo", x1: s.x, y1: s.y, x2: s.x2, y2: s.y2 }),
          svg("line", { class: "jd-mark-path", x1: s.x, y1: s.y, x2: s.x2, y2: s.y2 }),
          svg("polyline", { class: "jd-mark-path", points: headPts }),
          svg("circle", { class: "jd-mark-center", cx: s.x, cy: s.y, r: Math.max(2, r / 4) }),
          label(s.x + r, s.y + r + font, s.label, font),
        ),
      );
    }
  }
}

/** A request queue with one request in flight: `want(keys)` puts them first (in order), dropping the rest. */
export class OneAtATime {
  constructor(start) {
    this.start = start; // (key) => void: sends the request
    this.pending = [];
    this.inFlight = null;
  }

  want(keys, { keep = false } = {}) {
    const fresh = keys.filter((k) => k !== this.inFlight);
    const rest = keep ? this.pending.filter((k) => !fresh.includes(k)) : [];
    this.pending = [...new Set([...fresh, ...rest])];
    this.pump();
  }

  done(key) {
    if (key !== this.inFlight) return false;
    this.inFlight = null;
    this.pump();
    return true;
  }

  pump() {
    if (this.inFlight !== null || !this.pending.length) return;
    this.inFlight = this.pending.shift();
    this.start(this.inFlight);
  }

  clear() {
    this.pending = [];
  }
}

const messageText = (err) => (err && err.message ? err.message : String(err));
let viewCounter = 0;

/**
 * Render one view of the player's model into `el`; returns the cleanup function anywidget calls.
 * @param {object} o
 * @param {object} o.model  anywidget model
 * @param {HTMLElement} o.el
 */
export function renderPlayer({ model, el, doc = document, win = window }) {
  const URL_ = win.URL || URL;
  const viewId = `v${++viewCounter}-${Math.random().toString(36).slice(2, 8)}`;
  const disposers = [];
  const on = (event, fn) => {
    model.on(event, fn);
    disposers.push(() => model.off(event, fn));
  };
  const get = (name) => model.get(name);
  const steps = () => (Array.isArray(get("steps")) ? get("steps") : []);
  const videos = () => (Array.isArray(get("videos")) ? get("videos") : []);
  let current = 0;
  let mode = "both"; // which screenshots: before, after, both (side by side)

  // ---- DOM
  const root = h("div", { class: "jd-app jd-player", tabindex: "0", "data-lm-suppress-shortcuts": "true", role: "group", "aria-label": "Trajectory player" });
  const button = (label, text, onClick, extra = {}) =>
    h("button", { type: "button", class: "jd-button", "aria-label": label, title: label, onclick: onClick, ...extra }, text);
  const prevButton = button("Previous step", "◀", () => go(current - 1));
  const nextButton = button("Next step", "▶", () => go(current + 1));
  const slider = h("input", { type: "range", class: "jd-player-slider", min: "0", step: "1", "aria-label": "Step" });
  slider.addEventListener("input", () => go(Number(slider.value)));
  const list = h("select", { class: "jd-select jd-player-list", "aria-label": "Steps" });
  list.addEventListener("change", () => go(Number(list.value)));
  const counter = h("span", { class: "jd-player-counter", "aria-live": "polite" });
  const modeButtons = ["before", "after", "both"].map((m) =>
    button(
      { before: "Show the screen before the step", after: "Show the screen after the step", both: "Show before and after side by side" }[m],
      { before: "Before", after: "After", both: "Both" }[m],
      () => setMode(m),
      { "data-mode": m, "aria-pressed": "false" },
    ),
  );
  const toolbar = h(
    "div",
    { class: "jd-toolbar jd-player-toolbar", role: "toolbar", "aria-label": "Steps" },
    h("div", { class: "jd-toolbar-group" }, prevButton, slider, nextButton, counter),
    h("div", { class: "jd-toolbar-group jd-player-grow" }, list),
    h("div", { class: "jd-toolbar-group", role: "group", "aria-label": "Screenshots" }, modeButtons),
  );

  const badge = h("span", { class: "jd-player-source" });
  const timeText = h("span", { class: "jd-player-time" });
  const durationText = h("span", { class: "jd-player-duration" });
  const actionsList = h("ol", { class: "jd-player-actions", "aria-label": "Actions" });
  const errorText = h("div", { class: "jd-player-error", role: "alert", hidden: true });
  const noteText = h("div", { class: "jd-player-note", hidden: true });
  const details = h(
    "div",
    { class: "jd-player-details" },
    h("div", { class: "jd-player-head" }, badge, timeText, durationText),
    actionsList,
    errorText,
  );

  function pane(which) {
    const img = h("img", { class: "jd-player-img", alt: `The screen ${which} the step`, hidden: true });
    const overlay = svg("svg", { class: "jd-player-overlay", preserveAspectRatio: "none", "aria-hidden": "true" });
    const group = svg("g");
    overlay.appendChild(group);
    const captions = h("div", { class: "jd-player-captions" });
    const status = h("div", { class: "jd-player-shot-status" });
    const shot = h("div", { class: "jd-player-shot" }, img, overlay, captions, status);
    const figure = h("figure", { class: "jd-player-pane", dataset: { pane: which } }, h("figcaption", {}, which === "before" ? "Before" : "After"), shot);
    return { which, img, overlay, group, captions, status, figure, name: null };
  }
  const panes = { before: pane("before"), after: pane("after") };
  const shots = h("div", { class: "jd-player-shots" }, panes.before.figure, panes.after.figure);

  const video = h("video", { class: "jd-player-video", controls: true, preload: "auto", muted: true, playsinline: true, "aria-label": "The recording's video", hidden: true });
  const playButton = button("Play the video from this step", "▶ Play from this step", () => playFromStep(), { disabled: true });
  const loadButton = button("Load the video", "Load the video", () => loadVideo(true), { hidden: true });
  const videoStatus = h("span", { class: "jd-player-video-status", role: "status", "aria-live": "polite" });
  const videoBox = h(
    "div",
    { class: "jd-player-videobox" },
    h("div", { class: "jd-toolbar jd-player-video-bar" }, playButton, loadButton, videoStatus),
    video,
  );

  root.append(toolbar, noteText, details, shots, videoBox);
  el.appendChild(root);

  // ---- the kernel
  const send = (msg) => {
    try {
      model.send({ ...msg, id: viewId });
      return true;
    } catch (err) {
      return false;
    }
  };

  // ---- screenshots: object URLs by name, asked for one at a time
  const cache = new Map(); // name -> {url} | {error}
  let screenTimer = null;
  const screens = new OneAtATime((name) => {
    const failed = (error) => {
      remember(name, { error });
      screens.done(name);
      showScreens();
    };
    if (!send({ type: "screen", name })) return failed("the kernel is not reachable");
    clearTimeout(screenTimer);
    screenTimer = setTimeout(() => screens.inFlight === name && failed(NO_ANSWER), ANSWER_MS);
  });
  function remember(name, entry) {
    cache.delete(name);
    cache.set(name, entry);
    while (cache.size > MAX_CACHED_SCREENS) {
      const [oldest, value] = cache.entries().next().value;
      if (Object.values(panes).some((p) => p.name === oldest)) break; // shown now
      cache.delete(oldest);
      if (value.url) URL_.revokeObjectURL(value.url);
    }
  }
  function onScreen(msg, buffers) {
    if (typeof msg.name !== "string") return;
    if (msg.error) remember(msg.name, { error: String(msg.error) });
    else if (buffers && buffers[0]) {
      const b = buffers[0];
      const blob = new Blob([b instanceof DataView ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength) : b], { type: "image/png" });
      remember(msg.name, { url: URL_.createObjectURL(blob) });
    } else remember(msg.name, { error: "the kernel sent no image" });
    if (screens.inFlight === msg.name) clearTimeout(screenTimer);
    screens.done(msg.name);
    showScreens();
  }

  function showPane(p, name, step) {
    p.figure.hidden = !(mode === "both" || mode === p.which);
    if (name !== p.name) {
      p.name = name;
      p.img.hidden = true;
      p.img.removeAttribute("src");
      p.img.dataset.name = name || "";
    }
    const entry = name ? cache.get(name) : null;
    p.status.dataset.tone = entry && entry.error ? "error" : "";
    if (!name) p.status.textContent = step && step.source === "periodic" && p.which === "before" ? "No screen before a periodic step." : "No screenshot.";
    else if (!entry) p.status.textContent = "Loading the screenshot…";
    else if (entry.error) p.status.textContent = `Cannot show ${name}: ${entry.error}`;
    else {
      p.status.textContent = "";
      if (p.img.getAttribute("src") !== entry.url) p.img.src = entry.url;
    }
    p.status.hidden = !p.status.textContent;
    drawOverlay(p, step);
  }

  function drawOverlay(p, step) {
    const w = p.img.naturalWidth || get("screen_width") || 1280;
    const hgt = p.img.naturalHeight || get("screen_height") || 800;
    p.overlay.setAttribute("viewBox", `0 0 ${w} ${hgt}`);
    p.group.textContent = "";
    p.captions.textContent = "";
    const ready = !p.img.hidden;
    p.overlay.style.display = ready ? "" : "none";
    p.captions.hidden = !ready;
    if (!step || !ready) return;
    const shapes = stepShapes(step);
    drawShapes(p.group, shapes, w, hgt, p.img.clientWidth);
    for (const s of shapes) {
      if (s.kind !== "caption") continue;
      p.captions.append(h("div", { class: `jd-player-caption jd-player-caption-${s.style}`, dataset: { index: s.index } }, s.style === "keys" ? `⌨ ${s.text}` : s.text));
    }
  }

  for (const p of Object.values(panes)) {
    p.img.addEventListener("load", () => {
      p.img.hidden = false;
      p.status.hidden = true;
      drawOverlay(p, steps()[current]);
    });
    p.img.addEventListener("error", () => {
      p.status.textContent = `The browser cannot show ${p.name}.`;
      p.status.dataset.tone = "error";
      p.status.hidden = false;
    });
  }

  // the marks keep a legible size on the page: drawn again when the images are shown at another size
  let shownWidths = "";
  const resizer =
    typeof ResizeObserver !== "undefined"
      ? new ResizeObserver(() => {
          const widths = Object.values(panes).map((p) => p.img.clientWidth).join(",");
          if (widths === shownWidths) return;
          shownWidths = widths;
          for (const p of Object.values(panes)) drawOverlay(p, steps()[current]);
        })
      : null;
  if (resizer) for (const p of Object.values(panes)) resizer.observe(p.img);

  function showScreens() {
    const step = steps()[current];
    showPane(panes.before, step ? step.before : null, step);
    showPane(panes.after, step ? step.after : null, step);
  }

  function requestScreens() {
    const all = steps();
    const step = all[current];
    if (!step) return;
    const shown = [mode !== "after" ? step.before : null, mode !== "before" ? step.after : null];
    const next = all[current + 1];
    const soon = next ? [next.before, next.after] : []; // the next step's, ahead of a click on Next
    const retry = (n) => cache.has(n) && cache.get(n).error === NO_ANSWER; // unanswered before: asked again
    const names = [...shown, ...soon].filter((n) => typeof n === "string" && n && (!cache.has(n) || retry(n)));
    if (names.some(retry)) {
      names.filter(retry).forEach((n) => cache.delete(n)); // "Loading" again while it waits its turn
      showScreens();
    }
    screens.want(names);
  }

  function setMode(m) {
    mode = m;
    root.dataset.mode = m;
    for (const b of modeButtons) b.setAttribute("aria-pressed", String(b.dataset.mode === m));
    showScreens();
    requestScreens();
  }

  // ---- steps
  function renderList() {
    const all = steps();
    list.textContent = "";
    all.forEach((s, i) => list.append(h("option", { value: String(i) }, stepLabel(s))));
    slider.max = String(Math.max(0, all.length - 1));
    slider.disabled = all.length < 2;
    root.dataset.steps = String(all.length);
    const note = get("note");
    noteText.textContent = note || "";
    noteText.hidden = !note;
  }

  function renderStep() {
    const all = steps();
    const step = all[current];
    prevButton.disabled = current <= 0;
    nextButton.disabled = current >= all.length - 1;
    slider.value = String(current);
    list.value = String(current);
    root.dataset.step = String(current);
    counter.textContent = all.length ? `Step ${current + 1} of ${all.length}` : "No steps";
    actionsList.textContent = "";
    errorText.hidden = true;
    if (!step) {
      badge.textContent = "";
      timeText.textContent = "";
      durationText.textContent = "";
      badge.hidden = true;
      details.dataset.empty = "true";
      showScreens();
      return;
    }
    details.dataset.empty = "false";
    badge.hidden = false;
    badge.textContent = step.source;
    badge.dataset.source = SOURCES.includes(step.source) ? step.source : "other";
    badge.title = { agent: "A Desktop call (code, an agent)", human: "A person's input", periodic: "The screen, taken every few seconds" }[step.source] || "";
    timeText.textContent = `#${step.step} · t ${formatSeconds(step.t)}`;
    timeText.title = isNum(step.time) ? new Date(step.time * 1000).toLocaleString() : "";
    durationText.textContent = `took ${formatSeconds(step.duration)}`;
    const actions = Array.isArray(step.actions) ? step.actions : [];
    if (!actions.length) actionsList.append(h("li", { class: "jd-player-muted" }, step.source === "periodic" ? "The screen (no action)" : "No action"));
    actions.forEach((a, i) => actionsList.append(h("li", { dataset: { index: i } }, describeAction(a))));
    if (step.error) {
      errorText.textContent = String(step.error);
      errorText.hidden = false;
    }
    showScreens();
  }

  function go(index, { fromVideo = false } = {}) {
    const all = steps();
    if (!all.length) return;
    const i = Math.max(0, Math.min(all.length - 1, Math.round(Number(index)) || 0));
    if (i === current && root.dataset.step === String(i)) return;
    current = i;
    renderStep();
    requestScreens();
    if (!fromVideo) seekVideo();
  }

  // ---- the video: one segment at a time, chunk after chunk, played from a Blob
  let segment = null; // {index, parts, received, size, url, error}
  let wantedSegment = null;
  let followVideo = false;

  function videoFor(step) {
    return step ? videoPosition(videos(), step.t) : null;
  }

  function setVideoStatus(text, tone = "") {
    videoStatus.textContent = text;
    videoStatus.dataset.tone = tone;
  }

  function renderVideoBox() {
    const vids = videos();
    if (!vids.length) {
      video.hidden = true;
      playButton.disabled = true;
      loadButton.hidden = true;
      setVideoStatus(`No video: ${get("video_error") || "none was recorded"}.`);
      return;
    }
    const pos = videoFor(steps()[current]) || { segment: 0, time: 0 };
    const info = vids[pos.segment];
    const limit = get("max_video_bytes");
    if (!info.playable || (isNum(limit) && info.bytes > limit)) {
      video.hidden = true;
      playButton.disabled = true;
      loadButton.hidden = true;
      setVideoStatus(`The video is too large to play in the notebook (${formatBytes(info.bytes)}; the limit is ${formatBytes(limit)}): open ${info.path}`, "error");
      root.dataset.video = "too-large";
      return;
    }
    if (segment && segment.index === pos.segment) {
      if (segment.error) {
        setVideoStatus(`Cannot load the video ${info.file}: ${segment.error}`, "error");
        root.dataset.video = "error";
        loadButton.hidden = false;
      } else if (segment.url) {
        setVideoStatus(vids.length > 1 ? `${info.file} (segment ${pos.segment + 1} of ${vids.length})` : "");
        root.dataset.video = "ready";
        loadButton.hidden = true;
      } else {
        setVideoStatus(`Loading the video: ${formatBytes(segment.received)} of ${formatBytes(segment.size || info.bytes)}…`);
        root.dataset.video = "loading";
      }
      return;
    }
    if (info.bytes > AUTO_VIDEO_BYTES && wantedSegment !== pos.segment) {
      loadButton.hidden = false;
      loadButton.textContent = `Load the video (${formatBytes(info.bytes)})`;
      setVideoStatus("");
      root.dataset.video = "idle";
      return;
    }
    loadVideo(false);
  }

  function loadVideo(clicked) {
    const pos = videoFor(steps()[current]) || { segment: 0, time: 0 };
    if (clicked) wantedSegment = pos.segment;
    if (segment && segment.index === pos.segment && !segment.error) return;
    dropSegment();
    segment = { index: pos.segment, parts: [], received: 0, size: 0, url: null, error: null, inFlight: false };
    loadButton.hidden = true;
    requestChunk();
    renderVideoBox();
  }

  let videoTimer = null;
  function requestChunk() {
    if (!segment || segment.inFlight || segment.url || segment.error) return;
    segment.inFlight = true;
    const asked = segment;
    const fail = (error) => {
      asked.inFlight = false;
      asked.error = error;
      asked.parts = [];
      renderVideoBox();
    };
    if (!send({ type: "video", segment: segment.index, offset: segment.received })) return fail("the kernel is not reachable");
    clearTimeout(videoTimer);
    videoTimer = setTimeout(() => asked === segment && asked.inFlight && fail(NO_ANSWER), ANSWER_MS);
  }

  function onVideo(msg, buffers) {
    if (!segment || msg.segment !== segment.index || !segment.inFlight) return;
    segment.inFlight = false;
    clearTimeout(videoTimer);
    if (msg.error) {
      segment.error = String(msg.error);
      segment.parts = [];
    } else if (msg.offset !== segment.received || !buffers || !buffers[0]) {
      segment.error = `the kernel sent bytes at ${msg.offset}, not at ${segment.received}`;
      segment.parts = [];
    } else {
      const b = buffers[0];
      const bytes = b instanceof DataView ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength) : new Uint8Array(b);
      const limit = get("max_video_bytes");
      segment.parts.push(bytes);
      segment.received += bytes.byteLength;
      segment.size = msg.size;
      if (isNum(limit) && segment.received > limit) {
        segment.error = `more than ${formatBytes(limit)} (the limit)`;
        segment.parts = [];
      } else if (msg.done || segment.received >= msg.size) {
        segment.url = URL_.createObjectURL(new Blob(segment.parts, { type: "video/mp4" }));
        segment.parts = [];
        video.src = segment.url;
        video.hidden = false;
        video.dataset.segment = String(segment.index);
      } else if (!bytes.byteLength) {
        segment.error = "the kernel sent an empty chunk";
        segment.parts = [];
      } else requestChunk();
    }
    renderVideoBox();
  }

  function dropSegment() {
    if (!segment) return;
    if (segment.url) URL_.revokeObjectURL(segment.url);
    segment = null;
    video.pause();
    video.removeAttribute("src");
    delete video.dataset.segment;
    video.hidden = true;
    playButton.disabled = true;
  }

  function seekVideo() {
    const pos = videoFor(steps()[current]);
    renderVideoBox();
    if (!pos || !segment || segment.index !== pos.segment || !segment.url) return;
    if (video.readyState >= 1 && Math.abs(video.currentTime - pos.time) > 0.01) {
      followVideo = false;
      video.currentTime = Math.min(pos.time, isNum(video.duration) ? video.duration : pos.time);
    }
  }

  function playFromStep() {
    seekVideo();
    const started = video.play();
    followVideo = true;
    if (started && typeof started.catch === "function") started.catch((err) => setVideoStatus(`The browser did not play the video: ${messageText(err)}`, "error"));
  }

  video.addEventListener("loadedmetadata", () => {
    playButton.disabled = false;
    root.dataset.videoReady = "true";
    seekVideo();
  });
  video.addEventListener("error", () => {
    const code = video.error ? video.error.code : 0;
    if (!video.getAttribute("src")) return;
    setVideoStatus(`The browser cannot play this video (media error ${code}${video.error && video.error.message ? `: ${video.error.message}` : ""}).`, "error");
    root.dataset.video = "error";
  });
  video.addEventListener("play", () => {
    followVideo = true;
  });
  video.addEventListener("pause", () => {
    followVideo = false;
  });
  // while it plays, the step follows the video
  video.addEventListener("timeupdate", () => {
    if (!followVideo || video.paused || !segment) return;
    const i = stepAtTime(steps(), videos(), segment.index, video.currentTime);
    if (i >= 0 && i !== current) go(i, { fromVideo: true });
  });

  // ---- keys: left/right step (the slider and the list handle their own)
  root.addEventListener("keydown", (e) => {
    const t = e.target;
    if (t === slider || t === list || (t && t.tagName === "VIDEO")) {
      e.stopPropagation();
      return;
    }
    if (e.key === "ArrowLeft" || e.key === "ArrowRight") {
      go(current + (e.key === "ArrowLeft" ? -1 : 1));
      e.preventDefault();
      e.stopPropagation();
    }
  });

  // ---- messages from the kernel
  on("msg:custom", (msg, buffers) => {
    if (!msg || msg.id !== viewId) return; // another view's answer
    if (msg.type === "screen") onScreen(msg, buffers);
    else if (msg.type === "video") onVideo(msg, buffers);
    else if (msg.type === "error") setVideoStatus(`The kernel refused a request: ${msg.error}`, "error");
  });
  on("change:steps", () => {
    renderList();
    current = Math.min(current, Math.max(0, steps().length - 1));
    root.dataset.step = "";
    go(current);
  });
  on("change:note", renderList);
  on("change:videos", () => {
    dropSegment();
    renderVideoBox();
  });

  renderList();
  setMode("both");
  root.dataset.step = "";
  go(0);
  renderStep();
  renderVideoBox();

  root.jdPlayer = { model, go, get current() { return current; }, panes, video };

  return () => {
    for (const dispose of disposers.splice(0)) {
      try {
        dispose();
      } catch {
        /* the model is gone */
      }
    }
    screens.clear();
    clearTimeout(screenTimer);
    clearTimeout(videoTimer);
    if (resizer) resizer.disconnect();
    for (const entry of cache.values()) if (entry.url) URL_.revokeObjectURL(entry.url);
    cache.clear();
    dropSegment();
    delete root.jdPlayer;
    root.remove();
  };
}
