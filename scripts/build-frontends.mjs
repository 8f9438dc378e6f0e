// Build jupyter_desktop's two front ends, each only when its outputs are missing or older than its sources:
//   js/            -> jupyter_desktop/static/{viewer,widget,player}.{js,css} + THIRD-PARTY-LICENSES.txt   (esbuild)
//   labextension/  -> jupyter_desktop/labextension/                                       (@jupyterlab/builder)
// Dependencies come from each project's package-lock.json (`npm ci`), reinstalled only when the lockfile changed.
//
//   node scripts/build-frontends.mjs [--force] [js|labextension ...]
//
// hatch-jupyter-builder runs this (as `npm run build` in the repository root) on every pip install/build of
// the package; HATCH_JUPYTER_BUILDER_SKIP_NPM=1 skips it for Python-only work.

import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const force = args.includes("--force");
const only = args.filter((a) => !a.startsWith("--"));

const PROJECTS = [
  {
    name: "js",
    sources: ["js/src", "js/build.mjs", "js/package.json", "js/package-lock.json"],
    outputs: [
      "jupyter_desktop/static/viewer.js",
      "jupyter_desktop/static/viewer.css",
      "jupyter_desktop/static/widget.js",
      "jupyter_desktop/static/widget.css",
      "jupyter_desktop/static/player.js",
      "jupyter_desktop/static/player.css",
      "jupyter_desktop/static/THIRD-PARTY-LICENSES.txt",
    ],
  },
  {
    name: "labextension",
    sources: ["labextension/src", "labextension/style", "labextension/scripts", "labextension/package.json", "labextension/package-lock.json", "labextension/tsconfig.json"],
    outputs: ["jupyter_desktop/labextension/package.json"],
  },
];

/** Newest (or oldest) mtime under the given files/directories; missing paths count as -Infinity / +Infinity. */
function mtime(paths, pick = Math.max) {
  let out = pick === Math.max ? -Infinity : Infinity;
  const visit = (p) => {
    if (!existsSync(p)) {
      out = pick(out, -Infinity); // a missing output is older than anything
      return;
    }
    const st = statSync(p);
    if (st.isDirectory()) for (const e of readdirSync(p)) visit(path.join(p, e));
    else out = pick(out, st.mtimeMs);
  };
  paths.forEach((p) => visit(path.join(root, p)));
  return out;
}

function run(cmd, cmdArgs, cwd) {
  console.log(`\n$ (cd ${path.relative(root, cwd) || "."} && ${cmd} ${cmdArgs.join(" ")})`);
  const r = spawnSync(cmd, cmdArgs, { cwd, stdio: "inherit", shell: process.platform === "win32" });
  if (r.error) throw r.error;
  if (r.status !== 0) process.exit(r.status ?? 1);
}

for (const project of PROJECTS) {
  if (only.length && !only.includes(project.name)) continue;
  const dir = path.join(root, project.name);
  const lock = path.join(dir, "package-lock.json");
  const installed = path.join(dir, "node_modules", ".package-lock.json");
  // npm writes node_modules/.package-lock.json on every install; older than the lockfile = stale install.
  if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(lock).mtimeMs) {
    run("npm", ["ci", "--no-audit", "--no-fund"], dir);
  }
  const stale = force || mtime(project.outputs, Math.min) < mtime(project.sources);
  if (stale) run("npm", ["run", "build"], dir);
  else console.log(`${project.name}: up to date (${project.outputs.join(", ")})`);
}
