"""Following one's ticket on a phone, on both databases: each state of the tracking page
in plain words (the next one, the call with its station, the visit, its end, the closed
and cancelled ones), where the mairie is, and leaving the queue from the page (asked
once more, refused from another site) and from the API."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from app.db import Database
from app.queue.models import Ticket, TicketEvent
from tests.conftest import Clock, Staff
from tests.integration.test_queue_api import Desk, book

pytestmark = pytest.mark.usefixtures("tuesday_morning")
CLIENT = AsyncTestClient[object]
# What a resident's text never holds: the point médian, "(s)" plurals, a wait from 0.
SLIPS = ("·", "(s)", "0 à ", "1 minutes", "0 personne")


@pytest.fixture
def tuesday_morning(clock: Clock) -> None:
    clock.set("2026-12-01 09:00")


@pytest.fixture
async def desk(client: CLIENT, staff: Staff) -> Desk:
    return await Desk(client, staff).open()


def text_of(html: str) -> str:
    """The words of a page, tags out."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def title_of(html: str) -> str:
    found = re.search(r"<title>(.*?)</title>", html, re.S)
    assert found
    return " ".join(unescape(found.group(1)).split())


def heading_of(html: str) -> str:
    found = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S)
    assert found
    return text_of(found.group(1))


def no_slips(html: str) -> None:
    words = text_of(html)
    for slip in SLIPS:
        assert slip not in words, f"{slip!r} in {words}"


async def page(client: CLIENT, ticket: dict[str, Any], path: str = "") -> str:
    response = await client.get(f"/ticket/{ticket['token']}{path}")
    assert response.status_code == 200, response.text
    return response.text


async def test_a_waiting_ticket_shows_its_place_the_ticket_and_where_the_mairie_is(
    desk: Desk,
) -> None:
    first = await desk.walk_in()
    second = await desk.walk_in()
    mine = await desk.walk_in()

    html = await page(desk.client, mine)
    first_page = await page(desk.client, first)
    second_page = await page(desk.client, second)

    assert heading_of(html) == "Vous êtes dans la file d'attente"
    assert "Il y a <strong>2</strong> personnes avant vous." in html
    assert "Il y a <strong>1</strong> personne avant vous." in second_page
    assert 'class="ticket-number"' in html
    assert f"</span>{mine['number']}</p>" in html
    assert "Démarches CAF en ligne" in html
    assert "Mairie du 15e arrondissement" in html
    assert "31 rue Péclet, 75015 Paris" in html
    # The demo mairies have their position: the map shows it.
    assert "https://www.openstreetmap.org/?mlat=48.84120&amp;mlon=2.29910" in html
    assert 'href="/mairies/paris-15"' in html
    assert f'href="/ticket/{mine["token"]}/quitter"' in html
    assert 'aria-live="polite"' in html
    assert '<script src="/static/live.js" defer></script>' in html
    assert '<script src="/static/tracking.js" defer></script>' in html
    # The first in line is the next one called, in words.
    assert heading_of(first_page) == "Vous êtes la prochaine personne appelée"
    assert title_of(first_page).startswith(f"Bientôt votre tour – ticket {first['number']}")
    for shown in (html, first_page, second_page):
        no_slips(shown)


async def test_a_call_changes_the_heading_the_title_and_is_an_alert_with_the_station(
    desk: Desk,
) -> None:
    ticket = await desk.walk_in()
    waiting = await page(desk.client, ticket, "/etat")
    called = (await desk.call("Poste 3")).json()

    html = await page(desk.client, ticket)
    state = await page(desk.client, ticket, "/etat")
    recalled = await desk.act(called, "recall")
    again = await page(desk.client, ticket, "/etat")

    assert 'data-status="waiting"' in waiting
    assert heading_of(html) == "C'est votre tour"
    assert title_of(html) == (
        f"C'est votre tour : Poste 3 – ticket {ticket['number']} – "
        "Facilitation numérique, mairies de Paris"
    )
    assert '<div class="turn" role="alert">' in state
    assert '<p class="turn-station">Poste 3</p>' in state
    assert "Présentez-vous au <strong>Poste 3</strong>" in state
    assert 'data-status="called" data-calls="1"' in state
    assert f"data-title=\"C'est votre tour : Poste 3 – ticket {ticket['number']}" in state
    assert "/quitter" not in state  # a called person is expected at the station
    assert recalled.status_code == 200
    assert 'data-calls="2"' in again  # the script vibrates once per call
    assert "Nouvel appel" in again
    no_slips(html)


async def test_the_visit_its_end_and_an_absence_read_in_plain_words(desk: Desk) -> None:
    served = await desk.walk_in()
    absent = await desk.walk_in()
    called = (await desk.call("Poste 1")).json()
    other = (await desk.call("Poste 2")).json()
    await desk.act(called, "start")

    serving = await page(desk.client, served)
    await desk.act(called, "finish")
    done = await page(desk.client, served)
    await desk.act(other, "no-show")
    no_show = await page(desk.client, absent)

    assert heading_of(serving) == "Votre visite est en cours"
    assert "C'est à vous, au <strong>Poste 1</strong> : on s'occupe de vous" in unescape(serving)
    assert heading_of(done) == "Votre visite est terminée"
    assert f'href="/ticket/{served["token"]}/avis"' in done
    assert "Donner votre avis sur l'aide reçue" in unescape(done)
    assert heading_of(no_show) == "Votre tour est passé"
    assert "Adressez-vous à l'accueil" in unescape(no_show)
    for shown in (serving, done, no_show):
        no_slips(shown)
        assert "/quitter" not in shown


async def test_leaving_the_queue_is_asked_once_more_then_done_and_the_others_move_up(
    desk: Desk, db: Database
) -> None:
    mine = await desk.walk_in()
    behind = await desk.walk_in()
    asked = await desk.client.get(f"/ticket/{mine['token']}/quitter")

    left = await desk.client.post(f"/ticket/{mine['token']}/quitter", follow_redirects=False)
    after = await page(desk.client, mine)
    queue = (await desk.client.get("/api/v1/sites/paris-15/queue", headers=desk.reception)).json()
    moved_up = await page(desk.client, behind)
    again = await desk.client.post(f"/ticket/{mine['token']}/quitter")
    async with db.session() as session:
        ticket = await session.scalar(select(Ticket).where(Ticket.token == mine["token"]))
        assert ticket is not None
        history = list(
            await session.scalars(
                select(TicketEvent)
                .where(TicketEvent.ticket_id == ticket.id)
                .order_by(TicketEvent.seq)
            )
        )

    assert asked.status_code == 200
    assert heading_of(asked.text) == "Voulez-vous vraiment quitter la file ?"
    assert f'<form method="post" action="/ticket/{mine["token"]}/quitter"' in asked.text
    assert "Non, garder ma place" in asked.text
    assert asked.headers["cache-control"] == "no-store"
    assert left.status_code == 303
    assert left.headers["location"] == f"/ticket/{mine['token']}"
    assert heading_of(after) == "Ce ticket est annulé"
    assert 'href="/mairies/paris-15/rendez-vous"' in after
    assert ticket.status == "cancelled"
    assert [event.action for event in history] == ["issued", "cancel"]
    assert history[-1].agent_id is None
    assert [t["number"] for t in queue["waiting"]] == [behind["number"]]
    assert heading_of(moved_up) == "Vous êtes la prochaine personne appelée"
    assert again.status_code == 409
    assert heading_of(again.text) == "Vous ne pouvez plus quitter la file"
    assert "Vous avez déjà quitté la file" in again.text
    no_slips(after)


async def test_a_called_ticket_can_no_longer_leave_and_a_post_from_another_site_is_refused(
    desk: Desk,
) -> None:
    mine = await desk.walk_in()
    other = await desk.walk_in()
    forged = await desk.client.post(
        f"/ticket/{other['token']}/quitter",
        headers={"Sec-Fetch-Site": "cross-site"},
        follow_redirects=False,
    )
    await desk.call("Poste 2")

    refused = await desk.client.post(f"/ticket/{mine['token']}/quitter", follow_redirects=False)
    asked = await desk.client.get(f"/ticket/{mine['token']}/quitter")
    still = (await desk.client.get(f"/api/v1/tickets/{mine['token']}")).json()
    other_still = (await desk.client.get(f"/api/v1/tickets/{other['token']}")).json()
    unknown = await desk.client.get("/ticket/" + "y" * 32 + "/quitter")

    assert forged.status_code == 403
    assert other_still["status"] == "waiting"
    assert refused.status_code == 409
    assert "présentez-vous au <strong>Poste 2</strong>" in unescape(refused.text)
    assert "<form" not in refused.text.split("<main", 1)[1]
    assert heading_of(asked.text) == "Vous ne pouvez plus quitter la file"
    assert still["status"] == "called"
    assert unknown.status_code == 404
    assert "Page introuvable" in unknown.text


async def test_leaving_through_the_api_answers_cancelled_then_409_and_404_for_no_ticket(
    desk: Desk,
) -> None:
    mine = await desk.walk_in()
    called = await desk.walk_in()
    await desk.call("Poste 1")  # calls `mine`, the first in line
    path = "/api/v1/tickets/{}/leave"

    refused_called = await desk.client.post(path.format(mine["token"]))
    left = await desk.client.post(path.format(called["token"]))
    twice = await desk.client.post(path.format(called["token"]))
    unknown = await desk.client.post(path.format("z" * 32))
    tracked = (await desk.client.get(f"/api/v1/tickets/{called['token']}")).json()

    assert refused_called.status_code == 409
    assert refused_called.json()["code"] == "cannot_leave"
    assert refused_called.headers["content-type"].startswith("application/problem+json")
    assert left.status_code == 200
    assert left.json() == {"status": "cancelled"}
    assert tracked["status"] == "cancelled"
    assert twice.status_code == 409
    assert twice.json()["code"] == "cannot_leave"
    assert unknown.status_code == 404


async def test_a_checked_in_appointment_follows_its_ticket_out_of_the_queue(
    desk: Desk, clock: Clock
) -> None:
    booked = await book(desk.client, "2026-12-01T11:30:00+01:00")
    clock.set("2026-12-01 11:20")
    checked_in = await desk.client.post(
        "/api/v1/sites/paris-15/check-ins",
        json={"reference": booked["reference"]},
        headers=desk.reception,
    )
    assert checked_in.status_code == 201, checked_in.text

    left = await desk.client.post(f"/api/v1/tickets/{checked_in.json()['token']}/leave")
    appointment = (await desk.client.get(f"/api/v1/appointments/{booked['token']}")).json()

    assert left.status_code == 200
    assert appointment["status"] == "cancelled"


async def test_a_ticket_still_waiting_at_closing_time_says_so_and_offers_to_book(
    desk: Desk, clock: Clock, db: Database
) -> None:
    from app.queue.closing import close_waiting

    mine = await desk.walk_in()
    clock.set("2026-12-01 23:00")
    assert await close_waiting(db, clock()) == 1

    html = await page(desk.client, mine)

    assert heading_of(html) == "La mairie a fermé avant votre tour"
    assert 'href="/mairies/paris-15/rendez-vous"' in html
    assert title_of(html).startswith("Mairie fermée")
    no_slips(html)
