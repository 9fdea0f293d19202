"""The life of an appointment, as a table of moves (see `app/lifecycle.py`)."""

from __future__ import annotations

from enum import StrEnum

from app.booking.models import AppointmentStatus as S
from app.lifecycle import Lifecycle, Move


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

APPOINTMENT: Lifecycle[S, AppointmentAction, AppointmentEffect] = Lifecycle(
    name="appointment",
    start=S.BOOKED,
    ends=frozenset({S.SERVED, S.NO_SHOW, S.CANCELLED, S.CALLED_OFF}),
    moves={
        (S.BOOKED, A.CHECK_IN): Move(S.CHECKED_IN),
        (S.BOOKED, A.CANCEL): Move(S.CANCELLED, frozenset({E.STAMP_CANCELLED, E.TELL_CANCELLED})),
        (S.BOOKED, A.RELEASE): Move(S.CANCELLED, frozenset({E.STAMP_CANCELLED, E.TELL_RELEASED})),
        (S.BOOKED, A.CALL_OFF): Move(
            S.CALLED_OFF, frozenset({E.STAMP_CANCELLED, E.TELL_CALLED_OFF})
        ),
        (S.BOOKED, A.MOVE): Move(S.BOOKED),
        (S.BOOKED, A.MISS): Move(S.NO_SHOW),
        (S.CHECKED_IN, A.SERVE): Move(S.SERVED),
        (S.CHECKED_IN, A.NO_SHOW): Move(S.NO_SHOW),
        (S.CHECKED_IN, A.TICKET_CANCELLED): Move(S.CANCELLED),
    },
)
