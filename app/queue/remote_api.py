"""The queue from a phone, in the API: whether one may join a mairie's queue now, joining
it, arriving there (with the code shown on its screens), and reception's arrival code and
check-in by number (`app.queue.remote`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import JSONBody

from app import i18n
from app.accounts.guards import Caller
from app.accounts.service import authorize
from app.booking.schemas import Token
from app.booking.throttling import booking_budget
from app.errors import BadRequest, Unprocessable
from app.problems import problem_responses
from app.queue import remote, views
from app.queue.api import RECEPTION, TicketOut, ticket_body
from app.queue.arrival_codes import arrival_code
from app.queue.models import Ticket
from app.shapes import from_model
from app.sites.schemas import Slug
from app.sites.service import get_site
from app.throttle import client_key
from app.web.api import StaffApi
from app.web.context import Context

Code = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
Travel = Literal[10, 20, 30, 45, 60]


class RemoteQueueOut(msgspec.Struct, kw_only=True, omit_defaults=True):
    open: bool
    reason: str | None = None
    eta_minutes: tuple[int, int] | None


class RemoteJoinIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    service: Code
    phone: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    needs: Annotated[list[Code], msgspec.Meta(max_length=10)] = msgspec.field(default_factory=list)
    name: Annotated[str, msgspec.Meta(max_length=80)] | None = None
    travel_minutes: Travel = 20
    language: Literal["fr", "en"] | None = None


class RemoteTicketOut(msgspec.Struct, kw_only=True):
    number: str
    token: str
    status: str
    position: int | None
    eta_minutes: tuple[int, int] | None


class ArriveIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    code: Annotated[str, msgspec.Meta(min_length=1, max_length=16)]


class ArrivalCodeOut(msgspec.Struct, kw_only=True):
    code: str
    valid_until: datetime


class RemoteCheckInIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    number: Annotated[str, msgspec.Meta(min_length=1, max_length=8)]


async def remote_out(context: Context, ticket: Ticket) -> RemoteTicketOut:
    view = await views.by_token(context.session, ticket.token, context.now)
    return from_model(ticket, RemoteTicketOut, position=view.position, eta_minutes=view.eta_minutes)


class RemoteQueueController(Controller):
    path = "/api/v1"
    tags = ["queue from a phone"]

    @get("/sites/{slug:str}/remote-queue", summary="Can one join this mairie's queue now")
    async def remote_queue(self, slug: Slug, context: NamedDependency[Context]) -> RemoteQueueOut:
        site = await get_site(context.session, slug)
        state = await remote.join_state(context.session, site, context.now)
        return RemoteQueueOut(open=state.open, reason=state.reason, eta_minutes=state.eta_minutes)

    @post(
        "/sites/{slug:str}/remote-tickets",
        summary="Join today's queue from a phone",
        description="While the mairie is open, within its hourly cap, and if the wait ends "
        "before closing time (409 `site_closed`, `remote_off`, `remote_full`, `too_late`); "
        "one live ticket per mobile number across Paris (409 `phone_has_ticket`), three a day "
        "(409 `phone_day_full`), and as many a day per connection at one mairie as it may "
        "book (409 `address_day_full`); 422 for a "
        "number that takes no texts. The ticket is `remote` until its holder arrives.",
        responses=problem_responses(409, 422),
        guards=[booking_budget],
    )
    async def join(
        self,
        request: Request[object, object, State],
        slug: Slug,
        data: JSONBody[RemoteJoinIn],
        context: NamedDependency[Context],
    ) -> RemoteTicketOut:
        try:
            ticket = await remote.join(
                context.session,
                slug,
                service_code=data.service,
                phone=data.phone,
                needs=tuple(data.needs),
                travel_minutes=data.travel_minutes,
                language=data.language or i18n.language.get(),
                secret=context.settings.secret_key,
                now=context.now,
                client=client_key(request),
                per_address_per_day=context.settings.bookings_per_address_per_day,
            )
        except BadRequest as refused:
            if refused.code.startswith("phone"):
                raise Unprocessable(refused.detail, code=refused.code) from refused
            raise
        return await remote_out(context, ticket)

    @post(
        "/tickets/{token:str}/arrive",
        status_code=200,
        summary="The holder of a ticket taken from a phone is at the mairie",
        description="With the mairie's arrival code of the moment (shown on its screens and "
        "at reception): 403 `arrival_code` for a wrong or stale one; 409 `not_remote` for a "
        "ticket already in line.",
        responses=problem_responses(403, 409),
    )
    async def arrive(
        self,
        token: Token,
        data: JSONBody[ArriveIn],
        context: NamedDependency[Context],
    ) -> RemoteTicketOut:
        ticket = await remote.arrive(
            context.session,
            token,
            data.code,
            secret=context.settings.secret_key,
            now=context.now,
        )
        return await remote_out(context, ticket)


class RemoteDeskController(StaffApi):
    path = "/api/v1"
    tags = ["queue from a phone"]

    @get("/sites/{slug:str}/arrival-code", summary="The mairie's arrival code of the moment")
    async def arrival_code(self, slug: Slug, caller: NamedDependency[Caller]) -> ArrivalCodeOut:
        site = await get_site(caller.session, slug)
        authorize(caller.actor, roles=RECEPTION, site=site)
        code, until = arrival_code(caller.settings.secret_key, site.id, caller.now)
        return ArrivalCodeOut(code=code, valid_until=until.astimezone(ZoneInfo(site.timezone)))

    @post(
        "/sites/{slug:str}/remote-check-ins",
        status_code=200,
        summary="Reception checks in the holder of a ticket taken from a phone, by its number",
        responses=problem_responses(409),
    )
    async def check_in(
        self, slug: Slug, data: JSONBody[RemoteCheckInIn], caller: NamedDependency[Caller]
    ) -> TicketOut:
        authorize(caller.actor, roles=RECEPTION, site=await get_site(caller.session, slug))
        ticket = await remote.check_in_number(
            caller.session, slug, data.number, agent_id=caller.actor.agent_id, now=caller.now
        )
        return await ticket_body(caller.context, ticket)
