"""Loose ends of the residents' side, on both databases: a ticket forced while the mairie
is closed promises no wait but says when it opens; a checked-in appointment's ticket
speaks its holder's language; the lobby screen's state says whether the mairie is open,
a mangled screen key is shown uncounted rather than refused, and an unknown screen is a
French page; the home search drops control and format characters."""

from __future__ import annotations

import logging
import re
from datetime import datetime
from html import unescape
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from app.db import Database
from app.live.api import screen_key
from app.queue.models import Ticket
from app.sites.models import Closure, Site
from tests.conftest import Clock, Staff
from tests.integration.test_queue_api import Desk

CLIENT = AsyncTestClient[object]
PARIS = ZoneInfo("Europe/Paris")
FORCED = {"force_reason": "Rendez-vous avec l'assistante sociale"}
# 2026-12-01 is a Tuesday; the 15e opens 8 h 30 – 17 h 00 on weekdays, not at weekends.
BEFORE_OPENING = "2026-12-01 07:45"
AFTER_CLOSING = "2026-12-01 18:10"
FRIDAY_EVENING = "2026-12-04 18:10"
MORNING = "2026-12-01 09:00"


async def desk_at(client: CLIENT, staff: Staff, clock: Clock, now: str) -> Desk:
    """Reception and a facilitator of the 15e, logged in at `now` (their tokens last an
    hour: the clock is set first)."""
    clock.set(now)
    return await Desk(client, staff).open()


def text_of(html: str) -> str:
    """The words of a page, tags out, no-break spaces as spaces."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).replace("\u00a0", " ").split())


async def tracking(client: CLIENT, ticket: dict[str, Any], path: str = "") -> str:
    response = await client.get(f"/ticket/{ticket['token']}{path}")
    assert response.status_code == 200, response.text
    return text_of(response.text)


# 1. The tracking page of a ticket forced while the mairie is closed


async def test_a_ticket_forced_before_opening_promises_no_wait_and_says_when_it_opens(
    client: CLIENT, staff: Staff, clock: Clock
) -> None:
    desk = await desk_at(client, staff, clock, BEFORE_OPENING)
    mine = await desk.walk_in(**FORCED)

    page = await tracking(desk.client, mine)
    state = await tracking(desk.client, mine, "/etat")

    for shown in (page, state):
        assert "Attente estimée" not in shown
        assert "dans un instant" not in shown
        assert "va bientôt s'afficher" not in shown
        assert "La mairie est fermée en ce moment : l'attente ne peut pas être estimée." in shown
        assert "Elle ouvre aujourd'hui à 8 h 30." in shown
    assert "Bientôt votre tour" not in page


async def test_a_ticket_forced_after_closing_says_the_next_day_it_opens(
    client: CLIENT, staff: Staff, clock: Clock
) -> None:
    desk = await desk_at(client, staff, clock, AFTER_CLOSING)
    tuesday = await desk.walk_in(**FORCED)
    tuesday_page = await tracking(desk.client, tuesday)
    desk = await desk_at(client, staff, clock, FRIDAY_EVENING)
    friday = await desk.walk_in(**FORCED)
    friday_page = await tracking(desk.client, friday)

    assert "Attente estimée" not in tuesday_page
    assert "Prochaine ouverture : mercredi 2 décembre 2026 à 8 h 30." in tuesday_page
    # The weekend is skipped: the 15e is closed on Saturdays and Sundays.
    assert "Prochaine ouverture : lundi 7 décembre 2026 à 8 h 30." in friday_page


async def test_a_mairie_closed_for_weeks_says_it_is_closed_without_an_opening_it_cannot_know(
    client: CLIENT, staff: Staff, clock: Clock, db: Database
) -> None:
    desk = await desk_at(client, staff, clock, AFTER_CLOSING)
    async with db.writing() as session:
        site = await session.scalar(select(Site).where(Site.slug == "paris-15"))
        assert site is not None
        session.add(
            Closure(
                site_id=site.id,
                starts_at=datetime(2026, 12, 2, 0, 0, tzinfo=PARIS),
                ends_at=datetime(2027, 1, 4, 0, 0, tzinfo=PARIS),
                reason="Travaux",
            )
        )
    mine = await desk.walk_in(**FORCED)

    page = await tracking(desk.client, mine)

    assert "Attente estimée" not in page
    assert "La mairie est fermée en ce moment : l'attente ne peut pas être estimée." in page
    assert "ouvre aujourd'hui" not in page
    assert "Prochaine ouverture" not in page


async def test_while_the_mairie_is_open_the_estimate_is_still_given(
    client: CLIENT, staff: Staff, clock: Clock
) -> None:
    desk = await desk_at(client, staff, clock, MORNING)
    mine = await desk.walk_in()

    page = await tracking(desk.client, mine)

    assert "Attente estimée : votre tour arrive dans un instant." in page
    assert "fermée en ce moment" not in page


# 2. A checked-in appointment's ticket keeps the language it was booked in


@pytest.mark.parametrize("language", ["en", "fr"])
async def test_checking_in_gives_the_ticket_the_language_of_the_appointment(
    client: CLIENT, staff: Staff, clock: Clock, db: Database, language: str
) -> None:
    clock.set(MORNING)
    booked = await client.post(
        f"/api/v1/appointments?lang={language}",
        json={
            "site": "paris-15",
            "service": "caf",
            "start": "2026-12-01T11:30:00+01:00",
            "name": "Jane Doe",
            "email": "jane@example.org",
        },
    )
    assert booked.status_code == 201, booked.text
    desk = await desk_at(client, staff, clock, "2026-12-01 11:20")

    checked_in = await desk.client.post(
        "/api/v1/sites/paris-15/check-ins",
        json={"reference": booked.json()["reference"]},
        headers=desk.reception,
    )

    assert checked_in.status_code == 201, checked_in.text
    async with db.session() as session:
        ticket = await session.scalar(
            select(Ticket).where(Ticket.token == checked_in.json()["token"])
        )
        assert ticket is not None
        assert ticket.language == language


# 3. The lobby screen


@pytest.mark.parametrize(
    ("now", "opening"),
    [
        (MORNING, {"open": True, "opens_at": None, "today": False}),
        (
            BEFORE_OPENING,
            {"open": False, "opens_at": "2026-12-01T08:30:00+01:00", "today": True},
        ),
        (
            FRIDAY_EVENING,
            {"open": False, "opens_at": "2026-12-07T08:30:00+01:00", "today": False},
        ),
    ],
)
async def test_the_screens_state_says_whether_the_mairie_is_open_and_when_it_opens(
    client: CLIENT, clock: Clock, now: str, opening: dict[str, Any]
) -> None:
    clock.set(now)

    body = (await client.get("/api/v1/sites/paris-15/display")).json()

    assert body["opening"] == opening
    assert {"seq", "called", "waiting"} <= set(body)


def test_a_malformed_screen_key_is_no_key_and_is_logged_without_itself(
    caplog: pytest.LogCaptureFixture,
) -> None:
    paired = "Zx8_-kq0" * 4
    mangled = ["abc.def", "key with spaces", "clé", "a" * 101, "x<script>"]

    with caplog.at_level(logging.WARNING, logger="guichet.live"):
        kept = screen_key({"query_string": f"ecran={paired}&kiosque=1".encode()})
        dropped = [screen_key({"query_string": f"ecran={key}".encode()}) for key in mangled]
        huge = screen_key({"query_string": b"ecran=" + b"a" * 2000})
        none = screen_key({"query_string": b"rows=abc&page=-1"})

    assert kept == paired
    assert dropped == [None] * len(mangled)
    assert huge is None
    assert none is None
    logged = caplog.text
    assert logged.count("malformed screen key") == len(mangled) + 1
    for key in mangled:
        assert key not in logged
    assert "aaaaaaaaaa" not in logged


@pytest.mark.parametrize(
    ("path", "status", "heading"),
    [
        ("/display/nulle-part", 404, "Page introuvable"),
        # No mairie's identifier has that shape: refused, in a page all the same.
        ("/display/Paris%2015", 400, "Demande impossible"),
        ("/display/" + "a" * 60, 400, "Demande impossible"),
    ],
)
async def test_an_unknown_screen_is_a_french_page(
    client: CLIENT, path: str, status: int, heading: str
) -> None:
    response = await client.get(path, headers={"Accept": "text/html"})

    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert '<html lang="fr">' in response.text
    assert re.search(rf"<h1[^>]*>\s*{heading}\s*</h1>", response.text)


# 4. The home search


@pytest.mark.parametrize(
    ("query", "searched"),
    [
        ("\u202e75\u200b015\x00\x1b\r\n", "75015"),
        ("31\true Pé\u00adclet\x07", "31 rue Péclet"),
    ],
)
async def test_the_home_search_drops_control_and_format_characters(
    client: CLIENT, query: str, searched: str
) -> None:
    response = await client.get("/", params={"q": query})

    assert response.status_code == 200
    html = response.text
    for char in ("\x00", "\x07", "\x1b", "\u00ad", "\u200b", "\u202e", "\r", "\t"):
        assert char not in html
    # What is left is what is searched for, and shown again as it was searched.
    assert f'value="{searched}"' in html
    assert f"Pour « {searched} » : la Mairie du 15e arrondissement" in text_of(html)


async def test_the_home_search_keeps_its_length_bound_after_cleaning(client: CLIENT) -> None:
    query = "\x00" * 500 + "15" + "e" * 200

    response = await client.get("/", params={"q": query})

    assert response.status_code == 200
    shown = re.search(r'<input type="search" id="q" name="q" value="([^"]*)"', response.text)
    assert shown is not None
    assert shown.group(1) == "15" + "e" * 98
