// Entry point of static/widget.js, the notebook widget's ESM (anywidget): noVNC bundled in, no CDN.
// The view itself is widget-view.js; the kernel side is jupyter_desktop/widget.py.

import RFB from "@novnc/novnc";
import "./widget.css"; // esbuild writes it to static/widget.css (anywidget's _css)
import { renderDesktopView } from "./widget-view.js";

export default {
  render({ model, el }) {
    return renderDesktopView({ model, el, RFB });
  },
};
