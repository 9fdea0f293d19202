"""The page where a manager finds one person's data (by email or phone) at their mairies,
and erases it on request. The contact is posted, never put in an address (it would stay
in the browser's history); the erasure asks for a confirmation first, and erases what the
page showed or nothing: its form carries the digest of what was listed, and when what is
found now differs, the page shows it again, to be confirmed again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from litestar import get, post
from litestar.datastructures import FormMultiDict
from litestar.di import NamedDependency
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app import bounds
from app.accounts.admin_forms import admin_context
from app.accounts.service import MANAGERS, sites_in_view
from app.booking.models import Appointment
from app.errors import BadRequest
from app.i18n import N_, formats, gettext
from app.i18n.texts import MESSAGE_STATUSES, STATUSES, label, message_kind, refusal
from app.privacy import service
from app.queue.models import Ticket
from app.sites.models import Site
from app.web.staff import Staff, StaffController, back

PAGE = "/admin/donnees-personnelles"
CONTACT_ERRORS = {
    "person_contact": N_(
        "Indiquez l'adresse e-mail de la personne ou son numéro de téléphone, l'un des deux."
    ),
    "email_invalid": N_("Cette adresse e-mail n'est pas valide. Exemple : prenom.nom@exemple.fr"),
    "phone_invalid": N_("Ce numéro de téléphone n'est pas valide. Exemple : 06 12 34 56 78"),
}


def _contact_fields(form: FormMultiDict) -> dict[str, str]:
    return {
        "email": str(form.get("email", ""))[:254].strip(),
        "telephone": str(form.get("telephone", ""))[:40].strip(),
        "mairie": str(form.get("mairie", ""))[:40],
    }


async def _scope(session: AsyncSession, staff: Staff, slug: str) -> list[Site]:
    return await sites_in_view(session, staff.actor, roles=MANAGERS, slug=slug or None)


def _rows(found: service.Found, sites: dict[int, Site], now: datetime) -> dict[str, Any]:
    def name(site_id: int) -> str:
        return sites[site_id].name

    def zone(site_id: int) -> ZoneInfo:
        return ZoneInfo(sites[site_id].timezone)

    notes = {visit.ticket_id: visit.note for visit in found.visits}
    ahead = {a.id for a in service.ahead(found, now)}
    apart = {a.id: a.reference for a in found.apart}

    def appointment(a: Appointment) -> dict[str, Any]:
        return {
            "reference": a.reference,
            "site": name(a.site_id),
            "when": formats.moment(a.starts_at.astimezone(zone(a.site_id))),
            "status": label(STATUSES, a.status),
            "ahead": a.id in ahead,
            "name": a.name,
            "contact": ", ".join(part for part in (a.email, a.phone) if part),
            "via": found.via.get(("appointment", a.id), ""),
        }

    def ticket(t: Ticket) -> dict[str, Any]:
        return {
            "number": t.number,
            "site": name(t.site_id),
            "day": formats.day(t.day),
            "phone": t.phone or "",
            "note": notes.get(t.id, ""),
            "via": found.via.get(("ticket", t.id), ""),
            "of": apart.get(t.appointment_id or 0, ""),
        }

    return {
        "also": found.also,
        "ahead": len(ahead),
        "shown": found.digest(),
        "appointments": [appointment(a) for a in found.appointments],
        "tickets": [ticket(t) for t in found.tickets],
        "apart": [appointment(a) for a in found.apart],
        "apart_tickets": [ticket(t) for t in found.apart_tickets],
        "escalations": [
            {"reference": e.reference, "site": name(e.site_id)} for e in found.escalations
        ],
        "answers": [{"comment": a.comment} for a in found.answers if a.comment],
        "messages": [
            {
                "kind": message_kind(m.kind),
                "channel": gettext("e-mail") if m.channel == "email" else gettext("SMS"),
                "status": label(MESSAGE_STATUSES, m.status),
                "day": formats.day(m.created_at.astimezone(zone(m.site_id)).date()),
                "purged": m.purged_at is not None,
            }
            for m in found.messages
        ],
    }


@dataclass(frozen=True)
class Asked:
    """A search or an erasure as posted: the fields as typed, the person's contact, the
    mairies searched and all those the agent may search."""

    chosen: dict[str, str]
    contact: service.Contact
    sites: list[Site]
    all_sites: list[Site]

    @property
    def site_ids(self) -> list[int]:
        return [site.id for site in self.sites]

    @property
    def sites_by_id(self) -> dict[int, Site]:
        return {site.id: site for site in self.sites}


class PrivacyPages(StaffController):
    async def _asked(
        self, session: AsyncSession, staff: Staff, form: FormMultiDict
    ) -> Asked | Template:
        """What the posted `form` asks for; the page again, answered 400 with the problem
        next to its field, when its contact is not one."""
        chosen = _contact_fields(form)
        all_sites = await _scope(session, staff, "")
        sites = await _scope(session, staff, chosen["mairie"])
        try:
            contact = service.contact_of(chosen["email"], chosen["telephone"])
        except BadRequest as refused:
            field = "telephone" if refused.code == "phone_invalid" else "email"
            code = refused.code or ""
            text = gettext(CONTACT_ERRORS[code]) if code in CONTACT_ERRORS else refusal("")
            errors = {field: text}
            return self._page(staff, all_sites, chosen=chosen, errors=errors, status_code=400)
        return Asked(chosen, contact, sites, all_sites)

    def _page(
        self,
        staff: Staff,
        sites: list[Site],
        *,
        chosen: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
        found: dict[str, Any] | None = None,
        erased: dict[str, int] | None = None,
        changed: bool = False,
        status_code: int = 200,
    ) -> Template:
        return Template(
            "admin_privacy.html",
            context={
                **admin_context(staff, "donnees"),
                "sites": sites,
                "chosen": chosen or {"email": "", "telephone": "", "mairie": ""},
                "errors": errors or {},
                "found": found,
                "erased": erased,
                "changed": changed,
            },
            status_code=status_code,
        )

    @get(PAGE)
    async def privacy_page(
        self,
        staff: NamedDependency[Staff],
    ) -> Template:
        sites = await _scope(staff.session, staff, "")
        erased = None
        asked = staff.request.query_params
        if asked.get("fait") == "efface":
            erased = {
                "lines": bounds.parse_int(asked.get("lignes"), 0, 10**9) or 0,
                "cancelled": bounds.parse_int(asked.get("annules"), 0, 10**9) or 0,
            }
        return self._page(staff, sites, erased=erased)

    @post(PAGE)
    async def search(
        self,
        staff: NamedDependency[Staff],
    ) -> Template:
        session = staff.session
        asked = await self._asked(session, staff, await staff.request.form())
        if isinstance(asked, Template):
            return asked
        found = await service.find(session, asked.contact, asked.site_ids)
        rows = _rows(found, asked.sites_by_id, staff.now)
        return self._page(staff, asked.all_sites, chosen=asked.chosen, found=rows)

    @post(f"{PAGE}/effacement")
    async def erase(
        self,
        staff: NamedDependency[Staff],
    ) -> Template | Redirect:
        session = staff.session
        form = await staff.request.form()
        asked = await self._asked(session, staff, form)
        if isinstance(asked, Template):
            return asked
        if form.get("confirme") != "oui":
            found = await service.find(session, asked.contact, asked.site_ids)
            return self._page(
                staff,
                asked.all_sites,
                chosen=asked.chosen,
                errors={"confirme": gettext("Cochez la case pour confirmer l'effacement.")},
                found=_rows(found, asked.sites_by_id, staff.now),
                status_code=400,
            )
        try:
            erased = await service.erase(
                staff.session,
                asked.contact,
                asked.site_ids,
                agent_id=staff.actor.agent_id,
                now=staff.now,
                outbox=Path(staff.settings.outbox_dir),
                shown=str(form.get("vu", ""))[:64],
            )
        except service.Changed:
            # Not what the page showed: nothing erased; what is found now, to confirm again.
            found = await service.find(session, asked.contact, asked.site_ids)
            return self._page(
                staff,
                asked.all_sites,
                chosen=asked.chosen,
                found=_rows(found, asked.sites_by_id, staff.now),
                changed=True,
                status_code=409,
            )
        blanked = erased.blanked
        lines = blanked.appointments + blanked.tickets + blanked.messages_purged
        return back(PAGE, fait="efface", lignes=str(lines), annules=str(erased.cancelled))
