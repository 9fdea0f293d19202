"""The stats page: a manager's site, or all of Paris for an administrator, at a glance —
the key figures, charts drawn on the server, and the numbers behind each chart."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any
from urllib.parse import urlencode

from litestar import get
from litestar.di import NamedDependency
from litestar.response import Template
from markupsafe import Markup

from app import bounds
from app.errors import BadRequest
from app.i18n import N_, formats, gettext
from app.i18n.texts import OUTCOMES, label
from app.sites.schemas import Slug
from app.stats import charts
from app.stats.charts import Bar
from app.stats.figures import figures
from app.stats.queries import default_range, sites_for_stats, today_in
from app.stats.schemas import Stats
from app.stats.sql import By
from app.web.staff import Staff, StaffController

PERIODS: dict[str, By] = {"jour": "day", "semaine": "week", "mois": "month"}
CHANNEL_NAMES = {
    "online": N_("En ligne"),
    "phone": N_("Par téléphone"),
    "counter": N_("Au guichet"),
    "walk_in": N_("Sans rendez-vous"),
}


def number(value: float | None) -> str:
    """French decimals: "12,5"; a dash when there is nothing to show."""
    if value is None:
        return "–"
    return f"{value:.1f}".rstrip("0").rstrip(".").replace(".", ",")


def wait(value: float | None) -> str:
    """ "12,5 min"; a dash when there is nothing to show."""
    return "–" if value is None else gettext("%(minutes)s min", minutes=number(value))


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
        return gettext(
            "du %(first_day)d/%(first_month)d au %(last_day)d/%(last_month)d",
            first_day=start.day,
            first_month=start.month,
            last_day=end.day,
            last_month=end.month,
        )
    return formats.month_year(start)


def _chart(
    title: str,
    head: tuple[str, str],
    rows: list[Bar],
    draw: Callable[..., Markup],
    key: str,
    caption: str,
    **options: Any,
) -> dict[str, Any]:
    """The chart of `rows` under its title, drawn by `draw` (`charts.bars` or
    `charts.columns`, with their `options`) as `key` with its own `caption`, and the table
    of the same numbers with the table's head."""
    svg = draw(key, caption, rows, **options)
    return {"title": title, "svg": svg, "rows": rows, "head": head}


def _wait_bar(label: str, mean_wait_minutes: float | None) -> Bar:
    return Bar(label, mean_wait_minutes, wait(mean_wait_minutes))


def _count_bar(label: str, count: int) -> Bar:
    return Bar(label, count, str(count))


def chart_context(stats: Stats) -> dict[str, Any]:
    total = stats.total
    level = total.service_level
    target = (
        gettext("%(minutes)s min", minutes=level.target_minutes)
        if level.target_minutes
        else gettext("la cible")
    )
    by_hour = [
        _wait_bar(gettext("%(hour)d h", hour=row.hour), row.mean_wait_minutes)
        for row in stats.by_hour
    ]
    by_day = [
        _wait_bar(formats.weekday_name(row.weekday - 1), row.mean_wait_minutes)
        for row in stats.by_weekday
    ]
    channels = {
        **{name: getattr(total.appointments, name) for name in ("online", "phone", "counter")},
        "walk_in": total.walk_ins,
    }
    channel_bars = [
        _count_bar(label(CHANNEL_NAMES, name), count) for name, count in channels.items()
    ]
    outcomes = [_count_bar(label(OUTCOMES, name), count) for name, count in total.outcomes.items()]
    levels = [
        Bar(
            period_label(item.start, item.end, stats.by),
            item.service_level.rate,
            percent(item.service_level.rate),
        )
        for item in stats.periods
    ]
    goal = level.goal
    goal_label = gettext("objectif %(goal)s", goal=percent(goal)) if goal else ""
    return {
        "charts": [
            _chart(
                gettext("Attente moyenne selon l'heure d'arrivée"),
                (gettext("Heure d'arrivée"), gettext("Attente moyenne")),
                by_hour,
                charts.columns,
                "heures",
                gettext("Attente moyenne par heure"),
            ),
            _chart(
                gettext("Attente moyenne selon le jour de la semaine"),
                (gettext("Jour"), gettext("Attente moyenne")),
                by_day,
                charts.columns,
                "jours",
                gettext("Attente moyenne par jour"),
            ),
            _chart(
                gettext("Part des personnes appelées en moins de %(target)s", target=target),
                (gettext("Période"), gettext("Appelées dans les temps")),
                levels,
                charts.bars,
                "niveau",
                gettext("Niveau de service par période"),
                scale=1.0,
                goal=goal,
                goal_label=goal_label,
            ),
            _chart(
                gettext("Venues selon le canal"),
                (gettext("Canal"), gettext("Nombre")),
                channel_bars,
                charts.bars,
                "canaux",
                gettext("Rendez-vous et venues par canal"),
            ),
            _chart(
                gettext("Issue des visites"),
                (gettext("Issue"), gettext("Visites")),
                outcomes,
                charts.bars,
                "issues",
                gettext("Visites selon leur issue"),
            ),
        ]
    }


def key_figures(stats: Stats) -> list[tuple[str, str]]:
    total = stats.total
    waiting = total.waiting_minutes
    level = total.service_level
    return [
        (gettext("Rendez-vous"), str(total.appointments.total)),
        (gettext("Venues sans rendez-vous"), str(total.walk_ins)),
        (gettext("Personnes reçues"), str(total.served)),
        (gettext("Attente moyenne"), wait(waiting.mean)),
        (gettext("Attente médiane"), wait(waiting.median)),
        (gettext("Attente, 9 personnes sur 10 en moins de"), wait(waiting.p90)),
        (
            gettext("Appelées en moins de %(minutes)s min", minutes=level.target_minutes)
            if level.target_minutes
            else gettext("Appelées dans les temps"),
            percent(level.rate),
        ),
        (gettext("Rendez-vous manqués"), percent(total.no_shows.rate)),
        (gettext("Rendez-vous annulés"), percent(total.cancellations.rate)),
        (gettext("Rendez-vous annulés par la mairie"), str(total.called_off)),
        (gettext("Demandes transmises en attente"), str(total.escalations.open)),
        (gettext("… dont en retard"), str(total.escalations.overdue)),
        (gettext("Satisfaction moyenne (sur 5)"), number(total.satisfaction.mean)),
    ]


class FiguresPages(StaffController):
    async def _page(
        self,
        slug: str | None,
        staff: Staff,
    ) -> Template:
        session, now, request = staff.session, staff.now, staff.request
        sites = await sites_for_stats(session, staff.actor, slug)
        params = request.query_params
        chosen = params.get("par", "jour")
        by: By = PERIODS.get(chosen, "day")
        first, last = default_range(
            _day(params.get("du")), _day(params.get("au")), today_in(staff.settings, now)
        )
        stats = await figures(session, sites, first, last, by, now)
        export = {"from": first.isoformat(), "to": last.isoformat(), "by": by}
        if slug:
            export["site"] = slug
        page = {
            "staff": staff,
            "agent": staff.actor,
            "place": sites[0].name if slug else gettext("tout Paris"),
            "action": f"/statistiques/{slug}" if slug else "/statistiques",
            "first": first.isoformat(),
            "last": last.isoformat(),
            "span": gettext(
                "du %(first)s au %(last)s", first=formats.day(first), last=formats.day(last)
            ),
            "period": chosen if chosen in PERIODS else "jour",
            "csv": f"/api/v1/stats.csv?{urlencode(export)}",
            "figures": key_figures(stats),
            **chart_context(stats),
        }
        return Template("staff_stats.html", context=page)

    @get("/statistiques")
    async def paris(
        self,
        staff: NamedDependency[Staff],
    ) -> Template:
        return await self._page(None, staff)

    @get("/statistiques/{slug:str}")
    async def site(
        self,
        slug: Slug,
        staff: NamedDependency[Staff],
    ) -> Template:
        return await self._page(slug, staff)
