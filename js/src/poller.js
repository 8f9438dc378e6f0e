// Polling while a person is there, for the pages that list desktops (the desktop list, the class page).
//
// Every poll reaches the server through JupyterHub's proxy, which counts it as the user's activity: a forgotten tab
// must not keep a server from the idle culler. So `poll()` runs every `interval` ms only while the page is shown
// (`visible()`) and a person used it (pointer, key, wheel, touch, focus) within `idleAfter` ms; past that, polling
// pauses and `onPause()` says so. The person's next input, or the page shown again, polls at once and resumes.

const PRESENCE = ["pointermove", "pointerdown", "keydown", "wheel", "touchstart", "focus"];

/**
 * @param {object} o
 * @param {() => Promise<unknown>} o.poll
 * @param {number} o.interval  ms
 * @param {number} o.idleAfter  ms without the person's input after which polling pauses
 * @param {() => boolean} [o.visible]
 * @param {() => void} [o.onPause]
 * @returns {{stop: () => void}} stop polling for good and remove the listeners
 */
export function pollWhilePresent({ poll, interval, idleAfter, visible = () => document.visibilityState !== "hidden", onPause = () => {} }) {
  let lastSeen = Date.now(); // the person's last input on this page
  let paused = false;
  let timer = null;
  let stopped = false;
  const pollNow = () => {
    paused = false;
    return poll();
  };
  function schedule() {
    clearTimeout(timer);
    if (stopped) return;
    timer = setTimeout(async () => {
      if (visible() && Date.now() - lastSeen < idleAfter) await pollNow();
      else if (visible() && !paused) {
        paused = true;
        onPause();
      }
      schedule();
    }, interval);
  }
  const onVisibility = () => {
    if (visible()) {
      lastSeen = Date.now();
      pollNow();
    }
  };
  const onPresence = () => {
    const wasPaused = paused;
    lastSeen = Date.now();
    if (wasPaused && visible()) pollNow();
  };
  document.addEventListener("visibilitychange", onVisibility);
  for (const type of PRESENCE) window.addEventListener(type, onPresence, { passive: true, capture: true });
  schedule();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
      document.removeEventListener("visibilitychange", onVisibility);
      for (const type of PRESENCE) window.removeEventListener(type, onPresence, { capture: true });
    },
  };
}
