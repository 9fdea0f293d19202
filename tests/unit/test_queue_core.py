"""The queue's pure core: numbers, the calling order, waiting estimates."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.queue.eta import average_minutes, waiting_range
from app.queue.numbering import letter, spoken, ticket_day, ticket_number
from app.queue.ordering import Caller, Waiting, ahead_of, can_serve, next_ticket, queue_order

PARIS = ZoneInfo("Europe/Paris")
NOON = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)
THRESHOLD = timedelta(minutes=30)
STANDARD = Caller("standard", accessible=False)
DOUBLE = Caller("double", accessible=True)


def minutes_ago(n: int) -> datetime:
    return NOON - timedelta(minutes=n)


# Numbers


def test_numbers_are_a_letter_and_three_digits() -> None:
    assert ticket_number("A", 1) == "A001"
    assert ticket_number("B", 42) == "B042"
    assert ticket_number("R", 999) == "R999"
    assert ticket_number("A", 1000) == "A1000"
    with pytest.raises(ValueError, match="start at 1"):
        ticket_number("A", 0)


def test_the_group_letter_tells_appointments_and_double_stations_apart_but_not_priority() -> None:
    assert letter(appointment=False, double=False) == "A"
    assert letter(appointment=False, double=True) == "B"
    assert letter(appointment=True, double=True) == "R"


def test_the_ticket_day_turns_at_local_midnight_whatever_the_offset() -> None:
    winter_before = datetime(2026, 12, 1, 22, 59, tzinfo=UTC)
    winter_after = datetime(2026, 12, 1, 23, 1, tzinfo=UTC)
    summer_before = datetime(2027, 6, 1, 21, 59, tzinfo=UTC)
    summer_after = datetime(2027, 6, 1, 22, 1, tzinfo=UTC)
    spring_change = datetime(2027, 3, 28, 1, 30, tzinfo=UTC)  # 03:30 after the jump
    autumn_repeat = datetime(2027, 10, 31, 0, 30, tzinfo=UTC)  # 02:30, first time

    assert ticket_day(winter_before, PARIS) == date(2026, 12, 1)
    assert ticket_day(winter_after, PARIS) == date(2026, 12, 2)
    assert ticket_day(summer_before, PARIS) == date(2027, 6, 1)
    assert ticket_day(summer_after, PARIS) == date(2027, 6, 2)
    assert ticket_day(spring_change, PARIS) == date(2027, 3, 28)
    assert ticket_day(autumn_repeat, PARIS) == date(2027, 10, 31)
    assert ticket_day(autumn_repeat + timedelta(hours=1), PARIS) == date(2027, 10, 31)


def test_the_screen_reads_numbers_without_their_zeros() -> None:
    assert spoken("A042") == "A 42"
    assert spoken("R100") == "R 100"


# Order


def test_due_appointments_then_priority_then_arrival_then_early_appointments() -> None:
    early_appointment = Waiting(1, minutes_ago(20), due_at=NOON + timedelta(minutes=10))
    first_walk_in = Waiting(2, minutes_ago(25))
    priority = Waiting(3, minutes_ago(5), priority=True)
    due_later = Waiting(4, minutes_ago(2), due_at=NOON)
    due_first = Waiting(5, minutes_ago(1), due_at=minutes_ago(10))
    second_walk_in = Waiting(6, minutes_ago(15))

    order = queue_order(
        [early_appointment, first_walk_in, priority, due_later, due_first, second_walk_in],
        NOON,
        THRESHOLD,
    )

    assert [t.id for t in order] == [5, 4, 3, 2, 6, 1]


def test_a_walk_in_waiting_past_the_threshold_counts_as_priority() -> None:
    old = Waiting(1, minutes_ago(31))
    priority = Waiting(2, minutes_ago(3), priority=True)
    young = Waiting(3, minutes_ago(29))

    assert [t.id for t in queue_order([young, priority, old], NOON, THRESHOLD)] == [1, 2, 3]


def test_an_early_appointment_is_called_only_when_nobody_else_can_be() -> None:
    early = Waiting(1, minutes_ago(10), due_at=NOON + timedelta(minutes=20))
    walk_in = Waiting(2, minutes_ago(1))

    assert next_ticket([early, walk_in], STANDARD, NOON, THRESHOLD) == walk_in
    assert next_ticket([early], STANDARD, NOON, THRESHOLD) == early


def test_a_station_is_only_given_tickets_it_can_serve() -> None:
    double_needed = Waiting(1, minutes_ago(40), kind="double")
    wheelchair = Waiting(2, minutes_ago(35), accessible=True)
    plain = Waiting(3, minutes_ago(1))

    assert next_ticket([double_needed, wheelchair, plain], STANDARD, NOON, THRESHOLD) == plain
    assert next_ticket([double_needed, wheelchair, plain], DOUBLE, NOON, THRESHOLD) == double_needed
    assert next_ticket([double_needed, wheelchair], STANDARD, NOON, THRESHOLD) is None
    assert not can_serve(STANDARD, double_needed)
    assert can_serve(DOUBLE, plain)


def test_ties_fall_to_the_ticket_id() -> None:
    same_time = [Waiting(i, minutes_ago(5)) for i in (7, 3, 5)]

    assert [t.id for t in queue_order(same_time, NOON, THRESHOLD)] == [3, 5, 7]


def test_people_ahead_of_a_double_ticket_are_only_double_ones() -> None:
    plain = Waiting(1, minutes_ago(20))
    double_first = Waiting(2, minutes_ago(15), kind="double")
    double_me = Waiting(3, minutes_ago(10), kind="double")
    plain_me = Waiting(4, minutes_ago(5))
    everyone = [plain, double_first, double_me, plain_me]

    assert ahead_of(double_me, everyone, NOON, THRESHOLD) == 1
    assert ahead_of(plain_me, everyone, NOON, THRESHOLD) == 3


# Estimates


def test_the_average_uses_recent_durations_or_the_default() -> None:
    assert average_minutes([], default=30) == 30
    assert average_minutes([10, 20, 30], default=99) == 20
    assert average_minutes([10] * 20 + [1000], default=99) == 10


def test_the_estimate_is_a_range_that_grows_with_the_queue_and_shrinks_with_stations() -> None:
    assert waiting_range(0, 2, 20) == (0, 25)
    assert waiting_range(4, 2, 20) == (32, 75)
    assert waiting_range(4, 4, 20) == (16, 50)
    assert waiting_range(3, 0, 20) is None
    low, high = waiting_range(10, 3, 15) or (0, 0)
    assert low < high


# Properties, over random days at a mairie


arrivals = st.lists(
    st.tuples(
        st.integers(0, 240),  # minute of arrival after opening
        st.sampled_from(["walk_in", "walk_in", "walk_in", "priority", "appointment"]),
        st.sampled_from(["standard", "standard", "standard", "double"]),
        st.booleans(),  # needs an accessible station
        st.integers(-30, 30),  # appointment: booked minutes after arrival
    ),
    min_size=1,
    max_size=40,
)
station_sets = st.lists(
    st.tuples(st.sampled_from(["standard", "double"]), st.booleans()), min_size=1, max_size=5
)


def tickets_of(day: list[tuple[int, str, str, bool, int]], opening: datetime) -> list[Waiting]:
    tickets = []
    for number, (minute, kind, station_kind, accessible, offset) in enumerate(day, start=1):
        arrived = opening + timedelta(minutes=minute)
        tickets.append(
            Waiting(
                id=number,
                arrived_at=arrived,
                due_at=arrived + timedelta(minutes=offset) if kind == "appointment" else None,
                priority=kind == "priority",
                kind=station_kind,
                accessible=accessible,
            )
        )
    return tickets


def simulate(
    tickets: list[Waiting], stations: list[Caller], opening: datetime, service_minutes: int
) -> list[tuple[datetime, int, Waiting, list[Waiting]]]:
    """Stations call whenever free until nobody they can serve is left; returns each call
    with the tickets that were waiting at that moment."""
    free_at = [opening] * len(stations)
    pending = sorted(tickets, key=lambda t: t.arrived_at)
    calls = []
    for _ in range(4 * (len(tickets) + 5) * len(stations)):
        station_index = min(range(len(stations)), key=lambda i: free_at[i])
        now = free_at[station_index]
        waiting = [t for t in pending if t.arrived_at <= now]
        if not pending:
            break
        chosen = next_ticket(waiting, stations[station_index], now, THRESHOLD)
        if chosen is None:
            later = [t.arrived_at for t in pending if t.arrived_at > now]
            servable_later = [t for t in pending if can_serve(stations[station_index], t)]
            if not servable_later:
                free_at[station_index] = datetime.max.replace(tzinfo=UTC)
                if all(f == datetime.max.replace(tzinfo=UTC) for f in free_at):
                    break
                continue
            free_at[station_index] = min(later) if later else now + timedelta(minutes=1)
            continue
        calls.append((now, station_index, chosen, waiting))
        pending.remove(chosen)
        free_at[station_index] = now + timedelta(minutes=service_minutes)
    return calls


@settings(max_examples=300, deadline=None)
@given(day=arrivals, stations=station_sets, service_minutes=st.integers(5, 40))
def test_every_servable_ticket_is_called_once_by_a_station_that_can_serve_it(
    day: list[tuple[int, str, str, bool, int]],
    stations: list[tuple[str, bool]],
    service_minutes: int,
) -> None:
    opening = datetime(2026, 12, 1, 7, 30, tzinfo=UTC)
    tickets = tickets_of(day, opening)
    callers = [Caller(kind, accessible) for kind, accessible in stations]

    calls = simulate(tickets, callers, opening, service_minutes)

    called = [ticket.id for _, _, ticket, _ in calls]
    assert len(called) == len(set(called))
    for _, station_index, ticket, _ in calls:
        assert can_serve(callers[station_index], ticket)
    servable = {t.id for t in tickets if any(can_serve(c, t) for c in callers)}
    assert set(called) == servable


@settings(max_examples=300, deadline=None)
@given(day=arrivals, stations=station_sets, service_minutes=st.integers(5, 40))
def test_once_past_the_threshold_a_walk_in_is_passed_by_no_later_walk_in(
    day: list[tuple[int, str, str, bool, int]],
    stations: list[tuple[str, bool]],
    service_minutes: int,
) -> None:
    opening = datetime(2026, 12, 1, 7, 30, tzinfo=UTC)
    callers = [Caller(kind, accessible) for kind, accessible in stations]

    for now, station_index, chosen, waiting in simulate(
        tickets_of(day, opening), callers, opening, service_minutes
    ):
        if chosen.due_at is not None:
            continue
        for other in waiting:
            overdue = other.due_at is None and now - other.arrived_at > THRESHOLD
            if overdue and can_serve(callers[station_index], other):
                assert chosen.arrived_at <= other.arrived_at


@settings(max_examples=200, deadline=None)
@given(day=arrivals, seed=st.integers(0, 10_000), minute=st.integers(0, 300))
def test_the_order_does_not_depend_on_how_the_tickets_are_listed(
    day: list[tuple[int, str, str, bool, int]], seed: int, minute: int
) -> None:
    opening = datetime(2026, 12, 1, 7, 30, tzinfo=UTC)
    tickets = tickets_of(day, opening)
    shuffled = tickets[:]
    random.Random(seed).shuffle(shuffled)
    now = opening + timedelta(minutes=minute)

    assert queue_order(tickets, now, THRESHOLD) == queue_order(shuffled, now, THRESHOLD)
    for station in (STANDARD, DOUBLE, Caller("standard", True)):
        assert next_ticket(tickets, station, now, THRESHOLD) == next_ticket(
            shuffled, station, now, THRESHOLD
        )
