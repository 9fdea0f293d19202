"""A mairie's reminder hours changed and changed back: the appointments already booked get
their reminders again (never twice, never one already sent), and a reminder "0 hours
before", which would fall on the appointment itself, is refused."""

from __future__ import annotations

from collections import Counter

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from app.config import Settings
from app.db import Database
from app.notify.models import OutboxMessage
from tests.conftest import Clock, Staff, make_settings

ADMIN = "/api/v1/admin/sites/paris-15"
FRIDAY_TEN = "2026-12-04T10:00:00+01:00"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url, booking_requests_per_minute=1000)


@pytest.fixture(autouse=True)
def monday_morning(clock: Clock) -> None:
    clock.set("2026-11-30 08:00")


@pytest.fixture
async def manager(staff: Staff) -> dict[str, str]:
    return await staff.headers("manager", "paris-15")


async def book(client: AsyncTestClient[object], email: str) -> str:
    response = await client.post(
        "/api/v1/appointments",
        json={
            "site": "paris-15",
            "service": "caf",
            "start": FRIDAY_TEN,
            "name": "Marie Curie",
            "email": email,
        },
    )
    assert response.status_code == 201, response.text
    reference: str = response.json()["reference"]
    return reference


async def messages(db: Database, reference: str) -> Counter[tuple[str, str]]:
    """(kind, status) of the messages about the appointment `reference`."""
    async with db.session() as session:
        rows = await session.execute(
            select(OutboxMessage.kind, OutboxMessage.status).where(
                OutboxMessage.data["reference"].as_string() == reference
            )
        )
        return Counter((kind, str(status)) for kind, status in rows.all())


async def test_reminders_turned_off_then_on_again_are_planned_again(
    client: AsyncTestClient[object], manager: dict[str, str], db: Database
) -> None:
    reference = await book(client, "marie@example.org")

    off = await client.patch(ADMIN, json={"reminder_hours": []}, headers=manager)
    while_off = await messages(db, reference)
    on = await client.patch(ADMIN, json={"reminder_hours": [24, 2]}, headers=manager)
    again = await client.patch(ADMIN, json={"reminder_hours": [24, 2]}, headers=manager)
    after = await messages(db, reference)

    assert (off.status_code, on.status_code, again.status_code) == (200, 200, 200)
    assert while_off == {
        ("confirmation", "pending"): 1,
        ("reminder_24h", "cancelled"): 1,
        ("reminder_2h", "cancelled"): 1,
    }
    assert after == {
        ("confirmation", "pending"): 1,
        ("reminder_24h", "pending"): 1,
        ("reminder_2h", "pending"): 1,
    }


async def test_a_reminder_the_person_turned_off_stays_off_when_the_hours_come_back(
    client: AsyncTestClient[object], manager: dict[str, str], db: Database
) -> None:
    reference = await book(client, "pierre@example.org")
    async with db.session() as session:
        token = await session.scalar(
            select(OutboxMessage.data["token"].as_string()).where(
                OutboxMessage.data["reference"].as_string() == reference
            )
        )
    stopped = await client.post(f"/rendez-vous/{token}/rappels", follow_redirects=False)

    await client.patch(ADMIN, json={"reminder_hours": []}, headers=manager)
    await client.patch(ADMIN, json={"reminder_hours": [24, 2]}, headers=manager)
    after = await messages(db, reference)

    assert stopped.status_code == 303, stopped.text
    assert after[("reminder_24h", "pending")] == 0
    assert after[("reminder_2h", "pending")] == 0


async def test_a_reminder_at_zero_hours_before_is_refused(
    client: AsyncTestClient[object], manager: dict[str, str]
) -> None:
    response = await client.patch(ADMIN, json={"reminder_hours": [0, 2]}, headers=manager)

    assert response.status_code == 400
    assert "reminder_hours" in response.text


async def test_the_pages_promise_the_reminders_the_mairie_sends(
    client: AsyncTestClient[object], manager: dict[str, str], db: Database
) -> None:
    reference = await book(client, "irene@example.org")
    async with db.session() as session:
        token = await session.scalar(
            select(OutboxMessage.data["token"].as_string()).where(
                OutboxMessage.data["reference"].as_string() == reference
            )
        )
    contact = f"/mairies/paris-15/rendez-vous/coordonnees?service=caf&debut={FRIDAY_TEN}"
    contact = contact.replace("+", "%2B")

    usual = (await client.get(f"/rendez-vous/{token}")).text
    await client.patch(ADMIN, json={"reminder_hours": [48, 1]}, headers=manager)
    other = (await client.get(f"/rendez-vous/{token}")).text
    other_step = (await client.get(contact)).text
    await client.patch(ADMIN, json={"reminder_hours": []}, headers=manager)
    none = (await client.get(f"/rendez-vous/{token}")).text
    none_step = (await client.get(contact)).text

    assert "Vous recevrez un rappel 24 heures et 2 heures avant, par e-mail à" in usual
    assert "Vous recevrez un rappel 48 heures et 1 heure avant, par e-mail à" in other
    assert "nous vous envoyons un rappel 48 heures et 1 heure avant" in other_step
    assert "Cette mairie n'envoie pas de rappel avant les rendez-vous." in none
    assert "Ne plus recevoir de rappels" not in none
    assert "nous vous envoyons un rappel" not in none_step
    assert "la veille et deux heures avant" not in usual + other + none
