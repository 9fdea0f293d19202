"""No overbooking, whatever the concurrency: races through the API on both databases,
and on PostgreSQL the database's own guard."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from datetime import datetime
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from app.asgi import create_app
from app.booking.models import Appointment
from app.booking.slots import Slot, SlotFinder
from app.db import Database, token_digest
from tests.conftest import Clock, desks, make_settings

SLOT = "2026-12-01T10:00:00+01:00"
# Bookings in flight at once: as many as the pool (20 + 20) serves without a request
# waiting past its timeout. More at once is an overload, answered 503 (tests/hostile).
CONCURRENT = 40


@pytest.fixture
def racing_app(database_url: str, clock: Clock) -> Litestar:
    """An app where one address may book as often as a race needs; its tests reach it
    through `desks`, whose requests really run at the same time."""
    clock.set("2026-11-30 08:00")
    # The races are judged on what they decide, not on how fast: a busy shared machine
    # must not turn a long wait for a connection into a 503 (overload: tests/hostile).
    settings = make_settings(
        database_url,
        booking_requests_per_minute=100_000,
        database_pool_size=20,
        database_timeout_seconds=60,
    )
    return create_app(settings, clock=clock)


async def stations_of(
    client: httpx.AsyncClient | AsyncTestClient[object], site: str
) -> list[dict[str, Any]]:
    stations: list[dict[str, Any]] = (await client.get(f"/api/v1/sites/{site}")).json()["stations"]
    return stations


def body(number: int, start: str = SLOT, service: str = "caf") -> dict[str, Any]:
    return {
        "site": "paris-15",
        "service": service,
        "start": start,
        "name": f"Usager {number}",
        "email": f"racer{number}@example.org",
    }


async def live_appointments(db: Database) -> list[Appointment]:
    async with db.session() as session:
        rows = await session.scalars(
            select(Appointment).where(Appointment.status != "cancelled").order_by(Appointment.id)
        )
        return list(rows)


def assert_no_station_is_held_twice_at_once(appointments: list[Appointment]) -> None:
    by_station: dict[int, list[Appointment]] = {}
    for appointment in appointments:
        by_station.setdefault(appointment.station_id, []).append(appointment)
    for held in by_station.values():
        held.sort(key=lambda a: a.starts_at)
        for earlier, later in itertools.pairwise(held):
            assert earlier.ends_at <= later.starts_at


async def test_forty_people_racing_for_one_slot_get_it_once_per_station(
    racing_app: Litestar, db: Database
) -> None:
    async with desks(racing_app) as (racing_client,):
        suitable = len(await stations_of(racing_client, "paris-15"))

        responses = await asyncio.gather(
            *(racing_client.post("/api/v1/appointments", json=body(n)) for n in range(CONCURRENT))
        )

        statuses = Counter(response.status_code for response in responses)
        assert statuses == {201: suitable, 409: CONCURRENT - suitable}
        winners = [response.json() for response in responses if response.status_code == 201]
        assert len({winner["station"]["id"] for winner in winners}) == suitable
        assert {
            response.json()["reason"] for response in responses if response.status_code == 409
        } == {"taken"}
        stored = await live_appointments(db)
        assert len(stored) == suitable
        assert_no_station_is_held_twice_at_once(stored)


async def test_a_double_slot_race_is_won_only_by_the_double_stations(
    racing_app: Litestar, db: Database
) -> None:
    async with desks(racing_app) as (racing_client,):
        doubles = [s for s in await stations_of(racing_client, "paris-15") if s["kind"] == "double"]

        responses = await asyncio.gather(
            *(
                racing_client.post("/api/v1/appointments", json=body(n, service="logement"))
                for n in range(60)
            )
        )

        winners = [r.json() for r in responses if r.status_code == 201]
        assert len(winners) == len(doubles)
        assert {w["station"]["id"] for w in winners} == {s["id"] for s in doubles}
        assert Counter(r.status_code for r in responses)[409] == 60 - len(doubles)
        assert_no_station_is_held_twice_at_once(await live_appointments(db))


async def test_concurrent_reschedules_into_one_slot_fill_it_once_per_station(
    racing_app: Litestar, db: Database
) -> None:
    async with desks(racing_app) as (racing_client,):
        suitable = len(await stations_of(racing_client, "paris-15"))
        starts = [
            f"2026-12-0{day}T{hour:02d}:00:00+01:00" for day in (2, 3, 4) for hour in range(9, 16)
        ]
        tokens = []
        for number, start in enumerate(starts):
            created = await racing_client.post("/api/v1/appointments", json=body(number, start))
            assert created.status_code == 201, created.text
            tokens.append(created.json()["token"])

        responses = await asyncio.gather(
            *(
                racing_client.post(f"/api/v1/appointments/{token}/reschedule", json={"start": SLOT})
                for token in tokens
            )
        )

        statuses = Counter(response.status_code for response in responses)
        assert statuses == {200: suitable, 409: len(tokens) - suitable}
        stored = await live_appointments(db)
        assert len(stored) == len(tokens)
        in_the_slot = [a for a in stored if a.starts_at == datetime.fromisoformat(SLOT)]
        assert len(in_the_slot) == suitable
        assert_no_station_is_held_twice_at_once(stored)


async def test_cancel_and_reschedule_of_one_appointment_racing_leave_one_consistent_state(
    racing_app: Litestar, db: Database
) -> None:
    async with desks(racing_app) as (racing_client,):
        booked = (await racing_client.post("/api/v1/appointments", json=body(1))).json()
        token, new_start = booked["token"], "2026-12-02T10:00:00+01:00"

        cancelled, moved = await asyncio.gather(
            racing_client.post(f"/api/v1/appointments/{token}/cancel"),
            racing_client.post(
                f"/api/v1/appointments/{token}/reschedule", json={"start": new_start}
            ),
        )

        assert cancelled.status_code == 200
        final = (await racing_client.get(f"/api/v1/appointments/{token}")).json()
        assert final["status"] == "cancelled"
        # Whichever came first: moved then cancelled at its new time, or cancelled where it was
        # and the move refused.
        if moved.status_code == 200:
            assert (moved.json()["start"], moved.json()["status"]) == (new_start, "booked")
            assert final["start"] == new_start
        else:
            assert moved.status_code == 409, moved.text
            assert final["start"] == booked["start"]
        async with db.session() as session:
            count = await session.scalar(text("SELECT count(*) FROM appointments"))
        assert count == 1


@pytest.mark.postgresql
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_postgresql_refuses_overlapping_appointments_written_behind_the_apps_back(
    db: Database,
) -> None:
    async with db.session() as session:
        ids = (
            await session.execute(
                text(
                    "SELECT sites.id, stations.id, services.id FROM sites "
                    "JOIN stations ON stations.site_id = sites.id, services "
                    "WHERE sites.slug = 'paris-15' LIMIT 1"
                )
            )
        ).one()
    insert = text(
        "INSERT INTO appointments (reference, token, token_digest, site_id, station_id, "
        "service_id, starts_at, ends_at, status, channel, name, email, needs, reminders_by_email, "
        "reminders_by_sms, sequence, created_at, updated_at) "
        "VALUES (:ref, :tok, :digest, :site, :station, :service, "
        ":start, :end, :status, 'online', 'X', 'x@example.org', '[]', false, false, 0, "
        "now(), now())"
    )

    def row(ref: str, start: str, end: str, status: str = "booked") -> dict[str, Any]:
        return {
            "ref": ref,
            "tok": ref * 4,
            "digest": token_digest(ref * 4),
            "site": ids[0],
            "station": ids[1],
            "service": ids[2],
            "start": datetime.fromisoformat(start),
            "end": datetime.fromisoformat(end),
            "status": status,
        }

    async with db.writing() as session:
        await session.execute(insert, row("A1", "2026-12-01T10:00+01:00", "2026-12-01T10:30+01:00"))
        await session.execute(
            insert, row("A2", "2026-12-01T10:00+01:00", "2026-12-01T10:30+01:00", "cancelled")
        )
        await session.execute(insert, row("A3", "2026-12-01T10:30+01:00", "2026-12-01T11:00+01:00"))
    with pytest.raises(IntegrityError, match="no_overlap"):
        async with db.writing() as session:
            await session.execute(
                insert, row("A4", "2026-12-01T10:15+01:00", "2026-12-01T10:45+01:00")
            )


@pytest.mark.postgresql
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_when_the_python_check_is_bypassed_the_constraint_still_stops_a_double_booking(
    racing_app: Litestar, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with desks(racing_app) as (racing_client,):
        station = (await stations_of(racing_client, "paris-15"))[0]["id"]
        start = datetime.fromisoformat(SLOT)

        def always_free(self: SlotFinder, when: datetime) -> Slot:
            return Slot(when, when + self.need.length, (station,))

        monkeypatch.setattr(SlotFinder, "check", always_free)
        responses = await asyncio.gather(
            *(racing_client.post("/api/v1/appointments", json=body(n)) for n in range(20))
        )

        assert Counter(r.status_code for r in responses) == {201: 1, 409: 19}
        stored = await live_appointments(db)
        assert [(a.station_id, a.starts_at) for a in stored] == [(station, start)]
