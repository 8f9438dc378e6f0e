// A person in the loop, on a page that shows a desktop the server holds (the full-page viewer, the notebook widget):
// the approvals an agent waits for, as cards over the live screen with the action drawn where it will land
// (approve once / always for these kinds / deny, and the time left before it is denied), and a "Take over" button
// that gives the person the desktop (the agent's input waits until "Hand back"). The state comes from the
// session's `watch` long-poll (jupyter_desktop/gate.py) through the server's generic route; answers go back by
// `decide`, `take_over` and `hand_back`. The server names who answered (the page's login), never the page.

import { h, icon } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
const WATCH_SECONDS = 25;
const RETRY_MS = [500, 1000, 2000, 5000, 10000];
const MAX_TEXT = 200;

const where = (a) => (Number.isFinite(a.x) && Number.isFinite(a.y) ? ` at (${a.x}, ${a.y})` : "");
const quote = (text) => {
  const t = String(text);
  return `“${t.length > MAX_TEXT ? `${t.slice(0, MAX_TEXT)}…` : t}”`;
};

/** One action of the vocabulary (jupyter_desktop/actions.py) in words. */
export function describeAction(a) {
  if (!a || typeof a !== "object") return String(a);
  const button = a.button && a.button !== "left" ? `${a.button} ` : "";
  const mods = Array.isArray(a.modifiers) && a.modifiers.length ? `${a.modifiers.join("+")}+` : "";
  switch (a.action) {
    case "click": {
      const times = a.count === 2 ? "double-" : a.count === 3 ? "triple-" : "";
      return `${mods}${button}${times}click${where(a)}`;
    }
    case "move":
      return `move the pointer${where(a).replace(" at ", " to ")}`;
    case "drag": {
      const path = Array.isArray(a.path) ? a.path : [];
      const [from, to] = [path[0], path[path.length - 1]];
      return from && to ? `drag from (${from[0]}, ${from[1]}) to (${to[0]}, ${to[1]})` : "drag";
    }
    case "scroll": {
      const parts = [];
      if (a.dy) parts.push(`${a.dy > 0 ? "down" : "up"} ${Math.abs(a.dy)}`);
      if (a.dx) parts.push(`${a.dx > 0 ? "right" : "left"} ${Math.abs(a.dx)}`);
      return `scroll ${parts.join(", ") || ""}${where(a)}`.replace("  ", " ");
    }
    case "type":
      return `type ${quote(a.text ?? "")}`;
    case "press":
      return `press ${Array.isArray(a.keys) ? a.keys.join("+") : a.keys}`;
    case "key_down":
    case "key_up":
      return `${a.action === "key_down" ? "hold down" : "let go of"} ${a.key ?? a.keys ?? ""}`;
    case "mouse_down":
    case "mouse_up":
      return `${a.action === "mouse_down" ? "press" : "release"} the ${a.button || "left"} button${where(a)}`;
    case "wait":
      return `wait ${a.seconds ?? ""} s`;
    case "safety_check":
      return `go on despite a safety check${a.code ? ` (${a.code})` : ""}${a.message ? `: ${quote(a.message)}` : ""}`;
    default: {
      // an agent tool's own call (a toolset member and its input): its name and the rest as JSON
      const { action, ...rest } = a;
      const more = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : "";
      return `${action || "an action"}${more.length > MAX_TEXT ? `${more.slice(0, MAX_TEXT)}…` : more}`;
    }
  }
}

/** What to draw for an action, in desktop pixels: rings (clicks, presses), a path (drags), a caption (keys). */
export function actionShapes(a) {
  if (!a || typeof a !== "object") return [];
  const at = Number.isFinite(a.x) && Number.isFinite(a.y);
  switch (a.action) {
    case "click":
    case "mouse_down":
    case "mouse_up":
    case "scroll":
    case "move":
      return at ? [{ kind: "ring", x: a.x, y: a.y, label: a.action === "click" ? "" : a.action }] : [];
    case "drag": {
      const points = (Array.isArray(a.path) ? a.path : []).filter((p) => Array.isArray(p) && p.length === 2);
      return points.length ? [{ kind: "path", points }, { kind: "ring", x: points[points.length - 1][0], y: points[points.length - 1][1], label: "" }] : [];
    }
    case "type":
    case "press":
    case "key_down":
    case "key_up":
      return [{ kind: "caption", text: describeAction(a) }];
    default:
      return [];
  }
}

/** The seconds left before an approval is denied (its deadline is Unix seconds). */
export const secondsLeft = (deadline, now = Date.now()) => Math.max(0, Math.ceil(deadline - now / 1000));

/**
 * The gate on a page: watches the session, shows the cards and the holder, and answers.
 * @param {object} o
 * @param {object} o.api        DesktopApi (call(id, op, args))
 * @param {string} o.id         the desktop
 * @param {HTMLElement} o.stage where the cards and the marks go (position: relative; the screen fills it)
 * @param {() => HTMLCanvasElement|null} o.canvas  the live screen's canvas (its drawn box maps desktop pixels)
 * @param {(text: string, tone?: string) => void} [o.say]
 */
export function createGate({ api, id, stage, canvas, say = () => {} }) {
  const marks = document.createElementNS(SVG, "svg");
  marks.setAttribute("class", "jd-approval-marks");
  marks.setAttribute("aria-hidden", "true");
  const cards = h("div", { class: "jd-approvals", role: "region", "aria-label": "Approvals", hidden: true });
  stage.append(marks, cards);
  let state = { holder: "agent", by: null, version: -1, pending: [] };
  let running = false;
  let failures = 0;
  let ticker = null;
  let retry = null;
  const busy = new Set();

  const takeOver = h(
    "button",
    { type: "button", class: "jd-button jd-takeover", "aria-pressed": "false", title: "Take over: the agent's input waits until you hand the desktop back" },
    h("span", { class: "jd-button-label" }, "Take over"),
  );
  const badge = h("span", { class: "jd-control", role: "status", "aria-live": "polite", dataset: { holder: "agent" } }, "Agent in control");
  takeOver.addEventListener("click", async () => {
    const taking = state.holder !== "person";
    takeOver.disabled = true;
    try {
      apply(await api.call(id, taking ? "take_over" : "hand_back"));
      say(taking ? "You have the desktop: the agent waits until you hand it back." : "Handed back to the agent.");
    } catch (err) {
      say(`${taking ? "Take over" : "Hand back"}: ${err.message}`, "error");
    } finally {
      takeOver.disabled = false;
    }
  });

  async function decide(request, decision) {
    busy.add(request);
    render();
    try {
      await api.call(id, "decide", { request, decision });
    } catch (err) {
      say(`Could not answer: ${err.message}`, "error");
    } finally {
      busy.delete(request);
    }
  }

  function apply(next) {
    if (!next || typeof next !== "object") return;
    state = next;
    render();
  }

  function render() {
    const person = state.holder === "person";
    takeOver.setAttribute("aria-pressed", String(person));
    takeOver.querySelector(".jd-button-label").textContent = person ? "Hand back" : "Take over";
    takeOver.title = person
      ? `${state.by || "A person"} holds the desktop: the agent's input waits. Click to hand it back.`
      : "Take over: the agent's input waits until you hand the desktop back";
    badge.dataset.holder = state.holder;
    badge.textContent = person ? `${state.by || "A person"} in control` : "Agent in control";
    const pending = Array.isArray(state.pending) ? state.pending : [];
    cards.hidden = !pending.length;
    cards.textContent = "";
    for (const p of pending) cards.append(card(p));
    drawMarks(pending);
    if (pending.length && !ticker) ticker = setInterval(tick, 500);
    if (!pending.length && ticker) {
      clearInterval(ticker);
      ticker = null;
    }
  }

  function card(p) {
    const actions = Array.isArray(p.actions) ? p.actions : [];
    const kinds = [...new Set(actions.map((a) => a && a.action).filter(Boolean))];
    const disabled = busy.has(p.request);
    const button = (label, decision, extra = "") =>
      h("button", { type: "button", class: `jd-button ${extra}`.trim(), disabled, dataset: { decision }, onclick: () => decide(p.request, decision) }, label);
    return h(
      "div",
      { class: "jd-approval", role: "dialog", "aria-label": "The agent asks for approval", dataset: { request: String(p.request) } },
      h("div", { class: "jd-approval-title" }, icon('<svg viewBox="0 0 24 24" width="16" height="16" fill="none" stroke="currentColor" stroke-width="2"><path d="M12 9v4M12 17h.01"/><circle cx="12" cy="12" r="10"/></svg>'), "The agent asks to:"),
      h("ol", { class: "jd-approval-actions" }, actions.map((a) => h("li", {}, describeAction(a)))),
      h("div", { class: "jd-approval-left", dataset: { deadline: String(p.deadline) } }, `Denied in ${secondsLeft(p.deadline)} s without an answer`),
      h(
        "div",
        { class: "jd-approval-buttons" },
        button("Approve", "approve", "jd-primary"),
        button(`Always allow ${kinds.join(", ")}`, "always"),
        button("Deny", "deny", "jd-danger"),
      ),
    );
  }

  function tick() {
    for (const el of cards.querySelectorAll(".jd-approval-left")) {
      el.textContent = `Denied in ${secondsLeft(Number(el.dataset.deadline))} s without an answer`;
    }
    drawMarks(Array.isArray(state.pending) ? state.pending : []);
  }

  /** The pending actions drawn over the screen, where they will land (the canvas's drawn box, in page pixels). */
  function drawMarks(pending) {
    marks.textContent = "";
    const c = canvas();
    if (!pending.length || !c || !c.width || !c.height) return;
    const box = c.getBoundingClientRect();
    const host = stage.getBoundingClientRect();
    if (!box.width || !box.height) return;
    const sx = box.width / c.width;
    const sy = box.height / c.height;
    const px = (x) => box.left - host.left + (x + 0.5) * sx;
    const py = (y) => box.top - host.top + (y + 0.5) * sy;
    let captions = 0;
    for (const p of pending) {
      for (const a of p.actions || []) {
        for (const s of actionShapes(a)) {
          if (s.kind === "ring") {
            const ring = document.createElementNS(SVG, "circle");
            ring.setAttribute("class", "jd-mark-ring");
            ring.setAttribute("cx", String(px(s.x)));
            ring.setAttribute("cy", String(py(s.y)));
            ring.setAttribute("r", "14");
            marks.append(ring);
          } else if (s.kind === "path") {
            const line = document.createElementNS(SVG, "polyline");
            line.setAttribute("class", "jd-mark-path");
            line.setAttribute("points", s.points.map(([x, y]) => `${px(x)},${py(y)}`).join(" "));
            marks.append(line);
          } else if (s.kind === "caption") {
            const text = document.createElementNS(SVG, "text");
            text.setAttribute("class", "jd-mark-caption");
            text.setAttribute("x", String(box.left - host.left + 12));
            text.setAttribute("y", String(box.bottom - host.top - 16 - 22 * captions++));
            text.textContent = s.text;
            marks.append(text);
          }
        }
      }
    }
  }

  async function loop() {
    while (running) {
      try {
        const next = await api.call(id, "watch", { version: state.version, timeout: WATCH_SECONDS });
        if (!running) return;
        failures = 0;
        apply(next);
      } catch (err) {
        if (!running) return;
        if (err && err.status === 404) return; // the desktop is gone: the page says so
        const wait = RETRY_MS[Math.min(failures++, RETRY_MS.length - 1)];
        await new Promise((resolve) => (retry = setTimeout(resolve, wait)));
      }
    }
  }

  return {
    takeOver,
    badge,
    /** Watch the session (while the page shows a connected desktop). */
    start() {
      if (running) return;
      running = true;
      state = { ...state, version: -1 };
      loop();
    },
    stop() {
      running = false;
      clearTimeout(retry);
    },
    dispose() {
      this.stop();
      if (ticker) clearInterval(ticker);
      ticker = null;
      marks.remove();
      cards.remove();
    },
    get state() {
      return state;
    },
    redraw: () => drawMarks(Array.isArray(state.pending) ? state.pending : []),
  };
}
