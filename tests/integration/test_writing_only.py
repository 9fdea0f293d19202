"""Data changes only in a writing transaction (`app.db.writing`), on both databases.

A change made in a session's plain transaction, begun by a read, is refused: on SQLite
such a transaction cannot wait for the write lock (SQLite answers "database is locked"
at once, whatever the busy timeout, while another connection holds it: a test's set-up
written so failed once in a while when the live screens' report held the lock), and
nothing in guichet would commit it. In `writing()`, the same change waits its turn."""

from __future__ import annotations

import asyncio
from datetime import time

import pytest
from sqlalchemy import select, update

from app.db import Database, writing
from app.sites.models import Site, WeeklyHours

REFUSED = "data changed outside writing"


async def paris_15(db: Database) -> Site:
    async with db.session() as session:
        site = await session.scalar(select(Site).where(Site.slug == "paris-15"))
    assert site is not None
    return site


async def test_a_change_outside_writing_is_refused_and_nothing_changes(db: Database) -> None:
    site = await paris_15(db)

    async with db.session() as session:
        await session.scalar(select(Site).where(Site.id == site.id))
        with pytest.raises(RuntimeError, match=REFUSED):
            await session.execute(update(Site).where(Site.id == site.id).values(name="Autre"))
        session.add(WeeklyHours(site_id=site.id, weekday=6, opens=time(9), closes=time(12)))
        with pytest.raises(RuntimeError, match=REFUSED):
            await session.flush()
        await session.rollback()

    assert (await paris_15(db)).name == site.name
    async with db.session() as session:
        sundays = await session.scalars(
            select(WeeklyHours).where(WeeklyHours.site_id == site.id, WeeklyHours.weekday == 6)
        )
        assert list(sundays) == []


async def test_a_session_that_read_writes_in_writing_while_another_holds_the_lock(
    db: Database, database_url: str
) -> None:
    other = Database(database_url)
    site = await paris_15(db)
    held = asyncio.Event()

    async def hold_the_lock() -> None:
        async with other.writing() as session:
            await session.execute(update(Site).where(Site.id == site.id).values(name="Tenue"))
            held.set()
            await asyncio.sleep(0.3)

    try:
        holding = asyncio.create_task(hold_the_lock())
        await held.wait()
        async with db.session() as session:
            await session.scalar(select(Site).where(Site.id == site.id))  # a read first
            async with writing(session):
                await session.execute(
                    update(Site).where(Site.id == site.id).values(name="Mairie du 15e")
                )
        await holding
    finally:
        await other.dispose()

    assert (await paris_15(db)).name == "Mairie du 15e"
