"""Staff accounts: creating agents, checking their credentials, deciding what they may do."""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

import anyio.to_thread
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Select, bindparam, case, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from app import events
from app.accounts import sessions
from app.accounts.actors import MANAGERS as MANAGERS
from app.accounts.actors import STAFF, Actor, Role
from app.accounts.credentials import hash_password, needs_rehash, password_problem, verify_password
from app.accounts.models import ROLES, Agent, LoginThrottle, agent_sites
from app.audit.service import Detail
from app.db import release, writing
from app.errors import BadRequest, Conflict, Forbidden, TooManyRequests
from app.sites.models import Site
from app.sites.service import get_site
from app.throttle import Limits, client_network

STAFF_ROLES = STAFF


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
    if role != Role.ADMIN and not site_slugs:
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


# Wrong passwords slow down the address that makes them, never the account for everyone:
# failures are counted per (account, address) pair and per address. Past a number of
# free tries, the next attempt of that pair (or address) waits, for a delay that doubles
# with each further failure; a good login clears its pair. An attacker elsewhere can thus
# slow down only their own tries, and the agent at their desk is never refused for them.
PAIR_FREE_TRIES = 10
ADDRESS_FREE_TRIES = 50
FIRST_DELAY = timedelta(minutes=1)
LONGEST_DELAY = timedelta(hours=1)
# Failures are forgotten after this long without another (longer than LONGEST_DELAY, so
# that waiting out a delay does not earn a fresh set of free tries).
FORGET_AFTER = timedelta(hours=24)


def slow_down_delay(failures: int, free_tries: int) -> timedelta:
    """How long the next attempt waits after `failures` wrong passwords: nothing within
    the free tries, then a minute, doubling with each further failure, up to an hour."""
    if failures < free_tries:
        return timedelta(0)
    delay: timedelta = FIRST_DELAY * 2 ** min(failures - free_tries, 20)
    return min(delay, LONGEST_DELAY)


@dataclass(frozen=True)
class ThrottleKeys:
    """The keyed digests under which the failures of one attempt are counted."""

    pair: str
    address: str


def throttle_keys(secret: str, email: str, address: str) -> ThrottleKeys:
    def keyed(*parts: str) -> str:
        message = "\x00".join(parts).encode()
        return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()

    network = client_network(address)  # an IPv6 client's /64, as every budget
    return ThrottleKeys(
        pair=keyed("pair", email, network),
        address=keyed("address", network),
    )


def _account_name(email: str) -> str:
    try:
        return normalise_email(email)
    except BadRequest:
        return email.strip().lower()


async def _count_failure(
    session: AsyncSession,
    dialect: str,
    key: str,
    agent_id: int | None,
    now: datetime,
    free_tries: int,
) -> tuple[int, timedelta]:
    """Count one failure under `key`; the count and the delay it now imposes."""
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    values = insert(LoginThrottle).values(
        key=key, agent_id=agent_id, failures=1, last_failure_at=now, blocked_until=None
    )
    statement = values.on_conflict_do_update(
        index_elements=["key"],
        set_={
            "failures": case(
                (LoginThrottle.last_failure_at < now - FORGET_AFTER, 1),
                else_=LoginThrottle.failures + 1,
            ),
            "last_failure_at": now,
        },
    ).returning(LoginThrottle.failures)
    failures = int((await session.execute(statement)).scalar_one())
    delay = slow_down_delay(failures, free_tries)
    if delay:
        await session.execute(
            update(LoginThrottle).where(LoginThrottle.key == key).values(blocked_until=now + delay)
        )
    return failures, delay


async def check_login_rate(
    session: AsyncSession, limits: Limits, email: str, now: datetime, *, address: str, secret: str
) -> None:
    """The per-minute limits of logins from this address, or 429: its Retry-After is the
    longest wait that applies, so that a client obeying it is not refused again because
    its failures slowed it down for longer."""
    try:
        limits.check_login(address, email)
    except TooManyRequests as refused:
        keys = throttle_keys(secret, _account_name(email), address)
        blocked = await session.scalar(
            select(func.max(LoginThrottle.blocked_until)).where(
                LoginThrottle.key.in_([keys.pair, keys.address]),
                LoginThrottle.blocked_until > now,
            )
        )
        waits = [int(refused.headers["Retry-After"])]
        if blocked is not None:
            waits.append(math.ceil((blocked - now).total_seconds()))
        raise TooManyRequests(refused.detail, retry_after=max(waits)) from refused


async def clear_throttles(session: AsyncSession, agent_id: int) -> None:
    """Let an agent try again at once from every address (a manager's unlock, a password
    reset), in the caller's transaction."""
    await session.execute(delete(LoginThrottle).where(LoginThrottle.agent_id == agent_id))


async def end_sessions(session: AsyncSession, agent_id: int) -> None:
    """End every console session of `agent_id` at once, in the caller's transaction (with
    `tokens_valid_after`, which ends the bearer tokens issued before)."""
    await sessions.end_all(session, agent_id)


async def login_tried(
    session: AsyncSession, now: datetime, action: str, agent_id: int | None, **details: Detail
) -> None:
    """A sign-in tried (by password or single sign-on), in the audit log: the agent, when
    known, and why it was refused; never the address typed or a token."""
    await events.record(
        session, events.LoginTried(at=now, action=action, agent_id=agent_id, details=details)
    )


async def authenticate(
    session: AsyncSession,
    email: str,
    password: str,
    now: datetime,
    *,
    address: str,
    secret: str,
    via: str = "api",
) -> int | None:
    """The id of the active agent with these credentials, or None, in the same time either
    way; every attempt goes to the audit log. 429 with Retry-After while the failures of
    this (account, address) pair or of this address slow it down.

    The slow hash check runs outside any writing transaction, so logins never
    hold up bookings on SQLite, where writers take turns.
    """
    name = _account_name(email)
    keys = throttle_keys(secret, name, address)
    dialect = session.get_bind().dialect.name
    agent = await session.scalar(select(Agent).where(Agent.email == name)) if name else None
    blocks = list(
        await session.scalars(
            select(LoginThrottle.blocked_until).where(
                LoginThrottle.key.in_([keys.pair, keys.address]),
                LoginThrottle.blocked_until > now,
            )
        )
    )
    if blocks:
        wait = max(block for block in blocks if block is not None) - now
        async with writing(session):
            await login_tried(
                session,
                now,
                "auth.login_refused",
                agent.id if agent is not None else None,
                via=via,
                reason="slowed",
            )
        raise TooManyRequests(
            "Too many wrong passwords from your address: wait before trying again.",
            retry_after=math.ceil(wait.total_seconds()),
        )
    usable = agent is not None and agent.active
    stored_hash = agent.password_hash if agent is not None and usable else None
    await release(session)  # no connection held while the hash is checked
    verified = await anyio.to_thread.run_sync(verify_password, stored_hash, password)
    new_hash = None
    if agent is not None and verified and needs_rehash(agent.password_hash):
        new_hash = await anyio.to_thread.run_sync(hash_password, password)
    async with writing(session):
        if agent is None or not verified or not agent.active:
            await session.execute(
                delete(LoginThrottle).where(LoginThrottle.last_failure_at < now - FORGET_AFTER)
            )
            agent_id = agent.id if agent is not None else None
            failures, delay = await _count_failure(
                session, dialect, keys.pair, agent_id, now, PAIR_FREE_TRIES
            )
            by_address, address_delay = await _count_failure(
                session, dialect, keys.address, None, now, ADDRESS_FREE_TRIES
            )
            if agent is None:
                await login_tried(session, now, "auth.login_failed", None, via=via)
            elif not agent.active:
                await login_tried(
                    session, now, "auth.login_refused", agent_id, via=via, reason="disabled"
                )
            else:
                await session.execute(
                    update(Agent)
                    .where(Agent.id == agent.id)
                    .values(failed_logins=Agent.failed_logins + 1)
                )
                await login_tried(
                    session, now, "auth.login_failed", agent_id, via=via, failures=failures
                )
            if delay or address_delay:
                await login_tried(
                    session,
                    now,
                    "auth.slowed",
                    agent_id,
                    failures=failures,
                    address_failures=by_address,
                    seconds=int(max(delay, address_delay).total_seconds()),
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
        await session.execute(delete(LoginThrottle).where(LoginThrottle.key == keys.pair))
        await login_tried(session, now, "auth.login", agent.id, via=via)
    return agent.id


async def active_agent(session: AsyncSession, agent_id: int) -> Agent | None:
    found = await session.scalars(_agent_with_sites(), {"agent": agent_id})
    agent = found.unique().first()  # one query, on every staff call
    return agent if agent is not None and agent.active else None


@cache
def _agent_with_sites() -> Select[Agent]:
    """`active_agent`'s statement, built once: it is read on every staff request."""
    return select(Agent).where(Agent.id == bindparam("agent")).options(joinedload(Agent.sites))


def still_valid(agent: Agent, issued_at: datetime) -> bool:
    """Whether a token or session issued at `issued_at` still speaks for `agent`: not when
    their password, role or sites changed after it, be it in the same second (tokens
    carry their issue time to the microsecond)."""
    changed = agent.tokens_valid_after
    return changed is None or issued_at >= changed


def authorize(actor: Actor, *, roles: Collection[str], site: Site | None = None) -> None:
    """Raise 403 unless `actor` has one of `roles` and, when `site` is given, works there."""
    actor.authorize(roles=roles, site=site)


async def sites_in_view(
    session: AsyncSession, actor: Actor, *, roles: Collection[str], slug: str | None = None
) -> list[Site]:
    """The sites `actor` may look at with one of `roles`: the one named by `slug`, or else
    all of theirs (every site for an administrator). 403 for a site that is not theirs,
    and for any site to one who has none of `roles` (told before whether it exists)."""
    authorize(actor, roles=roles)
    if slug is not None:
        site = await get_site(session, slug)
        authorize(actor, roles=roles, site=site)
        return [site]
    query = select(Site).order_by(Site.id)
    if not actor.is_admin:
        query = query.where(Site.id.in_(actor.site_ids))
    return list(await session.scalars(query))


async def agents_of_site(session: AsyncSession, site: Site) -> list[Agent]:
    query = (
        select(Agent)
        .join(agent_sites, agent_sites.c.agent_id == Agent.id)
        .where(agent_sites.c.site_id == site.id)
        .options(selectinload(Agent.sites))
        .order_by(Agent.role, Agent.name, Agent.email)
    )
    return list(await session.scalars(query))


async def administered_sites(session: AsyncSession, actor: Actor) -> list[Site]:
    """The open mairies `actor` runs: a manager's own, every one for an administrator."""
    sites = await sites_in_view(session, actor, roles=MANAGERS)
    return [site for site in sites if site.active]


async def site_to_run(session: AsyncSession, actor: Actor, slug: str) -> Site:
    """The site at `slug`, if `actor` runs it; 404 unknown, 403 someone else's."""
    site = await get_site(session, slug)
    authorize(actor, roles=MANAGERS, site=site)
    return site


def other_site(site: Site, what: str) -> Forbidden:
    """The refusal of a thing of another mairie named under `site`'s address: the right
    to run `site` gives none over it, even to one who also runs its own mairie."""
    return Forbidden(
        f"This {what} belongs to another mairie than {site.name}: it is changed under its "
        "own mairie's address, by those who run it.",
        code="other_site",
    )
