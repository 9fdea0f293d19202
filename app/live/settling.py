"""One full garbage collection when a burst of lobby screens has finished connecting.

A screen's connection holds some 150 objects for the whole day. CPython runs a full
collection, which walks every object the process tracks, each time its long-lived objects
have grown by a quarter: while screens connect, and then once more at a moment nobody
chose, in the middle of a call if luck has it so (0.3 to 1 s with 5,000 screens held by
one instance, `docs/capacity.md`). An instance collects once itself when a burst is over
(enough new screens, then a quiet second): the pause falls where no call waits, and the
next collection CPython starts on its own is a quarter of all those objects away."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

BURST = 100  # new screens since the last collection
QUIET_SECONDS = 1.0  # with no new screen


class Settling:
    def __init__(
        self,
        *,
        burst: int = BURST,
        quiet: float = QUIET_SECONDS,
        collect: Callable[[], object] = gc.collect,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.burst, self.quiet = burst, quiet
        self.collect, self.clock = collect, clock
        self.new = 0
        self.last = 0.0

    def joined(self) -> None:
        """A screen connected."""
        self.new += 1
        self.last = self.clock()

    async def step(self) -> bool:
        """Collect if a burst is over; whether it did."""
        if self.new < self.burst or self.clock() - self.last < self.quiet:
            return False
        self.new = 0
        self.collect()
        return True
