"""The queue order against a reference written from its documentation alone: a plain sort
by the documented keys, with no code shared with `app.queue.ordering` but its data types."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from app.queue.ordering import Caller, Waiting, next_ticket, queue_order

NOW = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)
THRESHOLD = timedelta(minutes=30)
STATIONS = [
    Caller(kind, accessible) for kind in ("standard", "double") for accessible in (False, True)
]


def serves(station: Caller, ticket: Waiting) -> bool:
    """A double ticket needs a double station, a wheelchair an accessible one."""
    if ticket.kind == "double" and station.kind != "double":
        return False
    return not ticket.accessible or station.accessible


def gear(station: Caller) -> frozenset[str]:
    has = {"double screen": station.kind == "double", "accessible": station.accessible}
    return frozenset(name for name, present in has.items() if present)


def only_like_it(station: Caller, ticket: Waiting, open_stations: Sequence[Caller]) -> bool:
    """No open station with strictly less gear than `station` can take `ticket`."""
    return not any(gear(other) < gear(station) and serves(other, ticket) for other in open_stations)


def due(ticket: Waiting) -> bool:
    return ticket.due_at is not None and ticket.due_at <= NOW


def early(ticket: Waiting) -> bool:
    return ticket.due_at is not None and ticket.due_at > NOW


def urgent(ticket: Waiting) -> bool:
    return ticket.priority or NOW - ticket.arrived_at > THRESHOLD


def by_booking(tickets: list[Waiting]) -> list[Waiting]:
    return sorted(tickets, key=lambda t: (t.due_at, t.id))


def by_arrival(tickets: list[Waiting]) -> list[Waiting]:
    return sorted(tickets, key=lambda t: (t.arrived_at, t.id))


def walk_ins(tickets: list[Waiting]) -> list[Waiting]:
    """Priority and starved walk-ins by arrival, then the others by arrival."""
    waiting = [t for t in tickets if t.due_at is None]
    return by_arrival([t for t in waiting if urgent(t)]) + by_arrival(
        [t for t in waiting if not urgent(t)]
    )


def plain_reference(tickets: list[Waiting]) -> list[Waiting]:
    return (
        by_booking([t for t in tickets if due(t)])
        + walk_ins(tickets)
        + by_booking([t for t in tickets if early(t)])
    )


def station_reference(
    tickets: list[Waiting], station: Caller, open_stations: Sequence[Caller]
) -> list[Waiting]:
    mine = [t for t in tickets if serves(station, t)]
    reserved = [t for t in mine if only_like_it(station, t, open_stations)]
    others = [t for t in mine if not only_like_it(station, t, open_stations)]
    return (
        by_booking([t for t in mine if due(t)])
        + walk_ins(reserved)
        + walk_ins(others)
        + by_booking([t for t in reserved if early(t)])
        + by_booking([t for t in others if early(t)])
    )


# Offsets in seconds before NOW: whole minutes often tie; the threshold's edges come often.
seconds_ago = st.one_of(
    st.integers(0, 90).map(lambda minutes: 60 * minutes), st.sampled_from([1799, 1800, 1801])
)
due_in = st.one_of(
    st.none(), st.integers(-60, 60).map(lambda minutes: 60 * minutes), st.sampled_from([-1, 0, 1])
)
ticket_fields = st.tuples(
    seconds_ago, due_in, st.booleans(), st.sampled_from(["standard", "double"]), st.booleans()
)


@st.composite
def queues(draw: st.DrawFn) -> list[Waiting]:
    fields = draw(st.lists(ticket_fields, max_size=14))
    ids = draw(st.permutations(range(1, len(fields) + 1)))
    return [
        Waiting(
            id=ticket_id,
            arrived_at=NOW - timedelta(seconds=ago),
            due_at=None if due_at is None else NOW + timedelta(seconds=due_at),
            priority=priority,
            kind=kind,
            accessible=accessible,
        )
        for ticket_id, (ago, due_at, priority, kind, accessible) in zip(ids, fields, strict=True)
    ]


@settings(max_examples=200, deadline=None)
@given(
    tickets=queues(),
    station=st.sampled_from(STATIONS),
    open_stations=st.lists(st.sampled_from(STATIONS), max_size=4),
)
def test_a_station_calls_its_tickets_in_the_documented_order(
    tickets: list[Waiting], station: Caller, open_stations: list[Caller]
) -> None:
    """Called one after the other, the tickets come out in the reference order."""
    expected = station_reference(tickets, station, open_stations)

    left, called = list(tickets), []
    while (chosen := next_ticket(left, station, NOW, THRESHOLD, open_stations)) is not None:
        called.append(chosen)
        left.remove(chosen)

    assert [t.id for t in called] == [t.id for t in expected]


@settings(max_examples=200, deadline=None)
@given(tickets=queues())
def test_the_plain_order_is_the_documented_sort(tickets: list[Waiting]) -> None:
    assert [t.id for t in queue_order(tickets, NOW, THRESHOLD)] == [
        t.id for t in plain_reference(tickets)
    ]


def test_the_reference_itself_reads_as_the_documentation() -> None:
    """A hand-checked example, so that the reference cannot drift unnoticed."""
    minute = timedelta(minutes=1)
    due_later = Waiting(1, NOW - 2 * minute, due_at=NOW)
    due_first = Waiting(2, NOW - minute, due_at=NOW - 10 * minute)
    double_walk_in = Waiting(3, NOW - 5 * minute, kind="double")
    starved = Waiting(4, NOW - THRESHOLD - timedelta(seconds=1))
    at_threshold = Waiting(5, NOW - THRESHOLD)
    priority = Waiting(6, NOW - minute, priority=True)
    early_double = Waiting(7, NOW - minute, due_at=NOW + minute, kind="double")
    early_plain = Waiting(8, NOW - minute, due_at=NOW + timedelta(seconds=1))
    everyone = [early_plain, early_double, priority, at_threshold, starved, double_walk_in]
    everyone += [due_first, due_later]
    double = Caller("double", False)

    assert [t.id for t in plain_reference(everyone)] == [2, 1, 4, 6, 5, 3, 8, 7]
    assert [t.id for t in station_reference(everyone, double, [Caller("standard", False)])] == [
        2,
        1,
        3,
        4,
        6,
        5,
        7,
        8,
    ]
