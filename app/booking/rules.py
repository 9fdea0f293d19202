"""The life of an appointment, as a table of moves (see `app/lifecycle.py`), and when
its person may come to the desk."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum

from app.booking.models import AppointmentStatus as S
from app.lifecycle import Lifecycle


class AppointmentAction(StrEnum):
    CHECK_IN = "check_in"
    CANCEL = "cancel"  # by the person, from their private page or link
    RELEASE = "release"  # by a manager, one of a day booked out too fast
    CALL_OFF = "call_off"  # by the mairie: a closure, an outage, hours cut
    MOVE = "move"  # to another time, by the person
    MISS = "miss"  # nobody checked in before a late arrival could no longer be
    SERVE = "serve"  # its ticket was served
    NO_SHOW = "no_show"  # its ticket was called and nobody came
    TICKET_CANCELLED = "ticket_cancelled"  # its ticket was cancelled at the desk


class AppointmentEffect(StrEnum):
    STAMP_CANCELLED = "stamp_cancelled"  # cancelled_at, and a new calendar-file sequence
    TELL_CANCELLED = "tell_cancelled"
    TELL_RELEASED = "tell_released"
    TELL_CALLED_OFF = "tell_called_off"


E = AppointmentEffect
A = AppointmentAction

APPOINTMENT = Lifecycle.table(
    "appointment",
    start=S.BOOKED,
    ends={S.SERVED, S.NO_SHOW, S.CANCELLED, S.CALLED_OFF},
    rows=[
        # from, action, to, effects
        ({S.BOOKED}, A.CHECK_IN, S.CHECKED_IN, ()),
        ({S.BOOKED}, A.CANCEL, S.CANCELLED, {E.STAMP_CANCELLED, E.TELL_CANCELLED}),
        ({S.BOOKED}, A.RELEASE, S.CANCELLED, {E.STAMP_CANCELLED, E.TELL_RELEASED}),
        ({S.BOOKED}, A.CALL_OFF, S.CALLED_OFF, {E.STAMP_CANCELLED, E.TELL_CALLED_OFF}),
        ({S.BOOKED}, A.MOVE, S.BOOKED, ()),
        ({S.BOOKED}, A.MISS, S.NO_SHOW, ()),
        ({S.CHECKED_IN}, A.SERVE, S.SERVED, ()),
        ({S.CHECKED_IN}, A.NO_SHOW, S.NO_SHOW, ()),
        ({S.CHECKED_IN}, A.TICKET_CANCELLED, S.CANCELLED, ()),
    ],
)


def arrival_window(
    starts_at: datetime,
    early_minutes: int,
    late_minutes: int,
    open_intervals: Iterable[tuple[datetime, datetime]],
) -> tuple[datetime, datetime]:
    """When the person may come to the desk: from `early_minutes` before the start, but not
    before the mairie opens for it (an 8:30 appointment where doors open at 8:30, or the
    first after lunch), until `late_minutes` after."""
    since = starts_at - timedelta(minutes=early_minutes)
    for opens, closes in open_intervals:
        if opens <= starts_at < closes:
            since = max(since, opens)
    return since, starts_at + timedelta(minutes=late_minutes)
