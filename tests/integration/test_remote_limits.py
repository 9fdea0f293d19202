"""How many tickets may be taken from phones, on both databases with the clock injected:
a number three a day, whatever it left or where (each join texts it, so that nobody fills
a stranger's phone by joining and leaving); a connection at one mairie as many a day as it
may book there (so that nobody fills the hourly cap alone with made-up numbers), said on
the join page in words."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.asgi import create_app
from app.config import Settings
from app.db import Database
from app.queue import arrival_codes
from app.sites.service import get_site
from tests.conftest import Clock, make_settings

CLIENT = AsyncTestClient[Litestar]
MORNING = "2026-12-01 09:00"  # a Tuesday: the mairies are open


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url, bookings_per_address_per_day=2)


@pytest.fixture
async def client(settings: Settings, clock: Clock) -> AsyncIterator[CLIENT]:
    async with AsyncTestClient(app=create_app(settings, clock=clock)) as test_client:
        yield test_client


async def join(client: CLIENT, phone: str, slug: str = "paris-15") -> Any:
    body = {"service": "caf", "phone": phone, "travel_minutes": 20}
    return await client.post(f"/api/v1/sites/{slug}/remote-tickets", json=body)


async def join_and_leave(client: CLIENT, phone: str, slug: str) -> None:
    joined = await join(client, phone, slug)
    assert joined.status_code == 201, joined.text
    left = await client.post(f"/api/v1/tickets/{joined.json()['token']}/leave")
    assert left.status_code == 200, left.text


async def test_a_number_takes_three_tickets_a_day_at_most_wherever(
    client: CLIENT, clock: Clock
) -> None:
    clock.set(MORNING)
    phone = "06 12 34 56 78"
    for slug in ("paris-15", "paris-14", "paris-15"):
        await join_and_leave(client, phone, slug)

    fourth = await join(client, phone, "paris-19")
    assert fourth.status_code == 409, fourth.text
    assert fourth.json()["code"] == "phone_day_full"
    clock.set("2026-12-02 09:00")  # the next day, a new count
    assert (await join(client, phone, "paris-19")).status_code == 201


async def test_a_connection_takes_as_many_tickets_at_a_mairie_as_it_may_book(
    client: CLIENT, clock: Clock
) -> None:
    clock.set(MORNING)
    assert (await join(client, "06 11 11 11 11")).status_code == 201
    assert (await join(client, "06 22 22 22 22")).status_code == 201

    third = await join(client, "06 33 33 33 33")
    assert third.status_code == 409, third.text
    assert third.json()["code"] == "address_day_full"
    assert (await join(client, "06 33 33 33 33", "paris-14")).status_code == 201  # elsewhere

    page = await client.post(
        "/mairies/paris-15/file",
        data={"service": "caf", "telephone": "06 44 44 44 44", "trajet": "20"},
        headers={"Origin": "http://testserver.local"},
    )
    assert page.status_code == 409, page.text
    assert "Trop de tickets ont été pris à distance depuis votre connexion" in page.text


async def test_arriving_and_leaving_spend_none_of_the_address_booking_budget(
    database_url: str, clock: Clock
) -> None:
    # The mairie's Wi-Fi, where someone has spent the address's booking budget: the people
    # at the door still arrive and leave, and wrong links to do so count only as such.
    clock.set(MORNING)
    settings = make_settings(database_url, booking_requests_per_minute=2)
    async with AsyncTestClient(app=create_app(settings, clock=clock)) as client:
        first = (await join(client, "06 11 11 11 11")).json()["token"]
        second = (await join(client, "06 22 22 22 22")).json()["token"]
        third = await join(client, "06 33 33 33 33")
        database = Database(settings.database_url)
        async with database.session() as session:
            site = await get_site(session, "paris-15")
        await database.dispose()
        code = arrival_codes.arrival_code(settings.secret_key, site.id, clock())[0]
        wrong = [
            await client.post(f"/api/v1/tickets/{'w' * 40}{n:03d}/arrive", json={"code": code})
            for n in range(3)
        ]
        arrived = await client.post(f"/api/v1/tickets/{first}/arrive", json={"code": code})
        left = await client.post(
            f"/ticket/{second}/quitter",
            headers={"Origin": "http://testserver.local"},
            follow_redirects=False,
        )

    assert third.status_code == 429, third.text
    assert [answer.status_code for answer in wrong] == [404, 404, 404]
    assert arrived.status_code == 200, arrived.text
    assert arrived.json()["status"] == "waiting"
    assert left.status_code == 303, left.text
