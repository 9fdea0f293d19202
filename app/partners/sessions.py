"""The sessions of the partners' page: opened with the partner's key, a row on the server
and a cookie of their own in the browser, with the session's CSRF token.

The cookie holds a random session id; the server keeps its SHA-256 only, with its start
and last activity. A session ends at logout, when the partner's key is revoked (its rows
go, and a session of a revoked partner opens nothing), after the staff's idle time
without a request, or the staff's longest session after login.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.accounts import session_rules, session_store
from app.config import Settings
from app.partners.models import Partner, PartnerSession

COOKIE = "guichet_partenaire"
COOKIE_PATH = "/partenaires"
CSRF_FIELD = "csrf"
_CSRF_KIND = "partner-csrf"


@dataclass(frozen=True)
class Opened:
    """A session of `partner`: `session_id` goes in the cookie, never in the database."""

    partner: Partner
    session_id: str
    last_seen: datetime


async def start(session: AsyncSession, partner_id: int, settings: Settings, now: datetime) -> str:
    """Open a session for the partner (and forget those of anyone that have ended): the
    cookie's value."""
    session_id = secrets.token_urlsafe(32)
    idle, longest = settings.session_idle_minutes, settings.session_max_hours
    row = PartnerSession(partner_id=partner_id)
    await session_store.open_row(session, row, session_id, now, idle, longest)
    return session_id


async def find(
    session: AsyncSession, cookie: str, settings: Settings, now: datetime
) -> Opened | None:
    """The open session of this cookie, with its partner and mairies: not ended, and its
    partner's key not revoked."""
    idle, longest = settings.session_idle_minutes, settings.session_max_hours
    row = await session_store.live_row(session, PartnerSession, cookie, now, idle, longest)
    if row is None:
        return None
    partner = await session.scalar(
        select(Partner)
        .where(Partner.id == row.partner_id, Partner.revoked_at.is_(None))
        .options(selectinload(Partner.sites))
    )
    if partner is None:
        return None
    return Opened(partner, cookie, row.last_seen_at)


async def touch(session: AsyncSession, opened: Opened, now: datetime) -> None:
    """Record the session's activity, when the last record has aged."""
    if now - opened.last_seen >= session_rules.REFRESH_AFTER:
        await session_store.record_activity(session, PartnerSession, opened.session_id, now)


async def end(session: AsyncSession, session_id: str) -> None:
    await session_store.delete_row(session, PartnerSession, session_id)


def csrf_token(session_id: str, settings: Settings) -> str:
    return session_rules.csrf_token(settings.secret_key, _CSRF_KIND, session_id)


def csrf_matches(session_id: str, settings: Settings, presented: str) -> bool:
    return session_rules.csrf_matches(settings.secret_key, _CSRF_KIND, session_id, presented)
