"""The audit log over HTTP: managers read their sites' log, administrators all of it."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import msgspec
from litestar import get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from app import bounds
from app.accounts.actors import MANAGERS, Actor
from app.accounts.guards import Caller
from app.accounts.service import sites_in_view
from app.audit import service
from app.errors import BadRequest
from app.shapes import from_model
from app.web.api import AdministrationApi, FromDate, Limit, SiteQuery, ToDate
from app.web.context import Context

ActionParam = Annotated[
    str | None,
    QueryParameter(
        max_length=40,
        pattern=r"^[a-z_]+(\.[a-z_]*)?$",
        description="An action (`ticket.called`), or a prefix ending with a dot (`auth.`)",
    ),
]
BeforeParam = Annotated[
    int | None, QueryParameter(ge=1, le=2**63 - 1, description="Events older than this id")
]


EARLIEST, LATEST = bounds.EARLIEST_DAY, bounds.LATEST_DAY


class ActorOut(msgspec.Struct, kw_only=True):
    id: int
    name: str
    email: str
    role: str


class EventOut(msgspec.Struct, kw_only=True):
    id: int
    at: datetime
    action: str
    agent: ActorOut | None
    site: str | None
    target: str
    details: dict[str, Any]
    address: str


class AuditPage(msgspec.Struct, kw_only=True):
    events: list[EventOut]
    next_before: int | None


def event_out(entry: service.Entry, zone: ZoneInfo) -> EventOut:
    return from_model(
        entry.event,
        EventOut,
        at=entry.event.at.astimezone(zone),
        agent=from_model(entry.agent, ActorOut) if entry.agent is not None else None,
        site=entry.site_slug,
    )


async def read_log(
    context: Context,
    actor: Actor,
    filters: service.Filters,
    *,
    slug: str | None,
    first: date | None = None,
    last: date | None = None,
) -> AuditPage:
    """One page of the log `agent` may read, as `filters` (an actor, an action, a page)
    and the days from `first` to `last` choose it: an administrator without `slug` reads
    all of it, logins included; a manager reads their sites' log."""
    for day in (first, last):
        if day is not None and not EARLIEST <= day <= LATEST:
            raise BadRequest(f"Dates run from {EARLIEST} to {LATEST}.")
    if first is not None and last is not None and last < first:
        raise BadRequest("The last day comes before the first.")
    session, zone = context.session, context.zone
    site_ids: list[int] | None
    if slug is None and actor.is_admin:
        site_ids = None
    else:
        site_ids = [
            site.id for site in await sites_in_view(session, actor, roles=MANAGERS, slug=slug)
        ]
    since = datetime.combine(first, time(), zone) if first else None
    until = datetime.combine(last + timedelta(days=1), time(), zone) if last else None
    entries = await service.events(
        session, replace(filters, site_ids=site_ids, since=since, until=until)
    )
    return AuditPage(
        events=[event_out(entry, zone) for entry in entries],
        next_before=entries[-1].event.id if len(entries) == filters.limit else None,
    )


class AuditController(AdministrationApi):
    path = "/api/v1/audit"

    @get("/", summary="The audit log: who changed what, when and from where (manager)")
    async def audit_log(
        self,
        caller: NamedDependency[Caller],
        site: SiteQuery = None,
        by_agent: Annotated[
            int | None,
            QueryParameter(name="agent", ge=1, le=2**31 - 1, description="An agent's id"),
        ] = None,
        action: ActionParam = None,
        first: FromDate = None,
        last: ToDate = None,
        before: BeforeParam = None,
        limit: Limit = 100,
    ) -> AuditPage:
        filters = service.Filters(agent_id=by_agent, action=action, before_id=before, limit=limit)
        return await read_log(
            caller.context, caller.actor, filters, slug=site, first=first, last=last
        )
