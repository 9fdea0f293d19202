"""What a real server writes to its log: never a private token, an email address, a phone
number or a name, whatever the request, the page, the websocket or the failure."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from app.accounts.service import create_agent
from app.db import Database
from tests.conftest import STAFF_PASSWORD, TEST_SECRET
from tests.servers import Server, running

pytestmark = pytest.mark.slow

NAME = "Zébulon Quartermaine"
EMAIL = "zebulon.quartermaine@example.org"
PHONE = "06 47 82 91 35"
PHONES = [
    PHONE,
    "0647829135",
    "+33647829135",
    "+33 6 47 82 91 35",
    "06.47.82.91.35",
    "06-47-82-91-35",
    "647829135",
]
STAFF_EMAIL = "claudine.vermandois@paris.example.org"
SLOT = "2026-12-15T10:00:00+01:00"


async def _add_reception(url: str) -> None:
    db = Database(url)
    try:
        async with db.writing() as session:
            await create_agent(
                session,
                email=STAFF_EMAIL,
                password=STAFF_PASSWORD,
                role="reception",
                site_slugs=["paris-15"],
                name="Claudine Vermandois",
            )
    finally:
        await db.dispose()


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[Server]:
    """A real `guichet serve`, logging everything down to DEBUG, as text."""
    asyncio.run(_add_reception(database_url))
    environment = {
        "GUICHET_DATABASE_URL": database_url,
        "GUICHET_SECRET_KEY": TEST_SECRET,
        "GUICHET_LOG_LEVEL": "DEBUG",
        "GUICHET_LOG_FORMAT": "text",
        "GUICHET_SCHEDULER": "false",
        "GUICHET_BASE_URL": "https://rendez-vous.example.org",
    }
    with running(tmp_path, environment) as servers:
        yield servers[0]


async def _scenario(server: Server) -> list[str]:
    """Book, look, follow a ticket on its page and its websocket, cancel, log in and fail
    to; return every private token the scenario met."""
    tokens: list[str] = []
    async with httpx.AsyncClient(base_url=server.base, timeout=30, follow_redirects=True) as client:
        booked = await client.post(
            "/api/v1/appointments",
            json={
                "site": "paris-15",
                "service": "caf",
                "start": SLOT,
                "name": NAME,
                "email": EMAIL,
                "phone": PHONE,
            },
        )
        assert booked.status_code == 201, booked.text
        token, reference = booked.json()["token"], booked.json()["reference"]
        tokens.append(token)
        for path in (
            f"/rendez-vous/{token}?confirme=1",
            f"/r/{token}",
            f"/rendez-vous/{token}/annuler",
            f"/rendez-vous/{token}/deplacer?du=2026-12-20",
            f"/api/v1/appointments/{token}",
            f"/api/v1/appointments/{token}/calendar.ics",
        ):
            assert (await client.get(path)).status_code < 400, path

        # A staff login by page and by API, a wrong password, a search by name.
        failed = await client.post(
            "/connexion", data={"email": STAFF_EMAIL, "password": "not the password"}
        )
        assert failed.status_code >= 400
        wrong = await client.post(
            "/api/v1/auth/token", json={"email": STAFF_EMAIL, "password": "not the password"}
        )
        assert wrong.status_code == 401
        login = await client.post(
            "/connexion",
            data={"email": STAFF_EMAIL, "password": STAFF_PASSWORD, "suite": "/accueil/paris-15"},
        )
        assert login.status_code == 200, login.text
        searched = await client.get("/accueil/paris-15", params={"q": "Quartermaine"})
        assert searched.status_code == 200
        assert (await client.get(f"/accueil/paris-15?rdv={reference}")).status_code == 200
        issued = await client.post(
            "/api/v1/auth/token", json={"email": STAFF_EMAIL, "password": STAFF_PASSWORD}
        )
        bearer = {"Authorization": f"Bearer {issued.json()['access_token']}"}
        tokens.append(issued.json()["access_token"])
        ticket = await client.post(
            "/api/v1/sites/paris-15/tickets",
            # The server runs on the real clock: the mairie may be closed.
            json={"service": "caf", "phone": PHONE, "force_reason": "Tests run at any hour"},
            headers=bearer,
        )
        assert ticket.status_code == 201, ticket.text
        ticket_token = ticket.json()["token"]
        tokens.append(ticket_token)
        for path in (
            f"/ticket/{ticket_token}",
            f"/t/{ticket_token}",
            f"/ticket/{ticket_token}/etat",
            f"/api/v1/tickets/{ticket_token}",
            f"/ticket/{ticket_token}/avis",
        ):
            assert (await client.get(path)).status_code < 500, path
        async with websockets.connect(f"{server.ws}/ws/tickets/{ticket_token}") as socket:
            await asyncio.wait_for(socket.recv(), timeout=10)

        client.cookies.clear()  # a visitor again
        # Failed bookings: an address that is no address, by the API and by the page.
        refused = await client.post(
            "/api/v1/appointments",
            json={
                "site": "paris-15",
                "service": "caf",
                "start": SLOT,
                "name": NAME,
                "email": "zebulon.quartermaine@@example.org",
                "phone": PHONE,
            },
        )
        assert refused.status_code == 400, refused.text
        assert refused.json()["code"] == "email_invalid"
        page = await client.post(
            "/mairies/paris-15/rendez-vous/coordonnees",
            data={
                "service": "caf",
                "debut": SLOT,
                "nom": NAME,
                "email": "zebulon.quartermaine@@example.org",
                "telephone": PHONE,
            },
        )
        assert page.status_code == 422

        cancelled = await client.post(f"/rendez-vous/{token}/annuler")
        assert cancelled.status_code < 400
        again = await client.post(f"/api/v1/appointments/{token}/cancel")
        assert again.status_code == 200
    return tokens


def test_no_token_email_phone_or_name_reaches_the_server_log(server: Server) -> None:
    tokens = asyncio.run(_scenario(server))
    server.stop()
    log = server.output()

    assert "WebSocket" in log or "/ws/tickets" in log, "the websocket left no line to check"
    found = [token for token in tokens if token in log]
    found += [
        secret
        for secret in (EMAIL, STAFF_EMAIL, NAME, "Quartermaine", "Vermandois", *PHONES)
        if secret.lower() in log.lower()
    ]
    found += [match for match in re.findall(r"quartermaine|vermandois", log, re.IGNORECASE)]
    assert found == [], f"found in the log: {found}\n{log[-3000:]}"
