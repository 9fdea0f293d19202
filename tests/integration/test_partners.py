"""Partners who refer people, on both databases: an administrator creates a partner bound
to a mairie and sees its key once; the key books there (channel "partner", the person's
confirmation and the partner's copy in the outbox), is refused at another mairie (403),
after its revocation (401) and on every staff endpoint; it is never written to the logs
nor kept in clear in the database; bad bodies are plain 400s; only administrators run
partners, and the journal says who did."""

from __future__ import annotations

import hashlib
import logging
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from app import models  # noqa: F401  (every table in the metadata)
from app.db import Base, Database
from app.notify import render
from app.notify.models import OutboxMessage
from app.partners.figures import referrals
from app.partners.models import Partner
from app.sites.service import get_site
from tests.conftest import Clock, Staff

CLIENT = AsyncTestClient[object]
PARTNERS = "/api/v1/admin/partners"
HERE, ELSEWHERE = "paris-15", "paris-20"
CCAS = {"name": "CCAS du 15e", "email": "accueil@ccas15.example.org", "sites": [HERE]}
PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture(autouse=True)
def tuesday_morning(clock: Clock) -> None:
    clock.set("2026-12-01 09:30")


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def first_slot(client: CLIENT, site: str, day: str = "2026-12-03", rank: int = 0) -> str:
    found = await client.get(
        f"/api/v1/sites/{site}/availability", params={"service": "caf", "from": day, "to": day}
    )
    assert found.status_code == 200, found.text
    start: str = found.json()["slots"][rank]["start"]
    return start


def booking(site: str, start: str, **more: Any) -> dict[str, Any]:
    return {
        "site": site,
        "service": "caf",
        "start": start,
        "name": "Hortense Delaunay",
        "email": "hortense.delaunay@example.org",
        "channel": "partner",
        **more,
    }


async def created(client: CLIENT, admin: dict[str, str], body: dict[str, Any] = CCAS) -> Any:
    response = await client.post(PARTNERS, json=body, headers=admin)
    assert response.status_code == 201, response.text
    return response.json()


async def outbox(db: Database) -> list[OutboxMessage]:
    async with db.session() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def every_value(db: Database) -> str:
    """Every row of every table, as text."""
    rows = []
    async with db.session() as session:
        for table in Base.metadata.sorted_tables:
            rows += [repr(row) for row in (await session.execute(select(table))).all()]
    return "\n".join(rows)


async def test_a_partner_key_books_at_its_mairie_only_until_it_is_revoked_and_never_shows(
    client: CLIENT,
    staff: Staff,
    db: Database,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    admin = await staff.headers("admin")

    made = await created(client, admin)
    key = made["key"]
    listed = await client.get(PARTNERS, headers=admin)
    here = await client.post(
        "/api/v1/appointments",
        json=booking(HERE, await first_slot(client, HERE)),
        headers=bearer(key),
    )
    elsewhere = await client.post(
        "/api/v1/appointments",
        json=booking(ELSEWHERE, await first_slot(client, ELSEWHERE)),
        headers=bearer(key),
    )
    staff_calls = [
        await client.get(f"/api/v1/sites/{HERE}/queue", headers=bearer(key)),
        await client.post(
            f"/api/v1/sites/{HERE}/tickets", json={"service": "caf"}, headers=bearer(key)
        ),
        await client.get(PARTNERS, headers=bearer(key)),
        await client.get("/api/v1/auth/me", headers=bearer(key)),
    ]
    as_reception = await client.post(
        "/api/v1/appointments",
        json=booking(
            HERE, await first_slot(client, HERE, rank=1), channel="phone", phone="0612345678"
        ),
        headers=bearer(key),
    )
    messages = await outbox(db)
    revoked = await client.delete(f"{PARTNERS}/{made['id']}", headers=admin)
    after = await client.post(
        "/api/v1/appointments",
        json=booking(HERE, await first_slot(client, HERE, rank=2)),
        headers=bearer(key),
    )
    listed_after = await client.get(PARTNERS, headers=admin)

    assert key.startswith("gp_")
    assert len(key) > 50
    assert made["sites"] == [HERE]
    assert made["active"] is True
    assert listed.status_code == 200
    assert [partner["id"] for partner in listed.json()] == [made["id"]]
    assert "key" not in listed.json()[0]
    assert here.status_code == 201, here.text
    assert here.json()["channel"] == "partner"
    assert here.json()["partner_id"] == made["id"]
    assert elsewhere.status_code == 403, elsewhere.text
    assert [call.status_code for call in staff_calls] == [403, 403, 403, 403]
    assert as_reception.status_code == 403
    kinds = {(message.kind, message.recipient) for message in messages}
    assert ("confirmation", "hortense.delaunay@example.org") in kinds
    assert ("partner_copy", "accueil@ccas15.example.org") in kinds
    copy = next(message for message in messages if message.kind == "partner_copy")
    assert "token" not in copy.data
    assert "email" not in copy.data
    assert copy.data["name"] == "Hortense Delaunay"
    assert revoked.status_code == 204
    assert after.status_code == 401, after.text
    assert listed_after.json()[0]["active"] is False
    assert listed_after.json()[0]["revoked_at"] is not None
    logged = "\n".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    assert caplog.records, "nothing was logged: the test would prove nothing"
    assert key not in logged
    assert key[len("gp_") + 11 :] not in logged
    stored = await every_value(db)
    assert key not in stored
    assert hashlib.sha256(key.encode()).hexdigest() in stored  # kept as its digest only


async def test_the_copy_to_the_partner_reads_as_a_copy_and_names_the_person(
    client: CLIENT, staff: Staff, db: Database
) -> None:
    admin = await staff.headers("admin")
    key = (await created(client, admin))["key"]
    await client.post(
        "/api/v1/appointments",
        json=booking(HERE, await first_slot(client, HERE)),
        headers=bearer(key),
    )

    copy = next(message for message in await outbox(db) if message.kind == "partner_copy")
    subject, text, html = render.email("partner_copy", copy.data, "https://guichet.example.org")

    assert "Hortense Delaunay" in subject
    assert copy.data["reference"] in subject
    assert "CCAS du 15e" in text
    assert "Mairie du 15e" in text
    assert "/rendez-vous/" not in text + html  # never the person's private link
    assert '<html lang="fr">' in html


async def test_a_partner_key_unknown_or_mangled_is_401_and_a_partner_booking_needs_one(
    client: CLIENT, staff: Staff
) -> None:
    start = await first_slot(client, HERE)
    unknown = "gp_abcdefghij_" + "A" * 43

    answers = [
        await client.post(
            "/api/v1/appointments", json=booking(HERE, start), headers=bearer(unknown)
        ),
        await client.post(
            "/api/v1/appointments", json=booking(HERE, start), headers=bearer("gp_x")
        ),
        await client.get(f"/api/v1/sites/{HERE}/queue", headers=bearer(unknown)),
    ]
    anonymous = await client.post("/api/v1/appointments", json=booking(HERE, start))
    reception = await client.post(
        "/api/v1/appointments",
        json=booking(HERE, start),
        headers=await staff.headers("reception", HERE),
    )

    assert [answer.status_code for answer in answers] == [401, 401, 401]
    assert anonymous.status_code == 401
    assert reception.status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        {**CCAS, "sites": ["paris-99"]},
        {**CCAS, "sites": []},
        {**CCAS, "name": ""},
        {**CCAS, "name": "   "},
        {**CCAS, "name": "CCAS\x0015e"},
        {**CCAS, "email": "pas-une-adresse"},
        {**CCAS, "email": "a@b.c"},
        {**CCAS, "name": 15},
        {**CCAS, "sites": HERE},
        {**CCAS, "sites": [15]},
        {**CCAS, "key": "gp_choisie"},
        {"name": "CCAS du 15e"},
        [],
        "CCAS",
    ],
)
async def test_a_bad_partner_body_is_a_plain_400_and_creates_nothing(
    client: CLIENT, staff: Staff, db: Database, body: Any
) -> None:
    admin = await staff.headers("admin")

    response = await client.post(PARTNERS, json=body, headers=admin)

    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    async with db.session() as session:
        assert (await session.scalars(select(Partner))).all() == []


async def test_only_an_administrator_runs_partners_and_the_journal_says_so(
    client: CLIENT, staff: Staff
) -> None:
    admin = await staff.headers("admin")
    manager = await staff.headers("manager", HERE)
    made = await created(client, admin)

    refused = [
        await client.post(PARTNERS, json=CCAS, headers=manager),
        await client.get(PARTNERS, headers=manager),
        await client.delete(f"{PARTNERS}/{made['id']}", headers=manager),
    ]
    anonymous = await client.get(PARTNERS)
    gone = await client.delete(f"{PARTNERS}/999999", headers=admin)
    await client.delete(f"{PARTNERS}/{made['id']}", headers=admin)
    again = await client.delete(f"{PARTNERS}/{made['id']}", headers=admin)
    journal = await client.get("/api/v1/audit", params={"site": HERE}, headers=admin)

    assert [answer.status_code for answer in refused] == [403, 403, 403]
    assert anonymous.status_code == 401
    assert gone.status_code == 404
    assert again.status_code == 204  # revoking twice changes nothing
    actions = [event["action"] for event in journal.json()["events"]]
    assert actions.count("partner.created") == 1
    assert actions.count("partner.revoked") == 1


async def test_referrals_are_counted_by_partner_for_the_mairies_and_days_asked(
    client: CLIENT, staff: Staff, db: Database, clock: Clock
) -> None:
    admin = await staff.headers("admin")
    desk = await staff.agent("reception", HERE)
    ccas = await created(client, admin)
    france = await created(
        client,
        admin,
        {
            "name": "France Services Vaugirard",
            "email": "fs@example.org",
            "sites": [HERE, ELSEWHERE],
        },
    )
    tokens = []
    for rank, (key, email) in enumerate(
        [
            (ccas["key"], "a@example.org"),
            (ccas["key"], "b@example.org"),
            (ccas["key"], "c@example.org"),
            (france["key"], "d@example.org"),
        ]
    ):
        start = await first_slot(client, HERE, rank=rank)
        answer = await client.post(
            "/api/v1/appointments", json=booking(HERE, start, email=email), headers=bearer(key)
        )
        assert answer.status_code == 201, answer.text
        tokens.append(answer.json())
    other = await client.post(
        "/api/v1/appointments",
        json=booking(ELSEWHERE, await first_slot(client, ELSEWHERE), email="e@example.org"),
        headers=bearer(france["key"]),
    )
    online = await client.post(
        "/api/v1/appointments",
        json=booking(HERE, await first_slot(client, HERE, rank=5), channel="online"),
    )
    cancelled = await client.post(f"/api/v1/appointments/{tokens[1]['token']}/cancel")
    clock.now = datetime.fromisoformat(tokens[0]["start"]) - timedelta(minutes=10)
    reception = {"Authorization": f"Bearer {await staff.token(desk)}"}
    checked_in = await client.post(
        f"/api/v1/sites/{HERE}/check-ins",
        json={"reference": tokens[0]["reference"]},
        headers=reception,
    )
    assert other.status_code == 201
    assert online.status_code == 201
    assert cancelled.status_code == 200
    assert checked_in.status_code == 201, checked_in.text

    async with db.session() as session:
        here = await get_site(session, HERE)
        counted = await referrals(session, [here.id], date(2026, 12, 1), date(2026, 12, 31), PARIS)
        before = await referrals(session, [here.id], date(2026, 11, 1), date(2026, 11, 30), PARIS)

    by_name = {row.partner: row for row in counted}
    assert set(by_name) == {"CCAS du 15e", "France Services Vaugirard"}
    assert (by_name["CCAS du 15e"].booked, by_name["CCAS du 15e"].honoured) == (3, 1)
    assert by_name["CCAS du 15e"].cancelled == 1
    assert (
        by_name["France Services Vaugirard"].booked,
        by_name["France Services Vaugirard"].honoured,
    ) == (1, 0)
    assert before == []
