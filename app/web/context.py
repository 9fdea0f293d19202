"""What every request handler works with, as one dependency: the session it reads with,
the database its commands write to, the settings and the time of the request.

A handler names `context: NamedDependency[Context]` (and the agent, the staff logged in
or the token it acts for), rather than the four one by one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db import Database


@dataclass(frozen=True)
class Context:
    session: AsyncSession
    db: Database
    settings: Settings
    now: datetime

    @property
    def zone(self) -> ZoneInfo:
        """The time zone of the deployment (each site has its own, for its hours)."""
        return ZoneInfo(self.settings.timezone)


async def provide_context(
    session: NamedDependency[AsyncSession],
    db: NamedDependency[Database],
    settings: NamedDependency[Settings],
    now: NamedDependency[datetime],
) -> Context:
    return Context(session, db, settings, now)
