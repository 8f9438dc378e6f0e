"""wait_until_stable after an action: the screenshot that follows shows the action's effect.

Each test types into an xterm whose program shows nothing until it has read the line (no echo), then
answers; before the fix, wait_until_stable saw a screen that had been still for long and returned at once,
before the answer was drawn.
"""

from __future__ import annotations

import time

import pytest

from jupyter_desktop import Desktop

from .conftest import CLEAN_SHELL


@pytest.fixture
def silent_xterm(desktop: Desktop):
    """Starts an xterm that answers a typed line after ``pause`` seconds, echoing nothing before."""
    started = []

    def start(pause: float):
        title = f"settle-{time.monotonic_ns()}"
        script = f"stty -echo; read -r line; sleep {pause}; echo answer-$line; exec sleep 600"
        process = desktop.launch(["xterm", "-fa", "Monospace", "-fs", "14", "-geometry", "40x5+30+30", "-T", title,
                                  "-e", *CLEAN_SHELL, "-c", script])  # fmt: skip
        started.append(process)
        window = desktop.wait_for_window(title)
        desktop.activate_window(window)
        region = (window.x, window.y, window.width, window.height)
        assert desktop.wait_until_stable(quiet=0.5, timeout=30)
        return region

    yield start
    for process in started:
        process.kill()
        process.wait(10)


def _settle_and_check(desktop: Desktop, region, quiet: float) -> float:
    before = desktop.screenshot(region)
    desktop.write("go\n")
    t0 = time.monotonic()
    assert desktop.wait_until_stable(quiet=quiet, timeout=30)
    elapsed = time.monotonic() - t0
    settled = desktop.screenshot(region)
    assert settled.tobytes() != before.tobytes(), "the answer was not on screen when wait_until_stable returned"
    # and nothing came after it: the settled screenshot held the whole effect
    assert desktop.wait_until_stable(quiet=1.0, timeout=30)
    assert desktop.screenshot(region).tobytes() == settled.tobytes(), "the screen changed after it had settled"
    return elapsed


def test_quiet_counts_from_the_call(desktop: Desktop, silent_xterm):
    """The answer comes 0.3 s after the input: quiet=1.0 must cover it, however long the screen was still."""
    region = silent_xterm(0.3)
    t0 = time.monotonic()
    assert desktop.wait_until_stable(quiet=0.5, timeout=30)  # a screen still for long: still 0.5 s from now
    assert time.monotonic() - t0 >= 0.5
    elapsed = _settle_and_check(desktop, region, quiet=1.0)
    assert elapsed >= 1.0


def test_a_short_quiet_still_waits_for_the_inputs_effect(desktop: Desktop, silent_xterm):
    """quiet=0.05 is shorter than the program takes to answer (0.15 s): the grace given to input's effect
    (EFFECT_GRACE, 0.5 s) covers it."""
    _settle_and_check(desktop, silent_xterm(0.15), quiet=0.05)
