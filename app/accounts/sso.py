"""Staff single sign-on with the City's staff OpenID Connect provider: a second
`oidc.Client` (app/residents/oidc.py), built from `GUICHET_STAFF_OIDC_*`.

The provider says who signed in; guichet decides who that is: the agent whose email is
the ID token's, only when the provider verified that address, and only an active agent.
Roles and mairies stay those guichet holds. A successful sign-in opens the same staff
session as a password (app/accounts/sessions.py); it and every refusal go to the audit
log as the password logins do (`auth.login`, `auth.login_failed`, `auth.login_refused`,
with `via="sso"` and the reason), never with the token or the email.

Two cookies of this module's own, both signed with keys derived from
`GUICHET_SECRET_KEY`: the sign-in under way (state, nonce, code verifier, where to go
after), sent only to `/agents/connexion*`, ten minutes long; and, after a sign-in, the
ID token bound to the session it opened, sent only to `/deconnexion`, for the provider's
logout (`id_token_hint`).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from litestar.datastructures import Cookie
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import session_rules, sessions
from app.accounts.cookies import private_cookie
from app.accounts.models import Agent
from app.accounts.service import login_tried, normalise_email
from app.config import Settings
from app.db import writing
from app.errors import BadRequest
from app.residents import oidc
from app.residents.oidc_providers import Provider

START_PATH = "/agents/connexion"
RETURN_PATH = f"{START_PATH}/retour"
# Where the provider sends the browser back after its own logout: the login page.
LOGGED_OUT_PATH = "/connexion"
FLOW_COOKIE = "guichet_agent_connexion"
FLOW_PATH = START_PATH
FLOW_MINUTES = 10
LOGOUT_COOKIE = "guichet_agent_sso"
LOGOUT_PATH = "/deconnexion"
LONGEST_COOKIE = 4000
VIA = "sso"
# Why guichet itself refuses someone the provider vouched for.
UNVERIFIED, UNKNOWN, DISABLED = "unverified", "unknown", "disabled"
_FLOW_KIND = "staff-sign-in"
_LOGOUT_KIND = "staff-sso-logout"
_ALGORITHM = "HS256"
log = logging.getLogger("guichet")


PROVIDER = Provider("staff_", RETURN_PATH)
# Guard: without the staff provider's settings, the sign-on's pages do not exist.
sign_on_is_on = PROVIDER.guard
client_of = PROVIDER.client


# The cookies


@dataclass(frozen=True)
class StaffFlow:
    """A sign-in under way, and the page of guichet the agent was going to."""

    flow: oidc.Flow
    target: str | None


def _key(settings: Settings, purpose: bytes) -> str:
    """A key of its own for each cookie, so that no other token of guichet's stands for it."""
    return hmac.new(settings.secret_key.encode(), purpose, hashlib.sha256).hexdigest()


def encode_flow(flow: StaffFlow, settings: Settings, now: datetime) -> str:
    claims = {
        "typ": _FLOW_KIND,
        "exp": int((now + timedelta(minutes=FLOW_MINUTES)).timestamp()),
        "state": flow.flow.state,
        "nonce": flow.flow.nonce,
        "cv": flow.flow.code_verifier,
        "next": flow.target or "",
    }
    return jwt.encode(claims, _key(settings, _FLOW_KIND.encode()), algorithm=_ALGORITHM)


def _claims(cookie: str, settings: Settings, kind: str, now: datetime) -> dict[str, Any] | None:
    """The claims of a genuine, unexpired cookie of `kind`, else None."""
    if not cookie or len(cookie) > LONGEST_COOKIE:
        return None
    try:
        claims: dict[str, Any] = jwt.decode(
            cookie,
            _key(settings, kind.encode()),
            algorithms=[_ALGORITHM],
            options={"require": ["exp", "typ"], "verify_exp": False},
        )
    except jwt.PyJWTError:
        return None
    expires = claims.get("exp")
    if claims.get("typ") != kind or not isinstance(expires, int) or expires <= now.timestamp():
        return None
    return claims


def decode_flow(cookie: str, settings: Settings, now: datetime) -> StaffFlow | None:
    claims = _claims(cookie, settings, _FLOW_KIND, now)
    if claims is None:
        return None
    values = [claims.get(name) for name in ("state", "nonce", "cv")]
    if not all(isinstance(value, str) and value for value in values):
        return None
    state, nonce, verifier = (str(value) for value in values)
    target = claims.get("next")
    return StaffFlow(oidc.Flow(state, nonce, verifier), str(target) if target else None)


def flow_cookie(value: str, settings: Settings, *, max_age: int) -> Cookie:
    """`lax`: the provider sends the browser back by a plain link, which carries it."""
    return private_cookie(FLOW_COOKIE, value, settings, path=FLOW_PATH, max_age=max_age)


def logout_cookie(
    staff_session: sessions.StaffSession, id_token: str, settings: Settings
) -> Cookie | None:
    """The ID token, for the provider's logout, bound to the session the sign-in opened:
    sent only with the logout form (`strict`), for as long as the session may last. None
    for a token too long for a cookie (the logout then ends guichet's session only)."""
    claims = {
        "typ": _LOGOUT_KIND,
        "exp": int(
            (staff_session.started_at + timedelta(hours=settings.session_max_hours)).timestamp()
        ),
        "sid": session_rules.digest(staff_session.session_id),
        "idt": id_token,
    }
    value = jwt.encode(claims, _key(settings, _LOGOUT_KIND.encode()), algorithm=_ALGORITHM)
    if not id_token or len(value) > LONGEST_COOKIE:
        return None
    return private_cookie(
        LOGOUT_COOKIE,
        value,
        settings,
        path=LOGOUT_PATH,
        samesite="strict",
        max_age=settings.session_max_hours * 3600,
    )


def id_token_of(
    cookie: str, staff_session: sessions.StaffSession, settings: Settings, now: datetime
) -> str | None:
    """The ID token of the sign-in that opened `staff_session`, if this cookie holds it."""
    claims = _claims(cookie, settings, _LOGOUT_KIND, now)
    if claims is None or claims.get("sid") != session_rules.digest(staff_session.session_id):
        return None
    id_token = claims.get("idt")
    return id_token if isinstance(id_token, str) and id_token else None


async def provider_logout(id_token: str, settings: Settings) -> str | None:
    """Where to send the browser so that the provider ends its session too, and sends it
    back to the login page (`oidc.logout_url`)."""
    return await oidc.logout_url(
        client_of(settings), id_token, f"{settings.base_url}{LOGGED_OUT_PATH}"
    )


# Who signed in


async def record_refusal(
    session: AsyncSession, now: datetime, reason: str, agent_id: int | None = None
) -> None:
    """A sign-in refused (the provider's answer, or guichet's matching), in the audit log."""
    action = "auth.login_failed" if reason == UNKNOWN else "auth.login_refused"
    async with writing(session):
        await login_tried(session, now, action, agent_id, via=VIA, reason=reason[:40])


def _address(email: str) -> str:
    """The address as agents' addresses are stored (lower-cased)."""
    try:
        return normalise_email(email)
    except BadRequest:
        return email.strip().lower()


async def agent_signing_in(session: AsyncSession, identity: oidc.Identity, now: datetime) -> int:
    """The id of the active agent whose verified email the provider vouched for, their
    login recorded (and audited); else `SignInRefused` with `unverified`, `unknown` or
    `disabled`, the refusal audited."""
    address = _address(identity.email) if identity.email else ""
    agent = await session.scalar(select(Agent).where(Agent.email == address)) if address else None
    agent_id = agent.id if agent is not None else None
    reason = None
    if not identity.email_verified:
        # An address the provider did not check proves nothing: not even whose it is.
        reason = UNVERIFIED
    elif agent is None:
        reason = UNKNOWN
    elif not agent.active:
        reason = DISABLED
    if reason is not None or agent_id is None:
        await record_refusal(session, now, reason or UNKNOWN, agent_id)
        raise oidc.SignInRefused(reason or UNKNOWN)
    async with writing(session):
        await session.execute(update(Agent).where(Agent.id == agent_id).values(last_login_at=now))
        await login_tried(session, now, "auth.login", agent_id, via=VIA)
    return agent_id
