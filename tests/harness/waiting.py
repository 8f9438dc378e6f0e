"""Waiting on events: poll a check until it holds, never a fixed sleep."""

from __future__ import annotations

import time
from collections.abc import Callable


def eventually(check: Callable[[], object], timeout: float = 30.0, interval: float = 0.1, what: str = "condition"):
    """Poll ``check`` until it returns something truthy; fail with the last value after ``timeout``. The timeout
    only bounds a failure (a passing check returns as soon as it holds), so it is generous: the CI machine is
    small and other test runs load it."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{what} not reached within {timeout} s; last value: {value!r}")


def none_left(check: Callable[[], object], timeout: float = 30.0, interval: float = 0.1, what: str = "things"):
    """Poll ``check`` until it returns something empty (no process left, no listener); fail naming what is still
    there after ``timeout``, which ``eventually(lambda: not check())`` cannot."""
    deadline = time.monotonic() + timeout
    while True:
        left = check()
        if not left:
            return
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} still there after {timeout} s: {left!r}")
        time.sleep(interval)
