"""Waiting estimates: a range, from the place in the queue, the stations that can serve
the ticket and how long that service takes at that site."""

from __future__ import annotations

import math
from collections.abc import Sequence

LOW_FACTOR = 0.8
HIGH_FACTOR = 1.25
SAMPLE_SIZE = 20


def average_minutes(durations: Sequence[float], default: float) -> float:
    """The mean of the most recent service durations, or `default` without any."""
    recent = [d for d in durations[:SAMPLE_SIZE] if d > 0]
    return sum(recent) / len(recent) if recent else default


def waiting_range(ahead: int, stations: int, average: float) -> tuple[int, int] | None:
    """Minutes until called, as (low, high): None when no station can serve the ticket.

    With `ahead` people before it and `stations` serving in parallel, the ticket waits
    for about `ahead // stations` full services, plus part of one being served now.
    """
    if stations < 1:
        return None
    rounds = ahead // stations
    low = math.floor(rounds * average * LOW_FACTOR)
    high = math.ceil((rounds + 1) * average * HIGH_FACTOR)
    return low, max(high, low + 1)
