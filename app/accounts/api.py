"""Staff authentication: tokens, the current agent, and who works at a site."""

from __future__ import annotations

from datetime import timedelta

import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import JSONBody

from app.accounts import service
from app.accounts.commands import Email, Password
from app.accounts.credentials import issue_token
from app.accounts.guards import STAFF_SECURITY
from app.accounts.models import Agent
from app.errors import Unauthorized
from app.problems import problem_responses
from app.shapes import from_model
from app.sites.api_common import SiteCaller, site_dependency
from app.throttle import Limits, client_address
from app.web.context import Context

WRONG_CREDENTIALS = (
    "Wrong email or password. After a few failures from one address, its next tries "
    "must wait a while (429): wait, or ask a manager."
)


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


def agent_out(agent: Agent) -> AgentOut:
    return from_model(agent, AgentOut, sites=agent.site_slugs)


class AuthController(Controller):
    path = "/api/v1"
    tags = ["staff"]
    dependencies = site_dependency(service.STAFF_ROLES)

    @post(
        "/auth/token",
        status_code=200,
        summary="Exchange an agent's email and password for a token",
        responses=problem_responses(401),
    )
    async def create_token(
        self,
        request: Request[object, object, State],
        data: JSONBody[TokenRequest],
        context: NamedDependency[Context],
    ) -> TokenResponse:
        db, settings, now = context.session, context.settings, context.now
        limits: Limits = request.app.state.limits
        address = client_address(request)
        await service.check_login_rate(
            db, limits, data.email, now, address=address, secret=settings.secret_key
        )
        agent_id = await service.authenticate(
            db, data.email, data.password, now, address=address, secret=settings.secret_key
        )
        if agent_id is None:
            raise Unauthorized(WRONG_CREDENTIALS)
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
    async def site_agents(self, site_caller: NamedDependency[SiteCaller]) -> list[AgentOut]:
        colleagues = await service.agents_of_site(site_caller.session, site_caller.site)
        return [agent_out(colleague) for colleague in colleagues]
