"""A démarche or a need withdrawn from the catalogue stays with the appointments booked
before: they can still be moved, by the page and by the API, and checked in (found by the
outside attack: retiring them made "Déplacer" a 404 and a check-in a 400)."""

from __future__ import annotations

import pytest
from litestar.testing import AsyncTestClient

from tests.conftest import Clock, Staff

CLIENT = AsyncTestClient[object]


@pytest.fixture(autouse=True)
def tuesday_morning(clock: Clock) -> None:
    clock.set("2026-12-01 09:00")


async def _slots(client: CLIENT, day: str) -> list[str]:
    found = await client.get(
        "/api/v1/sites/paris-15/availability",
        params={"service": "caf", "needs": "vue", "from": day, "to": day},
    )
    assert found.status_code == 200, found.text
    return [slot["start"] for slot in found.json()["slots"]]


async def test_an_appointment_keeps_its_retired_demarche_and_need(
    client: CLIENT, staff: Staff, clock: Clock
) -> None:
    admin = await staff.headers("admin")
    first, second = (await _slots(client, "2026-12-03"))[:2]
    booked = await client.post(
        "/api/v1/appointments",
        json={
            "site": "paris-15",
            "service": "caf",
            "needs": ["vue"],
            "start": first,
            "name": "Ada",
            "email": "ada@example.org",
        },
    )
    assert booked.status_code == 201, booked.text
    token, reference = booked.json()["token"], booked.json()["reference"]

    retired = [
        await client.patch("/api/v1/admin/services/caf", json={"active": False}, headers=admin),
        await client.patch("/api/v1/admin/needs/vue", json={"active": False}, headers=admin),
    ]
    week = await client.get(f"/rendez-vous/{token}/deplacer", params={"du": "2026-12-03"})
    moved = await client.post(f"/api/v1/appointments/{token}/reschedule", json={"start": second})
    clock.set("2026-12-03 " + second[11:16])
    reception = await staff.headers("reception", "paris-15")
    arrived = await client.post(
        "/api/v1/sites/paris-15/check-ins", json={"reference": reference}, headers=reception
    )

    assert [answer.status_code for answer in retired] == [200, 200]
    assert week.status_code == 200, week.text
    assert moved.status_code == 200, moved.text
    assert moved.json()["start"] == second
    assert arrived.status_code == 201, arrived.text
    assert arrived.json()["needs"] == ["vue"]
