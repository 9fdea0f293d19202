"""A page per mairie and the home's search, through the app on both databases."""

from __future__ import annotations

import re
from datetime import time
from html import unescape

from litestar.testing import AsyncTestClient
from sqlalchemy import select

from app.db import Database
from app.sites.demo import load_demo
from app.sites.models import HoursException, Site
from tests.conftest import DEMO_DAY, Clock
from tests.integration.test_busy_hours import RUSH, add_tickets, arrivals

HTML = "text/html"


def text_of(html: str) -> str:
    """The page's words, tags taken away and spaces squeezed as a browser squeezes them
    (a no-break space, as in "8\u00a0h\u00a030", is kept)."""
    return re.sub(r"[ \t\r\n\f]+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


async def test_the_page_of_a_mairie_says_where_it_is_and_how_to_come(
    client: AsyncTestClient[object], clock: Clock
) -> None:
    clock.set("2026-12-01 10:00")

    response = await client.get("/mairies/paris-15")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith(HTML)
    page = text_of(response.text)
    assert "Mairie du 15e arrondissement" in page
    assert "31 rue Péclet, 75015 Paris" in page
    assert "Métro Vaugirard (ligne 12)" in page
    assert (
        "https://www.openstreetmap.org/?mlat=48.84120&amp;mlon=2.29910#map=17/48.84120/2.29910"
        in response.text
    )
    assert 'href="/mairies/paris-15/rendez-vous"' in response.text
    assert "Venir sans rendez-vous" in page
    assert "Une pièce d'identité" in page


async def test_the_page_says_the_mairie_is_open_now_and_until_when(
    client: AsyncTestClient[object], clock: Clock
) -> None:
    clock.set("2026-12-03 18:00")  # a Thursday: open late

    page = text_of((await client.get("/mairies/paris-15")).text)

    assert "Ouvert en ce moment, jusqu'à 19\u00a0h\u00a030." in page
    assert "jeudi : 8\u00a0h\u00a030 – 19\u00a0h\u00a030" in page


async def test_on_a_sunday_the_page_says_closed_and_when_it_opens_next(
    client: AsyncTestClient[object], clock: Clock
) -> None:
    clock.set("2026-12-06 11:00")

    page = text_of((await client.get("/mairies/paris-15")).text)

    assert "Fermé aujourd'hui." in page
    assert "Prochaine ouverture : lundi 7 décembre 2026 à 8\u00a0h\u00a030." in page


async def test_before_opening_the_page_says_when_it_opens_today(
    client: AsyncTestClient[object], clock: Clock
) -> None:
    clock.set("2026-12-01 07:45")

    page = text_of((await client.get("/mairies/paris-15")).text)

    assert "Fermé en ce moment. Ouvre aujourd'hui à 8\u00a0h\u00a030." in page


async def test_holidays_and_exceptional_closures_of_the_next_two_months_are_listed(
    client: AsyncTestClient[object], clock: Clock, db: Database
) -> None:
    clock.set("2026-12-01 10:00")
    async with db.writing() as session:
        site = await session.scalar(select(Site).where(Site.slug == "paris-15"))
        assert site is not None
        session.add(
            HoursException(
                site_id=site.id, day=DEMO_DAY.replace(month=12, day=10), reason="Inventaire"
            )
        )
        session.add(
            HoursException(
                site_id=site.id,
                day=DEMO_DAY.replace(month=12, day=17),
                opens=time(8, 30),
                closes=time(12),
                reason="Conseil d'arrondissement",
            )
        )

    page = text_of((await client.get("/mairies/paris-15")).text)

    assert "jeudi 10 décembre 2026 : fermé (Inventaire)" in page
    assert (
        "jeudi 17 décembre 2026 : ouvert seulement : "
        "8\u00a0h\u00a030 – 12\u00a0h\u00a000 (Conseil d'arrondissement)" in page
    )
    assert "vendredi 25 décembre 2026 : fermé" in page
    assert "vendredi 1er janvier 2027 : fermé" in page
    assert "mardi 8 décembre" not in page


async def test_the_page_tells_how_many_stations_a_wheelchair_can_reach(
    client: AsyncTestClient[object],
) -> None:
    page = text_of((await client.get("/mairies/paris-15")).text)

    assert "La mairie a 6 postes d'accompagnement." in page
    assert "3 postes sont accessibles en fauteuil roulant." in page
    assert "2 postes ont deux écrans" in page


async def test_busy_hours_are_shown_in_words_with_the_commitment_to_publish_them(
    client: AsyncTestClient[object], clock: Clock, db: Database
) -> None:
    now = clock.set("2026-11-30 10:00")
    await add_tickets(db, "paris-15", arrivals(now.date(), RUSH))

    response = await client.get("/mairies/paris-15")

    page = text_of(response.text)
    assert "Services Publics+" in page
    assert "des 8 dernières semaines" in page
    row = re.search(
        r"10 h<span class=\"visually-hidden\"> à 11 h</span></th>(.*?)</tr>",
        response.text.replace("\u00a0", " "),
        re.S,
    )
    assert row is not None
    assert text_of(row.group(1)).split() == ["chargé"] * 5
    assert "calme" in page


async def test_without_enough_visits_the_page_says_it_does_not_know_yet(
    client: AsyncTestClient[object],
) -> None:
    page = text_of((await client.get("/mairies/paris-20")).text)

    assert "pas encore assez de visites" in page
    assert "<table" not in (await client.get("/mairies/paris-20")).text


async def test_an_unknown_mairie_is_the_french_page_not_found(
    client: AsyncTestClient[object],
) -> None:
    for address in ("/mairies/paris-21", "/mairies/PARIS%2015", "/mairies/" + "x" * 300):
        response = await client.get(address)

        assert response.status_code == 404, address
        assert response.headers["content-type"].startswith(HTML)
        assert "Page introuvable" in response.text


async def test_an_inactive_mairie_has_no_page(
    client: AsyncTestClient[object], db: Database
) -> None:
    async with db.writing() as session:
        site = await session.scalar(select(Site).where(Site.slug == "paris-7"))
        assert site is not None
        site.active = False

    response = await client.get("/mairies/paris-7")

    assert response.status_code == 404
    assert "Page introuvable" in response.text


async def test_the_home_search_puts_the_mairie_first_then_the_nearest(
    client: AsyncTestClient[object],
) -> None:
    response = await client.get("/", params={"q": "75015"})

    assert response.status_code == 200
    names = re.findall(r'<h3><a href="/mairies/([a-z0-9-]+)">', response.text)
    assert len(names) == 17
    assert names[0] == "paris-15"
    assert names[1] in {"paris-14", "paris-7", "paris-16"}
    assert names[-1] in {"paris-19", "paris-20"}
    assert re.search(r"à \d,\d km", text_of(response.text))


async def test_the_search_ignores_accents_and_case(client: AsyncTestClient[object]) -> None:
    for query in ("PANTHEON", "panthéon", "5e", "75005"):
        response = await client.get("/", params={"q": query})

        names = re.findall(r'<h3><a href="/mairies/([a-z0-9-]+)">', response.text)
        assert names[0] == "paris-5", query


async def test_a_search_matching_nothing_says_so_and_lists_every_mairie(
    client: AsyncTestClient[object],
) -> None:
    response = await client.get("/", params={"q": "<b>Lyon</b>"})

    assert response.status_code == 200
    assert "Aucune mairie ne correspond à « &lt;b&gt;Lyon&lt;/b&gt; »." in response.text
    assert "<b>Lyon</b>" not in response.text
    names = re.findall(r'<h3><a href="/mairies/([a-z0-9-]+)">', response.text)
    assert names[:2] == ["paris-centre", "paris-5"]
    assert len(names) == 17


async def test_the_home_offers_the_first_free_slot_in_any_mairie(
    client: AsyncTestClient[object],
) -> None:
    response = await client.get("/")

    assert '<form class="home-first" method="get" action="/premier-creneau">' in response.text
    assert '<select id="demarche" name="demarche"' in response.text
    assert '<option value="caf">Démarches CAF en ligne</option>' in response.text


async def test_the_demo_gives_an_older_database_its_positions_and_access(
    db: Database,
) -> None:
    async with db.writing() as session:
        site = await session.scalar(select(Site).where(Site.slug == "paris-18"))
        assert site is not None
        site.latitude = site.longitude = None
        site.access = ""
    async with db.writing() as session:
        await load_demo(session, today=DEMO_DAY)
    async with db.session() as session:
        site = await session.scalar(select(Site).where(Site.slug == "paris-18"))
        assert site is not None
        assert site.latitude is not None
        assert 48.88 < site.latitude < 48.90
        assert site.access.startswith("Métro Jules Joffrin")
