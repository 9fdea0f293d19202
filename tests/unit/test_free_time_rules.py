"""What a station leaves free on a day (`app/booking/free_time_rules.py`), on days made by
hand: outages, appointments, rounding to the generous side, and days of 23 and 25 hours.
The summary only narrows the search for a first slot, so every figure may overstate the
free time but never understate it."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.booking.free_time_rules import StationDay, day_range, station_days, subtract
from app.booking.slots import Booked
from app.sites.hours import Interval, OpenDay, local_instant

PARIS = ZoneInfo("Europe/Paris")
MONDAY = date(2026, 11, 30)
TUESDAY = date(2026, 12, 1)


def at(day: date, clock: str) -> datetime:
    """`day` at a Paris wall-clock time ("HH:MM" or "HH:MM:SS"), in UTC."""
    return local_instant(day, time.fromisoformat(clock), PARIS)


def span(day: date, opens: str, closes: str) -> Interval:
    return at(day, opens), at(day, closes)


def bounds(day: date) -> Interval:
    return at(day, "00:00"), local_instant(day + timedelta(days=1), time(0), PARIS)


def open_day(day: date, *ranges: tuple[str, str]) -> OpenDay:
    return OpenDay(day, tuple(span(day, opens, closes) for opens, closes in ranges))


def one_day(
    day: OpenDay,
    stations: list[int],
    held: list[Booked] | None = None,
    outages: list[Booked] | None = None,
) -> dict[int, StationDay]:
    found = station_days([day], stations, held or [], outages or [], [bounds(day.day)])
    return {station: found[station, day.day] for station in stations}


def booked(station: int, day: date, starts: str, ends: str) -> Booked:
    return Booked(station, *span(day, starts, ends))


# Open minutes, free runs, free until


def test_an_empty_day_is_all_free_until_it_closes() -> None:
    day = open_day(MONDAY, ("08:30", "12:00"), ("13:00", "17:00"))

    assert one_day(day, [1])[1] == StationDay(
        open_minutes=450, booked_minutes=0, longest_minutes=240, free_until_minutes=1020
    )


def test_a_closed_day_has_nothing_free() -> None:
    day = OpenDay(MONDAY, ())

    assert one_day(day, [1], held=[booked(1, MONDAY, "10:00", "10:30")]) == {
        1: StationDay(0, 30, 0, 0)
    }


def test_outages_cut_the_open_minutes_and_the_free_runs_of_their_station_only() -> None:
    day = open_day(MONDAY, ("08:30", "12:00"), ("13:00", "17:00"))
    outages = [
        booked(1, MONDAY, "14:00", "16:00"),
        booked(1, MONDAY, "15:00", "16:30"),  # overlapping: its time is taken out once
        booked(1, MONDAY, "11:30", "13:30"),  # across the lunch break
    ]

    found = one_day(day, [1, 2], outages=outages)

    # 08:30-11:30 (180), 13:30-14:00 (30), 16:30-17:00 (30)
    assert found[1] == StationDay(240, 0, 180, 1020)
    assert found[2] == StationDay(450, 0, 240, 1020)


def test_an_outage_to_the_close_moves_free_until_back() -> None:
    day = open_day(MONDAY, ("08:30", "17:00"))

    found = one_day(day, [1], outages=[booked(1, MONDAY, "16:00", "23:00")])

    assert found[1] == StationDay(450, 0, 450, 960)


def test_appointments_cut_the_free_runs_but_not_the_open_minutes() -> None:
    day = open_day(MONDAY, ("08:30", "12:00"), ("13:00", "17:00"))
    held = [
        booked(1, MONDAY, "09:00", "09:30"),
        booked(1, MONDAY, "14:00", "14:45"),
        booked(1, MONDAY, "16:30", "17:00"),
    ]

    found = one_day(day, [1], held=held)

    # Free: 08:30-09:00, 09:30-12:00 (150), 13:00-14:00, 14:45-16:30 (105)
    assert found[1] == StationDay(450, 105, 150, 990)


def test_an_appointment_counts_on_its_own_station_only() -> None:
    day = open_day(MONDAY, ("08:30", "17:00"))

    found = one_day(day, [1, 2, 3], held=[booked(2, MONDAY, "08:30", "12:00")])

    assert found[1] == found[3] == StationDay(510, 0, 510, 1020)
    assert found[2] == StationDay(510, 210, 300, 1020)


def test_booked_minutes_count_on_the_day_an_appointment_starts_only() -> None:
    monday = OpenDay(MONDAY, ((at(MONDAY, "08:30"), at(TUESDAY, "00:00")),))
    tuesday = OpenDay(TUESDAY, ((at(TUESDAY, "00:00"), at(TUESDAY, "02:00")),))
    # Starts on Monday, runs into Tuesday: Monday's minutes, but it takes Tuesday's time.
    late = Booked(1, at(MONDAY, "23:30"), at(TUESDAY, "01:00"))

    found = station_days([monday, tuesday], [1], [late], [], [bounds(MONDAY), bounds(TUESDAY)])

    assert found[1, MONDAY].booked_minutes == 90
    assert found[1, TUESDAY].booked_minutes == 0
    assert found[1, TUESDAY].longest_minutes == 60
    assert found[1, TUESDAY].free_until_minutes == 120


def test_a_booked_up_station_has_no_free_run_and_is_free_until_nothing() -> None:
    day = open_day(MONDAY, ("08:30", "10:00"))
    held = [booked(1, MONDAY, "08:30", "09:15"), booked(1, MONDAY, "09:15", "10:00")]

    assert one_day(day, [1], held=held)[1] == StationDay(90, 90, 0, 0)


def test_appointments_and_outages_of_other_days_are_left_alone() -> None:
    day = open_day(MONDAY, ("08:30", "17:00"))
    elsewhere = [booked(1, TUESDAY, "08:30", "17:00")]

    found = one_day(day, [1], held=elsewhere, outages=elsewhere)

    assert found[1] == StationDay(510, 0, 510, 1020)


# Rounding: open and free time up, booked time down


def test_seconds_round_to_the_generous_side() -> None:
    day = OpenDay(MONDAY, (span(MONDAY, "08:30:20", "09:30:00"),))  # 59 min 40 s
    held = [booked(1, MONDAY, "08:59:30", "09:29:00")]  # 29 min 30 s

    found = one_day(day, [1], held=held)[1]

    # Free: 08:30:20-08:59:30 (29 min 10 s) and 09:29:00-09:30:00 (1 min)
    assert found == StationDay(
        open_minutes=60, booked_minutes=29, longest_minutes=30, free_until_minutes=570
    )


def test_whole_minutes_are_not_rounded_away() -> None:
    day = open_day(MONDAY, ("08:30", "09:00"))

    found = one_day(day, [1], held=[booked(1, MONDAY, "08:45", "09:00")])[1]

    assert found == StationDay(30, 15, 15, 525)


def test_free_until_rounds_up_to_the_minute() -> None:
    day = OpenDay(MONDAY, (span(MONDAY, "08:30", "16:59:01"),))

    assert one_day(day, [1])[1].free_until_minutes == 1020


# Days of 23 and 25 hours: free until counts from the day's own start


def test_on_the_spring_day_of_23_hours_free_until_counts_real_minutes() -> None:
    spring = date(2027, 3, 28)
    day = open_day(spring, ("08:30", "17:00"))
    next_day = date(2027, 3, 29)
    after_midnight = Booked(1, at(next_day, "00:30"), at(next_day, "01:00"))
    before_midnight = Booked(1, at(spring, "23:00"), at(spring, "23:30"))

    found = station_days([day], [1], [after_midnight, before_midnight], [], [bounds(spring)])[
        1, spring
    ]

    assert bounds(spring)[1] - bounds(spring)[0] == timedelta(hours=23)
    assert found.free_until_minutes == 16 * 60  # 17:00 is 16 real hours after midnight
    assert found.open_minutes == 510
    assert found.booked_minutes == 30  # 23:00 is that day; 00:30 is the next


def test_on_the_autumn_day_of_25_hours_free_until_counts_real_minutes() -> None:
    autumn = date(2026, 10, 25)
    day = open_day(autumn, ("08:30", "17:00"))
    late = Booked(1, at(autumn, "23:30"), at(autumn, "23:45"))

    found = station_days([day], [1], [late], [], [bounds(autumn)])[1, autumn]

    assert bounds(autumn)[1] - bounds(autumn)[0] == timedelta(hours=25)
    assert found == StationDay(510, 15, 510, 18 * 60)


def test_a_day_that_opens_across_the_spring_gap_counts_its_real_length() -> None:
    spring = date(2027, 3, 28)
    # 01:00 to 04:00 on the wall clock is two real hours.
    day = OpenDay(spring, (span(spring, "01:00", "04:00"),))

    found = station_days([day], [1], [], [], [bounds(spring)])[1, spring]

    assert found == StationDay(120, 0, 120, 180)


# subtract


def test_subtract_without_holes_gives_the_intervals_back() -> None:
    intervals = [span(MONDAY, "08:30", "12:00"), span(MONDAY, "13:00", "17:00")]

    assert subtract(intervals, []) == intervals


def test_subtract_a_hole_touching_an_interval_takes_nothing() -> None:
    intervals = [span(MONDAY, "08:30", "12:00")]
    touching = [span(MONDAY, "07:00", "08:30"), span(MONDAY, "12:00", "13:00")]

    assert subtract(intervals, touching) == intervals


def test_subtract_a_hole_covering_everything_leaves_nothing() -> None:
    intervals = [span(MONDAY, "08:30", "12:00"), span(MONDAY, "13:00", "17:00")]

    assert subtract(intervals, [span(MONDAY, "08:30", "17:00")]) == []
    assert subtract(intervals, [span(MONDAY, "00:00", "23:00")]) == []


def test_subtract_ignores_empty_and_backwards_holes() -> None:
    intervals = [span(MONDAY, "08:30", "12:00")]
    holes = [span(MONDAY, "10:00", "10:00"), (at(MONDAY, "11:00"), at(MONDAY, "09:00"))]

    assert subtract(intervals, holes) == intervals


def test_subtract_merges_overlapping_and_unsorted_holes() -> None:
    intervals = [span(MONDAY, "08:30", "12:00"), span(MONDAY, "13:00", "17:00")]
    holes = [
        span(MONDAY, "15:00", "16:00"),
        span(MONDAY, "09:00", "10:00"),
        span(MONDAY, "09:30", "10:30"),
        span(MONDAY, "11:30", "13:30"),  # across the gap between intervals
        span(MONDAY, "16:00", "16:15"),  # touching the previous one
    ]

    assert subtract(intervals, holes) == [
        span(MONDAY, "08:30", "09:00"),
        span(MONDAY, "10:30", "11:30"),
        span(MONDAY, "13:30", "15:00"),
        span(MONDAY, "16:15", "17:00"),
    ]


def test_subtract_holes_at_each_end_keep_the_middle() -> None:
    intervals = [span(MONDAY, "08:30", "17:00")]
    holes = [span(MONDAY, "08:00", "09:00"), span(MONDAY, "16:00", "18:00")]

    assert subtract(intervals, holes) == [span(MONDAY, "09:00", "16:00")]


def test_subtract_works_on_real_instants_whatever_their_zone() -> None:
    intervals = [span(MONDAY, "08:30", "12:00")]
    hole = (at(MONDAY, "09:00").astimezone(UTC), at(MONDAY, "10:00").astimezone(PARIS))

    assert subtract(intervals, [hole]) == [
        span(MONDAY, "08:30", "09:00"),
        span(MONDAY, "10:00", "12:00"),
    ]


def test_day_range_includes_both_ends() -> None:
    assert day_range(MONDAY, TUESDAY) == [MONDAY, TUESDAY]
    assert day_range(MONDAY, MONDAY) == [MONDAY]
    assert day_range(TUESDAY, MONDAY) == []
