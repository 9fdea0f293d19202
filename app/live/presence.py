"""Connected lobby screens per site, summed over every instance that reported lately.

Only paired screens are reported (see `app.live.screens`): a display without a key, or
with a revoked one, is no screen."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import Table, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Database
from app.live.models import ScreenPresence
from app.live.screens import seen, still_paired

REPORT_EVERY_SECONDS = 15
FRESH_FOR = timedelta(seconds=3 * REPORT_EVERY_SECONDS)


async def report(
    session: AsyncSession, instance: str, counts: Mapping[int, int], now: datetime
) -> None:
    """This instance's paired screens per site, replacing what it reported before; the
    caller commits."""
    await session.execute(delete(ScreenPresence).where(ScreenPresence.instance == instance))
    rows = [
        {"instance": instance, "site_id": site_id, "screens": screens, "seen_at": now}
        for site_id, screens in counts.items()
        if screens
    ]
    if rows:  # one statement, without the ORM's unit of work for a network's sites
        table = ScreenPresence.__table__  # plain rows, without the ORM's bulk insert
        assert isinstance(table, Table)
        await session.execute(insert(table), rows)


async def report_held(
    db: Database, instance: str, held: Mapping[int, set[int]], now: datetime
) -> dict[int, set[int]]:
    """Report the paired screens `instance` holds (their ids by site), after checking
    their keys again, and say when they were last seen; those whose key was revoked,
    by site."""
    async with db.writing() as session:
        kept = await still_paired(session, set().union(*held.values()))
        await seen(session, kept, now)
        counts = {site_id: len(ids & kept) for site_id, ids in held.items()}
        await report(session, instance, counts, now)
    return {site_id: ids - kept for site_id, ids in held.items() if ids - kept}


async def forget(db: Database, instance: str) -> None:
    async with db.writing() as session:
        await session.execute(delete(ScreenPresence).where(ScreenPresence.instance == instance))


async def screens(session: AsyncSession, site_id: int, now: datetime) -> int:
    """Screens connected to `site_id` on all instances that reported recently."""
    total = await session.scalar(
        select(func.coalesce(func.sum(ScreenPresence.screens), 0)).where(
            ScreenPresence.site_id == site_id, ScreenPresence.seen_at > now - FRESH_FOR
        )
    )
    return int(total or 0)
