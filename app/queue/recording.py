"""What every change to a site's queue does: it runs under that site's queue lock
(advisory on PostgreSQL; SQLite's writers take turns), takes the site's next `seq`, and
leaves a TicketEvent saying who did it and when, told as a `QueueMoved` event."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app import events, locking
from app.db import Base
from app.queue.models import QueueState, Ticket, TicketEvent


async def lock_queue(session: AsyncSession, site_id: int) -> None:
    await locking.lock(session, [locking.lock_key(locking.Scope.QUEUE, site_id)])


EVENT = ("site_id", "ticket_id", "action", "agent_id", "station_id", "at", "reason")


def _postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _table(model: type[Base]) -> Table:
    return Base.metadata.tables[model.__tablename__]


@cache
def _counting(postgres: bool, table: type[Base], key: tuple[str, ...], counted: str) -> Any:
    """The INSERT … ON CONFLICT that adds one to the column `counted` of the counter row
    at `key` (its values bound by name), made at 1 if missing, returning it: both
    databases have it, spelt by each one's dialect. Built once."""
    insert = postgresql.insert if postgres else sqlite.insert
    counters = _table(table)
    columns = counters.c
    return (
        insert(counters)
        .values(**{name: bindparam(name, type_=columns[name].type) for name in key})
        .values(**{counted: 1})
        .on_conflict_do_update(
            index_elements=[columns[name] for name in key], set_={counted: columns[counted] + 1}
        )
        .returning(columns[counted])
    )


async def count_up(
    session: AsyncSession, table: type[Base], key: dict[str, Any], column: Any
) -> int:
    statement = _counting(_postgres(session), table, tuple(key), column.key)
    return int((await session.execute(statement, key)).scalar_one())


@cache
def _event(postgres: bool) -> Any:
    """The INSERT of a ticket's event: on PostgreSQL taking the site's next seq itself
    (the count a CTE of it), on SQLite with the seq bound. Built once."""
    events = _table(TicketEvent)
    given = {name: bindparam(name, type_=events.c[name].type) for name in EVENT}
    if not postgres:
        return insert(events).values(**given, seq=bindparam("seq", type_=events.c.seq.type))
    counted = _counting(True, QueueState, ("site_id",), "seq").cte("counted")
    return (
        insert(events)
        .from_select([*EVENT, "seq"], select(*given.values(), counted.c.seq))
        .returning(events.c.seq)
    )


async def _next_event(session: AsyncSession, event: dict[str, Any]) -> int:
    """Take the site's next `seq` and write the ticket's event with it: on PostgreSQL in
    one statement, on SQLite in two."""
    if _postgres(session):
        return int((await session.execute(_event(True), event)).scalar_one())
    seq = await count_up(session, QueueState, {"site_id": event["site_id"]}, QueueState.seq)
    await session.execute(_event(False), {**event, "seq": seq})
    return seq


async def record(
    session: AsyncSession,
    ticket: Ticket,
    action: str,
    now: datetime,
    *,
    agent_id: int | None,
    station_id: int | None = None,
    reason: str | None = None,
) -> None:
    ticket.updated_at = now  # before the count's statement flushes the move: one UPDATE
    seq = await _next_event(
        session,
        {
            "site_id": ticket.site_id,
            "ticket_id": ticket.id,
            "action": action,
            "agent_id": agent_id,
            "station_id": station_id if station_id is not None else ticket.station_id,
            "at": now,
            "reason": reason,
        },
    )
    moved = events.QueueMoved(
        at=now,
        site_id=ticket.site_id,
        seq=seq,
        action=action,
        ticket_id=ticket.id,
        ticket_number=ticket.number,
        station_id=station_id if station_id is not None else ticket.station_id,
        agent_id=agent_id,
        forced=bool(reason),
    )
    await events.record(session, moved)
