"""The same change sent twice at the same moment (a double click, two agents, two
instances), on both databases: the second waits for the first and answers as it would
have after it, never a server error. The first is done by another transaction held open
until the second waits for it (`tests.same_moment`)."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.booking.models import Appointment
from app.db import Database, writing
from app.sites.models import Site, Station
from app.visits.models import Department
from app.waitlist.models import Wish
from tests.conftest import Clock, Staff
from tests.same_moment import at_the_same_moment

STATIONS = "/api/v1/admin/sites/paris-15/stations"


async def paris_15(session: AsyncSession) -> int:
    return await session.scalar(select(Site.id).where(Site.slug == "paris-15")) or 0


def station_added(name: str) -> Any:
    """Another request adding a station called `name` to paris-15, as `add_station` does:
    under the site's row lock."""

    async def add(session: AsyncSession) -> None:
        site = await paris_15(session)
        await session.execute(update(Site).where(Site.id == site).values(name=Site.name))
        session.add(
            Station(
                site_id=site, name=name, kind="standard", accessible=False, active=True, position=9
            )
        )

    return add


async def stations_called(db: Database, name: str) -> int:
    async with db.session() as session:
        folded = func.lower(Station.name) == name.lower()
        return await session.scalar(select(func.count()).where(folded)) or 0


@pytest.mark.parametrize("name", ["Poste Dup", "poste dup"])
async def test_a_station_added_twice_at_once_is_added_once(
    client: AsyncTestClient[object], staff: Staff, db: Database, name: str
) -> None:
    """Before, both found the name free and the second broke the unique key (a 500), or,
    differing by case only, which the unique key does not tell apart but the names'
    check does (`_station_name`), both went in."""
    admin = await staff.headers("manager", "paris-15")
    body = {"name": name, "kind": "standard", "accessible": True}

    with at_the_same_moment(db, station_added("Poste Dup")):
        second = await client.post(STATIONS, json=body, headers=admin)

    assert second.status_code == 409, second.text
    assert second.json()["code"] == "station_name_taken"
    assert await stations_called(db, "Poste Dup") == 1


async def test_a_station_renamed_as_another_is_added_at_once_is_refused(
    client: AsyncTestClient[object], staff: Staff, db: Database
) -> None:
    admin = await staff.headers("manager", "paris-15")
    (first, *_rest) = (await client.get(STATIONS, headers=admin)).json()

    with at_the_same_moment(db, station_added("Poste Dup")):
        renamed = await client.patch(
            f"{STATIONS}/{first['id']}", json={"name": "Poste Dup"}, headers=admin
        )

    assert renamed.status_code == 409, renamed.text
    assert renamed.json()["code"] == "station_name_taken"
    assert await stations_called(db, "Poste Dup") == 1


async def test_a_department_added_twice_at_once_is_refused_as_when_one_after_the_other(
    client: AsyncTestClient[object], staff: Staff, db: Database
) -> None:
    admin = await staff.headers("admin")
    body = {"code": "dupdep", "name": "Dup dép", "answer_days": 5}

    async def add(session: AsyncSession) -> None:
        session.add(Department(code="dupdep", name="Dup dép", answer_days=5, position=100))

    with at_the_same_moment(db, add):
        second = await client.post("/api/v1/departments", json=body, headers=admin)
    after = await client.post("/api/v1/departments", json=body, headers=admin)

    assert second.status_code == 409, second.text
    assert second.json()["detail"] == after.json()["detail"]
    assert after.status_code == 409


async def test_an_earlier_slot_asked_twice_at_once_is_one_wish(
    client: AsyncTestClient[object], db: Database, clock: Clock
) -> None:
    """Asked again, the day changes and the place in line is kept: at the same moment too,
    where the second broke the unique key of the appointment's wish (a 500)."""
    clock.set("2026-12-01 09:00")
    booked = await client.post(
        "/api/v1/appointments",
        json={
            "site": "paris-15",
            "service": "caf",
            "start": "2026-12-10T10:00:00+01:00",
            "name": "Ada Lovelace",
            "email": "ada@example.org",
        },
    )
    assert booked.status_code == 201, booked.text
    token = booked.json()["token"]

    async def ask(session: AsyncSession) -> None:
        appointment = await session.scalar(
            select(Appointment).where(Appointment.reference == booked.json()["reference"])
        )
        assert appointment is not None
        session.add(
            Wish(appointment_id=appointment.id, site_id=appointment.site_id, created_at=clock())
        )

    with at_the_same_moment(db, ask):
        second = await client.post(
            f"/api/v1/appointments/{token}/waitlist", json={"before": "2026-12-09"}
        )
    async with db.session() as session:
        wishes = list(await session.scalars(select(Wish)))

    assert second.status_code == 201, second.text
    assert second.json()["before"] == "2026-12-09"
    assert second.json()["since"] == "2026-12-01T09:00:00+01:00"  # the first one's
    assert [wish.before.isoformat() if wish.before else None for wish in wishes] == ["2026-12-09"]


async def test_a_unique_key_taken_at_the_same_moment_anywhere_is_a_409_not_a_500(
    client: AsyncTestClient[object], staff: Staff, db: Database, monkeypatch: Any
) -> None:
    """What no command foresaw: a unique key broken by the database, on either, is the
    client's 409 in plain words, not a server error."""
    from app.visits import commands

    async def breaks_a_unique_key(session: AsyncSession, *_args: Any, **_kwargs: Any) -> None:
        async with writing(session):
            session.add(Department(code="caf", name="Encore", answer_days=5, position=1))
            await session.flush()
        raise AssertionError("the key was not taken")

    monkeypatch.setattr(commands, "add_department", breaks_a_unique_key)
    admin = await staff.headers("admin")
    body = {"code": "nouveau", "name": "Nouveau", "answer_days": 5}

    answer = await client.post("/api/v1/departments", json=body, headers=admin)

    assert answer.status_code == 409, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == "changed_meanwhile"
