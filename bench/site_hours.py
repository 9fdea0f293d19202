"""Opening hours over 62 days for one mairie: pure computation, and the whole API call,
beside the bare SQL reads of the same rows (the floor).

Run: .venv/bin/python -m bench.site_hours [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import date
from datetime import time as clock
from zoneinfo import ZoneInfo

from litestar.testing import AsyncTestClient
from sqlalchemy import text

from app import schema
from app.asgi import create_app
from app.config import load_settings
from app.db import Database
from app.sites.demo import load_demo
from app.sites.hours import SiteCalendar, WeeklyRule
from bench.timing import line, on_each_database, timed

FIRST, LAST = date(2027, 3, 1), date(2027, 5, 1)
ROUNDS = 300


def pure() -> None:
    weekly = [WeeklyRule(day, clock(8, 30), clock(19, 30 if day == 3 else 17)) for day in range(5)]
    weekly.append(WeeklyRule(1, clock(13), clock(17), nth_in_month=1))
    calendar = SiteCalendar(timezone=ZoneInfo("Europe/Paris"), weekly=weekly)
    samples = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        list(calendar.days(FIRST, LAST))
        samples.append(time.perf_counter() - started)
    print(f"pure, 62 days                    {line(samples)}")


async def against(url: str, label: str) -> None:
    await asyncio.to_thread(schema.upgrade, url)
    db = Database(url)
    async with db.writing() as session:
        await load_demo(session, today=date(2026, 11, 26))
    app = create_app(
        load_settings(environ={}, overrides={"database_url": url, "log_level": "WARNING"})
    )
    params = {"from": FIRST.isoformat(), "to": LAST.isoformat()}
    async with AsyncTestClient(app=app) as client:

        async def api() -> object:
            response = await client.get("/api/v1/sites/paris-19/hours", params=params)
            assert response.status_code == 200
            return response

        async def floor() -> object:
            async with db.session() as session:
                site_id = await session.scalar(text("SELECT id FROM sites WHERE slug = 'paris-19'"))
                await session.execute(
                    text("SELECT * FROM weekly_hours WHERE site_id = :s"), {"s": site_id}
                )
                await session.execute(
                    text(
                        "SELECT * FROM hours_exceptions"
                        " WHERE site_id = :s AND day BETWEEN :a AND :b"
                    ),
                    {"s": site_id, "a": FIRST, "b": LAST},
                )
                return await session.execute(
                    text("SELECT * FROM closures WHERE site_id = :s"), {"s": site_id}
                )

        api_samples = await timed(api, ROUNDS)
        floor_samples = await timed(floor, ROUNDS)
    await db.dispose()
    print(f"{label:<8} API GET …/hours (62 days) {line(api_samples)}")
    print(f"{label:<8} floor: bare SQL reads     {line(floor_samples)}")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    pure()
    await on_each_database(against, args.postgres)


if __name__ == "__main__":
    asyncio.run(main())
