"""The notebooks run top to bottom with nbclient against a real kernel and real desktops."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from jupyter_desktop.backends import _proc

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


@pytest.mark.parametrize("name", ["quickstart.ipynb", "agent-loop.ipynb", "teaching.ipynb"])
def test_notebook_runs(name: str, tmp_path: Path, monkeypatch):
    # A kernel of its own with no server to find: the notebooks' desktops run in the kernel.
    for var in ("JUPYTER_DESKTOP_URL", "JUPYTER_DESKTOP_TOKEN", "JPY_PARENT_PID"):
        monkeypatch.delenv(var, raising=False)
    before = set(_proc.marked_processes())
    shutil.copy(NOTEBOOKS / name, tmp_path / name)
    nb = nbformat.read(tmp_path / name, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for cell in nb.cells for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    if name == "agent-loop.ipynb":
        assert "picked: Banana" in text, text
    if name == "quickstart.ipynb":
        shown = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
        assert shown, "displaying the Desktop did not produce the live view"
    # every desktop the notebook started is gone with its kernel
    left = set(_proc.marked_processes()) - before
    assert not left, f"desktops left running: {left}"
