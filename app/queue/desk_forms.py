"""The desks' forms as read from a post: the walk-in ticket asked for, the station's
refused visit or transfer shown again as typed, and the length of each free text, which
is refused past its limit, never cut."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from litestar.datastructures import FormMultiDict

from app import bounds
from app.booking.pages import needs_of
from app.i18n import N_, gettext
from app.queue.queries import MAX_REASON
from app.visits.service import MAX_NOTE

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


@dataclass(frozen=True)
class Kept:
    """A form of the station's console refused, to show again as typed: the visit's
    (`action` "terminer") or the transfer's ("transferer") of the ticket `ticket_id`, and
    the refusal (`error`) of its field `field`."""

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
        )

    def refusal(self, services: set[str]) -> Kept | None:
        """Itself with the refusal of what cannot be done as asked, before anything is
        done: a note too long, a transfer to a démarche not among `services` (the
        codes offered); None when nothing is refused here."""
        if self.action == "terminer" and too_long({"note": self.note}):
            return replace(self, error=too_long_text("note"), field="note")
        if self.action == "transferer" and self.service and self.service not in services:
            error = gettext(
                "Cette démarche n'existe pas ou n'est plus proposée : choisissez-en une "
                "dans la liste."
            )
            return replace(self, error=error, field="service")
        return None
