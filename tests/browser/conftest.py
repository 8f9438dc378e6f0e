"""Fixtures of the browser tests: Debian's Chromium through Playwright (tests/harness/browser.py) against real
Jupyter servers and real desktops. Each module starts with ``skip_without_chromium()``: a Skipped raised here
would stop pytest itself when it is given this folder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ..harness.browser import chromium


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """A headless Chromium for the module."""
    yield from chromium()
