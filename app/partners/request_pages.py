"""The requests the mairies sent on to a partner's account (a department that is the
partner's, `Department.partner_id`), on the partner's page: the partner reads each one
and moves it forward as a department does through its private link (the person is told
at each step), in its own session, with its own CSRF token."""

from __future__ import annotations

from typing import Annotated

from litestar import get, post
from litestar.di import NamedDependency
from litestar.params import PathParameter
from litestar.response import Redirect, Template

from app.errors import NotFound
from app.partners import sessions
from app.partners.pages import HOME, PartnerController, PartnerVisit
from app.partners.queries import request_to
from app.visits.models import Escalation
from app.visits.request_view import Refused, answer, render_request_page

REQUESTS = f"{HOME}/demandes"
Reference = Annotated[str, PathParameter(min_length=1, max_length=16)]


async def _request(visit: PartnerVisit, reference: str) -> Escalation:
    """The request, if it was sent on to this partner (404 otherwise: another's requests
    are not even said to exist)."""
    found = await request_to(visit.session, visit.partner.id, reference)
    if found is None:
        raise NotFound("No request sent on to your organisation has this reference.")
    return found


class PartnerRequestPages(PartnerController):
    path = REQUESTS

    async def _page(
        self,
        visit: PartnerVisit,
        escalation: Escalation,
        *,
        done: bool = False,
        refused: Refused | None = None,
    ) -> Template:
        return await render_request_page(
            "partner_request.html",
            visit.context,
            escalation,
            done=done,
            refused=refused,
            partner=visit.partner,
            csrf=visit.csrf,
            form_action=f"{REQUESTS}/{escalation.reference}",
            hidden_name=sessions.CSRF_FIELD,
            hidden_value=visit.csrf,
        )

    @get("/{reference:str}")
    async def request_page(
        self, reference: Reference, partner_visit: NamedDependency[PartnerVisit]
    ) -> Template:
        escalation = await _request(partner_visit, reference)
        done = partner_visit.request.query_params.get("fait") == "1"
        return await self._page(partner_visit, escalation, done=done)

    @post("/{reference:str}")
    async def answer(
        self, reference: Reference, partner_visit: NamedDependency[PartnerVisit]
    ) -> Template | Redirect:
        escalation = await _request(partner_visit, reference)
        form = await partner_visit.request.form()
        refused = await answer(partner_visit.session, escalation, form, partner_visit.now)
        if refused is not None:
            return await self._page(partner_visit, escalation, refused=refused)
        return Redirect(f"{REQUESTS}/{escalation.reference}?fait=1", status_code=303)
