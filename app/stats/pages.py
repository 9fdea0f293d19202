"""The stats page: a manager's site, or all of Paris for an administrator, at a glance —
the key figures, charts drawn on the server, and the numbers behind each chart."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from litestar import get
from litestar.di import NamedDependency
from litestar.response import Template
from markupsafe import Markup

from app.i18n import N_, formats, gettext, ngettext
from app.i18n.texts import OUTCOMES, label
from app.sites.forms import read_day
from app.sites.models import Site
from app.sites.schemas import Slug
from app.stats import charts
from app.stats.activities import with_activities
from app.stats.charts import Axes, Bar
from app.stats.export import OFFERS, REMOTE, TITLES
from app.stats.figures import compare, figures
from app.stats.queries import default_range, sites_for_stats, today_in
from app.stats.schemas import Figures, Stats
from app.stats.sql import By
from app.stats.tally import MAX_DAYS
from app.visits import activity_words
from app.web.staff import Staff, StaffController

PERIODS: dict[str, By] = {"jour": "day", "semaine": "week", "mois": "month"}
DAYS = ("du", "au")  # the fields of the range, first and last day
TYPED_LENGTH = 40  # of a field shown again as typed
CHANNEL_NAMES = {
    "online": N_("En ligne"),
    "phone": N_("Par téléphone"),
    "counter": N_("Au guichet"),
    "partner": N_("Par un partenaire"),
    "walk_in": N_("Sans rendez-vous"),
}


def number(value: float | None) -> str:
    """French decimals: "12,5"; a dash when there is nothing to show."""
    if value is None:
        return "–"
    return f"{value:.1f}".rstrip("0").rstrip(".").replace(".", ",")


def wait(value: float | None) -> str:
    """ "12,5 min" under an hour, "1 h 08" or "2 heures" from an hour on (as
    `formats.minutes` writes them); a dash when there is nothing to show."""
    if value is None:
        return "–"
    if round(value) >= 60:
        return formats.minutes(round(value))
    return gettext("%(minutes)s min", minutes=number(value))


def span(first: date, last: date) -> str:
    """The days the page counts: "du mardi 1er décembre 2026 au jeudi 3 décembre 2026", or
    "le mardi 1er décembre 2026" for one day."""
    if first == last:
        return gettext("le %(day)s", day=formats.day(first))
    return gettext("du %(first)s au %(last)s", first=formats.day(first), last=formats.day(last))


def first_upper(text: str) -> str:
    """`text` starting with a capital, as a line of its own: "Du mardi…", "Le mardi…"."""
    return text[:1].upper() + text[1:]


def percent(value: float | None) -> str:
    return "–" if value is None else f"{round(value * 100)} %"


def read_range(params: Mapping[str, str], today: date) -> tuple[date, date, dict[str, str]]:
    """The days the page counts, as `?du=` and `?au=` ask (this month so far without
    them), and what is wrong with them, in words, by the field to show it next to."""
    errors: dict[str, str] = {}
    first, last = (read_day(params, name, errors) if params.get(name) else None for name in DAYS)
    first, last = default_range(first, last, today)
    if errors:
        return first, last, errors
    if last < first:
        errors["au"] = gettext("Le dernier jour vient avant le premier.")
    elif (last - first).days >= MAX_DAYS:
        errors["du"] = ngettext(
            "Choisissez une période d'au plus %(num)d jour.",
            "Choisissez une période d'au plus %(num)d jours.",
            MAX_DAYS,
        )
    return first, last, errors


def period_label(start: date, end: date, by: By) -> str:
    if by == "day":
        return formats.short_day(start)
    if by == "week" and start == end:  # a week cut to the one day of the range
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
    axes: Axes,
    **options: Any,
) -> dict[str, Any]:
    """The chart of `rows` under its title, drawn by `draw` (`charts.bars` or
    `charts.columns`, with their `options`) as `key` with its own `caption` and `axes`;
    drawn again as bars for a phone; and the table of the same numbers with its head."""
    wide = draw(key, caption, rows, axes, **options)
    narrow = charts.bars(f"{key}-etroit", caption, rows, axes, width=charts.NARROW, **options)
    return {"title": title, "wide": wide, "narrow": narrow, "rows": rows, "head": head}


def _wait_bar(label: str, mean_wait_minutes: float | None) -> Bar:
    return Bar(label, mean_wait_minutes, wait(mean_wait_minutes), number(mean_wait_minutes))


def _count_bar(label: str, count: int) -> Bar:
    return Bar(label, count, str(count))


def chart_context(stats: Stats) -> dict[str, Any]:
    total = stats.total
    level = total.service_level
    target = wait(level.target_minutes) if level.target_minutes else gettext("la cible")
    by_hour = [
        _wait_bar(gettext("%(hour)d h", hour=row.hour), row.mean_wait_minutes)
        for row in stats.by_hour
    ]
    by_day = [
        _wait_bar(formats.weekday_name(row.weekday - 1), row.mean_wait_minutes)
        for row in stats.by_weekday
    ]
    channels = {
        **{
            name: getattr(total.appointments, name)
            for name in ("online", "phone", "counter", "partner")
        },
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
    goal_label = gettext("Objectif : %(goal)s", goal=percent(goal)) if goal else ""
    in_minutes = gettext("Attente moyenne, en minutes")
    return {
        "charts": [
            _chart(
                gettext("Attente moyenne selon l'heure d'arrivée"),
                (gettext("Heure d'arrivée"), gettext("Attente moyenne")),
                by_hour,
                charts.columns,
                "heures",
                gettext("Attente moyenne par heure"),
                Axes(gettext("Heure d'arrivée"), in_minutes),
            ),
            _chart(
                gettext("Attente moyenne selon le jour de la semaine"),
                (gettext("Jour"), gettext("Attente moyenne")),
                by_day,
                charts.columns,
                "jours",
                gettext("Attente moyenne par jour"),
                Axes(gettext("Jour de la semaine"), in_minutes),
            ),
            _chart(
                gettext("Part des personnes appelées en moins de %(target)s", target=target),
                (gettext("Période"), gettext("Appelées dans les temps")),
                levels,
                charts.bars,
                "niveau",
                gettext("Niveau de service par période"),
                Axes(
                    gettext("Période"),
                    gettext("Part des personnes appelées dans les temps, en %%") % {},
                    tick=percent,
                ),
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
                Axes(gettext("Canal"), gettext("Nombre de rendez-vous et de venues")),
            ),
            _chart(
                gettext("Issue des visites"),
                (gettext("Issue"), gettext("Visites")),
                outcomes,
                charts.bars,
                "issues",
                gettext("Visites selon leur issue"),
                Axes(gettext("Issue de la visite"), gettext("Nombre de visites")),
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
            gettext("Appelées en moins de %(duration)s", duration=wait(level.target_minutes))
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


def remote_figures(stats: Stats) -> list[tuple[str, str]]:
    """The block "File à distance": the tickets taken from a phone, and what became of
    their holders (the same labels as the CSV's columns)."""
    remote = stats.total.remote
    if remote is None:
        return []
    return [(gettext(TITLES[f"remote_{name}"]), str(getattr(remote, name))) for name in REMOTE]


def offer_figures(stats: Stats) -> list[tuple[str, str]]:
    """The block "Créneaux plus tôt": the freed slots offered to people waiting for one,
    and how each offer ended (the same labels as the CSV's columns)."""
    offers = stats.total.offers
    if offers is None:
        return []
    return [(gettext(TITLES[f"offers_{name}"]), str(getattr(offers, name))) for name in OFFERS]


def activity_figures(stats: Stats) -> dict[str, list[tuple[str, str]]]:
    """The blocks of the visits' activity records: how autonomous the people were (every
    level), and the themes of the help (those met, the most frequent first)."""
    themes = sorted(
        ((theme, count) for theme, count in stats.themes.items() if count),
        key=lambda item: -item[1],
    )
    return {
        "autonomy": [
            (label(activity_words.AUTONOMY, level), str(count))
            for level, count in stats.autonomy.items()
        ],
        "themes": [(label(activity_words.THEMES, theme), str(count)) for theme, count in themes],
    }


@dataclass(frozen=True)
class Compared:
    """A column of the comparison of the mairies: its title, the figure it reads, and how
    that figure is written."""

    title: str  # a msgid
    value: Callable[[Figures], float | None]
    text: Callable[[float | None], str]


COMPARED = {
    "tickets": Compared(N_("Tickets"), lambda f: f.tickets, number),
    "rendez-vous": Compared(N_("Rendez-vous"), lambda f: f.appointments.total, number),
    "sans-rendez-vous": Compared(N_("Sans rendez-vous"), lambda f: f.walk_ins, number),
    "recues": Compared(N_("Personnes reçues"), lambda f: f.served, number),
    "manques": Compared(N_("Rendez-vous manqués"), lambda f: f.no_shows.rate, percent),
    "attente": Compared(N_("Attente médiane"), lambda f: f.waiting_minutes.median, wait),
    "dans-les-temps": Compared(
        N_("Appelées dans les temps"), lambda f: f.service_level.rate, percent
    ),
    "satisfaction": Compared(N_("Satisfaction (sur 5)"), lambda f: f.satisfaction.mean, number),
}
SORTS = ("mairie", *COMPARED)
ORDERS = {"croissant": False, "decroissant": True}  # ?ordre=: reversed or not


def sorted_rows(
    compared: list[tuple[Site, Figures]], by: str, descending: bool
) -> list[tuple[Site, Figures]]:
    """The mairies in their own order (by arrondissement), or by a figure: those without it
    come last, whichever the order."""
    if by not in COMPARED:
        return compared[::-1] if descending else compared
    read = COMPARED[by].value
    known = [row for row in compared if read(row[1]) is not None]
    unknown = [row for row in compared if read(row[1]) is None]
    return sorted(known, key=lambda row: read(row[1]) or 0, reverse=descending) + unknown


def comparison(
    compared: list[tuple[Site, Figures]], total: Figures, params: Mapping[str, str]
) -> dict[str, Any]:
    """The table of the mairies side by side, sorted as `?tri=` and `?ordre=` ask, with a
    link on each column's head to sort by it (again: the other way)."""
    by = params.get("tri", "mairie")
    by = by if by in SORTS else "mairie"
    descending = ORDERS.get(params.get("ordre", ""), False)
    kept = {key: params[key] for key in ("du", "au", "par") if params.get(key)}

    def sort_link(key: str) -> dict[str, Any]:
        again = key == by and not descending
        order = "decroissant" if again else "croissant"
        return {
            "key": key,
            "href": "?" + urlencode({**kept, "tri": key, "ordre": order}) + "#comparaison",
            "sorted": ("descending" if descending else "ascending") if key == by else "",
            "next": gettext("tri décroissant") if again else gettext("tri croissant"),
        }

    def cells(figures: Figures) -> list[str]:
        return [column.text(column.value(figures)) for column in COMPARED.values()]

    query = urlencode(kept)
    return {
        "mairie": {**sort_link("mairie"), "title": gettext("Mairie")},
        "columns": [
            {**sort_link(key), "title": gettext(column.title)} for key, column in COMPARED.items()
        ],
        "rows": [
            {
                "name": site.name,
                "href": f"/statistiques/{site.slug}" + (f"?{query}" if query else ""),
                "cells": cells(figures),
            }
            for site, figures in sorted_rows(compared, by, descending)
        ],
        "total": cells(total),
    }


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
        first, last, errors = read_range(params, today_in(staff.settings, now))
        page = {
            "staff": staff,
            "agent": staff.actor,
            "place": sites[0].name if slug else gettext("tout Paris"),
            "action": f"/statistiques/{slug}" if slug else "/statistiques",
            "period": chosen if chosen in PERIODS else "jour",
            "errors": errors,
        }
        if errors:  # the form again as typed (else the range's day), and no figures under it
            first_typed, last_typed = (params.get(name, "")[:TYPED_LENGTH] for name in DAYS)
            page.update(first=first_typed or first.isoformat(), last=last_typed or last.isoformat())
            return Template("staff_stats.html", context=page, status_code=400)
        stats = await figures(session, sites, first, last, by, now)
        stats = await with_activities(session, stats, sites, first, last)
        export = {"from": first.isoformat(), "to": last.isoformat(), "by": by}
        if slug:
            export["site"] = slug
        if slug is None and len(sites) > 1:
            compared = await compare(session, sites, first, last, now)
            table = comparison(compared, stats.total, params)
        else:
            table = None
        page.update(
            {
                "first": first.isoformat(),
                "last": last.isoformat(),
                "span": span(first, last),
                "lead": first_upper(span(first, last)),
                "csv": f"/api/v1/stats.csv?{urlencode(export)}",
                "figures": key_figures(stats),
                "remote": remote_figures(stats),
                "offers": offer_figures(stats),
                **activity_figures(stats),
                "referrals": stats.referrals,
                "comparison": table,
                **chart_context(stats),
            }
        )
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
