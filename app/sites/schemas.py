"""What the sites APIs send: plain structs built from the models. The administration's
structs (`admin_schemas`, `catalog_api`) extend these with what only staff see."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Self
from zoneinfo import ZoneInfo

import msgspec
from litestar.params import PathParameter

from app.shapes import from_model
from app.sites.hours import WEEKDAYS, OpenDay
from app.sites.models import Need, Service, Site, Station, WeeklyHours

Slug = Annotated[
    str, PathParameter(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$", description="A mairie's identifier")
]


class SiteOut(msgspec.Struct, kw_only=True):
    slug: str
    name: str
    address: str


class SiteSummary(SiteOut, kw_only=True):
    timezone: str
    arrondissements: list[int]


class StationRef(msgspec.Struct, kw_only=True):
    """A station, named."""

    id: int
    name: str


class StationOut(StationRef, kw_only=True):
    kind: str
    accessible: bool


class NthWeekday(msgspec.Struct, kw_only=True):
    """One occurrence of a weekday in the month (1 to 5, -1 the last): what special hours
    start with, in the public API and in the administration."""

    weekday: str
    nth_in_month: int


class SpecialHours(NthWeekday, kw_only=True):
    hours: list[tuple[str, str]]
    note: str


class OpeningHours(msgspec.Struct, kw_only=True):
    weekly: dict[str, list[tuple[str, str]]]
    special: list[SpecialHours]
    public_holidays: str = "closed"


class SiteDetail(SiteSummary, kw_only=True):
    opening_hours: OpeningHours
    stations: list[StationOut]


class Interval(msgspec.Struct, kw_only=True):
    start: datetime
    end: datetime

    @classmethod
    def local(cls, start: datetime, end: datetime, tz: ZoneInfo) -> Self:
        """The interval from `start` to `end`, its instants given in `tz`."""
        return cls(start=start.astimezone(tz), end=end.astimezone(tz))


class DayHours(msgspec.Struct, kw_only=True):
    date: date
    open: bool
    hours: list[Interval]
    note: str


class SiteHours(msgspec.Struct, kw_only=True):
    site: str
    timezone: str
    days: list[DayHours]


class ServiceOut(msgspec.Struct, kw_only=True):
    code: str
    name: str
    description: str
    duration_minutes: int
    station_kind: str
    documents: list[str]


class NeedOut(msgspec.Struct, kw_only=True):
    code: str
    name: str
    extra_minutes: int
    station_kind: str | None
    requires_accessible: bool


def _hhmm(value: time) -> str:
    return value.strftime("%H:%M")


def site_summary(site: Site) -> SiteSummary:
    return from_model(site, SiteSummary)


def opening_hours(rows: list[WeeklyHours]) -> OpeningHours:
    weekly: dict[str, list[tuple[str, str]]] = {name: [] for name in WEEKDAYS}
    special: dict[tuple[int, int], SpecialHours] = {}
    for row in sorted(rows, key=lambda r: (r.weekday, r.nth_in_month or 0, r.opens)):
        hours = (_hhmm(row.opens), _hhmm(row.closes))
        if row.nth_in_month is None:
            weekly[WEEKDAYS[row.weekday]].append(hours)
            continue
        key = (row.weekday, row.nth_in_month)
        entry = special.setdefault(
            key,
            SpecialHours(
                weekday=WEEKDAYS[row.weekday],
                nth_in_month=row.nth_in_month,
                hours=[],
                note=row.note,
            ),
        )
        entry.hours.append(hours)
    return OpeningHours(weekly=weekly, special=list(special.values()))


def site_detail(site: Site) -> SiteDetail:
    summary = site_summary(site)
    return SiteDetail(
        **msgspec.structs.asdict(summary),
        opening_hours=opening_hours(site.weekly_hours),
        stations=[station_out(station) for station in site.stations if station.active],
    )


def station_out(station: Station) -> StationOut:
    return from_model(station, StationOut)


def day_hours(day: OpenDay, tz: ZoneInfo) -> DayHours:
    return DayHours(
        date=day.day,
        open=day.is_open,
        hours=[Interval.local(start, end, tz) for start, end in day.intervals],
        note=day.note,
    )


def service_out(service: Service) -> ServiceOut:
    return from_model(service, ServiceOut)


def need_out(need: Need) -> NeedOut:
    return from_model(need, NeedOut)
