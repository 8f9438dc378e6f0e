"""The package type-checks (mypy, configured in pyproject.toml): it ships py.typed, so its annotations are a
promise to the people who type-check code that uses it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_mypy_finds_no_error():
    assert (ROOT / "jupyter_desktop" / "py.typed").exists()
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert "Success" in result.stdout
