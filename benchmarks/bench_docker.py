"""Docker backend figures, run on demand (prints, asserts nothing):

* cold start to first frame: ``Desktop(backend="docker")`` until its first ``screenshot()``, with the image
  present (median of several; the target is 1.5 s or less)
* screenshot latency (median, p95) of a Docker desktop and a local one, in the same run
* exec channel latency (``run("true")``), for comparison

    .venv/bin/python benchmarks/bench_docker.py [--starts 7] [--shots 100]
"""

from __future__ import annotations

import argparse
import statistics
import time

from jupyter_desktop import Desktop
from jupyter_desktop.images import image_tag


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def ms(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1000:7.1f} ms   p95 {percentile(values, 95) * 1000:7.1f} ms"


def timed(action, count: int) -> list[float]:
    times = []
    for _ in range(count):
        t0 = time.perf_counter()
        action()
        times.append(time.perf_counter() - t0)
    return times


def cold_starts(count: int) -> list[float]:
    times = []
    for _ in range(count):
        t0 = time.perf_counter()
        desktop = Desktop(backend="docker")
        desktop.screenshot()
        times.append(time.perf_counter() - t0)
        desktop.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--starts", type=int, default=7, help="cold starts to time")
    parser.add_argument("--shots", type=int, default=100, help="screenshots per desktop")
    args = parser.parse_args()

    import docker

    client = docker.from_env(timeout=30)
    image = client.images.get(image_tag())
    print(f"image {image_tag()}: {image.attrs['Size'] / 1e6:.0f} MB; engine {client.version()['Version']}")
    client.close()

    Desktop(backend="docker").close()  # warm the engine's caches once (not counted)
    starts = cold_starts(args.starts)
    print(f"docker cold start to first frame ({args.starts} runs): median {statistics.median(starts):.2f} s, "
          f"min {min(starts):.2f} s, max {max(starts):.2f} s")  # fmt: skip

    for name, backend in (("docker", "docker"), ("local", None)):
        with Desktop(backend=backend) as desktop:
            desktop.launch(["xterm", "-e", "top", "-d", "0.2"])  # something that keeps changing the screen
            time.sleep(1.5)
            timed(desktop.screenshot, 5)
            shots = timed(desktop.screenshot, args.shots)
            scaled = timed(lambda: desktop.screenshot(scale=0.5), args.shots // 2)
            runs = timed(lambda: desktop.run(["true"]), 20)
            print(f"{name:6} screenshot 1280x800  {ms(shots)}")
            print(f"{name:6} screenshot scale=0.5 {ms(scaled)}")
            print(f"{name:6} run('true')          {ms(runs)}")


if __name__ == "__main__":
    main()
