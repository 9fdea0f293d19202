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

from sqlalchemy import delete, event, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import get_history

from app import locking
from app.booking.free_time_reads import from_read, usable_read
from app.booking.free_time_rules import StationDay, day_range, station_days
from app.booking.models import RELEASED, Appointment, FreeTime, FreeTimeWindow
from app.booking.slots import Booked
from app.db import Database
from app.sites.hours import local_instant
from app.sites.models import (
    Closure,
    HoursException,
    Site,
    Station,
    StationOutage,
    WeeklyHours,
)
from app.sites.service import calendar_parameters, calendar_query, calendars_from

_NOTICED = "free_time_noticed"
_MOVES = ("starts_at", "ends_at", "station_id", "site_id")


@dataclass
class Marks:
    """What a flush changed: sites to redo whole, appointments' starts by site (their
    local days are known once the site's time zone is read), dated days by site, and the
    periods of closures (by site) and outages (by station: its site is read after)."""

    whole: set[int] = field(default_factory=set)
    starts: dict[int, set[datetime]] = field(default_factory=dict)
    days: dict[int, set[date]] = field(default_factory=dict)
    # Closures by site and outages by station: (kind, id, from, until); their days only.
    periods: list[tuple[str, int, datetime, datetime]] = field(default_factory=list)
    later: list[tuple[str, Any]] = field(default_factory=list)  # new rows: ids after flush

    def __bool__(self) -> bool:
        return bool(self.whole or self.starts or self.days or self.periods or self.later)


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
        kinds: dict[type, str] = {
            StationOutage: "outage",
            Closure: "closure",
            HoursException: "day",
        }
        marks.later.append((kinds.get(type(row), "site"), row))
    elif isinstance(row, StationOutage | Closure):
        # Only the days of the period, before the change and after it, move.
        kind, owner = (
            ("station", "station_id") if isinstance(row, StationOutage) else ("site", "site_id")
        )
        since, until = min(_values(row, "starts_at")), max(_values(row, "ends_at"))
        for owner_id in _values(row, owner):
            marks.periods.append((kind, owner_id, since, until))
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
    # Before the new rows are marked: whether this flush only adds appointments.
    changed = marks.whole or marks.starts or marks.days or marks.periods
    only_new = all(kind == "appointment" for kind, _row in marks.later)
    read = usable_read(session, only_added=only_new and not changed)
    for kind, row in marks.later:  # rows inserted by this flush have their ids now
        if kind == "appointment":
            marks.starts.setdefault(row.site_id, set()).add(row.starts_at)
        elif kind == "site":
            marks.whole.add(row.site_id)
        elif kind == "outage":
            marks.periods.append(("station", row.station_id, row.starts_at, row.ends_at))
        elif kind == "closure":
            marks.periods.append(("site", row.site_id, row.starts_at, row.ends_at))
        else:
            marks.days.setdefault(row.site_id, set()).add(row.day)
    connection = session.connection()
    stations = {owner for kind, owner, _, _ in marks.periods if kind == "station"}
    site_of: dict[int, int] = {}
    if stations:
        query = select(Station.id, Station.site_id).where(Station.id.in_(stations))
        site_of = {row[0]: row[1] for row in connection.execute(query)}
    periods: dict[int, list[tuple[datetime, datetime]]] = {}
    for kind, owner, since, until in marks.periods:
        site = site_of.get(owner) if kind == "station" else owner
        if site is not None:
            periods.setdefault(site, []).append((since, until))
    touched = marks.whole | marks.starts.keys() | marks.days.keys() | periods.keys()
    windows = _windows(connection, touched)
    for site_id in sorted(touched):
        window = windows.get(site_id)
        if window is None:
            continue
        first, last, zone = window
        if site_id in marks.whole:
            days = day_range(first, last)
        else:
            wanted = {start.astimezone(zone).date() for start in marks.starts.get(site_id, ())}
            wanted |= marks.days.get(site_id, set())
            for since, until in periods.get(site_id, ()):
                wanted.update(day_range(since.astimezone(zone).date(), _last_day(until, zone)))
            days = sorted(day for day in wanted if first <= day <= last)
        # The days' booking locks, as a booking takes them (held already by the command
        # in most cases): two changes of one day work it out one after the other, so
        # that neither writes a count that leaves out the other's change.
        _lock_days(session, connection, site_id, days)
        if not days:
            continue
        if read is not None and read.site_id == site_id and days == [read.day]:
            added = [row for _kind, row in marks.later if row.site_id == site_id]
            rows = from_read(
                read, [Booked(a.station_id, a.starts_at, a.ends_at) for a in added], zone
            )
        else:
            rows = worked_out(connection, site_id, zone, days)
        _store(connection, site_id, days, rows)


def _last_day(until: datetime, zone: ZoneInfo) -> date:
    """The local day of the last instant before `until` (a period ends at its `until`)."""
    return (until - timedelta(microseconds=1)).astimezone(zone).date()


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


def _lock_days(
    session: Session, connection: Connection, site_id: int, days: Sequence[date]
) -> None:
    """A change that redoes a whole window waits for the bookings of its days (and they
    for it), so that no booking's count of a day is overwritten by an older one."""
    keys = locking.day_locks(site_id, *days)
    locking.lock_in(session, connection, keys)


def worked_out(
    connection: Connection, site_id: int, zone: ZoneInfo, days: Sequence[date]
) -> dict[tuple[int, date], StationDay]:
    """The summary's rows of `days` (sorted) at a site, from what the database holds."""
    first, last = days[0], days[-1]
    starts = local_instant(first, time(0), zone)
    ends = local_instant(last + timedelta(days=1), time(0), zone)
    zones = {site_id: zone}
    rows = connection.execute(calendar_query(), calendar_parameters(zones, first, last))
    calendar = calendars_from(rows, zones)[site_id]
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


def _roll(
    session: Session,
    today: date | None,
    now: datetime,
    whole: bool,
    site_ids: Sequence[int] | None = None,
) -> int:
    """Move the windows of `site_ids` (every site's by default) to the site's today
    (`today`, else its own) and booking horizon, working out the days each gains (every
    day with `whole`); days gone by lose their rows. How many days were worked out."""
    connection = session.connection()
    sites = select(Site).order_by(Site.id)
    windows = select(FreeTimeWindow)
    if site_ids is not None:
        sites = sites.where(Site.id.in_(site_ids))
        windows = windows.where(FreeTimeWindow.site_id.in_(site_ids))
    opened = {row.site_id: row for row in session.scalars(windows)}
    worked = 0
    for site in list(session.scalars(sites)):
        zone = ZoneInfo(site.timezone)
        first, last = _window_of(site, today or now.astimezone(zone).date())
        window = opened.get(site.id)
        if window is None:
            window = FreeTimeWindow(site_id=site.id, first=first, last=last)
            session.add(window)
            days = day_range(first, last)
        elif whole or window.first > first:
            days = day_range(first, last)
        else:
            days = day_range(window.last + timedelta(days=1), last) if window.last < last else []
        _lock_days(session, connection, site.id, days)
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
    """Every window from today to the booking horizon, in the caller's writing
    transaction (a few sites: the demo's)."""
    return await session.run_sync(lambda sync: _roll(sync, today, now, whole=False))


async def rebuild(session: AsyncSession, now: datetime, *, today: date | None = None) -> int:
    """Every window worked out again from what the database holds, in the caller's
    writing transaction (a few sites: tests)."""
    return await session.run_sync(lambda sync: _roll(sync, today, now, whole=True))


async def roll_all(db: Database, now: datetime, *, whole: bool = False) -> int:
    """Each hour (and at start): every site's window moved on to its today and horizon,
    each site in a transaction of its own, so that a network of thousands of sites never
    holds thousands of days' locks at once; with `whole`, every day worked out again
    (after a bulk load, or to repair what `check` found)."""
    async with db.session() as session:
        site_ids = list(await session.scalars(select(Site.id).order_by(Site.id)))
    worked = 0
    for site_id in site_ids:
        async with db.writing() as session:
            worked += await session.run_sync(_roll, None, now, whole, [site_id])
    return worked


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
    for window, site in session.execute(query):
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
    rows of stations no longer active are left out: the search never reads them).

    It reads one snapshot, in a transaction of its own: under READ COMMITTED, the hourly
    roll or a booking committed between its reads of a window, of the data and of the
    rows would show as a difference that is not one. A SQLite read transaction is a
    snapshot already."""
    if session.in_transaction():
        await session.commit()
    if session.get_bind().dialect.name == "postgresql":
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    return await session.run_sync(_check)
