"""The staff's login and logout pages: a plain form that opens the session (its cookie)
and sends the agent on to where they were going, or to the console; with the City's staff
provider set (`GUICHET_STAFF_OIDC_ISSUER`), single sign-on through it (app/accounts/sso.py)
opens the same session, and logging out ends the provider's session too."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.response import Redirect, Template

from app.accounts import service as accounts
from app.accounts import sessions, sso
from app.accounts.guards import session_cookie, session_of
from app.config import Settings
from app.errors import TooManyRequests
from app.i18n import formats, gettext
from app.residents import oidc
from app.throttle import Limits, client_address, client_key
from app.web.context import Context
from app.web.staff import StaffController

log = logging.getLogger("guichet")
# The status of the page of each reason a sign-on is refused (any other: 400).
REFUSED_STATUS = {sso.UNVERIFIED: 403, sso.UNKNOWN: 403, sso.DISABLED: 403, "unavailable": 503}


def safe_next(target: str | None) -> str | None:
    """Only a path of this site, never another site's address."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return None


def login_again(
    target: str | None,
    email: str,
    error: str,
    status: int,
    headers: dict[str, str] | None = None,
) -> Template:
    """The login form again, with the email given and why it did not open a session."""
    return Template(
        "staff_login.html",
        context={"next": target, "email": email, "error": error},
        status_code=status,
        headers=headers,
    )


def sign_on_refused(reason: str) -> Template:
    """The page saying why the single sign-on opened no session; the sign-in under way
    is forgotten."""
    response = Template(
        "staff_sso_refused.html",
        context={"reason": reason},
        status_code=REFUSED_STATUS.get(reason, 400),
    )
    response.delete_cookie(sso.FLOW_COOKIE, path=sso.FLOW_PATH)
    return response


async def ending_at_provider(
    request: Request[Any, Any, State], staff_session: sessions.StaffSession, context: Context
) -> str | None:
    """Where the browser goes for the provider to end its session too, when this session
    was opened by single sign-on."""
    settings: Settings = context.settings
    if not settings.staff_sign_in:
        return None
    cookie = request.cookies.get(sso.LOGOUT_COOKIE, "")
    id_token = sso.id_token_of(cookie, staff_session, settings, context.now)
    return await sso.provider_logout(id_token, settings) if id_token else None


async def end_replaced(request: Request[Any, Any, State], context: Context) -> None:
    """End the session this browser held, if any: a new login replaces its cookie, and the
    session it named must not outlive it (another agent at the same desk)."""
    cookie = request.cookies.get(sessions.COOKIE)
    if not cookie:
        return
    previous = await sessions.find(context.session, cookie, context.settings, context.now)
    if previous is not None:
        await sessions.end(context.session, previous)


class LoginPages(StaffController):
    @get("/connexion")
    async def login_form(self, request: Request[Any, Any, State]) -> Template:
        return Template(
            "staff_login.html",
            context={"next": safe_next(request.query_params.get("suite")), "error": None},
        )

    @post("/connexion")
    async def login(
        self,
        request: Request[Any, Any, State],
        context: NamedDependency[Context],
    ) -> Template | Redirect:
        db, settings, now = context.session, context.settings, context.now
        form = await request.form()
        email = str(form.get("email", ""))[:254]
        password = str(form.get("password", ""))[:256]
        target = safe_next(str(form.get("suite", "")) or None)
        limits: Limits = request.app.state.limits
        address = client_address(request)
        try:
            await accounts.check_login_rate(
                db, limits, email, now, address=address, secret=settings.secret_key
            )
            agent_id = await accounts.authenticate(
                db, email, password, now, address=address, secret=settings.secret_key, via="page"
            )
        except TooManyRequests as exc:
            wait = -(-int(exc.headers.get("Retry-After", "60")) // 60)
            error = gettext(
                "Trop d'erreurs de mot de passe depuis ce poste : réessayez dans "
                "%(wait)s, ou demandez à votre responsable.",
                wait=formats.minutes(max(wait, 1)),
            )
            return login_again(target, email, error, 429, exc.headers)
        if agent_id is None:
            error = gettext(
                "Adresse e-mail ou mot de passe incorrect. Après quelques erreurs, il "
                "faut attendre un moment avant de réessayer depuis ce poste, ou "
                "demander à votre responsable."
            )
            return login_again(target, email, error, 401)
        await end_replaced(request, context)
        staff_session = await sessions.start(db, agent_id, settings, now)
        response = Redirect(target or "/console", status_code=303)
        response.set_cookie(session_cookie(sessions.encode(staff_session, settings), settings))
        return response

    @post("/deconnexion")
    async def logout(
        self,
        request: Request[Any, Any, State],
        context: NamedDependency[Context],
    ) -> Redirect:
        staff_session = await session_of(request, context.session, context.settings, context.now)
        target = None
        if staff_session is not None:
            await sessions.end(context.session, staff_session)
            target = await ending_at_provider(request, staff_session, context)
        response = Redirect(target or "/connexion", status_code=303)
        response.delete_cookie(sessions.COOKIE, path="/")
        if sso.LOGOUT_COOKIE in request.cookies:
            response.delete_cookie(sso.LOGOUT_COOKIE, path=sso.LOGOUT_PATH)
        return response

    @get(sso.START_PATH, guards=[sso.sign_on_is_on])
    async def go_to_provider(
        self, request: Request[Any, Any, State], context: NamedDependency[Context]
    ) -> Response[Any]:
        """Off to the staff provider's sign-in, with a new sign-in under way in this
        browser (and the page the agent was going to)."""
        settings, now = context.settings, context.now
        try:
            url, flow = await oidc.authorization_url(sso.client_of(settings))
        except oidc.SignInRefused as refused:
            log.warning("staff sign-on not started", extra={"reason": str(refused)})
            return sign_on_refused(refused.reason)
        staff_flow = sso.StaffFlow(flow, safe_next(request.query_params.get("suite")))
        response = Redirect(url, status_code=303)
        value = sso.encode_flow(staff_flow, settings, now)
        response.set_cookie(sso.flow_cookie(value, settings, max_age=sso.FLOW_MINUTES * 60))
        return response

    @get(sso.RETURN_PATH, guards=[sso.sign_on_is_on])
    async def back_from_provider(
        self, request: Request[Any, Any, State], context: NamedDependency[Context]
    ) -> Response[Any]:
        """The provider's answer: the agent it vouched for logged in, on their console (or
        where they were going), or a page saying why not. Each answer counts as a login
        attempt from this address; the sign-in under way is used once, whatever happens."""
        db, settings, now = context.session, context.settings, context.now
        limits: Limits = request.app.state.limits
        limits.login_per_address.check(
            client_key(request), "Too many login attempts. Wait before trying again."
        )
        staff_flow = sso.decode_flow(request.cookies.get(sso.FLOW_COOKIE, ""), settings, now)
        answer = {key: value for key, value in request.query_params.items()}
        try:
            if staff_flow is None:
                raise oidc.SignInRefused("flow")
            identity = await oidc.finish(sso.client_of(settings), staff_flow.flow, answer, now)
        except oidc.SignInRefused as refused:
            log.warning("staff sign-on refused", extra={"reason": str(refused)})
            await sso.record_refusal(db, now, refused.reason)
            return sign_on_refused(refused.reason)
        try:
            agent_id = await sso.agent_signing_in(db, identity, now)
        except oidc.SignInRefused as refused:  # audited as it was refused
            log.warning("staff sign-on refused", extra={"reason": str(refused)})
            return sign_on_refused(refused.reason)
        await end_replaced(request, context)
        staff_session = await sessions.start(db, agent_id, settings, now)
        response = Redirect(staff_flow.target or "/console", status_code=303)
        response.set_cookie(session_cookie(sessions.encode(staff_session, settings), settings))
        hint = sso.logout_cookie(staff_session, identity.id_token, settings)
        if hint is not None:
            response.set_cookie(hint)
        response.delete_cookie(sso.FLOW_COOKIE, path=sso.FLOW_PATH)
        return response
