"""Finished visits as activity records, with La Coop de la médiation numérique's fields:
JSON for programs, CSV for a spreadsheet or an import, for the mairies a manager runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from litestar import Response, get
from litestar.di import NamedDependency, Provide

from app.accounts.guards import Caller
from app.problems import problem_responses
from app.stats.queries import default_range, today_in
from app.stats.tally import check_range
from app.visits.activity_records import ActivityRecord, activity_records, records_csv
from app.web.api import (
    MANAGERS_FIRST,
    FromDate,
    SiteQuery,
    StaffApi,
    ToDate,
    csv_attachment,
    excel_wanted,
    managed_sites,
)

DESCRIPTION = (
    "Managers read their mairies' (administrators every mairie's), one mairie with `site`; "
    "the days are the visits' local days, this month so far by default, at most 400 days. "
    "The field names and values are La Coop de la médiation numérique's (`type`, `date`, "
    "`duree` in minutes, `typeLieu`, `autonomie`, `orienteVersStructure`, "
    "`structureDeRedirection`, `materiel`, `thematiques`, `trancheAge`, `statutSocial`); "
    "`id`, `site` and `mandatAidantsConnect` (help given under an Aidants Connect mandate) "
    "are guichet's. No personal data."
)


@dataclass(frozen=True)
class Activities:
    """The activity records the query asks for: of the mairie `site` (by default, every one
    the caller manages), from `first` to `last`."""

    site: str | None
    first: date
    last: date
    records: list[ActivityRecord]


async def asked_activities(
    caller: NamedDependency[Caller],
    site: SiteQuery = None,
    first: FromDate = None,
    last: ToDate = None,
) -> Activities:
    """The records both routes answer (as JSON, as CSV), this month so far by default. A
    `site` unknown is a 404, which the routes declare (the query parameters are this
    dependency's, not theirs)."""
    sites = await managed_sites(caller, site)
    first, last = default_range(first, last, today_in(caller.settings, caller.now))
    check_range(first, last)
    records = await activity_records(caller.session, list(sites), first, last)
    return Activities(site=site, first=first, last=last, records=records)


class ActivitiesController(StaffApi):
    path = "/api/v1"
    tags = ["visits"]
    dependencies = {
        **MANAGERS_FIRST,
        "asked": Provide(asked_activities),
        "excel": Provide(excel_wanted),
    }

    @get(
        "/activities",
        summary="Finished visits as La Coop de la médiation numérique's activity records",
        description=DESCRIPTION,
        responses=problem_responses(404),
    )
    async def list_activities(self, asked: NamedDependency[Activities]) -> list[ActivityRecord]:
        return asked.records

    @get(
        "/activities.csv",
        summary="The same activity records as CSV",
        description=DESCRIPTION + " Lists are joined by `|`. With `format=excel` (or `Accept: "
        "application/vnd.ms-excel`): semicolons and a UTF-8 byte order mark.",
        media_type="text/csv",
        responses=problem_responses(404),
    )
    async def activities_as_csv(
        self, asked: NamedDependency[Activities], excel: NamedDependency[bool]
    ) -> Response[str]:
        name = f"guichet-activites-{asked.site or 'mairies'}-{asked.first}-{asked.last}.csv"
        return csv_attachment(records_csv(asked.records, excel=excel), name)
