"""The public pages: the list of mairies (the booking flow comes next)."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.response import Template
from sqlalchemy import select

from app.i18n import gettext
from app.i18n.formats import weekday_name
from app.sites import schemas
from app.sites.models import WeeklyHours
from app.sites.service import list_sites
from app.web.context import Context


def hours_in_words(rows: list[WeeklyHours]) -> list[str]:
    """ "lundi : 8 h 30 – 17 h 00", one line per open weekday, in the current language."""
    lines = []
    hours = schemas.opening_hours(rows)
    for index, (_, ranges) in enumerate(hours.weekly.items()):
        if ranges:
            text = ", ".join(f"{_clock(opens)} – {_clock(closes)}" for opens, closes in ranges)
            lines.append(gettext("%(label)s : %(value)s", label=weekday_name(index), value=text))
    for special in hours.special:
        text = ", ".join(f"{_clock(opens)} – {_clock(closes)}" for opens, closes in special.hours)
        lines.append(f"{special.note} ({text})" if special.note else text)
    return lines


def _clock(hhmm: str) -> str:
    """ "8 h 30" for "08:30"."""
    hours, minutes = hhmm.split(":")
    return gettext("%(hour)d h %(minute)02d", hour=int(hours), minute=int(minutes))


class PagesController(Controller):
    include_in_schema = False

    @get("/")
    async def home(self, context: NamedDependency[Context]) -> Template:
        session = context.session
        sites = await list_sites(session)
        rows = list(await session.scalars(select(WeeklyHours)))
        by_site: dict[int, list[WeeklyHours]] = {}
        for row in rows:
            by_site.setdefault(row.site_id, []).append(row)
        mairies = [
            {"site": site, "hours": hours_in_words(by_site.get(site.id, []))} for site in sites
        ]
        return Template("home.html", context={"mairies": mairies})
