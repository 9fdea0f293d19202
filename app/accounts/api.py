"""Staff authentication: tokens, the current agent, and who works at a site."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import service
from app.accounts.credentials import issue_token, read_token
from app.accounts.models import Agent
from app.config import Settings
from app.db import Database, utcnow
from app.errors import Unauthorized
from app.sites.schemas import Slug
from app.sites.service import get_site
from app.throttle import RateLimit

STAFF_SECURITY: list[dict[str, list[str]]] = [{"staff": []}]
Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254)]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


class TokenRequest(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Password


class TokenResponse(msgspec.Struct, kw_only=True):
    access_token: str
    token_type: str
    expires_in: int


class AgentOut(msgspec.Struct, kw_only=True):
    id: int
    email: str
    name: str
    role: str
    sites: list[str]


class LoginLimits:
    """How often one address, and one account, may try to log in."""

    def __init__(self, per_minute: int) -> None:
        self.per_account = RateLimit(count=per_minute, period=60)
        self.per_address = RateLimit(count=per_minute * 5, period=60)

    def check(self, address: str, email: str) -> None:
        detail = "Too many login attempts. Wait before trying again."
        self.per_address.check(address, detail)
        self.per_account.check(email.strip().lower(), detail)


def client_address(request: Request[object, object, State]) -> str:
    return request.client.host if request.client else "unknown"


def bearer_token(request: Request[object, object, State]) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def provide_agent(
    request: Request[object, object, State],
    session: NamedDependency[AsyncSession],
    settings: NamedDependency[Settings],
) -> Agent:
    """The agent making this request; 401 without a valid token."""
    token = bearer_token(request)
    if token is None:
        raise Unauthorized("This action needs a staff token: POST /api/v1/auth/token.")
    claims = read_token(token, secret=settings.secret_key, now=utcnow())
    if claims is None:
        raise Unauthorized("The token is invalid or has expired: ask for a new one.")
    agent = await service.active_agent(session, claims.agent_id)
    if agent is None:
        raise Unauthorized("This account is disabled or no longer exists.")
    return agent


def agent_out(agent: Agent) -> AgentOut:
    return AgentOut(
        id=agent.id, email=agent.email, name=agent.name, role=agent.role, sites=agent.site_slugs
    )


class AuthController(Controller):
    path = "/api/v1"
    tags = ["staff"]

    @post(
        "/auth/token", status_code=200, summary="Exchange an agent's email and password for a token"
    )
    async def create_token(
        self,
        request: Request[object, object, State],
        data: JSONBody[TokenRequest],
        db: NamedDependency[Database],
        settings: NamedDependency[Settings],
    ) -> TokenResponse:
        limits: LoginLimits = request.app.state.login_limits
        limits.check(client_address(request), data.email)
        now = utcnow()
        agent_id = await service.authenticate(db, data.email, data.password, now)
        if agent_id is None:
            raise Unauthorized("Wrong email or password.")
        ttl = timedelta(minutes=settings.token_ttl_minutes)
        token = issue_token(agent_id, secret=settings.secret_key, now=now, ttl=ttl)
        return TokenResponse(
            access_token=token,
            token_type="bearer",  # noqa: S106 (the scheme's name, not a secret)
            expires_in=int(ttl.total_seconds()),
        )

    @get("/auth/me", summary="The agent this token belongs to", security=STAFF_SECURITY)
    async def me(self, agent: NamedDependency[Agent]) -> AgentOut:
        return agent_out(agent)

    @get(
        "/sites/{slug:str}/agents",
        summary="The agents who work at a mairie",
        security=STAFF_SECURITY,
    )
    async def site_agents(
        self,
        slug: Slug,
        agent: NamedDependency[Agent],
        session: NamedDependency[AsyncSession],
    ) -> list[AgentOut]:
        site = await get_site(session, slug)
        service.authorize(agent, roles=service.STAFF_ROLES, site=site)
        return [agent_out(colleague) for colleague in await service.agents_of_site(session, site)]
