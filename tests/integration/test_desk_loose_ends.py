"""Loose ends of the desks, on both databases: a transfer sent with the form's defaults
("the same démarche", "the same kind of station") says what to choose instead of
"Introuvable", and the printed slips hide their print button until a script can make it
work."""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from app.queue.models import TicketEvent
from tests.commands import in_session
from tests.conftest import STAFF_PASSWORD, Clock, Staff

pytestmark = pytest.mark.usefixtures("tuesday_morning")


@pytest.fixture
def tuesday_morning(clock: Clock) -> None:
    clock.set("2026-12-01 09:00")  # paris-15 is open 8 h 30 – 17 h 00 on Tuesdays


async def desk(client: AsyncTestClient[object], staff: Staff, role: str, path: str) -> str:
    """Log a new agent of paris-15 in; the CSRF token of the page at `path`."""
    email = await staff.agent(role, "paris-15")
    login = await client.post(
        "/connexion", data={"email": email, "password": STAFF_PASSWORD}, follow_redirects=False
    )
    assert login.status_code == 303, login.text
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', (await client.get(path)).text)
    assert found, "no CSRF token in the page"
    return found.group(1)


async def test_a_transfer_left_on_its_defaults_asks_where_to(
    client: AsyncTestClient[object], staff: Staff, db: Any, clock: Clock
) -> None:
    from app.queue.commands import issue_walk_in

    ticket = await in_session(
        db, issue_walk_in, "paris-15", service_code="caf", agent_id=None, now=clock()
    )
    station = (await client.get("/api/v1/sites/paris-15")).json()["stations"][0]["id"]
    csrf = await desk(client, staff, "facilitator", f"/poste/{station}")
    await client.post(f"/poste/{station}/appeler", data={"csrf": csrf})

    sent = await client.post(
        f"/poste/{station}/tickets/{ticket.id}/transferer",
        data={"csrf": csrf, "service": "", "poste": ""},
        follow_redirects=False,
    )
    odd = await client.post(
        f"/poste/{station}/tickets/{ticket.id}/transferer",
        data={"csrf": csrf, "service": "", "poste": "triple"},
        follow_redirects=False,
    )
    page = (await client.get(sent.headers["location"])).text
    still = (await client.get(f"/api/v1/tickets/{ticket.token}")).json()

    assert sent.headers["location"] == f"/poste/{station}?erreur=transfer_nowhere"
    assert odd.headers["location"] == f"/poste/{station}?erreur=transfer_nowhere"
    assert "Choisissez vers quelle démarche ou quel type de poste transférer le ticket." in page
    assert "Introuvable" not in page
    assert still["status"] == "called"


async def test_the_printed_slips_hide_their_button_until_a_script_shows_it(
    client: AsyncTestClient[object], staff: Staff, db: Any, clock: Clock
) -> None:
    from app.queue.commands import issue_walk_in

    ticket = await in_session(
        db, issue_walk_in, "paris-15", service_code="caf", agent_id=None, now=clock()
    )
    await desk(client, staff, "reception", "/accueil/paris-15")

    slip = await client.get(f"/accueil/paris-15/tickets/{ticket.id}/imprimer")

    assert slip.status_code == 200
    assert '<button type="button" id="imprimer" class="button" hidden>' in slip.text
    assert "utilisez la commande Imprimer de votre navigateur (Ctrl+P)" in slip.text


async def test_a_reason_or_a_note_with_control_characters_is_stored_clean(
    client: AsyncTestClient[object], staff: Staff, db: Any, clock: Clock
) -> None:
    clock.set("2026-12-01 21:35")  # closed: a ticket needs a reason
    csrf = await desk(client, staff, "reception", "/accueil/paris-15")

    issued = await client.post(
        "/accueil/paris-15/tickets",
        data={
            "csrf": csrf,
            "service": "caf",
            "forcer": "oui",
            "raison": "Permanence\x00 du\x1b soir " + "x" * 10_000,
        },
        follow_redirects=False,
    )
    queue = (await client.get("/api/v1/sites/paris-15/queue")).json()
    async with db.session() as session:
        reasons = (await session.scalars(select(TicketEvent.reason))).all()

    assert issued.status_code == 303, issued.text
    assert [ticket["number"] for ticket in queue["waiting"]] == ["A001"]
    assert [reason[:22] for reason in reasons if reason] == ["Permanence du soir xxx"]
    assert all(len(reason) <= 200 for reason in reasons if reason)
