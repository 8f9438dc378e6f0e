"""The demo: start a desktop, open xterm, type into it, read it back, save a screenshot."""

import sys
import time
from pathlib import Path

from jupyter_desktop import Desktop

out = Path(sys.argv[1] if len(sys.argv) > 1 else "demo-output")
out.mkdir(exist_ok=True)

t0 = time.perf_counter()
with Desktop() as desktop:
    print(f"desktop {desktop.id} running in {time.perf_counter() - t0:.2f} s: {desktop.info}")
    desktop.launch(["xterm", "-fa", "Monospace", "-fs", "14", "-T", "demo", "-e", "bash", "--norc"])
    window = desktop.wait_for_window("demo")
    print(f"xterm window: {window}")
    desktop.write("echo Hello from jupyter_desktop\n")
    desktop.wait_until_stable(quiet=0.3)
    image = desktop.screenshot()
    path = out / "screenshot.png"
    image.save(path)
    small = desktop.screenshot(scale=0.5)
    small.save(out / "screenshot-half.png")
    print(f"saved {path} ({image.width}x{image.height}) and a half-size copy ({small.width}x{small.height})")
print("desktop stopped; nothing left running")
