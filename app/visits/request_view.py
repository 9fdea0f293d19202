"""What an expert department sees of a request sent on to it, and how its answer is read:
shared by the department's private-link page (`app.visits.pages`) and by the partners'
page (`app.partners.request_pages`), where a partner's account answers the requests sent
on to its department the same way."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from litestar.datastructures import FormMultiDict
from litestar.response import Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.booking.models import Appointment
from app.errors import DomainError
from app.i18n import N_, formats, gettext
from app.i18n.texts import ESCALATION_STATUSES as STATUS_LABELS
from app.i18n.texts import label, refusal
from app.queue.models import Ticket
from app.sites.models import Service, Site
from app.visits import service as visits
from app.visits.models import ESCALATION_STATUSES, Escalation, EscalationStatus, Visit
from app.web.context import Context

# The answers of a request's page: never kept, never told where they were read from.
PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
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


def following(escalation: Escalation) -> tuple[str, ...]:
    """The steps the request may go to from where it is."""
    return ESCALATION_STATUSES[ESCALATION_STATUSES.index(escalation.status) + 1 :]


def error_text(error: str | None) -> str | None:
    """What the page says of `error`: a problem's words, or a refusal already in words."""
    return gettext(ERRORS[error], most=visits.MAX_NOTE) if error in ERRORS else error


@dataclass(frozen=True)
class Refused:
    """An answer not taken: what the page says (a key of `ERRORS`, or words), the step
    and the message as typed, to show again, and the page's status."""

    error: str
    chosen: str
    message: str
    status: int


async def answer(
    session: AsyncSession, escalation: Escalation, form: FormMultiDict, now: datetime
) -> Refused | None:
    """The department's answer (the step chosen and its message, `statut` and `message`)
    recorded as a move by the department itself, the person told; or why it is not."""
    status = str(form.get("statut", ""))[:32]
    raw = str(form.get("message", ""))
    message = " ".join(raw.split())
    typed = raw[: visits.MAX_NOTE * 2]
    chosen = status if status in following(escalation) else ""
    error = None
    if not chosen:
        error = "status"
    elif len(message) > visits.MAX_NOTE:
        error = "long"
    elif not message.isprintable():
        error = "unprintable"
    elif status == EscalationStatus.ANSWERED and not message:
        error = "answer"
    if error:
        return Refused(error, chosen, typed, 400)
    try:
        await visits.move(
            session,
            escalation.reference,
            status,
            agent_id=None,
            message=message,
            now=now,
            may_change=lambda _site: None,  # the link, or the partner's page, is the right
            by_department=True,
        )
    except DomainError as refused:  # moved meanwhile, from the mairie or another tab
        return Refused(refusal(refused.code or ""), "", "", refused.status)
    return None


async def request_context(
    context: Context,
    escalation: Escalation,
    *,
    done: bool = False,
    refused: Refused | None = None,
) -> dict[str, Any]:
    """What the department's page shows of the request: the mairie, the person, the
    démarches and the note of the visit, its steps so far and those that may follow; and
    the answer just recorded (`done`) or refused (with the step and message as typed).
    The caller adds where its form posts (`form_action`, its token's field)."""
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
        "next": [
            (status, gettext(STEP_LABELS[EscalationStatus(status)]))
            for status in following(escalation)
        ],
        "max_message": visits.MAX_NOTE,
        "done": done,
        "error": error_text(refused.error if refused else None),
        "error_field": refused.error if refused else None,
        "chosen": refused.chosen if refused else "",
        "message": refused.message if refused else "",
    }


async def render_request_page(
    template: str,
    context: Context,
    escalation: Escalation,
    *,
    done: bool = False,
    refused: Refused | None = None,
    **form: Any,
) -> Template:
    """The request's page, `template`, as `request_context` has it with what the caller's
    form needs (`form`: where it posts, its token's field), never kept and answered with
    the status of the answer `refused`, if any."""
    page = await request_context(context, escalation, done=done, refused=refused)
    page.update(form)
    return Template(
        template,
        context=page,
        headers=PRIVATE,
        status_code=refused.status if refused else 200,
    )
