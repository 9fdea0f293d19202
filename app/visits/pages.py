"""The page where an expert department answers a request sent on to it: reached by the
private link of the email it received, no account needed. It reads the request, answers,
and moves it forward; the usager is told at each step, as when a manager moves it.

A plain form that works without JavaScript. Its POST carries a form token derived from the
private link's digest with the server's secret: another site cannot forge it, and it is
worth nothing without the link itself."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any
from zoneinfo import ZoneInfo

from litestar import get, post
from litestar.di import NamedDependency
from litestar.response import Redirect, Template
from sqlalchemy import select

from app.booking.models import Appointment
from app.booking.schemas import Token
from app.config import Settings
from app.db import token_digest
from app.errors import DomainError
from app.i18n import N_, formats, gettext
from app.i18n.texts import ESCALATION_STATUSES as STATUS_LABELS
from app.i18n.texts import label, refusal
from app.queue.models import Ticket
from app.sites.models import Service, Site
from app.visits import service as visits
from app.visits.models import ESCALATION_STATUSES, Escalation, EscalationStatus, Visit
from app.web.context import Context
from app.web.public import PublicController, Visitor

PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
FORM_TOKEN = "jeton"  # noqa: S105 (the name of the form field)
# What the department may say of the request, in the order it goes.
STEP_LABELS = {
    EscalationStatus.IN_PROGRESS: N_("En cours de traitement"),
    EscalationStatus.ANSWERED: N_("Répondue : la réponse est écrite ci-dessous"),
    EscalationStatus.CLOSED: N_("Close : plus rien à faire"),
}
# What the page says of a form it refuses, by the problem (`%(most)d`: the longest message).
ERRORS = {
    "form": N_("Ce formulaire a expiré : rechargez la page et recommencez."),
    "status": N_("Choisissez où en est la demande."),
    "answer": N_("Écrivez la réponse à transmettre à la personne."),
    "long": N_("Votre message dépasse %(most)d caractères : raccourcissez-le."),
    "unprintable": N_(
        "Votre message contient des caractères invisibles ou de contrôle : retapez-le sans "
        "copier-coller."
    ),
}


def form_token(settings: Settings, token: str) -> str:
    """The token the department's form carries: bound to this link, unknowable elsewhere."""
    key = settings.secret_key.encode()
    return hmac.new(
        key, f"department-form:{token_digest(token)}".encode(), hashlib.sha256
    ).hexdigest()


async def request_context(context: Context, escalation: Escalation) -> dict[str, Any]:
    """What the department's page shows of the request: the mairie, the person, the
    démarches and the note of the visit, its steps so far and those that may follow."""
    session = context.session
    site = await session.get_one(Site, escalation.site_id)
    tz = ZoneInfo(site.timezone)
    visit = await session.get_one(Visit, escalation.visit_id)
    ticket = await session.get_one(Ticket, escalation.ticket_id)
    name = ""
    if ticket.appointment_id is not None:
        name = (await session.get_one(Appointment, ticket.appointment_id)).name
    services = {
        service.code: service.name
        for service in await session.scalars(
            select(Service).where(Service.code.in_(visit.services))
        )
    }
    following = ESCALATION_STATUSES[ESCALATION_STATUSES.index(escalation.status) + 1 :]
    return {
        "reference": escalation.reference,
        "site": site.name,
        "department": escalation.department.name,
        "received": formats.day(escalation.created_at.astimezone(tz).date()),
        "status": escalation.status,
        "status_label": label(STATUS_LABELS, escalation.status),
        "overdue": visits.overdue(escalation, context.now),
        "answer_days": escalation.department.answer_days,
        "name": name,
        "services": [services.get(code, code) for code in visit.services],
        "note": visit.note,
        "steps": [
            {
                "label": label(STATUS_LABELS, event.status),
                "day": formats.day(event.at.astimezone(tz).date()),
                "by": gettext("votre service") if event.by_department else gettext("la mairie"),
                "message": event.message,
            }
            for event in escalation.events
        ],
        "next": [(status, gettext(STEP_LABELS[status])) for status in following],
        "max_message": visits.MAX_NOTE,
    }


class DepartmentPages(PublicController):
    async def _page(
        self,
        context: Context,
        token: str,
        *,
        done: bool = False,
        error: str | None = None,
        chosen: str = "",
        message: str = "",
        status_code: int = 200,
    ) -> Template:
        escalation = await visits.escalation_by_department_token(context.session, token)
        page = await request_context(context, escalation)
        page.update(
            token=token,
            form_token=form_token(context.settings, token),
            done=done,
            error=gettext(ERRORS[error], most=visits.MAX_NOTE) if error in ERRORS else error,
            error_field=error,
            chosen=chosen,
            message=message,
        )
        return Template(
            "department_request.html", context=page, headers=PRIVATE, status_code=status_code
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
            return await self._page(visitor.context, token, error="form", status_code=403)
        status = str(form.get("statut", ""))[:32]
        raw = str(form.get("message", ""))
        message = " ".join(raw.split())
        following = ESCALATION_STATUSES[ESCALATION_STATUSES.index(escalation.status) + 1 :]
        error = None
        if status not in following:
            error = "status"
        elif len(message) > visits.MAX_NOTE:
            error = "long"
        elif not message.isprintable():
            error = "unprintable"
        elif status == EscalationStatus.ANSWERED and not message:
            error = "answer"
        if error:
            return await self._page(
                visitor.context,
                token,
                error=error,
                chosen=status if status in following else "",
                message=raw[: visits.MAX_NOTE * 2],
                status_code=400,
            )
        try:
            await visits.move(
                visitor.session,
                escalation.reference,
                status,
                agent_id=None,
                message=message,
                now=visitor.now,
                may_change=lambda _site: None,  # the private link is the department's right
                by_department=True,
            )
        except DomainError as refused:  # moved meanwhile, from the mairie or another tab
            return await self._page(
                visitor.context,
                token,
                error=refusal(refused.code or ""),
                status_code=refused.status,
            )
        return Redirect(f"/demande-transmise/{token}?fait=1", status_code=303)
