"""The budget of frames a websocket client may send (`app.serving.Budget`): a burst of
its count, then its rate, over any window and not only from its first frame."""

from __future__ import annotations

from app.serving import Budget


def spend(budget: Budget, at: float, count: int) -> int:
    """How many of `count` frames sent at `at` the budget takes."""
    return sum(budget.take(at) for _ in range(count))


def test_a_burst_of_its_count_passes_and_the_next_frame_does_not() -> None:
    budget = Budget(30, 10)
    assert spend(budget, 0.0, 30) == 30
    assert not budget.take(0.0)


def test_two_bursts_either_side_of_ten_seconds_do_not_both_pass() -> None:
    # A window counted from the first frame let 59 frames through in a quarter second.
    budget = Budget(30, 10)
    assert spend(budget, 0.0, 1) == 1
    assert spend(budget, 9.9, 29) == 29
    assert spend(budget, 10.15, 30) < 5


def test_a_steady_client_under_the_rate_is_never_refused() -> None:
    budget = Budget(30, 10)
    assert spend(budget, 0.0, 30) == 30
    assert all(budget.take(10.0 + n * 0.34) for n in range(1000))  # 2.9 a second
