"""The summary of free time under concurrent writes through two instances: people book,
cancel and move appointments on the same days of one mairie while a manager takes a
station away and another out of service. Afterwards the summary agrees with the data and
the first free slots read through it are each mairie's own."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest

from app.db import Database, utcnow
from tests.cluster.conftest import PARIS, SITE, booking, clients, environment, new_manager
from tests.conftest import STAFF_PASSWORD
from tests.integration.test_free_time import agree, differences
from tests.servers import Server, running

pytestmark = [pytest.mark.slow, pytest.mark.postgresql]
PEOPLE = 16  # half through each instance
STEPS = 20  # requests of each person, at most: a few hundred in all
SEED = 20261203


@pytest.fixture
def cluster(database_url: str, tmp_path: Path) -> Iterator[list[Server]]:
    """Two instances whose requests may wait long for a connection (see
    test_races_cluster.py): the day's lock queues the bookings of each day."""
    with running(
        tmp_path, environment(database_url, GUICHET_DATABASE_TIMEOUT_SECONDS="60"), count=2
    ) as servers:
        yield servers


async def offered(client: httpx.AsyncClient, days: list[date]) -> list[str]:
    """The free `caf` starts at the site on `days`."""
    response = await client.get(
        f"/api/v1/sites/{SITE}/availability",
        params={"service": "caf", "from": days[0].isoformat(), "to": days[-1].isoformat()},
    )
    assert response.status_code == 200, response.text
    return [str(slot["start"]) for slot in response.json()["slots"]]


async def person(
    number: int, client: httpx.AsyncClient, starts: list[str], seen: Counter[str]
) -> None:
    """Books, cancels and moves their own appointments, at random among `starts`."""
    chance = random.Random(SEED + number)
    held: list[str] = []
    for step in range(STEPS):
        move = chance.random()
        if held and move < 0.25:
            token = held.pop(chance.randrange(len(held)))
            response = await client.post(f"/api/v1/appointments/{token}/cancel")
            seen[f"cancel {response.status_code}"] += 1
        elif held and move < 0.5:
            token = chance.choice(held)
            response = await client.post(
                f"/api/v1/appointments/{token}/reschedule", json={"start": chance.choice(starts)}
            )
            seen[f"reschedule {response.status_code}"] += 1
        else:
            body = booking(number * 1000 + step, chance.choice(starts))
            response = await client.post("/api/v1/appointments", json=body)
            seen[f"book {response.status_code}"] += 1
            if response.status_code == 201:
                held.append(response.json()["token"])


async def manager_changes(
    client: httpx.AsyncClient, other: httpx.AsyncClient, email: str, day: date
) -> list[int]:
    """Once the load is under way: a standard station taken away through one instance and
    a double one out of service for `day` through the other."""
    login = await client.post(
        "/api/v1/auth/token", json={"email": email, "password": STAFF_PASSWORD}
    )
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    stations = (await client.get(f"/api/v1/admin/sites/{SITE}/stations", headers=headers)).json()
    standard = next(s["id"] for s in stations if s["kind"] == "standard" and s["name"] != "Poste 1")
    double = next(s["id"] for s in stations if s["kind"] == "double")
    await asyncio.sleep(0.5)
    taken = await client.patch(
        f"/api/v1/admin/sites/{SITE}/stations/{standard}", json={"active": False}, headers=headers
    )
    await asyncio.sleep(0.3)
    opens = f"{day.isoformat()}T08:00:00+01:00"
    closes = f"{(day + timedelta(days=1)).isoformat()}T00:00:00+01:00"
    out = await other.post(
        f"/api/v1/admin/sites/{SITE}/outages",
        json={"station_id": double, "starts_at": opens, "ends_at": closes, "reason": "Panne"},
        headers=headers,
    )
    return [taken.status_code, out.status_code]


async def test_concurrent_bookings_moves_and_station_changes_keep_the_summary_right(
    cluster: list[Server], db: Database
) -> None:
    email = await new_manager(db)
    today = utcnow().astimezone(PARIS).date()
    async with clients(cluster) as instances:
        ahead = [today + timedelta(days=n) for n in range(1, 8)]
        starts = await offered(instances[0], ahead)
        open_days = sorted({date.fromisoformat(start[:10]) for start in starts})[:3]
        starts = [start for start in starts if date.fromisoformat(start[:10]) in open_days]
        seen: Counter[str] = Counter()
        async with asyncio.timeout(240):
            _, changes = await asyncio.gather(
                asyncio.gather(
                    *(
                        person(number, instances[number % 2], starts, seen)
                        for number in range(PEOPLE)
                    )
                ),
                manager_changes(instances[0], instances[1], email, open_days[1]),
            )
    found = await differences(db)

    print(f"\n{sum(seen.values())} requests: {dict(sorted(seen.items()))}; manager: {changes}")
    for difference in found[:10]:
        print(difference)
    assert found == []
    assert changes == [200, 201]
    assert seen["book 201"] >= PEOPLE
    assert set(seen) <= {
        f"{what} {status}"
        for what in ("book", "cancel", "reschedule")
        for status in (200, 201, 409, 422)
    }, "only answers that say what happened"
    async with clients(cluster) as instances:
        await agree(db, instances[1], utcnow(), "caf", "")
        await agree(db, instances[0], utcnow(), "logement", "")


async def test_cancellations_racing_bookings_on_one_day_leave_the_summary_right(
    cluster: list[Server], db: Database
) -> None:
    """Cancellations and bookings of the same day, through both instances at the same
    moment, on three days in turn: each works the day out again, and the last to write
    must not leave out what the others did."""
    today = utcnow().astimezone(PARIS).date()
    answers: Counter[int] = Counter()
    async with clients(cluster) as instances:
        ahead = [today + timedelta(days=n) for n in range(2, 12)]
        offers = await offered(instances[0], ahead)
        days = sorted({date.fromisoformat(start[:10]) for start in offers})[:3]
        for day in days:
            places = [start for start in offers if start.startswith(day.isoformat())] * 4
            half = len(places) // 2
            tokens = []
            for n, start in enumerate(places[:half]):
                response = await instances[0].post(
                    "/api/v1/appointments", json=booking(day.toordinal() * 1000 + n, start)
                )
                if response.status_code == 201:
                    tokens.append(response.json()["token"])
            async with asyncio.timeout(120):
                racing = await asyncio.gather(
                    *(
                        instances[n % 2].post(f"/api/v1/appointments/{token}/cancel")
                        for n, token in enumerate(tokens)
                    ),
                    *(
                        instances[(n + 1) % 2].post(
                            "/api/v1/appointments",
                            json=booking(day.toordinal() * 1000 + 500 + n, start),
                        )
                        for n, start in enumerate(places[half:])
                    ),
                )
            answers.update(response.status_code for response in racing)
    found = await differences(db)

    print(f"\n{sum(answers.values())} requests racing on {days}: {dict(answers)}")
    for difference in found[:10]:
        print(difference)
    assert answers[200] >= 30
    assert set(answers) <= {200, 201, 409}
    assert found == []
