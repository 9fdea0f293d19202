"""When a booked person may come to the desk: early, but not before the doors open."""

from __future__ import annotations

from datetime import UTC, datetime

from app.booking.rules import arrival_window


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, 1, hour, minute, tzinfo=UTC)


MORNING_AND_AFTERNOON = [(at(8, 30), at(12)), (at(13, 30), at(17))]


def test_the_window_opens_early_within_the_hours() -> None:
    assert arrival_window(at(10), 30, 15, MORNING_AND_AFTERNOON) == (at(9, 30), at(10, 15))


def test_not_before_the_doors_open_in_the_morning() -> None:
    assert arrival_window(at(8, 30), 30, 15, MORNING_AND_AFTERNOON) == (at(8, 30), at(8, 45))
    assert arrival_window(at(8, 45), 30, 15, MORNING_AND_AFTERNOON) == (at(8, 30), at(9))


def test_nor_during_the_lunch_closure_before_the_afternoon_s_first() -> None:
    assert arrival_window(at(13, 30), 30, 15, MORNING_AND_AFTERNOON) == (at(13, 30), at(13, 45))


def test_without_hours_that_day_the_window_is_the_rule_s() -> None:
    assert arrival_window(at(10), 30, 15, []) == (at(9, 30), at(10, 15))
