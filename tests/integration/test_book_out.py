"""One client booking out a day, on both databases: the per-address cap of a site-day, the
per-person limit on a normalised contact across Paris, the managers' alert (metric and
notice) and the release of the bookings, and who may be texted or mailed at all."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from app import retention
from app.asgi import create_app
from app.booking.models import Appointment
from app.config import Settings
from app.db import Database
from app.notify.models import OutboxMessage
from tests.conftest import Clock, Staff, make_settings
from tests.integration.test_staff_pages import csrf_of, log_in

DAY = "2026-12-01"
# The generic per-minute limits are out of the way: the guard is what must stop the bot.
UNTHROTTLED = {"booking_requests_per_minute": 1_000_000, "availability_requests_per_minute": 10**6}


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(
        database_url, bookings_per_address_per_day=4, booking_alert_per_hour=3, **UNTHROTTLED
    )


@pytest.fixture(autouse=True)
def monday_morning(clock: Clock) -> None:
    clock.set("2026-11-30 08:00")


@pytest.fixture
async def client(settings: Settings, clock: Clock) -> AsyncIterator[AsyncTestClient[object]]:
    async with AsyncTestClient(
        app=create_app(settings, clock=clock), base_url="http://127.0.0.1"
    ) as test_client:
        yield test_client


async def starts(client: AsyncTestClient[object], day: str = DAY, site: str = "paris-15") -> Any:
    response = await client.get(
        f"/api/v1/sites/{site}/availability", params={"service": "caf", "from": day, "to": day}
    )
    assert response.status_code == 200, response.text
    return [slot["start"] for slot in response.json()["slots"]]


async def book(
    client: AsyncTestClient[object], start: str, site: str = "paris-15", **contact: Any
) -> Any:
    body = {"site": site, "service": "caf", "start": start, "name": "Un usager", **contact}
    return await client.post("/api/v1/appointments", json=body)


def spellings(count: int) -> list[str]:
    """One mailbox written `count` ways: tags, case, Cyrillic look-alikes, the IDN form."""
    ways = [
        "bot+{n}@exämple.org",
        "BOT+{n}@EXÄMPLE.ORG",
        "b\u043et+{n}@exämple.org",  # Cyrillic о
        "bot+{n}@xn--exmple-cua.org",
        "b\u03bft+{n}@exämple.org",  # Greek ο
        "\uff42\uff4f\uff54+{n}@exämple.org",  # full-width letters
    ]
    return [ways[n % len(ways)].format(n=n) for n in range(1, count + 1)]


async def test_one_address_with_a_hundred_tagged_emails_gets_no_more_than_the_cap_of_a_day(
    client: AsyncTestClient[object], settings: Settings, staff: Staff
) -> None:
    free = await starts(client)
    same_mailbox = [
        await book(client, free[n % len(free)], email=email)
        for n, email in enumerate(spellings(100))
    ]
    mailboxes = [
        await book(client, free[n % len(free)], email=f"bot{n}@example.org") for n in range(100)
    ]
    next_day = await book(client, (await starts(client, "2026-12-02"))[0], email="z@example.org")
    reception = await staff.headers("reception", "paris-15")
    on_behalf = await client.post(
        "/api/v1/appointments",
        json={
            "site": "paris-15",
            "service": "caf",
            "start": free[-1],
            "name": "Au guichet",
            "phone": "0612345678",
            "channel": "counter",
        },
        headers=reception,
    )

    booked = [r for r in same_mailbox + mailboxes if r.status_code == 201]
    assert len(booked) == settings.bookings_per_address_per_day == 4
    assert sum(r.status_code == 201 for r in same_mailbox) == 2  # the person's limit
    refusals = {r.json()["code"] for r in same_mailbox + mailboxes if r.status_code != 201}
    assert refusals == {"too_many_bookings", "address_day_full"}
    assert {r.status_code for r in same_mailbox + mailboxes if r.status_code != 201} == {409}
    assert next_day.status_code == 201, next_day.text
    assert on_behalf.status_code == 201, on_behalf.text


async def test_one_person_is_one_person_across_paris_however_the_email_is_written(
    client: AsyncTestClient[object],
) -> None:
    paris_15, paris_20 = await starts(client), await starts(client, site="paris-20")
    first = await book(client, paris_15[0], email="Jean.Dupont+rdv@gmail.com")
    # (not at the time of the first: nobody is in two mairies at once)
    second = await book(client, paris_20[1], site="paris-20", email="jeandupont@googlemail.com")
    third = await book(client, paris_20[2], site="paris-20", email="jean.dup\u043ent@gmail.com")
    by_phone = [
        await book(client, paris_15[1], phone="06 12 34 56 78"),
        await book(client, paris_20[2], site="paris-20", phone="+33612345678"),
        await book(client, paris_20[3], site="paris-20", phone="0033 6 12 34 56 78"),
    ]

    assert (first.status_code, second.status_code) == (201, 201), second.text
    assert third.status_code == 409
    assert third.json()["code"] == "too_many_bookings"
    assert [r.status_code for r in by_phone] == [201, 201, 409]


async def test_a_person_is_not_booked_twice_at_once_and_a_stranger_learns_no_times_past_the_cap(
    client: AsyncTestClient[object],
) -> None:
    free = await starts(client)
    first = await book(client, free[0], email="jean.dupont@example.org")
    again = await book(client, free[0], email="jean.dupont@example.org")
    other_name = await client.post(
        "/api/v1/appointments",
        json={
            "site": "paris-15",
            "service": "caf",
            "start": free[0],
            "name": "Jeanne Dupont",
            "email": "jean.dupont@example.org",
        },
    )
    # Two appointments to come for the address now: its cap. A time it holds, tried again,
    # is refused for the cap, not as a time held.
    probe = await book(client, free[0], email="jean.dupont@example.org")

    assert (first.status_code, other_name.status_code) == (201, 201), other_name.text
    assert (again.status_code, again.json()["code"]) == (409, "person_busy")
    assert (probe.status_code, probe.json()["code"]) == (409, "too_many_bookings")


@pytest.mark.parametrize("again", ["Émile Zola", "ÉMILE  ZOLA", "E\u0301mile Zola"])
async def test_a_name_is_one_however_cased_composed_or_spaced(
    client: AsyncTestClient[object], again: str
) -> None:
    free = await starts(client)
    body = {"site": "paris-15", "service": "caf", "start": free[0], "email": "ez@example.org"}
    first = await client.post("/api/v1/appointments", json={**body, "name": "Émile Zola"})
    second = await client.post("/api/v1/appointments", json={**body, "name": again})

    assert first.status_code == 201, first.text
    assert (second.status_code, second.json()["code"]) == (409, "person_busy")


async def test_a_move_onto_another_of_the_persons_times_is_refused(
    client: AsyncTestClient[object],
) -> None:
    paris_15, paris_20 = await starts(client), await starts(client, site="paris-20")
    here = await book(client, paris_15[0], email="move@example.org")
    there = await book(client, paris_20[3], site="paris-20", email="move@example.org")
    moved = await client.post(
        f"/api/v1/appointments/{there.json()['token']}/reschedule", json={"start": paris_20[0]}
    )

    assert (here.status_code, there.status_code) == (201, 201), there.text
    assert paris_20[0] == paris_15[0]  # the first slot of the day at both
    assert (moved.status_code, moved.json()["code"]) == (409, "person_busy")


async def test_times_that_are_not_slots_tell_nothing_of_when_a_person_is_booked(
    client: AsyncTestClient[object],
) -> None:
    free = await starts(client)
    held = await book(client, free[0], email="victor@example.org")
    slot_start = datetime.fromisoformat(free[0])
    inside = (slot_start + timedelta(minutes=7)).isoformat()
    off_grid = await book(client, inside, site="paris-20", email="victor@example.org")

    assert held.status_code == 201, held.text
    assert off_grid.status_code == 422, off_grid.text
    assert off_grid.json()["code"] != "person_busy"


async def test_the_manager_sees_a_day_filling_too_fast_and_releases_it_telling_each_once(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    free = await starts(client)
    emails = ["bot+a@example.org", "bot+b@example.org", "bis+a@example.org", "bis+b@example.org"]
    bot = [await book(client, free[n], email=email) for n, email in enumerate(emails)]
    reception = await staff.headers("reception", "paris-15")
    counter = await client.post(
        "/api/v1/appointments",
        json={"site": "paris-15", "service": "caf", "start": free[5], "name": "Vraie",
              "email": "vraie@example.org", "channel": "counter"},
        headers=reception,
    )  # fmt: skip
    assert [r.status_code for r in bot] == [201] * 4
    assert counter.status_code == 201
    manager = await staff.headers("manager", "paris-15")
    other_manager = await staff.headers("manager", "paris-20")

    metrics = (await client.get("/metrics")).text
    alerts = await client.get("/api/v1/admin/sites/paris-15/booking-alerts", headers=manager)
    refused = await client.post(
        f"/api/v1/admin/sites/paris-15/booking-alerts/{DAY}/release", headers=other_manager
    )
    released = await client.post(
        f"/api/v1/admin/sites/paris-15/booking-alerts/{DAY}/release", headers=manager
    )
    again = await client.post(
        f"/api/v1/admin/sites/paris-15/booking-alerts/{DAY}/release", headers=manager
    )

    assert 'guichet_booking_alerts{site="paris-15"} 1.0' in metrics
    assert 'guichet_booking_alerts{site="paris-20"} 0.0' in metrics
    assert alerts.json() == [{"day": DAY, "bookings": 4, "networks": 1, "suspects": 4}]
    assert refused.status_code == 403
    assert released.json() == {"day": DAY, "released": 4, "told": 2}
    assert again.json() == {"day": DAY, "released": 0, "told": 0}
    for response in bot:
        mine = await client.get(f"/api/v1/appointments/{response.json()['token']}")
        assert mine.json()["status"] == "cancelled"
    kept = await client.get(f"/api/v1/appointments/{counter.json()['token']}")
    assert kept.json()["status"] == "booked"
    pending = await client.get(
        "/api/v1/admin/outbox", params={"site": "paris-15", "status": "pending"}, headers=manager
    )
    told = [m["recipient"] for m in pending.json() if m["kind"] == "cancelled"]
    assert sorted(told) == ["b***@example.org", "b***@example.org"]
    assert 'guichet_booking_alerts{site="paris-15"} 0.0' in (await client.get("/metrics")).text
    journal = await client.get("/api/v1/audit", params={"site": "paris-15"}, headers=manager)
    assert any(event["action"] == "appointments.released" for event in journal.json()["events"])


async def test_the_sites_page_shows_the_alert_and_its_button_releases_the_bookings(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    free = await starts(client)
    emails = ["bot+a@example.org", "bot+b@example.org", "bis+a@example.org", "bis+b@example.org"]
    for n, email in enumerate(emails):
        assert (await book(client, free[n], email=email)).status_code == 201
    assert (await log_in(client, await staff.agent("manager", "paris-15"))).status_code == 303

    console = await client.get("/console")
    page = await client.get("/admin/sites/paris-15")
    released = await client.post(
        f"/admin/sites/paris-15/alertes/{DAY}/liberer",
        data={"csrf": csrf_of(page.text)},
        follow_redirects=False,
    )
    after = await client.get(released.headers["location"])
    console_after = await client.get("/console")

    assert "Réservations anormalement rapides" in console.text
    assert 'href="/admin/sites/paris-15#alertes"' in console.text
    assert "Réservations anormalement rapides" not in console_after.text
    assert "Réservations anormalement rapides" in page.text
    assert "Libérer ces 4 rendez-vous" in page.text
    assert released.status_code == 303
    assert "4 rendez-vous ont été libérés" in after.text
    assert "2 personnes ont été prévenues" in after.text
    assert "Réservations anormalement rapides" not in after.text
    assert len(await starts(client)) == len(free)


async def test_texts_go_to_mobiles_only_and_emails_to_domains_that_can_exist(
    client: AsyncTestClient[object],
) -> None:
    free = await starts(client)
    landline = await book(client, free[0], phone="01 45 45 45 45", reminders_by_sms=True)
    landline_alone = await book(client, free[0], phone="01 45 45 45 45")
    landline_beside_email = await book(
        client, free[0], phone="01 45 45 45 45", email="fixe@example.org"
    )
    overseas = await book(client, free[1], phone="0692 12 34 56", reminders_by_sms=True)
    no_such_domain = await book(client, free[2], email="usager@exemple.c")
    international = await book(client, free[2], email="josé@exämple.org")
    page = await client.post(
        "/mairies/paris-15/rendez-vous/coordonnees",
        data={"service": "caf", "debut": free[3], "nom": "Fixe", "telephone": "0145454545",
              "rappels_sms": "oui"},
    )  # fmt: skip

    assert landline.status_code == 400
    assert landline.json()["code"] == "phone_not_mobile"
    assert landline.json()["detail"].endswith("or choose reminders by email.")
    assert landline_alone.json()["code"] == "phone_not_mobile"
    assert landline_beside_email.status_code == 201, landline_beside_email.text
    assert overseas.status_code == 201, overseas.text
    assert overseas.json()["phone"] == "+262692123456"
    assert no_such_domain.status_code == 400
    assert no_such_domain.json()["code"] == "email_undeliverable"
    assert international.status_code == 201, international.text
    assert page.status_code == 422
    assert "numéro de portable" in page.text


async def test_the_daily_sweep_forgets_the_normalised_email_and_network_after_the_day(
    client: AsyncTestClient[object], settings: Settings, db: Database, clock: Clock
) -> None:
    free = await starts(client)
    assert (await book(client, free[0], email="Bot+1@example.org")).status_code == 201
    kept = await retention.sweep(db, settings, clock.set("2026-12-01 20:00"))
    async with db.session() as session:
        before = (
            await session.execute(select(Appointment.email_key, Appointment.client_network))
        ).one()
    swept = await retention.sweep(db, settings, clock.set("2026-12-03 08:00"))
    async with db.session() as session:
        after = (
            await session.execute(select(Appointment.email_key, Appointment.client_network))
        ).one()

    assert (kept.guards, tuple(before)) == (0, ("bot@example.org", "unknown"))
    assert (swept.guards, tuple(after)) == (1, (None, None))


async def test_moving_bookings_into_a_day_counts_against_that_days_cap(
    client: AsyncTestClient[object],
) -> None:
    today, tomorrow = await starts(client), await starts(client, "2026-12-02")
    for n in range(4):
        assert (await book(client, today[n], email=f"jour{n}@example.org")).status_code == 201
    waiting = [await book(client, tomorrow[n], email=f"demain{n}@example.org") for n in range(2)]
    moved = [
        await client.post(
            f"/api/v1/appointments/{made.json()['token']}/reschedule",
            json={"start": today[4 + n]},
        )
        for n, made in enumerate(waiting)
    ]
    within_tomorrow = await client.post(
        f"/api/v1/appointments/{waiting[0].json()['token']}/reschedule",
        json={"start": tomorrow[3]},
    )

    assert [made.status_code for made in waiting] == [201, 201]
    assert [move.status_code for move in moved] == [409, 409]
    assert {move.json()["code"] for move in moved} == {"address_day_full"}
    assert within_tomorrow.status_code == 200, within_tomorrow.text


async def test_booking_and_cancelling_in_a_loop_cannot_flood_a_strangers_inbox(
    client: AsyncTestClient[object], db: Database
) -> None:
    free = await starts(client, "2026-12-03")
    answers = []
    for n in range(10):
        made = await book(client, free[n], email="voisine@example.org")
        answers.append(made.status_code)
        if made.status_code == 201:
            cancelled = await client.post(f"/api/v1/appointments/{made.json()['token']}/cancel")
            assert cancelled.status_code == 200, cancelled.text
        else:
            assert made.json()["code"] == "too_many_attempts"
    async with db.session() as session:
        to_her = await session.scalar(
            select(func.count()).where(
                OutboxMessage.recipient == "voisine@example.org",
                OutboxMessage.status != "cancelled",  # reminders called off with the booking
            )
        )

    assert answers == [201] * 6 + [409] * 4
    # Six bookings made and cancelled: at most a confirmation and a notice for each.
    assert to_her <= 12
