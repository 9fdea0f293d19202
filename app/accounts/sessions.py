"""The staff session of the consoles: a row on the server, a cookie in the browser, and
the session's CSRF token.

The cookie is a signed token (as the bearer tokens, but of another kind) that holds the
agent and a random session id. The server keeps a row per session, found by the SHA-256
of that id (the id itself is never stored), with its start and last activity: a session
ends when its row is deleted (logout, a password change, a change of role or sites, a
deactivation), after `session_idle_minutes` without a request, or `session_max_hours`
after login, whatever the cookie says. Every form posted with the cookie carries a CSRF
token derived from the session id, so another site cannot post in an agent's name.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import session_rules, session_store
from app.accounts.credentials import issue_token, read_token
from app.accounts.models import SessionRow
from app.config import Settings

COOKIE = "guichet_session"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
# Sent by a page's own refreshing (app/web/static/refresh.js): such a request is not the
# agent's activity, so a page left open still ends after `session_idle_minutes`.
BACKGROUND_HEADER = "x-guichet-background"
_CSRF_KIND = "csrf"


@dataclass(frozen=True)
class StaffSession:
    agent_id: int
    session_id: str
    started_at: datetime
    last_seen: datetime


async def start(
    session: AsyncSession, agent_id: int, settings: Settings, now: datetime
) -> StaffSession:
    """Open a session for `agent_id` (and forget the sessions of anyone that have ended)."""
    staff_session = StaffSession(agent_id, secrets.token_urlsafe(32), now, now)
    idle, longest = settings.session_idle_minutes, settings.session_max_hours
    row = SessionRow(agent_id=agent_id)
    await session_store.open_row(session, row, staff_session.session_id, now, idle, longest)
    return staff_session


def encode(staff_session: StaffSession, settings: Settings) -> str:
    """The cookie's value."""
    return issue_token(
        staff_session.agent_id,
        secret=settings.secret_key,
        now=staff_session.started_at,
        ttl=timedelta(hours=settings.session_max_hours),
        kind="session",
        extra={"sid": staff_session.session_id},
    )


def session_id_of(cookie: str, settings: Settings, now: datetime) -> tuple[int, str] | None:
    """The agent and session id a genuine, unexpired cookie names, else None."""
    claims = read_token(cookie, secret=settings.secret_key, now=now, kind="session")
    if claims is None:
        return None
    session_id = claims.extra.get("sid")
    if not isinstance(session_id, str) or not session_id:
        return None
    return claims.agent_id, session_id


async def find(
    session: AsyncSession, cookie: str, settings: Settings, now: datetime
) -> StaffSession | None:
    """The open session this cookie belongs to: its row exists, it is the cookie's agent's,
    it is neither idle too long nor too old."""
    named = session_id_of(cookie, settings, now)
    if named is None:
        return None
    agent_id, session_id = named
    idle, longest = settings.session_idle_minutes, settings.session_max_hours
    row = await session_store.live_row(session, SessionRow, session_id, now, idle, longest)
    if row is None or row.agent_id != agent_id:
        return None
    return StaffSession(agent_id, session_id, row.started_at, row.last_seen_at)


async def touch(
    session: AsyncSession, staff_session: StaffSession, now: datetime, idle_minutes: int
) -> None:
    """Record the session's activity, when the last record has aged: every few minutes,
    and at least twice within the idle timeout however short it is set."""
    if session_rules.activity_due(staff_session.last_seen, now, idle_minutes):
        await session_store.record_activity(session, SessionRow, staff_session.session_id, now)


async def end(session: AsyncSession, staff_session: StaffSession) -> None:
    """Log out: the session's row goes, and its cookie opens nothing any more."""
    await session_store.delete_row(session, SessionRow, staff_session.session_id)


async def end_all(session: AsyncSession, agent_id: int) -> None:
    """End every session of `agent_id`, in the caller's transaction."""
    await session.execute(delete(SessionRow).where(SessionRow.agent_id == agent_id))


def csrf_token(staff_session: StaffSession, settings: Settings) -> str:
    return session_rules.csrf_token(settings.secret_key, _CSRF_KIND, staff_session.session_id)


def csrf_matches(staff_session: StaffSession, settings: Settings, presented: str) -> bool:
    session_id = staff_session.session_id
    return session_rules.csrf_matches(settings.secret_key, _CSRF_KIND, session_id, presented)
