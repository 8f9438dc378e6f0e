"""The notebooks run top to bottom with nbclient against a real kernel and real desktops."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from jupyter_desktop.backends import _proc
from jupyter_desktop.backends.local import registry_dir

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"

# appended to each notebook: the kernel, and the desktops of the Desktop objects the notebook made
MARK = "kernel desktops:"
REPORT = f"""
import json as _json, os as _os
from jupyter_desktop import Desktop as _Desktop
_ids = sorted({{v.id for v in list(globals().values()) if isinstance(v, _Desktop)}})
print({MARK!r}, _json.dumps({{"pid": _os.getpid(), "ids": _ids}}))
"""


@pytest.mark.parametrize("name", ["quickstart.ipynb", "agent-loop.ipynb", "agent-claude.ipynb", "teaching.ipynb"])
def test_notebook_runs(name: str, tmp_path: Path, monkeypatch):
    # A kernel of its own with no server to find: the notebooks' desktops run in the kernel.
    # No API keys: agent-claude.ipynb's stand-in model answers in the SDKs' loops.
    for var in ("JUPYTER_DESKTOP_URL", "JUPYTER_DESKTOP_TOKEN", "JPY_PARENT_PID", "ANTHROPIC_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    shutil.copy(NOTEBOOKS / name, tmp_path / name)
    nb = nbformat.read(tmp_path / name, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(REPORT))
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for cell in nb.cells for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    if name == "agent-loop.ipynb":
        assert "picked: Banana" in text, text
    if name == "agent-claude.ipynb":  # the anthropic tool runner and the Agents SDK's Runner each pressed it
        assert "Claude picked: Banana" in text and "GPT picked: Banana" in text, text
    if name == "quickstart.ipynb":
        shown = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
        assert shown, "displaying the Desktop did not produce the live view"
    # every desktop the notebook's kernel started is gone with it (its registry entries and processes)
    report = json.loads(text.rsplit(MARK, 1)[1].splitlines()[0])
    started = report["ids"]
    assert started, "the notebook made no Desktop: nothing for this check to follow"
    left = [e.name for e in registry_dir().iterdir() if e.name in started or _owner(e) == report["pid"]]
    assert not left, f"registry entries of the kernel's desktops left behind: {left}"
    survivors = _proc.marked_processes(started)
    assert not survivors, f"processes of the kernel's desktops left behind: {survivors}"


def _owner(entry: Path) -> int | None:
    try:
        return json.loads((entry / "desktop.json").read_text()).get("owner_pid")
    except (OSError, ValueError):
        return None
