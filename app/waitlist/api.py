"""Earlier slots through the API, by the appointment's private link: ask for one, stop
asking, take (or leave) the slot held for you."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import msgspec
from litestar import Controller, delete, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from app import bounds
from app.booking.schemas import AppointmentOut, Token, WaitlistOut, appointment_out
from app.booking.throttling import booking_budget
from app.errors import BadRequest
from app.problems import problem_responses
from app.waitlist import commands
from app.waitlist.queries import waitlist_out
from app.web.context import Context


class WaitlistIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    # Only a slot on an earlier day than this one (none: any slot earlier than the
    # appointment).
    before: date | None = None


class WaitlistController(Controller):
    path = "/api/v1/appointments"
    tags = ["earlier slots"]

    @post(
        "/{token:str}/waitlist",
        guards=[booking_budget],
        status_code=201,
        summary="Ask for an earlier slot",
        description="When a suitable slot frees up, it is held for the first person waiting "
        "for it, who is told by one message (at most 3 a day, 1 an hour). Asked again, "
        "the day changes and the place in line is kept.",
        responses=problem_responses(409, 422),
    )
    async def ask(
        self,
        token: Token,
        context: NamedDependency[Context],
        data: JSONBody[WaitlistIn | None] = None,
    ) -> WaitlistOut:
        data = data or WaitlistIn()  # no body: any earlier slot
        if data.before is not None and not bounds.within_days(data.before):
            raise BadRequest(f"The day must be {bounds.DAY_BOUNDS_ENGLISH}.", code="date_invalid")
        standing = await commands.ask(context.session, token, data.before, context.now)
        found = waitlist_out(standing, ZoneInfo(context.settings.timezone))
        assert found is not None  # asking leaves a wish
        return found

    @delete(
        "/{token:str}/waitlist",
        guards=[booking_budget],
        summary="Stop asking for an earlier slot (idempotent)",
    )
    async def stop(
        self,
        token: Token,
        context: NamedDependency[Context],
    ) -> None:
        await commands.stop(context.session, token, context.now)

    @post(
        "/{token:str}/offer/accept",
        guards=[booking_budget],
        status_code=200,
        summary="Take the earlier slot held for you",
        description="Moves the appointment there in one step; 410 once the offer lapsed.",
        responses=problem_responses(409, 410),
    )
    async def accept(
        self,
        token: Token,
        context: NamedDependency[Context],
    ) -> AppointmentOut:
        appointment = await commands.accept(context.session, token, context.now)
        return appointment_out(appointment, context.settings.base_url)

    @post(
        "/{token:str}/offer/decline",
        guards=[booking_budget],
        status_code=204,
        summary="Leave the slot held for you to the next person (idempotent)",
        description="You keep waiting for another earlier slot.",
    )
    async def decline(
        self,
        token: Token,
        context: NamedDependency[Context],
    ) -> None:
        await commands.decline(context.session, token, context.now)
