"""The first free slot in any mairie, through the API and its page, on both databases."""

from __future__ import annotations

import html
import re
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update

from app.asgi import create_app
from app.db import Database
from app.sites.models import Site, Station
from tests.conftest import Clock, make_settings

pytestmark = pytest.mark.usefixtures("monday_morning")

FIRST = "/api/v1/availability/first"
PAGE = "/premier-creneau"
MAIRIES = 17


@pytest.fixture
def monday_morning(clock: Clock) -> None:
    """Monday 30 November 2026, 08:00 in Paris."""
    clock.set("2026-11-30 08:00")


async def first(client: AsyncTestClient[object], **params: str) -> list[dict[str, Any]]:
    response = await client.get(FIRST, params={"service": "caf", **params})
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["slots"]
    return found


async def slots_of(client: AsyncTestClient[object], slug: str, **params: str) -> list[Any]:
    query = {"service": "caf", "from": "2026-11-30", "to": "2027-01-29", **params}
    response = await client.get(f"/api/v1/sites/{slug}/availability", params=query)
    assert response.status_code == 200, response.text
    return list(response.json()["slots"])


async def book(client: AsyncTestClient[object], slug: str, start: str, number: int) -> Any:
    body = {
        "site": slug,
        "service": "caf",
        "start": start,
        "name": f"Usager {number}",
        "email": f"usager{number}@example.org",
    }
    return await client.post("/api/v1/appointments", json=body)


# The API.


async def test_each_active_mairie_gives_its_first_free_slot_in_time_order(
    client: AsyncTestClient[object],
) -> None:
    found = await first(client)

    assert len(found) == MAIRIES
    assert len({item["site"] for item in found}) == MAIRIES
    starts = [datetime.fromisoformat(item["start"]) for item in found]
    assert starts == sorted(starts)
    assert found[0]["start"] == "2026-11-30T10:00:00+01:00"
    assert found[0]["end"] == "2026-11-30T10:30:00+01:00"
    assert all("distance_km" not in item for item in found)


async def test_each_first_slot_is_the_first_one_the_mairies_own_availability_offers(
    client: AsyncTestClient[object],
) -> None:
    needs = "accompagnement-long,fauteuil"
    found = {item["site"]: item for item in await first(client, needs=needs)}

    for slug in ("paris-15", "paris-19", "paris-centre"):
        own = (await slots_of(client, slug, needs=needs))[0]
        assert {"start": found[slug]["start"], "end": found[slug]["end"]} == own


async def test_a_booked_slot_moves_that_mairies_first_slot_on(
    client: AsyncTestClient[object],
) -> None:
    before = {item["site"]: item["start"] for item in await first(client)}
    taken = 0
    response = await book(client, "paris-15", before["paris-15"], 1)
    while response.status_code == 201:
        taken += 1
        response = await book(client, "paris-15", before["paris-15"], taken + 1)

    after = {item["site"]: item["start"] for item in await first(client)}

    assert response.status_code == 409
    assert taken >= 1
    assert after["paris-15"] > before["paris-15"]
    assert after["paris-15"] == (await slots_of(client, "paris-15"))[0]["start"]
    assert after["paris-7"] == before["paris-7"]


async def test_a_mairie_without_a_station_for_these_needs_is_left_out(
    client: AsyncTestClient[object], db: Database
) -> None:
    async with db.writing() as session:
        paris_15 = await session.scalar(select(Site.id).where(Site.slug == "paris-15"))
        await session.execute(
            update(Station).where(Station.site_id == paris_15).values(kind="standard")
        )

    plain = {item["site"] for item in await first(client)}
    long_help = {item["site"] for item in await first(client, needs="accompagnement-long")}

    assert "paris-15" in plain
    assert "paris-15" not in long_help
    assert len(long_help) == MAIRIES - 1


async def test_a_mairie_whose_whole_horizon_is_kept_for_walk_ins_is_left_out(
    client: AsyncTestClient[object], db: Database
) -> None:
    async with db.writing() as session:
        await session.execute(
            update(Site).where(Site.slug == "paris-7").values(walk_in_percent=100)
        )

    found = {item["site"] for item in await first(client)}

    assert "paris-7" not in found
    assert len(found) == MAIRIES - 1


async def test_near_gives_each_distance_and_distance_order_puts_the_nearest_first(
    client: AsyncTestClient[object],
) -> None:
    by_time = await first(client, near="75015")
    by_distance = await first(client, near="75015", order="distance", limit="3")

    assert all(isinstance(item["distance_km"], float) for item in by_time)
    assert by_distance[0]["site"] == "paris-15"
    assert by_distance[0]["distance_km"] == 0.0
    distances = [item["distance_km"] for item in by_distance]
    assert distances == sorted(distances)
    assert len(by_distance) == 3
    starts = [datetime.fromisoformat(item["start"]) for item in by_time]
    assert starts == sorted(starts)


@pytest.mark.parametrize(
    ("near", "nearest"),
    [("paris-19", "paris-19"), ("75116", "paris-16"), ("1er", "paris-centre"), ("12e", "paris-12")],
)
async def test_near_takes_a_slug_a_postcode_or_an_arrondissement(
    client: AsyncTestClient[object], near: str, nearest: str
) -> None:
    found = await first(client, near=near, order="distance", limit="1")

    assert [item["site"] for item in found] == [nearest]


async def test_limit_keeps_the_earliest(client: AsyncTestClient[object]) -> None:
    everything = await first(client)
    three = await first(client, limit="3")

    assert three == everything[:3]


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"service": "nope"}, 404),
        ({"service": "caf", "needs": "nope"}, 400),
        ({"service": "caf", "near": "Lyon"}, 404),
        ({"service": "caf", "near": "75099"}, 404),
        ({"service": "caf", "limit": "0"}, 400),
        ({"service": "caf", "limit": "many"}, 400),
        ({"service": "caf", "limit": "101"}, 400),
        ({"service": "caf", "order": "distance"}, 400),
        ({"service": "caf", "order": "alphabet"}, 400),
        ({"service": "caf", "near": "x" * 61}, 400),
        ({}, 400),
        ({"service": ""}, 400),
    ],
)
async def test_bad_parameters_are_problems_not_errors(
    client: AsyncTestClient[object], params: dict[str, str], status: int
) -> None:
    response = await client.get(FIRST, params=params)

    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_the_same_faults_get_the_same_status_as_one_mairies_availability(
    client: AsyncTestClient[object],
) -> None:
    for params in ({"service": "nope"}, {"service": "caf", "needs": "nope"}):
        across = await client.get(FIRST, params=params)
        one = await client.get("/api/v1/sites/paris-15/availability", params=params)
        assert across.status_code == one.status_code


async def test_searches_share_the_availability_rate_limit(database_url: str, clock: Clock) -> None:
    settings = make_settings(database_url, availability_requests_per_minute=2)
    async with AsyncTestClient(app=create_app(settings, clock=clock)) as client:
        answers = [
            await client.get("/api/v1/sites/paris-15/availability", params={"service": "caf"}),
            await client.get(FIRST, params={"service": "caf"}),
            await client.get(FIRST, params={"service": "caf"}),
        ]

    assert [answer.status_code for answer in answers] == [200, 200, 429]


# The page.


def links(text: str, css_class: str) -> list[str]:
    return [
        html.unescape(href) for href in re.findall(rf'<a class="{css_class}" href="([^"]+)"', text)
    ]


async def test_the_page_without_a_search_shows_the_form_only(
    client: AsyncTestClient[object],
) -> None:
    page = await client.get(PAGE)

    assert page.status_code == 200
    assert '<label for="demarche">Votre démarche</label>' in page.text
    assert '<option value="caf">Démarches CAF en ligne</option>' in page.text
    assert 'for="besoin-fauteuil">Je me déplace en fauteuil roulant</label>' in page.text
    assert '<label for="pres-de">' in page.text
    assert "first-slots" not in page.text


async def test_the_page_lists_each_mairies_first_slot_in_words_with_a_link_to_book_it(
    client: AsyncTestClient[object],
) -> None:
    page = await client.get(PAGE, params={"demarche": "caf", "besoins": "fauteuil"})
    found = await first(client, needs="fauteuil")

    assert page.status_code == 200
    assert page.text.count('<li class="first-slot">') == MAIRIES
    assert "lundi 30 novembre à 10\xa0h\xa000" in page.text
    assert "Premiers créneaux libres pour «\xa0Démarches CAF en ligne\xa0»" in page.text
    assert 'id="besoin-fauteuil" value="fauteuil" checked' in page.text
    booking = links(page.text, "button")
    assert len(booking) == MAIRIES
    url = urlsplit(booking[0])
    assert url.path == f"/mairies/{found[0]['site']}/rendez-vous/coordonnees"
    assert parse_qs(url.query) == {
        "service": ["caf"],
        "besoins": ["fauteuil"],
        "debut": [found[0]["start"]],
    }


async def test_the_booking_link_opens_the_step_that_confirms_that_slot(
    client: AsyncTestClient[object],
) -> None:
    page = await client.get(PAGE, params={"demarche": "caf"})
    step = await client.get(links(page.text, "button")[0])

    assert step.status_code == 200
    assert "Vos coordonnées" in step.text
    assert "lundi 30 novembre 2026 à 10\u00a0h\u00a000" in step.text
    assert 'name="debut" value="2026-11-30T10:00:00+01:00"' in step.text


async def test_near_on_the_page_shows_distances_and_sorts_by_distance_on_request(
    client: AsyncTestClient[object],
) -> None:
    by_time = await client.get(PAGE, params={"demarche": "caf", "pres-de": "75015"})
    by_distance = await client.get(
        PAGE, params={"demarche": "caf", "pres-de": "75015", "ordre": "distance"}
    )

    assert by_time.status_code == 200
    assert re.search(r"à \d+,\d\xa0km", by_time.text)
    assert "Classer par distance" in by_time.text
    first_mairie = re.search(r'<li class="first-slot">\s*<h3>([^<]+)</h3>', by_distance.text)
    assert first_mairie is not None
    assert first_mairie.group(1) == "Mairie du 15e arrondissement"
    assert "La mairie la plus proche" in by_distance.text
    assert "Classer par date" in by_distance.text


async def test_a_place_that_is_not_in_paris_is_a_field_error_in_french(
    client: AsyncTestClient[object],
) -> None:
    page = await client.get(PAGE, params={"demarche": "caf", "pres-de": "Lyon"})

    assert page.status_code == 400
    assert "Nous ne trouvons pas ce lieu" in page.text
    assert 'aria-invalid="true"' in page.text
    assert 'value="Lyon"' in page.text


@pytest.mark.parametrize(
    ("demarche", "message"),
    [("", "Choisissez une démarche."), ("nope", "Cette démarche n'existe pas")],
)
async def test_a_missing_or_unknown_demarche_is_a_field_error_in_french(
    client: AsyncTestClient[object], demarche: str, message: str
) -> None:
    page = await client.get(PAGE, params={"demarche": demarche})

    assert page.status_code == 400
    assert message in page.text
    assert "<title>Erreur – " in page.text


async def test_nowhere_free_says_so_and_suggests_coming_without_an_appointment(
    client: AsyncTestClient[object], db: Database
) -> None:
    async with db.writing() as session:
        await session.execute(update(Site).values(walk_in_percent=100))

    page = await client.get(PAGE, params={"demarche": "caf"})

    assert page.status_code == 200
    assert "Aucune mairie n'a de créneau libre" in page.text
    assert "Vous pouvez venir sans rendez-vous" in page.text
    assert '<a class="button" href="/">' in page.text
