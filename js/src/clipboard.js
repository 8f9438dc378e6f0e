// The clipboard panel: a text area between the local machine and the desktop.
// "Send to desktop" types it into the desktop's clipboard; the desktop's own clipboard changes show up here;
// "Fetch from desktop" asks the server; "Copy" puts the text on the local clipboard where the browser allows it.

import { h, icon } from "./dom.js";
import { icons } from "./icons.js";

/**
 * @param {object} o
 * @param {(text: string) => Promise<string|void>|string|void} o.onSend     returns a status message
 * @param {() => Promise<string>} [o.onFetch]                              resolves to the desktop's clipboard text
 * @param {() => void} [o.onClose]
 */
export function createClipboardPanel({ onSend, onFetch, onClose }) {
  const textarea = h("textarea", {
    class: "jd-clipboard-text",
    "aria-label": "Clipboard text",
    rows: 6,
    spellcheck: "false",
    placeholder: "Text to send to the desktop; the desktop's clipboard appears here.",
  });
  const status = h("div", { class: "jd-clipboard-status", role: "status", "aria-live": "polite" });
  const say = (msg, tone = "") => {
    status.textContent = msg || "";
    status.dataset.tone = tone;
  };

  const run = async (fn) => {
    try {
      await fn();
    } catch (err) {
      say(err && err.message ? err.message : String(err), "error");
    }
  };

  const send = () =>
    run(async () => {
      const msg = await onSend(textarea.value);
      say(msg || "Sent to the desktop.", "ok");
    });
  const fetchRemote = () =>
    run(async () => {
      say("Fetching…");
      const text = await onFetch();
      textarea.value = text;
      say(text ? `Fetched ${text.length} characters.` : "The desktop's clipboard is empty.", "ok");
    });
  const copyLocal = () =>
    run(async () => {
      await navigator.clipboard.writeText(textarea.value);
      say("Copied to your clipboard.", "ok");
    });

  textarea.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      send();
    }
  });

  const canCopy = typeof navigator !== "undefined" && navigator.clipboard && typeof navigator.clipboard.writeText === "function";
  const el = h(
    "section",
    { class: "jd-clipboard", hidden: true, "aria-label": "Clipboard" },
    h(
      "header",
      { class: "jd-panel-header" },
      h("span", { class: "jd-panel-title" }, "Clipboard"),
      h("button", { type: "button", class: "jd-icon-button", title: "Close", "aria-label": "Close clipboard", onclick: () => hide() }, icon(icons.close)),
    ),
    textarea,
    h(
      "div",
      { class: "jd-panel-actions" },
      h("button", { type: "button", class: "jd-button jd-primary", title: "Send to desktop (Ctrl+Enter)", onclick: send }, "Send to desktop"),
      onFetch ? h("button", { type: "button", class: "jd-button", onclick: fetchRemote }, "Fetch from desktop") : null,
      canCopy ? h("button", { type: "button", class: "jd-button", title: "Copy to your computer's clipboard", onclick: copyLocal }, "Copy") : null,
    ),
    status,
  );

  function show() {
    el.hidden = false;
    textarea.focus();
  }
  function hide() {
    el.hidden = true;
    if (onClose) onClose();
  }

  return {
    el,
    textarea,
    show,
    hide,
    get open() {
      return !el.hidden;
    },
    /** The desktop's clipboard changed. Don't clobber what the user is typing. */
    remoteText(text) {
      if (document.activeElement === textarea && textarea.value && textarea.value !== text) {
        say("The desktop's clipboard changed: Fetch from desktop to see it.");
        return;
      }
      textarea.value = text;
      say("Updated from the desktop.");
    },
    say,
  };
}
