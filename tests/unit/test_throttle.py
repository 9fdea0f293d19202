"""The rate limiter: a burst up to the limit, then a wait that it states."""

from __future__ import annotations

import pytest

from app.config import load_settings
from app.errors import TooManyRequests
from app.throttle import FINDING_TRIES_PER_HOUR, Limits, RateLimit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_up_to_the_limit_passes_then_the_next_waits() -> None:
    clock = Clock()
    limit = RateLimit(count=5, period=60, clock=clock)

    assert [limit.hit("a") for _ in range(5)] == [0.0] * 5
    assert limit.hit("a") == pytest.approx(12.0)
    assert limit.hit("b") == 0.0


def test_capacity_comes_back_with_time() -> None:
    clock = Clock()
    limit = RateLimit(count=5, period=60, clock=clock)
    for _ in range(5):
        limit.hit("a")

    clock.now += 12
    assert limit.hit("a") == 0.0
    assert limit.hit("a") > 0
    clock.now += 60
    assert [limit.hit("a") for _ in range(5)] == [0.0] * 5


def test_refused_hits_do_not_push_the_wait_further() -> None:
    clock = Clock()
    limit = RateLimit(count=2, period=10, clock=clock)
    limit.hit("a")
    limit.hit("a")

    waits = [limit.hit("a") for _ in range(20)]

    assert waits == [pytest.approx(5.0)] * 20


def test_check_raises_a_429_with_retry_after_in_whole_seconds() -> None:
    clock = Clock()
    limit = RateLimit(count=1, period=10, clock=clock)
    limit.check("a", "slow down")

    with pytest.raises(TooManyRequests) as refused:
        limit.check("a", "slow down")

    assert refused.value.status == 429
    assert refused.value.headers == {"Retry-After": "10"}


def test_memory_stays_bounded_by_forgetting_idle_keys() -> None:
    clock = Clock()
    limit = RateLimit(count=1, period=1, clock=clock, max_keys=100)
    for number in range(100):
        limit.hit(f"key-{number}")
    clock.now += 5

    limit.hit("newcomer")

    assert len(limit._arrivals) == 1


def test_an_event_given_back_frees_its_place_and_only_its_own() -> None:
    limit = RateLimit(count=2, period=60, clock=lambda: 0.0)
    assert [limit.hit("a"), limit.hit("a")] == [0, 0]
    assert limit.hit("a") > 0
    limit.refund("a")
    limit.refund("nobody")  # nothing to give back
    assert limit.hit("a") == 0
    assert limit.hit("a") > 0
    assert limit.hit("nobody") == 0


def test_asking_how_long_to_wait_counts_nothing() -> None:
    clock = Clock()
    limit = RateLimit(count=2, period=10, clock=clock)

    assert [limit.wait("a") for _ in range(5)] == [0.0] * 5
    limit.hit("a")
    limit.hit("a")
    assert limit.wait("a") == pytest.approx(5.0)
    clock.now += 5
    assert limit.wait("a") == 0.0
    assert limit.hit("a") == 0.0


def finding_with_a_full_reference(clock: Clock) -> Limits:
    """The finding budgets on `clock`, the reference 15-ABCDEF tried its hour's worth from
    elsewhere (an address each)."""
    limits = Limits(load_settings(environ={}))
    for budget in (limits.finding_per_address, limits.finding_per_reference):
        budget.clock = clock
    for n in range(FINDING_TRIES_PER_HOUR):
        assert limits.finding_wait(f"192.0.2.{n}", "15-ABCDEF") == 0
    return limits


def test_finding_tells_the_longer_wait_when_the_address_and_the_reference_both_refuse() -> None:
    # This address tried other references until its hour is full: waiting as told by the
    # address alone would be refused again by the reference.
    clock = Clock()
    limits = finding_with_a_full_reference(clock)
    for n in range(FINDING_TRIES_PER_HOUR * 2):
        assert limits.finding_wait("198.51.100.7", f"15-OTHER{n}") == 0

    waited = limits.finding_wait("198.51.100.7", "15-ABCDEF")

    assert waited > 0
    clock.now += waited
    assert limits.finding_wait("198.51.100.7", "15-ABCDEF") == 0


def test_finding_refused_by_the_reference_alone_spends_none_of_the_address_tries() -> None:
    clock = Clock()
    limits = finding_with_a_full_reference(clock)

    waits = [limits.finding_wait("198.51.100.7", "15-ABCDEF") for _ in range(30)]

    assert all(wait > 0 for wait in waits)
    assert limits.finding_per_address.wait("198.51.100.7") == 0  # none of it spent
    clock.now += waits[-1]
    assert limits.finding_wait("198.51.100.7", "15-ABCDEF") == 0
