// A tiny element builder. Text always goes in as text nodes (never HTML): server messages are untrusted.

/**
 * h("button", {class: "x", onclick: fn, title: "t", disabled: true}, "label", child, ...)
 * Props: `class`, `style` (object), `dataset` (object), `on<event>` (listener), anything else as an
 * attribute (true -> "", false/null/undefined -> omitted). Children: strings, numbers, nodes, arrays, null.
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "style" && typeof value === "object") Object.assign(el.style, value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "value" || key === "checked" || key === "selected") el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** An inline SVG icon from one of the trusted strings in icons.js. */
export function icon(svg) {
  const span = document.createElement("span");
  span.className = "jd-icon";
  span.setAttribute("aria-hidden", "true");
  span.innerHTML = svg;
  return span;
}

/** Save a Blob (or URL) as a download. */
export function download(blobOrUrl, filename) {
  const url = typeof blobOrUrl === "string" ? blobOrUrl : URL.createObjectURL(blobOrUrl);
  const a = h("a", { href: url, download: filename, style: { display: "none" } });
  document.body.appendChild(a);
  a.click();
  a.remove();
  if (typeof blobOrUrl !== "string") setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/** Show the last frame a connection kept while it reconnects (``detail.dataUrl``), or hide the image. */
export function showLastFrame(img, detail) {
  if (detail && detail.dataUrl) {
    img.src = detail.dataUrl;
    img.hidden = false;
  } else {
    img.hidden = true;
    img.removeAttribute("src");
  }
}
