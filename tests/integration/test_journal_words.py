"""The journal page in words, on both databases: staff change a mairie's hours, settings,
closures, stations and an agent's account through the API at a known Paris time, and the
journal says each in French words — who, what, where and when — with no action code, no
id of an agent and no JSON; its filters still choose the lines."""

from __future__ import annotations

import html
import re

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from app.accounts.models import Agent
from app.db import Database
from tests.conftest import STAFF_PASSWORD, Clock, Staff

CLIENT = AsyncTestClient[object]
CODES = re.compile(r"\b(auth|agent|site|hours|closure|station|service|ticket)\.[a-z_]+\b")


async def log_in(client: CLIENT, email: str) -> None:
    response = await client.post(
        "/connexion", data={"email": email, "password": STAFF_PASSWORD}, follow_redirects=False
    )
    assert response.status_code == 303, response.text


def visible(page: str) -> str:
    """The page's text as read: no tags, entities decoded, spaces folded as a browser
    folds them (a no-break space, as in "9\u00a0h\u00a030", is kept)."""
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"[ \t\r\n\f]+", " ", html.unescape(re.sub(r"<[^>]+>", " ", text))).strip()


@pytest.fixture
async def changes(client: CLIENT, staff: Staff, clock: Clock, db: Database) -> dict[str, str]:
    """A manager of the 15e changes the mairie on Tuesday 1 December 2026 at 9:30 (Paris),
    an administrator creates then disables a receptionist's account at 9:45."""
    clock.set("2026-12-01 09:30")
    manager = await staff.headers("manager", "paris-15")
    station = (await client.get("/api/v1/sites/paris-15")).json()["stations"][0]["id"]
    done = [
        await client.patch(
            "/api/v1/admin/sites/paris-15",
            json={"walk_in_percent": 35, "sms_quiet_from": "20:30"},
            headers=manager,
        ),
        await client.put(
            "/api/v1/admin/sites/paris-15/hours/tue",
            json={"ranges": [{"opens": "09:30", "closes": "12:30"}]},
            headers=manager,
        ),
        await client.post(
            "/api/v1/admin/sites/paris-15/closures",
            json={
                "starts_at": "2026-12-24T08:00:00+01:00",
                "ends_at": "2026-12-24T20:00:00+01:00",
                "reason": "Réveillon",
            },
            headers=manager,
        ),
        await client.post(
            "/api/v1/admin/sites/paris-15/outages",
            json={
                "station_id": station,
                "starts_at": "2026-12-10T08:00:00+01:00",
                "ends_at": "2026-12-10T20:00:00+01:00",
                "reason": "Panne",
            },
            headers=manager,
        ),
    ]
    clock.set("2026-12-01 09:45")
    admin = await staff.headers("admin")
    created = await client.post(
        "/api/v1/admin/agents",
        json={
            "email": "jeanne.martin@agents.example.org",
            "name": "Jeanne Martin",
            "role": "reception",
            "password": "un mot de passe assez long",
            "sites": ["paris-15"],
        },
        headers=admin,
    )
    done.append(created)
    done.append(
        await client.patch(
            f"/api/v1/admin/agents/{created.json()['id']}", json={"active": False}, headers=admin
        )
    )
    assert [response.status_code for response in done] == [200, 200, 201, 201, 201, 200]
    async with db.session() as session:
        names = {
            agent.email: agent.name
            for agent in await session.scalars(select(Agent).where(Agent.role != "reception"))
        }
    return {"agent": str(created.json()["id"]), **names}


async def test_the_journal_says_each_change_in_words_in_paris_time(
    client: CLIENT, staff: Staff, changes: dict[str, str]
) -> None:
    await log_in(client, await staff.agent("admin"))

    page = await client.get("/admin/journal")
    text = visible(page.text)

    assert page.status_code == 200
    assert "a modifié les réglages de la mairie" in text
    assert "La part du temps des postes gardée pour les visiteurs sans rendez-vous : 35 %" in text
    assert "Pas de SMS à partir de : 20\u00a0h\u00a030" in text
    assert "a modifié les horaires du mardi" in text
    assert "Horaires : de 9\u00a0h\u00a030 à 12\u00a0h\u00a030" in text
    assert (
        "a fermé la mairie du jeudi 24 décembre 2026 à 8\u00a0h\u00a000 "
        "au jeudi 24 décembre 2026 à 20\u00a0h\u00a000" in text
    )
    assert "Motif : Réveillon" in text
    assert (
        "a mis le poste « Poste 1 » hors service du jeudi 10 décembre 2026 à 8\u00a0h\u00a000"
        in text
    )
    assert "a créé le compte de Jeanne Martin" in text
    assert "Rôle : Accueil" in text
    assert "Mairies : Mairie du 15e arrondissement" in text
    assert "a désactivé le compte de Jeanne Martin" in text
    assert "a ouvert une session" in text
    # When, in Paris time and in words; where, by the mairie's name.
    assert (
        '<time datetime="2026-12-01T09:30:00+01:00">'
        "mardi 1er décembre 2026 à 9\u00a0h\u00a030</time>" in page.text
    )
    assert "mardi 1er décembre 2026 à 9\u00a0h\u00a045" in text
    assert "Mairie du 15e arrondissement" in text
    # No code, no id, no JSON.
    assert not CODES.search(text), CODES.search(text)
    assert f"agent:{changes['agent']}" not in text
    assert "{" not in text
    assert "[" not in text
    assert "walk_in_percent" not in text


async def test_the_journal_s_filters_still_choose_its_lines(
    client: CLIENT, staff: Staff, changes: dict[str, str]
) -> None:
    await log_in(client, await staff.agent("manager", "paris-15"))

    agents = visible((await client.get("/admin/journal?action=agent.")).text)
    hours = visible((await client.get("/admin/journal?action=hours.&mairie=paris-15")).text)
    later = visible((await client.get("/admin/journal?du=2026-12-02")).text)

    assert "a désactivé le compte de Jeanne Martin" in agents
    assert "a modifié les horaires du mardi" not in agents
    assert "a modifié les horaires du mardi" in hours
    assert "a créé le compte de Jeanne Martin" not in hours
    assert "Aucune action ne correspond à ces critères." in later
