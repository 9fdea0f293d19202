"""The administration pages of the mairies: each one's settings, stations and their
outages, weekly hours, dated exceptions and closures, and the appointments left to move.

Plain forms posted with the session cookie and its CSRF field. Each change goes through
the same service as the API, then the browser comes back with a confirmation
(POST/redirect/GET); a refused change shows the page again with what was typed and the
problems in French, listed at the top and next to each field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import PathParameter
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app import bounds, french
from app.accounts.service import administered_sites, site_to_run
from app.booking.alert_pages import alert_views, released_text
from app.config import Settings
from app.db import Database
from app.errors import DomainError, Invalid
from app.live import commands as admin_screens
from app.sites import commands as admin
from app.sites.commands import BOUNDS, Disruption, StationChange
from app.sites.hours import WEEKDAYS, local_instant
from app.sites.models import Site
from app.sites.schemas import Slug
from app.sites.service import local_today
from app.web.staff import FormRefusals, Staff, StaffController

Id = Annotated[int, PathParameter(ge=1, le=2**31 - 1)]
WeekdayCode = Annotated[str, PathParameter(pattern=r"^(mon|tue|wed|thu|fri|sat|sun)$")]
DayParam = Annotated[date, PathParameter()]
RANGES_SHOWN = 2  # and one more than a day has, up to the most a day may have
KINDS = {"standard": "Standard", "double": "Double écran"}
LATE_RULES = {
    "walk_in": "Comme une personne sans rendez-vous qui arrive",
    "grace": "À l'heure de son rendez-vous pendant le délai de grâce, puis comme sans rendez-vous",
}
CLOCK = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9](:00)?")
SETTING_HINTS = {
    "walk_in_percent": "en %",
    "booking_min_notice_minutes": "en minutes",
    "booking_horizon_days": "en jours",
    "check_in_early_minutes": "en minutes, avant l'heure du rendez-vous",
    "check_in_late_minutes": "en minutes, après l'heure du rendez-vous ; au-delà, la "
    "personne est enregistrée en retard",
    "late_grace_minutes": "en minutes",
    "late_check_in_limit_minutes": "en minutes, après la fin du rendez-vous",
    "priority_after_minutes": "en minutes",
    "turn_near_position": "0 : ne jamais prévenir",
    "service_level_minutes": "en minutes",
    "service_level_goal": "en % des personnes appelées dans ce délai",
}
DONE = {
    "reglages": "Les réglages ont été enregistrés.",
    "poste_ajoute": "Le poste a été ajouté : il est proposé à la réservation dès maintenant.",
    "poste_modifie": "Le poste a été modifié.",
    "hors_service": "Le poste est hors service pour cette période : il n'est plus proposé à "
    "la réservation et personne n'y est appelé.",
    "en_service": "Le poste est de nouveau en service.",
    "horaires": "Les horaires ont été enregistrés.",
    "exception": "Les horaires de ce jour ont été enregistrés.",
    "exception_supprimee": "Ce jour suit de nouveau les horaires de la semaine.",
    "fermeture": "La fermeture a été enregistrée : rien n'est plus proposé pendant cette période.",
    "fermeture_supprimee": "La fermeture a été annulée : la période est de nouveau proposée.",
    "ecran_retire": "L'écran a été retiré : son adresse ne fonctionne plus et il n'est plus "
    "compté parmi les écrans connectés.",
}
# What the pages say for refusals the form checks cannot foresee, and next to which field.
REFUSALS = {
    "station_name_taken": ("nom", "Un autre poste de cette mairie porte déjà ce nom."),
}


def back(site: Site, anchor: str, **query: str) -> Redirect:
    suffix = f"?{urlencode(query)}" if query else ""
    return Redirect(f"/admin/sites/{site.slug}{suffix}#{anchor}", status_code=303)


def _outcome(done: str, disruption: Disruption) -> dict[str, str]:
    return {
        "fait": done,
        "deplaces": str(len(disruption.kept)),
        "a_replanifier": str(len(disruption.to_reschedule)),
    }


def done_text(query: Mapping[str, str]) -> list[str]:
    """The confirmation of the last change, and what it did to booked appointments."""
    done = DONE.get(query.get("fait", ""))
    if done is None:
        return []
    lines = [done]
    moved = bounds.parse_int(query.get("deplaces"), 0, 10**6) or 0
    left = bounds.parse_int(query.get("a_replanifier"), 0, 10**6) or 0
    if moved:
        lines.append(
            f"{moved} rendez-vous {'a' if moved == 1 else 'ont'} été confiés à un autre poste, "
            "à la même heure ; chaque personne a été prévenue."
        )
    if left:
        lines.append(
            f"{left} rendez-vous ne {'peut' if left == 1 else 'peuvent'} pas avoir lieu : "
            "annulés par la mairie, chaque personne a été prévenue avec les créneaux libres "
            "les plus proches (liste « Rendez-vous à replanifier »)."
        )
    return lines


# Reading the forms, in French


def _int(form: Mapping[str, str], name: str, errors: dict[str, str]) -> int | None:
    value = bounds.parse_int(form.get(name, ""), -999_999, 999_999)
    if value is None:
        errors[name] = "Indiquez un nombre entier, par exemple 30."
    return value


def _clock(form: Mapping[str, str], name: str, errors: dict[str, str]) -> time | None:
    raw = form.get(name, "").strip()
    if CLOCK.fullmatch(raw):
        return time(int(raw[:2]), int(raw[3:5]))
    errors[name] = "Indiquez l'heure sous la forme HH:MM, par exemple 08:30."
    return None


def _day(form: Mapping[str, str], name: str, errors: dict[str, str]) -> date | None:
    raw = form.get(name, "").strip()
    day = bounds.parse_date(raw)
    if day is None:
        errors[name] = (
            "Indiquez la date sous la forme AAAA-MM-JJ, par exemple 2026-12-03, "
            f"{bounds.DAY_BOUNDS}."
        )
    return day


def _instant(
    form: Mapping[str, str], prefix: str, zone: ZoneInfo, errors: dict[str, str]
) -> datetime | None:
    """The instant of a date field `{prefix}-jour` and a time field `{prefix}-heure`."""
    day = _day(form, f"{prefix}-jour", errors)
    at = _clock(form, f"{prefix}-heure", errors)
    if day is None or at is None:
        return None
    return local_instant(day, at, zone)


def _period(
    form: Mapping[str, str], prefix: str, zone: ZoneInfo, errors: dict[str, str]
) -> tuple[datetime, datetime] | None:
    """From the instant of the fields `{prefix}-debut-…` to that of `{prefix}-fin-…`."""
    starts_at = _instant(form, f"{prefix}-debut", zone, errors)
    ends_at = _instant(form, f"{prefix}-fin", zone, errors)
    return None if starts_at is None or ends_at is None else (starts_at, ends_at)


def _period_fields(prefix: str) -> dict[str, str]:
    """Where the service's refusals of a period go in the form of `_period`."""
    return {
        "starts_at": f"{prefix}-debut-jour",
        "ends_at": f"{prefix}-fin-jour",
        "reason": f"{prefix}-motif",
    }


def _ranges(
    form: Mapping[str, str], prefix: str, errors: dict[str, str]
) -> list[tuple[time, time]]:
    """The opening ranges of `{prefix}-N-ouverture` / `{prefix}-N-fermeture`; a range left
    blank is no range, a range half filled is an error."""
    ranges = []
    for number in range(1, admin.MAX_RANGES_PER_DAY + 1):
        opens_name, closes_name = f"{prefix}-{number}-ouverture", f"{prefix}-{number}-fermeture"
        if not form.get(opens_name, "").strip() and not form.get(closes_name, "").strip():
            continue
        opens = _clock(form, opens_name, errors)
        closes = _clock(form, closes_name, errors)
        if opens is not None and closes is not None:
            ranges.append((opens, closes))
    return ranges


def _reminder_hours(form: Mapping[str, str], errors: dict[str, str]) -> list[int] | None:
    raw = form.get("reminder_hours", "")
    parts = [part for part in re.split(r"[\s,;]+", raw.strip()) if part]
    hours = [bounds.parse_int(part, 0, 9999) for part in parts]
    if all(hour is not None for hour in hours):
        return [hour for hour in hours if hour is not None]
    errors["reminder_hours"] = "Indiquez des nombres d'heures séparés par des virgules, "
    errors["reminder_hours"] += "par exemple 24, 2."
    return None


def _problems(error: DomainError, fields: Mapping[str, str], default: str) -> dict[str, str]:
    """The service's refusal by form field: `fields` maps the service's field names to the
    form's ("{n}" standing for the place in a list, from 1), `default` takes the others."""
    if not isinstance(error, Invalid):
        field_name, text = REFUSALS.get(error.code, ("", french.message(error.code)))
        return {fields.get(field_name, default): text}
    problems: dict[str, str] = {}
    for problem in error.problems:
        name = problem.field.split("[")[0].split(".")[0]
        index = re.search(r"\[(\d+)\]", problem.field)
        target = fields.get(name, default)
        if index and "{n}" in target:
            target = target.replace("{n}", str(int(index.group(1)) + 1))
        problems.setdefault(target.replace("{n}", "1"), problem.french)
    return problems


def _refusals(errors: dict[str, str], fields: Mapping[str, str], default: str) -> FormRefusals:
    """The service's refusal of a form, put in `errors` next to the field it concerns."""
    return FormRefusals(errors, lambda error: _problems(error, fields, default))


def _form_dict(form: Any) -> dict[str, str]:
    return {key: str(value)[:500] for key, value in form.items()}


# The page


def _station_rows(
    stations: list[Any], outages: list[Any], zone: ZoneInfo, now: datetime
) -> list[dict[str, Any]]:
    by_station: dict[int, list[Any]] = {}
    for outage in outages:
        by_station.setdefault(outage.station_id, []).append(outage)
    rows = []
    for station in stations:
        ahead = by_station.get(station.id, [])
        if not station.active:
            state = "Retiré"
        elif ahead and ahead[0].starts_at <= now:
            state = f"Hors service jusqu'au {_moment(ahead[0].ends_at, zone)}"
        elif ahead:
            state = (
                f"En service ; hors service du {_moment(ahead[0].starts_at, zone)} "
                f"au {_moment(ahead[0].ends_at, zone)}"
            )
        else:
            state = "En service"
        rows.append(
            {
                "id": station.id,
                "name": station.name,
                "kind": station.kind,
                "kind_label": KINDS.get(station.kind, station.kind),
                "accessible": station.accessible,
                "active": station.active,
                "state": state,
            }
        )
    return rows


def _moment(value: datetime, zone: ZoneInfo) -> str:
    return french.moment(value.astimezone(zone))


async def site_context(
    session: AsyncSession, staff: Staff, site: Site, now: datetime
) -> dict[str, Any]:
    """Everything the site's page shows."""
    zone = ZoneInfo(site.timezone)
    today = local_today(site, now)
    stations = await admin.stations_of(session, site)
    names = {station.id: station.name for station in stations}
    outages = await admin.outages_ahead(session, site, now)
    rows = await admin.weekly_rows(session, site)
    weekly = admin.weekly_ranges(rows)
    return {
        "staff": staff,
        "agent": staff.agent,
        "section": "sites",
        "site": site,
        "settings": admin.settings_of(site),
        "setting_fields": [
            {
                "name": name,
                "label": bound.french,
                "hint": " ; ".join(
                    part
                    for part in (SETTING_HINTS.get(name, ""), f"de {bound.low} à {bound.high}")
                    if part
                ),
                "low": bound.low,
                "high": bound.high,
            }
            for name, bound in BOUNDS.items()
        ],
        "kinds": KINDS,
        "late_rules": LATE_RULES,
        "stations": _station_rows(stations, outages, zone, now),
        "outages": [
            {
                "id": outage.id,
                "station": names.get(outage.station_id, ""),
                "starts": _moment(outage.starts_at, zone),
                "ends": _moment(outage.ends_at, zone),
                "reason": outage.reason,
            }
            for outage in outages
        ],
        "weekdays": [
            {
                "code": WEEKDAYS[day],
                "index": day,
                "name": french.DAYS[day],
                "ranges": [(f"{o:%H:%M}", f"{c:%H:%M}") for o, c in weekly[day]],
                "shown": min(admin.MAX_RANGES_PER_DAY, max(RANGES_SHOWN, len(weekly[day]) + 1)),
            }
            for day in range(7)
        ],
        "special": [
            {
                "weekday": french.DAYS[row.weekday],
                "nth": "dernier" if row.nth_in_month == -1 else f"{row.nth_in_month}e",
                "range": f"{row.opens:%H:%M} – {row.closes:%H:%M}",
                "note": row.note,
            }
            for row in rows
            if row.nth_in_month is not None
        ],
        "exceptions": [
            {
                "day": item.day.isoformat(),
                "label": french.day(item.day),
                "ranges": [f"{o:%H:%M} – {c:%H:%M}" for o, c in item.ranges],
                "reason": item.reason,
            }
            for item in await admin.exceptions_ahead(session, site, today)
        ],
        "closures": [
            {
                "id": closure.id,
                "starts": _moment(closure.starts_at, zone),
                "ends": _moment(closure.ends_at, zone),
                "reason": closure.reason,
            }
            for closure in await admin.closures_ahead(session, site, now)
        ],
        "to_reschedule": [
            {
                "reference": item.reference,
                "when": _moment(item.starts_at, zone),
                "service": item.service_name,
                "station": item.station,
            }
            for item in await admin.to_reschedule(session, site, now)
        ],
        "screens": await admin_screens.screen_rows(session, site, now),
        "today": today.isoformat(),
        "ranges_shown": RANGES_SHOWN,
        "errors": {},
        "entered": {},
        "posted": "",
        "done": [],
    }


class SiteAdminPages(StaffController):
    @get("/admin")
    async def sites(
        self, session: NamedDependency[AsyncSession], staff: NamedDependency[Staff]
    ) -> Template:
        return Template(
            "admin_sites.html",
            context={
                "staff": staff,
                "agent": staff.agent,
                "section": "sites",
                "sites": await administered_sites(session, staff.agent),
            },
        )

    @get("/admin/sites/{slug:str}")
    async def site(
        self,
        slug: Slug,
        request: Request[Any, Any, State],
        session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        now: NamedDependency[datetime],
        staff: NamedDependency[Staff],
    ) -> Template:
        site = await site_to_run(session, staff.agent, slug)
        context = await site_context(session, staff, site, now)
        query = request.query_params
        context["done"] = done_text(query) + released_text(
            query.get("liberes", ""), query.get("prevenus", "")
        )
        context["booking_alerts"] = await alert_views(session, site, now, settings)
        return Template("admin_site.html", context=context)

    async def _refused(
        self,
        session: AsyncSession,
        staff: Staff,
        site: Site,
        now: datetime,
        *,
        posted: str,
        form: dict[str, str],
        errors: dict[str, str],
        status: int = 400,
    ) -> Template:
        """The page again, with what was typed in the form `posted` and what is wrong."""
        context = await site_context(session, staff, site, now)
        context.update(errors=errors, entered=form, posted=posted)
        return Template("admin_site.html", context=context, status_code=status)

    @post("/admin/sites/{slug:str}/reglages")
    async def change_settings(
        self,
        slug: Slug,
        request: Request[Any, Any, State],
        session: NamedDependency[AsyncSession],
        db: NamedDependency[Database],
        now: NamedDependency[datetime],
        staff: NamedDependency[Staff],
    ) -> Template | Redirect:
        site = await site_to_run(session, staff.agent, slug)
        form = _form_dict(await request.form())
        errors: dict[str, str] = {}
        changes: dict[str, Any] = {name: _int(form, name, errors) for name in BOUNDS}
        changes["reminder_hours"] = _reminder_hours(form, errors)
        for name in admin.CLOCK_SETTINGS:
            changes[name] = _clock(form, name, errors)
        changes["late_arrival_rule"] = form.get("late_arrival_rule") or site.late_arrival_rule
        changes["facilitators_issue_tickets"] = form.get("facilitators_issue_tickets") == "oui"
        if errors:  # say at once what else is wrong with the values that could be read
            readable = {k: v for k, v in changes.items() if v is not None and k not in errors}
            for problem in admin.check_settings({**admin.settings_of(site), **readable}):
                errors.setdefault(problem.field, problem.french)
        else:
            with _refusals(errors, {name: name for name in admin.SETTINGS}, "walk_in_percent"):
                await admin.change_settings(db, staff.agent, slug, changes, now=now)
                return back(site, "reglages", fait="reglages")
        return await self._refused(
            session, staff, site, now, posted="reglages", form=form, errors=errors
        )

    @post("/admin/sites/{slug:str}/postes")
    async def add_station(
        self,
        slug: Slug,
        request: Request[Any, Any, State],
        session: NamedDependency[AsyncSession],
        db: NamedDependency[Database],
        now: NamedDependency[datetime],
        staff: NamedDependency[Staff],
    ) -> Template | Redirect:
        site = await site_to_run(session, staff.agent, slug)
        form = _form_dict(await request.form())
        errors: dict[str, str] = {}
        fields = {"name": "nouveau-nom", "nom": "nouveau-nom", "kind": "nouveau-type"}
        with _refusals(errors, fields, "nouveau-nom"):
            await admin.add_station(
                db,
                staff.agent,
                slug,
                name=form.get("nouveau-nom", ""),
                kind=form.get("nouveau-type", ""),
                accessible=form.get("nouveau-accessible") == "oui",
                now=now,
            )
            return back(site, "postes", fait="poste_ajoute")
        return await self._refused(
            session, staff, site, now, posted="nouveau", form=form, errors=errors
        )

    @post("/admin/sites/{slug:str}/postes/{station_id:int}")
    async def change_station(
        self,
        slug: Slug,
        station_id: Id,
        request: Request[Any, Any, State],
        session: NamedDependency[AsyncSession],
        db: NamedDependency[Database],
        now: NamedDependency[datetime],
        staff: NamedDependency[Staff],
    ) -> Template | Redirect:
        site = await site_to_run(session, staff.agent, slug)
        form = _form_dict(await request.form())
        prefix = f"poste-{station_id}"
        errors: dict[str, str] = {}
        change = StationChange(
            name=form.get(f"{prefix}-nom", ""),
            kind=form.get(f"{prefix}-type", ""),
            accessible=form.get(f"{prefix}-accessible") == "oui",
            active=form.get(f"{prefix}-actif") == "oui",
        )
        fields = {"name": f"{prefix}-nom", "nom": f"{prefix}-nom", "kind": f"{prefix}-type"}
        with _refusals(errors, fields, f"{prefix}-nom"):
            _, disruption = await admin.change_station(
                db, staff.agent, slug, station_id, change, now=now
            )
            return back(site, "postes", **_outcome("poste_modifie", disruption))
        return await self._refused(
            session, staff, site, now, posted=prefix, form=form, errors=errors
        )

    @post("/admin/sites/{slug:str}/postes/{station_id:int}/hors-service")
    async def take_out_of_service(
        self,
        slug: Slug,
        station_id: Id,
        request: Request[Any, Any, State],
        session: NamedDependency[AsyncSession],
        db: NamedDependency[Database],
        now: NamedDependency[datetime],
        staff: NamedDependency[Staff],
    ) -> Template | Redirect:
        site = await site_to_run(session, staff.agent, slug)
        form = _form_dict(await request.form())
        prefix = f"panne-{station_id}"
        errors: dict[str, str] = {}
        period = _period(form, prefix, ZoneInfo(site.timezone), errors)
        if period is not None:
            with _refusals(errors, _period_fields(prefix), f"{prefix}-debut-jour"):
                _, disruption = await admin.take_out_of_service(
                    db,
                    staff.agent,
                    slug,
                    station_id,
                    starts_at=period[0],
                    ends_at=period[1],
                    reason=form.get(f"{prefix}-motif", ""),
                    now=now,
                )
                return back(site, "postes", **_outcome("hors_service", disruption))
        return await self._refused(
            session, staff, site, now, posted=prefix, form=form, errors=errors
        )

    @post("/admin/sites/{slug:str}/hors-service/{outage_id:int}/fin")
    async def end_outage(
        self,
        slug: Slug,
        outage_id: Id,
        db: NamedDependency[Database],
        now: NamedDependency[datetime],
        staff: NamedDependency[Staff],
        session: NamedDependency[AsyncSession],
    ) -> Redirect:
        site = await site_to_run(session, staff.agent, slug)
        await admin.end_outage(db, staff.agent, slug, outage_id, now=now)
        return back(site, "postes", fait="en_service")

    @post("/admin/sites/{slug:str}/horaires/{weekday:str}")
    async def set_weekday(
        self,
        slug: Slug,
        weekday: WeekdayCode,
        request: Request[Any, Any, State],
        session: NamedDependency[AsyncSession],
        db: NamedDependency[Database],
        now: NamedDependency[datetime],
        staff: NamedDependency[Staff],
    ) -> Template | Redirect:
        site = await site_to_run(session, staff.agent, slug)
        form = _form_dict(await request.form())
        prefix = f"horaires-{weekday}"
        errors: dict[str, str] = {}
        ranges = _ranges(form, prefix, errors)
        if not errors:
            fields = {"ranges": f"{prefix}-{{n}}-ouverture"}
            with _refusals(errors, fields, f"{prefix}-1-ouverture"):
                disruption = await admin.set_weekday_hours(
                    db, staff.agent, slug, WEEKDAYS.index(weekday), ranges, now=now
                )
                return back(site, "horaires", **_outcome("horaires", disruption))
        return await self._refused(
            session, staff, site, now, posted=prefix, form=form, errors=errors
        )

    @post("/admin/sites/{slug:str}/exceptions")
    async def set_exception(
        self,
        slug: Slug,
        request: Request[Any, Any, State],
        session: NamedDependency[AsyncSession],
        db: NamedDependency[Database],
        now: NamedDependency[datetime],
        staff: NamedDependency[Staff],
    ) -> Template | Redirect:
        site = await site_to_run(session, staff.agent, slug)
        form = _form_dict(await request.form())
        errors: dict[str, str] = {}
        day = _day(form, "exception-jour", errors)
        closed = form.get("exception-fermee") == "oui"
        ranges = [] if closed else _ranges(form, "exception", errors)
        if not closed and not ranges and not errors:
            errors["exception-1-ouverture"] = (
                "Indiquez les heures d'ouverture de ce jour, ou cochez « Fermé toute la journée »."
            )
        if day is not None and not errors:
            fields = {
                "day": "exception-jour",
                "ranges": "exception-{n}-ouverture",
                "reason": "exception-motif",
            }
            with _refusals(errors, fields, "exception-jour"):
                _, disruption = await admin.set_exception(
                    db,
                    staff.agent,
                    slug,
                    day,
                    ranges,
                    reason=form.get("exception-motif", ""),
                    now=now,
                )
                return back(site, "exceptions", **_outcome("exception", disruption))
        return await self._refused(
            session, staff, site, now, posted="exception", form=form, errors=errors
        )

    @post("/admin/sites/{slug:str}/exceptions/{day:date}/suppression")
    async def delete_exception(
        self,
        slug: Slug,
        day: DayParam,
        session: NamedDependency[AsyncSession],
        db: NamedDependency[Database],
        now: NamedDependency[datetime],
        staff: NamedDependency[Staff],
    ) -> Redirect:
        site = await site_to_run(session, staff.agent, slug)
        await admin.delete_exception(db, staff.agent, slug, day, now=now)
        return back(site, "exceptions", fait="exception_supprimee")

    @post("/admin/sites/{slug:str}/fermetures")
    async def add_closure(
        self,
        slug: Slug,
        request: Request[Any, Any, State],
        session: NamedDependency[AsyncSession],
        db: NamedDependency[Database],
        now: NamedDependency[datetime],
        staff: NamedDependency[Staff],
    ) -> Template | Redirect:
        site = await site_to_run(session, staff.agent, slug)
        form = _form_dict(await request.form())
        errors: dict[str, str] = {}
        period = _period(form, "fermeture", ZoneInfo(site.timezone), errors)
        if period is not None:
            with _refusals(errors, _period_fields("fermeture"), "fermeture-debut-jour"):
                _, disruption = await admin.add_closure(
                    db,
                    staff.agent,
                    slug,
                    starts_at=period[0],
                    ends_at=period[1],
                    reason=form.get("fermeture-motif", ""),
                    now=now,
                )
                return back(site, "fermetures", **_outcome("fermeture", disruption))
        return await self._refused(
            session, staff, site, now, posted="fermeture", form=form, errors=errors
        )

    @post("/admin/sites/{slug:str}/fermetures/{closure_id:int}/suppression")
    async def delete_closure(
        self,
        slug: Slug,
        closure_id: Id,
        session: NamedDependency[AsyncSession],
        db: NamedDependency[Database],
        now: NamedDependency[datetime],
        staff: NamedDependency[Staff],
    ) -> Redirect:
        site = await site_to_run(session, staff.agent, slug)
        await admin.delete_closure(db, staff.agent, slug, closure_id, now=now)
        return back(site, "fermetures", fait="fermeture_supprimee")
