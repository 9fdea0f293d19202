"""Requests sent on to expert departments: what the usager sees of theirs, and the
managers' page that moves them forward."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import HTTPException
from litestar.params import PathParameter
from litestar.response import Redirect, Template

from app.accounts import service as accounts
from app.errors import DomainError, NotFound
from app.i18n import N_, formats, gettext
from app.i18n.texts import ESCALATION_STATUSES as STATUS_LABELS
from app.i18n.texts import label, refusal
from app.sites.models import Site
from app.sites.schemas import Slug
from app.visits import service as visits
from app.visits.models import ESCALATION_STATUSES, Escalation, EscalationStatus
from app.web.staff import Staff, back, on_error, provide_staff, site_for

Reference = Annotated[str, PathParameter(min_length=1, max_length=16)]
FILTERS = {
    "ouvertes": (EscalationStatus.RECEIVED, EscalationStatus.IN_PROGRESS),
    "en-retard": (EscalationStatus.RECEIVED, EscalationStatus.IN_PROGRESS),
    "repondues": (EscalationStatus.ANSWERED,),
    "toutes": ESCALATION_STATUSES,
}
# The refusals of a move that the form shows again as typed, by the service's code: the
# field they concern and what they say (`%(num)d`: the longest message).
KEPT_REFUSALS = {
    "status_invalid": (
        "statut",
        N_("Cet état n'est pas dans la liste : choisissez le nouvel état parmi ceux proposés."),
    ),
    "message_too_long": ("message", N_("Message trop long : %(num)d caractères au plus.")),
    "message_unprintable": (
        "message",
        N_(
            "Le message contient des caractères invisibles ou de contrôle : retapez-le sans "
            "copier-coller."
        ),
    ),
}


@dataclass(frozen=True)
class KeptMove:
    """A move of the request `reference` refused, to show again as typed (`status`,
    `message`), with the refusal (`error`) of its field `field`."""

    reference: str
    status: str
    message: str
    field: str
    error: str

    @classmethod
    def of(cls, reference: str, status: str, message: str, code: str) -> KeptMove | None:
        """The move kept for the refusal `code`; None for a refusal the form cannot help
        with (the request moved meanwhile, or gone)."""
        if code not in KEPT_REFUSALS:
            return None
        field, text = KEPT_REFUSALS[code]
        error = gettext(text, num=visits.MAX_NOTE)
        return cls(reference.strip().upper(), status, message, field, error)


def chosen_filter(value: str | None) -> str:
    """The filter of the page named `value`, the open requests for any other."""
    return value if value in FILTERS else "ouvertes"


def usager_view(escalation: Escalation | None, tz: ZoneInfo) -> dict[str, Any] | None:
    """What the usager's private page shows of their request: where it is, and its steps."""
    if escalation is None:
        return None
    return {
        "reference": escalation.reference,
        "department": escalation.department.name,
        "status": label(STATUS_LABELS, escalation.status),
        "steps": [
            {
                "label": label(STATUS_LABELS, event.status),
                "day": formats.day(event.at.astimezone(tz).date()),
                "message": event.message,
            }
            for event in escalation.events
        ],
    }


def _row(escalation: Escalation, now: datetime, tz: ZoneInfo) -> dict[str, Any]:
    following = ESCALATION_STATUSES[ESCALATION_STATUSES.index(escalation.status) + 1 :]
    return {
        "reference": escalation.reference,
        "department": escalation.department.name,
        "since": formats.day(escalation.created_at.astimezone(tz).date()),
        "updated": formats.day(escalation.updated_at.astimezone(tz).date()),
        "status": label(STATUS_LABELS, escalation.status),
        "overdue": visits.overdue(escalation, now),
        "next": [(status, label(STATUS_LABELS, status)) for status in following],
    }


async def requests_page(
    staff: Staff,
    site: Site,
    chosen: str,
    *,
    moved: str | None = None,
    error: str | None = None,
    kept: KeptMove | None = None,
    status_code: int = 200,
) -> Template:
    """The requests of `site` under the filter `chosen`: with the request just `moved`, the
    refusal `error`, or a move refused and `kept` as typed."""
    found = await visits.escalations_of(staff.session, [site.id], statuses=FILTERS[chosen])
    tz = ZoneInfo(site.timezone)
    rows = [_row(item, staff.now, tz) for item in found]
    if chosen == "en-retard":
        rows = [row for row in rows if row["overdue"]]
    page = {
        "staff": staff,
        "agent": staff.actor,
        "site": site,
        "rows": rows,
        "filter": chosen,
        "filters": [
            ("ouvertes", gettext("En attente de réponse")),
            ("en-retard", gettext("En retard")),
            ("repondues", gettext("Répondues")),
            ("toutes", gettext("Toutes")),
        ],
        "moved": moved,
        "error": kept.error if kept else error,
        "kept": kept,
    }
    return Template("staff_requests.html", context=page, status_code=status_code)


class RequestPages(Controller):
    include_in_schema = False
    exception_handlers = {DomainError: on_error, HTTPException: on_error}
    dependencies = {"staff": Provide(provide_staff)}

    @get("/demandes/{slug:str}")
    async def requests(
        self,
        slug: Slug,
        staff: NamedDependency[Staff],
    ) -> Template:
        site = await site_for(staff.session, staff, slug, accounts.MANAGERS)
        params = staff.request.query_params
        return await requests_page(
            staff,
            site,
            chosen_filter(params.get("filtre")),
            moved=params.get("deplacee"),
            error=refusal(params["erreur"]) if params.get("erreur") else None,
        )

    @post("/demandes/{slug:str}/{reference:str}")
    async def move(
        self,
        slug: Slug,
        reference: Reference,
        staff: NamedDependency[Staff],
    ) -> Template | Redirect:
        site = await site_for(staff.session, staff, slug, accounts.MANAGERS)
        form = await staff.request.form()
        path = f"/demandes/{site.slug}"
        chosen = chosen_filter(form.get("filtre"))
        status, message = str(form.get("statut", "")), str(form.get("message", ""))

        def same_site(found: Site) -> None:
            accounts.authorize(staff.actor, roles=accounts.MANAGERS, site=found)
            if found.id != site.id:
                raise NotFound("This request belongs to another mairie.", code="not_found")

        try:
            moved = await visits.move(
                staff.session,
                reference,
                status,
                agent_id=staff.actor.agent_id,
                message=message,
                now=staff.now,
                may_change=same_site,
            )
        except DomainError as error:
            kept = KeptMove.of(reference, status, message, error.code)
            if kept is not None:
                return await requests_page(staff, site, chosen, kept=kept, status_code=400)
            return back(path, filtre=chosen, erreur=error.code or "not_found")
        return back(path, filtre=chosen, deplacee=moved.reference)
