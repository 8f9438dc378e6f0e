// Bundle the browser side with esbuild, minified, noVNC included (no CDN: classrooms are offline):
//   src/viewer.js (+ the CSS it imports) -> ../jupyter_desktop/static/viewer.{js,css}   the pages and Lab's tabs
//   src/widget.js (+ the CSS it imports) -> ../jupyter_desktop/static/widget.{js,css}   the notebook widget (anywidget)
//   src/player.js (+ the CSS it imports) -> ../jupyter_desktop/static/player.{js,css}   the trajectory player (anywidget;
//                                                                                       no noVNC: it shows files)
// viewer.js is a CLASSIC script (IIFE defining the global `jupyterDesktop`): the pages load it with <script defer>
// and JupyterLab's tabs with a <script> element, both same-origin no-cors GETs. A module script would be a
// CORS-mode fetch, which a JupyterHub single-user server refuses to a cookie login without an XSRF token (it
// redirects to the hub's OAuth, which redirects back: ERR_TOO_MANY_REDIRECTS). widget.js stays ESM: anywidget
// imports it from the text the kernel sends through the comm, with a default export.
// Each is one self-contained file (no shared chunks), with THIRD-PARTY-LICENSES.txt next to them: the licence
// texts of everything bundled from node_modules.
//
//   node build.mjs            production build
//   node build.mjs --dev      unminified, with source maps
//   node build.mjs --dev --watch

import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = path.dirname(fileURLToPath(import.meta.url));
const outdir = path.resolve(here, "../jupyter_desktop/static");
const dev = process.argv.includes("--dev");
const watch = process.argv.includes("--watch");

const BANNER =
  "/*! jupyter_desktop front end. Bundles noVNC (MPL-2.0, https://github.com/novnc/noVNC) and pako (MIT); " +
  "licence texts in THIRD-PARTY-LICENSES.txt next to this file. */";

/** @type {import("esbuild").BuildOptions} */
const common = {
  absWorkingDir: here,
  outdir,
  bundle: true,
  platform: "browser",
  target: ["chrome100", "firefox100", "safari15.4", "edge100"],
  minify: !dev,
  sourcemap: dev ? "linked" : false,
  legalComments: "eof",
  banner: { js: BANNER, css: "/*! jupyter_desktop */" },
  metafile: true,
  logLevel: "info",
};

/**
 * noVNC 1.7's core/util/browser.js ends its feature checks with a top-level await:
 *   supportsWebCodecsH264Decode = await _checkWebCodecsH264DecodeSupport();
 * A classic script (IIFE) cannot wait at its top level, so for viewer.js the probe settles the exported binding
 * when it finishes, instead of holding back the whole script. rfb.js reads the binding only when it lists the
 * encodings it accepts at connect time, after the page's config and status requests; until the probe settles
 * it reads false (no H.264: what TigerVNC sends anyway). Fails the build if noVNC's text changes.
 */
const TLA = "supportsWebCodecsH264Decode = await _checkWebCodecsH264DecodeSupport();";
const noTopLevelAwait = {
  name: "novnc-no-top-level-await",
  setup(build) {
    build.onLoad({ filter: /[\\/]@novnc[\\/]novnc[\\/]core[\\/]util[\\/]browser\.js$/ }, async (args) => {
      const text = await readFile(args.path, "utf8");
      if (!text.includes(TLA)) throw new Error(`${args.path}: noVNC's H.264 probe changed; update build.mjs (${TLA})`);
      const patched = text.replace(
        TLA,
        "_checkWebCodecsH264DecodeSupport().then((ok) => { supportsWebCodecsH264Decode = ok; }, () => {});",
      );
      return { contents: patched, loader: "js" };
    });
  },
};

/** @type {import("esbuild").BuildOptions[]} */
const builds = [
  {
    ...common,
    entryPoints: { viewer: "src/viewer.js" },
    format: "iife",
    globalName: "jupyterDesktop",
    plugins: [noTopLevelAwait],
  },
  { ...common, entryPoints: { widget: "src/widget.js" }, format: "esm" },
  { ...common, entryPoints: { player: "src/player.js" }, format: "esm", banner: { js: "/*! jupyter_desktop trajectory player */", css: "/*! jupyter_desktop */" } },
];

const LICENSE_RE = /^(licen[cs]e|copying|notice)(\..*)?$/i;

function licenseFilesIn(dir) {
  return readdirSync(dir)
    .filter((f) => LICENSE_RE.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

/** Licence texts of every package (and vendored library) whose files ended up in the bundle. */
function thirdPartyLicenses(metafile) {
  const packages = new Map(); // package root -> {pkg, files:Set}
  for (const input of Object.keys(metafile.inputs)) {
    if (!input.includes("node_modules/")) continue;
    let dir = path.dirname(path.resolve(here, input));
    const vendored = [];
    while (dir.includes(`${path.sep}node_modules${path.sep}`)) {
      const pj = path.join(dir, "package.json");
      const isRoot = existsSync(pj) && /node_modules(\/@[^/]+)?$/.test(path.dirname(dir));
      const licences = licenseFilesIn(dir);
      if (isRoot) {
        const pkg = JSON.parse(readFileSync(pj, "utf8"));
        const entry = packages.get(dir) || { pkg, files: new Set(), vendored: new Map() };
        licences.forEach((f) => entry.files.add(f));
        // The full licence text when the root file only names it (noVNC: docs/LICENSE.MPL-2.0).
        const full = path.join(dir, "docs", `LICENSE.${pkg.license}`);
        if (pkg.license && existsSync(full)) entry.files.add(full);
        for (const [vdir, vfiles] of vendored) entry.vendored.set(vdir, vfiles);
        packages.set(dir, entry);
        break;
      }
      if (licences.length) vendored.push([dir, licences]);
      dir = path.dirname(dir);
    }
  }
  const out = [
    "Third-party software bundled in jupyter_desktop/static/viewer.js and widget.js",
    "==============================================================================",
    "",
    "The packages below are bundled unmodified from their npm releases. Their source code is available",
    "from the npm registry and the repositories named below.",
    "",
  ];
  for (const [root, { pkg, files, vendored }] of [...packages].sort()) {
    const repo = typeof pkg.repository === "object" ? pkg.repository.url : pkg.repository || pkg.homepage || "";
    out.push("#".repeat(100), `${pkg.name} ${pkg.version}`, `License: ${pkg.license || "see below"}`);
    if (repo) out.push(`Source: ${String(repo).replace(/^git\+/, "")}`);
    out.push(`npm: https://www.npmjs.com/package/${pkg.name}/v/${pkg.version}`, "");
    for (const f of files) out.push(`----- ${path.relative(root, f)} -----`, readFileSync(f, "utf8").trimEnd(), "");
    for (const [vdir, vfiles] of [...vendored].sort()) {
      out.push(`----- vendored in ${pkg.name}: ${path.relative(root, vdir)} -----`, "");
      for (const f of vfiles) out.push(`----- ${path.relative(root, f)} -----`, readFileSync(f, "utf8").trimEnd(), "");
    }
  }
  return out.join("\n") + "\n";
}

mkdirSync(outdir, { recursive: true });
if (watch) {
  for (const options of builds) await (await esbuild.context(options)).watch();
  console.log("watching src/ ...");
} else {
  const results = await Promise.all(builds.map((options) => esbuild.build(options)));
  const inputs = Object.assign({}, ...results.map((r) => r.metafile.inputs));
  writeFileSync(path.join(outdir, "THIRD-PARTY-LICENSES.txt"), thirdPartyLicenses({ inputs }));
  for (const result of results) {
    for (const [file, info] of Object.entries(result.metafile.outputs)) {
      console.log(`${path.relative(here, file)}  ${(info.bytes / 1024).toFixed(1)} KiB`);
    }
  }
}
