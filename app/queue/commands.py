"""Queue operations that change data: issue a walk-in's ticket, check a booked person in,
call the next ticket, move a ticket along its lifecycle (`rules.TICKET`), let a waiting
ticket's holder leave the queue from their phone. Closing time is `closing`'s, a phone's
ticket `remote`'s.

Every change to a site's queue runs under that site's queue lock, takes the next `seq`
and leaves a TicketEvent saying who did it and when (`recording`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from app import events, locking
from app.booking.commands import move_appointment, new_token
from app.booking.contacts import texting_number
from app.booking.models import Appointment
from app.booking.queries import get_needs, get_service, requirement_of
from app.booking.rules import APPOINTMENT, AppointmentAction
from app.db import writing
from app.errors import BadRequest, Conflict, NotFound
from app.queue import numbering, views
from app.queue.messages import about
from app.queue.models import QueueCounter, Ticket, TicketStatus
from app.queue.ordering import next_ticket
from app.queue.queries import (
    ToCall,
    appointment_here,
    caller,
    check_in_allowed,
    clean_reason,
    held_at,
    late_placement,
    locked,
    shown,
    site_of,
    station_to_call,
    threshold,
    to_call,
    today,
)
from app.queue.recording import count_up, lock_queue, record
from app.queue.rules import APPOINTMENT_FOLLOWS, TICKET, TicketAction, TicketEffect, recall
from app.sites.models import Need, Service, Site
from app.sites.opening import is_open, open_day
from app.sites.service import get_site, station_outages
from app.visits import service as visits

LATEST_ARRIVAL = select(func.max(Ticket.arrived_at)).where(
    Ticket.site_id == bindparam("site"), Ticket.day == bindparam("day")
)  # built once: read by every walk-in and check-in


async def new_ticket(
    session: AsyncSession,
    site: Site,
    service: Service,
    chosen: list[Need],
    *,
    now: datetime,
    appointment: Appointment | None = None,
    priority: bool = False,
    phone: str | None = None,
    keeps_time: bool = True,
    late: bool = False,
    status: TicketStatus = TicketStatus.WAITING,
) -> Ticket:
    """A waiting (or `status`) ticket at the station the service and the `chosen` needs call for; an
    appointment's keeps its booked time in the queue unless `keeps_time` is false (a late
    arrival placed as a walk-in arriving now)."""
    day = today(site, now)
    need = requirement_of(service, chosen)
    letter = numbering.letter(appointment=appointment is not None, double=need.kind == "double")
    # Arrivals follow the issue order (numbers, ids): a request that read the clock before
    # another one took the queue's lock first does not arrive before it.
    latest = await session.scalar(LATEST_ARRIVAL, {"site": site.id, "day": day})
    arrived_at = max(now, latest) if latest is not None else now
    counter = await count_up(
        session, QueueCounter, {"site_id": site.id, "day": day, "letter": letter}, QueueCounter.last
    )
    ticket = Ticket(
        site_id=site.id,
        day=day,
        number=numbering.ticket_number(letter, counter),
        token=new_token(),
        service_id=service.id,
        needs=[n.code for n in chosen],
        station_kind=need.kind,
        requires_accessible=need.accessible,
        priority=priority,
        phone=phone,
        appointment_id=appointment.id if appointment else None,
        due_at=appointment.starts_at if appointment and keeps_time else None,
        late=late,
        status=status,
        arrived_at=arrived_at,
        call_count=0,
        updated_at=now,
    )
    session.add(ticket)
    await session.flush()
    shown(ticket, site, service)
    return ticket


async def issue_walk_in(
    session: AsyncSession,
    site: Site | str,
    *,
    service_code: str,
    needs: tuple[str, ...] = (),
    priority: bool = False,
    phone: str | None = None,
    agent_id: int | None,
    now: datetime,
    force_reason: str | None = None,
) -> Ticket:
    """A walk-in's ticket, numbered atomically for the site's day. Its phone, if given, is
    for a text when the turn is near: a mobile number only. While the mairie is closed,
    only staff forcing it with a reason (kept in the ticket's history) get one."""
    phone = texting_number(phone) if phone else None
    reason = clean_reason(force_reason)
    async with writing(session):
        if isinstance(site, str):  # a slug; else the site the caller read
            site = await get_site(session, site)
        service = await get_service(session, service_code)
        chosen = await get_needs(session, needs)
        if is_open(await open_day(session, site, now), now):
            reason = None
        elif reason is None:
            raise Conflict(
                f"{site.name} is closed now: no walk-in ticket is issued while it is closed. "
                "Staff may force one, saying why.",
                code="site_closed",
            )
        await lock_queue(session, site.id)
        ticket = await new_ticket(
            session, site, service, chosen, now=now, priority=priority, phone=phone
        )
        await record(session, ticket, "issued", now, agent_id=agent_id, reason=reason)
    return ticket


async def check_in(
    session: AsyncSession, slug: str, reference: str, *, agent_id: int | None, now: datetime
) -> Ticket:
    """The booked person has arrived: their ticket joins the queue for their booked time."""
    async with writing(session):
        site = await get_site(session, slug)
        appointment = await appointment_here(session, site, reference)
        await lock_queue(session, site.id)
        await locking.lock_row(session, appointment)
        check_in_allowed(site, appointment, now, await open_day(session, site, now))
        late, keeps_time = late_placement(site, appointment.starts_at, now)
        service = await session.get(Service, appointment.service_id)
        assert service is not None
        chosen = await get_needs(session, tuple(appointment.needs), retired=True)
        ticket = await new_ticket(
            session,
            site,
            service,
            chosen,
            now=now,
            appointment=appointment,
            phone=appointment.phone,
            keeps_time=keeps_time,
            late=late,
        )
        ticket.language = appointment.language  # its texts go in the language booked in
        move_appointment(appointment, AppointmentAction.CHECK_IN, now)
        await record(
            session, ticket, "checked_in_late" if late else "checked_in", now, agent_id=agent_id
        )
    return ticket


async def call_next(
    session: AsyncSession,
    asking: ToCall | int,
    *,
    agent_id: int | None,
    now: datetime,
    busy_with: Collection[int] | None = None,
) -> Ticket | None:
    """Give the station `asking` (its id, or what the caller read of it to authorize the call:
    `queries.station_to_call`) the next ticket it may serve; None when nobody is waiting
    for it. Nobody waiting and no station out of service: answered without the lock.
    With `busy_with` (the console's call), refused (`station_busy`) while the station holds
    a ticket called or served other than those: the person at the console was asked about
    these, and no two calls made at once both pass."""
    ahead = await station_to_call(session, asking, now) if isinstance(asking, int) else asking
    if not ahead.anyone and not ahead.outage:
        return None
    station, outage = ahead.station, ahead.outage
    async with writing(session):
        site = station.site
        await lock_queue(session, site.id)
        if busy_with is not None:
            held = await held_at(session, station, now)
            if set(held) - set(busy_with):
                raise Conflict(
                    f"{station.name} still has {', '.join(held.values())}: finish first.",
                    code="station_busy",
                )
        later = now + timedelta(microseconds=1)
        outages = await station_outages(session, site, now, later) if outage else []
        if any(outage.station_id == station.id for outage in outages):
            raise Conflict(
                f"{station.name} is out of service now: call from another station.",
                code="station_out_of_service",
            )
        calling = await to_call(session, site, now)
        out = {outage.station_id for outage in outages}
        in_service = [can for station_id, can in calling.stations if station_id not in out]
        chosen = next_ticket(calling.waiting, caller(station), now, threshold(site), in_service)
        if chosen is None:
            return None
        ticket = await locked(session, chosen.id)
        assert ticket is not None  # read under the same lock as the waiting tickets
        ticket.status = TICKET.move(ticket.status, TicketAction.CALL).to
        ticket.station_id = station.id
        set_committed_value(ticket, "station", station)  # what the answer shows
        # After the call made while this one waited for the lock, if one was.
        latest = calling.latest
        called_at = now if latest is None or latest < now else latest + timedelta(milliseconds=1)
        ticket.called_at = called_at
        ticket.first_called_at = ticket.first_called_at or called_at
        ticket.call_count = 1
        await record(session, ticket, "called", called_at, agent_id=agent_id)
        # A text to each walk-in with a phone number who is now among the next few.
        others = [w for w in calling.waiting if w.id != ticket.id]
        phones = calling.with_phone - {ticket.id}
        for near in await views.turn_near(session, site, others, now) if phones else []:
            await events.record(
                session,
                events.TicketTurnNear(
                    at=now, **await about(session, near, site, near.service.name, person=False)
                ),
            )
    return ticket


REFUSALS = {
    TicketAction.RECALL: "Only a called ticket can be called again.",
    TicketAction.START: "Only a called ticket can start being served.",
    TicketAction.FINISH: "Only a ticket being served can be finished.",
    TicketAction.NO_SHOW: "Only a called ticket can be marked absent.",
    TicketAction.CANCEL: "Only a waiting or called ticket can be cancelled.",
    TicketAction.TRANSFER: "A ticket that is done, absent or cancelled cannot be transferred.",
}


@dataclass
class Moving:
    """A ticket being moved by `act()`, with what its effects need."""

    session: AsyncSession
    ticket: Ticket
    site: Site
    now: datetime
    agent_id: int | None
    report: visits.VisitReport | None
    service_code: str | None
    station_kind: str | None


async def act(
    session: AsyncSession,
    ticket_id: int,
    action: str,
    *,
    agent_id: int | None,
    now: datetime,
    service_code: str | None = None,
    station_kind: str | None = None,
    report: visits.VisitReport | None = None,
    holder: bool = False,
    station_id: int | None = None,
    site: Site | None = None,
) -> Ticket:
    """Move a ticket along: recall, start, finish, no_show, cancel or transfer, as the
    ticket's lifecycle (`app/queue/rules.py`) allows. Finishing records the visit from the
    facilitator's `report`. Its `holder` (`leave()`) only cancels it while it waits; a
    station (`station_id`) moves it only while it waits or is held there (409
    `other_station` when it is called or served at another). `site`: the ticket's, when
    the caller read it (a ticket never changes site)."""
    asked = TicketAction(action)
    async with writing(session):
        if site is None:
            found = await session.get(Ticket, ticket_id)
            if found is None:
                raise NotFound(f"No ticket has the id {ticket_id}.")
            site = await site_of(session, found.site_id)
        await lock_queue(session, site.id)
        ticket = await locked(session, ticket_id)
        if ticket is None or ticket.site_id != site.id:
            raise NotFound(f"No ticket has the id {ticket_id}.")
        if holder and ticket.status not in (TicketStatus.WAITING, TicketStatus.REMOTE):
            status = ticket.status.replace("_", " ")
            detail = f"Only a waiting ticket can leave the queue: {ticket.number} is {status}."
            raise Conflict(detail, code="cannot_leave")
        held = ticket.status in (TicketStatus.CALLED, TicketStatus.SERVING)
        if station_id is not None and held and ticket.station_id != station_id:
            raise Conflict(
                f"Ticket {ticket.number} is {ticket.status} at another station.",
                code="other_station",
            )
        if asked not in REFUSALS or not TICKET.allows(ticket.status, asked):
            raise Conflict(
                f"{REFUSALS.get(asked, '')} Ticket {ticket.number} is "
                f"{ticket.status.replace('_', ' ')}.".lstrip(),
                code=f"cannot_{action}",
            )
        if report is not None:
            visits.check(report)
        taken = (
            recall(ticket.call_count, site.no_show_after_calls)
            if asked == TicketAction.RECALL
            else asked
        )
        move = TICKET.move(ticket.status, taken)
        ticket.status = move.to
        ticket.updated_at = now  # with the move's own UPDATE, whichever statement flushes it
        moving = Moving(session, ticket, site, now, agent_id, report, service_code, station_kind)
        for effect in TicketEffect:
            if effect in move.effects:
                await TICKET_EFFECTS[effect](moving)
        follows = APPOINTMENT_FOLLOWS.get(move.to)
        if ticket.appointment_id is not None and follows is not None:
            appointment = await session.get(Appointment, ticket.appointment_id)
            if appointment is not None and APPOINTMENT.allows(appointment.status, follows):
                appointment.status = APPOINTMENT.move(appointment.status, follows).to
                appointment.updated_at = now
        recorded = "no_show" if taken == TicketAction.GIVE_UP else action
        await record(session, ticket, recorded, now, agent_id=agent_id)
        if asked == TicketAction.TRANSFER:
            # It changes the service and station the answer shows: read them again here,
            # under the lock, not after the commit, when another move may have come.
            ticket.station_id = None
            await session.flush()
            await session.refresh(ticket, ["service", "station"])
    return ticket


async def leave(session: AsyncSession, token: str, *, now: datetime) -> Ticket:
    """The holder leaves the queue from their phone, by the token of its link: their
    waiting ticket is cancelled as at a desk (the screens and the others' places follow
    from the same event), with no agent in its history. 404 for a token that is no
    ticket's; 409 `cannot_leave` once the ticket is called, or over."""
    found = await views.by_token(session, token, now)
    return await act(
        session, found.ticket.id, TicketAction.CANCEL, agent_id=None, now=now, holder=True
    )


async def _one_more_call(moving: Moving) -> None:
    moving.ticket.call_count += 1
    moving.ticket.called_at = moving.now


async def _started(moving: Moving) -> None:
    moving.ticket.started_at = moving.now


async def _finished(moving: Moving) -> None:
    moving.ticket.finished_at = moving.now


async def _record_visit(moving: Moving) -> None:
    """Record the visit and write its follow-up."""
    session, ticket, site, now = moving.session, moving.ticket, moving.site, moving.now
    report = moving.report or visits.VisitReport()
    recorded = await visits.record(session, ticket, site, report, agent_id=moving.agent_id, now=now)
    service = await session.get_one(Service, ticket.service_id)
    escalation = recorded.escalation
    over = events.VisitOver(
        at=now,
        **await about(session, ticket, site, service.name_in(ticket.language)),
        done=tuple(s.name_in(ticket.language) for s in recorded.services),
        outcome=recorded.visit.outcome,
        escalation=(
            {"reference": escalation.reference, "department": escalation.department.name}
            if escalation
            else None
        ),
    )
    await events.record(session, over)


async def _back_in_queue(moving: Moving) -> None:
    """Back in the queue for another service or station kind; the arrival time is kept."""
    ticket, service_code, station_kind = moving.ticket, moving.service_code, moving.station_kind
    if not (service_code or station_kind) or station_kind not in (None, "standard", "double"):
        where = "a service, a station kind (standard or double), or both"
        raise BadRequest(f"Say where to transfer the ticket: {where}.", code="transfer_nowhere")
    if service_code is not None:
        service = await get_service(moving.session, service_code)
        chosen = await get_needs(moving.session, tuple(ticket.needs))
        ticket.service_id = service.id
        ticket.station_kind = requirement_of(service, chosen).kind
    if station_kind is not None:
        ticket.station_kind = station_kind
    ticket.called_at = None
    ticket.call_count = 0
    ticket.started_at = None


async def _not_through_act(moving: Moving) -> None:
    raise AssertionError("calling and closing are not moves of act()")


TICKET_EFFECTS: dict[TicketEffect, Callable[[Moving], Awaitable[None]]] = {
    TicketEffect.FIRST_CALL: _not_through_act,  # call_next()
    TicketEffect.ONE_MORE_CALL: _one_more_call,
    TicketEffect.STAMP_STARTED: _started,
    TicketEffect.STAMP_FINISHED: _finished,
    TicketEffect.RECORD_VISIT: _record_visit,
    TicketEffect.BACK_IN_QUEUE: _back_in_queue,
    TicketEffect.TELL_CLOSED: _not_through_act,  # close_waiting()
    TicketEffect.PLACE_ON_ARRIVAL: _not_through_act,  # remote.arrive()
}
