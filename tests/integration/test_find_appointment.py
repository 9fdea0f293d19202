"""Finding one's appointment again without its link, through HTTP on both databases: the
reference and the phone or email it was booked with lead to the private page; anything
else gets one answer that never says whether the reference exists."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from app.asgi import create_app
from app.throttle import FINDING_TRIES_PER_HOUR
from tests.conftest import Clock, make_settings

FIND = "/rendez-vous/retrouver"


@pytest.fixture
async def booked(client: AsyncTestClient[object], clock: Clock) -> dict[str, str]:
    clock.set("2026-11-30 08:00")
    made = await client.post(
        "/api/v1/appointments",
        json={
            "site": "paris-15",
            "service": "caf",
            "start": "2026-12-01T10:00:00+01:00",
            "name": "Marie Curie",
            "email": "Marie.Curie@example.org",
            "phone": "06 12 34 56 78",
        },
    )
    assert made.status_code == 201, made.text
    found: dict[str, str] = made.json()
    return found


async def find(client: AsyncTestClient[object], reference: str, contact: str) -> Any:
    return await client.post(
        FIND, data={"reference": reference, "contact": contact}, follow_redirects=False
    )


async def test_the_page_asks_for_the_reference_and_the_phone_or_email(
    client: AsyncTestClient[object],
) -> None:
    page = await client.get(FIND)

    assert page.status_code == 200
    assert "<h1>Retrouver mon rendez-vous</h1>" in page.text
    assert '<label for="reference">Référence du rendez-vous</label>' in page.text
    assert '<label for="contact">Téléphone ou adresse e-mail</label>' in page.text
    assert page.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    "contact",
    ["06 12 34 56 78", "+33612345678", "0612345678", "marie.curie@EXAMPLE.org"],
)
async def test_the_reference_and_the_contact_lead_to_the_private_page(
    client: AsyncTestClient[object], booked: dict[str, str], contact: str
) -> None:
    written_loosely = booked["reference"].lower().replace("-", " ")

    response = await find(client, written_loosely, contact)

    assert response.status_code == 303
    assert response.headers["location"] == f"/rendez-vous/{booked['token']}"


async def test_a_wrong_contact_and_an_unknown_reference_get_the_same_answer(
    client: AsyncTestClient[object], booked: dict[str, str]
) -> None:
    reference = booked["reference"]
    unknown = reference[:-1] + ("3" if reference[-1] != "3" else "4")

    wrong_phone = await find(client, reference, "06 98 76 54 32")
    no_such = await find(client, unknown, "06 98 76 54 32")
    wrong_email = await find(client, reference, "someone@example.org")

    for answer in (wrong_phone, no_such, wrong_email):
        assert answer.status_code == 422
        assert "Aucun rendez-vous ne correspond" in answer.text
        assert booked["token"] not in answer.text
    assert wrong_phone.text.replace(reference, "REF") == no_such.text.replace(unknown, "REF")


async def test_empty_fields_are_said_beside_them(client: AsyncTestClient[object]) -> None:
    page = await find(client, "", "")

    assert page.status_code == 422
    assert "Il y a 2 erreurs" in page.text
    assert 'href="#reference"' in page.text
    assert 'href="#contact"' in page.text


async def test_searching_is_rate_limited_like_private_links(
    database_url: str, clock: Clock
) -> None:
    settings = make_settings(database_url, token_lookups_per_minute=3)
    async with AsyncTestClient(app=create_app(settings, clock=clock)) as client:
        answers = [
            (await find(client, f"15-AAAAA{n}", "0612345678")).status_code for n in range(3, 8)
        ]

    assert answers[:3] == [422] * 3
    assert answers[3:] == [429, 429]


async def test_guessing_the_contact_of_a_reference_stops_after_a_few_tries(
    client: AsyncTestClient[object], booked: dict[str, str]
) -> None:
    reference = booked["reference"]
    wrong = [(await find(client, reference, f"06000000{n:02d}")).status_code for n in range(7)]
    right_one_too_late = await find(client, reference, "06 12 34 56 78")

    assert wrong == [422] * 6 + [429]
    assert right_one_too_late.status_code == 429
    assert "pour retrouver ce rendez-vous : réessayez dans" in right_one_too_late.text
    assert int(right_one_too_late.headers["retry-after"]) > 0
    assert booked["token"] not in right_one_too_late.text


async def test_finding_one_s_appointment_again_and_again_is_never_held_back(
    client: AsyncTestClient[object], booked: dict[str, str]
) -> None:
    # A shared computer (a mairie's, a CCAS's) finds many people's appointments in an hour:
    # only the tries that find nothing count toward the limit.
    found = [
        (await find(client, booked["reference"], "06 12 34 56 78")).status_code
        for _ in range(FINDING_TRIES_PER_HOUR * 3)
    ]
    wrong = [
        (await find(client, booked["reference"], f"06000000{n:02d}")).status_code
        for n in range(FINDING_TRIES_PER_HOUR + 1)
    ]

    assert found == [303] * FINDING_TRIES_PER_HOUR * 3
    assert wrong == [422] * FINDING_TRIES_PER_HOUR + [429]


async def test_the_tries_on_one_reference_count_from_every_address(
    database_url: str, clock: Clock, booked: dict[str, str]
) -> None:
    """Changing address does not give a reference more tries (the app is shared)."""
    app = create_app(make_settings(database_url), clock=clock)
    reference = booked["reference"]
    answers = []
    for n in range(7):
        async with AsyncTestClient(app=app) as client:
            client.headers["X-Forwarded-For"] = f"203.0.113.{n}"
            answers.append((await find(client, reference, f"06000000{n:02d}")).status_code)

    assert answers == [422] * 6 + [429]


async def test_a_reference_without_its_arrondissement_is_said_to_want_it(
    client: AsyncTestClient[object], booked: dict[str, str]
) -> None:
    own = booked["reference"].split("-")[1]
    page = await find(client, own.lower(), "06 12 34 56 78")

    assert page.status_code == 422
    assert f"avec le numéro de l&#39;arrondissement devant : par exemple 15-{own}." in page.text
