"""The one place that serialises capacity-changing work on a site.

On PostgreSQL: transaction-scoped advisory locks, taken in sorted order (so
two transactions never wait for each other in a cycle), in one statement, under the
connection's lock timeout: the database timeout of the settings
(`GUICHET_DATABASE_TIMEOUT_SECONDS`), as long as a request waits for a connection
(`app.db.make_engine`). A lock the transaction holds already is not asked for again.
On SQLite every writing transaction already holds the database's write lock
(BEGIN IMMEDIATE), so there is nothing more to take.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import date

from sqlalchemy import TextClause, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.db import WRITING

_HELD = "advisory_locks"  # in a session's `info`: its transaction, and the keys it holds


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


def day_locks(site_id: int, *days: date) -> list[int]:
    """The booking locks of a site's `days`. Whatever books, moves, frees, offers or
    closes a slot of a day, or changes the day's summary of free time, takes its lock
    first, so that two of them never take one slot."""
    return [lock_key(Scope.BOOKING_DAY, site_id, day) for day in days]


async def lock(session: AsyncSession, keys: Iterable[int]) -> None:
    """Hold these locks until the end of the session's transaction."""
    if session.get_bind().dialect.name != "postgresql":
        return
    wanted = _not_held(session.sync_session, keys)
    if wanted:
        await session.execute(*_statement(wanted))


def lock_in(session: Session, connection: Connection, keys: Iterable[int]) -> None:
    """`lock`, from synchronous code on the session's connection (the keepers of derived
    data, in a flush)."""
    if connection.dialect.name != "postgresql":
        return
    wanted = _not_held(session, keys)
    if wanted:
        connection.execute(*_statement(wanted))


def _not_held(session: Session, keys: Iterable[int]) -> list[int]:
    """`keys` the session's transaction does not hold yet, sorted. Those taken outside a
    savepoint are known as held from now on (a savepoint rolled back lets its own go)."""
    transaction = session.get_transaction()
    known = session.info.get(_HELD)
    if known is None or known[0] is not transaction:
        known = session.info[_HELD] = (transaction, set())
    held: set[int] = known[1]
    wanted = sorted(set(keys) - held)
    if not session.in_nested_transaction():
        held.update(wanted)
    return wanted


def holds(session: Session, key: int) -> bool:
    """Whether the session's transaction holds the lock `key` (outside a savepoint); on
    SQLite, whether it is a writing transaction, which holds the database's lock."""
    if session.get_bind().dialect.name != "postgresql":
        return bool(session.info.get(WRITING))
    known = session.info.get(_HELD)
    return known is not None and known[0] is session.get_transaction() and key in known[1]


def _statement(keys: list[int]) -> tuple[TextClause, dict[str, int]]:
    # The target list is evaluated left to right: the locks are taken in sorted order.
    taken = ", ".join(f"pg_advisory_xact_lock(:k{n})" for n in range(len(keys)))
    return text(f"SELECT {taken}"), {f"k{n}": key for n, key in enumerate(keys)}


async def lock_row(session: AsyncSession, row: object) -> None:
    """Read `row`'s columns again under a row lock (FOR UPDATE on PostgreSQL), leaving
    what it has loaded with it (its site, its service…) as it is: those are read joined,
    and FOR UPDATE does not apply to the outer side of a join."""
    columns = [attribute.key for attribute in inspect(row).mapper.column_attrs]
    await session.refresh(row, attribute_names=columns, with_for_update=True)
