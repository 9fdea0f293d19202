"""Who is calling: the staff dependencies that every domain's API uses, and who books
(an agent, a partner with its key, or anyone)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from litestar import Request
from litestar.datastructures import Cookie, MutableScopeHeaders, State
from litestar.di import NamedDependency
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import service, sessions
from app.accounts.actors import Actor
from app.accounts.cookies import private_cookie
from app.accounts.credentials import read_token
from app.accounts.models import Agent
from app.config import Settings
from app.errors import Forbidden, Unauthorized
from app.partners import commands as partners
from app.partners.rules import looks_like_a_key
from app.security import FORM_TYPES
from app.throttle import UNKNOWN_KEYS, Limits, client_key
from app.web.context import Context, WithContext

STAFF_SECURITY: list[dict[str, list[str]]] = [{"staff": []}]


def bearer_token(request: Request[object, object, State]) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def session_cookie(value: str, settings: Settings, *, max_age: int | None = None) -> Cookie:
    """The staff session cookie, for as long as a session may last unless told."""
    max_age = settings.session_max_hours * 3600 if max_age is None else max_age
    return private_cookie(sessions.COOKIE, value, settings, max_age=max_age)


async def agent_of(
    request: Request[object, object, State],
    session: AsyncSession,
    settings: Settings,
    now: datetime,
) -> Agent | None:
    """The agent whose valid token or session cookie this request carries; None with
    neither; 401 for credentials that are not (or no longer) valid."""
    token = bearer_token(request)
    if token is not None:
        if looks_like_a_key(token):
            await partner_actor(request, session, token)  # 401 for a key that books nothing
            raise Forbidden(
                "A partner's key only books appointments (POST /api/v1/appointments).",
                code="partner_key",
            )
        claims = read_token(token, secret=settings.secret_key, now=now)
        if claims is None:
            raise Unauthorized("The token is invalid or has expired: ask for a new one.")
        agent_id, issued_at = claims.agent_id, claims.issued_at
    else:
        staff_session = await session_of(request, session, settings, now)
        if staff_session is None:
            return None
        agent_id, issued_at = staff_session.agent_id, staff_session.started_at
    agent = await service.active_agent(session, agent_id)
    if agent is None:
        raise Unauthorized("This account is disabled or no longer exists.")
    if not service.still_valid(agent, issued_at):
        raise Unauthorized("This account's access has changed since this login: log in again.")
    return agent


async def partner_actor(
    request: Request[object, object, State], session: AsyncSession, key: str
) -> Actor:
    """The partner whose key this is, as an actor; 401 for a key unknown or revoked. Each
    key looked up counts against the address's budget of unknown links (429 past it), and
    is given back once found, as private links are (`app.throttle.rate_limits`): guessing
    keys is slow, and a partner's own key never spends it."""
    limits: Limits = request.app.state.limits
    address = client_key(request)
    limits.token_lookups.check(address, UNKNOWN_KEYS)
    partner = await partners.partner_of_key(session, key)
    if partner is None:
        raise Unauthorized("This partner key is unknown or was revoked.")
    limits.token_lookups.refund(address)
    return Actor.of_partner(partner)


async def known_booker(request: Request[object, object, State], context: Context) -> Actor | None:
    """Who books, as `booker_of` says, on a route anyone may use: credentials that do not
    hold only make it a request like anyone's (None), never a refusal. On the routes of a
    booking's link, the link's token is what is asked, and a bad header changes none of
    their answers."""
    try:
        return await booker_of(request, context)
    except (Unauthorized, Forbidden):
        return None


async def booker_of(request: Request[object, object, State], context: Context) -> Actor | None:
    """Who books: a partner with its key, an agent with a token or their session, or
    nobody known (None: a person booking online)."""
    token = bearer_token(request)
    if token is not None and looks_like_a_key(token):
        return await partner_actor(request, context.session, token)
    agent = await agent_of(request, context.session, context.settings, context.now)
    return Actor.of(agent) if agent is not None else None


async def provide_booker(
    request: Request[object, object, State], context: NamedDependency[Context]
) -> Actor | None:
    return await booker_of(request, context)


async def session_of(
    request: Request[object, object, State],
    session: AsyncSession,
    settings: Settings,
    now: datetime,
) -> sessions.StaffSession | None:
    """The open staff session of this request's cookie, checked for CSRF on unsafe
    methods; its activity is recorded (at most every few minutes), but for a page's own
    refreshing in the background, which is not the agent's."""
    cookie = request.cookies.get(sessions.COOKIE)
    if not cookie:
        return None
    staff_session = await sessions.find(session, cookie, settings, now)
    if staff_session is None:
        raise Unauthorized("Your session has ended: log in again.")
    if request.method in UNSAFE_METHODS:
        presented = request.headers.get(sessions.CSRF_HEADER)
        if presented is None and request.content_type[0] in FORM_TYPES:
            presented = str((await request.form()).get(sessions.CSRF_FIELD, ""))
        if not presented or not sessions.csrf_matches(staff_session, settings, presented):
            raise Forbidden(
                "This form has expired or did not come from guichet: reload the page.",
                code="form_expired",
            )
    if sessions.BACKGROUND_HEADER not in request.headers:
        await sessions.touch(session, staff_session, now, settings.session_idle_minutes)
    return staff_session


# Files hold nothing private, and browsers may keep them.
STORABLE = ("/static/", "/display/static/")


class NoStore:
    """`Cache-Control: no-store` on every HTTP answer but files: staff pages, answers to a
    request with staff credentials, private links and whatever else holds personal data
    must not stay in a browser's or a proxy's cache (a shared computer at a mairie, the
    back button after logging out). An answer to a request with staff credentials gets it
    even if its handler said otherwise."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["path"].startswith(STORABLE):
            await self.app(scope, receive, send)
            return
        names = {name.lower() for name, _value in scope["headers"]}
        credentials = b"authorization" in names or (
            b"cookie" in names
            and any(
                sessions.COOKIE.encode() in value
                for name, value in scope["headers"]
                if name.lower() == b"cookie"
            )
        )

        async def send_no_store(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                if credentials or "cache-control" not in headers:
                    headers["cache-control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_no_store)


@dataclass(frozen=True)
class Caller(WithContext):
    """Who calls the staff API (the agent of the token or session cookie, and the same as
    the actor that commands authorize), with the request's context."""

    agent: Agent
    actor: Actor


async def provide_caller(
    agent: NamedDependency[Agent], context: NamedDependency[Context]
) -> Caller:
    return Caller(context=context, agent=agent, actor=Actor.of(agent))


async def provide_agent(
    request: Request[object, object, State], context: NamedDependency[Context]
) -> Agent:
    """The agent making this request; 401 without a valid token."""
    agent = await agent_of(request, context.session, context.settings, context.now)
    if agent is None:
        raise Unauthorized("This action needs a staff token: POST /api/v1/auth/token.")
    return agent


async def provide_optional_agent(
    request: Request[object, object, State], context: NamedDependency[Context]
) -> Agent | None:
    """The agent making this request, if it carries a token."""
    return await agent_of(request, context.session, context.settings, context.now)
