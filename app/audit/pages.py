"""The journal page: the audit log as managers (their mairies) and administrators (all of
it) read it, in words (`app.audit.words`: what was done, to what, where and when, never a
code), filtered by mairie, agent, kind of action and days, fifty events a page from the
newest. It reads the log as the API does (app.audit.api.read_log)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from litestar import get
from litestar.di import NamedDependency
from litestar.response import Template
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import bounds
from app.accounts import commands as agents
from app.accounts.admin_forms import admin_context
from app.accounts.models import Agent
from app.accounts.service import MANAGERS, sites_in_view
from app.audit.api import AuditPage, read_log
from app.audit.service import Filters
from app.audit.words import Names, describe, wanted
from app.i18n import N_, formats, gettext
from app.sites.forms import read_day
from app.sites.models import Need, Service, Site, Station
from app.visits.models import Department
from app.web.staff import Staff, StaffController

JOURNAL_PAGE = "/admin/journal"
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
    "screen.": N_("Écrans d'affichage"),
    "appointments.": N_("Réservations suspectes annulées"),
    "person.": N_("Données personnelles effacées"),
    "resident.": N_("Espaces personnels supprimés"),
    "partner.": N_("Partenaires"),
    "webhook.": N_("Webhooks"),
}
ACTION_PATTERN = re.compile(r"^[a-z_]+(\.[a-z_]*)?$")
EVENTS_SHOWN = 50


def day_field(raw: str, name: str, errors: dict[str, str]) -> date | None:
    """A day to filter by, if one is given (read as every form reads a day)."""
    return read_day({name: raw}, name, errors) if raw else None


def journal_link(params: Mapping[str, str], **more: str) -> str:
    """The journal's address with the same filters as `params`, but another page."""
    query = {key: value for key, value in params.items() if key != "avant" and value}
    return f"{JOURNAL_PAGE}?" + urlencode({**query, **more})


async def _named(session: AsyncSession, key: Any, name: Any, keys: set[Any]) -> dict[Any, str]:
    """`name` by `key` for each of `keys` (one query; none for no key)."""
    if not keys:
        return {}
    rows = await session.execute(select(key, name).where(key.in_(keys)))
    return {found: named for found, named in rows}


async def names_of(session: AsyncSession, log: AuditPage, zone: ZoneInfo) -> Names:
    """The names of the agents, mairies, stations and catalog items the events name."""
    found = wanted((event.target, event.details) for event in log.events)
    agent_name = func.coalesce(func.nullif(Agent.name, ""), Agent.email)
    return Names(
        zone=zone,
        agents=await _named(session, Agent.id, agent_name, found.agents),
        sites={slug: name for slug, name in await session.execute(select(Site.slug, Site.name))},
        stations=await _named(session, Station.id, Station.name, found.stations),
        services=await _named(session, Service.code, Service.name, found.services),
        needs=await _named(session, Need.code, Need.name, found.needs),
        departments=await _named(session, Department.code, Department.name, found.departments),
    )


def event_rows(log: AuditPage, names: Names) -> list[dict[str, Any]]:
    """The log's events as the journal shows them: when in words, who, where (the
    mairie's name), what was done and its details, each in words (`app.audit.words`)."""
    rows = []
    for event in log.events:
        who = (event.agent.name or event.agent.email) if event.agent else ""
        if not who and event.action.startswith("resident."):
            who = gettext("La personne, depuis son espace")
        said = describe(
            event.action, event.target, event.details, names, agent_known=event.agent is not None
        )
        rows.append(
            {
                "at": formats.moment(event.at.astimezone(names.zone)),
                "iso": event.at.isoformat(),
                "agent": who,
                "site": names.sites.get(event.site, event.site) if event.site else "",
                "what": said.what,
                "details": said.details,
                "address": event.address,
            }
        )
    return rows


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
            names = await names_of(session, log, ZoneInfo(staff.settings.timezone))
            events = event_rows(log, names)
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
