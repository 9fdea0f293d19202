"""Commands run from a test as a request runs them: in a session of their own."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Database

P = ParamSpec("P")
T = TypeVar("T")


async def in_session(
    db: Database,
    command: Callable[Concatenate[AsyncSession, P], Awaitable[T]],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """`command(session, *args, **kwargs)` with a new session of `db`."""
    async with db.session() as session:
        return await command(session, *args, **kwargs)


__all__ = ["in_session"]
