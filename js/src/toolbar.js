// Toolbar pieces shared by the full-page viewer and (later) the notebook widget:
// a connection status indicator, buttons, toggles and a select, all plain DOM.

import { h, icon } from "./dom.js";

const STOPPED_TEXT = {
  stopped: "Desktop stopped",
  error: "Desktop failed",
  "not-found": "Desktop not found",
  unauthorized: "Not authorized",
  closed: "Disconnected",
  paused: "Paused",
};

/**
 * The words and tone for a connection state (see DesktopConnection "state" events).
 * tone: ok | busy | warn | error | idle
 */
export function describeState(state, now = Date.now()) {
  const s = state || { phase: "idle" };
  switch (s.phase) {
    case "connected":
      return { text: "Connected", tone: "ok", detail: "" };
    case "connecting":
      return { text: s.attempt > 0 ? `Connecting (attempt ${s.attempt + 1})…` : "Connecting…", tone: "busy", detail: "" };
    case "waiting":
      return {
        text: s.status === "stopping" ? "Desktop stopping…" : "Desktop starting…",
        tone: "busy",
        detail: "",
      };
    case "reconnecting": {
      const secs = s.retryAt ? Math.ceil((s.retryAt - now) / 1000) : 0;
      return {
        text: secs > 0 ? `Reconnecting in ${secs}s` : "Reconnecting…",
        tone: "warn",
        detail: s.message || "",
      };
    }
    case "stopped":
      return {
        text: STOPPED_TEXT[s.reason] || "Disconnected",
        tone: s.reason === "closed" || s.reason === "stopped" || s.reason === "paused" ? "idle" : "error",
        detail: s.message || "",
      };
    default:
      return { text: "Not connected", tone: "idle", detail: "" };
  }
}

/** A status pill that follows a DesktopConnection's state, ticking the reconnect countdown. */
export function createStatus() {
  const dot = h("span", { class: "jd-status-dot" });
  const text = h("span", { class: "jd-status-text" });
  const el = h("span", { class: "jd-status", role: "status", "aria-live": "polite" }, dot, text);
  let state = null;
  let timer = null;
  const render = () => {
    const d = describeState(state);
    el.dataset.tone = d.tone;
    el.dataset.phase = (state && state.phase) || "idle";
    if (text.textContent !== d.text) text.textContent = d.text;
    el.title = d.detail || d.text;
  };
  return {
    el,
    update(next) {
      state = next;
      render();
      const ticking = next && next.phase === "reconnecting" && next.retryAt;
      if (ticking && !timer) timer = setInterval(render, 250);
      if (!ticking && timer) {
        clearInterval(timer);
        timer = null;
      }
    },
    dispose() {
      if (timer) clearInterval(timer);
      timer = null;
    },
  };
}

/** A toolbar button. `toggle: true` makes it a pressed/unpressed switch (aria-pressed). */
export function createButton({ label, title, icon: svg, onClick, toggle = false, pressed = false, showLabel = true }) {
  const btn = h(
    "button",
    { type: "button", class: "jd-button", title: title || label, "aria-label": label },
    svg ? icon(svg) : null,
    showLabel ? h("span", { class: "jd-button-label" }, label) : null,
  );
  if (toggle) btn.setAttribute("aria-pressed", String(!!pressed));
  btn.setPressed = (value) => btn.setAttribute("aria-pressed", String(!!value));
  btn.isPressed = () => btn.getAttribute("aria-pressed") === "true";
  btn.addEventListener("click", (event) => {
    if (toggle) btn.setPressed(!btn.isPressed());
    if (onClick) onClick(toggle ? btn.isPressed() : event, event);
  });
  return btn;
}

/** A labelled select: options = [[value, label], ...]. */
export function createSelect({ label, title, options, value, onChange }) {
  const select = h(
    "select",
    { class: "jd-select", title: title || label, "aria-label": label },
    options.map(([v, text]) => h("option", { value: v }, text)),
  );
  if (value !== undefined) select.value = value;
  select.addEventListener("change", () => onChange && onChange(select.value));
  return select;
}

/** A toolbar: groups of items, with a flexible spacer between the start and end groups. */
export function createToolbar(start = [], end = []) {
  return h(
    "div",
    { class: "jd-toolbar", role: "toolbar" },
    h("div", { class: "jd-toolbar-group" }, start),
    h("div", { class: "jd-toolbar-spacer" }),
    h("div", { class: "jd-toolbar-group" }, end),
  );
}

/**
 * The record button of a page that talks to the server itself (the full-page viewer): pressed while the desktop
 * records (whoever started it: this page, a kernel's Desktop.record, the REST API), a click starts or stops it.
 * `api`: DesktopApi; `say(text, tone)`: where its outcome is told. `sync()` asks the server for the state again.
 */
export function createRecordButton({ api, id, say, icon: svg }) {
  let busy = false;
  const button = createButton({
    label: "Record",
    title: "Record what is done on this desktop (steps, screenshots, a video) into the server's recordings",
    icon: svg,
    toggle: true,
    showLabel: false,
    onClick: async (pressed) => {
      button.setPressed(!pressed); // the server's answer decides
      if (busy) return;
      busy = true;
      button.disabled = true;
      try {
        if (pressed) {
          const rec = await api.startRecording(id);
          show(rec);
          say(`Recording into ${rec.name || rec.path}`);
        } else {
          const rec = await api.stopRecording(id);
          show(null);
          say(rec.error ? `Recording stopped early: ${rec.error}` : `Recorded ${rec.step_count} steps: ${rec.name || rec.path} (on the Desktops page)`, rec.error ? "error" : "");
        }
      } catch (err) {
        say(`Recording: ${err.message}`, "error");
        sync();
      } finally {
        busy = false;
        button.disabled = false;
      }
    },
  });
  button.classList.add("jd-record");
  function show(rec) {
    button.setPressed(!!rec);
    button.dataset.recording = rec ? "true" : "false";
    button.title = rec ? `Recording into ${rec.name || rec.path}: click to stop` : "Record what is done on this desktop (steps, screenshots, a video) into the server's recordings";
  }
  async function sync() {
    try {
      show(await api.recording(id));
    } catch {
      /* the status pill says what is wrong with the server */
    }
  }
  show(null);
  return { el: button, sync };
}
