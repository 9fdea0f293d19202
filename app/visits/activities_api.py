"""Finished visits as activity records, with La Coop de la médiation numérique's fields:
JSON for programs, CSV for a spreadsheet or an import, for the mairies a manager runs."""

from __future__ import annotations

from datetime import date
from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency

from app.accounts.guards import Caller
from app.stats.export import wants_excel
from app.stats.queries import default_range, today_in
from app.stats.tally import check_range
from app.visits.activity_records import ActivityRecord, activity_records, records_csv
from app.web.api import (
    CsvFormat,
    FromDate,
    SiteQuery,
    StaffApi,
    ToDate,
    csv_attachment,
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


async def _read(
    caller: Caller, site: str | None, first: date | None, last: date | None
) -> tuple[list[ActivityRecord], date, date]:
    sites = await managed_sites(caller, site)
    first, last = default_range(first, last, today_in(caller.settings, caller.now))
    check_range(first, last)
    return await activity_records(caller.session, list(sites), first, last), first, last


class ActivitiesController(StaffApi):
    path = "/api/v1"
    tags = ["visits"]

    @get(
        "/activities",
        summary="Finished visits as La Coop de la médiation numérique's activity records",
        description=DESCRIPTION,
    )
    async def list_activities(
        self,
        caller: NamedDependency[Caller],
        site: SiteQuery = None,
        first: FromDate = None,
        last: ToDate = None,
    ) -> list[ActivityRecord]:
        records, _, _ = await _read(caller, site, first, last)
        return records

    @get(
        "/activities.csv",
        summary="The same activity records as CSV",
        description=DESCRIPTION + " Lists are joined by `|`. With `format=excel` (or `Accept: "
        "application/vnd.ms-excel`): semicolons and a UTF-8 byte order mark.",
        media_type="text/csv",
    )
    async def activities_as_csv(
        self,
        request: Request[Any, Any, Any],
        caller: NamedDependency[Caller],
        site: SiteQuery = None,
        first: FromDate = None,
        last: ToDate = None,
        flavour: CsvFormat = None,
    ) -> Response[str]:
        records, first, last = await _read(caller, site, first, last)
        name = f"guichet-activites-{site or 'mairies'}-{first}-{last}.csv"
        return csv_attachment(records_csv(records, excel=wants_excel(request, flavour)), name)
