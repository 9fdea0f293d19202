"""Ticket numbers: a letter per queue group and three digits, per site and local day."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

WALK_IN = "A"
WALK_IN_DOUBLE = "B"
APPOINTMENT = "R"


def letter(*, appointment: bool, double: bool) -> str:
    """The queue group: R for a booked appointment, B for a walk-in needing a double
    station, A for the other walk-ins. Priority shows in no number: the lobby screen
    does not tell who is in the public prioritaire."""
    if appointment:
        return APPOINTMENT
    return WALK_IN_DOUBLE if double else WALK_IN


def ticket_day(now: datetime, tz: ZoneInfo) -> date:
    """The local day a ticket issued at `now` belongs to: the counter restarts at local
    midnight, whatever the offset that day."""
    return now.astimezone(tz).date()


def ticket_number(group: str, counter: int) -> str:
    """A042. Past 999 in one day the number grows a digit rather than come round again."""
    if counter < 1:
        raise ValueError("ticket counters start at 1")
    return f"{group}{counter:03d}"


def spoken(number: str) -> str:
    """ "A 42": how the lobby screen reads a number aloud."""
    return f"{number[0]} {int(number[1:])}"
