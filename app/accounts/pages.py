"""The staff's login and logout pages: a plain form that opens the session (its cookie)
and sends the agent on to where they were going, or to the console."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.response import Redirect, Template

from app.accounts import service as accounts
from app.accounts import sessions
from app.accounts.guards import session_cookie, session_of
from app.errors import TooManyRequests
from app.i18n import formats, gettext
from app.throttle import Limits, client_address
from app.web.context import Context
from app.web.staff import StaffController


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
        if staff_session is not None:
            await sessions.end(context.session, staff_session)
        response = Redirect("/connexion", status_code=303)
        response.delete_cookie(sessions.COOKIE, path="/")
        return response
