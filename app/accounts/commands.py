"""Staff accounts administered: a manager runs the accounts of their mairies, an
administrator all of them.

An agent who also works at a mairie the manager does not run is changed by an
administrator only: whoever changes an account acts at every mairie it works at (a role,
a password given to someone, a disabled colleague there), so a manager may change it only
when all of them are theirs. Another manager's account, too, is changed by an
administrator only: a peer could otherwise disable them, or set their password and log in
as them.

Every change writes its audit line in the same transaction, in the log of every mairie
the agent works at, before and after the change. A change of what an account may do
(password, role, sites, disabling) ends the tokens and sessions opened before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Literal

import anyio.to_thread
import msgspec
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app import events
from app.accounts import service as accounts
from app.accounts.actors import Actor, Role
from app.accounts.credentials import MAX_PASSWORD_LENGTH, hash_password, password_problem
from app.accounts.models import Agent, agent_sites
from app.accounts.service import MANAGERS, authorize, sites_in_view
from app.audit import service as audit
from app.db import release, writing
from app.errors import BadRequest, Conflict, Forbidden, NotFound
from app.sites.catalog import LINE_PATTERN
from app.sites.models import Site

RoleName = Literal["reception", "facilitator", "manager", "admin"]  # as the API reads it
GRANTED_BY_MANAGERS = (Role.RECEPTION, Role.FACILITATOR, Role.MANAGER)

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=120, pattern=LINE_PATTERN)]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_PASSWORD_LENGTH)]
SiteSlug = Annotated[
    str, msgspec.Meta(min_length=1, max_length=40, pattern=r"^(?!.*\n)[a-z0-9-]+$")
]
SiteSlugs = Annotated[list[SiteSlug], msgspec.Meta(max_length=30)]


class AgentIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    email: Email
    name: Name
    role: RoleName
    password: Password
    sites: SiteSlugs = msgspec.field(default_factory=list)


class AgentChange(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Only the fields given change; `active: false` disables the account."""

    name: Name | None = None
    role: RoleName | None = None
    sites: SiteSlugs | None = None
    active: bool | None = None


class PasswordIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A new password: long enough (a short phrase is best), not the same few characters
    over and over, nor the account's email address."""

    password: Password


# Who may do what: pure rules on the two accounts.


def may_see(actor: Actor, other: Agent) -> bool:
    """An administrator sees every account; a manager those who work at one of their sites."""
    if actor.is_admin:
        return True
    return actor.role == Role.MANAGER and bool(set(actor.site_slugs) & set(other.site_slugs))


def change_refusal(actor: Actor, other: Agent) -> Forbidden | None:
    """Why `actor` may not change `other`'s account at all (name, role, sites, password,
    activation, lock), or None when they may: an administrator may change any; a manager
    their own, and those of reception and facilitators whose every mairie is theirs."""
    if actor.is_admin:
        return None
    if actor.role != Role.MANAGER:
        return Forbidden("Your role does not allow this action.")
    # An account the manager cannot see is refused alike whatever its role, so that the
    # answer does not tell which ids are administrators'.
    if not may_see(actor, other):
        return Forbidden("This agent works at none of your mairies.", code="not_your_agent")
    if other.role == Role.ADMIN:
        return Forbidden(
            "Only an administrator may change an administrator's account.", code="admin_account"
        )
    if other.role == Role.MANAGER and other.id != actor.agent_id:
        return Forbidden(
            "Only an administrator may change another manager's account.",
            code="manager_account",
        )
    elsewhere = sorted(set(other.site_slugs) - set(actor.site_slugs))
    if elsewhere:
        return Forbidden(
            f"This agent also works at {', '.join(elsewhere)}, which you do not run: only an "
            "administrator may change their account.",
            code="shared_agent",
        )
    return None


def check_may_change(actor: Actor, other: Agent) -> None:
    """403 unless `actor` may change `other`'s account at all."""
    refusal = change_refusal(actor, other)
    if refusal is not None:
        raise refusal


def check_may_grant(actor: Actor, role: str, changed_sites: set[str]) -> None:
    """403 unless `actor` may give `role` and add or remove `changed_sites`: a manager gives
    the roles up to manager, at their own mairies only."""
    if actor.is_admin:
        return
    if role not in GRANTED_BY_MANAGERS:
        raise Forbidden(
            "Only an administrator may create or appoint administrators.", code="admin_only"
        )
    foreign = sorted(changed_sites - set(actor.site_slugs))
    if foreign:
        raise Forbidden(
            f"Only an administrator may assign mairies that are not yours: {', '.join(foreign)}.",
            code="foreign_sites",
        )


async def _log(
    session: AsyncSession,
    action: str,
    *,
    actor: Actor,
    other: Agent,
    now: datetime,
    at_sites: Sequence[Site] | None = None,
    **details: audit.Detail,
) -> None:
    """Log a change of `other`'s account at each of `at_sites` (the mairies they work at,
    before and after the change; by default, those they work at now), so that the managers
    of each read it in their log."""
    site_ids = [site.id for site in (other.sites if at_sites is None else at_sites)]
    await events.administered(
        session, actor.agent_id, now, action, f"agent:{other.id}", site_ids, **details
    )


# Reading


async def agents_in_view(session: AsyncSession, actor: Actor, *, slug: str | None) -> list[Agent]:
    """The accounts `actor` may see, of one site or of all of theirs."""
    sites = await sites_in_view(session, actor, roles=MANAGERS, slug=slug)
    query = select(Agent).options(selectinload(Agent.sites)).order_by(Agent.name, Agent.email)
    if slug is not None or not actor.is_admin:
        staff = select(agent_sites.c.agent_id).where(
            agent_sites.c.site_id.in_([site.id for site in sites])
        )
        query = query.where(Agent.id.in_(staff))
    return list(await session.scalars(query))


async def _load(session: AsyncSession, agent_id: int, *, lock: bool = False) -> Agent:
    """The account and its sites; with `lock`, held until the transaction ends (on
    PostgreSQL; SQLite's writers take turns), so that the sites a change was allowed for
    are still the agent's when it commits."""
    query = select(Agent).where(Agent.id == agent_id).options(selectinload(Agent.sites))
    other = await session.scalar(query.with_for_update(of=Agent) if lock else query)
    if other is None:
        raise NotFound(f"No agent has the id {agent_id}.", code="not_found")
    return other


async def agent_in_view(session: AsyncSession, actor: Actor, agent_id: int) -> Agent:
    authorize(actor, roles=MANAGERS)
    other = await _load(session, agent_id)
    if not may_see(actor, other):
        raise Forbidden("This agent works at none of your mairies.", code="not_your_agent")
    return other


async def _sites(session: AsyncSession, slugs: Sequence[str]) -> list[Site]:
    """The sites named by `slugs`; 400 for a name that is no site."""
    found = list(await session.scalars(select(Site).where(Site.slug.in_(set(slugs)))))
    unknown = sorted(set(slugs) - {site.slug for site in found})
    if unknown:
        raise BadRequest(f"Unknown site: {', '.join(unknown)}.", code="unknown_site")
    return sorted(found, key=lambda site: site.slug)


# Changing


async def create(session: AsyncSession, data: AgentIn, *, actor: Actor, now: datetime) -> Agent:
    authorize(actor, roles=MANAGERS)
    async with writing(session):
        await _sites(session, data.sites)
        check_may_grant(actor, data.role, set(data.sites))
        try:
            other = await accounts.create_agent(
                session,
                email=data.email,
                password=data.password,
                role=data.role,
                site_slugs=sorted(set(data.sites)),
                name=data.name.strip(),
            )
        except (Conflict, IntegrityError) as exc:  # IntegrityError: created at the same instant
            raise Conflict(
                "An agent with this email address already exists.", code="email_taken"
            ) from exc
        await _log(
            session,
            "agent.created",
            actor=actor,
            other=other,
            now=now,
            role=other.role,
            sites=other.site_slugs,
        )
    return other


async def change(
    session: AsyncSession, agent_id: int, data: AgentChange, *, actor: Actor, now: datetime
) -> Agent:
    """Rename, change the role or the sites of, disable or enable an account."""
    authorize(actor, roles=MANAGERS)
    async with writing(session):
        other = await _load(session, agent_id, lock=True)
        check_may_change(actor, other)
        before_sites = list(other.sites)
        revoke = False
        changes: list[tuple[str, dict[str, audit.Detail]]] = []

        def log(action: str, **details: audit.Detail) -> None:
            changes.append((action, details))

        if data.name is not None and data.name.strip() != other.name:
            other.name = data.name.strip()
            log("agent.renamed")
        if data.role is not None and data.role != other.role:
            if other.id == actor.agent_id:
                raise Forbidden(
                    "You cannot change your own role: ask an administrator.", code="own_role"
                )
            check_may_grant(actor, data.role, set())
            log("agent.role_changed", role=data.role, previous=other.role)
            other.role = data.role
            revoke = True
        if data.sites is not None:
            sites = await _sites(session, data.sites)
            changed = set(other.site_slugs) ^ {site.slug for site in sites}
            check_may_grant(actor, other.role, changed)
            if changed:
                other.sites = sites
                log(
                    "agent.sites_changed",
                    sites=[site.slug for site in sites],
                    previous=[site.slug for site in before_sites],
                )
                revoke = True
        if other.role != Role.ADMIN and not other.sites:
            raise BadRequest(
                "An agent who is not an administrator needs at least one site.",
                code="sites_missing",
            )
        if data.active is not None and data.active != other.active:
            if other.id == actor.agent_id:
                raise Forbidden("You cannot disable your own account.", code="own_account")
            other.active = data.active
            log("agent.enabled" if data.active else "agent.disabled")
            revoke = revoke or not data.active
        if revoke:
            other.tokens_valid_after = now
            await accounts.end_sessions(session, other.id)
        touched = {site.id: site for site in [*before_sites, *other.sites]}
        for action, details in changes:
            await _log(
                session,
                action,
                actor=actor,
                other=other,
                at_sites=list(touched.values()),
                now=now,
                **details,
            )
    return other


async def reset_password(
    session: AsyncSession, agent_id: int, password: str, *, actor: Actor, now: datetime
) -> Agent:
    """Give an account a new password; it also unlocks it and ends its sessions."""
    other = await agent_in_view(session, actor, agent_id)
    check_may_change(actor, other)
    problem = password_problem(password, other.email)
    if problem:
        raise BadRequest(problem, code="password_invalid")
    # The slow hash, outside the writing transaction, holding no connection.
    await release(session)
    password_hash = await anyio.to_thread.run_sync(hash_password, password)
    async with writing(session):
        other = await _load(session, agent_id, lock=True)
        check_may_change(actor, other)  # again: the sites may have changed meanwhile
        other.password_hash = password_hash
        other.tokens_valid_after = now
        await accounts.end_sessions(session, other.id)
        await _let_in_again(session, other)
        await _log(session, "agent.password_reset", actor=actor, other=other, now=now)
    return other


async def unlock(session: AsyncSession, agent_id: int, *, actor: Actor, now: datetime) -> Agent:
    """Let an account locked after wrong passwords log in again at once."""
    authorize(actor, roles=MANAGERS)
    async with writing(session):
        other = await _load(session, agent_id, lock=True)
        check_may_change(actor, other)
        await _log(
            session,
            "agent.unlocked",
            actor=actor,
            other=other,
            now=now,
            failures=other.failed_logins,
        )
        await _let_in_again(session, other)
    return other


async def _let_in_again(session: AsyncSession, other: Agent) -> None:
    """Forget the wrong passwords that slowed or locked `other` out."""
    other.failed_logins = 0
    other.locked_until = None
    await accounts.clear_throttles(session, other.id)
