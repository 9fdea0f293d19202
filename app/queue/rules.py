"""The life of a ticket, as a table of moves (see `app/lifecycle.py`)."""

from __future__ import annotations

from enum import StrEnum

from app.booking.rules import AppointmentAction
from app.lifecycle import Lifecycle, Move
from app.queue.models import TicketStatus as S


class TicketAction(StrEnum):
    CALL = "call"
    RECALL = "recall"
    GIVE_UP = "give_up"  # called again past the site's number of calls: nobody came
    START = "start"
    FINISH = "finish"
    NO_SHOW = "no_show"
    CANCEL = "cancel"
    TRANSFER = "transfer"
    CLOSE = "close"  # still waiting when the mairie closed


class TicketEffect(StrEnum):
    FIRST_CALL = "first_call"  # a station, called_at, first_called_at, one call
    ONE_MORE_CALL = "one_more_call"
    STAMP_STARTED = "stamp_started"
    STAMP_FINISHED = "stamp_finished"
    RECORD_VISIT = "record_visit"
    BACK_IN_QUEUE = "back_in_queue"  # no station, not called, arrival time kept
    TELL_CLOSED = "tell_closed"


A = TicketAction
E = TicketEffect

TICKET: Lifecycle[S, TicketAction, TicketEffect] = Lifecycle(
    name="ticket",
    start=S.WAITING,
    ends=frozenset({S.DONE, S.NO_SHOW, S.CANCELLED, S.CLOSED}),
    moves={
        (S.WAITING, A.CALL): Move(S.CALLED, frozenset({E.FIRST_CALL})),
        (S.CALLED, A.RECALL): Move(S.CALLED, frozenset({E.ONE_MORE_CALL})),
        (S.CALLED, A.GIVE_UP): Move(S.NO_SHOW),
        (S.CALLED, A.START): Move(S.SERVING, frozenset({E.STAMP_STARTED})),
        (S.SERVING, A.FINISH): Move(S.DONE, frozenset({E.STAMP_FINISHED, E.RECORD_VISIT})),
        (S.CALLED, A.NO_SHOW): Move(S.NO_SHOW),
        (S.WAITING, A.CANCEL): Move(S.CANCELLED),
        (S.CALLED, A.CANCEL): Move(S.CANCELLED),
        (S.WAITING, A.TRANSFER): Move(S.WAITING, frozenset({E.BACK_IN_QUEUE})),
        (S.CALLED, A.TRANSFER): Move(S.WAITING, frozenset({E.BACK_IN_QUEUE})),
        (S.SERVING, A.TRANSFER): Move(S.WAITING, frozenset({E.BACK_IN_QUEUE})),
        (S.WAITING, A.CLOSE): Move(S.CLOSED, frozenset({E.TELL_CLOSED})),
    },
)

# What a ticket's move does to the appointment it was checked in for.
APPOINTMENT_FOLLOWS: dict[S, AppointmentAction] = {
    S.DONE: AppointmentAction.SERVE,
    S.NO_SHOW: AppointmentAction.NO_SHOW,
    S.CANCELLED: AppointmentAction.TICKET_CANCELLED,
}


def recall(call_count: int, calls_before_no_show: int) -> TicketAction:
    """Calling a called ticket again: once more, or, past the site's number of calls, nobody
    came."""
    return A.GIVE_UP if call_count >= calls_before_no_show else A.RECALL
