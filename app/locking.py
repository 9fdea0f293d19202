"""The one place that serialises capacity-changing work on a site.

On PostgreSQL: transaction-scoped advisory locks, taken in sorted order (so
two transactions never wait for each other in a cycle) under a lock timeout: the
database timeout of the settings (`GUICHET_DATABASE_TIMEOUT_SECONDS`), as long as a
request waits for a connection.
On SQLite every writing transaction already holds the database's write lock
(BEGIN IMMEDIATE), so there is nothing more to take.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import date

from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import LOCK_TIMEOUT_SECONDS

LOCK_TIMEOUT = 5.0  # seconds, unless the session says otherwise


class Scope(enum.IntEnum):
    """What a lock protects; part of the key so that kinds of lock never collide."""

    BOOKING_DAY = 1
    QUEUE = 2
    PERSON = 3  # one person's bookings across all the mairies (keyed by a hash, no site)


def lock_key(scope: Scope, site_id: int, day: date | None = None) -> int:
    """A signed 64-bit key: 8 bits of scope, 32 of site, 24 of day."""
    ordinal = day.toordinal() if day else 0
    key = (int(scope) << 56) | ((site_id & 0xFFFFFFFF) << 24) | (ordinal & 0xFFFFFF)
    return key - (1 << 64) if key >= 1 << 63 else key


async def lock(session: AsyncSession, keys: Iterable[int]) -> None:
    """Hold these locks until the end of the session's transaction."""
    if session.get_bind().dialect.name != "postgresql":
        return
    seconds = float(session.info.get(LOCK_TIMEOUT_SECONDS, LOCK_TIMEOUT))
    await session.execute(text(f"SET LOCAL lock_timeout = '{round(seconds * 1000)}ms'"))
    for key in sorted(set(keys)):
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


async def lock_row(session: AsyncSession, row: object) -> None:
    """Read `row`'s columns again under a row lock (FOR UPDATE on PostgreSQL), leaving
    what it has loaded with it (its site, its service…) as it is: those are read joined,
    and FOR UPDATE does not apply to the outer side of a join."""
    columns = [attribute.key for attribute in inspect(row).mapper.column_attrs]
    await session.refresh(row, attribute_names=columns, with_for_update=True)
