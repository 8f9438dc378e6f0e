// Reconnect policy as pure functions: how long to wait, and what a desktop's REST status means
// for a viewer that lost (or never had) its connection.

export const DEFAULT_BACKOFF = Object.freeze({ initial: 1000, factor: 2, max: 30000, jitter: 0.2 });

/**
 * Delay before reconnect attempt number `attempt` (0-based): initial * factor^attempt, capped at max,
 * with +-jitter (a fraction) so that many viewers do not reconnect in lockstep after a server restart.
 */
export function backoffDelay(attempt, options = {}, random = Math.random) {
  const { initial, factor, max, jitter } = { ...DEFAULT_BACKOFF, ...options };
  const n = Math.max(0, Math.floor(Number(attempt) || 0));
  const base = Math.min(max, initial * Math.pow(factor, n));
  const spread = jitter > 0 ? base * jitter * (2 * random() - 1) : 0;
  return Math.max(0, Math.min(max, Math.round(base + spread)));
}

/**
 * What to do after asking the server about the desktop.
 * `check` is `{desktop}` (the REST JSON) or `{error}` (an ApiError-like object with `status`).
 * Returns {action: "connect"} | {action: "wait", status} | {action: "stop", reason, message}.
 */
export function decide(check) {
  if (check && check.error) {
    const status = check.error.status;
    if (status === 404) {
      return { action: "stop", reason: "not-found", message: check.error.message || "This desktop does not exist (any more)." };
    }
    if (status === 401 || status === 403) {
      return {
        action: "stop",
        reason: "unauthorized",
        message: "Not authorized. Your Jupyter login may have expired: reload the page to log in again.",
      };
    }
    // Server unreachable or failing: the WebSocket attempt (and the backoff) decides.
    return { action: "connect" };
  }
  const desktop = (check && check.desktop) || {};
  switch (desktop.status) {
    case "running":
      return { action: "connect" };
    case "starting":
    case "stopping":
      return { action: "wait", status: desktop.status };
    case "stopped":
      return { action: "stop", reason: "stopped", message: desktop.error || "The desktop has stopped." };
    case "error":
      return { action: "stop", reason: "error", message: desktop.error || "The desktop failed." };
    default:
      return { action: "connect" };
  }
}
