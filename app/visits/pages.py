"""The page where an expert department answers a request sent on to it: reached by the
private link of the email it received, no account needed. It reads the request, answers,
and moves it forward; the usager is told at each step, as when a manager moves it.

A plain form that works without JavaScript. Its POST carries a form token derived from the
private link's digest with the server's secret: another site cannot forge it, and it is
worth nothing without the link itself."""

from __future__ import annotations

import hashlib
import hmac

from litestar import get, post
from litestar.di import NamedDependency
from litestar.response import Redirect, Template

from app.booking.schemas import Token
from app.config import Settings
from app.db import token_digest
from app.visits import service as visits
from app.visits.request_view import Refused, answer, render_request_page
from app.web.context import Context
from app.web.public import PublicController, Visitor

FORM_TOKEN = "jeton"  # noqa: S105 (the name of the form field)


def form_token(settings: Settings, token: str) -> str:
    """The token the department's form carries: bound to this link, unknowable elsewhere."""
    key = settings.secret_key.encode()
    return hmac.new(
        key, f"department-form:{token_digest(token)}".encode(), hashlib.sha256
    ).hexdigest()


class DepartmentPages(PublicController):
    async def _page(
        self,
        context: Context,
        token: str,
        *,
        done: bool = False,
        refused: Refused | None = None,
    ) -> Template:
        escalation = await visits.escalation_by_department_token(context.session, token)
        return await render_request_page(
            "department_request.html",
            context,
            escalation,
            done=done,
            refused=refused,
            form_action=f"/demande-transmise/{token}",
            hidden_name=FORM_TOKEN,
            hidden_value=form_token(context.settings, token),
        )

    @get("/demande-transmise/{token:str}")
    async def request_page(
        self,
        token: Token,
        visitor: NamedDependency[Visitor],
    ) -> Template:
        done = visitor.request.query_params.get("fait") == "1"
        return await self._page(visitor.context, token, done=done)

    @post("/demande-transmise/{token:str}")
    async def answer(
        self,
        token: Token,
        visitor: NamedDependency[Visitor],
    ) -> Template | Redirect:
        escalation = await visits.escalation_by_department_token(visitor.session, token)
        form = await visitor.request.form()
        presented = str(form.get(FORM_TOKEN, ""))[:128]
        expected = form_token(visitor.settings, token)
        if not hmac.compare_digest(presented.encode(), expected.encode()):
            expired = Refused("form", "", "", 403)
            return await self._page(visitor.context, token, refused=expired)
        refused = await answer(visitor.session, escalation, form, visitor.now)
        if refused is not None:
            return await self._page(visitor.context, token, refused=refused)
        return Redirect(f"/demande-transmise/{token}?fait=1", status_code=303)
