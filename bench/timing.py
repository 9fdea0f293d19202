"""What the benchmarks share: warm-up, samples, percentiles, and a fresh database of
each kind."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg


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


async def on_each_database(measure: Callable[[str, str], Awaitable[None]], postgres: str) -> None:
    """Run `measure(url, label)` on a fresh SQLite file, then on a fresh PostgreSQL
    database at the server of `postgres` (skipped, with the reason, if it is out of reach)."""
    with tempfile.TemporaryDirectory() as folder:
        await measure(f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}", "sqlite")
    name = f"guichet_bench_{int(time.time())}"
    try:
        admin = await asyncpg.connect(postgres)
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"postgresql: skipped ({type(exc).__name__}: {exc})")
        return
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        base = postgres.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
        await measure(f"{base}/{name}", "postgresql")
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
