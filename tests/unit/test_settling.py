"""The one full collection an instance makes when a burst of lobby screens is over: not
during the burst, not for a few screens, once per burst."""

from __future__ import annotations

import pytest

from app.live.settling import Settling


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_a_burst_is_collected_once_when_it_is_over_and_a_trickle_never() -> None:
    clock, collections = Clock(), []
    settling = Settling(
        burst=3, quiet=1.0, collect=lambda: collections.append(clock.now), clock=clock
    )

    for _ in range(3):
        settling.joined()
        clock.now += 0.4
        assert not await settling.step()  # still connecting
    clock.now += 0.6
    collected = await settling.step()
    clock.now += 5
    again = await settling.step()
    settling.joined()
    settling.joined()
    clock.now += 60
    trickle = await settling.step()

    assert collected
    assert collections == [pytest.approx(101.8)]
    assert not again
    assert not trickle
