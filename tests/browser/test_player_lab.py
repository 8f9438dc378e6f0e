"""The trajectory player in a real JupyterLab (Chromium through Playwright): a notebook cell records a click and some
typing into an xterm on a real desktop, the next displays ``Trajectory(path)``; in the page, the player lists every
step, shows the recorded screenshots (the very bytes of the files, at the screen's size), draws the click where it was
made (in the image's pixels), steps with its buttons and the arrow keys, and loads and plays the video from a step.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from ..harness.browser import skip_without_chromium
from ..harness.lab_notebook import open_notebook, start
from ..harness.server import JupyterServer

skip_without_chromium()

pytest.importorskip("jupyterlab")
pytest.importorskip("anywidget")

WIDTH, HEIGHT = 1024, 768
CLICK = (300, 120)  # inside the xterm (70x12 at +20+20)
TEXT = "echo player-42"
WAIT = 60000  # ms: bounds a failure only (a passing wait returns as soon as its condition holds)


def player_state(root) -> dict:
    """What the player shows: its step, the before image and the click mark over it (in image pixels)."""
    return root.evaluate(
        """root => {
            const img = root.querySelector("[data-pane='before'] img");
            const ring = root.querySelector("[data-pane='before'] .jd-mark-click .jd-mark-ring");
            const out = {
                step: root.dataset.step, steps: root.dataset.steps,
                options: root.querySelectorAll(".jd-player-list option").length,
                counter: root.querySelector(".jd-player-counter").textContent,
                actions: root.querySelector(".jd-player-actions").textContent,
                source: root.querySelector(".jd-player-source").textContent,
                name: img.dataset.name, complete: img.complete && !img.hidden, natural: [img.naturalWidth, img.naturalHeight],
                captions: Array.from(root.querySelectorAll("[data-pane='before'] .jd-player-caption")).map(c => c.textContent),
            };
            if (ring && out.complete) {
                const r = img.getBoundingClientRect(), m = ring.getBoundingClientRect();
                out.mark = [(m.left + m.width / 2 - r.left) * img.naturalWidth / r.width,
                            (m.top + m.height / 2 - r.top) * img.naturalHeight / r.height];
                out.shown = [r.width, r.height];
            }
            return out;
        }"""
    )


def shown_bytes(root, pane: str) -> bytes:
    """The bytes behind a pane's <img> (its Blob URL), as the page has them."""
    data = root.evaluate(
        """async (root, pane) => {
            const img = root.querySelector(`[data-pane='${pane}'] img`);
            const bytes = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
            let s = ""; for (const b of bytes) s += String.fromCharCode(b);
            return btoa(s);
        }""",
        pane,
    )
    return base64.b64decode(data)


def test_player_in_lab(browser, lab: JupyterServer, tmp_path: Path) -> None:
    context, nb = open_notebook(browser, lab, "player.ipynb")
    page = nb.page
    try:
        start(nb, lab.started, "d", f"width={WIDTH}, height={HEIGHT}")
        nb.run(
            "p = d.launch(['xterm', '-fa', 'Monospace', '-fs', '16', '-geometry', '70x12+20+20', '-T', 'player-term', "
            "'-e', 'bash', '--norc', '--noprofile']); d.activate_window(d.wait_for_window('player-term', timeout=30)); "
            "d.wait_until_stable(timeout=10, quiet=0.3)",
            timeout=60,
        )
        folder = lab.root / "run"  # the server records a desktop it holds: a folder under its root directory
        nb.run(
            f"rec = d.record({str(folder)!r}); d.left_click{CLICK}; d.write({TEXT!r}); d.press('enter'); "
            "d.wait_until_stable(timeout=10, quiet=0.5); rec.stop()",
            timeout=90,
        )
        nb.run("from jupyter_desktop import Trajectory; t = Trajectory(" + repr(str(folder)) + ")")
        steps = nb.value("[s.to_dict() for s in t.steps]")
        assert [s["actions"][0]["action"] for s in steps] == ["click", "type", "press"]
        nb.run("t")  # the cell's value: the trajectory displays as the player
        root = page.locator(".jd-player").first
        root.wait_for(timeout=WAIT)

        # every step listed; the first step's screen loaded at the screen's size: the file's very bytes
        page.wait_for_function(
            "() => { const i = document.querySelector(\".jd-player [data-pane='before'] img\"); "
            "return i && i.complete && !i.hidden && i.naturalWidth > 0; }",
            timeout=WAIT,
        )
        state = player_state(root)
        n = len(steps)
        assert (state["steps"], state["options"], state["counter"]) == (str(n), n, f"Step 1 of {n}")
        assert (state["step"], state["source"], state["actions"]) == ("0", "agent", f"click left at {CLICK}")
        assert state["name"] == steps[0]["before"]
        assert state["natural"] == [WIDTH, HEIGHT]
        assert shown_bytes(root, "before") == (folder / steps[0]["before"]).read_bytes()
        # the click's ring is where the click was, in the image's pixels (whatever size the image is shown at)
        assert state["shown"][0] < WIDTH, state  # scaled down in the cell: the overlay follows the image
        assert abs(state["mark"][0] - CLICK[0]) <= 1 and abs(state["mark"][1] - CLICK[1]) <= 1, state

        # Next: the typing step, its text in a caption over the screen, its own screenshots
        root.get_by_role("button", name="Next step").click()
        page.wait_for_function(
            "name => { const i = document.querySelector(\".jd-player [data-pane='before'] img\"); "
            "return i && i.dataset.name === name && i.complete && !i.hidden && i.naturalWidth > 0; }",
            arg=steps[1]["before"],
            timeout=WAIT,
        )
        state = player_state(root)
        assert (state["step"], state["counter"]) == ("1", f"Step 2 of {n}")
        assert state["actions"] == f'type "{TEXT}"' and state["captions"] == [TEXT] and "mark" not in state
        page.wait_for_function(
            "() => { const i = document.querySelector(\".jd-player [data-pane='after'] img\"); "
            "return i && i.complete && !i.hidden && i.naturalWidth > 0; }",
            timeout=WAIT,
        )
        assert shown_bytes(root, "after") == (folder / steps[1]["after"]).read_bytes()

        # the arrow keys step too (focus on the player, not on a control)
        root.locator(".jd-player-details").click()
        page.keyboard.press("ArrowRight")
        page.wait_for_function("() => document.querySelector('.jd-player').dataset.step === '2'", timeout=WAIT)
        assert player_state(root)["captions"] == ["⌨ enter"]
        page.keyboard.press("ArrowLeft")
        page.wait_for_function("() => document.querySelector('.jd-player').dataset.step === '1'", timeout=WAIT)

        # the video: streamed from the kernel, loaded, at the step's time
        page.wait_for_function(
            "() => { const v = document.querySelector('.jd-player video'); "
            "return v && v.readyState >= 1 && v.duration > 0; }",
            timeout=WAIT,
        )
        video = root.locator("video")
        duration = video.evaluate("v => v.duration")
        assert abs(duration - nb.value("t.meta['end'] - t.meta['start']")) < 1.0
        assert abs(video.evaluate("v => v.currentTime") - min(steps[1]["t"], duration)) < 0.05
        root.get_by_role("button", name="Previous step").click()
        page.wait_for_function(
            "t => Math.abs(document.querySelector('.jd-player video').currentTime - t) < 0.05", arg=steps[0]["t"], timeout=WAIT
        )
        root.get_by_role("button", name="Play the video from this step").click()
        page.wait_for_function(
            "t => { const v = document.querySelector('.jd-player video'); return v.played.length > 0 && (v.currentTime > t || v.ended); }",
            arg=steps[0]["t"],
            timeout=WAIT,
        )
        assert root.locator(".jd-player-video-status[data-tone='error']").count() == 0
        assert not nb.errors, nb.errors
        nb.run("p.kill(); d.close()")
    finally:
        context.close()
