"""The slot engine: free slots from open days, stations, appointments and rules."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

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
from app.sites.hours import ClosedPeriod, SiteCalendar, WeeklyRule

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
    closures: list[ClosedPeriod] | None = None,
    outages: list[Booked] | None = None,
) -> SlotFinder:
    calendar = SiteCalendar(
        timezone=PARIS, weekly=WEEK if weekly is None else weekly, closures=closures or []
    )
    return SlotFinder(
        days=list(calendar.days(first, last)),
        stations=STATIONS if stations is None else stations,
        booked=booked or [],
        need=need,
        policy=policy,
        now=now,
        timezone=PARIS,
        outages=outages or [],
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


def test_a_station_stays_taken_to_the_end_of_the_longest_of_its_overlapping_holds() -> None:
    # Out of service 09:00-12:00 with an appointment still on it 10:00-10:30.
    outage = [Booked(STANDARD.id, tuesday("09:00"), tuesday("12:00"))]
    appointment = [Booked(STANDARD.id, tuesday("10:00"), tuesday("10:30"))]

    day = on_tuesday(stations=[STANDARD], booked=appointment, outages=outage)

    assert day.check(tuesday("11:00")) is Refusal.TAKEN
    assert day.check(tuesday("11:30")) is Refusal.TAKEN
    assert day.check(tuesday("12:00")) == Slot(tuesday("12:00"), tuesday("12:30"), (1,))
    assert [local_hhmm(slot.start) for slot in day.slots()][:3] == ["08:30", "12:00", "12:30"]


def test_standard_bookings_prefer_plain_stations_to_keep_the_others_free() -> None:
    slot = finder(date(2026, 12, 1), date(2026, 12, 1)).check(at("2026-12-01", "10:00"))

    assert isinstance(slot, Slot)
    assert slot.station_ids == (STANDARD.id, STANDARD_ACCESSIBLE.id, DOUBLE.id)


def test_plain_stations_come_first_whatever_their_position() -> None:
    accessible = StationInfo(7, "standard", True, 0)
    double = StationInfo(8, "double", False, 0)
    plain = StationInfo(9, "standard", False, 5)
    double_accessible = StationInfo(10, "double", True, 0)
    long_help = Requirement(30, 30, kind="double")

    standard_slot = on_tuesday(stations=[accessible, double, plain]).check(tuesday("10:00"))
    double_slot = on_tuesday(stations=[double_accessible, double], need=long_help).check(
        tuesday("10:00")
    )

    assert isinstance(standard_slot, Slot)
    assert standard_slot.station_ids == (9, 7, 8)
    assert isinstance(double_slot, Slot)
    assert double_slot.station_ids == (8, 10)


def test_a_wheelchair_user_gets_only_accessible_stations() -> None:
    need = requirement(30, "standard", [NeedEffect(requires_accessible=True)])

    slot = finder(date(2026, 12, 1), date(2026, 12, 1), need=need).check(at("2026-12-01", "10:00"))

    assert isinstance(slot, Slot)
    assert slot.station_ids == (STANDARD_ACCESSIBLE.id, DOUBLE.id)


@pytest.mark.parametrize(
    ("duration", "kind", "needs", "expected"),
    [
        (45, "double", [], Requirement(45, 45, "double", False)),
        (30, "standard", [], Requirement(30, 30, "standard", False)),
        (
            30,
            "standard",
            [NeedEffect(requires_accessible=True), NeedEffect(10)],
            Requirement(30, 40, "standard", True),
        ),
        (
            20,
            "standard",
            [NeedEffect(5, "standard"), NeedEffect(15, "double")],
            Requirement(20, 40, "double", False),
        ),
        (30, "double", [NeedEffect(0, "standard")], Requirement(30, 30, "double", False)),
    ],
)
def test_a_booking_needs_a_double_station_if_its_service_or_any_need_does(
    duration: int, kind: str, needs: list[NeedEffect], expected: Requirement
) -> None:
    assert requirement(duration, kind, needs) == expected


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


def test_a_day_full_for_online_bookings_leaves_the_next_days_offered() -> None:
    full_tuesday = [Booked(STANDARD.id, at("2026-12-01", "08:30"), at("2026-12-01", "17:00"))]

    two_days = finder(
        date(2026, 12, 1),
        date(2026, 12, 2),
        stations=[STANDARD],
        booked=full_tuesday,
        policy=Policy(walk_in_share=0.30),
    )
    starts = [slot.start for slot in two_days.slots()]

    assert len(starts) == 17
    assert starts[0] == at("2026-12-02", "08:30")
    assert starts[-1] == at("2026-12-02", "16:30")


def test_booked_minutes_count_on_the_local_day_an_appointment_starts() -> None:
    def half_hour(day: str, hhmm: str) -> Booked:
        return Booked(STANDARD.id, at(day, hhmm), at(day, hhmm) + timedelta(minutes=30))

    booked = [
        half_hour("2026-11-30", "23:30"),  # Monday, before the days asked
        half_hour("2026-12-01", "00:00"),
        half_hour("2026-12-01", "00:30"),  # Tuesday in Paris, Monday in UTC
        half_hour("2026-12-01", "23:30"),
        half_hour("2026-12-02", "00:00"),  # Wednesday from its first minute
        half_hour("2026-12-02", "00:30"),  # Wednesday in Paris, Tuesday in UTC
    ]

    tuesday_only = on_tuesday(booked=booked)

    assert tuesday_only.booked_minutes(TUESDAY) == 90


def test_a_day_the_finder_was_not_given_has_no_capacity_and_nothing_booked() -> None:
    tuesday_only = on_tuesday(
        booked=[Booked(STANDARD.id, at("2026-12-02", "10:00"), at("2026-12-02", "10:30"))],
        outages=[Booked(STANDARD.id, at("2026-12-02", "09:00"), at("2026-12-02", "12:00"))],
    )

    assert tuesday_only.online_capacity(date(2026, 12, 2)) == 0
    assert tuesday_only.booked_minutes(date(2026, 12, 2)) == 0


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


def test_between_two_equally_close_slots_nearest_takes_the_earlier() -> None:
    slots = finder(date(2026, 12, 1), date(2026, 12, 1)).slots()

    # 12:15 is a quarter of an hour from 12:00 and from 12:30, 45 minutes from 11:30
    # and from 13:00; the slots given in any order.
    chosen = nearest(list(reversed(slots)), at("2026-12-01", "12:15"))
    two = nearest(slots, at("2026-12-01", "12:15"), count=2)

    assert [slot.start for slot in chosen] == [
        at("2026-12-01", "11:30"),
        at("2026-12-01", "12:00"),
        at("2026-12-01", "12:30"),
    ]
    assert [slot.start for slot in two] == [at("2026-12-01", "12:00"), at("2026-12-01", "12:30")]


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
    first_half_past_two = datetime(2027, 10, 31, 0, 30, tzinfo=UTC)  # 02:30 summer time
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


# Every edge of the rules, at it, a minute inside and a minute outside; answers counted
# by hand on Tuesday 1 December 2026, open 08:30-17:00, 30-minute slots.

TUESDAY = date(2026, 12, 1)


def tuesday(hhmm: str) -> datetime:
    return at("2026-12-01", hhmm)


def on_tuesday(**options: Any) -> SlotFinder:
    return finder(TUESDAY, TUESDAY, **options)


@pytest.mark.parametrize(
    ("now", "first_offered", "ten_o_clock"),
    [
        ("08:00", "10:00", "offered"),  # notice ends exactly at 10:00
        ("08:01", "10:30", Refusal.TOO_SOON),  # a minute short
        ("07:59", "10:00", "offered"),  # a minute to spare (09:30 still too soon)
    ],
    ids=["at-the-notice", "a-minute-short", "a-minute-beyond"],
)
def test_the_booking_notice_holds_a_slot_starting_exactly_when_it_ends(
    now: str, first_offered: str, ten_o_clock: object
) -> None:
    two_hours = on_tuesday(now=tuesday(now), policy=Policy(timedelta(hours=2), walk_in_share=0))

    outcome = two_hours.check(tuesday("10:00"))

    assert two_hours.slots()[0].start == tuesday(first_offered)
    if ten_o_clock == "offered":
        assert outcome == Slot(tuesday("10:00"), tuesday("10:30"), (1, 2, 3))
    else:
        assert outcome is ten_o_clock


@pytest.mark.parametrize(
    ("now", "last_offered", "half_past_four"),
    [
        ("16:30", "16:30", "offered"),  # the horizon ends exactly at 16:30 the next day
        ("16:29", "16:00", Refusal.TOO_LATE),
        ("16:31", "16:30", "offered"),
    ],
    ids=["at-the-horizon", "a-minute-beyond", "a-minute-short"],
)
def test_the_horizon_holds_a_slot_starting_exactly_when_it_ends(
    now: str, last_offered: str, half_past_four: object
) -> None:
    a_day_ahead = on_tuesday(
        now=at("2026-11-30", now), policy=Policy(horizon=timedelta(days=1), walk_in_share=0)
    )

    outcome = a_day_ahead.check(tuesday("16:30"))

    assert a_day_ahead.slots()[-1].start == tuesday(last_offered)
    if half_past_four == "offered":
        assert outcome == Slot(tuesday("16:30"), tuesday("17:00"), (1, 2, 3))
    else:
        assert outcome is half_past_four


@pytest.mark.parametrize(
    ("starts", "ends", "free"),
    [
        ("09:30", "10:00", True),  # ends exactly at the slot's start
        ("09:31", "10:01", False),  # ends a minute into it
        ("10:30", "11:00", True),  # starts exactly at the slot's end
        ("10:29", "11:00", False),  # starts a minute before its end
        ("10:00", "10:30", False),
        ("09:00", "12:00", False),
    ],
)
def test_an_appointment_blocks_a_slot_only_if_they_share_a_minute(
    starts: str, ends: str, free: bool
) -> None:
    booked = [Booked(STANDARD.id, tuesday(starts), tuesday(ends))]

    one_station = on_tuesday(stations=[STANDARD], booked=booked)
    offered = [slot.start for slot in one_station.slots()]

    if free:
        assert one_station.check(tuesday("10:00")) == Slot(
            tuesday("10:00"), tuesday("10:30"), (STANDARD.id,)
        )
        assert tuesday("10:00") in offered
    else:
        assert one_station.check(tuesday("10:00")) is Refusal.TAKEN
        assert tuesday("10:00") not in offered


def test_an_outage_blocks_a_slot_only_if_they_share_a_minute() -> None:
    def outage(starts: str, ends: str) -> SlotFinder:
        out = [Booked(STANDARD.id, tuesday(starts), tuesday(ends))]
        return on_tuesday(stations=[STANDARD], outages=out)

    assert isinstance(outage("09:30", "10:00").check(tuesday("10:00")), Slot)
    assert isinstance(outage("10:30", "11:00").check(tuesday("10:00")), Slot)
    assert outage("09:30", "10:01").check(tuesday("10:00")) is Refusal.TAKEN
    assert outage("10:29", "11:00").check(tuesday("10:00")) is Refusal.TAKEN


@pytest.mark.parametrize(
    ("booked_until", "room", "offered"),
    [("13:57", 30, 6), ("13:58", 29, 0), ("13:56", 31, 6)],
    ids=["room-is-the-length", "a-minute-short", "a-minute-to-spare"],
)
def test_the_walk_in_share_at_exactly_its_limit_still_lets_the_last_slot_go(
    booked_until: str, room: int, offered: int
) -> None:
    # One station, 510 open minutes, 30 % kept: 357 minutes online; the morning's booking
    # takes 327 minutes (to 13:57), 328 or 326.
    booked = [Booked(STANDARD.id, tuesday("08:30"), tuesday(booked_until))]

    day = on_tuesday(stations=[STANDARD], booked=booked, policy=Policy(walk_in_share=0.30))

    assert day.online_capacity(TUESDAY) - day.booked_minutes(TUESDAY) == room
    assert len(day.slots()) == offered
    if offered:
        assert day.slots()[0].start == tuesday("14:00")
        assert day.check(tuesday("16:30")) == Slot(
            tuesday("16:30"), tuesday("17:00"), (STANDARD.id,)
        )
    else:
        assert day.check(tuesday("16:30")) is Refusal.WALK_IN_SHARE


def test_a_slot_ending_exactly_at_closing_is_offered_and_one_a_minute_longer_is_not() -> None:
    thirty = on_tuesday(need=Requirement(grid_minutes=30, length_minutes=30))
    thirty_one = on_tuesday(need=Requirement(grid_minutes=30, length_minutes=31))

    assert thirty.slots()[-1].start == tuesday("16:30")
    assert thirty.slots()[-1].end == tuesday("17:00")
    assert thirty_one.slots()[-1].start == tuesday("16:00")
    assert thirty_one.slots()[-1].end == tuesday("16:31")
    assert thirty_one.check(tuesday("16:30")) is Refusal.OFF_GRID


@pytest.mark.parametrize(
    ("closed_from", "closed_until", "starts", "refused"),
    [
        # Closed 09:00-10:00: 08:30 ends as it starts, the grid starts again at 10:00.
        ("09:00", "10:00", ["08:30", "10:00", "10:30"], {"09:30": Refusal.CLOSED}),
        # Until 10:01: the grid starts again at 10:01.
        (
            "09:00",
            "10:01",
            ["08:30", "10:01", "10:31"],
            {"10:00": Refusal.CLOSED, "10:30": Refusal.OFF_GRID},
        ),
        # From 10:30, as the 10:00 slot ends: it stays; from 10:29 it no longer fits.
        ("10:30", "11:00", ["09:30", "10:00", "11:00"], {"10:30": Refusal.CLOSED}),
        ("10:29", "11:00", ["09:30", "11:00"], {"10:00": Refusal.OFF_GRID}),
        # Closed from before opening to 08:31: the day's first slot is 08:31.
        ("08:00", "08:31", ["08:31", "09:01"], {"08:30": Refusal.CLOSED}),
        # Open again 16:50-17:00, too short for a slot: off the grid there, not closed.
        (
            "09:00",
            "16:50",
            ["08:30"],
            {"16:49": Refusal.CLOSED, "16:50": Refusal.OFF_GRID, "16:59": Refusal.OFF_GRID},
        ),
    ],
)
def test_a_closure_touching_a_slots_edge_leaves_it_and_one_a_minute_over_takes_it(
    closed_from: str, closed_until: str, starts: list[str], refused: dict[str, Refusal]
) -> None:
    closure = ClosedPeriod(tuesday(closed_from), tuesday(closed_until), "Travaux")

    day = on_tuesday(closures=[closure], stations=[STANDARD])
    offered = [slot.start for slot in day.slots()]

    for start in starts:
        assert start in [local_hhmm(instant) for instant in offered]
        assert day.check(tuesday(start)) == Slot(
            tuesday(start), tuesday(start) + timedelta(minutes=30), (STANDARD.id,)
        )
    for start, refusal in refused.items():
        assert day.check(tuesday(start)) is refusal
        assert tuesday(start) not in offered


def local_hhmm(instant: datetime) -> str:
    return instant.astimezone(PARIS).strftime("%H:%M")
