"""One full collection when a burst of lobby screens has finished connecting or leaving.

A screen's connection holds some 150 objects for the whole day. CPython runs a full
collection, which walks every object the process tracks, each time its long-lived objects
have grown by a quarter: while screens connect, and then once more at a moment nobody
chose, in the middle of a call if luck has it so (0.3 to 1 s with 5,000 screens held by
one instance, `docs/capacity.md`). An instance collects once itself when a burst is over
(enough screens come or gone, then a quiet second): the pause falls where no call waits.

`guichet serve` freezes what it built before serving (`freeze_built`); from then on what
survives the collection after a burst is frozen too, so that CPython's own collections
walk neither (the instance answering calls still started one about every 80 s, 0.5 s
each with 5,000 screens; 40 ms once they were frozen). The frozen are brought back in
before the collection once a burst of screens has left, so that their objects, garbage
by then, are collected: until that, what waits frozen is at most a burst of departed
screens and what else was alive at a collection and is garbage since (requests then in
flight), reclaimed with them."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass

BURST = 100  # screens come, or gone, since the last collection
QUIET_SECONDS = 1.0  # with no screen coming or going


@dataclass
class Freezing:
    """Whether this process keeps what it built frozen: `guichet serve` says so, tests and
    tools do not (`gc.get_freeze_count()` cannot tell: CPython 3.12 freezes objects of
    its own)."""

    on: bool = False


FREEZING = Freezing()


def freeze_built() -> None:
    """Take what the process built (modules, routes, mappers: about 200,000 objects, which
    live as long as it) out of the collector's reach; screens' bursts will follow."""
    gc.collect()
    gc.freeze()
    FREEZING.on = True


def settle(reclaim: bool) -> None:
    """The collection after a burst; in a process that froze what it built, what survives
    it is frozen too, and with `reclaim` (a burst of screens has left) the frozen are
    brought back in first, for what of them has become garbage."""
    if not FREEZING.on:
        gc.collect()
        return
    if reclaim:
        gc.unfreeze()
    try:
        gc.collect()
    finally:
        gc.freeze()


class Settling:
    def __init__(
        self,
        *,
        burst: int = BURST,
        quiet: float = QUIET_SECONDS,
        collect: Callable[[bool], object] = settle,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.burst, self.quiet = burst, quiet
        self.collect, self.clock = collect, clock
        self.new = 0  # since the last collection
        self.gone = 0  # since the last one that reclaimed
        self.last = 0.0

    def joined(self) -> None:
        """A screen connected."""
        self.new += 1
        self.last = self.clock()

    def left(self) -> None:
        """A screen went away."""
        self.gone += 1
        self.last = self.clock()

    async def step(self) -> bool:
        """Collect if a burst is over; whether it did."""
        if max(self.new, self.gone) < self.burst or self.clock() - self.last < self.quiet:
            return False
        reclaim = self.gone >= self.burst
        self.new = 0
        if reclaim:
            self.gone = 0
        self.collect(reclaim)
        return True
