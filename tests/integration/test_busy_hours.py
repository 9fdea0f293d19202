"""How busy a mairie usually is, over HTTP on both databases: from the tickets of the last
eight weeks, calm / usual / busy per weekday and opening hour."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from litestar.testing import AsyncTestClient
from sqlalchemy import select

from app.db import Database
from app.queue.models import Ticket
from app.sites.models import Service, Site
from tests.conftest import Clock

PARIS = ZoneInfo("Europe/Paris")
TODAY = date(2026, 11, 30)  # a Monday
# Tickets per weekday hour, every week: quiet at opening, a rush late morning.
RUSH: Mapping[int, int] = {8: 2, 9: 3, 10: 6, 11: 6, 12: 3, 13: 2, 14: 3, 15: 3, 16: 2}


def arrivals(today: date, per_hour: Mapping[int, int], weeks: int = 8) -> list[datetime]:
    """Instants tickets arrive at, on each weekday of the `weeks` weeks before `today`."""
    instants = []
    for back in range(1, weeks * 7 + 1):
        day = today - timedelta(days=back)
        if day.weekday() >= 5:
            continue
        for hour, count in per_hour.items():
            for index in range(count):
                local = datetime.combine(day, time(hour, 31 + index % 25), tzinfo=PARIS)
                instants.append(local.astimezone(UTC))
    return instants


async def add_tickets(db: Database, slug: str, instants: list[datetime]) -> None:
    """Tickets taken and served at `slug`, one per instant."""
    async with db.writing() as session:
        site = await session.scalar(select(Site).where(Site.slug == slug))
        service = await session.scalar(select(Service).order_by(Service.id))
        assert site is not None
        assert service is not None
        numbers: dict[date, int] = {}
        for at in sorted(instants):
            day = at.astimezone(PARIS).date()
            numbers[day] = numbers.get(day, 0) + 1
            session.add(
                Ticket(
                    site_id=site.id,
                    day=day,
                    number=f"A{numbers[day]:03d}",
                    token=f"busy-{slug}-{day:%Y%m%d}-{numbers[day]:03d}",
                    service_id=service.id,
                    status="done",
                    arrived_at=at,
                    finished_at=at + timedelta(minutes=20),
                    updated_at=at + timedelta(minutes=20),
                )
            )


def levels(body: dict[str, object]) -> dict[tuple[str, int], str]:
    days = body["days"]
    assert isinstance(days, list)
    return {(day["weekday"], hour["hour"]): hour["level"] for day in days for hour in day["hours"]}


async def test_busy_hours_follow_the_rush_of_the_last_eight_weeks(
    client: AsyncTestClient[object], db: Database, clock: Clock
) -> None:
    clock.set(f"{TODAY} 10:00")
    await add_tickets(db, "paris-15", arrivals(TODAY, RUSH))

    response = await client.get("/api/v1/sites/paris-15/busy-hours")

    assert response.status_code == 200
    body = response.json()
    assert body["weeks"] == 8
    assert [day["weekday"] for day in body["days"]] == ["mon", "tue", "wed", "thu", "fri"]
    found = levels(body)
    assert found[("tue", 10)] == "busy"
    assert found[("tue", 11)] == "busy"
    assert found[("tue", 16)] == "calm"
    assert found[("wed", 14)] == "usual"
    # 8 h 30–9 h: two tickets in half an hour is about the mean rate, not calm for being short.
    assert found[("mon", 8)] == "usual"
    assert found[("thu", 18)] == "calm"


async def test_hours_the_mairie_is_closed_are_left_out(
    client: AsyncTestClient[object], db: Database, clock: Clock
) -> None:
    clock.set(f"{TODAY} 10:00")
    await add_tickets(db, "paris-15", arrivals(TODAY, RUSH))

    found = levels((await client.get("/api/v1/sites/paris-15/busy-hours")).json())

    assert {hour for (_, hour) in found} == set(range(8, 20))
    assert {day for (day, hour) in found if hour >= 17} == {"thu"}
    assert not any(day in {"sat", "sun"} for (day, _) in found)
    assert ("mon", 7) not in found


async def test_tickets_older_than_eight_weeks_or_at_another_mairie_do_not_count(
    client: AsyncTestClient[object], db: Database, clock: Clock
) -> None:
    clock.set(f"{TODAY} 10:00")
    older = arrivals(TODAY - timedelta(weeks=8), RUSH)
    await add_tickets(db, "paris-15", older)
    await add_tickets(db, "paris-14", arrivals(TODAY, RUSH))

    found = levels((await client.get("/api/v1/sites/paris-15/busy-hours")).json())

    assert set(found.values()) == {"usual"}


async def test_with_too_few_tickets_every_open_hour_is_usual(
    client: AsyncTestClient[object], db: Database, clock: Clock
) -> None:
    clock.set(f"{TODAY} 10:00")
    await add_tickets(db, "paris-15", arrivals(TODAY, {10: 1}, weeks=2))

    response = await client.get("/api/v1/sites/paris-15/busy-hours")

    assert response.status_code == 200
    assert set(levels(response.json()).values()) == {"usual"}


async def test_busy_hours_need_no_account(client: AsyncTestClient[object]) -> None:
    response = await client.get("/api/v1/sites/paris-20/busy-hours")

    assert response.status_code == 200
    assert len(response.json()["days"]) == 5


async def test_busy_hours_of_an_unknown_mairie_are_a_404_problem(
    client: AsyncTestClient[object],
) -> None:
    response = await client.get("/api/v1/sites/paris-21/busy-hours")

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_malformed_slug_is_refused_not_a_server_error(
    client: AsyncTestClient[object],
) -> None:
    response = await client.get("/api/v1/sites/PARIS%2015%3B/busy-hours")

    assert response.status_code in (400, 404)
