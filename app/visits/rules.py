"""The life of a request sent on to a department, as a table of moves (see
`app/lifecycle.py`): it only moves forward, and each step is told to the usager."""

from __future__ import annotations

from enum import StrEnum

from app.lifecycle import Lifecycle
from app.visits.models import EscalationStatus as S


class EscalationAction(StrEnum):
    START = "start"
    ANSWER = "answer"
    CLOSE = "close"


class EscalationEffect(StrEnum):
    STAMP_ANSWERED = "stamp_answered"
    STAMP_CLOSED = "stamp_closed"


A = EscalationAction
E = EscalationEffect

ESCALATION = Lifecycle.table(
    "escalation",
    start=S.RECEIVED,
    ends={S.CLOSED},
    rows=[
        # from, action, to, effects
        ({S.RECEIVED}, A.START, S.IN_PROGRESS, ()),
        ({S.RECEIVED, S.IN_PROGRESS}, A.ANSWER, S.ANSWERED, {E.STAMP_ANSWERED}),
        ({S.RECEIVED, S.IN_PROGRESS}, A.CLOSE, S.CLOSED, {E.STAMP_ANSWERED, E.STAMP_CLOSED}),
        ({S.ANSWERED}, A.CLOSE, S.CLOSED, {E.STAMP_CLOSED}),
    ],
)

# The status a manager or the department asks for, as the action that leads there.
TOWARDS: dict[S, EscalationAction] = {
    S.IN_PROGRESS: A.START,
    S.ANSWERED: A.ANSWER,
    S.CLOSED: A.CLOSE,
}
