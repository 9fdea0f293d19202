"""Which figures an actor may read: one site its managers may read, or all of Paris for an
administrator, over the range asked (this month so far without one)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.actors import Actor
from app.accounts.service import MANAGERS, authorize, sites_in_view
from app.config import Settings
from app.sites.models import Site
from app.stats.activities import with_activities
from app.stats.figures import figures
from app.stats.schemas import Stats
from app.stats.sql import By


async def sites_for_stats(session: AsyncSession, actor: Actor, slug: str | None) -> list[Site]:
    """One site its managers may read, or all of Paris for an administrator."""
    if slug is None:
        authorize(actor, roles=())
    return await sites_in_view(session, actor, roles=MANAGERS, slug=slug)


def default_range(first: date | None, last: date | None, today: date) -> tuple[date, date]:
    """Without dates: this month so far."""
    last = last or today
    return first or last.replace(day=1), last


def today_in(settings: Settings, now: datetime) -> date:
    """Today in Paris, where the range by default ends."""
    return now.astimezone(ZoneInfo(settings.timezone)).date()


async def read_stats(
    session: AsyncSession,
    actor: Actor,
    settings: Settings,
    now: datetime,
    slug: str | None,
    first: date | None,
    last: date | None,
    by: By,
) -> Stats:
    sites = await sites_for_stats(session, actor, slug)
    first, last = default_range(first, last, today_in(settings, now))
    stats = await figures(session, sites, first, last, by, now)
    return await with_activities(session, stats, sites, first, last)
