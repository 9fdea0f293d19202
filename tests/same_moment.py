"""Another request's transaction at the same moment, for testing a race without relying on
timing: in a thread of its own (the test client answers a request before the test goes
on), a transaction does what the other request would, holds it uncommitted until a
transaction of the request under test waits for one of its locks, then commits.

On SQLite, whose writers wait for the database's one lock, there is no lock to see
waited for: it commits after a moment, and the request under test then goes on."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from app.db import Database

Act = Callable[[AsyncSession], Awaitable[None]]

# How long the other transaction waits, at the most, for the request to wait for it.
PATIENCE_SECONDS = 10.0


@contextmanager
def at_the_same_moment(db: Database, act: Act) -> Iterator[None]:
    """`act` done in a transaction of its own, uncommitted when the block starts, and
    committed once the block's request waits for it (or after `PATIENCE_SECONDS`); the
    block ends once it has committed."""
    started = threading.Event()
    failed: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(_hold(db, act, started))
        except BaseException as exc:  # told to the test below
            failed.append(exc)
            started.set()

    thread = threading.Thread(target=run, name="same-moment")
    thread.start()
    started.wait(timeout=30)
    try:
        yield
    finally:
        thread.join(timeout=60)
    if failed:
        raise failed[0]


async def _hold(db: Database, act: Act, started: threading.Event) -> None:
    engine = create_async_engine(db.engine.url, poolclass=NullPool)
    try:
        async with AsyncSession(engine) as session, session.begin():
            await act(session)
            await session.flush()
            started.set()
            await _until_waited_for(engine)
    finally:
        await engine.dispose()


async def _until_waited_for(engine: AsyncEngine) -> None:
    if engine.dialect.name != "postgresql":
        await asyncio.sleep(0.5)
        return
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    async with engine.connect() as watcher:
        for _ in range(int(PATIENCE_SECONDS / 0.005)):
            if await watcher.scalar(waiting):
                return
            await asyncio.sleep(0.005)
