"""Who is calling: the staff dependencies that every domain's API uses."""

from __future__ import annotations

from datetime import datetime

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import service
from app.accounts.credentials import read_token
from app.accounts.models import Agent
from app.config import Settings
from app.errors import Unauthorized

STAFF_SECURITY: list[dict[str, list[str]]] = [{"staff": []}]


def bearer_token(request: Request[object, object, State]) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def agent_of(
    request: Request[object, object, State],
    session: AsyncSession,
    settings: Settings,
    now: datetime,
) -> Agent | None:
    """The agent whose valid token this request carries; None without a token; 401 for a
    token that is not (or no longer) valid."""
    token = bearer_token(request)
    if token is None:
        return None
    claims = read_token(token, secret=settings.secret_key, now=now)
    if claims is None:
        raise Unauthorized("The token is invalid or has expired: ask for a new one.")
    agent = await service.active_agent(session, claims.agent_id)
    if agent is None:
        raise Unauthorized("This account is disabled or no longer exists.")
    return agent


async def provide_agent(
    request: Request[object, object, State],
    session: NamedDependency[AsyncSession],
    settings: NamedDependency[Settings],
    now: NamedDependency[datetime],
) -> Agent:
    """The agent making this request; 401 without a valid token."""
    agent = await agent_of(request, session, settings, now)
    if agent is None:
        raise Unauthorized("This action needs a staff token: POST /api/v1/auth/token.")
    return agent


async def provide_optional_agent(
    request: Request[object, object, State],
    session: NamedDependency[AsyncSession],
    settings: NamedDependency[Settings],
    now: NamedDependency[datetime],
) -> Agent | None:
    """The agent making this request, if it carries a token."""
    return await agent_of(request, session, settings, now)
