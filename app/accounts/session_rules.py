"""What every session kept on the server follows, the staff's, the partners' and the
residents': its random id stored as a SHA-256 only, its CSRF token, and when it ends."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, or_
from sqlalchemy.orm import Mapped

# The last activity is written at most this often (not at every request).
REFRESH_AFTER = timedelta(minutes=5)


def digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def csrf_token(secret_key: str, kind: str, session_id: str) -> str:
    """The token a session's forms carry, derived from its id; `kind` differs for each
    kind of session, so that one kind's token never stands for another's."""
    mac = hmac.new(secret_key.encode(), f"{kind}:{session_id}".encode(), hashlib.sha256)
    return mac.hexdigest()[:40]


def csrf_matches(secret_key: str, kind: str, session_id: str, presented: str) -> bool:
    return hmac.compare_digest(csrf_token(secret_key, kind, session_id), presented)


def has_ended(
    started_at: datetime, last_seen_at: datetime, now: datetime, idle_minutes: int, max_hours: int
) -> bool:
    """Idle too long, or too old: the session opens nothing any more, whatever its cookie
    says."""
    if now - last_seen_at > timedelta(minutes=idle_minutes):
        return True
    return now - started_at >= timedelta(hours=max_hours)


def ended_rows(
    started_at: Mapped[datetime],
    last_seen_at: Mapped[datetime],
    now: datetime,
    idle_minutes: int,
    max_hours: int,
) -> ColumnElement[bool]:
    """`has_ended` as a condition on a table of sessions (its two columns), to forget
    them."""
    return or_(
        last_seen_at < now - timedelta(minutes=idle_minutes),
        started_at <= now - timedelta(hours=max_hours),
    )


def activity_due(last_seen_at: datetime, now: datetime, idle_minutes: int) -> bool:
    """Whether to record a session's activity: when the last record has aged, every few
    minutes and at least twice within the idle timeout however short it is set."""
    return now - last_seen_at >= min(REFRESH_AFTER, timedelta(minutes=idle_minutes) / 2)
