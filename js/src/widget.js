// Entry point of static/widget.js, the notebook widget's ESM (anywidget): noVNC bundled in, no CDN.
// The view itself is widget-view.js (Desktop.grid's: widget-grid.js); the kernel side is jupyter_desktop/widget.py.

import RFB from "@novnc/novnc";
import "./widget.css"; // esbuild writes it to static/widget.css (anywidget's _css)
import { renderDesktopGrid } from "./widget-grid.js";
import { renderDesktopView } from "./widget-view.js";

export default {
  render({ model, el }) {
    // one bundle for both widgets: a DesktopGrid has `views` (its tiles), a DesktopView has not
    if (Array.isArray(model.get("views"))) return renderDesktopGrid({ model, el, RFB });
    return renderDesktopView({ model, el, RFB });
  },
};
