"""Requests sent on to a partner's account, on both databases: an administrator makes an
expert department a partner's (a CCAS); a request a facilitator sends on to it shows on
the partner's page, where the social worker reads it and moves it forward as a
department does through its private link (the person is told); another partner does not
even see that it exists, and a department whose partner is unset leaves the page."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from app.db import Database
from app.notify.models import OutboxMessage
from app.visits.models import Escalation, EscalationStatus
from tests.conftest import Clock, Staff
from tests.integration.test_partner_pages import log_in

CLIENT = AsyncTestClient[object]
HERE = "paris-15"
DEPARTMENTS = "/api/v1/departments"


@pytest.fixture(autouse=True)
def tuesday_morning(clock: Clock) -> None:
    clock.set("2026-12-01 09:30")


async def new_partner(client: CLIENT, admin: dict[str, str], name: str) -> dict[str, Any]:
    made = await client.post(
        "/api/v1/admin/partners",
        json={"name": name, "email": "ccas@example.org", "sites": [HERE]},
        headers=admin,
    )
    assert made.status_code == 201, made.text
    result: dict[str, Any] = made.json()
    return result


async def send_on(client: CLIENT, staff: Staff, department: str) -> str:
    """A walk-in at paris-15 helped, then sent on to `department`: its reference."""
    reception = await staff.headers("reception", HERE)
    facilitator = await staff.headers("facilitator", HERE)
    site = (await client.get(f"/api/v1/sites/{HERE}")).json()
    station = site["stations"][0]["id"]
    ticket = await client.post(
        f"/api/v1/sites/{HERE}/tickets",
        json={"service": "caf", "phone": "0612345678"},
        headers=reception,
    )
    assert ticket.status_code == 201, ticket.text
    ticket_id = ticket.json()["id"]
    await client.post(f"/api/v1/stations/{station}/call-next", headers=facilitator)
    await client.post(f"/api/v1/tickets/{ticket_id}/start", headers=facilitator)
    finished = await client.post(
        f"/api/v1/tickets/{ticket_id}/finish",
        json={"outcome": "escalated", "department": department, "note": "Dossier RSA bloqué"},
        headers=facilitator,
    )
    assert finished.status_code == 200, finished.text
    admin = await staff.headers("admin")
    found = await client.get("/api/v1/escalations", params={"site": HERE}, headers=admin)
    references = [row["reference"] for row in found.json() if row["department"] == department]
    assert references, found.text
    return str(references[-1])


async def test_a_request_sent_on_to_a_partners_department_is_answered_on_its_page(
    client: CLIENT, staff: Staff, db: Database
) -> None:
    admin = await staff.headers("admin")
    ccas = await new_partner(client, admin, "CCAS du 15e")
    other = await new_partner(client, admin, "France Services Vaugirard")
    department = await client.post(
        DEPARTMENTS,
        json={"code": "ccas-15", "name": "CCAS du 15e", "partner": ccas["id"]},
        headers=admin,
    )
    reference = await send_on(client, staff, "ccas-15")

    csrf = await log_in(client, ccas["key"])
    home = await client.get("/partenaires")
    page = await client.get(f"/partenaires/demandes/{reference}")
    no_answer = await client.post(
        f"/partenaires/demandes/{reference}", data={"csrf": csrf, "statut": "answered"}
    )
    without_token = await client.post(
        f"/partenaires/demandes/{reference}",
        data={"statut": "answered", "message": "Rendez-vous pris"},
    )
    answered = await client.post(
        f"/partenaires/demandes/{reference}",
        data={"csrf": csrf, "statut": "answered", "message": "Rendez-vous pris le 8 décembre"},
        follow_redirects=False,
    )
    after = await client.get(answered.headers["location"])
    await log_in(client, other["key"])
    elsewhere_home = await client.get("/partenaires")
    elsewhere = await client.get(f"/partenaires/demandes/{reference}")

    assert department.status_code == 201, department.text
    assert department.json()["partner"] == ccas["id"]
    assert f'href="/partenaires/demandes/{reference}"' in home.text
    assert page.status_code == 200
    assert "Dossier RSA bloqué" in page.text
    assert f'action="/partenaires/demandes/{reference}"' in page.text
    assert no_answer.status_code == 400
    assert "Écrivez la réponse" in no_answer.text
    assert without_token.status_code == 403
    assert answered.status_code == 303, answered.text
    assert "C'est enregistré" in after.text
    assert "Rendez-vous pris le 8 décembre" in after.text
    assert reference not in elsewhere_home.text
    assert elsewhere.status_code == 404
    async with db.session() as session:
        escalation = await session.scalar(
            select(Escalation).where(Escalation.reference == reference)
        )
        assert escalation is not None
        assert escalation.status == EscalationStatus.ANSWERED
        told = list(
            await session.scalars(
                select(OutboxMessage.kind).where(OutboxMessage.ticket_id == escalation.ticket_id)
            )
        )
    assert "escalation" in told  # the person is told of the answer, as from a department


async def test_a_department_is_a_partners_only_while_an_administrator_says_so(
    client: CLIENT, staff: Staff
) -> None:
    admin = await staff.headers("admin")
    manager = await staff.headers("manager", HERE)
    ccas = await new_partner(client, admin, "CCAS du 15e")
    made = await client.post(
        DEPARTMENTS, json={"code": "ccas-15", "name": "CCAS du 15e"}, headers=admin
    )
    unknown = await client.patch(f"{DEPARTMENTS}/ccas-15", json={"partner": 999}, headers=admin)
    by_manager = await client.patch(
        f"{DEPARTMENTS}/ccas-15", json={"partner": ccas["id"]}, headers=manager
    )
    linked = await client.patch(
        f"{DEPARTMENTS}/ccas-15", json={"partner": ccas["id"]}, headers=admin
    )
    renamed = await client.patch(f"{DEPARTMENTS}/ccas-15", json={"name": "CCAS"}, headers=admin)
    reference = await send_on(client, staff, "ccas-15")
    await log_in(client, ccas["key"])
    while_linked = await client.get(f"/partenaires/demandes/{reference}")
    unlinked = await client.patch(f"{DEPARTMENTS}/ccas-15", json={"partner": None}, headers=admin)
    after = await client.get(f"/partenaires/demandes/{reference}")
    revoked = await client.delete(f"/api/v1/admin/partners/{ccas['id']}", headers=admin)
    to_revoked = await client.patch(
        f"{DEPARTMENTS}/ccas-15", json={"partner": ccas["id"]}, headers=admin
    )

    assert made.json()["partner"] is None
    assert unknown.status_code == 400
    assert by_manager.status_code == 403
    assert linked.json()["partner"] == ccas["id"]
    assert renamed.json()["partner"] == ccas["id"]  # a change that leaves it out keeps it
    assert while_linked.status_code == 200
    assert unlinked.json()["partner"] is None
    assert after.status_code == 404
    assert revoked.status_code == 204
    assert to_revoked.status_code == 400
