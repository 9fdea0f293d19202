"""The staff session cookie of the consoles, and its CSRF token.

The cookie is a signed token (as the bearer tokens, but of another kind) that
holds the agent, a random session id and the last activity: a session ends
after `session_idle_minutes` without a request, or `session_max_hours` after
login. Every form posted with the cookie carries a CSRF token derived from
the session id, so another site cannot post in an agent's name.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.accounts.credentials import issue_token, read_token
from app.config import Settings

COOKIE = "guichet_session"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
REFRESH_AFTER = timedelta(minutes=5)


@dataclass(frozen=True)
class StaffSession:
    agent_id: int
    session_id: str
    started_at: datetime
    last_seen: datetime


def start(agent_id: int, settings: Settings, now: datetime) -> StaffSession:
    return StaffSession(agent_id, secrets.token_urlsafe(16), now, now)


def encode(session: StaffSession, settings: Settings) -> str:
    return issue_token(
        session.agent_id,
        secret=settings.secret_key,
        now=session.started_at,
        ttl=timedelta(hours=settings.session_max_hours),
        kind="session",
        extra={"sid": session.session_id, "seen": int(session.last_seen.timestamp())},
    )


def decode(cookie: str, settings: Settings, now: datetime) -> StaffSession | None:
    """The session in the cookie, if it is valid, not too old and not idle too long."""
    claims = read_token(cookie, secret=settings.secret_key, now=now, kind="session")
    if claims is None:
        return None
    session_id, seen = claims.extra.get("sid"), claims.extra.get("seen")
    if not isinstance(session_id, str) or not isinstance(seen, int):
        return None
    last_seen = datetime.fromtimestamp(seen, now.tzinfo)
    if now - last_seen > timedelta(minutes=settings.session_idle_minutes):
        return None
    return StaffSession(claims.agent_id, session_id, claims.issued_at, last_seen)


def touched(session: StaffSession, now: datetime) -> StaffSession | None:
    """The session with its activity brought up to date, when that is worth a new cookie."""
    if now - session.last_seen < REFRESH_AFTER:
        return None
    return StaffSession(session.agent_id, session.session_id, session.started_at, now)


def csrf_token(session: StaffSession, settings: Settings) -> str:
    digest = hmac.new(
        settings.secret_key.encode(), f"csrf:{session.session_id}".encode(), hashlib.sha256
    )
    return digest.hexdigest()[:40]


def csrf_matches(session: StaffSession, settings: Settings, presented: str) -> bool:
    return hmac.compare_digest(csrf_token(session, settings), presented)
