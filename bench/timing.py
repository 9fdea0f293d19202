"""Timing helpers shared by the benchmarks: warm-up, samples, percentiles."""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable


async def timed(
    work: Callable[[], Awaitable[object]], rounds: int, warm_up: int = 10
) -> list[float]:
    """Seconds taken by each of `rounds` calls of `work`, after a few unmeasured ones."""
    for _ in range(warm_up):
        await work()
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        await work()
        samples.append(time.perf_counter() - started)
    return samples


def percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p95, in milliseconds."""
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000


def line(samples: list[float]) -> str:
    p50, p95 = percentiles(samples)
    return f"p50 {p50:7.3f} ms   p95 {p95:7.3f} ms"
