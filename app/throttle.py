"""Rate limits: how often a client may try something, answered with 429 and Retry-After.

The generic cell rate algorithm keeps one instant per key (the theoretical
arrival time), so memory stays small and bursts are allowed up to the limit.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from app.errors import TooManyRequests


@dataclass
class RateLimit:
    """At most `count` events per `period` seconds for each key."""

    count: int
    period: float
    clock: Callable[[], float] = time.monotonic
    max_keys: int = 100_000
    _arrivals: dict[str, float] = field(default_factory=dict, repr=False)

    def hit(self, key: str) -> float:
        """Count one event for `key`; return 0 if allowed, else the seconds to wait."""
        now = self.clock()
        interval = self.period / self.count
        tat = max(self._arrivals.get(key, now), now)
        earliest = tat - self.period + interval
        if earliest > now:
            return earliest - now
        if len(self._arrivals) >= self.max_keys:
            self._forget_idle(now)
        self._arrivals[key] = tat + interval
        return 0.0

    def check(self, key: str, detail: str) -> None:
        """Count one event for `key`, or raise 429 with the time to wait."""
        wait = self.hit(key)
        if wait:
            raise TooManyRequests(detail, retry_after=math.ceil(wait))

    def _forget_idle(self, now: float) -> None:
        self._arrivals = {key: tat for key, tat in self._arrivals.items() if tat > now}
