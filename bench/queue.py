"""The queue under load: call-next with 500 waiting tickets, and walk-in tickets issued
per second, on SQLite and PostgreSQL, beside the bare SQL read of the waiting tickets.

Run: .venv/bin/python -m bench.queue [--postgres URL] [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime, timedelta

from litestar.testing import AsyncTestClient
from sqlalchemy import insert, select, text

from app import schema
from app.accounts.service import create_agent
from app.asgi import create_app
from app.config import load_settings
from app.db import Database
from app.queue.models import Ticket
from app.sites.demo import load_demo
from app.sites.models import Service, Site, Station
from bench.timing import on_each_database, percentiles

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
WAITING = 500
PASSWORD = "a long bench password"  # noqa: S105 (a throw-away database)


async def fill(db: Database) -> tuple[int, list[int]]:
    """The demo data, an agent, and 500 waiting walk-ins at paris-15 since opening."""
    async with db.writing() as session:
        await load_demo(session, today=NOW.date())
        await create_agent(
            session,
            email="bench@agents.example.org",
            password=PASSWORD,
            role="manager",
            site_slugs=["paris-15"],
        )
    async with db.writing() as session:
        site = await session.scalar(select(Site).where(Site.slug == "paris-15"))
        assert site is not None
        service = await session.scalar(select(Service.id).where(Service.code == "caf"))
        stations = list(await session.scalars(select(Station.id).where(Station.site_id == site.id)))
        rows = [
            {
                "site_id": site.id,
                "day": NOW.date(),
                "number": f"Z{number:03d}",
                "token": f"bench-ticket-{number:012d}",
                "service_id": service,
                "needs": [],
                "station_kind": "standard",
                "requires_accessible": False,
                "priority": number % 17 == 0,
                "status": "waiting",
                "arrived_at": NOW - timedelta(seconds=WAITING - number),
                "call_count": 0,
                "updated_at": NOW,
            }
            for number in range(WAITING)
        ]
        await session.execute(insert(Ticket), rows)
    return site.id, stations


async def measure(url: str, label: str, rounds: int) -> None:
    await asyncio.to_thread(schema.upgrade, url)
    db = Database(url)
    site_id, stations = await fill(db)
    settings = load_settings(
        environ={},
        overrides={
            "database_url": url,
            "log_level": "WARNING",
            "database_pool_size": 20,
            "requests_per_minute": 10_000_000,
        },
    )
    async with AsyncTestClient(app=create_app(settings, clock=lambda: NOW)) as client:
        token = (
            await client.post(
                "/api/v1/auth/token",
                json={"email": "bench@agents.example.org", "password": PASSWORD},
            )
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}

        calls = []
        for number in range(rounds):
            station = stations[number % len(stations)]
            started = time.perf_counter()
            response = await client.post(f"/api/v1/stations/{station}/call-next", headers=headers)
            calls.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text

        async def floor() -> object:
            async with db.session() as session:
                return (
                    await session.execute(
                        text(
                            "SELECT id, arrived_at, due_at, priority, station_kind, "
                            "requires_accessible FROM tickets "
                            "WHERE site_id = :site AND day = :day AND status = 'waiting'"
                        ),
                        {"site": site_id, "day": NOW.date()},
                    )
                ).all()

        floors = []
        for _ in range(rounds):
            started = time.perf_counter()
            await floor()
            floors.append(time.perf_counter() - started)

        issued = 0
        started = time.perf_counter()
        for _ in range(4):
            batch = await asyncio.gather(
                *(
                    client.post(
                        "/api/v1/sites/paris-15/tickets", json={"service": "caf"}, headers=headers
                    )
                    for _ in range(50)
                )
            )
            issued += sum(1 for response in batch if response.status_code == 201)
        elapsed = time.perf_counter() - started
    await db.dispose()
    call_p50, call_p95 = percentiles(calls)
    floor_p50, floor_p95 = percentiles(floors)
    print(f"{label}: {WAITING} waiting tickets, {rounds} calls")
    print(f"  POST …/call-next           p50 {call_p50:6.2f} ms   p95 {call_p95:6.2f} ms")
    print(f"  floor: read the waiting    p50 {floor_p50:6.2f} ms   p95 {floor_p95:6.2f} ms")
    print(f"  walk-in tickets issued     {issued / elapsed:6.1f} per second (50 at a time)")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    await on_each_database(lambda url, label: measure(url, label, args.rounds), args.postgres)


if __name__ == "__main__":
    asyncio.run(main())
