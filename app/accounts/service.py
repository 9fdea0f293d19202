"""Staff accounts: creating agents, checking their credentials, deciding what they may do."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

import anyio.to_thread
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.accounts.credentials import hash_password, needs_rehash, password_problem, verify_password
from app.accounts.models import ROLES, Agent, agent_sites
from app.audit import service as audit
from app.db import Database
from app.errors import BadRequest, Conflict, Forbidden
from app.sites.models import Site
from app.sites.service import get_site

STAFF_ROLES = frozenset(ROLES)
MANAGERS = frozenset({"manager"})  # and administrators, who may do everything


def normalise_email(email: str) -> str:
    """The address as stored: validated syntax, lower-cased (no deliverability lookup)."""
    try:
        checked = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise BadRequest(f"This email address is not valid: {exc}", code="email_invalid") from exc
    return checked.normalized.lower()


async def create_agent(
    session: AsyncSession,
    *,
    email: str,
    password: str,
    role: str,
    site_slugs: Sequence[str],
    name: str = "",
) -> Agent:
    """Create a staff account; the caller commits."""
    if role not in ROLES:
        raise BadRequest(f"Unknown role {role!r}: choose one of {', '.join(ROLES)}.")
    problem = password_problem(password, email)
    if problem:
        raise BadRequest(problem)
    address = normalise_email(email)
    if role != "admin" and not site_slugs:
        raise BadRequest("An agent who is not an admin needs at least one site.")
    sites = list(await session.scalars(select(Site).where(Site.slug.in_(site_slugs))))
    unknown = sorted(set(site_slugs) - {site.slug for site in sites})
    if unknown:
        raise BadRequest(f"Unknown site: {', '.join(unknown)}.")
    if await session.scalar(select(Agent.id).where(Agent.email == address)) is not None:
        raise Conflict("An agent with this email address already exists.")
    password_hash = await anyio.to_thread.run_sync(hash_password, password)
    agent = Agent(email=address, name=name, password_hash=password_hash, role=role, sites=sites)
    session.add(agent)
    await session.flush()
    return agent


LOCK_AFTER = 10
FIRST_LOCK = timedelta(minutes=5)
LONGEST_LOCK = timedelta(hours=24)


def lock_delay(failures: int) -> timedelta:
    """How long an account stays locked after `failures` wrong passwords in a row: nothing
    before LOCK_AFTER, then five minutes, doubling with each further failure, up to a day."""
    if failures < LOCK_AFTER:
        return timedelta(0)
    delay: timedelta = FIRST_LOCK * 2 ** min(failures - LOCK_AFTER, 20)
    return min(delay, LONGEST_LOCK)


async def authenticate(
    db: Database, email: str, password: str, now: datetime, *, via: str = "api"
) -> int | None:
    """The id of the active, unlocked agent with these credentials, or None, in the same
    time either way; every attempt goes to the audit log.

    The slow hash check runs outside any writing transaction, so logins never
    hold up bookings on SQLite, where writers take turns. During a lock even the
    right password is refused, and the attempt does not lengthen the lock.
    """
    try:
        address = normalise_email(email)
    except BadRequest:
        address = ""
    async with db.session() as session:
        agent = (
            await session.scalar(select(Agent).where(Agent.email == address)) if address else None
        )
    locked = agent is not None and agent.locked_until is not None and agent.locked_until > now
    usable = agent is not None and agent.active and not locked
    stored_hash = agent.password_hash if agent is not None and usable else None
    verified = await anyio.to_thread.run_sync(verify_password, stored_hash, password)
    new_hash = None
    if agent is not None and verified and needs_rehash(agent.password_hash):
        new_hash = await anyio.to_thread.run_sync(hash_password, password)
    async with db.writing() as session:
        if agent is None:
            audit.record(session, "auth.login_failed", at=now, agent_id=None, via=via)
            return None
        if locked:
            audit.record(
                session, "auth.login_refused", at=now, agent_id=agent.id, via=via, reason="locked"
            )
            return None
        if not agent.active:
            audit.record(
                session, "auth.login_refused", at=now, agent_id=agent.id, via=via, reason="disabled"
            )
            return None
        if not verified:
            failures = await session.scalar(
                update(Agent)
                .where(Agent.id == agent.id)
                .values(failed_logins=Agent.failed_logins + 1)
                .returning(Agent.failed_logins)
            )
            failures = int(failures or 0)
            audit.record(
                session, "auth.login_failed", at=now, agent_id=agent.id, via=via, failures=failures
            )
            delay = lock_delay(failures)
            if delay:
                until = now + delay
                await session.execute(
                    update(Agent).where(Agent.id == agent.id).values(locked_until=until)
                )
                audit.record(
                    session,
                    "auth.locked",
                    at=now,
                    agent_id=agent.id,
                    failures=failures,
                    minutes=int(delay.total_seconds() // 60),
                    until=until.isoformat(),
                )
            return None
        changes: dict[str, object] = {
            "last_login_at": now,
            "failed_logins": 0,
            "locked_until": None,
        }
        if new_hash is not None:
            changes["password_hash"] = new_hash
        await session.execute(update(Agent).where(Agent.id == agent.id).values(**changes))
        audit.record(session, "auth.login", at=now, agent_id=agent.id, via=via)
    return agent.id


async def active_agent(session: AsyncSession, agent_id: int) -> Agent | None:
    agent = await session.scalar(
        select(Agent).where(Agent.id == agent_id).options(selectinload(Agent.sites))
    )
    return agent if agent is not None and agent.active else None


def still_valid(agent: Agent, issued_at: datetime) -> bool:
    """Whether a token or session issued at `issued_at` still speaks for `agent`: not when
    their password, role or sites changed after it (tokens count whole seconds)."""
    changed = agent.tokens_valid_after
    return changed is None or issued_at >= changed.replace(microsecond=0)


def authorize(agent: Agent, *, roles: Collection[str], site: Site | None = None) -> None:
    """Raise 403 unless `agent` has one of `roles` and, when `site` is given, works there."""
    if agent.role != "admin" and agent.role not in roles:
        raise Forbidden("Your role does not allow this action.")
    if site is not None and not agent.works_at(site.id):
        raise Forbidden(f"You do not work at {site.name}.")


async def sites_in_view(
    session: AsyncSession, agent: Agent, *, roles: Collection[str], slug: str | None = None
) -> list[Site]:
    """The sites `agent` may look at with one of `roles`: the one named by `slug`, or else
    all of theirs (every site for an administrator). 403 for a site that is not theirs."""
    if slug is not None:
        site = await get_site(session, slug)
        authorize(agent, roles=roles, site=site)
        return [site]
    authorize(agent, roles=roles)
    if agent.role == "admin":
        return list(await session.scalars(select(Site).order_by(Site.id)))
    return sorted(agent.sites, key=lambda site: site.id)


async def agents_of_site(session: AsyncSession, site: Site) -> list[Agent]:
    query = (
        select(Agent)
        .join(agent_sites, agent_sites.c.agent_id == Agent.id)
        .where(agent_sites.c.site_id == site.id)
        .options(selectinload(Agent.sites))
        .order_by(Agent.role, Agent.name, Agent.email)
    )
    return list(await session.scalars(query))
