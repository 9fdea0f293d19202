"""Availability read from the database equals the brute-force reference, on both
databases: generated days stored as sites, stations, weekly hours or dated exceptions,
closures, outages and appointments (cancelled ones too), then read back through the
booking service that builds the slot engine from those rows (naive datetimes converted
on SQLite, aware ones on PostgreSQL)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import time, timedelta

import holidays
import pytest
from hypothesis import HealthCheck, example, given, settings

from app.booking.finders import slot_finder
from app.booking.models import Appointment
from app.booking.queries import (
    free_slots,
    get_needs,
    get_service,
    requirement_of,
)
from app.booking.slots import Slot
from app.db import Database
from app.sites.models import (
    Closure,
    HoursException,
    Need,
    Service,
    Site,
    Station,
    StationOutage,
    WeeklyHours,
)
from app.sites.service import get_site
from tests.unit.test_slots_oracle import (
    AUTUMN_WEEKEND,
    AUTUMN_WEEKEND_FULL,
    MINUTE,
    Reference,
    World,
    worlds,
)

SITES = itertools.count(1)
HOLDING = ("booked", "checked_in", "served", "no_show")
RELEASED = ("cancelled", "called_off")
FRENCH_HOLIDAYS = holidays.country_holidays("FR", years=range(2026, 2028))


@pytest.fixture
async def empty_db(empty_database_url: str) -> AsyncIterator[Database]:
    database = Database(empty_database_url)
    yield database
    await database.dispose()


def clock(minute_of_day: int) -> time:
    return time(*divmod(minute_of_day, 60))


async def store(
    db: Database, world: World, number: int
) -> tuple[str, tuple[str, ...], dict[int, int]]:
    """The world as a site of its own: its slug (also its service's code), its need codes
    and its stations' places in the world by database id.
    Open days alternate between weekly hours and dated exceptions (a public holiday
    always the latter), closed ones between no hours and a dated closing."""
    slug = f"oracle-{number}"
    async with db.writing() as session:
        site = Site(
            slug=slug,
            name=f"Mairie oracle {number}",
            address="Place de l'Hôtel de Ville",
            timezone="Europe/Paris",
            walk_in_percent=world.percent,
            booking_min_notice_minutes=world.notice // MINUTE,
            booking_horizon_days=world.horizon.days,
        )
        session.add(site)
        await session.flush()
        stations = {}
        for place in sorted(world.stations, key=lambda place: place.id):
            # One at a time, so that the database's ids keep the places' order.
            station = Station(
                site_id=site.id,
                name=f"Poste {place.id}",
                kind=place.kind,
                accessible=place.accessible,
                position=place.position,
            )
            session.add(station)
            await session.flush()
            stations[place.id] = station.id
        places = {station: place for place, station in stations.items()}
        retired = Station(
            site_id=site.id, name="Poste retiré", kind="double", accessible=True, active=False
        )
        session.add(retired)
        await session.flush()
        for index, (day, ranges) in enumerate(world.hours):
            weekly = (number + index) % 2 == 0 and day not in FRENCH_HOLIDAYS
            if not ranges and not weekly:
                session.add(HoursException(site_id=site.id, day=day, reason="Fermeture"))
            for opens, closes in ranges:
                if weekly:
                    session.add(
                        WeeklyHours(
                            site_id=site.id,
                            weekday=day.weekday(),
                            opens=clock(opens),
                            closes=clock(closes),
                        )
                    )
                else:
                    session.add(
                        HoursException(
                            site_id=site.id,
                            day=day,
                            opens=clock(opens),
                            closes=clock(closes),
                            reason="Horaires du jour",
                        )
                    )
        for starts, ends in world.closures:
            session.add(Closure(site_id=site.id, starts_at=starts, ends_at=ends, reason="Travaux"))
        for span in world.outages:
            session.add(
                StationOutage(
                    station_id=stations[span.station], starts_at=span.starts, ends_at=span.ends
                )
            )
        first_day = world.days[0]
        session.add(
            StationOutage(
                station_id=retired.id,
                starts_at=world.now - timedelta(days=3),
                ends_at=world.now + timedelta(days=3),
            )
        )
        service = Service(
            code=slug,
            name=f"Démarche {number}",
            duration_minutes=world.duration,
            station_kind="double" if world.service_double else "standard",
        )
        needs = [
            Need(
                code=f"{slug}-{index}",
                name=f"Besoin {index}",
                extra_minutes=need.extra_minutes,
                station_kind="double" if need.double else None,
                requires_accessible=need.accessible,
            )
            for index, need in enumerate(world.needs)
        ]
        session.add_all([service, *needs])
        await session.flush()
        holding = [(span, HOLDING[n % len(HOLDING)]) for n, span in enumerate(world.bookings)]
        released = [(span, RELEASED[n % len(RELEASED)]) for n, span in enumerate(world.released)]
        for n, (span, status) in enumerate(holding + released):
            session.add(
                Appointment(
                    reference=f"OR{number}-{n}",
                    token=f"oracle-{number}-{n}-{first_day.isoformat()}",
                    site_id=site.id,
                    station_id=stations[span.station],
                    service_id=service.id,
                    starts_at=span.starts,
                    ends_at=span.ends,
                    status=status,
                    name="Usager de test",
                    email=f"usager{n}@example.org",
                )
            )
    return slug, tuple(need.code for need in needs), places


def by_place(slot: Slot, places: dict[int, int]) -> Slot:
    """The slot with the stations' database ids turned back into the world's."""
    return Slot(slot.start, slot.end, tuple(places[station] for station in slot.station_ids))


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@example(world=AUTUMN_WEEKEND)
@example(world=AUTUMN_WEEKEND_FULL)
@given(world=worlds(database=True))
async def test_availability_read_from_the_database_is_exactly_what_the_reference_finds(
    empty_db: Database, world: World
) -> None:
    reference = Reference(world)
    slug, need_codes, places = await store(empty_db, world, next(SITES))
    first, last = world.days[0], world.days[-1]

    async with empty_db.session() as session:
        site = await get_site(session, slug)
        slots = await free_slots(session, site, slug, need_codes, first, last, world.now)
        service, needs = await get_service(session, slug), await get_needs(session, need_codes)
        need = requirement_of(service, needs)
        finder = await slot_finder(session, site, need, first, last, world.now)

    assert [by_place(slot, places) for slot in slots] == reference.slots()
    for day in world.days:
        # Every grid start, and 10:00 and 10:07 (off the grid, or closed), of each day.
        for minute in [
            *reference.grid(day),
            reference.midnights[day] + 600,
            reference.midnights[day] + 607,
        ]:
            start = reference.at(minute)
            outcome = finder.check(start)
            if isinstance(outcome, Slot):
                outcome = by_place(outcome, places)
            assert outcome == reference.check(start), start
