"""The usager's tracking page: their ticket's place, estimate, and station when called."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from app import french
from app.booking.schemas import Token
from app.errors import DomainError
from app.pages.booking import on_page_error
from app.queue import service as queue


async def tracking_context(session: AsyncSession, token: str, now: datetime) -> dict[str, Any]:
    view = await queue.by_token(session, token, now)
    ticket = view.ticket
    site = await queue.site_of(session, ticket.site_id)
    return {
        "token": ticket.token,
        "number": ticket.number,
        "site": site.name,
        "service": ticket.service.name,
        "status": ticket.status,
        "position": view.position,
        "eta": view.eta_minutes,
        "station": ticket.station.name if ticket.station else "",
        "updated": french.clock(now.astimezone(ZoneInfo(site.timezone))),
    }


class TrackingPages(Controller):
    include_in_schema = False
    exception_handlers = {DomainError: on_page_error, HTTPException: on_page_error}

    @get("/ticket/{token:str}")
    async def tracking(
        self, token: Token, session: NamedDependency[AsyncSession], now: NamedDependency[datetime]
    ) -> Template:
        context = await tracking_context(session, token, now)
        return Template(
            "tracking.html",
            context=context,
            headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
        )

    @get("/ticket/{token:str}/etat")
    async def state(
        self, token: Token, session: NamedDependency[AsyncSession], now: NamedDependency[datetime]
    ) -> Template:
        context = await tracking_context(session, token, now)
        return Template(
            "_tracking_state.html", context=context, headers={"Cache-Control": "no-store"}
        )
