"""The booking pages through HTTP, on both databases: forms that work without JavaScript."""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests.conftest import Clock

pytestmark = pytest.mark.usefixtures("monday_morning")


@pytest.fixture
def monday_morning(clock: Clock) -> None:
    clock.set("2026-11-30 08:00")


SLOT = "2026-12-01T10:00:00+01:00"


def form(**fields: Any) -> dict[str, Any]:
    return {
        "service": "caf",
        "debut": SLOT,
        "nom": "Marie Curie",
        "email": "marie@example.org",
        **fields,
    }


async def post_contact(client: AsyncTestClient[object], **fields: Any) -> Any:
    """The contact step sent: the summary to confirm, or the form with its mistakes."""
    return await client.post(
        "/mairies/paris-15/rendez-vous/coordonnees", data=form(**fields), follow_redirects=False
    )


async def post_booking(client: AsyncTestClient[object], **fields: Any) -> Any:
    """The summary confirmed: the booking."""
    return await post_contact(client, confirmer="oui", **fields)


async def test_the_service_page_offers_every_demarche_and_need_with_labels(
    client: AsyncTestClient[object],
) -> None:
    page = await client.get("/mairies/paris-15/rendez-vous")

    assert page.status_code == 200
    assert '<html lang="fr">' in page.text
    assert 'for="demarche-caf">Démarches CAF en ligne</label>' in page.text
    assert 'for="besoin-fauteuil">Je me déplace en fauteuil roulant</label>' in page.text
    assert "Étape 1 sur 4 : Démarche" in page.text


async def test_the_slot_page_groups_free_slots_by_day_in_local_time(
    client: AsyncTestClient[object],
) -> None:
    page = await client.get(
        "/mairies/paris-15/rendez-vous/creneaux",
        params={"service": "caf", "du": "2026-12-01"},
    )

    assert page.status_code == 200
    assert "<legend>Mardi 1er décembre</legend>" in page.text
    assert 'value="2026-12-01T08:30:00+01:00"' in page.text
    assert ">8\u00a0h\u00a030<" in page.text
    assert "Samedi 5 décembre" not in page.text
    assert "du=2026-12-08" in page.text


async def test_without_a_demarche_the_slot_page_sends_back_to_the_choice(
    client: AsyncTestClient[object],
) -> None:
    response = await client.get("/mairies/paris-15/rendez-vous/creneaux", follow_redirects=False)
    page = await client.get(response.headers["location"])

    assert response.status_code == 303
    assert page.status_code == 400
    assert "Choisissez une démarche." in page.text
    assert page.text.count('role="alert"') == 1


async def test_a_complete_form_books_and_leads_to_the_private_page(
    client: AsyncTestClient[object],
) -> None:
    summary = await post_contact(client, telephone="06 12 34 56 78", rappels_sms="oui")
    response = await post_booking(client, telephone="06 12 34 56 78", rappels_sms="oui")

    assert summary.status_code == 200
    assert "Vérifiez votre rendez-vous" in summary.text
    assert "mardi 1er décembre 2026 à 10\u00a0h\u00a000" in summary.text
    assert "Confirmer le rendez-vous" in summary.text
    assert response.status_code == 303
    location = response.headers["location"]
    assert re.fullmatch(r"/rendez-vous/[A-Za-z0-9_-]{32}\?confirme=1", location)
    page = await client.get(location)
    assert page.status_code == 200
    assert "Votre rendez-vous est confirmé." in page.text
    assert "mardi 1er décembre 2026 à 10\u00a0h\u00a000" in page.text
    assert "Mairie du 15e arrondissement" in page.text
    assert "Votre numéro allocataire" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    token = location.split("/")[2].split("?")[0]
    api = (await client.get(f"/api/v1/appointments/{token}")).json()
    assert api["phone"] == "+33612345678"
    assert api["reminders_by_sms"] is True


async def test_mistakes_are_shown_in_french_beside_their_fields(
    client: AsyncTestClient[object],
) -> None:
    page = await post_contact(client, nom="", email="pas-une-adresse", telephone="12")

    assert page.status_code == 422
    assert "Il y a 3 erreurs" in page.text
    assert '<a href="#nom">Indiquez votre nom.</a>' in page.text
    assert "Cette adresse e-mail n&#39;est pas valide" in page.text
    assert "Ce numéro de téléphone n&#39;est pas valide" in page.text
    assert 'aria-invalid="true" aria-describedby="nom-erreur"' in page.text
    assert 'value="pas-une-adresse"' in page.text


async def test_a_slot_taken_meanwhile_offers_nearby_slots(
    client: AsyncTestClient[object],
) -> None:
    for number in range(6):
        taken = await post_booking(client, email=f"p{number}@example.org")
        assert taken.status_code == 303

    page = await post_booking(client, email="late@example.org")

    assert page.status_code == 409
    assert "Ce créneau vient d&#39;être réservé par quelqu&#39;un d&#39;autre." in page.text
    assert 'value="2026-12-01T09:30:00+01:00"' in page.text
    assert "mardi 1er décembre 2026 à 10\u00a0h\u00a030" in page.text


async def test_the_same_person_booking_that_time_again_elsewhere_keeps_the_form(
    client: AsyncTestClient[object],
) -> None:
    booked = await post_booking(client)
    client.cookies.clear()  # another browser: no second tap to lead back to the first

    page = await post_booking(client)

    assert booked.status_code == 303
    assert page.status_code == 409
    assert "Vous avez déjà un rendez-vous à cette heure-là." in page.text
    assert 'value="Marie Curie"' in page.text


async def test_cancelling_from_the_private_page(client: AsyncTestClient[object]) -> None:
    location = (await post_booking(client)).headers["location"].split("?")[0]

    confirm = await client.get(f"{location}/annuler")
    done = await client.post(f"{location}/annuler", follow_redirects=False)
    page = await client.get(done.headers["location"])

    assert confirm.status_code == 200
    assert "Oui, annuler ce rendez-vous" in confirm.text
    assert done.status_code == 303
    assert "Votre rendez-vous est annulé." in page.text
    assert "Déplacer le rendez-vous" not in page.text


async def test_moving_from_the_private_page(client: AsyncTestClient[object]) -> None:
    location = (await post_booking(client)).headers["location"].split("?")[0]

    choices = await client.get(f"{location}/deplacer", params={"du": "2026-12-02"})
    moved = await client.post(
        f"{location}/deplacer", data={"debut": "2026-12-02T15:00:00+01:00"}, follow_redirects=False
    )
    page = await client.get(moved.headers["location"])
    refused = await client.post(f"{location}/deplacer", data={"debut": "2026-12-06T15:00:00+01:00"})

    assert choices.status_code == 200
    assert 'value="2026-12-02T15:00:00+01:00"' in choices.text
    assert moved.status_code == 303
    assert "mercredi 2 décembre 2026 à 15\u00a0h\u00a000" in page.text
    assert refused.status_code == 409
    assert "La mairie est fermée à cette heure-là." in refused.text


async def test_an_unknown_link_or_mairie_gets_a_french_404_page(
    client: AsyncTestClient[object],
) -> None:
    for path in ("/rendez-vous/" + "x" * 32, "/mairies/paris-99/rendez-vous"):
        page = await client.get(path)
        assert page.status_code == 404
        assert "text/html" in page.headers["content-type"]
        assert "Page introuvable" in page.text


async def test_a_start_that_is_not_a_slot_is_refused_at_the_contact_step(
    client: AsyncTestClient[object],
) -> None:
    """Nobody fills in their details for a slot that does not exist: 3 a.m., a minute
    past a slot's start, a Sunday, a day already gone."""
    for start in (
        "2026-12-01T03:00:00+01:00",
        "2026-12-01T10:01:00+01:00",
        "2026-12-06T10:00:00+01:00",
        "2026-11-27T10:00:00+01:00",
    ):
        page = await client.get(
            "/mairies/paris-15/rendez-vous/coordonnees",
            params={"service": "caf", "debut": start},
        )
        summary = await post_contact(client, debut=start)

        assert page.status_code in (409, 422), start
        assert 'name="nom"' in page.text
        assert 'role="alert"' in page.text
        assert summary.status_code in (409, 422), start
        assert "Confirmer le rendez-vous" not in summary.text


async def test_a_full_slot_is_refused_at_the_summary_with_nearby_slots(
    client: AsyncTestClient[object],
) -> None:
    for number in range(6):
        assert (await post_booking(client, email=f"p{number}@example.org")).status_code == 303

    summary = await post_contact(client, email="late@example.org")

    assert summary.status_code == 409
    assert "Confirmer le rendez-vous" not in summary.text
    assert 'value="2026-12-01T09:30:00+01:00"' in summary.text


async def test_a_start_that_is_not_a_date_leads_back_to_the_slots_of_the_demarche(
    client: AsyncTestClient[object],
) -> None:
    response = await client.get(
        "/mairies/paris-15/rendez-vous/coordonnees",
        params={"service": "caf", "besoins": "fauteuil", "debut": "demain"},
        follow_redirects=False,
    )
    posted = await post_contact(client, debut="2026-13-45T99:00")

    assert response.status_code == 303
    assert response.headers["location"] == (
        "/mairies/paris-15/rendez-vous/creneaux?service=caf&besoins=fauteuil"
    )
    assert posted.status_code == 303
    assert posted.headers["location"].startswith("/mairies/paris-15/rendez-vous/creneaux?")
