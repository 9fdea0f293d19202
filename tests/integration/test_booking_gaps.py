"""Booking rules the rest of the suite left unchecked, on both databases with the clock in
the test's hands: the per-address cap is one mairie's day, a late arrival may still be
checked in until the sweep's own limit, a called-off appointment is taken again once
however many clicks race, and the figures keep called-off appointments apart."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from app.asgi import create_app
from app.booking.commands import mark_missed
from app.booking.models import Appointment
from app.config import Settings
from app.db import Database
from tests.conftest import Clock, Staff, make_settings
from tests.post import Post

BASE = "http://127.0.0.1"
DAY = "2026-12-01"
WEDNESDAY = "2026-12-02"
SITE = "/api/v1/sites/paris-15"
UNTHROTTLED = {"booking_requests_per_minute": 1_000_000, "availability_requests_per_minute": 10**6}


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url, bookings_per_address_per_day=4, **UNTHROTTLED)


@pytest.fixture
async def client(settings: Settings, clock: Clock) -> AsyncIterator[AsyncTestClient[object]]:
    clock.set("2026-11-30 08:00")
    async with AsyncTestClient(
        app=create_app(settings, clock=clock), base_url="http://127.0.0.1"
    ) as test_client:
        yield test_client


async def starts(client: AsyncTestClient[object], site: str = "paris-15", day: str = DAY) -> Any:
    response = await client.get(
        f"/api/v1/sites/{site}/availability", params={"service": "caf", "from": day, "to": day}
    )
    assert response.status_code == 200, response.text
    return [slot["start"] for slot in response.json()["slots"]]


async def book(client: AsyncTestClient[object], start: str, site: str, email: str) -> Any:
    body = {"site": site, "service": "caf", "start": start, "name": "Un usager", "email": email}
    return await client.post("/api/v1/appointments", json=body)


async def stored(db: Database, email: str) -> list[Appointment]:
    async with db.session() as session:
        rows = await session.scalars(
            select(Appointment).where(Appointment.email == email).order_by(Appointment.id)
        )
        return list(rows)


# The per-address cap


async def test_an_address_that_filled_its_day_at_one_mairie_may_still_book_that_day_at_another(
    client: AsyncTestClient[object], settings: Settings
) -> None:
    paris_15, paris_20 = await starts(client), await starts(client, "paris-20")
    at_15 = [
        await book(client, paris_15[n], "paris-15", f"voisin{n}@example.org") for n in range(4)
    ]
    one_more_at_15 = await book(client, paris_15[4], "paris-15", "voisin4@example.org")
    at_20 = await book(client, paris_20[0], "paris-20", "voisin5@example.org")

    assert settings.bookings_per_address_per_day == 4
    assert [made.status_code for made in at_15] == [201] * 4
    assert one_more_at_15.status_code == 409
    assert one_more_at_15.json()["code"] == "address_day_full"
    assert at_20.status_code == 201, at_20.text
    assert at_20.json()["start"].startswith(DAY)


# Late arrivals and the no-show sweep


async def test_an_appointment_begun_past_the_late_limit_but_ended_within_it_is_not_yet_missed(
    client: AsyncTestClient[object], clock: Clock, db: Database, staff: Staff
) -> None:
    came = await book(client, f"{DAY}T11:00:00+01:00", "paris-15", "tard@example.org")
    stayed_away = await book(client, f"{DAY}T11:00:00+01:00", "paris-15", "absent@example.org")
    came, stayed_away = came.json(), stayed_away.json()

    # The 15e checks late arrivals in up to 30 minutes after the end.
    clock.set(f"{DAY} 11:45")  # begun 45 minutes ago, ended at 11:30: 15 minutes ago
    swept_early = await mark_missed(db, clock())
    reception = await staff.headers("reception", "paris-15")
    still = [
        (await client.get(f"/api/v1/appointments/{b['token']}")).json() for b in (came, stayed_away)
    ]
    checked_in = await client.post(
        f"{SITE}/check-ins", json={"reference": came["reference"]}, headers=reception
    )
    clock.set(f"{DAY} 12:00")  # the end plus the limit, to the minute: not yet past it
    swept_at_the_limit = await mark_missed(db, clock())
    clock.set(f"{DAY} 12:00:01")
    swept_past_it = await mark_missed(db, clock())
    after = [
        (await client.get(f"/api/v1/appointments/{b['token']}")).json() for b in (came, stayed_away)
    ]

    assert came["end"].startswith(f"{DAY}T11:30")
    assert swept_early == 0
    assert [a["status"] for a in still] == ["booked", "booked"]
    assert checked_in.status_code == 201, checked_in.text
    assert checked_in.json()["late"] is True
    assert swept_at_the_limit == 0
    assert swept_past_it == 1
    assert [a["status"] for a in after] == ["checked_in", "no_show"]


# A called-off appointment taken again


async def called_off(post: Post, manager: dict[str, str]) -> dict[str, Any]:
    """Ada's Wednesday 10:00 at paris-15, called off by a closure for works."""
    booked = await post.book(f"{WEDNESDAY}T10:00:00+01:00", email="ada@example.org")
    closed = await post.client.post(
        "/api/v1/admin/sites/paris-15/closures",
        json={
            "starts_at": f"{WEDNESDAY}T09:00:00+01:00",
            "ends_at": f"{WEDNESDAY}T13:00:00+01:00",
            "reason": "Travaux",
        },
        headers=manager,
    )
    assert closed.status_code == 201, closed.text
    assert [item["reference"] for item in closed.json()["to_reschedule"]] == [booked["reference"]]
    return dict(booked)


@pytest.fixture
async def manager(post: Post, db: Database) -> dict[str, str]:
    return await Staff(db, post.client).headers("manager", "paris-15")


def offered_on(page: str) -> list[str]:
    return re.findall(r'name="debut" value="([^"]+)"', page)


async def test_clicks_racing_to_take_a_called_off_appointment_again_make_one_booking(
    post: Post, db: Database, manager: dict[str, str], database_url: str
) -> None:
    booked = await called_off(post, manager)
    offered = offered_on((await post.client.get(f"/rendez-vous/{booked['token']}")).text)
    # The test client answers one request at a time: the same app served in this event
    # loop lets the clicks really overlap.
    app = create_app(make_settings(database_url), clock=post.clock)
    async with (
        app.lifespan(),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as browser,
    ):

        def take(start: str) -> Any:
            return browser.post(
                f"/rendez-vous/{booked['token']}/reprendre",
                data={"debut": start},
                follow_redirects=False,
            )

        racing = await asyncio.gather(take(offered[0]), take(offered[0]), take(offered[1]))
        later = await take(offered[2])
    hers = await stored(db, "ada@example.org")
    new = [a for a in hers if a.status == "booked"]
    old = next(a for a in hers if a.token == booked["token"])

    assert len(offered) == 3
    # One booking in place of the called-off one, not one per click.
    assert len(new) == 1, [a.starts_at.isoformat() for a in new]
    assert [r.status_code for r in racing] == [303, 303, 303]
    assert old.status == "called_off"
    assert old.rebooked_as_id == new[0].id
    assert {r.headers["location"] for r in [*racing, later]} == {
        f"/rendez-vous/{new[0].token}?confirme=1"
    }


# The figures


async def test_the_figures_count_a_called_off_appointment_apart_from_the_bookings(
    post: Post, manager: dict[str, str]
) -> None:
    booked = await called_off(post, manager)
    kept = await post.book(f"{WEDNESDAY}T14:00:00+01:00", email="bob@example.org")
    dropped = await post.book(f"{WEDNESDAY}T15:00:00+01:00", email="cat@example.org")
    cancelled = await post.client.post(f"/api/v1/appointments/{dropped['token']}/cancel")

    figures = await post.client.get(
        "/api/v1/stats",
        params={"site": "paris-15", "from": WEDNESDAY, "to": WEDNESDAY, "by": "day"},
        headers=manager,
    )

    assert cancelled.status_code == 200, cancelled.text
    assert (await post.client.get(f"/api/v1/appointments/{booked['token']}")).json()[
        "status"
    ] == "called_off"
    assert (await post.client.get(f"/api/v1/appointments/{kept['token']}")).json()[
        "status"
    ] == "booked"
    assert figures.status_code == 200, figures.text
    for period in (figures.json()["total"], *figures.json()["periods"]):
        assert period["called_off"] == 1
        assert period["cancellations"]["count"] == 1
        assert period["appointments"] == {
            "online": 1,
            "phone": 0,
            "counter": 0,
            "partner": 0,
            "total": 1,
        }
        assert period["no_shows"]["appointments"] == 0
