"""A booking works its day's summary of free time out from what its slot check read
(`app/booking/free_time_reads.py`), on both databases: the day is not read a second
time, the summary agrees with the data, and a change made between the read and the
booking in the same transaction (an outage of that day) makes the day read again, so
the summary does not lose it; advisory locks a transaction holds are not asked for again
(`app/locking.py`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import event, select
from sqlalchemy.engine import Engine

from app import locking
from app.booking import free_time
from app.booking.commands import new_token
from app.booking.finders import slot_finder
from app.booking.models import Appointment, AppointmentStatus, FreeTime
from app.booking.queries import get_needs, get_service, requirement_of
from app.db import Database, writing
from app.sites.hours import local_instant
from app.sites.models import Service, Site, Station, StationOutage
from tests.conftest import Clock

THURSDAY = date(2026, 12, 3)  # the 15e opens 08:30-19:30 on Thursdays
PARIS = ZoneInfo("Europe/Paris")
# What a statement reading the appointments holding a site's stations over some days says
# (alone, or as a part of the slot engine's one reading).
DAYS_APPOINTMENTS = ("appointments.station_id", "FROM appointments", "appointments.ends_at >")


class Statements:
    def __init__(self) -> None:
        self.made: list[str] = []

    def __call__(self, *args: Any) -> None:
        self.made.append(str(args[2]))

    def reading_the_days_appointments(self) -> int:
        return sum(all(part in made for part in DAYS_APPOINTMENTS) for made in self.made)

    def advisory_locks(self) -> int:
        return sum("pg_advisory_xact_lock" in statement for statement in self.made)


@pytest.fixture
def statements() -> Iterator[Statements]:
    listener = Statements()
    event.listen(Engine, "before_cursor_execute", listener)
    yield listener
    event.remove(Engine, "before_cursor_execute", listener)


@pytest.fixture(autouse=True)
def monday_morning(clock: Clock) -> None:
    clock.set("2026-11-30 08:00")


def at(hour: int, minute: int = 0) -> datetime:
    return local_instant(THURSDAY, datetime.min.time().replace(hour=hour, minute=minute), PARIS)


async def differences(db: Database) -> list[free_time.Difference]:
    async with db.session() as session:
        return await free_time.check(session)


async def test_a_booking_does_not_read_its_day_a_second_time_for_the_summary(
    client: AsyncTestClient[object], db: Database, statements: Statements
) -> None:
    body = {
        "site": "paris-15",
        "service": "caf",
        "start": at(10).isoformat(),
        "name": "Rosalie Vernet",
        "email": "rosalie@example.org",
    }
    statements.made.clear()
    booked = await client.post("/api/v1/appointments", json=body)

    assert booked.status_code == 201, booked.text
    assert statements.reading_the_days_appointments() == 1  # the slot check's, alone
    assert await differences(db) == []


async def test_an_outage_flushed_between_the_read_and_the_booking_is_not_lost(
    db: Database, clock: Clock, statements: Statements
) -> None:
    """In one transaction: the day read under its lock, then an outage of one station that
    morning, then an appointment at another station. The outage's flush works the day out
    again; the appointment's may not use the read made before it."""
    now = clock()
    async with db.session() as session:
        site = await session.scalar(select(Site).where(Site.slug == "paris-15"))
        assert site is not None
        need = requirement_of(await get_service(session, "caf"), await get_needs(session, ()))
        service = await session.scalar(select(Service).where(Service.code == "caf"))
        assert service is not None
        async with writing(session):
            key = locking.lock_key(locking.Scope.BOOKING_DAY, site.id, THURSDAY)
            await locking.lock(session, [key])
            await slot_finder(session, site, need, THURSDAY, THURSDAY, now)
            stations = list(
                await session.scalars(
                    select(Station.id)
                    .where(Station.site_id == site.id, Station.active)
                    .order_by(Station.id)
                )
            )
            session.add(StationOutage(station_id=stations[0], starts_at=at(9), ends_at=at(12)))
            await session.flush()
            statements.made.clear()
            session.add(
                Appointment(
                    token=new_token(),
                    reference="P15-TEST-0001",
                    site_id=site.id,
                    station_id=stations[1],
                    service_id=service.id,
                    starts_at=at(10),
                    ends_at=at(10, 30),
                    status=AppointmentStatus.BOOKED,
                    channel="phone",
                    name="Rosalie Vernet",
                    email="rosalie@example.org",
                    needs=[],
                    created_at=now,
                    updated_at=now,
                )
            )
            await session.flush()
            read_again = statements.reading_the_days_appointments()

    async with db.session() as session:
        rows = {
            row.station_id: row
            for row in await session.scalars(
                select(FreeTime).where(FreeTime.site_id == site.id, FreeTime.day == THURSDAY)
            )
        }
    assert read_again == 1
    assert rows[stations[0]].open_minutes == 660 - 180  # the outage's three hours
    assert rows[stations[1]].booked_minutes == 30
    assert await differences(db) == []


async def test_a_lock_held_is_not_asked_for_again_and_several_come_in_one_statement(
    db: Database, statements: Statements
) -> None:
    keys = [
        locking.lock_key(locking.Scope.BOOKING_DAY, 1, THURSDAY + timedelta(days=n))
        for n in range(3)
    ]
    async with db.writing() as session:
        statements.made.clear()
        await locking.lock(session, keys)
        await locking.lock(session, keys[:2])
        held = [locking.holds(session.sync_session, key) for key in keys]
        async with session.begin_nested():  # a savepoint's own lock may be let go with it
            await locking.lock(session, [locking.lock_key(locking.Scope.QUEUE, 1)])
        inside = locking.holds(session.sync_session, locking.lock_key(locking.Scope.QUEUE, 1))
        made = statements.advisory_locks()
    async with db.writing() as session:  # a new transaction holds nothing yet
        statements.made.clear()
        await locking.lock(session, keys[:1])
        again = statements.advisory_locks()

    if db.is_sqlite:  # the writing transaction holds the database: nothing to take
        assert (made, again, held, inside) == (0, 0, [True] * 3, True)
    else:
        assert (made, again, held, inside) == (2, 1, [True] * 3, False)
