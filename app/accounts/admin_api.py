"""Staff accounts over HTTP, for managers (their mairies) and administrators (all)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter, QueryParameter

from app.accounts import commands as agents
from app.accounts.commands import AgentChange, AgentIn, PasswordIn
from app.accounts.guards import Caller
from app.accounts.models import Agent
from app.problems import problem_responses
from app.shapes import from_model
from app.web.api import AdministrationApi
from app.web.context import Context

AgentId = Annotated[int, PathParameter(ge=1, le=2**31 - 1, description="The agent's id")]
SiteFilter = Annotated[
    str | None,
    QueryParameter(pattern=r"^[a-z0-9-]+$", max_length=40, description="A mairie's slug"),
]


class AgentAccountOut(msgspec.Struct, kw_only=True):
    id: int
    email: str
    name: str
    role: str
    sites: list[str]
    active: bool
    failed_logins: int
    locked_until: datetime | None
    last_login_at: datetime | None
    created_at: datetime


def account_out(agent: Agent, context: Context) -> AgentAccountOut:
    """An account as administrators see it, in the city's time; never its password hash."""
    zone, now = context.zone, context.now
    locked = agent.locked_until if agent.locked_until and agent.locked_until > now else None
    return from_model(
        agent,
        AgentAccountOut,
        sites=agent.site_slugs,
        locked_until=locked.astimezone(zone) if locked else None,
        last_login_at=agent.last_login_at.astimezone(zone) if agent.last_login_at else None,
        created_at=agent.created_at.astimezone(zone),
    )


async def acting(
    caller: Caller, command: Callable[..., Awaitable[Agent]], *args: Any
) -> AgentAccountOut:
    """The account as `command` (one of app.accounts.commands) leaves it, done by the
    caller, in the request's session and time."""
    other = await command(caller.session, *args, actor=caller.actor, now=caller.now)
    return account_out(other, caller.context)


class AgentsAdminController(AdministrationApi):
    path = "/api/v1/admin/agents"

    @get("/", summary="The staff accounts of one's mairies, or of one mairie (manager)")
    async def list_agents(
        self,
        caller: NamedDependency[Caller],
        site: SiteFilter = None,
    ) -> list[AgentAccountOut]:
        found = await agents.agents_in_view(caller.session, caller.actor, slug=site)
        return [account_out(other, caller.context) for other in found]

    @get("/{agent_id:int}", summary="One staff account (manager)")
    async def get_agent(
        self,
        agent_id: AgentId,
        caller: NamedDependency[Caller],
    ) -> AgentAccountOut:
        other = await agents.agent_in_view(caller.session, caller.actor, agent_id)
        return account_out(other, caller.context)

    @post(
        "/",
        summary="Create a staff account; a manager, for their own mairies and up to manager",
        responses=problem_responses(409),
    )
    async def create_agent(
        self,
        data: JSONBody[AgentIn],
        caller: NamedDependency[Caller],
    ) -> AgentAccountOut:
        return await acting(caller, agents.create, data)

    @patch(
        "/{agent_id:int}",
        summary="Rename, change the role or mairies of, disable (`active: false`) or enable "
        "an account",
    )
    async def change_agent(
        self,
        agent_id: AgentId,
        data: JSONBody[AgentChange],
        caller: NamedDependency[Caller],
    ) -> AgentAccountOut:
        return await acting(caller, agents.change, agent_id, data)

    @post(
        "/{agent_id:int}/password",
        status_code=200,
        summary="Give an account a new password; this also unlocks it and ends its sessions",
    )
    async def reset_password(
        self,
        agent_id: AgentId,
        data: JSONBody[PasswordIn],
        caller: NamedDependency[Caller],
    ) -> AgentAccountOut:
        return await acting(caller, agents.reset_password, agent_id, data.password)

    @post(
        "/{agent_id:int}/unlock",
        status_code=200,
        summary="Unlock an account locked after wrong passwords",
    )
    async def unlock_agent(
        self,
        agent_id: AgentId,
        caller: NamedDependency[Caller],
    ) -> AgentAccountOut:
        return await acting(caller, agents.unlock, agent_id)
