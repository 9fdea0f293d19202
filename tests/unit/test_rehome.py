"""Where appointments go when their station is out of service or the site closes, and
what an outage takes from the slots offered: pure functions of plain data."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.booking.slots import (
    Booked,
    Holding,
    Policy,
    Requirement,
    SlotFinder,
    StationInfo,
    free_stations,
    rehome,
)
from app.sites.hours import ClosedPeriod, OpenDay, SiteCalendar, WeeklyRule

PARIS = ZoneInfo("Europe/Paris")
WEEK = [WeeklyRule(d, time(8, 30), time(17, 0)) for d in range(5)]
DAY = date(2026, 12, 1)
STANDARD = StationInfo(1, "standard", False, 1)
OTHER_STANDARD = StationInfo(2, "standard", False, 2)
ACCESSIBLE = StationInfo(3, "standard", True, 3)
DOUBLE = StationInfo(4, "double", True, 4)
STATIONS = [STANDARD, OTHER_STANDARD, ACCESSIBLE, DOUBLE]
THIRTY = Requirement(grid_minutes=30, length_minutes=30)
WHEELCHAIR = Requirement(grid_minutes=30, length_minutes=30, accessible=True)
LONG = Requirement(grid_minutes=60, length_minutes=60, kind="double")


def at(hhmm: str) -> datetime:
    return datetime.combine(DAY, time.fromisoformat(hhmm), PARIS).astimezone(UTC)


def days(*closures: ClosedPeriod) -> list[OpenDay]:
    return [SiteCalendar(PARIS, WEEK, closures=closures).day(DAY)]


def holding(number: int, station: int, start: str, end: str, need: Requirement = THIRTY) -> Holding:
    return Holding(number, station, at(start), at(end), need)


def taken(*holdings: Holding) -> dict[int, Booked]:
    return {h.id: Booked(h.station_id, h.starts_at, h.ends_at) for h in holdings}


def out(station: int, start: str = "08:00", end: str = "18:00") -> Booked:
    return Booked(station, at(start), at(end))


def test_free_stations_keep_doubles_and_accessible_ones_for_those_who_need_them() -> None:
    free = free_stations(STATIONS, THIRTY, [], at("10:00"), at("10:30"))
    wheelchair = free_stations(STATIONS, WHEELCHAIR, [], at("10:00"), at("10:30"))
    long = free_stations(STATIONS, LONG, [], at("10:00"), at("11:00"))

    assert free == [1, 2, 3, 4]
    assert wheelchair == [3, 4]
    assert long == [4]


def test_free_stations_leave_out_those_taken_even_for_part_of_the_time() -> None:
    held = [out(1, "09:45", "10:15"), out(2, "10:29", "11:00"), out(3, "10:30", "11:00")]

    assert free_stations(STATIONS, THIRTY, held, at("10:00"), at("10:30")) == [3, 4]


def test_free_stations_keep_those_held_only_up_to_the_start_or_from_the_end() -> None:
    held = [out(1, "09:30", "10:00"), out(2, "10:30", "11:00"), out(3, "10:00", "10:01")]

    assert free_stations(STATIONS, THIRTY, held, at("10:00"), at("10:30")) == [1, 2, 4]


def test_an_appointment_on_a_station_out_of_service_goes_to_the_best_free_one() -> None:
    on_out = holding(10, 1, "10:00", "10:30")
    busy = holding(11, 2, "10:00", "10:30")

    placed = rehome([on_out], days(), STATIONS, taken(on_out, busy), [out(1)], PARIS)

    assert placed == {10: 3}


def test_appointments_still_fine_are_left_out() -> None:
    fine = holding(10, 2, "10:00", "10:30")

    assert rehome([fine], days(), STATIONS, taken(fine), [out(1)], PARIS) == {}


def test_nowhere_to_go_when_every_suitable_station_is_taken_or_out() -> None:
    long = holding(10, 4, "10:00", "11:00", LONG)
    wheelchair = holding(11, 3, "14:00", "14:30", WHEELCHAIR)
    others = holding(12, 4, "14:00", "14:30")

    placed = rehome(
        [long, wheelchair],
        days(),
        STATIONS,
        taken(long, wheelchair, others),
        [out(4), out(3, "13:00", "15:00")],
        PARIS,
    )

    assert placed == {10: None, 11: None}


def test_when_the_site_is_closed_nothing_moves_even_if_stations_are_free() -> None:
    closure = ClosedPeriod(at("12:00"), at("17:00"), "Travaux")
    morning = holding(10, 1, "11:30", "12:00")
    afternoon = holding(11, 1, "14:00", "14:30")
    across = holding(12, 2, "11:45", "12:15")

    placed = rehome(
        [morning, afternoon, across],
        days(closure),
        STATIONS,
        taken(morning, afternoon, across),
        [],
        PARIS,
    )

    assert placed == {11: None, 12: None}


def test_a_station_taken_away_or_no_longer_suited_hands_its_appointments_on() -> None:
    gone = holding(10, 9, "10:00", "10:30")
    long_on_standard = holding(11, 2, "11:00", "12:00", LONG)

    placed = rehome(
        [gone, long_on_standard], days(), STATIONS, taken(gone, long_on_standard), [], PARIS
    )

    assert placed == {10: 1, 11: 4}


def test_earlier_appointments_are_placed_first_and_take_their_station() -> None:
    first = holding(10, 1, "10:00", "10:30")
    second = holding(11, 1, "10:15", "10:45")
    held = [out(2), out(4)]

    placed = rehome([second, first], days(), STATIONS, taken(first, second), [out(1), *held], PARIS)

    assert placed == {10: 3, 11: None}


HALF_HOURS = st.integers(0, 15)


@given(
    st.lists(
        st.tuples(st.sampled_from([1, 2, 3, 4, 9]), HALF_HOURS, st.integers(1, 2)),
        min_size=1,
        max_size=25,
    ),
    st.sets(st.sampled_from([1, 2, 3, 4]), max_size=3),
)
def test_a_moved_appointment_never_shares_its_new_station_nor_lands_on_one_out(
    raw: list[tuple[int, int, int]], broken: set[int]
) -> None:
    half_hour = at("09:30") - at("09:00")
    holdings = [
        Holding(
            n,
            station,
            at("09:00") + half_hour * slot,
            at("09:00") + half_hour * (slot + size),
            THIRTY,
        )
        for n, (station, slot, size) in enumerate(raw)
    ]

    placed = rehome(holdings, days(), STATIONS, taken(*holdings), [out(s) for s in broken], PARIS)

    final = {h.id: placed.get(h.id) or h.station_id for h in holdings}
    for h in holdings:
        if placed.get(h.id) is None:
            continue
        assert final[h.id] not in broken
        assert not any(
            final[g.id] == final[h.id] and g.starts_at < h.ends_at and h.starts_at < g.ends_at
            for g in holdings
            if g.id != h.id
        )


def test_an_outage_takes_the_station_out_of_the_slots_and_its_time_out_of_capacity() -> None:
    calendar = SiteCalendar(PARIS, WEEK)

    def finder(outages: list[Booked], share: float = 0.0) -> SlotFinder:
        return SlotFinder(
            days=list(calendar.days(DAY, DAY)),
            stations=[STANDARD, OTHER_STANDARD],
            booked=[Booked(2, at("08:30"), at("17:00"))],
            need=THIRTY,
            policy=Policy(walk_in_share=share),
            now=at("07:00"),
            timezone=PARIS,
            outages=outages,
        )

    usual = finder([])
    morning_out = finder([out(1, "08:00", "12:00")])
    starts = [slot.start for slot in morning_out.slots()]

    assert at("10:00") in [slot.start for slot in usual.slots()]
    assert at("10:00") not in starts
    assert starts[0] == at("12:00")
    assert morning_out.booked_minutes(DAY) == usual.booked_minutes(DAY) == 510.0
    assert finder([], 0.5).online_capacity(DAY) == 1020 * 0.5
    assert finder([out(1, "08:00", "12:00")], 0.5).online_capacity(DAY) == (1020 - 210) * 0.5


def test_appointments_filling_the_day_to_its_edges_are_moved_and_one_past_them_is_not() -> None:
    opening = holding(10, 1, "08:30", "09:00")
    closing = holding(11, 1, "16:30", "17:00")
    before_opening = holding(12, 1, "08:29", "08:59")
    after_closing = holding(13, 1, "16:31", "17:01")
    everyone = [opening, closing, before_opening, after_closing]

    placed = rehome(everyone, days(), STATIONS, taken(*everyone), [out(1)], PARIS)

    assert placed == {10: 2, 11: 2, 12: None, 13: None}


@pytest.mark.parametrize(
    ("outage_from", "outage_until", "moved"),
    [
        ("09:00", "10:00", False),  # over as the appointment starts
        ("10:30", "12:00", False),  # begins as it ends
        ("09:00", "10:01", True),
        ("10:29", "12:00", True),
    ],
)
def test_an_outage_moves_an_appointment_only_if_they_share_a_minute(
    outage_from: str, outage_until: str, moved: bool
) -> None:
    appointment = holding(10, 1, "10:00", "10:30")

    placed = rehome(
        [appointment],
        days(),
        STATIONS,
        taken(appointment),
        [out(1, outage_from, outage_until)],
        PARIS,
    )

    assert placed == ({10: 2} if moved else {})


def test_appointments_at_the_same_time_are_placed_in_the_order_they_were_made() -> None:
    later = holding(11, 1, "10:00", "10:30")
    earlier = holding(10, 2, "10:00", "10:30")

    placed = rehome(
        [later, earlier], days(), STATIONS, taken(later, earlier), [out(1), out(2)], PARIS
    )

    assert placed == {10: 3, 11: 4}


def test_a_night_appointment_is_placed_on_its_local_day() -> None:
    # Open on Sunday nights; 00:30 in Paris is still Saturday in UTC.
    sunday = date(2026, 11, 29)
    night = SiteCalendar(PARIS, [WeeklyRule(6, time(0), time(6))]).day(sunday)
    starts = datetime.combine(sunday, time(0, 30), PARIS).astimezone(UTC)
    half_hour = at("10:30") - at("10:00")
    appointment = Holding(10, 1, starts, starts + half_hour, THIRTY)
    broken = Booked(1, starts - half_hour, starts + 4 * half_hour)

    placed = rehome([appointment], [night], STATIONS, taken(appointment), [broken], PARIS)

    assert placed == {10: 2}
