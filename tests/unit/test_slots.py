"""The slot engine: free slots from open days, stations, appointments and rules."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from app.booking.slots import (
    Booked,
    NeedEffect,
    Policy,
    Refusal,
    Requirement,
    Slot,
    SlotFinder,
    StationInfo,
    nearest,
    requirement,
    suits,
)
from app.sites.hours import SiteCalendar, WeeklyRule, local_instant

PARIS = ZoneInfo("Europe/Paris")
WEEK = [WeeklyRule(d, time(8, 30), time(19, 30) if d == 3 else time(17, 0)) for d in range(5)]
STANDARD = StationInfo(1, "standard", False, 1)
STANDARD_ACCESSIBLE = StationInfo(2, "standard", True, 2)
DOUBLE = StationInfo(3, "double", True, 3)
STATIONS = [STANDARD, STANDARD_ACCESSIBLE, DOUBLE]
NOW = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)  # Monday 08:00 in Paris
THIRTY = Requirement(grid_minutes=30, length_minutes=30)
NO_WALK_INS = Policy(walk_in_share=0.0)


def at(day: str, hhmm: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=PARIS).astimezone(UTC)


def finder(
    first: date,
    last: date,
    *,
    need: Requirement = THIRTY,
    booked: list[Booked] | None = None,
    stations: list[StationInfo] | None = None,
    policy: Policy = NO_WALK_INS,
    now: datetime = NOW,
    weekly: list[WeeklyRule] | None = None,
) -> SlotFinder:
    calendar = SiteCalendar(timezone=PARIS, weekly=WEEK if weekly is None else weekly)
    return SlotFinder(
        days=list(calendar.days(first, last)),
        stations=STATIONS if stations is None else stations,
        booked=booked or [],
        need=need,
        policy=policy,
        now=now,
        timezone=PARIS,
    )


def test_slots_follow_the_services_grid_from_opening_to_the_last_that_fits() -> None:
    slots = finder(date(2026, 12, 1), date(2026, 12, 1)).slots()

    assert slots[0].start == at("2026-12-01", "08:30")
    assert slots[1].start == at("2026-12-01", "09:00")
    assert slots[-1].end == at("2026-12-01", "17:00")
    assert len(slots) == 17


def test_thursday_offers_slots_until_the_late_closing() -> None:
    slots = finder(date(2026, 12, 3), date(2026, 12, 3)).slots()

    assert slots[-1].start == at("2026-12-03", "19:00")


def test_nothing_is_offered_sooner_than_the_notice_or_beyond_the_horizon() -> None:
    slots = finder(date(2026, 11, 30), date(2027, 2, 27), policy=Policy(walk_in_share=0)).slots()

    assert slots[0].start == NOW + timedelta(hours=2)
    assert slots[-1].start <= NOW + timedelta(days=60)
    assert at("2027-01-29", "08:30") not in [slot.start for slot in slots]


def test_a_taken_station_is_left_out_and_the_slot_goes_when_all_are_taken() -> None:
    start = at("2026-12-01", "10:00")
    one = [Booked(STANDARD.id, start, start + timedelta(minutes=30))]
    all_three = [Booked(s.id, start, start + timedelta(minutes=30)) for s in STATIONS]

    partly = finder(date(2026, 12, 1), date(2026, 12, 1), booked=one).check(start)
    full = finder(date(2026, 12, 1), date(2026, 12, 1), booked=all_three)

    assert isinstance(partly, Slot)
    assert STANDARD.id not in partly.station_ids
    assert full.check(start) is Refusal.TAKEN
    assert start not in [slot.start for slot in full.slots()]


def test_an_appointment_overlapping_the_start_or_the_end_blocks_the_slot() -> None:
    start = at("2026-12-01", "10:00")
    before = Booked(STANDARD.id, start - timedelta(minutes=15), start + timedelta(minutes=5))
    after = Booked(
        STANDARD_ACCESSIBLE.id, start + timedelta(minutes=25), start + timedelta(hours=1)
    )
    touching = Booked(DOUBLE.id, start + timedelta(minutes=30), start + timedelta(hours=1))

    slot = finder(date(2026, 12, 1), date(2026, 12, 1), booked=[before, after, touching]).check(
        start
    )

    assert isinstance(slot, Slot)
    assert slot.station_ids == (DOUBLE.id,)


def test_standard_bookings_prefer_plain_stations_to_keep_the_others_free() -> None:
    slot = finder(date(2026, 12, 1), date(2026, 12, 1)).check(at("2026-12-01", "10:00"))

    assert isinstance(slot, Slot)
    assert slot.station_ids == (STANDARD.id, STANDARD_ACCESSIBLE.id, DOUBLE.id)


def test_a_wheelchair_user_gets_only_accessible_stations() -> None:
    need = requirement(30, "standard", [NeedEffect(requires_accessible=True)])

    slot = finder(date(2026, 12, 1), date(2026, 12, 1), need=need).check(at("2026-12-01", "10:00"))

    assert isinstance(slot, Slot)
    assert slot.station_ids == (STANDARD_ACCESSIBLE.id, DOUBLE.id)


def test_long_help_needs_a_double_station_and_more_time() -> None:
    need = requirement(30, "standard", [NeedEffect(30, "double"), NeedEffect(15)])

    slot = finder(date(2026, 12, 1), date(2026, 12, 1), need=need).check(at("2026-12-01", "10:00"))

    assert need == Requirement(grid_minutes=30, length_minutes=75, kind="double")
    assert isinstance(slot, Slot)
    assert slot.station_ids == (DOUBLE.id,)
    assert slot.end - slot.start == timedelta(minutes=75)


def test_a_standard_station_never_takes_a_double_booking() -> None:
    assert not suits(STANDARD, Requirement(30, 30, kind="double"))
    assert suits(DOUBLE, Requirement(30, 30, kind="standard"))
    assert not suits(STANDARD, Requirement(30, 30, accessible=True))


def test_without_a_suitable_station_nothing_is_offered() -> None:
    need = Requirement(30, 30, kind="double")
    only_standard = finder(date(2026, 12, 1), date(2026, 12, 1), need=need, stations=[STANDARD])

    assert only_standard.slots() == []
    assert only_standard.check(at("2026-12-01", "10:00")) is Refusal.NO_STATION


def test_the_walk_in_share_stops_online_booking_filling_a_day() -> None:
    day = date(2026, 12, 1)
    # 8.5 h open × 3 stations = 1530 minutes; 30 % kept → 1071 minutes bookable.
    policy = Policy(walk_in_share=0.30)
    starts = [at("2026-12-01", "08:30") + timedelta(minutes=30 * i) for i in range(17)]
    booked = [Booked(s.id, t, t + timedelta(minutes=30)) for t in starts for s in STATIONS]
    late = at("2026-12-01", "16:30")

    room_for_one = finder(day, day, booked=booked[:34], policy=policy)
    full = finder(day, day, booked=booked[:35], policy=policy)

    assert room_for_one.online_capacity(day) == 1071
    assert room_for_one.booked_minutes(day) == 1020
    assert isinstance(room_for_one.check(late), Slot)
    assert room_for_one.slots()
    assert full.booked_minutes(day) == 1050
    assert full.slots() == []
    assert full.check(late) is Refusal.WALK_IN_SHARE


def test_closed_off_grid_too_soon_and_too_late_are_told_apart() -> None:
    week = finder(date(2026, 11, 30), date(2027, 3, 1), policy=Policy(walk_in_share=0))

    assert week.check(at("2026-12-05", "10:00")) is Refusal.CLOSED
    assert week.check(at("2026-12-01", "07:00")) is Refusal.CLOSED
    assert week.check(at("2026-12-01", "10:10")) is Refusal.OFF_GRID
    assert week.check(at("2026-11-30", "09:00")) is Refusal.TOO_SOON
    assert week.check(at("2026-11-29", "09:00")) is Refusal.TOO_SOON
    assert week.check(at("2027-02-26", "09:00")) is Refusal.TOO_LATE
    assert week.check(at("2026-12-25", "10:00")) is Refusal.CLOSED


def test_nearest_picks_the_three_closest_slots_in_time_order() -> None:
    slots = finder(date(2026, 12, 1), date(2026, 12, 2)).slots()

    chosen = nearest(slots, at("2026-12-01", "12:10"))

    assert [slot.start for slot in chosen] == [
        at("2026-12-01", "11:30"),
        at("2026-12-01", "12:00"),
        at("2026-12-01", "12:30"),
    ]


NIGHT = [WeeklyRule(6, time(0, 0), time(6, 0))]


def test_no_slot_starts_in_the_missing_spring_hour() -> None:
    sunday = date(2027, 3, 28)
    now = datetime(2027, 3, 20, tzinfo=UTC)

    slots = finder(sunday, sunday, weekly=NIGHT, now=now).slots()
    local_starts = [slot.start.astimezone(PARIS) for slot in slots]

    assert not [s for s in local_starts if s.hour == 2]
    assert [s.strftime("%H:%M%z") for s in local_starts][:6] == [
        "00:00+0100",
        "00:30+0100",
        "01:00+0100",
        "01:30+0100",
        "03:00+0200",
        "03:30+0200",
    ]
    assert all(b.start - a.start == timedelta(minutes=30) for a, b in itertools.pairwise(slots))


def test_the_repeated_autumn_hour_gives_distinct_slots_that_each_book_once() -> None:
    sunday = date(2027, 10, 31)
    now = datetime(2027, 10, 20, tzinfo=UTC)
    first_half_past_two = local_instant(sunday, time(2, 30), PARIS)
    second_half_past_two = first_half_past_two + timedelta(hours=1)

    slots = finder(sunday, sunday, weekly=NIGHT, now=now, stations=[STANDARD]).slots()
    starts = [slot.start for slot in slots]
    taken = finder(
        sunday,
        sunday,
        weekly=NIGHT,
        now=now,
        stations=[STANDARD],
        booked=[
            Booked(STANDARD.id, first_half_past_two, first_half_past_two + timedelta(minutes=30))
        ],
    )

    assert len(slots) == 14
    assert first_half_past_two in starts
    assert second_half_past_two in starts
    assert first_half_past_two.astimezone(PARIS).utcoffset() == timedelta(hours=2)
    assert second_half_past_two.astimezone(PARIS).utcoffset() == timedelta(hours=1)
    assert taken.check(first_half_past_two) is Refusal.TAKEN
    assert isinstance(taken.check(second_half_past_two), Slot)


# Property tests over random weeks, stations and appointments.

stations_strategy = st.lists(
    st.builds(
        StationInfo,
        id=st.integers(1, 8),
        kind=st.sampled_from(["standard", "double"]),
        accessible=st.booleans(),
        position=st.integers(0, 5),
    ),
    min_size=1,
    max_size=6,
    unique_by=lambda s: s.id,
)
hours = st.tuples(st.integers(6, 12), st.integers(13, 21)).map(
    lambda r: WeeklyRule(0, time(r[0]), time(r[1]))
)
need_strategy = st.builds(
    lambda grid, extra, double, accessible: Requirement(
        grid, grid + extra, "double" if double else "standard", accessible
    ),
    st.sampled_from([15, 20, 30, 45, 60]),
    st.sampled_from([0, 0, 10, 15, 30]),
    st.booleans(),
    st.booleans(),
)


@st.composite
def scenarios(draw: st.DrawFn) -> SlotFinder:
    stations = draw(stations_strategy)
    weekly = [
        WeeklyRule(day, rule.opens, rule.closes) for day in range(5) for rule in [draw(hours)]
    ]
    first = date(2027, 1, 4)
    last = first + timedelta(days=draw(st.integers(0, 9)))
    booked = []
    for _ in range(draw(st.integers(0, 30))):
        station = draw(st.sampled_from(stations))
        day = first + timedelta(days=draw(st.integers(0, 9)))
        start = local_instant(
            day, time(draw(st.integers(6, 20)), draw(st.sampled_from([0, 10, 30]))), PARIS
        )
        booked.append(
            Booked(station.id, start, start + timedelta(minutes=draw(st.integers(5, 120))))
        )
    policy = Policy(
        min_notice=timedelta(hours=draw(st.integers(0, 48))),
        horizon=timedelta(days=draw(st.integers(1, 60))),
        walk_in_share=draw(st.sampled_from([0.0, 0.3, 0.5, 0.9])),
    )
    calendar = SiteCalendar(timezone=PARIS, weekly=weekly)
    return SlotFinder(
        days=list(calendar.days(first, last)),
        stations=stations,
        booked=booked,
        need=draw(need_strategy),
        policy=policy,
        now=datetime(2027, 1, 3, 12, tzinfo=UTC) + timedelta(hours=draw(st.integers(0, 72))),
        timezone=PARIS,
    )


@settings(max_examples=300, deadline=None)
@given(scenario=scenarios())
def test_offered_slots_are_free_open_suitable_in_the_window_and_within_the_share(
    scenario: SlotFinder,
) -> None:
    slots = scenario.slots()
    stations = {station.id: station for station in scenario.stations}
    open_days = {day.day: day for day in scenario.days}

    assert [slot.start for slot in slots] == sorted(slot.start for slot in slots)
    for slot in slots:
        assert slot.end - slot.start == scenario.need.length
        assert scenario.now + scenario.policy.min_notice <= slot.start
        assert slot.start <= scenario.now + scenario.policy.horizon
        day = open_days[slot.start.astimezone(PARIS).date()]
        assert any(opens <= slot.start and slot.end <= closes for opens, closes in day.intervals)
        assert slot.station_ids
        for station_id in slot.station_ids:
            assert suits(stations[station_id], scenario.need)
            for item in scenario.booked:
                if item.station_id == station_id:
                    assert item.ends_at <= slot.start or item.starts_at >= slot.end
        room = scenario.online_capacity(day.day) - scenario.booked_minutes(day.day)
        assert scenario.need.length_minutes <= room
        assert scenario.check(slot.start) == slot


@settings(max_examples=200, deadline=None)
@given(scenario=scenarios(), data=st.data())
def test_a_start_is_offered_exactly_when_check_accepts_it(
    scenario: SlotFinder, data: st.DataObject
) -> None:
    offered = {slot.start for slot in scenario.slots()}
    day = data.draw(st.sampled_from(list(scenario.days)))
    minute = data.draw(st.integers(0, 24 * 60 - 5))
    start = local_instant(day.day, time(minute // 60, minute % 60), PARIS)

    assert (start in offered) == isinstance(scenario.check(start), Slot)


@settings(max_examples=200, deadline=None)
@given(scenario=scenarios())
def test_booking_each_offered_slot_in_turn_never_overlaps_and_never_breaks_the_share(
    scenario: SlotFinder,
) -> None:
    booked = list(scenario.booked)
    for slot in scenario.slots():
        outcome = dataclasses.replace(scenario, booked=booked).check(slot.start)
        if not isinstance(outcome, Slot):
            continue
        booked.append(Booked(outcome.station_ids[0], outcome.start, outcome.end))
    for item in booked[len(scenario.booked) :]:
        for other in booked:
            if other is not item and other.station_id == item.station_id:
                assert other.ends_at <= item.starts_at or other.starts_at >= item.ends_at
    final = dataclasses.replace(scenario, booked=booked)
    for day in scenario.days:
        if final.booked_minutes(day.day) > scenario.booked_minutes(day.day):
            assert final.booked_minutes(day.day) <= final.online_capacity(day.day) + 1e-9
