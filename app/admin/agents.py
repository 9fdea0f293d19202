"""Staff accounts administered: a manager runs the accounts of their mairies, an
administrator all of them.

Every change writes its audit line in the same transaction. A change of what an
account may do (password, role, sites, disabling) ends the tokens and sessions
opened before it.
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

from app.accounts import service as accounts
from app.accounts.credentials import MAX_PASSWORD_LENGTH, hash_password, password_problem
from app.accounts.models import Agent, agent_sites
from app.accounts.service import MANAGERS, authorize, sites_in_view
from app.admin.catalog import LINE_PATTERN
from app.audit import service as audit
from app.db import Database
from app.errors import BadRequest, Conflict, Forbidden, NotFound
from app.sites.models import Site

Role = Literal["reception", "facilitator", "manager", "admin"]
GRANTED_BY_MANAGERS = ("reception", "facilitator", "manager")

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=120, pattern=LINE_PATTERN)]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_PASSWORD_LENGTH)]
SiteSlug = Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=r"^[a-z0-9-]+$")]
SiteSlugs = Annotated[list[SiteSlug], msgspec.Meta(max_length=30)]


class AgentIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    email: Email
    name: Name
    role: Role
    password: Password
    sites: SiteSlugs = msgspec.field(default_factory=list)


class AgentChange(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Only the fields given change; `active: false` disables the account."""

    name: Name | None = None
    role: Role | None = None
    sites: SiteSlugs | None = None
    active: bool | None = None


class PasswordIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    password: Password


# Who may do what: pure rules on the two accounts.


def may_see(actor: Agent, other: Agent) -> bool:
    """An administrator sees every account; a manager those who work at one of their sites."""
    if actor.role == "admin":
        return True
    return actor.role == "manager" and bool(set(actor.site_slugs) & set(other.site_slugs))


def check_may_change(actor: Agent, other: Agent) -> None:
    """403 unless `actor` may change `other`'s account at all."""
    if actor.role == "admin":
        return
    if actor.role != "manager":
        raise Forbidden("Your role does not allow this action.")
    if other.role == "admin":
        raise Forbidden(
            "Only an administrator may change an administrator's account.", code="admin_account"
        )
    if not may_see(actor, other):
        raise Forbidden("This agent works at none of your mairies.", code="not_your_agent")


def check_may_grant(actor: Agent, role: str, changed_sites: set[str]) -> None:
    """403 unless `actor` may give `role` and add or remove `changed_sites`: a manager gives
    the roles up to manager, at their own mairies only."""
    if actor.role == "admin":
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


def _audit_site(actor: Agent, sites: Sequence[Site]) -> int | None:
    """The site under which an account change is logged: the first of the account's sites
    that `actor` works at, so that its managers read it in their log."""
    for site in sorted(sites, key=lambda site: site.slug):
        if actor.works_at(site.id):
            return site.id
    return None


# Reading


async def agents_in_view(session: AsyncSession, actor: Agent, *, slug: str | None) -> list[Agent]:
    """The accounts `actor` may see, of one site or of all of theirs."""
    sites = await sites_in_view(session, actor, roles=MANAGERS, slug=slug)
    query = select(Agent).options(selectinload(Agent.sites)).order_by(Agent.name, Agent.email)
    if slug is not None or actor.role != "admin":
        staff = select(agent_sites.c.agent_id).where(
            agent_sites.c.site_id.in_([site.id for site in sites])
        )
        query = query.where(Agent.id.in_(staff))
    return list(await session.scalars(query))


async def _load(session: AsyncSession, agent_id: int) -> Agent:
    other = await session.scalar(
        select(Agent).where(Agent.id == agent_id).options(selectinload(Agent.sites))
    )
    if other is None:
        raise NotFound(f"No agent has the id {agent_id}.", code="not_found")
    return other


async def agent_in_view(session: AsyncSession, actor: Agent, agent_id: int) -> Agent:
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


async def create(db: Database, data: AgentIn, *, actor: Agent, now: datetime) -> Agent:
    authorize(actor, roles=MANAGERS)
    async with db.writing() as session:
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
        audit.record(
            session,
            "agent.created",
            at=now,
            agent_id=actor.id,
            site_id=_audit_site(actor, other.sites),
            target=f"agent:{other.id}",
            role=other.role,
            sites=other.site_slugs,
        )
    return other


async def change(
    db: Database, agent_id: int, data: AgentChange, *, actor: Agent, now: datetime
) -> Agent:
    """Rename, change the role or the sites of, disable or enable an account."""
    authorize(actor, roles=MANAGERS)
    async with db.writing() as session:
        other = await _load(session, agent_id)
        check_may_change(actor, other)
        before_sites = list(other.sites)
        revoke = False

        def log(action: str, **details: audit.Detail) -> None:
            site_id = _audit_site(actor, other.sites or before_sites)
            audit.record(
                session,
                action,
                at=now,
                agent_id=actor.id,
                site_id=site_id,
                target=f"agent:{other.id}",
                **details,
            )

        if data.name is not None and data.name.strip() != other.name:
            other.name = data.name.strip()
            log("agent.renamed")
        if data.role is not None and data.role != other.role:
            if other.id == actor.id:
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
        if other.role != "admin" and not other.sites:
            raise BadRequest(
                "An agent who is not an administrator needs at least one site.",
                code="sites_missing",
            )
        if data.active is not None and data.active != other.active:
            if other.id == actor.id:
                raise Forbidden("You cannot disable your own account.", code="own_account")
            other.active = data.active
            log("agent.enabled" if data.active else "agent.disabled")
            revoke = revoke or not data.active
        if revoke:
            other.tokens_valid_after = now
    return other


async def reset_password(
    db: Database, agent_id: int, password: str, *, actor: Agent, now: datetime
) -> Agent:
    """Give an account a new password; it also unlocks it and ends its sessions."""
    async with db.session() as session:
        other = await agent_in_view(session, actor, agent_id)
        check_may_change(actor, other)
    problem = password_problem(password, other.email)
    if problem:
        raise BadRequest(problem, code="password_invalid")
    # The slow hash, outside the writing transaction.
    password_hash = await anyio.to_thread.run_sync(hash_password, password)
    async with db.writing() as session:
        other = await _load(session, agent_id)
        other.password_hash = password_hash
        other.failed_logins = 0
        other.locked_until = None
        other.tokens_valid_after = now
        audit.record(
            session,
            "agent.password_reset",
            at=now,
            agent_id=actor.id,
            site_id=_audit_site(actor, other.sites),
            target=f"agent:{other.id}",
        )
    return other


async def unlock(db: Database, agent_id: int, *, actor: Agent, now: datetime) -> Agent:
    """Let an account locked after wrong passwords log in again at once."""
    authorize(actor, roles=MANAGERS)
    async with db.writing() as session:
        other = await _load(session, agent_id)
        check_may_change(actor, other)
        audit.record(
            session,
            "agent.unlocked",
            at=now,
            agent_id=actor.id,
            site_id=_audit_site(actor, other.sites),
            target=f"agent:{other.id}",
            failures=other.failed_logins,
        )
        other.failed_logins = 0
        other.locked_until = None
    return other
