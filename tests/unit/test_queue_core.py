"""The queue's pure core: the calling order, who is called when, waiting estimates."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from app.queue.eta import (
    Forecast,
    OpenStation,
    ServiceTimes,
    average_minutes,
    forecast,
    service_times,
    staffed,
    waiting_range,
)
from app.queue.ordering import (
    Caller,
    Desk,
    Waiting,
    ahead_of,
    calling_plan,
    can_serve,
    next_ticket,
    order_key,
    positions,
    queue_order,
    reserved_for,
)

NOON = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)
THRESHOLD = timedelta(minutes=30)
STANDARD = Caller("standard", accessible=False)
DOUBLE = Caller("double", accessible=True)
PARIS_15 = [Caller("standard", True)] + [STANDARD] * 3 + [DOUBLE] * 2


def planned_places(
    tickets: list[Waiting], desks: list[Desk], now: datetime, threshold: timedelta, *timing: Any
) -> dict[int, int]:
    """The places of `tickets` in the plan the desks would follow (`timing`: the durations
    `calling_plan` takes)."""
    return positions(tickets, calling_plan(tickets, desks, now, threshold, *timing), now, threshold)


def minutes_ago(n: int) -> datetime:
    return NOON - timedelta(minutes=n)


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


def test_a_walk_in_at_exactly_the_threshold_is_not_promoted() -> None:
    at_threshold = Waiting(1, NOON - THRESHOLD)
    priority = Waiting(2, minutes_ago(10), priority=True)

    assert [t.id for t in queue_order([at_threshold, priority], NOON, THRESHOLD)] == [2, 1]
    assert next_ticket([at_threshold, priority], STANDARD, NOON, THRESHOLD) == priority


def test_a_walk_in_one_second_past_the_threshold_is_promoted() -> None:
    past = Waiting(1, NOON - THRESHOLD - timedelta(seconds=1))
    priority = Waiting(2, minutes_ago(10), priority=True)

    assert [t.id for t in queue_order([past, priority], NOON, THRESHOLD)] == [1, 2]
    assert next_ticket([past, priority], STANDARD, NOON, THRESHOLD) == past


def test_an_appointment_due_exactly_now_is_due_and_one_second_later_is_early() -> None:
    walk_in = Waiting(1, minutes_ago(20), priority=True)
    due_now = Waiting(2, minutes_ago(1), due_at=NOON)
    due_in_a_second = Waiting(3, minutes_ago(1), due_at=NOON + timedelta(seconds=1))

    assert [t.id for t in queue_order([walk_in, due_now], NOON, THRESHOLD)] == [2, 1]
    assert [t.id for t in queue_order([walk_in, due_in_a_second], NOON, THRESHOLD)] == [1, 3]
    assert next_ticket([walk_in, due_now], STANDARD, NOON, THRESHOLD) == due_now
    assert next_ticket([walk_in, due_in_a_second], STANDARD, NOON, THRESHOLD) == walk_in


def test_the_threshold_is_the_one_given() -> None:
    twenty_minutes = Waiting(1, minutes_ago(20))
    priority = Waiting(2, minutes_ago(5), priority=True)
    shorter = timedelta(minutes=15)

    assert [t.id for t in queue_order([twenty_minutes, priority], NOON, shorter)] == [1, 2]
    assert [t.id for t in queue_order([twenty_minutes, priority], NOON, THRESHOLD)] == [2, 1]


def test_a_station_serves_by_kind_and_accessibility() -> None:
    standard = Waiting(1, NOON)
    double = Waiting(2, NOON, kind="double")
    wheelchair = Waiting(3, NOON, accessible=True)
    double_wheelchair = Waiting(4, NOON, kind="double", accessible=True)
    table = {
        STANDARD: [True, False, False, False],
        Caller("standard", accessible=True): [True, False, True, False],
        Caller("double", accessible=False): [True, True, False, False],
        DOUBLE: [True, True, True, True],
    }

    for station, expected in table.items():
        tickets = [standard, double, wheelchair, double_wheelchair]
        assert [can_serve(station, t) for t in tickets] == expected, station


def test_a_ticket_is_reserved_for_the_least_equipped_open_stations_that_can_serve_it() -> None:
    plain = Waiting(1, NOON)
    double = Waiting(2, NOON, kind="double")
    wheelchair = Waiting(3, NOON, accessible=True)
    plain_double = Caller("double", accessible=False)
    accessible_standard = Caller("standard", accessible=True)
    everything = [STANDARD, accessible_standard, plain_double, DOUBLE]

    assert reserved_for(STANDARD, plain, everything)
    assert not reserved_for(accessible_standard, plain, everything)
    assert not reserved_for(DOUBLE, plain, everything)
    assert reserved_for(plain_double, double, everything)
    assert not reserved_for(DOUBLE, double, everything)
    assert reserved_for(DOUBLE, double, [STANDARD, accessible_standard, DOUBLE])
    assert reserved_for(accessible_standard, wheelchair, everything)
    assert not reserved_for(DOUBLE, wheelchair, everything)
    # Each has something the other lacks: neither is less equipped, the plain ticket is
    # reserved for both.
    assert reserved_for(plain_double, plain, [accessible_standard, plain_double])
    assert reserved_for(accessible_standard, plain, [accessible_standard, plain_double])
    assert not reserved_for(STANDARD, double, everything)
    assert reserved_for(DOUBLE, plain, [DOUBLE, DOUBLE])
    assert reserved_for(DOUBLE, plain, [])


def test_a_double_ticket_a_plain_double_station_can_take_is_not_kept_for_the_accessible_one() -> (
    None
):
    """The accessible double station keeps for itself only what no other can take."""
    plain = Waiting(1, minutes_ago(20))
    double = Waiting(2, minutes_ago(10), kind="double")
    plain_double = Caller("double", accessible=False)
    open_stations = [STANDARD, plain_double, DOUBLE]

    assert next_ticket([plain, double], DOUBLE, NOON, THRESHOLD, open_stations) == plain
    assert next_ticket([plain, double], plain_double, NOON, THRESHOLD, open_stations) == double


def test_early_appointments_come_reserved_first_then_in_booked_order() -> None:
    early_plain = Waiting(1, minutes_ago(10), due_at=NOON + timedelta(minutes=5))
    early_double = Waiting(2, minutes_ago(10), due_at=NOON + timedelta(minutes=20), kind="double")
    early_plain_later = Waiting(3, minutes_ago(10), due_at=NOON + timedelta(minutes=30))
    everyone = [early_plain_later, early_plain, early_double]

    assert next_ticket(everyone, DOUBLE, NOON, THRESHOLD, PARIS_15) == early_double
    assert next_ticket(everyone, DOUBLE, NOON, THRESHOLD) == early_plain
    assert next_ticket(everyone, STANDARD, NOON, THRESHOLD, PARIS_15) == early_plain


def test_among_due_appointments_the_booked_time_counts_not_the_group() -> None:
    due_plain = Waiting(1, minutes_ago(3), due_at=minutes_ago(10))
    due_double = Waiting(2, minutes_ago(20), due_at=minutes_ago(5), kind="double")

    assert next_ticket([due_double, due_plain], DOUBLE, NOON, THRESHOLD, PARIS_15) == due_plain


def test_a_double_station_calls_the_tickets_only_it_can_serve_before_a_standard_walk_in() -> None:
    plain = Waiting(1, minutes_ago(20))
    double_first = Waiting(2, minutes_ago(15), kind="double")
    double_second = Waiting(3, minutes_ago(10), kind="double")
    waiting = [plain, double_first, double_second]

    assert next_ticket(waiting, DOUBLE, NOON, THRESHOLD, PARIS_15) == double_first
    assert next_ticket([plain, double_second], DOUBLE, NOON, THRESHOLD, PARIS_15) == double_second
    assert next_ticket([plain], DOUBLE, NOON, THRESHOLD, PARIS_15) == plain
    assert next_ticket(waiting, STANDARD, NOON, THRESHOLD, PARIS_15) == plain


def test_an_accessible_station_calls_first_those_who_need_it() -> None:
    plain = Waiting(1, minutes_ago(20))
    wheelchair = Waiting(2, minutes_ago(5), accessible=True)
    accessible_standard = Caller("standard", accessible=True)

    assert reserved_for(accessible_standard, wheelchair, PARIS_15)
    assert not reserved_for(accessible_standard, plain, PARIS_15)
    assert next_ticket([plain, wheelchair], accessible_standard, NOON, THRESHOLD, PARIS_15) == (
        wheelchair
    )


def test_due_appointments_still_come_first_at_a_double_station() -> None:
    double = Waiting(1, minutes_ago(20), kind="double")
    booked = Waiting(2, minutes_ago(15), due_at=minutes_ago(1))

    assert next_ticket([double, booked], DOUBLE, NOON, THRESHOLD, PARIS_15) == booked


def test_with_no_standard_station_open_the_double_one_keeps_the_plain_order() -> None:
    """Nobody starves: a standard ticket is reserved for the double station when no
    standard station is open to take it."""
    plain = Waiting(1, minutes_ago(20))
    double = Waiting(2, minutes_ago(10), kind="double")

    assert next_ticket([plain, double], DOUBLE, NOON, THRESHOLD, [DOUBLE, DOUBLE]) == plain
    assert next_ticket([plain, double], DOUBLE, NOON, THRESHOLD) == plain


def test_a_ticket_counts_everybody_called_before_it_whatever_their_kind() -> None:
    walk_ins = [Waiting(n, minutes_ago(30 - n)) for n in range(1, 9)]
    double_me = Waiting(9, minutes_ago(5), kind="double")
    late_plain = Waiting(10, minutes_ago(4))
    desks = [Desk(caller, NOON) for caller in PARIS_15]
    everyone = [*walk_ins, double_me, late_plain]

    places = planned_places(everyone, desks, NOON, THRESHOLD)

    # The six stations call at once: Postes 1 to 4 and 6 the first five walk-ins, Poste 5
    # the double ticket. Five people are called before it (at the same instant, in the
    # plain order), not none; then the others, whom the stations free next will call.
    assert places[double_me.id] == 6
    assert [places[t.id] for t in walk_ins] == [1, 2, 3, 4, 5, 7, 8, 9]
    assert places[late_plain.id] == 10
    assert ahead_of(double_me, everyone, NOON, THRESHOLD, desks) == 5


def test_a_double_ticket_waits_for_the_double_station_to_be_free() -> None:
    walk_ins = [Waiting(n, minutes_ago(30 - n)) for n in range(1, 6)]
    double_me = Waiting(9, minutes_ago(5), kind="double")
    desks = [Desk(STANDARD, NOON), Desk(DOUBLE, NOON + timedelta(minutes=25))]
    ten = {t.id: timedelta(minutes=10) for t in walk_ins}

    plan = calling_plan([*walk_ins, double_me], desks, NOON, THRESHOLD, ten)

    assert [(call.ticket.id, call.desk) for call in plan] == [
        (1, 0),
        (2, 0),
        (3, 0),
        (9, 1),
        (4, 1),  # the double station, free again at 26 minutes (a minute by default)
        (5, 0),
    ]
    assert plan[3].at == NOON + timedelta(minutes=25)


def test_each_desk_calls_its_own_order_and_is_busy_for_each_tickets_duration() -> None:
    first = Waiting(1, minutes_ago(20))
    double = Waiting(2, minutes_ago(15), kind="double")
    third = Waiting(3, minutes_ago(10))
    fourth = Waiting(4, minutes_ago(5))
    # The standard desk was free before now: it calls from now on.
    desks = [Desk(STANDARD, minutes_ago(10)), Desk(DOUBLE, NOON + timedelta(minutes=5))]
    took = {1: timedelta(minutes=12), 2: timedelta(minutes=20), 3: timedelta(minutes=7)}

    plan = calling_plan(
        [fourth, third, double, first], desks, NOON, THRESHOLD, took, timedelta(minutes=3)
    )

    assert [(call.ticket.id, call.desk, call.at - NOON) for call in plan] == [
        (1, 0, timedelta(0)),
        (2, 1, timedelta(minutes=5)),
        (3, 0, timedelta(minutes=12)),
        (4, 0, timedelta(minutes=19)),  # the double desk is busy until 25 minutes
    ]


def test_without_durations_each_call_takes_a_minute() -> None:
    tickets = [Waiting(n, minutes_ago(10 - n)) for n in (1, 2, 3)]

    plan = calling_plan(tickets, [Desk(STANDARD, NOON)], NOON, THRESHOLD)

    assert [call.at - NOON for call in plan] == [timedelta(minutes=m) for m in (0, 1, 2)]


def test_an_appointment_coming_due_mid_plan_is_called_at_its_time_before_the_walk_ins() -> None:
    walk_ins = [Waiting(n, minutes_ago(25 - 5 * n)) for n in (1, 2, 3)]
    here_early = Waiting(4, minutes_ago(5), due_at=NOON + timedelta(minutes=10))
    not_here_yet = Waiting(9, NOON + timedelta(minutes=12), due_at=NOON + timedelta(minutes=12))
    five = timedelta(minutes=5)

    plan = calling_plan(
        [here_early, *walk_ins],
        [Desk(STANDARD, NOON)],
        NOON,
        THRESHOLD,
        default_duration=five,
        expected=[not_here_yet],
    )

    assert [(call.ticket.id, (call.at - NOON) // five) for call in plan] == [
        (1, 0),
        (2, 1),
        (4, 2),  # due at 10 minutes, when the desk is free again
        (9, 3),  # due at 12 minutes, called at 15 when the desk is free
        (3, 4),
    ]


def test_an_appointment_due_exactly_now_keeps_its_place_before_one_coming_due() -> None:
    due_now = Waiting(1, minutes_ago(5), due_at=NOON)
    coming = Waiting(2, minutes_ago(8), due_at=NOON + timedelta(minutes=5))
    walk_in = Waiting(3, minutes_ago(20))
    desks = [Desk(STANDARD, NOON + timedelta(minutes=10))]

    plan = calling_plan([walk_in, coming, due_now], desks, NOON, THRESHOLD)

    assert [(call.ticket.id, call.at - NOON) for call in plan] == [
        (1, timedelta(minutes=10)),
        (2, timedelta(minutes=11)),
        (3, timedelta(minutes=12)),
    ]


def test_a_free_desk_waits_for_the_booked_people_not_here_yet() -> None:
    """Called at their time, the first booked first (then by id); one nobody can serve is
    left out, and the desk leaves the plan once nobody it can serve is left."""
    at = NOON + timedelta(minutes=7)
    expected = [
        Waiting(5, at, due_at=at),
        Waiting(3, at, due_at=at),
        Waiting(9, at, due_at=NOON + timedelta(minutes=20)),
        Waiting(4, at, due_at=NOON + timedelta(minutes=3), accessible=True),
    ]

    plan = calling_plan([], [Desk(STANDARD, NOON)], NOON, THRESHOLD, expected=expected)

    assert [(call.ticket.id, call.at - NOON) for call in plan] == [
        (3, timedelta(minutes=7)),
        (5, timedelta(minutes=8)),
        (9, timedelta(minutes=20)),
    ]


def test_booked_people_due_while_the_desk_is_busy_come_in_booked_order_not_by_id() -> None:
    due_first = Waiting(9, NOON, due_at=NOON + timedelta(minutes=3))
    due_second = Waiting(3, NOON, due_at=NOON + timedelta(minutes=10))
    desks = [Desk(STANDARD, NOON + timedelta(minutes=15))]

    plan = calling_plan([], desks, NOON, THRESHOLD, expected=[due_second, due_first])

    assert [(call.ticket.id, call.at - NOON) for call in plan] == [
        (9, timedelta(minutes=15)),
        (3, timedelta(minutes=16)),
    ]


def test_a_booked_person_is_called_by_the_first_desk_free_that_can_serve_them() -> None:
    booked = Waiting(7, NOON, due_at=NOON + timedelta(minutes=3))
    desks = [Desk(STANDARD, NOON + timedelta(minutes=10)), Desk(DOUBLE, NOON)]

    plan = calling_plan([], desks, NOON, THRESHOLD, expected=[booked])

    assert [(call.ticket.id, call.desk, call.at - NOON) for call in plan] == [
        (7, 1, timedelta(minutes=3))
    ]


def test_a_desk_that_can_serve_nobody_leaves_the_plan_and_nobody_waits_for_it() -> None:
    first_double = Waiting(1, minutes_ago(20), kind="double")
    second_double = Waiting(2, minutes_ago(10), kind="double")
    wheelchair_recent = Waiting(5, minutes_ago(1), accessible=True)
    wheelchair_starved = Waiting(6, minutes_ago(40), accessible=True)
    tickets = [wheelchair_recent, second_double, wheelchair_starved, first_double]
    desks = [Desk(STANDARD, NOON), Desk(Caller("double", accessible=False), NOON)]

    plan = calling_plan(tickets, desks, NOON, THRESHOLD)
    places = planned_places(tickets, desks, NOON, THRESHOLD)

    assert [(call.ticket.id, call.desk, call.at - NOON) for call in plan] == [
        (1, 1, timedelta(0)),
        (2, 1, timedelta(minutes=1)),
    ]
    # No desk is accessible: those two come last, in the plain order.
    assert places == {1: 1, 2: 2, 6: 3, 5: 4}


def test_desks_free_together_call_in_their_order_and_are_placed_in_the_plain_order() -> None:
    walk_in = Waiting(1, minutes_ago(20))
    double = Waiting(2, minutes_ago(5), kind="double")
    desks = [Desk(DOUBLE, NOON), Desk(STANDARD, NOON)]

    plan = calling_plan([walk_in, double], desks, NOON, THRESHOLD)

    assert [(call.ticket.id, call.desk, call.at) for call in plan] == [(2, 0, NOON), (1, 1, NOON)]
    assert planned_places([walk_in, double], desks, NOON, THRESHOLD) == {1: 1, 2: 2}


def test_places_follow_the_times_of_the_calls() -> None:
    long_first = Waiting(1, minutes_ago(30))
    double = Waiting(2, minutes_ago(25), kind="double")
    third = Waiting(3, minutes_ago(20))
    fourth = Waiting(4, minutes_ago(15))
    desks = [Desk(STANDARD, NOON), Desk(DOUBLE, NOON + timedelta(minutes=4))]
    took = {1: timedelta(minutes=10), 2: timedelta(minutes=2), 3: timedelta(minutes=3)}

    places = planned_places([fourth, third, double, long_first], desks, NOON, THRESHOLD, took)

    # Called at 0 (1, standard desk), 4 (2, double desk), 6 (3, double desk), 9 (4, double
    # desk, before the standard desk is free at 10).
    assert places == {1: 1, 2: 2, 3: 3, 4: 4}
    slow = {1: timedelta(minutes=10), 2: timedelta(minutes=8), 3: timedelta(minutes=3)}
    # Now: 1 at 0, 2 at 4, 3 at 10 by the standard desk, 4 at 12 by the double one.
    assert planned_places([fourth, third, double, long_first], desks, NOON, THRESHOLD, slow) == {
        1: 1,
        2: 2,
        3: 3,
        4: 4,
    }
    late_double = Desk(DOUBLE, NOON + timedelta(minutes=15))
    # The double ticket now waits for its desk: 3 and 4 are called before it.
    assert planned_places(
        [fourth, third, double, long_first], [desks[0], late_double], NOON, THRESHOLD, took
    ) == {1: 1, 3: 2, 4: 3, 2: 4}


def test_places_take_the_default_duration_given() -> None:
    standard = [Waiting(n, minutes_ago(20 - n)) for n in (1, 2, 3)]
    double = Waiting(4, minutes_ago(5), kind="double")
    desks = [Desk(STANDARD, NOON), Desk(DOUBLE, NOON + timedelta(minutes=5))]

    # A minute each: 1, 2 and 3 are called at 0, 1 and 2, the double ticket at 5.
    assert planned_places([*standard, double], desks, NOON, THRESHOLD) == {1: 1, 2: 2, 3: 3, 4: 4}
    # Three minutes each: 3 is called at 6, after the double ticket.
    three = timedelta(minutes=3)
    assert planned_places([*standard, double], desks, NOON, THRESHOLD, None, three) == {
        1: 1,
        2: 2,
        4: 3,
        3: 4,
    }


def test_how_many_are_ahead_without_desks_counts_everybody_before_in_the_plain_order() -> None:
    first = Waiting(1, minutes_ago(20))
    double_wheelchair = Waiting(2, minutes_ago(15), kind="double", accessible=True)
    third = Waiting(3, minutes_ago(10))
    me = Waiting(4, minutes_ago(5))
    everyone = [me, third, double_wheelchair, first]

    assert ahead_of(me, everyone, NOON, THRESHOLD) == 3
    assert ahead_of(me, [third, double_wheelchair, first], NOON, THRESHOLD) == 3
    assert ahead_of(first, everyone, NOON, THRESHOLD) == 0
    assert ahead_of(double_wheelchair, everyone, NOON, THRESHOLD) == 1
    standard_only = [Desk(STANDARD, NOON)]
    assert ahead_of(me, everyone, NOON, THRESHOLD, standard_only) == 2
    assert ahead_of(double_wheelchair, everyone, NOON, THRESHOLD, standard_only) == 3


# Estimates


def test_service_times_are_robust_with_a_floor_and_the_catalog_filling_in() -> None:
    assert service_times([], 30) == ServiceTimes(*(timedelta(minutes=30),) * 3)
    one_very_short = service_times([2 / 60], 30)
    assert one_very_short.low >= timedelta(minutes=15)
    assert one_very_short.typical == timedelta(minutes=30)
    learnt = service_times([8.0] * 20, 30)
    assert learnt == ServiceTimes(*(timedelta(minutes=15),) * 3)  # the floor: half of 30
    with_outliers = service_times([20, 22, 18, 21, 19, 20, 23, 17, 20, 0.05, 480], 20)
    assert timedelta(minutes=17) < with_outliers.low <= with_outliers.typical
    assert with_outliers.high < timedelta(minutes=25)
    assert average_minutes([10] * 20 + [1000], default=20) == 10


def test_after_one_two_second_service_the_28th_in_line_is_not_told_a_minute() -> None:
    tickets = [Waiting(n, minutes_ago(60 - n), service=7) for n in range(1, 29)]
    stations = [OpenStation(caller) for caller in PARIS_15]
    times = {7: service_times([2 / 60], 30)}

    found = forecast(tickets, stations, times, service_times([], 30), NOON, THRESHOLD)[28]

    assert found.position == 28
    assert found.minutes is not None
    low, high = found.minutes
    # 27 people ahead at six stations: four rounds of at least the floor, 15 minutes.
    assert low >= 4 * 15
    assert high > low


def test_the_pessimistic_end_counts_only_staffed_stations_and_the_coming_appointments() -> None:
    tickets = [Waiting(n, minutes_ago(30 - n), service=7) for n in range(1, 13)]
    times = {7: ServiceTimes(*(timedelta(minutes=m) for m in (10, 15, 25)))}
    default = service_times([], 30)
    all_free = [OpenStation(caller) for caller in PARIS_15]
    # Postes 3 to 6 were last seen two hours ago, and have let people wait since.
    two_at_work = [
        OpenStation(caller, last_seen=minutes_ago(5 if n < 2 else 120))
        for n, caller in enumerate(PARIS_15)
    ]
    booked = [
        Waiting(-n, NOON + timedelta(minutes=5), due_at=NOON + timedelta(minutes=5), service=7)
        for n in range(1, 5)
    ]

    def last(stations: list[OpenStation], expected: list[Waiting]) -> tuple[int, int]:
        found = forecast(tickets, stations, times, default, NOON, THRESHOLD, expected)[12]
        assert found.minutes is not None
        return found.minutes

    everyone = last(all_free, [])
    assert last(two_at_work, [])[1] > everyone[1]
    assert last(two_at_work, [])[0] == everyone[0]
    assert last(all_free, booked)[1] > everyone[1]
    assert staffed(two_at_work[0], tickets, NOON)
    assert not staffed(two_at_work[2], tickets, NOON)
    assert staffed(all_free[2], [], NOON)


def test_busy_stations_count_until_their_usual_end() -> None:
    tickets = [Waiting(1, minutes_ago(1), service=7)]
    times = {7: ServiceTimes(*(timedelta(minutes=m) for m in (10, 20, 30)))}
    busy = [OpenStation(STANDARD, busy_since=minutes_ago(5), busy_with=7)]

    found = forecast(tickets, busy, times, service_times([], 30), NOON, THRESHOLD)[1]

    assert found.minutes == (5, 25)


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
        chosen = next_ticket(waiting, stations[station_index], now, THRESHOLD, stations)
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
def test_once_past_the_threshold_a_walk_in_is_passed_by_no_later_walk_in_of_its_group(
    day: list[tuple[int, str, str, bool, int]],
    stations: list[tuple[str, bool]],
    service_minutes: int,
) -> None:
    """At each station, the reserved tickets come first: within them, as within the
    others, nobody past the threshold is passed by a later walk-in. And every ticket is
    reserved for at least one open station that can serve it, so nobody starves."""
    opening = datetime(2026, 12, 1, 7, 30, tzinfo=UTC)
    callers = [Caller(kind, accessible) for kind, accessible in stations]
    tickets = tickets_of(day, opening)

    for ticket in tickets:
        if any(can_serve(caller, ticket) for caller in callers):
            assert any(reserved_for(caller, ticket, callers) for caller in callers)
    for now, station_index, chosen, waiting in simulate(tickets, callers, opening, service_minutes):
        station = callers[station_index]
        if chosen.due_at is not None:
            continue
        group = reserved_for(station, chosen, callers)
        for other in waiting:
            overdue = other.due_at is None and now - other.arrived_at > THRESHOLD
            same_group = reserved_for(station, other, callers) == group
            if overdue and same_group and can_serve(station, other):
                assert chosen.arrived_at <= other.arrived_at


@settings(max_examples=300, deadline=None)
@given(day=arrivals, stations=station_sets, service_minutes=st.integers(5, 40))
def test_a_double_station_never_takes_a_standard_ticket_while_a_double_one_waits(
    day: list[tuple[int, str, str, bool, int]],
    stations: list[tuple[str, bool]],
    service_minutes: int,
) -> None:
    """Unless a booked time has come, or no standard station is open to take it, or a
    double station lacking this one's accessibility is open to take the double ticket."""
    opening = datetime(2026, 12, 1, 7, 30, tzinfo=UTC)
    callers = [Caller(kind, accessible) for kind, accessible in stations]

    for now, station_index, chosen, waiting in simulate(
        tickets_of(day, opening), callers, opening, service_minutes
    ):
        station = callers[station_index]
        due = chosen.due_at is not None and chosen.due_at <= now
        if due or reserved_for(station, chosen, callers):
            continue
        lesser_double = station.accessible and Caller("double", accessible=False) in callers
        for other in waiting:
            early = other.due_at is not None and other.due_at > now
            assert early or not reserved_for(station, other, callers)
            lesser_takes_it = lesser_double and not other.accessible
            if station.kind == "double" and chosen.kind == "standard" and not early:
                assert lesser_takes_it or not (other.kind == "double" and can_serve(station, other))


@settings(max_examples=300, deadline=None)
@given(
    day=arrivals,
    stations=station_sets,
    free_in=st.lists(st.integers(0, 30), min_size=5, max_size=5),
    lengths=st.lists(st.integers(1, 40), min_size=40, max_size=40),
    minute=st.integers(0, 300),
)
def test_a_place_is_where_the_stations_calling_in_turn_reach_the_ticket(
    day: list[tuple[int, str, str, bool, int]],
    stations: list[tuple[str, bool]],
    free_in: list[int],
    lengths: list[int],
    minute: int,
) -> None:
    """The place shown is the index at which the stations, each calling `next_ticket`
    as soon as it is free, reach the ticket: everybody called before it counts."""
    opening = datetime(2026, 12, 1, 7, 30, tzinfo=UTC)
    now = opening + timedelta(minutes=minute)
    tickets = [
        t
        for t in tickets_of(day, opening)
        if t.arrived_at <= now and (t.due_at is None or t.due_at <= now)
    ]
    callers = [Caller(kind, accessible) for kind, accessible in stations]
    desks = [Desk(caller, now + timedelta(minutes=free_in[n])) for n, caller in enumerate(callers)]
    took = {t.id: timedelta(minutes=lengths[t.id - 1]) for t in tickets}

    free_at: list[datetime | None] = [desk.free_at for desk in desks]
    left, reached = list(tickets), []
    while left:
        free = [(at, i) for i, at in enumerate(free_at) if at is not None]
        if not free:
            break
        at, index = min(free)
        chosen = next_ticket(left, callers[index], now, THRESHOLD, callers)
        if chosen is None:
            free_at[index] = None
            continue
        reached.append((at, order_key(chosen, now, THRESHOLD), chosen.id))
        left.remove(chosen)
        free_at[index] = at + took[chosen.id]

    places = planned_places(tickets, desks, now, THRESHOLD, took)
    for place, (_, _, ticket_id) in enumerate(sorted(reached), start=1):
        assert places[ticket_id] == place
    assert sorted(places.values()) == list(range(1, len(tickets) + 1))


@settings(max_examples=200, deadline=None)
@given(
    day=arrivals,
    stations=station_sets,
    recent=st.lists(st.floats(0, 120), max_size=30),
    minute=st.integers(0, 300),
)
def test_an_estimate_never_promises_less_than_the_people_ahead_need(
    day: list[tuple[int, str, str, bool, int]],
    stations: list[tuple[str, bool]],
    recent: list[float],
    minute: int,
) -> None:
    opening = datetime(2026, 12, 1, 7, 30, tzinfo=UTC)
    now = opening + timedelta(minutes=minute)
    tickets = [t for t in tickets_of(day, opening) if t.arrived_at <= now]
    callers = [Caller(kind, accessible) for kind, accessible in stations]
    times = service_times(recent, 30)
    shortest = (times.low + timedelta(minutes=1)) / timedelta(minutes=1)

    found = forecast(tickets, [OpenStation(c) for c in callers], {0: times}, times, now, THRESHOLD)

    assert sorted(f.position for f in found.values()) == list(range(1, len(tickets) + 1))
    # Without appointments checked in early, the plans differ only in their durations, so a
    # ticket's optimistic call comes after the rounds its place needs. With one, a quick
    # round may call a ticket before the appointment is due, where the usual plan gives the
    # appointment that desk's round first: see the test below.
    early = any(t.due_at is not None and t.due_at > now for t in tickets)
    for ticket in tickets:
        place, announced = found[ticket.id].position, found[ticket.id].minutes
        if not any(can_serve(caller, ticket) for caller in callers):
            assert announced is None
            continue
        assert announced is not None
        low, high = announced
        assert low < high
        if not early:
            assert low >= ((place - 1) // len(callers)) * shortest - 1


def test_a_quick_round_may_call_a_ticket_before_an_early_appointment_comes_due() -> None:
    """One desk alone can serve two double, accessible tickets and an appointment checked in
    early, due in 25 minutes. In the usual plan (40 minutes a visit) that desk's second
    round comes after the appointment is due, so the appointment goes first and the ticket
    waits a third round, behind the other desks' calls: twelfth. In the quick plan
    (21 minutes) the second round comes before it is due, and calls the ticket: the range
    starts at 22 minutes, though eleven people are ahead of it with four stations."""
    opening = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    now = opening + timedelta(minutes=60)
    times = ServiceTimes(timedelta(minutes=21), timedelta(minutes=40), timedelta(minutes=60))
    stations = [OpenStation(Caller("double", True))]
    stations += [OpenStation(Caller("standard", False))] * 3

    def minute(n: int) -> datetime:
        return opening + timedelta(minutes=n)

    due = now + timedelta(minutes=25)
    tickets = [
        Waiting(1, minute(0), kind="double", accessible=True),
        Waiting(2, minute(1), due_at=due, kind="double", accessible=True),
        Waiting(3, minute(30), kind="double", accessible=True),
        *[Waiting(10 + n, minute(3 + n)) for n in range(9)],
    ]

    found = forecast(tickets, stations, {0: times}, times, now, THRESHOLD)

    assert found[2] == Forecast(8, (41, 61))
    assert found[3] == Forecast(12, (22, 122))


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
