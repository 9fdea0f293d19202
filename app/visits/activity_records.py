"""Finished visits as La Coop de la médiation numérique's activity records: read for the
mairies and the days asked, in La Coop's field names and values, for JSON or a table.
Nothing personal is in them: no name, no contact, no note, no agent."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.sites.models import Site
from app.visits.activity_rules import VISIT_PLACE, VISIT_TYPE
from app.visits.models import Activity, Visit

LIST_SEPARATOR = "|"  # between the values of a list in a table's cell, as the national
# standard of the lieux de médiation numérique writes its lists


class ActivityRecord(msgspec.Struct, kw_only=True):
    """One finished visit as La Coop records an accompaniment; `id`, `site` and
    `mandatAidantsConnect` are guichet's own."""

    id: int
    site: str
    type: str
    date: date
    duree: int
    type_lieu: str = msgspec.field(name="typeLieu")
    autonomie: str
    oriente_vers_structure: bool = msgspec.field(name="orienteVersStructure")
    structure_de_redirection: str | None = msgspec.field(name="structureDeRedirection")
    materiel: list[str]
    thematiques: list[str]
    tranche_age: str = msgspec.field(name="trancheAge")
    statut_social: str = msgspec.field(name="statutSocial")
    mandat_aidants_connect: bool = msgspec.field(name="mandatAidantsConnect")


FIELDS = tuple(field.encode_name for field in msgspec.structs.fields(ActivityRecord))
# Cells a spreadsheet would read as a formula (CSV injection), as the figures' export
# guards them.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def record_of(activity: Activity, day: date, slug: str) -> ActivityRecord:
    return ActivityRecord(
        id=activity.id,
        site=slug,
        type=VISIT_TYPE,
        date=day,
        duree=activity.minutes,
        type_lieu=VISIT_PLACE,
        autonomie=activity.autonomy,
        oriente_vers_structure=activity.referral is not None,
        structure_de_redirection=activity.referral,
        materiel=list(activity.equipment),
        thematiques=list(activity.themes),
        tranche_age=activity.age_band,
        statut_social=activity.social_status,
        mandat_aidants_connect=activity.aidants_connect,
    )


async def activity_records(
    session: AsyncSession, site_ids: list[int], first: date, last: date
) -> list[ActivityRecord]:
    """The records of the visits finished at `site_ids` from `first` to `last` (their
    local days), in the order they ended."""
    rows = await session.execute(
        select(Activity, Visit.day, Site.slug)
        .join(Visit, Visit.id == Activity.visit_id)
        .join(Site, Site.id == Visit.site_id)
        .where(Visit.site_id.in_(site_ids), Visit.day >= first, Visit.day <= last)
        .order_by(Visit.day, Visit.finished_at, Activity.id)
    )
    return [record_of(activity, day, slug) for activity, day, slug in rows]


def table_row(record: ActivityRecord) -> dict[str, Any]:
    """A record as a flat row: lists joined by "|", yes and no as true and false, nothing
    as an empty cell."""
    row: dict[str, Any] = {}
    for name, value in zip(FIELDS, msgspec.structs.astuple(record), strict=True):
        if isinstance(value, list):
            value = LIST_SEPARATOR.join(value)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, date):
            value = value.isoformat()
        row[name] = value
    return row


def records_csv(records: list[ActivityRecord], *, excel: bool = False) -> str:
    """The records as CSV, La Coop's field names as titles, a header even with no row. By
    default for programs (commas, UTF-8); with `excel`, as a spreadsheet set up in French
    opens it (semicolons, a byte order mark). Either way a cell that would start a
    formula is kept as text."""
    out = io.StringIO()
    if excel:
        out.write("\ufeff")
    table = csv.writer(out, delimiter=";" if excel else ",", lineterminator="\r\n")
    table.writerow(FIELDS)
    for record in records:
        row = table_row(record)
        table.writerow(_cell(row[name]) for name in FIELDS)
    return out.getvalue()


def _cell(value: object) -> object:
    if value is None:
        return ""
    text = str(value)
    return f"'{text}" if text.startswith(FORMULA_START) else text
