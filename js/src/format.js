// Formatting for status, sizes and ages (pure; unit-tested).

/** Status -> tone (drives colours): ok | busy | idle | error. */
export const STATUS_TONE = Object.freeze({
  running: "ok",
  starting: "busy",
  stopping: "busy",
  stopped: "idle",
  error: "error",
});

export const statusTone = (status) => STATUS_TONE[status] || "idle";

/** A server timestamp (epoch seconds or ms, or an ISO string) in ms since the epoch; NaN if unknown. */
export function toMillis(t) {
  if (typeof t === "number" && Number.isFinite(t)) return t < 1e11 ? t * 1000 : t;
  if (typeof t === "string" && t.trim()) {
    const n = Number(t);
    if (Number.isFinite(n)) return toMillis(n);
    return Date.parse(t);
  }
  return NaN;
}

/** A duration in ms as a short human string: "12 s", "5 min", "3 h 4 min", "2 d 3 h". */
export function formatDuration(ms) {
  if (!Number.isFinite(ms)) return "—";
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const hrs = Math.floor(m / 60);
  if (hrs < 24) return m % 60 ? `${hrs} h ${m % 60} min` : `${hrs} h`;
  const d = Math.floor(hrs / 24);
  return hrs % 24 ? `${d} d ${hrs % 24} h` : `${d} d`;
}

export const formatAge = (t, now = Date.now()) => formatDuration(now - toMillis(t));

export function formatSize(width, height) {
  return Number.isFinite(width) && Number.isFinite(height) && width > 0 && height > 0 ? `${width}×${height}` : "—";
}

export function formatProfile(profile) {
  if (Array.isArray(profile)) return profile.join(" ") || "—";
  return profile ? String(profile) : "—";
}

/** What the list page shows for one desktop, and which actions it offers. */
export function rowModel(d, now = Date.now()) {
  const status = typeof d.status === "string" ? d.status : "unknown";
  const active = status === "running" || status === "starting";
  const actions = [];
  if (active) actions.push("open", "stop");
  else if (status === "stopping") actions.push("open");
  else actions.push("restart", "remove");
  return {
    id: String(d.id),
    status,
    tone: statusTone(status),
    error: d.error ? String(d.error) : "",
    profile: formatProfile(d.profile),
    size: formatSize(d.width, d.height),
    backend: d.backend ? String(d.backend) : "—",
    age: formatAge(d.created, now),
    idle: formatAge(d.last_activity, now),
    created: toMillis(d.created),
    actions,
  };
}

/** Newest first; desktops without a creation time last. */
export function sortDesktops(list) {
  return [...list].sort((a, b) => (toMillis(b.created) || 0) - (toMillis(a.created) || 0));
}

/** Pick a desktop size that fills this browser window under the viewer's toolbar. */
export function windowSize(innerWidth, innerHeight, toolbar = 40) {
  const clamp = (v, lo, hi) => Math.max(lo, Math.min(hi, Math.floor(v)));
  return { width: clamp(innerWidth, 640, 3840) & ~1, height: clamp(innerHeight - toolbar, 480, 2160) & ~1 };
}

/** A byte count as a short human string: "512 B", "3.4 KB", "12 MB", "1.2 GB". */
export function formatBytes(n) {
  if (!Number.isFinite(n) || n < 0) return "—";
  if (n < 1000) return `${n} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let v = n;
  let i = -1;
  do {
    v /= 1000;
    i += 1;
  } while (v >= 1000 && i < units.length - 1);
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/** A recording as the list page shows it (GET desktop/api/recordings). */
export function recordingRow(r, now = Date.now()) {
  const start = toMillis(r.start);
  const end = r.recording ? now : toMillis(r.end);
  return {
    name: r.name || "",
    path: r.path || "",
    desktop: r.desktop || "—",
    started: Number.isFinite(start) ? new Date(start).toLocaleString() : "—",
    length: Number.isFinite(start) && Number.isFinite(end) ? formatDuration(end - start) : "—",
    steps: Number.isFinite(r.step_count) ? String(r.step_count) : "—",
    size: formatBytes(r.bytes),
    recording: !!r.recording,
    video: Array.isArray(r.video) && r.video.length > 0,
  };
}
