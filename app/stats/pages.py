"""The stats page: a manager's site, or all of Paris for an administrator, at a glance —
the key figures, charts drawn on the server, and the numbers behind each chart."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import HTTPException
from litestar.response import Template
from markupsafe import Markup

from app import bounds, french
from app.errors import BadRequest, DomainError
from app.i18n import formats
from app.sites.schemas import Slug
from app.stats import charts
from app.stats.charts import Bar
from app.stats.figures import figures
from app.stats.queries import default_range, sites_for_stats, today_in
from app.stats.schemas import Stats
from app.stats.sql import By
from app.web.context import Context
from app.web.staff import Staff, on_error, provide_staff

PERIODS: dict[str, By] = {"jour": "day", "semaine": "week", "mois": "month"}
CHANNEL_NAMES = {
    "online": "En ligne",
    "phone": "Par téléphone",
    "counter": "Au guichet",
    "walk_in": "Sans rendez-vous",
}


def number(value: float | None, unit: str = "") -> str:
    """French decimals: "12,5 min"; a dash when there is nothing to show."""
    if value is None:
        return "–"
    text = f"{value:.1f}".rstrip("0").rstrip(".").replace(".", ",")
    return f"{text}{unit}"


def percent(value: float | None) -> str:
    return "–" if value is None else f"{round(value * 100)} %"


def _day(raw: str | None) -> date | None:
    if not raw:
        return None
    day = bounds.parse_date(raw)
    if day is None:
        raise BadRequest(
            f"Dates are written YYYY-MM-DD, {bounds.DAY_BOUNDS_ENGLISH}.", code="date_invalid"
        )
    return day


def period_label(start: date, end: date, by: By) -> str:
    if by == "day":
        return formats.short_day(start)
    if by == "week":
        return f"du {start.day}/{start.month} au {end.day}/{end.month}"
    return formats.month_year(start)


def _chart(title: str, svg: Markup, rows: list[Bar], head: tuple[str, str]) -> dict[str, Any]:
    """A chart under its title, and the table of its numbers with the table's head."""
    return {"title": title, "svg": svg, "rows": rows, "head": head}


def _wait_bar(label: str, mean_wait_minutes: float | None) -> Bar:
    return Bar(label, mean_wait_minutes, number(mean_wait_minutes, " min"))


def _count_bar(label: str, count: int) -> Bar:
    return Bar(label, count, str(count))


def chart_context(stats: Stats) -> dict[str, Any]:
    total = stats.total
    level = total.service_level
    target = f"{level.target_minutes} min" if level.target_minutes else "la cible"
    by_hour = [_wait_bar(f"{row.hour} h", row.mean_wait_minutes) for row in stats.by_hour]
    by_day = [_wait_bar(row.name, row.mean_wait_minutes) for row in stats.by_weekday]
    channels = {
        **{name: getattr(total.appointments, name) for name in ("online", "phone", "counter")},
        "walk_in": total.walk_ins,
    }
    channel_bars = [_count_bar(CHANNEL_NAMES[name], count) for name, count in channels.items()]
    outcomes = [_count_bar(french.OUTCOMES[name], count) for name, count in total.outcomes.items()]
    levels = [
        Bar(
            period_label(item.start, item.end, stats.by),
            item.service_level.rate,
            percent(item.service_level.rate),
        )
        for item in stats.periods
    ]
    goal = level.goal
    goal_label = f"objectif {percent(goal)}" if goal else ""
    level_svg = charts.bars(
        "niveau",
        "Niveau de service par période",
        levels,
        scale=1.0,
        goal=goal,
        goal_label=goal_label,
    )
    return {
        "charts": [
            _chart(
                "Attente moyenne selon l'heure d'arrivée",
                charts.columns("heures", "Attente moyenne par heure", by_hour),
                by_hour,
                ("Heure d'arrivée", "Attente moyenne"),
            ),
            _chart(
                "Attente moyenne selon le jour de la semaine",
                charts.columns("jours", "Attente moyenne par jour", by_day),
                by_day,
                ("Jour", "Attente moyenne"),
            ),
            _chart(
                f"Part des personnes appelées en moins de {target}",
                level_svg,
                levels,
                ("Période", "Appelées dans les temps"),
            ),
            _chart(
                "Venues selon le canal",
                charts.bars("canaux", "Rendez-vous et venues par canal", channel_bars),
                channel_bars,
                ("Canal", "Nombre"),
            ),
            _chart(
                "Issue des visites",
                charts.bars("issues", "Visites selon leur issue", outcomes),
                outcomes,
                ("Issue", "Visites"),
            ),
        ]
    }


def key_figures(stats: Stats) -> list[tuple[str, str]]:
    total = stats.total
    waiting = total.waiting_minutes
    level = total.service_level
    return [
        ("Rendez-vous", str(total.appointments.total)),
        ("Venues sans rendez-vous", str(total.walk_ins)),
        ("Personnes reçues", str(total.served)),
        ("Attente moyenne", number(waiting.mean, " min")),
        ("Attente médiane", number(waiting.median, " min")),
        ("Attente, 9 personnes sur 10 en moins de", number(waiting.p90, " min")),
        (
            f"Appelées en moins de {level.target_minutes} min"
            if level.target_minutes
            else "Appelées dans les temps",
            percent(level.rate),
        ),
        ("Rendez-vous manqués", percent(total.no_shows.rate)),
        ("Rendez-vous annulés", percent(total.cancellations.rate)),
        ("Rendez-vous annulés par la mairie", str(total.called_off)),
        ("Demandes transmises en attente", str(total.escalations.open)),
        ("… dont en retard", str(total.escalations.overdue)),
        ("Satisfaction moyenne (sur 5)", number(total.satisfaction.mean)),
    ]


class FiguresPages(Controller):
    include_in_schema = False
    exception_handlers = {DomainError: on_error, HTTPException: on_error}
    dependencies = {"staff": Provide(provide_staff)}

    async def _page(
        self,
        slug: str | None,
        request: Request[Any, Any, State],
        context: Context,
        staff: Staff,
    ) -> Template:
        session, now = context.session, context.now
        sites = await sites_for_stats(session, staff.agent, slug)
        params = request.query_params
        chosen = params.get("par", "jour")
        by: By = PERIODS.get(chosen, "day")
        first, last = default_range(
            _day(params.get("du")), _day(params.get("au")), today_in(context.settings, now)
        )
        stats = await figures(session, sites, first, last, by, now)
        export = {"from": first.isoformat(), "to": last.isoformat(), "by": by}
        if slug:
            export["site"] = slug
        page = {
            "staff": staff,
            "agent": staff.agent,
            "place": sites[0].name if slug else "tout Paris",
            "action": f"/statistiques/{slug}" if slug else "/statistiques",
            "first": first.isoformat(),
            "last": last.isoformat(),
            "span": f"du {formats.day(first)} au {formats.day(last)}",
            "period": chosen if chosen in PERIODS else "jour",
            "csv": f"/api/v1/stats.csv?{urlencode(export)}",
            "figures": key_figures(stats),
            **chart_context(stats),
        }
        return Template("staff_stats.html", context=page)

    @get("/statistiques")
    async def paris(
        self,
        request: Request[Any, Any, State],
        context: NamedDependency[Context],
        staff: NamedDependency[Staff],
    ) -> Template:
        return await self._page(None, request, context, staff)

    @get("/statistiques/{slug:str}")
    async def site(
        self,
        slug: Slug,
        request: Request[Any, Any, State],
        context: NamedDependency[Context],
        staff: NamedDependency[Staff],
    ) -> Template:
        return await self._page(slug, request, context, staff)
