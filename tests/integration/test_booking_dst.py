"""Daylight saving time through the API, on both databases: the offsets in responses,
no slot in the missing spring hour, and the repeated autumn hour never sold twice."""

from __future__ import annotations

from collections import Counter
from datetime import time

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from app.db import Database
from app.sites.models import Site, WeeklyHours
from tests.conftest import Clock


async def open_on_sunday_nights(db: Database) -> None:
    """The 15e opens on Sunday from midnight to six: a night that crosses each DST change."""
    async with db.writing() as session:
        site = await session.scalar(select(Site).where(Site.slug == "paris-15"))
        assert site is not None
        session.add(WeeklyHours(site_id=site.id, weekday=6, opens=time(0), closes=time(6)))


async def availability(client: AsyncTestClient[object], first: str, last: str) -> list[str]:
    response = await client.get(
        "/api/v1/sites/paris-15/availability",
        params={"service": "caf", "from": first, "to": last},
    )
    assert response.status_code == 200, response.text
    return [slot["start"] for slot in response.json()["slots"]]


async def test_slots_carry_winter_then_summer_offsets_around_the_march_change(
    client: AsyncTestClient[object], clock: Clock
) -> None:
    clock.set("2027-03-20 09:00")

    starts = await availability(client, "2027-03-26", "2027-03-30")

    assert starts[0] == "2027-03-26T08:30:00+01:00"
    assert "2027-03-30T08:30:00+02:00" in starts
    assert not [start for start in starts if start.startswith("2027-03-29")]


async def test_no_slot_starts_in_the_missing_hour_of_the_last_sunday_of_march(
    client: AsyncTestClient[object], clock: Clock, db: Database
) -> None:
    await open_on_sunday_nights(db)
    clock.set("2027-03-20 09:00")

    starts = await availability(client, "2027-03-28", "2027-03-28")

    assert starts[:6] == [
        "2027-03-28T00:00:00+01:00",
        "2027-03-28T00:30:00+01:00",
        "2027-03-28T01:00:00+01:00",
        "2027-03-28T01:30:00+01:00",
        "2027-03-28T03:00:00+02:00",
        "2027-03-28T03:30:00+02:00",
    ]
    assert not [start for start in starts if start[11:13] == "02"]
    same_instant = await client.post(
        "/api/v1/appointments",
        json={
            "site": "paris-15",
            "service": "caf",
            "start": "2027-03-28T02:30:00+01:00",
            "name": "Noctambule",
            "email": "nuit@example.org",
        },
    )
    assert same_instant.status_code == 201
    assert same_instant.json()["start"] == "2027-03-28T03:30:00+02:00"


@pytest.mark.parametrize("offset", ["+02:00", "+01:00"])
async def test_each_half_past_two_of_the_repeated_october_hour_is_sold_once_per_station(
    client: AsyncTestClient[object], clock: Clock, db: Database, offset: str
) -> None:
    await open_on_sunday_nights(db)
    clock.set("2027-10-25 09:00")
    stations = len((await client.get("/api/v1/sites/paris-15")).json()["stations"])
    starts = await availability(client, "2027-10-31", "2027-10-31")
    moment = f"2027-10-31T02:30:00{offset}"

    statuses = Counter()
    for number in range(stations + 2):
        response = await client.post(
            "/api/v1/appointments",
            json={
                "site": "paris-15",
                "service": "caf",
                "start": moment,
                "name": f"Noctambule {number}",
                "email": f"nuit{number}@example.org",
            },
        )
        statuses[response.status_code] += 1
        if response.status_code == 201:
            assert response.json()["start"] == moment
    other = "+01:00" if offset == "+02:00" else "+02:00"
    after = await availability(client, "2027-10-31", "2027-10-31")

    assert starts.count("2027-10-31T02:30:00+02:00") == 1
    assert starts.count("2027-10-31T02:30:00+01:00") == 1
    assert statuses == {201: stations, 409: 2}
    assert moment not in after
    assert f"2027-10-31T02:30:00{other}" in after
