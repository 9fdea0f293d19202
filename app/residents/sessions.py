"""Residents' sessions: a row on the server, a cookie of their own in the browser, the
session's CSRF token; and the short-lived cookie that carries a sign-in under way from
guichet to the provider and back.

As the staff's and the partners' sessions: the cookie holds a random session id, the
server keeps its SHA-256 only, with its start and last activity. A session ends when its
row goes (signing out), after `resident_session_idle_minutes` without a request, or
`resident_session_max_hours` after signing in, whatever the cookie says.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import session_rules, session_store
from app.config import Settings
from app.db import writing
from app.residents.models import Resident, ResidentSession
from app.residents.oidc import Flow

COOKIE = "guichet_usager"
CSRF_FIELD = "csrf"
LONGEST_COOKIE = session_store.LONGEST_ID
# The sign-in under way: sent back only to the provider's way back in, for a few minutes.
FLOW_COOKIE = "guichet_connexion"
FLOW_PATH = "/mon-espace/connexion"
FLOW_MINUTES = 10
_CSRF_KIND = "resident-csrf"
_FLOW_KIND = "resident-sign-in"
_ALGORITHM = "HS256"


@dataclass(frozen=True)
class Opened:
    """An open session of `resident`: `session_id` goes in the cookie, never in the
    database."""

    resident: Resident
    session_id: str
    last_seen: datetime


async def start(
    session: AsyncSession, resident_id: int, settings: Settings, now: datetime, id_token: str = ""
) -> str:
    """Open a session for the resident (and forget those of anyone that have ended): the
    cookie's value. `id_token`: the sign-in's, kept for the provider's logout."""
    session_id = secrets.token_urlsafe(32)
    idle, longest = settings.resident_session_idle_minutes, settings.resident_session_max_hours
    row = ResidentSession(resident_id=resident_id, id_token=id_token or None)
    await session_store.open_row(session, row, session_id, now, idle, longest)
    return session_id


async def find(
    session: AsyncSession, cookie: str, settings: Settings, now: datetime
) -> Opened | None:
    """The open session of this cookie, with its resident: not ended, neither idle too
    long nor too old."""
    idle, longest = settings.resident_session_idle_minutes, settings.resident_session_max_hours
    row = await session_store.live_row(session, ResidentSession, cookie, now, idle, longest)
    if row is None:
        return None
    resident = await session.get(Resident, row.resident_id)
    if resident is None:
        return None
    return Opened(resident, cookie, row.last_seen_at)


async def touch(session: AsyncSession, opened: Opened, now: datetime, idle_minutes: int) -> None:
    """Record the session's activity when the last record has aged: every few minutes,
    and at least twice within the idle timeout however short it is set."""
    if session_rules.activity_due(opened.last_seen, now, idle_minutes):
        await session_store.record_activity(session, ResidentSession, opened.session_id, now)


async def end(session: AsyncSession, session_id: str) -> str | None:
    """Sign out: the session's row goes, and its cookie opens nothing any more. The ID
    token of its sign-in, if it kept one, for the provider's logout."""
    async with writing(session):
        ended = await session.execute(
            delete(ResidentSession)
            .where(session_store.of_id(ResidentSession, session_id))
            .returning(ResidentSession.id_token)
        )
        return ended.scalar_one_or_none()


def csrf_token(session_id: str, settings: Settings) -> str:
    return session_rules.csrf_token(settings.secret_key, _CSRF_KIND, session_id)


def csrf_matches(session_id: str, settings: Settings, presented: str) -> bool:
    return session_rules.csrf_matches(settings.secret_key, _CSRF_KIND, session_id, presented)


def _flow_secret(settings: Settings) -> str:
    """A key of its own for the sign-in cookie, so that no other token of guichet's can
    stand for one."""
    return hmac.new(settings.secret_key.encode(), b"resident-sign-in", hashlib.sha256).hexdigest()


def encode_flow(flow: Flow, settings: Settings, now: datetime) -> str:
    """The sign-in cookie's value: the flow, signed, for `FLOW_MINUTES`."""
    claims = {
        "typ": _FLOW_KIND,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=FLOW_MINUTES)).timestamp()),
        "state": flow.state,
        "nonce": flow.nonce,
        "cv": flow.code_verifier,
    }
    return jwt.encode(claims, _flow_secret(settings), algorithm=_ALGORITHM)


def decode_flow(cookie: str, settings: Settings, now: datetime) -> Flow | None:
    """The flow of a genuine, unexpired sign-in cookie, else None."""
    if not cookie or len(cookie) > 1000:
        return None
    try:
        claims = jwt.decode(
            cookie,
            _flow_secret(settings),
            algorithms=[_ALGORITHM],
            options={"require": ["exp", "typ"], "verify_exp": False, "verify_iat": False},
        )
    except jwt.PyJWTError:
        return None
    values = [claims.get(name) for name in ("state", "nonce", "cv")]
    expires = claims.get("exp")
    if claims.get("typ") != _FLOW_KIND or not isinstance(expires, int):
        return None
    if expires <= now.timestamp() or not all(isinstance(value, str) and value for value in values):
        return None
    state, nonce, verifier = (str(value) for value in values)
    return Flow(state, nonce, verifier)


async def signed_in(
    session: AsyncSession, cookie: str, settings: Settings, now: datetime
) -> int | None:
    """The resident signed in with this cookie (their id), for the pages of other slices
    that note who did something (booking); None when sign-in is off or nobody is."""
    if not settings.residents_sign_in or not cookie:
        return None
    found = await find(session, cookie, settings, now)
    return found.resident.id if found is not None else None
