// Entry point of static/player.js, the trajectory player's ESM (anywidget): plain DOM, no noVNC.
// The view is player-view.js; the kernel side is jupyter_desktop/player.py.

import "./player.css"; // esbuild writes it to static/player.css (anywidget's _css)
import { renderPlayer } from "./player-view.js";

export default {
  render({ model, el }) {
    return renderPlayer({ model, el });
  },
};
