"""The desks' forms as read from a post: the walk-in ticket asked for, the station's
visit or transfer, what of them is refused before anything is done (shown again as
typed, the refusal beside its field), and the length of each free text, which is
refused past its limit, never cut."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Set
from dataclasses import dataclass, replace

from litestar.datastructures import FormMultiDict

from app import bounds
from app.booking.contacts import texting_number
from app.booking.pages import needs_of
from app.errors import BadRequest
from app.i18n import N_, gettext
from app.i18n.texts import refusal
from app.queue.queries import MAX_REASON
from app.sites.models import STATION_KINDS
from app.visits.activity_form import ActivityForm
from app.visits.service import MAX_NOTE, VisitReport, check

# The free texts of the desks' forms, by field name: their limit, and the refusal of a
# longer one. The same limits as the API's and as the inputs' `maxlength`.
TOO_LONG = {
    "raison": (MAX_REASON, N_("Raison trop longue : %(num)d caractères au plus.")),
    "telephone": (32, N_("Numéro de portable trop long : %(num)d caractères au plus.")),
    "email": (254, N_("Adresse e-mail trop longue : %(num)d caractères au plus.")),
    "note": (MAX_NOTE, N_("Note trop longue : %(num)d caractères au plus.")),
    "q": (80, N_("Recherche trop longue : %(num)d caractères au plus.")),
}
MAX_REFERENCE = 16

UNKNOWN_SERVICE = N_(
    "Cette démarche n'existe pas ou n'est plus proposée : choisissez-en une dans la liste."
)
UNKNOWN_NEED = N_("Un des besoins choisis n'existe pas ou n'est plus proposé.")
UNKNOWN_KIND = N_("Ce type de poste n'existe pas : choisissez standard ou double écran.")
NOT_MOBILE = N_(
    "Ce numéro n'est pas un numéro de portable : les SMS ne partent que vers un portable "
    "(06, 07, d'outre-mer ou étranger)."
)

# The field of the visit's form each refusal of its report (`visits.check`) speaks of.
VISIT_FIELDS = {
    "outcome_invalid": "issue",
    "department_required": "service_expert",
    "department_without_escalation": "service_expert",
}


def too_long(values: Mapping[str, str]) -> str | None:
    """The first field of `values` longer than its limit in `TOO_LONG`, if any."""
    return next(
        (
            name
            for name, value in values.items()
            if name in TOO_LONG and len(value) > TOO_LONG[name][0]
        ),
        None,
    )


def too_long_text(name: str) -> str:
    """The refusal of a text too long for the field `name`, with its limit."""
    limit, message = TOO_LONG[name]
    return gettext(message, num=limit)


@dataclass(frozen=True)
class WalkIn:
    """A walk-in ticket as the reception (or a station) asks for it, read once from the
    form, its texts as typed; the confirmation page sends it again in hidden fields,
    `forcer` confirming."""

    service: str
    needs: tuple[str, ...]
    priority: bool
    phone: str | None
    station: int | None
    confirmed: bool
    reason: str

    @classmethod
    def of(cls, form: FormMultiDict) -> WalkIn:
        return cls(
            service=str(form.get("service", ""))[:40],
            needs=needs_of(form.getall("besoins", [])),
            priority=form.get("prioritaire") == "oui",
            phone=str(form.get("telephone", "")).strip() or None,
            station=bounds.parse_int(str(form.get("poste", "")), 1, bounds.LARGEST_ID),
            confirmed=form.get("forcer") == "oui",
            reason=str(form.get("raison", "")),
        )

    def too_long(self, *, reason_kept: bool) -> str | None:
        """Its text too long for its field, if any; the reason counts only where it is
        kept (`reason_kept`: a ticket forced while the mairie is closed)."""
        return too_long(
            {"telephone": self.phone or "", "raison": self.reason if reason_kept else ""}
        )

    def refusal(self, services: Set[str], needs: Set[str]) -> tuple[str, str] | None:
        """The field refused and why, if the ticket cannot be issued as asked: no démarche
        or one not among `services` (the codes offered), a need not among `needs`, a
        phone that cannot take a text."""
        if not self.service:
            return "service", gettext("Choisissez une démarche.")
        if self.service not in services:
            return "service", gettext(UNKNOWN_SERVICE)
        if not set(self.needs) <= needs:
            return "besoins", gettext(UNKNOWN_NEED)
        if self.phone is not None:
            try:
                texting_number(self.phone)
            except BadRequest as refused:
                if refused.code == "phone_not_mobile":
                    return "telephone", gettext(NOT_MOBILE)
                return "telephone", refusal("phone_invalid")
        return None


@dataclass(frozen=True)
class Kept:
    """A form of the station's console as typed: the visit's (`action` "terminer") or
    the transfer's ("transferer") of the ticket `ticket_id`; once refused, shown again
    as typed with the refusal (`error`) of its field `field`."""

    ticket_id: int
    action: str
    error: str = ""
    field: str = ""
    note: str = ""
    outcome: str = ""
    department: str = ""
    services: tuple[str, ...] = ()
    service: str = ""
    kind: str = ""
    activity: ActivityForm = dataclasses.field(default_factory=ActivityForm)

    @classmethod
    def of(cls, ticket_id: int, action: str, form: FormMultiDict) -> Kept:
        return cls(
            ticket_id=ticket_id,
            action=action,
            note=str(form.get("note", "")),
            outcome=str(form.get("issue", "")),
            department=str(form.get("service_expert", "")),
            services=tuple(str(code) for code in form.getall("demarches", [])),
            service=str(form.get("service", "")),
            kind=str(form.get("poste", "")),
            activity=ActivityForm.of(form),
        )

    def report(self) -> VisitReport:
        """The visit as the facilitator reports it; an outcome left out is none."""
        return VisitReport(
            services=list(self.services),
            outcome=self.outcome or "none",
            note=self.note,
            department=self.department or None,
            activity=self.activity.report(),
        )

    def refusal(self, services: Set[str], departments: Set[str]) -> Kept | None:
        """Itself with the refusal of what cannot be done as asked, before anything is
        done, beside its field; None when nothing is refused here. `services`: the codes
        of the démarches offered; `departments`: those of the expert departments."""
        found = None
        if self.action == "terminer":
            found = self._visit_refusal(services, departments)
        elif self.action == "transferer":
            found = self._transfer_refusal(services)
        if found is None:
            return None
        field, error = found
        return replace(self, field=field, error=error)

    def _visit_refusal(self, services: Set[str], departments: Set[str]) -> tuple[str, str] | None:
        """A report that does not hold together (`visits.check`), an activity record La
        Coop would not take, an expert department or a démarche that is not offered, a
        note too long."""
        activity_refused = self.activity.refusal()
        if activity_refused is not None:
            return activity_refused
        try:
            check(self.report())
        except BadRequest as refused:
            code = refused.code or "outcome_invalid"
            return VISIT_FIELDS.get(code, "issue"), refusal(code)
        if self.department and self.department not in departments:
            return "service_expert", refusal("unknown_department")
        if not set(self.services) <= services:
            return "demarches", refusal("unknown_service")
        if too_long({"note": self.note}):
            return "note", too_long_text("note")
        return None

    def _transfer_refusal(self, services: Set[str]) -> tuple[str, str] | None:
        """A démarche that is not offered, a type of station that does not exist."""
        if self.service and self.service not in services:
            return "service", gettext(UNKNOWN_SERVICE)
        if self.kind and self.kind not in STATION_KINDS:
            return "poste", gettext(UNKNOWN_KIND)
        return None
