"""What every change to a site's queue does: it runs under that site's queue lock
(advisory on PostgreSQL; SQLite's writers take turns), takes the site's next `seq`, and
leaves a TicketEvent saying who did it and when, told as a `QueueMoved` event."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app import events, locking
from app.db import Base
from app.queue.models import QueueState, Ticket, TicketEvent


async def lock_queue(session: AsyncSession, site_id: int) -> None:
    await locking.lock(session, [locking.lock_key(locking.Scope.QUEUE, site_id)])


def _counting(session: AsyncSession, table: type[Base], key: dict[str, Any], column: Any) -> Any:
    """The INSERT … ON CONFLICT that adds one to the `column` of the counter row at `key`,
    made at 1 if missing, returning it (both databases have it, spelt by each one's
    dialect)."""
    postgres = session.get_bind().dialect.name == "postgresql"
    insert = postgresql.insert if postgres else sqlite.insert
    return (
        insert(table)
        .values(**key, **{column.key: 1})
        .on_conflict_do_update(
            index_elements=[getattr(table, name) for name in key], set_={column.key: column + 1}
        )
        .returning(column)
    )


async def count_up(
    session: AsyncSession, table: type[Base], key: dict[str, Any], column: Any
) -> int:
    return int((await session.execute(_counting(session, table, key, column))).scalar_one())


async def _next_event(session: AsyncSession, event: dict[str, Any]) -> int:
    """Take the site's next `seq` and write the ticket's event with it: on PostgreSQL in
    one statement (the count a CTE of the event's INSERT), on SQLite in two."""
    count = _counting(session, QueueState, {"site_id": event["site_id"]}, QueueState.seq)
    if session.get_bind().dialect.name != "postgresql":
        seq = int((await session.execute(count)).scalar_one())
        await session.execute(insert(TicketEvent).values(**event, seq=seq))
        return seq
    counted = count.cte("counted")
    columns = TicketEvent.__table__.c
    given = [literal(value, columns[name].type) for name, value in event.items()]
    statement = (
        insert(TicketEvent)
        .from_select([*event, "seq"], select(*given, counted.c.seq))
        .returning(TicketEvent.seq)
    )
    return int((await session.execute(statement)).scalar_one())


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
