"""Timing for the benchmarks: run a function some rounds, and print medians and 95th percentiles side by side."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

__all__ = ["stats", "timed", "row"]


def stats(samples: list[float]) -> tuple[float, float]:
    """Median and 95th percentile of ``samples`` (seconds), in ms."""
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000


def timed(fn: Callable[[], object], rounds: int, warmup: int = 3) -> list[float]:
    """Seconds each of ``rounds`` calls of ``fn`` took, after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def row(label: str, samples: list[float], baseline: float | None = None, digits: int = 2, width: int = 44) -> str:
    """One printed line: median and p95 in ms, and the speed-up against a ``baseline`` median."""
    median, p95 = stats(samples)
    ratio = f"{baseline / median:6.1f}x" if baseline else ""
    return f"  {label:<{width}} median {median:8.{digits}f} ms   p95 {p95:8.{digits}f} ms   {ratio}"
