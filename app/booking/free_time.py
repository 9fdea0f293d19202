"""The summary of free time: one row per active station and local day of a site's window
(`FreeTime`), what the first free slot across sites reads instead of every booking.

It is derived data, kept in the transaction that changes what it derives from. Every
flush is watched (`_noticed`, before it: the rows changed, with their old values) and
the days it touched are worked out again once it is written (`_kept`, after it, on the
same connection), whoever made the change: a booking, a move, a cancellation, hours, a
closure, a dated exception, an outage, a station. Days outside a site's window are not
kept; the search looks at them the slow way. `roll` moves the windows on each day,
`rebuild` redoes them, `check` rebuilds in memory and compares
(`guichet db check-free-time`).

Writes that bypass the ORM (`update()`, `delete()` statements) are not seen: none may
touch what the summary derives from (`tests/unit/test_free_time_watch.py` reads the
code for them).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, event, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import get_history

from app import locking
from app.booking.free_time_rules import StationDay, day_range, station_days
from app.booking.models import RELEASED, Appointment, FreeTime, FreeTimeWindow
from app.booking.slots import Booked
from app.sites.hours import ClosedPeriod, DatedHours, SiteCalendar, WeeklyRule, local_instant
from app.sites.models import (
    Closure,
    HoursException,
    Site,
    Station,
    StationOutage,
    WeeklyHours,
)

_NOTICED = "free_time_noticed"
_MOVES = ("starts_at", "ends_at", "station_id", "site_id")


@dataclass
class Marks:
    """What a flush changed: sites to redo whole, appointments' starts by site (their
    local days are known once the site's time zone is read), dated days by site, and
    stations whose site is to be redone (an outage names its station only)."""

    whole: set[int] = field(default_factory=set)
    starts: dict[int, set[datetime]] = field(default_factory=dict)
    days: dict[int, set[date]] = field(default_factory=dict)
    stations: set[int] = field(default_factory=set)
    later: list[tuple[str, Any]] = field(default_factory=list)  # new rows: ids after flush

    def __bool__(self) -> bool:
        return bool(self.whole or self.starts or self.days or self.stations or self.later)


def _values(row: object, name: str) -> list[Any]:
    """The value of `name` before the flush and after it (one item when unchanged)."""
    history = get_history(row, name)
    if not history.has_changes():
        return [getattr(row, name)]
    return [*history.deleted, *history.added]


def _changed(row: object, names: Iterable[str]) -> bool:
    return any(get_history(row, name).has_changes() for name in names)


def _holds(status: object) -> bool:
    return status is None or status not in RELEASED


def _note_appointment(marks: Marks, row: Appointment, state: str) -> None:
    if state == "dirty":
        status = get_history(row, "status")
        released = {_holds(value) for value in [*status.deleted, *status.added]}
        if not _changed(row, _MOVES) and len(released) < 2:
            return
        for site in _values(row, "site_id"):
            marks.starts.setdefault(site, set()).update(_values(row, "starts_at"))
        return
    if state == "new":
        if _holds(row.status):
            marks.later.append(("appointment", row))
        return
    marks.starts.setdefault(row.site_id, set()).add(row.starts_at)


# What else the summary derives from, and the columns of each that move it.
_WATCHED: dict[type, tuple[str, ...]] = {
    Station: ("active", "site_id"),
    WeeklyHours: ("site_id", "weekday", "nth_in_month", "opens", "closes"),
    Closure: ("site_id", "starts_at", "ends_at"),
    StationOutage: ("station_id", "starts_at", "ends_at"),
    HoursException: ("site_id", "day", "opens", "closes"),
    Site: ("timezone",),
}


def _note(marks: Marks, row: object, state: str) -> None:
    """Mark what a changed row moves in the summary (`state`: new, dirty or deleted)."""
    if isinstance(row, Appointment):
        _note_appointment(marks, row, state)
        return
    watched = _WATCHED.get(type(row))
    if watched is None or (state == "dirty" and not _changed(row, watched)):
        return
    if isinstance(row, Site):
        if state == "dirty":
            marks.whole.add(row.id)
    elif state == "new":
        kinds: dict[type, str] = {StationOutage: "station", HoursException: "day"}
        kind = kinds.get(type(row), "site")
        marks.later.append((kind, row))
    elif isinstance(row, StationOutage):
        marks.stations.update(_values(row, "station_id"))
    elif isinstance(row, HoursException):
        for site in _values(row, "site_id"):
            marks.days.setdefault(site, set()).update(_values(row, "day"))
    else:
        marks.whole.update(_values(row, "site_id"))


@event.listens_for(Session, "before_flush")
def _noticed(session: Session, _context: object, _instances: object) -> None:
    marks: Marks = session.info.setdefault(_NOTICED, Marks())
    for state, rows in (("new", session.new), ("dirty", session.dirty)):
        for row in rows:
            _note(marks, row, state)
    for row in session.deleted:
        _note(marks, row, "deleted")


@event.listens_for(Session, "after_flush_postexec")
def _kept(session: Session, _context: object) -> None:
    marks: Marks | None = session.info.pop(_NOTICED, None)
    if not marks:
        return
    for kind, row in marks.later:  # rows inserted by this flush have their ids now
        if kind == "appointment":
            marks.starts.setdefault(row.site_id, set()).add(row.starts_at)
        elif kind == "site":
            marks.whole.add(row.site_id)
        elif kind == "station":
            marks.stations.add(row.station_id)
        else:
            marks.days.setdefault(row.site_id, set()).add(row.day)
    connection = session.connection()
    if marks.stations:
        query = select(Station.site_id).where(Station.id.in_(marks.stations))
        marks.whole.update(connection.scalars(query))
    touched = marks.whole | marks.starts.keys() | marks.days.keys()
    windows = _windows(connection, touched)
    for site_id in sorted(touched):
        window = windows.get(site_id)
        if window is None:
            continue
        first, last, zone = window
        if site_id in marks.whole:
            days = day_range(first, last)
            _lock_days(connection, site_id, days)
        else:
            days = sorted(
                {start.astimezone(zone).date() for start in marks.starts.get(site_id, ())}
                | marks.days.get(site_id, set())
            )
            days = [day for day in days if first <= day <= last]
        if days:
            _store(connection, site_id, days, worked_out(connection, site_id, zone, days))


def _windows(
    connection: Connection, site_ids: Iterable[int]
) -> dict[int, tuple[date, date, ZoneInfo]]:
    ids = list(site_ids)
    if not ids:
        return {}
    query = (
        select(FreeTimeWindow.site_id, FreeTimeWindow.first, FreeTimeWindow.last, Site.timezone)
        .join(Site, Site.id == FreeTimeWindow.site_id)
        .where(FreeTimeWindow.site_id.in_(ids))
    )
    return {row[0]: (row[1], row[2], ZoneInfo(row[3])) for row in connection.execute(query)}


def _lock_days(connection: Connection, site_id: int, days: Sequence[date]) -> None:
    """A change that redoes a whole window waits for the bookings of its days (and they
    for it), so that no booking's count of a day is overwritten by an older one."""
    if connection.dialect.name != "postgresql":
        return
    keys = sorted(locking.lock_key(locking.Scope.BOOKING_DAY, site_id, day) for day in days)
    for key in keys:
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def worked_out(
    connection: Connection, site_id: int, zone: ZoneInfo, days: Sequence[date]
) -> dict[tuple[int, date], StationDay]:
    """The summary's rows of `days` (sorted) at a site, from what the database holds."""
    first, last = days[0], days[-1]
    starts = local_instant(first, time(0), zone)
    ends = local_instant(last + timedelta(days=1), time(0), zone)
    weekly = connection.execute(
        select(
            WeeklyHours.weekday,
            WeeklyHours.opens,
            WeeklyHours.closes,
            WeeklyHours.nth_in_month,
            WeeklyHours.note,
        ).where(WeeklyHours.site_id == site_id)
    )
    exceptions = connection.execute(
        select(
            HoursException.day,
            HoursException.opens,
            HoursException.closes,
            HoursException.reason,
        ).where(
            HoursException.site_id == site_id,
            HoursException.day >= first,
            HoursException.day <= last,
        )
    )
    closures = connection.execute(
        select(Closure.starts_at, Closure.ends_at, Closure.reason).where(
            Closure.site_id == site_id, Closure.starts_at < ends, Closure.ends_at > starts
        )
    )
    calendar = SiteCalendar(
        timezone=zone,
        weekly=[WeeklyRule(*row) for row in weekly],
        exceptions=[DatedHours(*row) for row in exceptions],
        closures=[ClosedPeriod(*row) for row in closures],
    )
    stations = list(
        connection.scalars(
            select(Station.id)
            .where(Station.site_id == site_id, Station.active)
            .order_by(Station.id)
        )
    )
    held = connection.execute(
        select(Appointment.station_id, Appointment.starts_at, Appointment.ends_at).where(
            Appointment.site_id == site_id,
            Appointment.status.not_in(RELEASED),
            Appointment.starts_at < ends,
            Appointment.ends_at > starts,
        )
    )
    outages = connection.execute(
        select(StationOutage.station_id, StationOutage.starts_at, StationOutage.ends_at)
        .join(Station, Station.id == StationOutage.station_id)
        .where(
            Station.site_id == site_id,
            StationOutage.starts_at < ends,
            StationOutage.ends_at > starts,
        )
    )
    bounds = [
        (local_instant(day, time(0), zone), local_instant(day + timedelta(days=1), time(0), zone))
        for day in days
    ]
    return station_days(
        [calendar.day(day) for day in days],
        stations,
        [Booked(*row) for row in held],
        [Booked(*row) for row in outages],
        bounds,
    )


def _store(
    connection: Connection,
    site_id: int,
    days: Sequence[date],
    rows: dict[tuple[int, date], StationDay],
) -> None:
    """Replace the summary of `days` at a site by `rows` (stations no longer active lose
    theirs)."""
    connection.execute(
        delete(FreeTime).where(FreeTime.site_id == site_id, FreeTime.day.in_(list(days)))
    )
    if not rows:
        return
    values = [
        {
            "station_id": station,
            "day": day,
            "site_id": site_id,
            "open_minutes": row.open_minutes,
            "booked_minutes": row.booked_minutes,
            "longest_minutes": row.longest_minutes,
            "free_until_minutes": row.free_until_minutes,
        }
        for (station, day), row in rows.items()
    ]
    insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    statement = insert(FreeTime)
    # A concurrent change of the same day may have written the row since the delete.
    statement = statement.on_conflict_do_update(
        index_elements=[FreeTime.station_id, FreeTime.day],
        set_={
            "site_id": statement.excluded.site_id,
            "open_minutes": statement.excluded.open_minutes,
            "booked_minutes": statement.excluded.booked_minutes,
            "longest_minutes": statement.excluded.longest_minutes,
            "free_until_minutes": statement.excluded.free_until_minutes,
        },
    )
    connection.execute(statement, values)


# Windows: opened, moved on each day, rebuilt and checked


def _window_of(site: Site, today: date) -> tuple[date, date]:
    return today, today + timedelta(days=site.booking_horizon_days)


def _roll(session: Session, today: date | None, now: datetime, whole: bool) -> int:
    """Move every site's window to its today (`today`, else the site's own) and its
    booking horizon, working out the days it gains (every day with `whole`); days
    gone by lose their rows. How many days were worked out, all sites together."""
    connection = session.connection()
    windows = {row.site_id: row for row in session.scalars(select(FreeTimeWindow))}
    worked = 0
    for site in session.scalars(select(Site).order_by(Site.id)):
        zone = ZoneInfo(site.timezone)
        first, last = _window_of(site, today or now.astimezone(zone).date())
        window = windows.get(site.id)
        if window is None:
            window = FreeTimeWindow(site_id=site.id, first=first, last=last)
            session.add(window)
            days = day_range(first, last)
        elif whole or window.first > first:
            days = day_range(first, last)
        else:
            days = day_range(window.last + timedelta(days=1), last) if window.last < last else []
        _lock_days(connection, site.id, days)
        connection.execute(
            delete(FreeTime).where(
                FreeTime.site_id == site.id, (FreeTime.day < first) | (FreeTime.day > last)
            )
        )
        window.first, window.last = first, last
        session.flush()
        if days:
            _store(connection, site.id, days, worked_out(connection, site.id, zone, days))
            worked += len(days)
    return worked


async def roll(session: AsyncSession, now: datetime, *, today: date | None = None) -> int:
    """Each day (and at start): every window from today to the booking horizon. In the
    caller's writing transaction."""
    return await session.run_sync(lambda sync: _roll(sync, today, now, whole=False))


async def rebuild(session: AsyncSession, now: datetime, *, today: date | None = None) -> int:
    """Every window worked out again from what the database holds (after a bulk load, or
    to repair what `check` found). In the caller's writing transaction."""
    return await session.run_sync(lambda sync: _roll(sync, today, now, whole=True))


@dataclass(frozen=True)
class Difference:
    """A row of the summary that is not what the data gives (None: no row)."""

    site: str
    station_id: int
    day: date
    stored: StationDay | None
    expected: StationDay | None


def _check(session: Session) -> list[Difference]:
    connection = session.connection()
    differences = []
    query = select(FreeTimeWindow, Site).join(Site, Site.id == FreeTimeWindow.site_id)
    for window, site in session.execute(query).tuples():
        days = day_range(window.first, window.last)
        expected = worked_out(connection, site.id, ZoneInfo(site.timezone), days)
        rows = connection.execute(
            select(FreeTime)
            .join(Station, Station.id == FreeTime.station_id)
            .where(FreeTime.site_id == site.id, Station.active, FreeTime.day.in_(days))
        )
        stored = {
            (row.station_id, row.day): StationDay(
                row.open_minutes, row.booked_minutes, row.longest_minutes, row.free_until_minutes
            )
            for row in rows
        }
        for key in sorted(expected.keys() | stored.keys(), key=lambda item: (item[1], item[0])):
            if expected.get(key) != stored.get(key):
                differences.append(
                    Difference(site.slug, key[0], key[1], stored.get(key), expected.get(key))
                )
    return differences


async def check(session: AsyncSession) -> list[Difference]:
    """Every window worked out again in memory and compared with the stored summary (the
    rows of stations no longer active are left out: the search never reads them)."""
    return await session.run_sync(_check)
