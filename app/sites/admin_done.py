"""The confirmation a mairie's page gives after a change (POST/redirect/GET: the address
carries it, `fait`), and what the change did to booked appointments. A change sent twice (a
double click, a form sent again from the browser's history) is made once: the second time,
the page says it was made already, when and by whom, and what it did to appointments then,
as the audit log recorded it (`deja`: the event of that change)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import bounds
from app.accounts.models import Agent
from app.audit.models import AuditEvent
from app.i18n import N_, formats, gettext, ngettext
from app.sites.disruption import Disruption, Made
from app.sites.models import Closure, Site, Station, StationOutage
from app.sites.queries import DayException
from app.sites.rules import range_texts

DONE = {
    "reglages": N_("Les réglages ont été enregistrés."),
    "poste_ajoute": N_("Le poste a été ajouté : il est proposé à la réservation dès maintenant."),
    "poste_modifie": N_("Le poste a été modifié."),
    "hors_service": N_(
        "Le poste est hors service pour cette période : il n'est plus proposé à "
        "la réservation et personne n'y est appelé."
    ),
    "en_service": N_("Le poste est de nouveau en service."),
    "horaires": N_("Les horaires ont été enregistrés."),
    "exception": N_("Les horaires de ce jour ont été enregistrés."),
    "exception_supprimee": N_("Ce jour suit de nouveau les horaires de la semaine."),
    "fermeture": N_(
        "La fermeture a été enregistrée : rien n'est plus proposé pendant cette période."
    ),
    "fermeture_supprimee": N_("La fermeture a été annulée : la période est de nouveau proposée."),
    "ecran_retire": N_(
        "L'écran a été retiré : son adresse ne fonctionne plus et il n'est plus "
        "compté parmi les écrans connectés."
    ),
}
ALREADY_FIELD = "deja"
# The changes a form sent twice finds made already, by their confirmation: the action of
# the audit event that made each, and what the event's details name the change by.
ALREADY_ACTIONS = {
    "exception": "hours_exception.added",
    "fermeture": "closure.added",
    "hors_service": "station.out_of_service",
}
NOTHING_AGAIN = N_("Ce nouvel envoi n'a rien changé, et personne n'a été prévenu une seconde fois.")
ALREADY = {
    "": N_("Ce changement était déjà fait."),
    "closed_day": N_("Le %(day)s était déjà fermé toute la journée."),
    "day": N_("Le %(day)s avait déjà ces horaires."),
    "fermeture": N_("Cette fermeture, du %(start)s au %(end)s, était déjà enregistrée."),
    "hors_service": N_("Le poste « %(station)s » était déjà hors service du %(start)s au %(end)s."),
}


async def outcome(session: AsyncSession, site: Site, done: str, made: Made) -> dict[str, str]:
    """The confirmation `done` of what the change `made`, for the page's address."""
    disruption = made if isinstance(made, Disruption) else made[1]
    if disruption.already and not isinstance(made, Disruption):
        event = await _made_by(session, site, made[0])
        return {"fait": done, ALREADY_FIELD: str(event.id if event is not None else 0)}
    return {
        "fait": done,
        "deplaces": str(len(disruption.kept)),
        "a_replanifier": str(len(disruption.to_reschedule)),
    }


async def _made_by(session: AsyncSession, site: Site, thing: Any) -> AuditEvent | None:
    """The audit event of the change that made `thing` (a closure, an outage, a day's own
    hours) as it is: for a day, the first of the latest events that gave it these hours
    (the page once wrote one more at each sending)."""
    query = select(AuditEvent).where(AuditEvent.site_id == site.id)
    if isinstance(thing, Closure | StationOutage):
        key = "closure" if isinstance(thing, Closure) else "outage"
        action = ALREADY_ACTIONS["fermeture" if key == "closure" else "hors_service"]
        named = AuditEvent.details[key].as_integer() == thing.id
        found = query.where(AuditEvent.action == action, named).order_by(AuditEvent.id)
        return await session.scalar(found.limit(1))
    if not isinstance(thing, DayException):
        return None
    actions = (ALREADY_ACTIONS["exception"], "hours_exception.deleted")
    events = await session.scalars(
        query.where(
            AuditEvent.action.in_(actions),
            AuditEvent.details["day"].as_string() == thing.day.isoformat(),
        ).order_by(AuditEvent.id.desc())
    )
    ranges = sorted(range_texts(thing.ranges))
    first = None
    for event in events:
        details = event.details
        same = sorted(details.get("ranges") or []) == ranges and details.get("reason") == (
            thing.reason
        )
        if event.action != actions[0] or not same:
            break
        first = event
    return first


def made_already(query: Mapping[str, str]) -> bool:
    """Whether the confirmation `query` is of a change found made already."""
    return ALREADY_FIELD in query and query.get("fait", "") in ALREADY_ACTIONS


async def done_text(session: AsyncSession, site: Site, query: Mapping[str, str]) -> list[str]:
    """The confirmation of the last change, and what it did to booked appointments; or,
    for a change found made already, when, by whom and what it did then."""
    done = DONE.get(query.get("fait", ""))
    if done is None:
        return []
    if made_already(query):
        return await _already_text(session, site, query["fait"], query[ALREADY_FIELD])
    moved = bounds.parse_int(query.get("deplaces"), 0, 10**6) or 0
    left = bounds.parse_int(query.get("a_replanifier"), 0, 10**6) or 0
    return [gettext(done), *_moved_lines(moved, left)]


def _moved_lines(moved: int, left: int) -> list[str]:
    lines = []
    if moved:
        lines.append(
            ngettext(
                "%(num)d rendez-vous a été confié à un autre poste, à la même heure ; la "
                "personne a été prévenue.",
                "%(num)d rendez-vous ont été confiés à un autre poste, à la même heure ; "
                "chaque personne a été prévenue.",
                moved,
            )
        )
    if left:
        lines.append(
            ngettext(
                "%(num)d rendez-vous ne peut pas avoir lieu : annulé par la mairie, la "
                "personne a été prévenue avec les créneaux libres les plus proches (liste "
                "« Rendez-vous à replanifier »).",
                "%(num)d rendez-vous ne peuvent pas avoir lieu : annulés par la mairie, "
                "chaque personne a été prévenue avec les créneaux libres les plus proches "
                "(liste « Rendez-vous à replanifier »).",
                left,
            )
        )
    return lines


async def _already_text(session: AsyncSession, site: Site, done: str, raw: str) -> list[str]:
    """A change of the confirmation `done` found made already by the audit event `raw`
    (its id): what it was, that nothing changed now, when and by whom it was made, and
    what it did to booked appointments then. An event that is not of this change at this
    site (an address typed by hand) says only that the change was made already."""
    event_id = bounds.parse_int(raw, 1, bounds.LARGEST_ID)
    event = await session.get(AuditEvent, event_id) if event_id is not None else None
    if event is None or event.site_id != site.id or event.action != ALREADY_ACTIONS[done]:
        return [f"{gettext(ALREADY[''])} {gettext(NOTHING_AGAIN)}"]
    zone = ZoneInfo(site.timezone)
    what = await _what_was(session, done, event, zone)
    when = formats.moment(event.at.astimezone(zone))
    agent = await session.get(Agent, event.agent_id) if event.agent_id is not None else None
    if agent is not None:
        who = gettext(
            "Ce changement avait été fait le %(when)s par %(agent)s.",
            when=when,
            agent=agent.name or agent.email,
        )
    else:
        who = gettext("Ce changement avait été fait le %(when)s.", when=when)
    lines = [f"{what} {gettext(NOTHING_AGAIN)}", who]
    kept, called_off = (_count(event.details.get(key)) for key in ("kept", "to_reschedule"))
    if not kept and not called_off:
        lines.append(gettext("Aucun rendez-vous n'était alors concerné."))
    if kept:
        lines.append(
            ngettext(
                "Il avait alors confié %(num)d rendez-vous à un autre poste, à la même heure.",
                "Il avait alors confié %(num)d rendez-vous à un autre poste, à la même heure.",
                kept,
            )
        )
    if called_off:
        lines.append(
            ngettext(
                "Il avait alors annulé %(num)d rendez-vous, la personne prévenue avec les "
                "créneaux libres les plus proches (liste « Rendez-vous à replanifier »).",
                "Il avait alors annulé %(num)d rendez-vous, chaque personne prévenue avec les "
                "créneaux libres les plus proches (liste « Rendez-vous à replanifier »).",
                called_off,
            )
        )
    return lines


def _count(references: Any) -> int:
    return len(references) if isinstance(references, list) else 0


async def _what_was(session: AsyncSession, done: str, event: AuditEvent, zone: ZoneInfo) -> str:
    """What the change of `event` was, in a sentence ("Le vendredi 4 décembre 2026 était
    déjà fermé toute la journée."); that it was made already, if its details do not say."""
    details = event.details
    try:
        if done == "exception":
            day = formats.day(date.fromisoformat(details["day"]))
            closed = details.get("ranges") == []
            return gettext(ALREADY["closed_day" if closed else "day"], day=day)
        start, end = (
            formats.moment(datetime.fromisoformat(details[key]).astimezone(zone))
            for key in ("starts_at", "ends_at")
        )
        if done == "fermeture":
            return gettext(ALREADY["fermeture"], start=start, end=end)
        station_id = bounds.parse_int(event.target.removeprefix("station:"), 1, bounds.LARGEST_ID)
        station = await session.get(Station, station_id) if station_id is not None else None
        if station is not None:
            return gettext(ALREADY["hors_service"], station=station.name, start=start, end=end)
    except (KeyError, TypeError, ValueError):
        pass
    return gettext(ALREADY[""])
