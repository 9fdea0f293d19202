"""The figures over HTTP: JSON for programs, CSV for spreadsheets, the same numbers."""

from __future__ import annotations

from typing import Annotated

from litestar import Response, get
from litestar.di import NamedDependency, Provide
from litestar.params import QueryParameter

from app.accounts.guards import Caller
from app.problems import problem_responses
from app.stats.export import stats_csv
from app.stats.queries import read_stats
from app.stats.schemas import Stats
from app.stats.sql import By
from app.web.api import (
    MANAGERS_FIRST,
    FromDate,
    StaffApi,
    ToDate,
    csv_attachment,
    excel_wanted,
)

SiteParam = Annotated[
    str | None,
    QueryParameter(max_length=40, description="A mairie's slug; without it, all of Paris (admin)"),
]
ByParam = Annotated[By, QueryParameter(description="Periods: day, week or month")]


async def asked_figures(
    caller: NamedDependency[Caller],
    site: SiteParam = None,
    first: FromDate = None,
    last: ToDate = None,
    by: ByParam = "day",
) -> Stats:
    """The figures the query asks for, which both routes answer: the same query, the same
    numbers. A `site` unknown is a 404, which the routes declare (the query parameters are
    this dependency's, not theirs)."""
    return await read_stats(
        caller.session, caller.actor, caller.settings, caller.now, site, first, last, by
    )


class StatsController(StaffApi):
    path = "/api/v1"
    tags = ["stats"]
    dependencies = {
        **MANAGERS_FIRST,
        "figures": Provide(asked_figures),
        "excel": Provide(excel_wanted),
    }

    @get(
        "/stats",
        summary="The figures of a mairie, or of all of Paris, by period",
        responses=problem_responses(404),
    )
    async def stats(self, figures: NamedDependency[Stats]) -> Stats:
        return figures

    @get(
        "/stats.csv",
        summary="The same figures as CSV, one row per period and one for the whole range",
        description=(
            "Commas and the figures' codes as titles. With `format=excel` (or `Accept: "
            "application/vnd.ms-excel`): for a spreadsheet set up in French, semicolons, a "
            "UTF-8 byte order mark, French titles beside the codes and decimal commas."
        ),
        media_type="text/csv",
        responses=problem_responses(404),
    )
    async def stats_as_csv(
        self, figures: NamedDependency[Stats], excel: NamedDependency[bool]
    ) -> Response[str]:
        name = f"guichet-{figures.site or 'paris'}-{figures.first}-{figures.last}.csv"
        return csv_attachment(stats_csv(figures, excel=excel), name)
