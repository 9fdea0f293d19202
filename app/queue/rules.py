"""The life of a ticket, as a table of moves (see `app/lifecycle.py`)."""

from __future__ import annotations

from enum import StrEnum

from app.booking.rules import AppointmentAction
from app.lifecycle import Lifecycle
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
    ARRIVE = "arrive"  # a remote ticket's holder is there: in the queue
    NOT_ARRIVED = "not_arrived"  # a remote ticket passed over, its holder not there in time


class TicketEffect(StrEnum):
    FIRST_CALL = "first_call"  # a station, called_at, first_called_at, one call
    ONE_MORE_CALL = "one_more_call"
    STAMP_STARTED = "stamp_started"
    STAMP_FINISHED = "stamp_finished"
    RECORD_VISIT = "record_visit"
    BACK_IN_QUEUE = "back_in_queue"  # no station, not called, arrival time kept
    TELL_CLOSED = "tell_closed"
    PLACE_ON_ARRIVAL = "place_on_arrival"  # in the queue from when it joined (capped)


A = TicketAction
E = TicketEffect

TICKET = Lifecycle.table(
    "ticket",
    start=S.WAITING,
    also_starts={S.REMOTE},
    ends={S.DONE, S.NO_SHOW, S.CANCELLED, S.CLOSED},
    rows=[
        # from, action, to, effects
        ({S.REMOTE}, A.ARRIVE, S.WAITING, {E.PLACE_ON_ARRIVAL}),
        ({S.REMOTE}, A.NOT_ARRIVED, S.CLOSED, ()),
        ({S.WAITING}, A.CALL, S.CALLED, {E.FIRST_CALL}),
        ({S.CALLED}, A.RECALL, S.CALLED, {E.ONE_MORE_CALL}),
        ({S.CALLED}, A.GIVE_UP, S.NO_SHOW, ()),
        ({S.CALLED}, A.START, S.SERVING, {E.STAMP_STARTED}),
        ({S.SERVING}, A.FINISH, S.DONE, {E.STAMP_FINISHED, E.RECORD_VISIT}),
        ({S.CALLED}, A.NO_SHOW, S.NO_SHOW, ()),
        ({S.REMOTE, S.WAITING, S.CALLED}, A.CANCEL, S.CANCELLED, ()),
        ({S.WAITING, S.CALLED, S.SERVING}, A.TRANSFER, S.WAITING, {E.BACK_IN_QUEUE}),
        ({S.REMOTE, S.WAITING}, A.CLOSE, S.CLOSED, {E.TELL_CLOSED}),
    ],
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
