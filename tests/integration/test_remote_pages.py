"""The queue from a phone, as pages, on both databases: joining from the mairie's page
(a cookie keeps the ticket's link until midnight; each refusal keeps the form as typed
and says why), the tracking page of a ticket whose holder is not there yet (when to
leave home; held: come before a time), the number confirmed by the first text's link,
and arriving with the mairie's code from the tracking page or the lobby's QR code."""

from __future__ import annotations

import re
from datetime import datetime
from html import unescape
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from litestar.testing import AsyncTestClient

from app.config import Settings
from app.db import Database
from app.queue import arrival_codes, remote
from app.queue.models import Ticket, TicketStatus
from app.queue.pages import leave_home_at
from app.queue.views import ticket_by_token
from tests.conftest import Clock, Staff
from tests.integration.test_queue_api import Desk

CLIENT = AsyncTestClient[object]
PARIS = ZoneInfo("Europe/Paris")
# 2026-12-01 is a Tuesday; the 15e opens 8 h 30 – 17 h 00 on weekdays.
MORNING = "2026-12-01 09:00"
PHONE = "06 12 34 56 78"
JOIN = "/mairies/paris-15/file"
FORM = {"service": "caf", "telephone": PHONE, "trajet": "20"}


def text_of(html: str) -> str:
    """The words of a page, tags out."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def heading_of(html: str) -> str:
    found = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S)
    assert found
    return text_of(found.group(1))


@pytest.fixture(autouse=True)
def morning(clock: Clock) -> None:
    clock.set(MORNING)


async def joined(client: CLIENT, **fields: Any) -> str:
    """A ticket taken from the join page: its token."""
    response = await client.post(JOIN, data={**FORM, **fields}, follow_redirects=False)
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith("/ticket/")
    return location.removeprefix("/ticket/")


async def ticket_of(db: Database, token: str) -> Ticket:
    async with db.session() as session:
        return await ticket_by_token(session, token)


def code_now(settings: Settings, site_id: int, clock: Clock) -> str:
    return arrival_codes.arrival_code(settings.secret_key, site_id, clock())[0]


async def test_the_join_page_asks_the_demarche_the_number_and_the_travel_time(
    client: CLIENT,
) -> None:
    page = await client.get(JOIN)

    assert page.status_code == 200
    words = text_of(page.text)
    assert "Combien de temps vous faut-il pour venir ?" in words
    assert "Attente estimée" in words or "ne peut pas être estimée" in words
    assert 'name="service"' in page.text
    assert 'name="besoins"' in page.text
    assert re.search(r'<input type="tel" id="telephone" name="telephone"', page.text)
    for minutes in remote.TRAVEL_MINUTES:
        assert f'id="trajet-{minutes}" value="{minutes}"' in page.text
    assert 'id="trajet-20" value="20" checked' in page.text
    assert "·" not in words


async def test_joining_leads_to_the_ticket_and_keeps_its_link_in_a_cookie_until_midnight(
    client: CLIENT, db: Database
) -> None:
    response = await client.post(JOIN, data=FORM, follow_redirects=False)

    assert response.status_code == 303, response.text
    token = response.headers["location"].removeprefix("/ticket/")
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"guichet_ticket={token};")
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=lax", "path=/"} <= attributes
    assert "Max-Age=54000" in cookie  # 9 h 00 to midnight in Paris
    ticket = await ticket_of(db, token)
    assert ticket.status == TicketStatus.REMOTE
    assert (ticket.travel_minutes, ticket.phone) == (20, "+33612345678")


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"service": ""}, 400, "Choisissez une démarche."),
        ({"service": "nothing-of-the-sort"}, 400, "Choisissez une démarche."),
        ({"telephone": "01 42 76 40 40"}, 400, "Les SMS ne partent que vers un numéro de portable"),
        ({"telephone": "not a number"}, 400, "Ce numéro de téléphone n'est pas valide."),
        ({"telephone": ""}, 400, "Indiquez votre numéro de portable"),
        ({"trajet": "25"}, 400, "Dites combien de temps il vous faut pour venir."),
        ({"besoins": "not-a-need"}, 400, "Une des aides cochées n'est plus proposée"),
    ],
)
async def test_a_refused_join_shows_the_form_again_as_typed_with_why(
    client: CLIENT, fields: dict[str, str], status: int, message: str
) -> None:
    sent = {**FORM, "besoins": "fauteuil", **fields}

    page = await client.post(JOIN, data=sent, follow_redirects=False)

    assert page.status_code == status, page.text
    assert message in text_of(page.text)
    assert "<form" in page.text
    assert f'value="{unescape(sent["telephone"])}"' in page.text
    assert 'id="besoin-fauteuil" value="fauteuil" checked' in page.text or fields.get("besoins")
    if sent["service"] == "caf":
        assert 'id="demarche-caf" value="caf" checked' in page.text
    assert "set-cookie" not in page.headers


async def test_a_number_holding_a_ticket_is_refused_with_409_and_the_form_kept(
    client: CLIENT,
) -> None:
    await joined(client)
    client.cookies.clear()

    again = await client.post("/mairies/paris-20/file", data=FORM, follow_redirects=False)

    assert again.status_code == 409
    assert "a déjà un ticket dans la file d'une mairie aujourd'hui" in text_of(again.text)
    assert f'value="{PHONE}"' in again.text
    assert 'aria-invalid="true"' in again.text


async def test_a_closed_mairie_says_when_it_opens_and_offers_booking_instead(
    client: CLIENT, clock: Clock
) -> None:
    clock.set("2026-12-01 07:45")

    page = await client.get(JOIN)
    refused = await client.post(JOIN, data=FORM, follow_redirects=False)

    words = text_of(page.text)
    assert page.status_code == 200
    assert "La mairie est fermée en ce moment" in words
    assert "Elle ouvre aujourd'hui à 8 h 30." in words
    assert 'href="/mairies/paris-15/rendez-vous"' in page.text
    assert "<form" not in page.text  # nothing to fill in that would be refused
    assert refused.status_code == 409
    assert "La mairie est fermée en ce moment" in text_of(refused.text)
    assert f'value="{PHONE}"' in refused.text  # kept as typed, for later


async def test_the_mairie_page_offers_a_ticket_from_a_phone_only_while_one_may_join(
    client: CLIENT, clock: Clock
) -> None:
    open_page = await client.get("/mairies/paris-15")
    clock.set("2026-12-01 07:45")
    closed_page = await client.get("/mairies/paris-15")

    assert "Prendre un ticket à distance" in open_page.text
    assert 'href="/mairies/paris-15/file"' in open_page.text
    assert "Prendre un ticket à distance" not in closed_page.text


async def test_a_remote_ticket_s_page_says_it_is_not_there_yet_and_asks_the_code(
    client: CLIENT,
) -> None:
    token = await joined(client)

    page = await client.get(f"/ticket/{token}")

    assert page.status_code == 200
    assert heading_of(page.text) == "Vous n'êtes pas encore arrivé"
    assert f'action="/ticket/{token}/arrivee"' in page.text
    assert re.search(r'<input type="text" id="code" name="code" inputmode="numeric"', page.text)
    assert "Le code affiché sur l'écran de la mairie ou à l'accueil" in text_of(page.text)
    assert f'href="/ticket/{token}/quitter"' in page.text
    # First in line, nobody before: said in words, never "0 personne avant vous".
    assert "Personne n'attend avant vous : venez dès maintenant." in text_of(page.text)
    assert "0 personne" not in text_of(page.text)
    state = await client.get(f"/ticket/{token}/etat")
    assert 'name="code"' not in state.text  # the refreshed part never holds the form


def test_one_is_told_to_leave_home_the_travel_time_before_the_estimate_in_fives() -> None:
    now = datetime(2026, 12, 1, 9, 3, tzinfo=PARIS)

    at = leave_home_at(now, (58, 70), 20)

    assert at == datetime(2026, 12, 1, 9, 40, tzinfo=PARIS)
    assert leave_home_at(now, None, 20) is None


async def test_a_ticket_passed_over_while_away_says_come_before_the_end_of_the_window(
    client: CLIENT, staff: Staff, clock: Clock
) -> None:
    desk = await Desk(client, staff).open()
    token = await joined(client)
    clock.set("2026-12-01 09:05")
    await desk.walk_in()
    await desk.call()

    page = await client.get(f"/ticket/{token}")

    words = text_of(page.text)
    assert heading_of(page.text) == "C'est votre tour"
    assert "Présentez-vous à l'accueil de la mairie avant 9 h 20" in words
    assert 'role="alert"' in page.text
    assert f'action="/ticket/{token}/arrivee"' in page.text


async def test_the_first_text_s_link_confirms_the_number_and_a_wrong_one_does_not(
    client: CLIENT, db: Database, settings: Settings
) -> None:
    token = await joined(client)
    wrong = await client.get(f"/ticket/{token}", params={"confirmer": "0" * 12})
    still = await ticket_of(db, token)
    good = await client.get(
        f"/ticket/{token}",
        params={"confirmer": remote.confirmation_code(settings.secret_key, token)},
    )

    assert wrong.status_code == good.status_code == 200
    assert still.confirmed_at is None
    assert "Ce lien ne confirme pas votre numéro" in text_of(wrong.text)
    assert (await ticket_of(db, token)).confirmed_at is not None
    assert "Votre numéro de portable est confirmé" in text_of(good.text)


async def test_arriving_with_the_code_of_the_moment_puts_the_ticket_in_line(
    client: CLIENT, db: Database, settings: Settings, clock: Clock
) -> None:
    token = await joined(client)
    site_id = (await ticket_of(db, token)).site_id

    wrong = await client.post(f"/ticket/{token}/arrivee", data={"code": "000 000"})
    still = await ticket_of(db, token)
    good = await client.post(
        f"/ticket/{token}/arrivee",
        data={"code": code_now(settings, site_id, clock)},
        follow_redirects=False,
    )

    assert wrong.status_code == 403
    assert "Ce n'est pas le code affiché en ce moment à la mairie" in text_of(wrong.text)
    assert 'aria-invalid="true"' in wrong.text
    assert still.status == TicketStatus.REMOTE
    assert good.status_code == 303
    assert good.headers["location"] == f"/ticket/{token}"
    assert (await ticket_of(db, token)).status == TicketStatus.WAITING
    page = await client.get(f"/ticket/{token}")
    assert heading_of(page.text) != "Vous n'êtes pas encore arrivé"
    assert 'name="code"' not in page.text


async def test_the_lobby_s_qr_code_gives_the_holder_one_button_to_arrive(
    client: CLIENT, db: Database, settings: Settings, clock: Clock
) -> None:
    token = await joined(client)  # the browser keeps the ticket's link
    code = code_now(settings, (await ticket_of(db, token)).site_id, clock)

    page = await client.get("/arrivee/paris-15", params={"code": code})
    arrived = await client.post(
        f"/ticket/{token}/arrivee", data={"code": code}, follow_redirects=False
    )

    assert page.status_code == 200
    assert heading_of(page.text) == "Vous êtes à la mairie ?"
    assert f'action="/ticket/{token}/arrivee"' in page.text
    assert f'<input type="hidden" name="code" value="{code}">' in page.text
    assert "Je suis arrivé" in page.text
    assert arrived.status_code == 303
    assert (await ticket_of(db, token)).status == TicketStatus.WAITING


async def test_the_qr_code_without_the_ticket_s_cookie_says_to_open_the_text_s_link(
    client: CLIENT, db: Database, settings: Settings, clock: Clock
) -> None:
    token = await joined(client)
    code = code_now(settings, (await ticket_of(db, token)).site_id, clock)
    client.cookies.clear()

    page = await client.get("/arrivee/paris-15", params={"code": code})
    wrong = await client.get("/arrivee/paris-15", params={"code": "000000"})
    elsewhere = await client.get("/arrivee/paris-20", params={"code": code})

    assert page.status_code == 200
    assert heading_of(page.text) == "Ouvrez le lien reçu par SMS"
    assert token not in page.text
    assert "<form" not in page.text.split('id="contenu"')[1]
    # Without a ticket here, every code gets the same page: it tells nobody which holds.
    assert (wrong.status_code, heading_of(wrong.text)) == (200, heading_of(page.text))
    assert (elsewhere.status_code, heading_of(elsewhere.text)) == (200, heading_of(page.text))


async def test_a_stale_qr_code_says_to_scan_again(
    client: CLIENT, db: Database, settings: Settings, clock: Clock
) -> None:
    token = await joined(client)
    stale = code_now(settings, (await ticket_of(db, token)).site_id, clock)
    clock.set("2026-12-01 09:11")

    page = await client.get("/arrivee/paris-15", params={"code": stale})

    assert page.status_code == 400
    assert heading_of(page.text) == "Ce code n'est plus valable"
    assert "scannez à nouveau le QR code" in text_of(page.text)
    assert f'action="/ticket/{token}/arrivee"' not in page.text


async def test_codes_tried_on_the_qr_code_s_page_count_toward_the_ticket_s_lock(
    client: CLIENT, db: Database, settings: Settings, clock: Clock
) -> None:
    # The page tells the holder whether a code holds: each wrong one is a miss, as on the
    # ticket's page, so that trying codes from home there ends in the same lock.
    token = await joined(client)
    code = code_now(settings, (await ticket_of(db, token)).site_id, clock)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    blank = await client.post(f"/api/v1/tickets/{token}/arrive", json={"code": "   "})
    misses = [(await client.get("/arrivee/paris-15", params={"code": wrong})) for _ in range(10)]
    counted = (await ticket_of(db, token)).arrival_misses
    right = await client.get("/arrivee/paris-15", params={"code": code})
    empty = await client.get("/arrivee/paris-15", params={"code": ""})
    typed = await client.post(
        f"/ticket/{token}/arrivee", data={"code": code}, follow_redirects=False
    )

    assert (blank.status_code, blank.json()["code"]) == (403, "arrival_code")  # uncounted
    assert [page.status_code for page in misses] == [400] * 10
    assert counted == 10
    assert (empty.status_code, heading_of(empty.text)) == (403, heading_of(right.text))
    assert right.status_code == 403
    assert heading_of(right.text) == "Montrez votre ticket à l'accueil"
    number = (await ticket_of(db, token)).number
    assert f"Votre ticket <strong>{number}</strong>, Mairie du 15e arrondissement." in right.text
    assert f'action="/ticket/{token}/arrivee"' not in right.text
    assert typed.status_code == 403
    assert (await ticket_of(db, token)).status == TicketStatus.REMOTE


async def test_a_ticket_s_cookie_that_leads_nowhere_counts_against_the_lookups_budget(
    database_url: str, db: Database, clock: Clock
) -> None:
    from app.asgi import create_app
    from tests.conftest import make_settings

    settings = make_settings(database_url, token_lookups_per_minute=3)
    async with AsyncTestClient(app=create_app(settings, clock=clock)) as guesser:
        token = await joined(guesser)
        code = code_now(settings, (await ticket_of(db, token)).site_id, clock)
        own = [
            (await guesser.get("/arrivee/paris-15", params={"code": code})).status_code
            for _ in range(4)
        ]
        guesses = []
        for n in range(4):
            guesser.cookies.set("guichet_ticket", f"guessed-token-{n:04d}-abcdefghijklmnop")
            guesses.append((await guesser.get("/arrivee/paris-15")).status_code)
        guesser.cookies.set("guichet_ticket", token)

    assert own == [200] * 4  # one's own ticket, again and again: given back each time
    assert guesses == [200, 200, 200, 429]
