// Entry point of static/viewer.js: the server's HTML shells for {base}desktop/ (page "list") and
// {base}desktop/<id>/ (page "viewer") load this module; it reads the page config and mounts the page.

import RFB from "@novnc/novnc";
import "./style.css";
import { readConfig } from "./config.js";
import { h } from "./dom.js";
import { mountList } from "./list-page.js";
import { mountViewer } from "./viewer-page.js";

function main() {
  const config = readConfig(document, window.location);
  let root = document.getElementById("jupyter-desktop");
  if (!root) root = document.body.appendChild(h("div", { id: "jupyter-desktop" }));
  document.documentElement.classList.add("jd-page");
  if (config.page === "viewer" && config.desktopId) mountViewer(root, config, { RFB });
  else mountList(root, config);
}

main();
