"""The queue API: tickets, check-ins, the queue view, calls and moves, and tracking."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import ResponseSpec
from litestar.params import JSONBody, PathParameter
from litestar.types import AnyCallable

from app.accounts.actors import Actor
from app.accounts.guards import STAFF_SECURITY, Caller
from app.accounts.service import STAFF_ROLES, authorize
from app.booking.schemas import Token
from app.live import presence
from app.problems import problem_responses
from app.queue import commands, queries, views
from app.queue.models import Ticket, TicketStatus
from app.shapes import from_model
from app.sites.schemas import Slug, StationRef
from app.sites.service import get_site
from app.visits import service as visits
from app.visits.commands import ActivityIn
from app.visits.service import VisitReport
from app.web.api import StaffApi
from app.web.context import Context

RECEPTION = frozenset({"reception", "manager"})
FACILITATORS = frozenset({"facilitator", "manager"})
ANY_DESK = frozenset({"reception", "facilitator", "manager"})
Id = Annotated[int, PathParameter(ge=1, le=2**31 - 1)]


Code = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]


class WalkInIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    service: Code
    priority: bool = False
    needs: Annotated[list[Code], msgspec.Meta(max_length=10)] = msgspec.field(default_factory=list)
    phone: Annotated[str, msgspec.Meta(max_length=32)] | None = None
    force_reason: (
        Annotated[
            str,
            msgspec.Meta(
                max_length=200,
                description="Staff forcing a ticket while the mairie is closed say why "
                "(kept in the ticket's history)",
            ),
        ]
        | None
    ) = None


class CheckInIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    reference: Annotated[str, msgspec.Meta(min_length=1, max_length=16)]


class TransferIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    service: Code | None = None
    station_kind: Literal["standard", "double"] | None = None


class VisitIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """What was done: the services (default: the ticket's), the outcome, a note, the
    expert department a request is sent on to (outcome escalated), and the activity
    record in La Coop de la médiation numérique's values (left out: the visit has none,
    and the activities' export and figures do not count it)."""

    services: Annotated[list[Code], msgspec.Meta(max_length=20)] = msgspec.field(
        default_factory=list
    )
    outcome: Literal["solved", "alone", "escalated", "unhelped", "unrecorded"] = "unrecorded"
    note: Annotated[str, msgspec.Meta(max_length=2000)] = ""
    department: Code | None = None
    activity: ActivityIn | None = None

    def report(self) -> VisitReport:
        return VisitReport(
            services=list(self.services),
            outcome=self.outcome,
            note=self.note,
            department=self.department,
            activity=self.activity.report() if self.activity is not None else None,
        )


class TicketOut(msgspec.Struct, kw_only=True):
    id: int
    number: str
    token: str
    status: str
    position: int | None
    eta_minutes: tuple[int, int] | None
    station: StationRef | None
    service: str
    service_name: str
    needs: list[str]
    priority: bool
    kind: Literal["walk_in", "appointment", "remote"]
    late: bool
    arrived_at: datetime
    due_at: datetime | None
    called_at: datetime | None
    call_count: int


class QueueOut(msgspec.Struct, kw_only=True):
    seq: int
    screens: int
    waiting: list[TicketOut]
    called: list[TicketOut]
    serving: list[TicketOut]
    # Taken from phones, their holders not there yet: in line, never called.
    remote: list[TicketOut] = msgspec.field(default_factory=list)


class RequestTracking(msgspec.Struct, kw_only=True):
    """A request sent on to an expert department after the visit."""

    reference: str
    department: str
    status: Literal["received", "in_progress", "answered", "closed"]
    updated_at: datetime


class TicketTracking(msgspec.Struct, kw_only=True):
    number: str
    status: str
    position: int | None
    eta_minutes: tuple[int, int] | None
    station: str | None
    service_name: str
    site: str
    called_at: datetime | None
    escalation: RequestTracking | None = None
    # A ticket taken from a phone whose turn came while its holder was away: kept until.
    held_until: datetime | None = None


def _local(value: datetime | None, tz: ZoneInfo) -> datetime | None:
    return value.astimezone(tz) if value else None


def ticket_out(view: views.TicketView, tz: ZoneInfo) -> TicketOut:
    ticket = view.ticket
    return from_model(
        ticket,
        TicketOut,
        position=view.position,
        eta_minutes=view.eta_minutes,
        station=StationRef(id=ticket.station.id, name=ticket.station.name)
        if ticket.station
        else None,
        service=ticket.service.code,
        service_name=ticket.service.name,
        needs=list(ticket.needs),
        kind=kind_of(ticket),
        arrived_at=ticket.arrived_at.astimezone(tz),
        due_at=_local(ticket.due_at, tz),
        called_at=_local(ticket.called_at, tz),
    )


def kind_of(ticket: Ticket) -> Literal["walk_in", "appointment", "remote"]:
    """Booked, taken from a phone (it gave a travel time), or given at the desk."""
    if ticket.appointment_id:
        return "appointment"
    return "remote" if ticket.travel_minutes is not None else "walk_in"


async def ticket_body(context: Context, ticket: Ticket) -> TicketOut:
    site = await queries.site_of_ticket(context.session, ticket)
    view = await views.view_of(context.session, ticket, context.now, site)
    return ticket_out(view, ZoneInfo(site.timezone))


async def move_ticket(
    ticket_id: int,
    action: str,
    roles: frozenset[str],
    actor: Actor,
    context: Context,
    transfer: TransferIn | None = None,
    report: VisitReport | None = None,
) -> TicketOut:
    """Authorize `actor` at the ticket's site, then move the ticket along."""
    ticket = await queries.get_ticket(context.session, ticket_id)
    site = await queries.site_of(context.session, ticket.site_id)
    authorize(actor, roles=roles, site=site)
    moved = await commands.act(
        context.session,
        ticket_id,
        action,
        site=site,
        agent_id=actor.agent_id,
        now=context.now,
        service_code=transfer.service if transfer else None,
        station_kind=transfer.station_kind if transfer else None,
        report=report,
    )
    return await ticket_body(context, moved)


class QueueController(StaffApi):
    path = "/api/v1"
    tags = ["queue"]

    @post(
        "/sites/{slug:str}/tickets",
        summary="Issue a walk-in ticket",
        description="Reception, or a facilitator where the site lets facilitators issue "
        "tickets. While the mairie is closed: 409 `site_closed`, unless `force_reason` says why.",
        responses=problem_responses(409),
    )
    async def issue(
        self,
        slug: Slug,
        data: JSONBody[WalkInIn],
        caller: NamedDependency[Caller],
    ) -> TicketOut:
        site = await get_site(caller.session, slug)
        authorize(caller.actor, roles=queries.issuers(site), site=site)
        ticket = await commands.issue_walk_in(
            caller.session,
            site,
            service_code=data.service,
            needs=tuple(data.needs),
            priority=data.priority,
            phone=data.phone,
            agent_id=caller.actor.agent_id,
            now=caller.now,
            force_reason=data.force_reason,
        )
        return await ticket_body(caller.context, ticket)

    @post(
        "/sites/{slug:str}/check-ins",
        summary="The booked person has arrived",
        responses=problem_responses(409),
    )
    async def check_in(
        self,
        slug: Slug,
        data: JSONBody[CheckInIn],
        caller: NamedDependency[Caller],
    ) -> TicketOut:
        authorize(caller.actor, roles=RECEPTION, site=await get_site(caller.session, slug))
        ticket = await commands.check_in(
            caller.session, slug, data.reference, agent_id=caller.actor.agent_id, now=caller.now
        )
        return await ticket_body(caller.context, ticket)

    @get("/sites/{slug:str}/queue", summary="Today's queue of a mairie")
    async def queue(
        self,
        slug: Slug,
        caller: NamedDependency[Caller],
    ) -> QueueOut:
        session, now = caller.session, caller.now
        authorize(caller.actor, roles=STAFF_ROLES, site=await get_site(session, slug))
        view = await views.queue(session, slug, now)
        tz = ZoneInfo(view.site.timezone)
        return QueueOut(
            seq=view.seq,
            screens=await presence.screens(session, view.site.id, now),
            waiting=[ticket_out(item, tz) for item in view.waiting],
            called=[ticket_out(item, tz) for item in view.called],
            serving=[ticket_out(item, tz) for item in view.serving],
            remote=[ticket_out(item, tz) for item in view.remote],
        )

    @post(
        "/stations/{station_id:int}/call-next",
        status_code=200,
        summary="Call the next ticket this station may serve",
        responses={
            204: ResponseSpec(None, description="Nobody is waiting for this station"),
            **problem_responses(409),
        },
    )
    async def call_next(
        self,
        station_id: Id,
        caller: NamedDependency[Caller],
    ) -> Response[TicketOut | None]:
        ahead = await queries.station_to_call(caller.session, station_id, caller.now)
        authorize(caller.actor, roles=FACILITATORS, site=ahead.station.site)
        ticket = await commands.call_next(
            caller.session, ahead, agent_id=caller.actor.agent_id, now=caller.now
        )
        if ticket is None:
            return Response(None, status_code=204)
        return Response(await ticket_body(caller.context, ticket))


def _move_route(path: str, summary: str) -> Callable[[AnyCallable], HTTPRouteHandler]:
    """The route of POST /api/v1/tickets/{id}/<path>, one of the moves of a ticket."""
    return post(
        f"/api/v1/tickets/{{ticket_id:int}}/{path}",
        status_code=200,
        summary=summary,
        tags=["queue"],
        security=STAFF_SECURITY,
        responses=problem_responses(409),
    )


def _ticket_move(action: str, path: str, roles: frozenset[str], summary: str) -> HTTPRouteHandler:
    """One of the moves that take no body."""

    async def move(
        ticket_id: Id,
        caller: NamedDependency[Caller],
    ) -> TicketOut:
        return await move_ticket(ticket_id, action, roles, caller.actor, caller.context)

    move.__name__ = f"ticket_{action}"
    return _move_route(path, summary)(move)


@_move_route("transfer", "Back in the queue for another service or station kind")
async def transfer(
    ticket_id: Id,
    data: JSONBody[TransferIn],
    caller: NamedDependency[Caller],
) -> TicketOut:
    return await move_ticket(ticket_id, "transfer", ANY_DESK, caller.actor, caller.context, data)


@_move_route("finish", "The help is over; the body, if any, records what was done")
async def finish(
    ticket_id: Id,
    caller: NamedDependency[Caller],
    data: JSONBody[VisitIn | None] = None,
) -> TicketOut:
    report = data.report() if data else None
    actor, context = caller.actor, caller.context
    return await move_ticket(ticket_id, "finish", FACILITATORS, actor, context, report=report)


# Registered beside QueueController (app/asgi.py).
TICKET_MOVES = [
    _ticket_move("recall", "recall", FACILITATORS, "Call the ticket again"),
    _ticket_move("start", "start", FACILITATORS, "The person is at the station"),
    _ticket_move("no_show", "no-show", FACILITATORS, "The person did not come"),
    _ticket_move("cancel", "cancel", ANY_DESK, "The person has left"),
    transfer,
    finish,
]


class LeftOut(msgspec.Struct, kw_only=True):
    status: str  # "cancelled"


class TrackingController(Controller):
    path = "/api/v1"
    tags = ["queue"]

    @post(
        "/tickets/{token:str}/leave",
        status_code=200,
        summary="Leave the queue, by the token of one's ticket link",
        description="Only a waiting ticket leaves: 409 `cannot_leave` once it is called, "
        "being served or over.",
        responses=problem_responses(409),
    )
    async def leave(
        self,
        token: Token,
        context: NamedDependency[Context],
    ) -> LeftOut:
        left = await commands.leave(context.session, token, now=context.now)
        return LeftOut(status=left.status)

    @get("/tickets/{token:str}", summary="Follow one's ticket, by the token of its link")
    async def track(
        self,
        token: Token,
        context: NamedDependency[Context],
    ) -> TicketTracking:
        session = context.session
        view = await views.by_token(session, token, context.now)
        ticket = view.ticket
        site = await queries.site_of(session, ticket.site_id)
        escalation = await visits.escalation_of_ticket(session, ticket.id)
        return TicketTracking(
            number=ticket.number,
            status=ticket.status,
            position=view.position,
            eta_minutes=view.eta_minutes,
            station=ticket.station.name
            if ticket.station and ticket.status in (TicketStatus.CALLED, TicketStatus.SERVING)
            else None,
            service_name=ticket.service.name,
            site=site.name,
            called_at=_local(ticket.called_at, ZoneInfo(site.timezone)),
            escalation=RequestTracking(
                reference=escalation.reference,
                department=escalation.department.name,
                status=escalation.status,  # type: ignore[arg-type]
                updated_at=escalation.updated_at.astimezone(ZoneInfo(site.timezone)),
            )
            if escalation
            else None,
            held_until=(ticket.held_at + timedelta(minutes=site.remote_rejoin_minutes)).astimezone(
                ZoneInfo(site.timezone)
            )
            if ticket.held_at is not None and ticket.status == TicketStatus.REMOTE
            else None,
        )
