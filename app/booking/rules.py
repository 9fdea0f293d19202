"""The life of an appointment, as a table of moves (see `app/lifecycle.py`)."""

from __future__ import annotations

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
