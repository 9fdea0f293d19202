"""What the administration API of the mairies reads and sends: the settings, the stations
and their outages, and what a change did to booked appointments; with the plain-words
checks of what msgspec cannot say (a wall-clock time). The hours' own structs are in
`hours_api`."""

from __future__ import annotations

import re
from datetime import datetime, time
from typing import TYPE_CHECKING, Annotated, Any, Literal
from zoneinfo import ZoneInfo

import msgspec
from litestar.params import PathParameter
from sqlalchemy.ext.asyncio import AsyncSession

from app import bounds
from app.errors import Invalid
from app.i18n import gettext
from app.shapes import from_model
from app.sites.disruption import Affected, Disruption
from app.sites.models import Closure, Site, Station, StationOutage
from app.sites.rules import (
    BOUNDS,
    CLOCK_SETTINGS,
    MAX_REMINDERS,
    REMINDER_HOURS,
    SETTINGS,
    Bound,
    Flag,
    Other,
    settings_of,
)
from app.sites.schemas import StationOut, StationRef
from app.sites.service import get_site

Id = Annotated[int, PathParameter(ge=1, le=2**31 - 1)]
# Checked by `clock_of`, which says what is wrong in plain words.
Clock = Annotated[
    str, msgspec.Meta(max_length=8, description="Local wall-clock time, HH:MM", examples=["08:30"])
]
CLOCK = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")  # ASCII only: \d takes "٣"
Aware = Annotated[datetime, msgspec.Meta(tz=True, description="ISO 8601 with an offset")]
Reason = Annotated[str, msgspec.Meta(max_length=200)]
StationName = Annotated[str, msgspec.Meta(min_length=1, max_length=60)]
Kind = Literal["standard", "double"]
LateRule = Annotated[
    Literal["walk_in", "grace"],
    msgspec.Meta(
        description="Where a late arrival goes: as a walk-in arriving now, or at the booked "
        "time for the grace minutes past the tolerance"
    ),
]


def _within(name: str) -> msgspec.Meta:
    bound = BOUNDS[name]
    return msgspec.Meta(ge=bound.low, le=bound.high, description=bound.english)


ReminderHour = Annotated[int, msgspec.Meta(ge=REMINDER_HOURS.low, le=REMINDER_HOURS.high)]


def _setting_types(name: str, kind: Bound | Flag | Other) -> tuple[Any, Any]:
    """The type a setting has in the API's answers, and in a change (with its bounds)."""
    if isinstance(kind, Bound):
        return int, Annotated[int, _within(name)]
    if isinstance(kind, Flag):
        return bool, bool
    return {
        "hours": (list[int], Annotated[list[ReminderHour], msgspec.Meta(max_length=MAX_REMINDERS)]),
        "clock": (str, Clock),
        "late_rule": (LateRule, LateRule),
    }[kind.kind]


# Built from the one list of settings (`rules.SETTINGS`), in its order.
if TYPE_CHECKING:
    SettingsOut = msgspec.Struct
    SettingsChange = msgspec.Struct
else:
    SettingsOut = msgspec.defstruct(
        "SettingsOut",
        [
            ("slug", str),
            ("name", str),
            *((name, _setting_types(name, kind)[0]) for name, kind in SETTINGS.items()),
        ],
        kw_only=True,
        module=__name__,
    )
    SettingsChange = msgspec.defstruct(
        "SettingsChange",
        [(name, _setting_types(name, kind)[1] | None, None) for name, kind in SETTINGS.items()],
        kw_only=True,
        forbid_unknown_fields=True,
        module=__name__,
        namespace={"__doc__": "The settings to change; those left out stay as they are."},
    )


class StationAdminOut(StationOut, kw_only=True):
    active: bool
    position: int


class StationIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: StationName
    kind: Kind = "standard"
    accessible: bool = False


class StationChangeIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """What to change; `active: false` takes the station away for good."""

    name: StationName | None = None
    kind: Kind | None = None
    accessible: bool | None = None
    active: bool | None = None


class AffectedOut(msgspec.Struct, kw_only=True):
    reference: str
    start: datetime
    end: datetime
    service: str
    service_name: str
    station: StationRef
    previous_station: str | None


class Disrupted(msgspec.Struct, kw_only=True):
    """What a change did to booked appointments: `kept` moved to another station at the
    same time; `to_reschedule` could not be placed, for the manager to move or cancel.
    Each person was told once."""

    kept: list[AffectedOut]
    to_reschedule: list[AffectedOut]


class StationChanged(Disrupted, kw_only=True):
    station: StationAdminOut


class PeriodIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A period of the mairie's life (an outage, a closure), its instants within bounds."""

    starts_at: Aware
    ends_at: Aware
    reason: Reason = ""

    def __post_init__(self) -> None:
        bounds.check_instant(self.starts_at, "starts_at")
        bounds.check_instant(self.ends_at, "ends_at")


class OutageIn(PeriodIn, kw_only=True, forbid_unknown_fields=True):
    station_id: Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]


class OutageOut(msgspec.Struct, kw_only=True):
    id: int
    station: StationRef
    starts_at: datetime
    ends_at: datetime
    reason: str


class OutageAdded(Disrupted, kw_only=True):
    outage: OutageOut


def clock_of(text: str, field_name: str) -> time:
    """A wall-clock time written HH:MM; 400 in plain words otherwise."""
    if not CLOCK.fullmatch(text):
        raise Invalid.one(
            field_name,
            f"Write times as HH:MM, from 00:00 to 23:59 ({text!r} is not one).",
            gettext("Écrivez l'heure sous la forme HH:MM, par exemple 08:30."),
        )
    return time(int(text[:2]), int(text[3:]))


def hhmm(value: time) -> str:
    return value.strftime("%H:%M")


def settings_out(site: Site) -> SettingsOut:
    values = {
        name: hhmm(value) if isinstance(value, time) else value
        for name, value in settings_of(site).items()
    }
    return msgspec.convert({"slug": site.slug, "name": site.name, **values}, SettingsOut)


def settings_changes(data: SettingsChange) -> dict[str, object]:
    """The settings a change names, its times read."""
    given = {
        name: value for name, value in msgspec.structs.asdict(data).items() if value is not None
    }
    return {
        name: clock_of(value, name) if name in CLOCK_SETTINGS else value
        for name, value in given.items()
    }


def station_out(station: Station) -> StationAdminOut:
    return from_model(station, StationAdminOut)


def in_zone(row: Affected | StationOutage | Closure, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """When `row` starts and ends, in the time zone in which answers give their instants."""
    return row.starts_at.astimezone(tz), row.ends_at.astimezone(tz)


def affected_out(item: Affected, tz: ZoneInfo) -> AffectedOut:
    start, end = in_zone(item, tz)
    station = StationRef(id=item.station_id, name=item.station)
    return from_model(item, AffectedOut, start=start, end=end, station=station)


def disrupted(disruption: Disruption, tz: ZoneInfo) -> dict[str, list[AffectedOut]]:
    """The fields of `Disrupted`, for the answer of a change that may strand appointments."""
    return {
        "kept": [affected_out(item, tz) for item in disruption.kept],
        "to_reschedule": [affected_out(item, tz) for item in disruption.to_reschedule],
    }


def outage_out(outage: StationOutage, station: Station, tz: ZoneInfo) -> OutageOut:
    starts_at, ends_at = in_zone(outage, tz)
    station_ref = from_model(station, StationRef)
    return from_model(outage, OutageOut, station=station_ref, starts_at=starts_at, ends_at=ends_at)


async def site_zone(session: AsyncSession, slug: str) -> ZoneInfo:
    """The time zone of the site at `slug`, in which answers give their instants."""
    site = await get_site(session, slug)
    return ZoneInfo(site.timezone)
