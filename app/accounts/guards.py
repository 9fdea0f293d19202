"""Who is calling: the staff dependencies that every domain's API uses."""

from __future__ import annotations

from datetime import datetime

from litestar import Request
from litestar.datastructures import Cookie, MutableScopeHeaders, State
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType, ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import service, sessions
from app.accounts.credentials import read_token
from app.accounts.models import Agent
from app.config import Settings
from app.errors import Forbidden, Unauthorized

STAFF_SECURITY: list[dict[str, list[str]]] = [{"staff": []}]
FORM_TYPES = (RequestEncodingType.URL_ENCODED, RequestEncodingType.MULTI_PART)


def bearer_token(request: Request[object, object, State]) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def session_cookie(value: str, settings: Settings, *, max_age: int | None = None) -> Cookie:
    """The staff session cookie: not readable by scripts, not sent by other sites' forms,
    and over HTTPS only outside a developer's machine."""
    return Cookie(
        key=sessions.COOKIE,
        value=value,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.is_production,
        max_age=settings.session_max_hours * 3600 if max_age is None else max_age,
    )


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
        claims = read_token(token, secret=settings.secret_key, now=now)
        if claims is None:
            raise Unauthorized("The token is invalid or has expired: ask for a new one.")
        agent_id, issued_at = claims.agent_id, claims.issued_at
    else:
        staff_session = await session_of(request, settings, now)
        if staff_session is None:
            return None
        agent_id, issued_at = staff_session.agent_id, staff_session.started_at
    agent = await service.active_agent(session, agent_id)
    if agent is None:
        raise Unauthorized("This account is disabled or no longer exists.")
    if not service.still_valid(agent, issued_at):
        raise Unauthorized("This account's access has changed since this login: log in again.")
    return agent


async def session_of(
    request: Request[object, object, State], settings: Settings, now: datetime
) -> sessions.StaffSession | None:
    """The staff session of this request's cookie, checked for CSRF on unsafe methods; the
    cookie is renewed on the way out when it has aged."""
    cookie = request.cookies.get(sessions.COOKIE)
    if not cookie:
        return None
    staff_session = sessions.decode(cookie, settings, now)
    if staff_session is None:
        raise Unauthorized("Your session has ended: log in again.")
    if request.method in UNSAFE_METHODS:
        presented = request.headers.get(sessions.CSRF_HEADER)
        if presented is None and request.content_type[0] in FORM_TYPES:
            presented = str((await request.form()).get(sessions.CSRF_FIELD, ""))
        if not presented or not sessions.csrf_matches(staff_session, settings, presented):
            raise Forbidden("This form has expired or did not come from guichet: reload the page.")
    renewed = sessions.touched(staff_session, now)
    if renewed is not None:
        request.state.renewed_session = sessions.encode(renewed, settings)
    return staff_session


class SessionRenewal:
    """Adds the renewed session cookie to HTTP responses whose session has aged."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                renewed = scope.get("state", {}).get("renewed_session")
                if renewed:
                    settings: Settings = scope["app"].state.settings
                    cookie = session_cookie(renewed, settings).to_header(header="")
                    MutableScopeHeaders.from_message(message).add("set-cookie", cookie)
            await send(message)

        await self.app(scope, receive, send_with_cookie)


async def provide_agent(
    request: Request[object, object, State],
    session: NamedDependency[AsyncSession],
    settings: NamedDependency[Settings],
    now: NamedDependency[datetime],
) -> Agent:
    """The agent making this request; 401 without a valid token."""
    agent = await agent_of(request, session, settings, now)
    if agent is None:
        raise Unauthorized("This action needs a staff token: POST /api/v1/auth/token.")
    return agent


async def provide_optional_agent(
    request: Request[object, object, State],
    session: NamedDependency[AsyncSession],
    settings: NamedDependency[Settings],
    now: NamedDependency[datetime],
) -> Agent | None:
    """The agent making this request, if it carries a token."""
    return await agent_of(request, session, settings, now)
