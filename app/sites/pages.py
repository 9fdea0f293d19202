"""The public pages of the mairies: the list with its search (`/`), and one page per mairie
(`/mairies/{slug}`): where it is, when it is open, how busy it usually is, its stations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Annotated, Any

from litestar import get
from litestar.di import NamedDependency
from litestar.params import PathParameter
from litestar.response import Template
from markupsafe import Markup
from sqlalchemy import select

from app import bounds
from app.errors import NotFound
from app.i18n import DEFAULT_LANGUAGE, formats, gettext, lang_span
from app.i18n.formats import kilometres, weekday_name
from app.queue.remote import join_state
from app.sites import schemas
from app.sites.geo import between, map_link, search
from app.sites.hours import SiteCalendar
from app.sites.models import WeeklyHours
from app.sites.opening import DaySpans, spans, today_at
from app.sites.queries import stations_of, weekly_rows
from app.sites.service import get_site, list_services, list_sites, local_today, site_calendar
from app.stats.busy import BusyWeek, Level, busy_week
from app.web.public import PublicController, Visitor

# Any text: an unknown or malformed one is the French "page introuvable", not a refusal.
AnySlug = Annotated[str, PathParameter(description="A mairie's identifier")]
MAX_QUERY = 100
MAX_SLUG = 40
CLOSURES_AHEAD_DAYS = 60


def _hhmm(text: str) -> str:
    """ "8 h 30" for "08:30", as every time is written."""
    return formats.clock(time.fromisoformat(text))


def hours_in_words(rows: list[WeeklyHours]) -> list[str]:
    """ "lundi : 8 h 30 – 17 h 00", one line per open weekday, in the current language; a
    special day's note, the mairie's French, marked French on a page in another language."""
    lines = []
    hours = schemas.opening_hours(rows)
    for index, (_, ranges) in enumerate(hours.weekly.items()):
        if ranges:
            text = ", ".join(f"{_hhmm(opens)} – {_hhmm(closes)}" for opens, closes in ranges)
            lines.append(gettext("%(label)s : %(value)s", label=weekday_name(index), value=text))
    for special in hours.special:
        text = ", ".join(f"{_hhmm(opens)} – {_hhmm(closes)}" for opens, closes in special.hours)
        note = lang_span(special.note, DEFAULT_LANGUAGE)
        lines.append(Markup("{} ({})").format(note, text) if special.note else text)
    return lines


def exceptional_days(calendar: SiteCalendar, first: date, last: date) -> list[DaySpans]:
    """The days from `first` to `last` whose hours differ from the usual week: public
    holidays, dated exceptions, closures."""
    usual = SiteCalendar(
        timezone=calendar.timezone, weekly=calendar.weekly, public_holidays_closed=False
    )
    return [
        spans(day, calendar.timezone)
        for day in calendar.days(first, last)
        if day.intervals != usual.day(day.day).intervals
    ]


@dataclass(frozen=True)
class Stations:
    """The site's active stations, as its page counts them: all of them, those a
    wheelchair can reach, and those with two screens."""

    total: int
    accessible: int
    double: int


@dataclass(frozen=True)
class BusyRow:
    """One hour of the busy hours' table: its level on each open weekday (None: closed)."""

    hour: int
    levels: tuple[Level | None, ...]


def busy_rows(week: BusyWeek) -> list[BusyRow]:
    by_day = [{hour.hour: hour.level for hour in day.hours} for day in week.days]
    return [BusyRow(hour, tuple(day.get(hour) for day in by_day)) for hour in week.hours]


def _query(visitor: Visitor) -> str:
    """The search's words, as they are searched for and shown again: no control or format
    character (`bounds.plain`), at most `MAX_QUERY` characters."""
    return bounds.plain(visitor.request.query_params.get("q", ""))[:MAX_QUERY].strip()


class PagesController(PublicController):
    @get("/")
    async def home(self, visitor: NamedDependency[Visitor]) -> Template:
        session = visitor.session
        query = _query(visitor)
        sites = await list_sites(session)
        rows = list(await session.scalars(select(WeeklyHours)))
        by_site: dict[int, list[WeeklyHours]] = {}
        for row in rows:
            by_site.setdefault(row.site_id, []).append(row)
        found, ordered = search(query, sites) if query else (None, sites)
        mairies: list[dict[str, Any]] = []
        for site in [found, *ordered] if found else ordered:
            km = between(found, site) if found and site is not found else None
            distance = None if km is None else kilometres(km)
            mairies.append(
                {
                    "site": site,
                    "hours": hours_in_words(by_site.get(site.id, [])),
                    "found": site is found,
                    "distance": distance,
                }
            )
        return Template(
            "home.html",
            context={
                "mairies": mairies,
                "query": query,
                "found": found,
                "services": await list_services(session),
            },
        )

    @get("/mairies/{slug:str}")
    async def mairie(self, slug: AnySlug, visitor: NamedDependency[Visitor]) -> Template:
        session = visitor.session
        if len(slug) > MAX_SLUG:
            raise NotFound("No such mairie.")
        site = await get_site(session, slug)
        today = local_today(site, visitor.now)
        last = today + timedelta(days=CLOSURES_AHEAD_DAYS)
        calendar = await site_calendar(session, site, today, last)
        stations = [station for station in await stations_of(session, site) if station.active]
        busy = await busy_week(session, site, today)
        return Template(
            "mairie.html",
            context={
                "site": site,
                "map_link": map_link(site),
                "today": today_at(calendar, today, visitor.now),
                "week": hours_in_words(await weekly_rows(session, site)),
                "closures": exceptional_days(calendar, today, last),
                "stations": Stations(
                    total=len(stations),
                    accessible=sum(1 for station in stations if station.accessible),
                    double=sum(1 for station in stations if station.kind == "double"),
                ),
                "busy": busy,
                "busy_rows": busy_rows(busy),
                "weekday_names": [weekday_name(day.weekday) for day in busy.days],
                "remote_open": (await join_state(session, site, visitor.now)).open,
            },
        )
