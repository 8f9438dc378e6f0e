"""A model's action to its tool results, including the screenshot that shows the effect: AnthropicComputer against
the path of Anthropic's computer-use demo (an xdotool subprocess, a fixed 2 s sleep, scrot, base64 of the file), on
the same desktop, in one run.

Run: .venv/bin/python benchmarks/bench_agents.py [--rounds N]

For each action (typing a command into an xterm: it answers; Return in the xterm: a new prompt; a click on the empty
desktop: nothing changes) it times the tool_result of the action plus the tool_result of the screenshot that follows
(our screenshot waits until the screen has settled: 0.3 s quiet; when nothing changes, 0.5 s for the effect to show
first). The demo's path is timed as it ships (2 s sleep) and, for reference, without the sleep (then nothing makes
sure the effect is on the screenshot). Medians and 95th percentiles in ms; nothing is asserted.
"""

from __future__ import annotations

import argparse
import base64
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jupyter_desktop import Desktop  # noqa: E402
from jupyter_desktop.agents import AnthropicComputer  # noqa: E402
from tests.harness.timing import row, stats, timed  # noqa: E402

DEMO_SLEEP = 2.0  # computer_use_demo/tools/computer.py: _screenshot_delay





def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()

    d = Desktop(width=1280, height=800)
    try:
        env = dict(os.environ, DISPLAY=d.info["display"], XAUTHORITY=str(d._session.desktop.dir / "Xauthority"))
        shot = Path(tempfile.mkdtemp()) / "screenshot.png"
        d.launch(["xterm", "-geometry", "80x20+300+200", "-T", "bench", "-e", "bash", "--norc", "--noprofile"])
        term = d.wait_for_window("bench")
        d.activate_window(term)
        claude = AnthropicComputer(d)
        empty = [[40, 760], [60, 740]]  # the empty desktop: a click there changes nothing
        into_term = [term.x + 50, term.y + 50]

        def ours(actions: list[dict]) -> Callable[[], object]:
            turn = iter(range(10**9))

            def step() -> object:
                action = actions[next(turn) % len(actions)]
                claude.tool_result({"type": "tool_use", "id": "a", "name": "computer", "input": action})
                return claude.tool_result({"type": "tool_use", "id": "s", "name": "computer",
                                           "input": {"action": "screenshot"}})  # fmt: skip

            return step

        def demo(commands: list[list[str]], sleep: float) -> Callable[[], object]:
            turn = iter(range(10**9))

            def step() -> object:
                subprocess.run(["xdotool", *commands[next(turn) % len(commands)]], env=env, check=True,
                               capture_output=True)  # fmt: skip
                time.sleep(sleep)
                shot.unlink(missing_ok=True)
                subprocess.run(["scrot", "-p", str(shot)], env=env, check=True, capture_output=True)
                return base64.b64encode(shot.read_bytes()).decode()

            return step

        # each case alternates between two actions, so that every round really moves or changes something
        # (xdotool's mousemove --sync waits for a motion that never comes when the pointer is already there)
        cases = [
            # (an answer that differs each time: a full xterm that scrolls the same lines shows the same pixels)
            ("type a command, the xterm answers",
             [{"action": "type", "text": "date +%N\n"}], [["type", "--delay", "12", "--", "date +%N\n"]]),
            ("key Return, the xterm shows a new prompt", [{"action": "key", "text": "Return"}], [["key", "--", "Return"]]),
            ("left_click on the empty desktop, nothing changes",
             [{"action": "left_click", "coordinate": p} for p in empty],
             [["mousemove", "--sync", str(p[0]), str(p[1]), "click", "1"] for p in empty]),
        ]  # fmt: skip
        claude.run({"action": "left_click", "coordinate": into_term})
        print(f"action -> its tool_result + the screenshot's, 1280x800, {args.rounds} rounds (speed-up vs the demo)")
        for label, actions, commands in cases:  # typing first, while the xterm has the focus
            mine = timed(ours(actions), args.rounds, warmup=1)
            shipped = timed(demo(commands, DEMO_SLEEP), args.rounds, warmup=1)
            bare = timed(demo(commands, 0.0), args.rounds, warmup=1)
            base = stats(shipped)[0]
            print(f" {label}")
            print(row("AnthropicComputer (settled screenshot)", mine, base, 1, 46))
            print(row("demo: xdotool + sleep 2 s + scrot", shipped, base, 1, 46))
            print(row("demo without its sleep (effect not ensured)", bare, base, 1, 46))
    finally:
        d.close()


if __name__ == "__main__":
    main()
