"""The queue from a phone at the desk: the reception console shows the arrival code of the
moment and the tickets taken from phones whose holders are not there yet (with those
passed over while away), and checks a holder in by the ticket's number."""

from __future__ import annotations

import html
from typing import Any
from zoneinfo import ZoneInfo

from litestar.testing import AsyncTestClient

from app.config import Settings
from app.queue import arrival_codes
from app.sites.service import get_site
from tests.conftest import Clock, Staff
from tests.integration.test_desk_loose_ends import desk, text_of

CLIENT = AsyncTestClient[object]


async def test_reception_shows_the_arrival_code_and_the_tickets_on_their_way_and_checks_one_in(
    client: CLIENT, staff: Staff, db: Any, clock: Clock, settings: Settings
) -> None:
    clock.set("2026-12-01 09:00")
    joined = await client.post(
        "/api/v1/sites/paris-15/remote-tickets",
        json={"service": "caf", "phone": "06 12 34 56 78", "travel_minutes": 30},
    )
    number = joined.json()["number"]
    csrf = await desk(client, staff, "reception", "/accueil/paris-15")
    async with db.session() as session:
        site = await get_site(session, "paris-15")
    code, until = arrival_codes.arrival_code(settings.secret_key, site.id, clock())
    shown_until = until.astimezone(ZoneInfo("Europe/Paris"))

    console = text_of(html.unescape((await client.get("/accueil/paris-15")).text))
    wrong = await client.post(
        "/accueil/paris-15/arrivees-a-distance",
        data={"csrf": csrf, "numero": "Z999"},
        follow_redirects=False,
    )
    arrived = await client.post(
        "/accueil/paris-15/arrivees-a-distance",
        data={"csrf": csrf, "numero": number.lower()},
        follow_redirects=False,
    )
    after = text_of(html.unescape((await client.get(arrived.headers["location"])).text))
    ticket = (await client.get(f"/api/v1/tickets/{joined.json()['token']}")).json()

    shown = f"{code[:3]} {code[3:]} (jusqu'à {shown_until.hour} h {shown_until:%M})"
    assert f"Code d'arrivée : {shown}" in console
    assert "En route : tickets pris à distance, pas encore arrivés" in console
    assert f"{number} " in console
    assert wrong.status_code == 303
    assert "erreur=" in wrong.headers["location"]
    assert arrived.status_code == 303
    assert "Arrivée enregistrée : ticket" in after
    assert "En route : tickets pris à distance" not in after
    assert ticket["status"] == "waiting"


async def test_a_number_missing_or_unknown_is_said_so_and_kept_in_its_field(
    client: CLIENT, staff: Staff, clock: Clock
) -> None:
    clock.set("2026-12-01 09:00")
    csrf = await desk(client, staff, "reception", "/accueil/paris-15")

    answers = [
        await client.post(
            "/accueil/paris-15/arrivees-a-distance", data={"csrf": csrf, "numero": typed}
        )
        for typed in ("  ", "A999", "😀")
    ]
    empty, unknown, emoji = (text_of(html.unescape(answer.text)) for answer in answers)

    assert "Indiquez le numéro du ticket, par exemple A012." in empty
    assert "Aucun ticket de ce numéro n'a été pris aujourd'hui dans cette mairie" in unknown
    assert 'id="numero" name="numero"' in answers[1].text
    assert 'value="A999"' in answers[1].text
    assert "Aucun ticket de ce numéro" in emoji
    assert "vérifiez la référence" not in unknown + emoji
