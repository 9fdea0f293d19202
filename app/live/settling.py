"""One full collection when a burst of lobby screens has finished connecting.

A screen's connection holds some 150 objects for the whole day. CPython runs a full
collection, which walks every object the process tracks, each time its long-lived objects
have grown by a quarter: while screens connect, and then once more at a moment nobody
chose, in the middle of a call if luck has it so (0.3 to 1 s with 5,000 screens held by
one instance, `docs/capacity.md`). An instance collects once itself when a burst is over
(enough new screens, then a quiet second): the pause falls where no call waits.

In a process that froze what it built before serving (`guichet serve`), what survives
that collection is frozen too: the screens' objects are then walked by no collection
CPython starts on its own (the instance answering calls still started one about every
80 s, 0.5 s each with 5,000 screens), only by the next burst's, which brings the frozen
back in first, so that what of them has become garbage since (a screen that left) is
collected then."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

BURST = 100  # new screens since the last collection
QUIET_SECONDS = 1.0  # with no new screen


def settle() -> None:
    """The collection after a burst: everything, frozen again if the process froze."""
    frozen = gc.get_freeze_count() > 0
    if frozen:
        gc.unfreeze()
    gc.collect()
    if frozen:
        gc.freeze()


class Settling:
    def __init__(
        self,
        *,
        burst: int = BURST,
        quiet: float = QUIET_SECONDS,
        collect: Callable[[], object] = settle,
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
