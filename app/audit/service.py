"""Writing and reading the audit log.

`record` adds one event to the caller's session, so an action and its audit
line are committed together or not at all. Failed logins are the exception:
they change nothing else and are written on their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Agent, agent_sites
from app.audit.models import AuditEvent
from app.logs import client_address_var, request_id_var
from app.sites.models import Site

Detail = str | int | float | bool | None | list[str] | list[int]


def record(
    session: AsyncSession,
    action: str,
    *,
    at: datetime,
    agent_id: int | None,
    site_id: int | None = None,
    target: str = "",
    **details: Detail,
) -> AuditEvent:
    """Add an audit event for `action` to `session`; the caller commits.

    `details` hold ids, codes and settings, never an usager's name, email,
    phone or free text.
    """
    event = AuditEvent(
        at=at,
        agent_id=agent_id,
        site_id=site_id,
        action=action,
        target=target[:80],
        details={key: value for key, value in details.items() if value is not None},
        address=client_address_var.get()[:45],
        request_id=request_id_var.get()[:64] if request_id_var.get() != "-" else "",
    )
    session.add(event)
    return event


def record_at_sites(
    session: AsyncSession,
    action: str,
    *,
    site_ids: Iterable[int],
    at: datetime,
    agent_id: int | None,
    target: str = "",
    **details: Detail,
) -> list[AuditEvent]:
    """Add the event once for each of `site_ids` (once with no site when there are none),
    for an action on a thing several sites share, such as an agent of several mairies:
    each site's managers then read it in their own log. The caller commits."""
    chosen: list[int | None] = [*sorted(set(site_ids))] or [None]
    return [
        record(session, action, at=at, agent_id=agent_id, site_id=site_id, target=target, **details)
        for site_id in chosen
    ]


@dataclass(frozen=True)
class Filters:
    site_ids: Sequence[int] | None = None  # None: every site and the events of no site
    agent_id: int | None = None
    action: str | None = None  # an action, or a prefix ending with "."
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None
    limit: int = 100


def _query(filters: Filters) -> Select[AuditEvent]:
    query = select(AuditEvent)
    if filters.site_ids is not None:
        # A site's log holds what was done there, and the logins of those who work there.
        staff = select(agent_sites.c.agent_id).where(agent_sites.c.site_id.in_(filters.site_ids))
        query = query.where(
            or_(
                AuditEvent.site_id.in_(filters.site_ids),
                (AuditEvent.site_id.is_(None) & AuditEvent.agent_id.in_(staff)),
            )
        )
    if filters.agent_id is not None:
        query = query.where(AuditEvent.agent_id == filters.agent_id)
    if filters.action:
        if filters.action.endswith("."):
            query = query.where(AuditEvent.action.startswith(filters.action, autoescape=True))
        else:
            query = query.where(AuditEvent.action == filters.action)
    if filters.since is not None:
        query = query.where(AuditEvent.at >= filters.since)
    if filters.until is not None:
        query = query.where(AuditEvent.at < filters.until)
    if filters.before_id is not None:
        query = query.where(AuditEvent.id < filters.before_id)
    return query.order_by(AuditEvent.id.desc()).limit(filters.limit)


@dataclass(frozen=True)
class Entry:
    event: AuditEvent
    agent: Agent | None
    site_slug: str | None


async def events(session: AsyncSession, filters: Filters) -> list[Entry]:
    """The newest events matching `filters`, newest first, with their agent and site."""
    rows = list(await session.scalars(_query(filters)))
    agent_ids = {row.agent_id for row in rows if row.agent_id is not None}
    site_ids = {row.site_id for row in rows if row.site_id is not None}
    agents: dict[int, Agent] = {}
    slugs: dict[int, str] = {}
    if agent_ids:
        agents = {
            a.id: a for a in await session.scalars(select(Agent).where(Agent.id.in_(agent_ids)))
        }
    if site_ids:
        found = await session.execute(select(Site.id, Site.slug).where(Site.id.in_(site_ids)))
        slugs = {site_id: slug for site_id, slug in found}
    return [
        Entry(
            row,
            agents.get(row.agent_id) if row.agent_id is not None else None,
            slugs.get(row.site_id) if row.site_id is not None else None,
        )
        for row in rows
    ]
