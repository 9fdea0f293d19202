"""The rows every kind of session kept on the server shares, the staff's, the partners'
and the residents': the columns of their tables, and opening, finding, touching and
ending a row, found by the SHA-256 of the random id its cookie holds."""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

from sqlalchemy import ColumnElement, ForeignKey, String, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.accounts import session_rules
from app.accounts.session_rules import digest
from app.db import UTCDateTime, writing

Row = TypeVar("Row", bound="SessionColumns")
# A session's id is 43 characters: anything much longer is none of ours.
LONGEST_ID = 100


class SessionColumns:
    """The columns of a table of sessions but its owner's (`owner_column`): the id of the
    row, the digest of the session's id, its start and its last activity. The orders
    keep the columns where the tables have them: the owner's after the digest, any of
    the table's own last."""

    id: Mapped[int] = mapped_column(primary_key=True, sort_order=-2)
    digest: Mapped[str] = mapped_column(String(64), unique=True, sort_order=-2)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, sort_order=-1)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True, sort_order=-1)


def owner_column(table: str) -> Mapped[int]:
    """The column of the session's owner, a row of `table`: its sessions go with it."""
    return mapped_column(ForeignKey(f"{table}.id", ondelete="CASCADE"), index=True, sort_order=-1)


def ended(
    table: type[SessionColumns], now: datetime, idle: int, longest: int
) -> ColumnElement[bool]:
    """The sessions of `table` that have ended: idle `idle` minutes, or `longest` hours
    old."""
    return session_rules.ended_rows(table.started_at, table.last_seen_at, now, idle, longest)


def of_id(table: type[SessionColumns], session_id: str) -> ColumnElement[bool]:
    """The row of the session `session_id` in `table`."""
    return table.digest == digest(session_id)


async def open_row(
    session: AsyncSession,
    row: SessionColumns,
    session_id: str,
    now: datetime,
    idle: int,
    longest: int,
) -> None:
    """Keep `row`, the owner's new session `session_id` started `now`, and forget the
    sessions of anyone that have ended."""
    row.digest, row.started_at, row.last_seen_at = digest(session_id), now, now
    async with writing(session):
        await session.execute(delete(type(row)).where(ended(type(row), now, idle, longest)))
        session.add(row)


async def live_row(
    session: AsyncSession,
    table: type[Row],
    session_id: str,
    now: datetime,
    idle: int,
    longest: int,
) -> Row | None:
    """The row of the session `session_id`, unless there is none or it has ended."""
    if not session_id or len(session_id) > LONGEST_ID:
        return None
    row = await session.scalar(select(table).where(of_id(table, session_id)))
    if row is None:
        return None
    if session_rules.has_ended(row.started_at, row.last_seen_at, now, idle, longest):
        return None
    return row


async def record_activity(
    session: AsyncSession, table: type[SessionColumns], session_id: str, now: datetime
) -> None:
    """Note that the session `session_id` was active `now`."""
    async with writing(session):
        await session.execute(
            update(table).where(of_id(table, session_id)).values(last_seen_at=now)
        )


async def delete_row(session: AsyncSession, table: type[SessionColumns], session_id: str) -> None:
    """End the session `session_id`: its row goes, and its cookie opens nothing any more."""
    async with writing(session):
        await session.execute(delete(table).where(of_id(table, session_id)))
