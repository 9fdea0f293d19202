"""Background work of an instance: a step run every few seconds until cancelled, and
stopping such a task."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any


async def every(
    seconds: float,
    step: Callable[[], Awaitable[object]],
    *,
    log: logging.Logger,
    failure: str,
    wake: asyncio.Event | None = None,
    soonest: float = 1.0,
) -> None:
    """Run `step` now, then every `seconds`, until cancelled. With `wake`, the next round
    also comes `soonest` seconds after it is set (never sooner, however often it is set).

    A step that fails is logged as a warning, `failure` and the type of the error only
    (its message may hold personal data), and runs again on the next round.
    """
    while True:
        try:
            await step()
        except Exception as exc:  # tried again on the next round
            log.warning("%s (%s)", failure, type(exc).__name__)
        if wake is None:
            await asyncio.sleep(seconds)
            continue
        await asyncio.sleep(soonest)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds - soonest):
                await wake.wait()
        wake.clear()


async def stop(task: asyncio.Task[Any] | None) -> None:
    """Cancel a background task, if there is one, and wait until it has stopped (what it
    ended with, an error of a task already over included, is its own affair)."""
    if task is None:
        return
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
