"""What a writing transaction read of one site-day under that day's booking lock (a
booking's slot check: the day's hours, active stations, appointments and outages), kept
for the flush that follows: when that flush only adds appointments, the summary of free
time (`app.booking.free_time`) works the day out from this read and what was added,
instead of reading the same rows again. Any other change since, and the day is read
again."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app import locking
from app.booking.free_time_rules import StationDay, station_days
from app.booking.slots import Booked
from app.sites.hours import OpenDay, local_instant

_READ = "free_time_read"  # in a session's `info`: the last DayRead


@dataclass(frozen=True)
class DayRead:
    """What a writing transaction read of one site-day under that day's booking lock (a
    booking's slot check): the next flush that only adds appointments to that day works
    the day out from it, instead of reading the same rows again."""

    transaction: object
    site_id: int
    day: date
    hours: OpenDay
    stations: list[int]  # the active stations, sorted
    appointments: list[Booked]  # those that hold a station
    outages: list[Booked]


def read_of_day(
    session: AsyncSession,
    site_id: int,
    day: date,
    hours: OpenDay,
    stations: Iterable[int],
    appointments: list[Booked],
    outages: list[Booked],
) -> None:
    """Keep what was just read of a site-day for the flush that follows, if it was read
    under the day's lock (else another change could come between the read and the
    flush)."""
    sync = session.sync_session
    if not locking.holds(sync, *locking.day_locks(site_id, day)):
        return
    sync.info[_READ] = DayRead(
        sync.get_transaction(), site_id, day, hours, sorted(stations), appointments, outages
    )


def usable_read(session: Session, *, only_added: bool) -> DayRead | None:
    """The day this transaction read, if the flush under way `only_added` appointments
    (and nothing flushed since the read: the read is given to one flush at most)."""
    read: DayRead | None = session.info.pop(_READ, None)
    if read is None or not only_added or read.transaction is not session.get_transaction():
        return None
    return read


def from_read(
    read: DayRead, added: list[Booked], zone: ZoneInfo
) -> dict[tuple[int, date], StationDay]:
    """The day's rows of the summary from what was read of it and the appointments the
    flush `added` to it."""
    bounds = (
        local_instant(read.day, time(0), zone),
        local_instant(read.day + timedelta(days=1), time(0), zone),
    )
    return station_days(
        [read.hours], read.stations, read.appointments + added, read.outages, [bounds]
    )
