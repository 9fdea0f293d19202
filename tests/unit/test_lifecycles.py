"""The lifecycles of appointments, tickets and requests sent on, as tables: every state is
reachable and has a way to an end, nothing moves from an end, and a walk of any actions
moves exactly as the table says and stays put where it says no."""

from __future__ import annotations

from collections import deque
from enum import StrEnum
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.booking.models import AppointmentStatus
from app.booking.rules import APPOINTMENT, AppointmentAction
from app.lifecycle import Lifecycle, Move, NotAllowed
from app.queue.models import TicketStatus
from app.queue.rules import APPOINTMENT_FOLLOWS, TICKET, TicketAction, TicketEffect, recall
from app.visits.models import EscalationStatus
from app.visits.rules import ESCALATION, TOWARDS, EscalationAction

LIFECYCLES: list[tuple[Lifecycle[Any, Any, Any], type[StrEnum], type[StrEnum]]] = [
    (APPOINTMENT, AppointmentStatus, AppointmentAction),
    (TICKET, TicketStatus, TicketAction),
    (ESCALATION, EscalationStatus, EscalationAction),
]
each = pytest.mark.parametrize(
    ("lifecycle", "states", "actions"), LIFECYCLES, ids=[lc[0].name for lc in LIFECYCLES]
)


@each
def test_every_state_is_reachable_from_the_start(
    lifecycle: Lifecycle[Any, Any, Any], states: type[StrEnum], actions: type[StrEnum]
) -> None:
    assert lifecycle.reachable() == set(states)


@each
def test_every_state_has_a_way_to_an_end(
    lifecycle: Lifecycle[Any, Any, Any], states: type[StrEnum], actions: type[StrEnum]
) -> None:
    for state in states:
        seen, queue = {state}, deque([state])
        while queue and not seen & lifecycle.ends:
            here = queue.popleft()
            for action in actions:
                if lifecycle.allows(here, action):
                    there = lifecycle.move(here, action).to
                    if there not in seen:
                        seen.add(there)
                        queue.append(there)
        assert seen & lifecycle.ends, f"{state} never ends"


@each
def test_nothing_moves_from_an_end(
    lifecycle: Lifecycle[Any, Any, Any], states: type[StrEnum], actions: type[StrEnum]
) -> None:
    assert lifecycle.ends
    for end in lifecycle.ends:
        for action in actions:
            assert not lifecycle.allows(end, action)
            with pytest.raises(NotAllowed):
                lifecycle.move(end, action)


@each
def test_every_action_is_taken_from_some_state_and_every_move_is_within_the_states(
    lifecycle: Lifecycle[Any, Any, Any], states: type[StrEnum], actions: type[StrEnum]
) -> None:
    assert {action for _, action in lifecycle.moves} == set(actions)
    assert {move.to for move in lifecycle.moves.values()} <= set(states)
    assert {state for state, _ in lifecycle.moves} <= set(states) - lifecycle.ends


@each
@given(data=st.data())
def test_a_walk_of_any_actions_moves_exactly_as_the_table_says(
    lifecycle: Lifecycle[Any, Any, Any],
    states: type[StrEnum],
    actions: type[StrEnum],
    data: st.DataObject,
) -> None:
    walk = data.draw(st.lists(st.sampled_from(list(actions)), max_size=12))
    state = lifecycle.start
    for action in walk:
        expected: Move[Any, Any] | None = lifecycle.moves.get((state, action))
        if expected is None:
            with pytest.raises(NotAllowed) as refused:
                lifecycle.move(state, action)
            assert (refused.value.lifecycle, refused.value.state, refused.value.action) == (
                lifecycle.name,
                state,
                action,
            )
        else:
            move = lifecycle.move(str(state), action)  # as read from a row: a plain string
            assert move == expected
            state = move.to
    assert state in set(states)


@each
def test_a_state_the_table_does_not_know_is_refused_not_an_error(
    lifecycle: Lifecycle[Any, Any, Any], states: type[StrEnum], actions: type[StrEnum]
) -> None:
    action = next(iter(actions))
    assert not lifecycle.allows("lost", action)
    with pytest.raises(NotAllowed):
        lifecycle.move("lost", action)


def test_a_ticket_is_served_only_once_called_and_finished_only_while_served() -> None:
    assert TICKET.from_states(TicketAction.START) == {TicketStatus.CALLED}
    assert TICKET.from_states(TicketAction.FINISH) == {TicketStatus.SERVING}
    assert TICKET.from_states(TicketAction.CALL) == {TicketStatus.WAITING}
    assert TICKET.from_states(TicketAction.CANCEL) == {
        TicketStatus.REMOTE,
        TicketStatus.WAITING,
        TicketStatus.CALLED,
    }
    assert TICKET.from_states(TicketAction.CLOSE) == {TicketStatus.REMOTE, TicketStatus.WAITING}
    assert TICKET.move("serving", TicketAction.TRANSFER).to == TicketStatus.WAITING


def test_a_ticket_taken_from_a_phone_is_never_called_before_it_arrives() -> None:
    assert TicketStatus.REMOTE in TICKET.also_starts
    assert not TICKET.allows("remote", TicketAction.CALL)
    assert TICKET.move("remote", TicketAction.ARRIVE).to == TicketStatus.WAITING
    assert TICKET.move("remote", TicketAction.NOT_ARRIVED).to == TicketStatus.CLOSED
    assert TICKET.from_states(TicketAction.ARRIVE) == {TicketStatus.REMOTE}


def test_a_called_ticket_is_given_up_at_exactly_the_sites_number_of_calls() -> None:
    assert recall(call_count=2, calls_before_no_show=3) == TicketAction.RECALL
    assert recall(call_count=3, calls_before_no_show=3) == TicketAction.GIVE_UP
    assert recall(call_count=4, calls_before_no_show=3) == TicketAction.GIVE_UP
    assert TICKET.move("called", TicketAction.GIVE_UP).to == TicketStatus.NO_SHOW


def test_the_appointment_follows_its_ticket_to_each_end_but_closing() -> None:
    assert set(APPOINTMENT_FOLLOWS) == TICKET.ends - {TicketStatus.CLOSED}
    for action in APPOINTMENT_FOLLOWS.values():
        assert APPOINTMENT.from_states(action) == {AppointmentStatus.CHECKED_IN}


def test_only_a_booked_appointment_is_cancelled_called_off_or_checked_in() -> None:
    for action in (
        AppointmentAction.CANCEL,
        AppointmentAction.RELEASE,
        AppointmentAction.CALL_OFF,
        AppointmentAction.CHECK_IN,
        AppointmentAction.MISS,
    ):
        assert APPOINTMENT.from_states(action) == {AppointmentStatus.BOOKED}


def test_a_request_only_moves_forward_and_each_status_has_its_way_there() -> None:
    order = list(EscalationStatus)
    for state in EscalationStatus:
        for target, action in TOWARDS.items():
            forward = order.index(target) > order.index(state)
            assert ESCALATION.allows(state, action) == forward, (state, target)
    assert set(TOWARDS) == set(EscalationStatus) - {ESCALATION.start}


def test_every_effect_of_a_ticket_move_has_its_handler() -> None:
    from app.queue.commands import TICKET_EFFECTS

    assert set(TICKET_EFFECTS) == set(TicketEffect)


def test_what_each_ticket_move_does_besides_changing_its_status() -> None:
    a, e = TicketAction, TicketEffect
    assert TICKET.move("waiting", a.CALL).effects == {e.FIRST_CALL}
    assert TICKET.move("called", a.RECALL).effects == {e.ONE_MORE_CALL}
    assert TICKET.move("called", a.START).effects == {e.STAMP_STARTED}
    assert TICKET.move("serving", a.FINISH).effects == {e.STAMP_FINISHED, e.RECORD_VISIT}
    assert TICKET.move("waiting", a.CLOSE).effects == {e.TELL_CLOSED}
    for state in ("waiting", "called", "serving"):
        assert TICKET.move(state, a.TRANSFER).effects == {e.BACK_IN_QUEUE}
    for state, action in (("called", a.GIVE_UP), ("called", a.NO_SHOW), ("waiting", a.CANCEL)):
        assert TICKET.move(state, action).effects == set()
    assert TICKET.move("called", a.CANCEL).effects == set()


def test_what_each_appointment_move_does_besides_changing_its_status() -> None:
    from app.booking.rules import AppointmentEffect as E

    a = AppointmentAction
    assert APPOINTMENT.move("booked", a.CANCEL).effects == {E.STAMP_CANCELLED, E.TELL_CANCELLED}
    assert APPOINTMENT.move("booked", a.RELEASE).effects == {E.STAMP_CANCELLED, E.TELL_RELEASED}
    assert APPOINTMENT.move("booked", a.CALL_OFF).effects == {
        E.STAMP_CANCELLED,
        E.TELL_CALLED_OFF,
    }
    assert APPOINTMENT.move("booked", a.CANCEL).to == AppointmentStatus.CANCELLED
    assert APPOINTMENT.move("booked", a.RELEASE).to == AppointmentStatus.CANCELLED
    assert APPOINTMENT.move("booked", a.CALL_OFF).to == AppointmentStatus.CALLED_OFF
    assert APPOINTMENT.move("booked", a.MOVE).to == AppointmentStatus.BOOKED
    assert APPOINTMENT.move("booked", a.MISS).to == AppointmentStatus.NO_SHOW
    assert APPOINTMENT.move("booked", a.CHECK_IN).to == AppointmentStatus.CHECKED_IN
    assert APPOINTMENT.move("checked_in", a.SERVE).to == AppointmentStatus.SERVED
    assert APPOINTMENT.move("checked_in", a.NO_SHOW).to == AppointmentStatus.NO_SHOW
    assert APPOINTMENT.move("checked_in", a.TICKET_CANCELLED).to == AppointmentStatus.CANCELLED
    for state, action in (
        ("booked", a.MOVE),
        ("booked", a.MISS),
        ("booked", a.CHECK_IN),
        ("checked_in", a.SERVE),
        ("checked_in", a.NO_SHOW),
        ("checked_in", a.TICKET_CANCELLED),
    ):
        assert APPOINTMENT.move(state, action).effects == set()


def test_a_request_is_stamped_answered_and_closed_when_it_gets_there() -> None:
    from app.visits.rules import EscalationEffect as E

    a = EscalationAction
    assert ESCALATION.move("received", a.START).effects == set()
    assert ESCALATION.move("received", a.ANSWER).effects == {E.STAMP_ANSWERED}
    assert ESCALATION.move("in_progress", a.ANSWER).effects == {E.STAMP_ANSWERED}
    assert ESCALATION.move("received", a.CLOSE).effects == {E.STAMP_ANSWERED, E.STAMP_CLOSED}
    assert ESCALATION.move("in_progress", a.CLOSE).effects == {E.STAMP_ANSWERED, E.STAMP_CLOSED}
    assert ESCALATION.move("answered", a.CLOSE).effects == {E.STAMP_CLOSED}
    assert [TOWARDS[s] for s in list(EscalationStatus)[1:]] == [a.START, a.ANSWER, a.CLOSE]


def test_reachable_follows_the_moves_one_step_at_a_time() -> None:
    only_start = Lifecycle(
        name="x", start=TicketStatus.WAITING, ends=frozenset({TicketStatus.DONE}), moves={}
    )
    chain = Lifecycle(
        name="x",
        start=TicketStatus.WAITING,
        ends=frozenset({TicketStatus.DONE}),
        moves={
            (TicketStatus.WAITING, TicketAction.CALL): Move(TicketStatus.CALLED),
            (TicketStatus.CALLED, TicketAction.START): Move(TicketStatus.SERVING),
            (TicketStatus.SERVING, TicketAction.FINISH): Move(TicketStatus.DONE),
            (TicketStatus.CLOSED, TicketAction.CALL): Move(TicketStatus.CANCELLED),
        },
    )
    assert only_start.reachable() == {TicketStatus.WAITING}
    assert chain.reachable() == {
        TicketStatus.WAITING,
        TicketStatus.CALLED,
        TicketStatus.SERVING,
        TicketStatus.DONE,
    }
    assert chain.from_states(TicketAction.CALL) == {TicketStatus.WAITING, TicketStatus.CLOSED}
    assert str(NotAllowed("ticket", "done", "call")) == "ticket: no call from done"
