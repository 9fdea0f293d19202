"""Which ticket a calling station gets next, and who will be called before whom: pure
functions, one total order per station.

For a station, among the waiting tickets it may serve:
1. checked-in appointments whose time has come, in booked order (their slot was held
   on a station when they booked);
2. the tickets only a station like this one can serve (see `reserved_for`), then the
   others; within each of these two groups, priority walk-ins and any ticket waiting
   longer than the site's threshold by arrival, then the other walk-ins by arrival;
3. checked-in appointments that are early, in booked order: only when nobody else can
   be served (the reserved ones first).
Ties fall to the ticket id (ids are given in issue order, under the queue's lock), so the
order never depends on chance.

A ticket is reserved for a station when no open station less equipped than it (lacking
the double screen or the accessibility it has, and having nothing it lacks) can serve
the ticket. Each ticket is thus reserved for at least one of the open stations that can
serve it (a least equipped one), where it waits behind nobody but due appointments and
the same group's usual order: the threshold still keeps anybody from starving.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

APPOINTMENT_DUE, PRIORITY, ARRIVAL, APPOINTMENT_EARLY = 0, 1, 2, 3
RESERVED, OTHERS = 0, 1

Key = tuple[int, int, int, datetime, int]


@dataclass(frozen=True, slots=True)
class Waiting:
    id: int
    arrived_at: datetime
    due_at: datetime | None = None
    priority: bool = False
    kind: str = "standard"
    accessible: bool = False
    service: int = 0  # the service's id, for how long it takes


@dataclass(frozen=True, slots=True)
class Caller:
    """The calling station."""

    kind: str
    accessible: bool


def can_serve(station: Caller, ticket: Waiting) -> bool:
    """As for booking: double tickets need a double station; accessibility is required
    when the ticket asks for it."""
    if ticket.kind == "double" and station.kind != "double":
        return False
    return station.accessible or not ticket.accessible


def _equipment(station: Caller) -> tuple[bool, bool]:
    return (station.kind == "double", station.accessible)


def less_equipped(other: Caller, station: Caller) -> bool:
    """`other` lacks something `station` has, and has nothing `station` lacks."""
    mine, theirs = _equipment(station), _equipment(other)
    return mine != theirs and all(t <= m for t, m in zip(theirs, mine, strict=True))


def reserved_for(station: Caller, ticket: Waiting, open_stations: Iterable[Caller]) -> bool:
    """`station` can serve `ticket`, and no open station less equipped than it can."""
    return can_serve(station, ticket) and not any(
        less_equipped(other, station) and can_serve(other, ticket) for other in open_stations
    )


def order_key(ticket: Waiting, now: datetime, threshold: timedelta) -> tuple[int, datetime, int]:
    """The order for a station that could serve any ticket and has no reserved ones."""
    if ticket.due_at is not None:
        if ticket.due_at <= now:
            return (APPOINTMENT_DUE, ticket.due_at, ticket.id)
        return (APPOINTMENT_EARLY, ticket.due_at, ticket.id)
    if ticket.priority or now - ticket.arrived_at > threshold:
        return (PRIORITY, ticket.arrived_at, ticket.id)
    return (ARRIVAL, ticket.arrived_at, ticket.id)


def station_key(
    ticket: Waiting,
    station: Caller,
    now: datetime,
    threshold: timedelta,
    open_stations: Iterable[Caller],
) -> Key:
    """Where `ticket` stands for `station` (which can serve it): the smallest is called."""
    tier, at, ticket_id = order_key(ticket, now, threshold)
    if tier == APPOINTMENT_DUE:
        return (0, RESERVED, tier, at, ticket_id)
    group = RESERVED if reserved_for(station, ticket, open_stations) else OTHERS
    return (1 if tier != APPOINTMENT_EARLY else 2, group, tier, at, ticket_id)


def queue_order(tickets: Iterable[Waiting], now: datetime, threshold: timedelta) -> list[Waiting]:
    """All waiting tickets in the plain order (no station's reserved group first)."""
    return sorted(tickets, key=lambda ticket: order_key(ticket, now, threshold))


def next_ticket(
    tickets: Sequence[Waiting],
    station: Caller,
    now: datetime,
    threshold: timedelta,
    open_stations: Sequence[Caller] = (),
) -> Waiting | None:
    """The ticket `station` calls next, or None if it can serve nobody. `open_stations`
    are the site's stations in service (the caller among them or not): without them,
    the station reserves nothing and calls in the plain order."""
    servable = [ticket for ticket in tickets if can_serve(station, ticket)]
    if not servable:
        return None
    return min(
        servable, key=lambda ticket: station_key(ticket, station, now, threshold, open_stations)
    )


# Who will be called before whom


@dataclass(frozen=True, slots=True)
class Desk:
    """An open station for the plan: when it calls next."""

    caller: Caller
    free_at: datetime


@dataclass(frozen=True, slots=True)
class Call:
    ticket: Waiting
    desk: int  # index in the plan's desks
    at: datetime


@dataclass(slots=True)
class _Line:
    """One desk's waiting tickets in its own order, and how far it has read them."""

    order: list[Waiting]
    read: int = 0


def calling_plan(
    tickets: Sequence[Waiting],
    desks: Sequence[Desk],
    now: datetime,
    threshold: timedelta,
    duration: Mapping[int, timedelta] | None = None,
    default_duration: timedelta = timedelta(minutes=1),
    expected: Sequence[Waiting] = (),
) -> list[Call]:
    """The calls the desks will make if nobody else arrives: each time, the desk that is
    free first (the lower index on a tie) calls its next ticket in its own order, as
    `next_ticket` would, and is then busy for that ticket's `duration` (by ticket id).
    `expected` are booked people not here yet: each is called at its booked time, before
    the walk-ins, by the first desk free then that can serve it.

    The order of each desk is taken at `now`, except for appointments coming due: a
    walk-in crossing the threshold while the plan runs does not reorder it. Tickets no
    desk can serve are not in the plan. Cost: one sort per kind of desk, then a heap.
    """
    duration = duration or {}
    callers = [desk.caller for desk in desks]
    lines: dict[Caller, list[Waiting]] = {}
    for caller in callers:
        if caller not in lines:
            servable = [ticket for ticket in tickets if can_serve(caller, ticket)]
            lines[caller] = sorted(servable, key=_station_order(caller, now, threshold, callers))
    reading = [_Line(lines[caller]) for caller in callers]
    coming = sorted(
        [t for t in tickets if t.due_at is not None and t.due_at > now] + list(expected),
        key=lambda ticket: (ticket.due_at or now, ticket.id),
    )
    called: set[int] = set()
    heap = [(max(desk.free_at, now), index) for index, desk in enumerate(desks)]
    heapq.heapify(heap)
    plan: list[Call] = []
    while heap:
        at, index = heapq.heappop(heap)
        caller, line = callers[index], reading[index]
        while line.read < len(line.order) and line.order[line.read].id in called:
            line.read += 1
        head = line.order[line.read] if line.read < len(line.order) else None
        chosen = None
        if head is None or head.due_at is None or head.due_at > now:
            chosen = next(
                (
                    t
                    for t in coming
                    if t.due_at is not None
                    and t.due_at <= at
                    and t.id not in called
                    and can_serve(caller, t)
                ),
                head,
            )
        else:
            chosen = head
        if chosen is None:
            later = [
                t.due_at
                for t in coming
                if t.due_at is not None and t.id not in called and can_serve(caller, t)
            ]
            if later:
                heapq.heappush(heap, (min(later), index))
            continue  # else this desk can serve nobody left: it leaves the plan
        called.add(chosen.id)
        plan.append(Call(chosen, index, at))
        heapq.heappush(heap, (at + duration.get(chosen.id, default_duration), index))
    return plan


def _station_order(
    station: Caller, now: datetime, threshold: timedelta, open_stations: Sequence[Caller]
) -> Callable[[Waiting], Key]:
    def key(ticket: Waiting) -> Key:
        return station_key(ticket, station, now, threshold, open_stations)

    return key


def positions(
    tickets: Sequence[Waiting], plan: Sequence[Call], now: datetime, threshold: timedelta
) -> dict[int, int]:
    """Each ticket's place (1 = next) in the order `plan` (a `calling_plan`) calls them:
    everybody called before it counts, whatever their station kind; those called at the
    same instant by different desks, in the plain order. The plan's calls of people not
    among `tickets` (booked people expected) count for none. A ticket the plan does not
    call (no desk can serve it) comes after all the others, in the plain order."""
    here = {ticket.id for ticket in tickets}
    places = places_in([call for call in plan if call.ticket.id in here], now, threshold)
    left = [ticket for ticket in tickets if ticket.id not in places]
    for number, ticket in enumerate(queue_order(left, now, threshold), start=len(places) + 1):
        places[ticket.id] = number
    return places


def places_in(plan: Sequence[Call], now: datetime, threshold: timedelta) -> dict[int, int]:
    """The places of a plan's tickets: by the time of their call, then the plain order."""
    ordered = sorted(plan, key=lambda call: (call.at, order_key(call.ticket, now, threshold)))
    return {call.ticket.id: number for number, call in enumerate(ordered, start=1)}


def ahead_of(
    ticket: Waiting,
    tickets: Sequence[Waiting],
    now: datetime,
    threshold: timedelta,
    desks: Sequence[Desk] = (),
) -> int:
    """How many waiting tickets will be called before `ticket` by `desks` (the open
    stations); without desks, by one station that could serve anybody."""
    if not desks:
        desks = [Desk(Caller("double", accessible=True), now)]
    everyone = [other for other in tickets if other.id != ticket.id] + [ticket]
    plan = calling_plan(everyone, desks, now, threshold)
    return positions(everyone, plan, now, threshold)[ticket.id] - 1
