// Build the prebuilt extension with @jupyterlab/builder without the Python `jupyterlab` package:
// the builder only needs JupyterLab's core package.json (shared/singleton packages) from --core-path,
// which @jupyterlab/core-meta ships as core.package.json.
//
//   node scripts/build-labextension.mjs [--development] [--watch]

import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(path.join(here, "package.json"));
const core = path.join(here, "node_modules", ".jupyterlab-core");
mkdirSync(core, { recursive: true });
copyFileSync(require.resolve("@jupyterlab/core-meta/core.package.json"), path.join(core, "package.json"));

const cli = require.resolve("@jupyterlab/builder/lib/build-labextension.js");
const args = [cli, "--core-path", core, ...process.argv.slice(2), here];
const result = spawnSync(process.execPath, args, { cwd: here, stdio: "inherit" });
process.exit(result.status ?? 1);
