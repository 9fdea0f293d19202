"""What every request handler works with, as one dependency: the request's one session
(its unit of work), the database, the settings and the time of the request.

A handler names `context: NamedDependency[Context]` (and the agent, the staff logged in
or the token it acts for), rather than the four one by one.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request
from litestar.di import NamedDependency
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db import Database

log = logging.getLogger("guichet")


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


@dataclass(frozen=True)
class WithContext:
    """What one door's dependency hands its handlers along with who is calling (`Staff`
    for the staff's pages, `Caller` for the staff API): the request's context."""

    context: Context

    @property
    def session(self) -> AsyncSession:
        return self.context.session

    @property
    def now(self) -> datetime:
        return self.context.now

    @property
    def settings(self) -> Settings:
        return self.context.settings


_SESSION = "guichet.session"


def one_session_per_request(app: ASGIApp) -> ASGIApp:
    """Give each HTTP request its one session, closed when its answer starts, whatever
    happened (a dependency that cleans up after itself would not be, were another
    dependency of the handler, such as the staff's, to refuse the request first). The
    session takes a connection only when it first reads, and gives it back before the
    answer is sent."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        db: Database = scope["litestar_app"].state.db
        async with db.session() as session:
            scope.setdefault("state", {})[_SESSION] = session

            async def close_then_send(message: Message) -> None:
                # The answer is rendered: its connection goes back to the pool before it
                # is sent, however slowly the client reads it.
                if message["type"] == "http.response.start":
                    try:
                        await session.close()
                    except DBAPIError as exc:
                        # The connection broke under the request (the database restarting):
                        # the answer already rendered (what it committed stays committed)
                        # is sent all the same, not a 500, and the connection is thrown
                        # away rather than given back.
                        log.warning("session closed on a broken connection: %s", type(exc).__name__)
                        with contextlib.suppress(Exception):
                            await session.invalidate()
                await send(message)

            await app(scope, receive, close_then_send)

    return middleware


def provide_session(request: Request[Any, Any, Any]) -> AsyncSession:
    session: AsyncSession = request.scope["state"][_SESSION]
    return session


async def provide_context(
    session: NamedDependency[AsyncSession],
    db: NamedDependency[Database],
    settings: NamedDependency[Settings],
    now: NamedDependency[datetime],
) -> Context:
    return Context(session, db, settings, now)
