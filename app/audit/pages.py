"""The journal page: the audit log as managers (their mairies) and administrators (all of
it) read it, in French, filtered by mairie, agent, kind of action and days, fifty events a
page from the newest. It reads the log as the API does (app.audit.api.read_log)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any
from urllib.parse import urlencode

from litestar import get
from litestar.di import NamedDependency
from litestar.response import Template

from app import bounds
from app.accounts import commands as agents
from app.accounts.admin_forms import admin_context
from app.accounts.service import MANAGERS, sites_in_view
from app.audit.api import AuditPage, read_log
from app.audit.service import Filters
from app.i18n import N_, gettext
from app.sites.forms import read_day
from app.sites.models import Site
from app.web.staff import Staff, StaffController

JOURNAL_PAGE = "/admin/journal"
ACTIONS = {
    "auth.login": N_("Connexion"),
    "auth.login_failed": N_("Échec de connexion"),
    "auth.login_refused": N_("Connexion refusée"),
    "auth.locked": N_("Compte bloqué après des erreurs de mot de passe"),
    "auth.slowed": N_("Connexions ralenties depuis une adresse après des erreurs de mot de passe"),
    "appointment.booked": N_("Rendez-vous pris pour une personne"),
    "ticket.issued": N_("Ticket remis"),
    "ticket.checked_in": N_("Arrivée enregistrée"),
    "ticket.checked_in_late": N_("Arrivée en retard enregistrée"),
    "ticket.called": N_("Ticket appelé"),
    "ticket.recall": N_("Ticket rappelé"),
    "ticket.start": N_("Prise en charge commencée"),
    "ticket.finish": N_("Prise en charge terminée"),
    "ticket.no_show": N_("Personne absente"),
    "ticket.cancel": N_("Ticket annulé"),
    "ticket.transfer": N_("Ticket transféré"),
    "escalation.moved": N_("Demande transmise : étape suivante"),
    "department.created": N_("Service expert ajouté"),
    "department.changed": N_("Service expert modifié"),
    "service.created": N_("Démarche ajoutée au catalogue"),
    "service.changed": N_("Démarche modifiée"),
    "service.retired": N_("Démarche retirée"),
    "service.restored": N_("Démarche proposée à nouveau"),
    "need.created": N_("Besoin ajouté"),
    "need.changed": N_("Besoin modifié"),
    "need.retired": N_("Besoin retiré"),
    "need.restored": N_("Besoin proposé à nouveau"),
    "agent.created": N_("Compte d'agent créé"),
    "agent.renamed": N_("Compte d'agent renommé"),
    "agent.role_changed": N_("Rôle d'un agent changé"),
    "agent.sites_changed": N_("Mairies d'un agent changées"),
    "agent.disabled": N_("Compte d'agent désactivé"),
    "agent.enabled": N_("Compte d'agent réactivé"),
    "agent.password_reset": N_("Mot de passe d'un agent changé"),
    "agent.unlocked": N_("Compte d'agent débloqué"),
    "site.settings_changed": N_("Réglages de la mairie modifiés"),
    "station.created": N_("Poste ajouté"),
    "station.changed": N_("Poste modifié"),
    "station.out_of_service": N_("Poste mis hors service"),
    "station.back_in_service": N_("Poste remis en service"),
    "hours.changed": N_("Horaires de la semaine modifiés"),
    "hours_exception.added": N_("Horaires d'un jour particulier fixés"),
    "hours_exception.deleted": N_("Horaires d'un jour particulier retirés"),
    "closure.added": N_("Fermeture exceptionnelle ajoutée"),
    "closure.deleted": N_("Fermeture exceptionnelle retirée"),
}
ACTION_FILTERS = {
    "": N_("Toutes les actions"),
    "auth.": N_("Connexions"),
    "agent.": N_("Comptes des agents"),
    "ticket.": N_("Tickets et file d'attente"),
    "appointment.": N_("Rendez-vous"),
    "escalation.": N_("Demandes transmises"),
    "service.": N_("Catalogue des démarches"),
    "need.": N_("Besoins"),
    "department.": N_("Services experts"),
    "site.": N_("Mairies"),
    "station.": N_("Postes"),
    "hours.": N_("Horaires de la semaine"),
    "hours_exception.": N_("Jours particuliers"),
    "closure.": N_("Fermetures exceptionnelles"),
}
ACTION_PATTERN = re.compile(r"^[a-z_]+(\.[a-z_]*)?$")
EVENTS_SHOWN = 50


def action_label(code: str) -> str:
    return gettext(ACTIONS[code]) if code in ACTIONS else code


def details_text(details: Mapping[str, Any]) -> str:
    parts = []
    for key, value in details.items():
        shown = ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
        parts.append(gettext("%(label)s : %(value)s", label=key, value=shown))
    return " ; ".join(parts)


def day_field(raw: str, name: str, errors: dict[str, str]) -> date | None:
    """A day to filter by, if one is given (read as every form reads a day)."""
    return read_day({name: raw}, name, errors) if raw else None


def journal_link(params: Mapping[str, str], **more: str) -> str:
    """The journal's address with the same filters as `params`, but another page."""
    query = {key: value for key, value in params.items() if key != "avant" and value}
    return f"{JOURNAL_PAGE}?" + urlencode({**query, **more})


def event_rows(log: AuditPage, sites: list[Site]) -> list[dict[str, Any]]:
    """The log's events as the journal shows them, each site by its name."""
    names = {site.slug: site.name for site in sites}
    return [
        {
            "at": event.at.strftime("%d/%m/%Y %H:%M:%S"),
            "iso": event.at.isoformat(),
            "agent": (event.agent.name or event.agent.email) if event.agent else "",
            "site": names.get(event.site, event.site) if event.site else "",
            "action": action_label(event.action),
            "code": event.action,
            "target": event.target,
            "details": details_text(event.details),
            "address": event.address,
        }
        for event in log.events
    ]


class JournalPages(StaffController):
    @get(JOURNAL_PAGE)
    async def journal(
        self,
        staff: NamedDependency[Staff],
    ) -> Template:
        session = staff.session
        params = staff.request.query_params
        errors: dict[str, str] = {}
        slug = params.get("mairie", "")[:40] or None
        action = params.get("action", "")[:40]
        if action and not ACTION_PATTERN.fullmatch(action):
            errors["action"] = gettext("Choisissez un type d'action de la liste.")
        by_agent = params.get("agent", "")
        agent_id = bounds.parse_int(by_agent, 1, bounds.LARGEST_ID)
        if by_agent and agent_id is None:
            errors["agent"] = gettext("Choisissez un agent de la liste.")
        before = bounds.parse_int(params.get("avant"), 1, 2**63 - 1)
        first = day_field(params.get("du", ""), "du", errors)
        last = day_field(params.get("au", ""), "au", errors)
        if first and last and last < first:
            errors["au"] = gettext("Le dernier jour vient avant le premier.")
        sites = await sites_in_view(session, staff.actor, roles=MANAGERS)
        events = []
        older = None
        if not errors:
            filters = Filters(
                agent_id=agent_id, action=action or None, before_id=before, limit=EVENTS_SHOWN
            )
            log = await read_log(
                staff.context, staff.actor, filters, slug=slug, first=first, last=last
            )
            events = event_rows(log, sites)
            if log.next_before is not None:
                older = journal_link(params, avant=str(log.next_before))
        colleagues = await agents.agents_in_view(session, staff.actor, slug=None)
        return Template(
            "admin_journal.html",
            context={
                **admin_context(staff, "journal"),
                "events": events,
                "older": older,
                "newest": journal_link(params) if before else None,
                "sites": sites,
                "colleagues": colleagues,
                "actions": {code: gettext(text) for code, text in ACTION_FILTERS.items()},
                "chosen": {
                    "mairie": slug or "",
                    "agent": by_agent,
                    "action": action,
                    "du": params.get("du", "")[:10],
                    "au": params.get("au", "")[:10],
                },
                "errors": errors,
                "zone": staff.settings.timezone,
            },
            status_code=400 if errors else 200,
        )
