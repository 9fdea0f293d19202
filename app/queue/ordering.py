"""Which ticket a calling station gets next: one pure function, one total order.

For a station, among the waiting tickets it may serve:
1. checked-in appointments whose time has come, in booked order;
2. priority walk-ins, and any ticket waiting longer than the site's threshold, by arrival;
3. the other walk-ins, by arrival;
4. checked-in appointments that are early, in booked order: only when nobody else can
   be served.
Ties fall to the ticket id, so the order never depends on chance.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

APPOINTMENT_DUE, PRIORITY, ARRIVAL, APPOINTMENT_EARLY = 0, 1, 2, 3


@dataclass(frozen=True, slots=True)
class Waiting:
    id: int
    arrived_at: datetime
    due_at: datetime | None = None
    priority: bool = False
    kind: str = "standard"
    accessible: bool = False


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


def order_key(ticket: Waiting, now: datetime, threshold: timedelta) -> tuple[int, datetime, int]:
    if ticket.due_at is not None:
        if ticket.due_at <= now:
            return (APPOINTMENT_DUE, ticket.due_at, ticket.id)
        return (APPOINTMENT_EARLY, ticket.due_at, ticket.id)
    if ticket.priority or now - ticket.arrived_at > threshold:
        return (PRIORITY, ticket.arrived_at, ticket.id)
    return (ARRIVAL, ticket.arrived_at, ticket.id)


def queue_order(tickets: Iterable[Waiting], now: datetime, threshold: timedelta) -> list[Waiting]:
    """All waiting tickets in the order they are called, for a station that could serve
    any of them."""
    return sorted(tickets, key=lambda ticket: order_key(ticket, now, threshold))


def next_ticket(
    tickets: Sequence[Waiting], station: Caller, now: datetime, threshold: timedelta
) -> Waiting | None:
    """The ticket `station` calls next, or None if it can serve nobody."""
    servable = [ticket for ticket in tickets if can_serve(station, ticket)]
    if not servable:
        return None
    return min(servable, key=lambda ticket: order_key(ticket, now, threshold))


def ahead_of(
    ticket: Waiting, tickets: Sequence[Waiting], now: datetime, threshold: timedelta
) -> int:
    """How many waiting tickets will be called before `ticket` by the stations that can
    serve it: a double ticket only waits behind double ones."""
    mine = order_key(ticket, now, threshold)
    return sum(
        1
        for other in tickets
        if other.id != ticket.id
        and order_key(other, now, threshold) < mine
        and (ticket.kind != "double" or other.kind == "double")
    )
