"""Busy hours as a pure function: the rate of each open hour against the mairie's mean."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from app.stats.busy import Level, busy_hours, open_minutes, window

PARIS = ZoneInfo("Europe/Paris")
WEEK = {day: [(time(8, 30), time(17))] for day in range(5)} | {5: [], 6: []}
WEEK[3] = [(time(8, 30), time(19, 30))]
MONDAY = date(2026, 11, 30)


def at(day: date, hour: int, minute: int = 40) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=PARIS).astimezone(UTC)


def every_weekday(per_hour: dict[int, int], weeks: int = 8) -> list[datetime]:
    instants = []
    for back in range(1, weeks * 7 + 1):
        day = MONDAY - timedelta(days=back)
        if day.weekday() < 5:
            for hour, count in per_hour.items():
                instants += [at(day, hour)] * count
    return instants


def test_open_minutes_count_half_open_hours_by_their_minutes() -> None:
    minutes = open_minutes(WEEK)

    assert minutes[(0, 8)] == 30
    assert minutes[(0, 9)] == 60
    assert minutes[(0, 16)] == 60
    assert (0, 17) not in minutes
    assert minutes[(3, 19)] == 30
    assert not any(day in (5, 6) for day, _ in minutes)


def test_a_late_morning_rush_is_busy_and_the_end_of_the_day_calm() -> None:
    week = busy_hours(every_weekday({8: 1, 9: 2, 10: 6, 11: 6, 14: 3, 16: 1}), WEEK, PARIS)

    levels = {(day.weekday, hour.hour): hour.level for day in week.days for hour in day.hours}
    assert week.enough
    assert levels[(1, 10)] == Level.BUSY
    assert levels[(1, 16)] == Level.CALM
    assert levels[(1, 9)] == Level.USUAL
    assert levels[(3, 18)] == Level.CALM


def test_closed_hours_and_days_are_left_out() -> None:
    week = busy_hours(every_weekday({10: 5}), WEEK, PARIS)

    assert [day.weekday for day in week.days] == [0, 1, 2, 3, 4]
    assert week.hours == list(range(8, 20))
    assert [hour.hour for hour in week.days[0].hours] == list(range(8, 17))


def test_arrivals_outside_opening_hours_are_not_counted() -> None:
    sunday = MONDAY - timedelta(days=1)
    week = busy_hours([at(sunday, 10), at(MONDAY, 7), at(MONDAY, 18)], WEEK, PARIS)

    assert week.tickets == 0


def test_too_few_tickets_make_every_open_hour_usual() -> None:
    week = busy_hours(every_weekday({10: 1}, weeks=1), WEEK, PARIS, min_tickets=40)

    assert not week.enough
    assert {hour.level for day in week.days for hour in day.hours} == {Level.USUAL}


def test_an_even_spread_is_usual_everywhere() -> None:
    per_hour = {hour: 2 for hour in range(9, 17)}
    week = busy_hours(every_weekday(per_hour), {1: [(time(9), time(17))]}, PARIS)

    assert {hour.level for day in week.days for hour in day.hours} == {Level.USUAL}


def test_the_window_is_the_whole_weeks_before_today_in_local_time() -> None:
    starts, ends = window(MONDAY, PARIS, weeks=8)

    assert ends == at(MONDAY, 0, 0)
    assert starts == at(MONDAY - timedelta(weeks=8), 0, 0)


@given(st.lists(st.integers(0, 8 * 7 * 24 * 60 - 1), max_size=300))
def test_every_open_hour_gets_exactly_one_level(offsets: list[int]) -> None:
    start = at(MONDAY - timedelta(weeks=8), 0, 0)
    week = busy_hours([start + timedelta(minutes=m) for m in offsets], WEEK, PARIS)

    assert {(day.weekday, hour.hour) for day in week.days for hour in day.hours} == set(
        open_minutes(WEEK)
    )
    assert week.tickets <= len(offsets)
