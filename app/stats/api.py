"""The figures over HTTP: JSON for programs, CSV for spreadsheets, the same numbers."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.guards import STAFF_SECURITY
from app.accounts.models import Agent
from app.accounts.service import MANAGERS, authorize, sites_in_view
from app.config import Settings
from app.problems import problem_responses
from app.sites.models import Site
from app.stats.figures import Figures, Stats, figures
from app.stats.sql import By

SiteParam = Annotated[
    str | None,
    QueryParameter(max_length=40, description="A mairie's slug; without it, all of Paris (admin)"),
]
FromDate = Annotated[date | None, QueryParameter(name="from", description="First day")]
ToDate = Annotated[date | None, QueryParameter(name="to", description="Last day")]
ByParam = Annotated[By, QueryParameter(description="Periods: day, week or month")]


async def sites_for_stats(session: AsyncSession, agent: Agent, slug: str | None) -> list[Site]:
    """One site its managers may read, or all of Paris for an administrator."""
    if slug is None:
        authorize(agent, roles=())
    return await sites_in_view(session, agent, roles=MANAGERS, slug=slug)


def default_range(first: date | None, last: date | None, today: date) -> tuple[date, date]:
    """Without dates: this month so far."""
    last = last or today
    return first or last.replace(day=1), last


async def read_stats(
    session: AsyncSession,
    agent: Agent,
    settings: Settings,
    now: datetime,
    slug: str | None,
    first: date | None,
    last: date | None,
    by: By,
) -> Stats:
    sites = await sites_for_stats(session, agent, slug)
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    first, last = default_range(first, last, today)
    return await figures(session, sites, first, last, by, now)


def row_of(label: str, item: Figures) -> dict[str, Any]:
    """One period as one flat row."""
    return {
        "period": label,
        "from": item.start.isoformat(),
        "to": item.end.isoformat(),
        "appointments_online": item.appointments.online,
        "appointments_phone": item.appointments.phone,
        "appointments_counter": item.appointments.counter,
        "appointments": item.appointments.total,
        "walk_ins": item.walk_ins,
        "tickets": item.tickets,
        "served": item.served,
        "no_shows_appointments": item.no_shows.appointments,
        "no_shows_tickets": item.no_shows.tickets,
        "no_show_rate": item.no_shows.rate,
        "cancellations": item.cancellations.count,
        "cancellation_rate": item.cancellations.rate,
        "wait_mean_minutes": item.waiting_minutes.mean,
        "wait_median_minutes": item.waiting_minutes.median,
        "wait_p90_minutes": item.waiting_minutes.p90,
        "service_level_target_minutes": item.service_level.target_minutes,
        "service_level_goal": item.service_level.goal,
        "called": item.service_level.called,
        "called_within_target": item.service_level.within,
        "service_level": item.service_level.rate,
        **{f"outcome_{name}": count for name, count in item.outcomes.items()},
        "escalations_opened": item.escalations.opened,
        "escalations_answered": item.escalations.answered,
        "escalations_open": item.escalations.open,
        "escalations_overdue": item.escalations.overdue,
        "escalation_median_response_days": item.escalations.median_response_days,
        "satisfaction_answers": item.satisfaction.answers,
        "satisfaction_mean": item.satisfaction.mean,
        **{f"satisfaction_{score}": n for score, n in item.satisfaction.scores.items()},
    }


def stats_csv(stats: Stats) -> str:
    """A row per period and a last row for the whole range; empty cells where a figure
    has no value (a rate with nothing to divide)."""
    rows = [row_of(item.start.isoformat(), item) for item in stats.periods]
    rows.append(row_of("total", stats.total))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


class StatsController(Controller):
    path = "/api/v1"
    tags = ["stats"]
    security = STAFF_SECURITY

    @get(
        "/stats",
        summary="The figures of a mairie, or of all of Paris, by period",
        responses=problem_responses(404),
    )
    async def stats(
        self,
        agent: NamedDependency[Agent],
        session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        now: NamedDependency[datetime],
        site: SiteParam = None,
        first: FromDate = None,
        last: ToDate = None,
        by: ByParam = "day",
    ) -> Stats:
        return await read_stats(session, agent, settings, now, site, first, last, by)

    @get(
        "/stats.csv",
        summary="The same figures as CSV, one row per period and one for the whole range",
        media_type="text/csv; charset=utf-8",
        responses=problem_responses(404),
    )
    async def stats_as_csv(
        self,
        agent: NamedDependency[Agent],
        session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        now: NamedDependency[datetime],
        site: SiteParam = None,
        first: FromDate = None,
        last: ToDate = None,
        by: ByParam = "day",
    ) -> Response[str]:
        found = await read_stats(session, agent, settings, now, site, first, last, by)
        name = f"guichet-{found.site or 'paris'}-{found.first}-{found.last}.csv"
        return Response(
            stats_csv(found),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
