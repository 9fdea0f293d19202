"""Requests sent on to expert departments: what the usager sees of theirs, and the
managers' page that moves them forward."""

from __future__ import annotations

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
from app.i18n import formats, gettext
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
        session = staff.session
        site = await site_for(session, staff, slug, accounts.MANAGERS)
        chosen = staff.request.query_params.get("filtre", "ouvertes")
        if chosen not in FILTERS:
            chosen = "ouvertes"
        found = await visits.escalations_of(session, [site.id], statuses=FILTERS[chosen])
        tz = ZoneInfo(site.timezone)
        rows = [_row(item, staff.now, tz) for item in found]
        if chosen == "en-retard":
            rows = [row for row in rows if row["overdue"]]
        params = staff.request.query_params
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
            "moved": params.get("deplacee"),
            "error": refusal(params["erreur"]) if params.get("erreur") else None,
        }
        return Template("staff_requests.html", context=page)

    @post("/demandes/{slug:str}/{reference:str}")
    async def move(
        self,
        slug: Slug,
        reference: Reference,
        staff: NamedDependency[Staff],
    ) -> Redirect:
        site = await site_for(staff.session, staff, slug, accounts.MANAGERS)
        form = await staff.request.form()
        path = f"/demandes/{site.slug}"

        def same_site(found: Site) -> None:
            accounts.authorize(staff.actor, roles=accounts.MANAGERS, site=found)
            if found.id != site.id:
                raise NotFound("This request belongs to another mairie.", code="not_found")

        try:
            moved = await visits.move(
                staff.session,
                reference,
                str(form.get("statut", "")),
                agent_id=staff.actor.agent_id,
                message=str(form.get("message", ""))[:1000],
                now=staff.now,
                may_change=same_site,
            )
        except DomainError as error:
            return back(path, erreur=error.code or "not_found")
        return back(path, deplacee=moved.reference)
