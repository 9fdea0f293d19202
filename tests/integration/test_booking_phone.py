"""Booking on a phone, through HTTP on both databases: the progress bar, the slots one day
at a time, the summary to confirm before anything is booked, the reminders chosen from
what was given, and the private page that says what was sent where and how to come."""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from app.booking.models import Appointment
from app.db import Database
from tests.conftest import Clock

pytestmark = pytest.mark.usefixtures("monday_morning")

SLOTS = "/mairies/paris-15/rendez-vous/creneaux"
CONTACT = "/mairies/paris-15/rendez-vous/coordonnees"
SLOT = "2026-12-01T10:00:00+01:00"


@pytest.fixture
def monday_morning(clock: Clock) -> None:
    clock.set("2026-11-30 08:00")


def form(**fields: Any) -> dict[str, Any]:
    return {"service": "caf", "debut": SLOT, "nom": "Marie Curie", **fields}


async def send(client: AsyncTestClient[object], **fields: Any) -> Any:
    return await client.post(CONTACT, data=form(**fields), follow_redirects=False)


async def book(client: AsyncTestClient[object], **fields: Any) -> str:
    """Book through the summary confirmed; the private page's path."""
    done = await send(client, confirmer="oui", **fields)
    assert done.status_code == 303, done.text
    return str(done.headers["location"]).split("?")[0]


async def appointments(db: Database) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(Appointment)) or 0)


def shown_day(page: str) -> list[str]:
    """The days whose slots the page shows (the others are hidden until chosen)."""
    return re.findall(r'<fieldset class="day" id="jour-([0-9-]+)" data-day="[0-9-]+">', page)


async def test_every_step_shows_where_one_is_out_of_four_in_words(
    client: AsyncTestClient[object],
) -> None:
    slots = await client.get(SLOTS, params={"service": "caf"})
    contact = await client.get(CONTACT, params={"service": "caf", "debut": SLOT})
    summary = await send(client, email="marie@example.org")

    assert "Étape 2 sur 4 : Créneau" in slots.text
    assert "Étape 3 sur 4 : Coordonnées" in contact.text
    assert "Étape 4 sur 4 : Vérification" in summary.text
    for page in (slots, contact, summary):
        assert page.text.count('aria-current="step"') == 1
        for name in ("Démarche", "Créneau", "Coordonnées", "Vérification"):
            assert f'<span class="progress-name">{name}</span>' in page.text
    assert "(étape en cours)" in slots.text
    assert "(étape faite)" in summary.text


async def test_the_slots_show_one_day_at_a_time_the_first_free_one_marked(
    client: AsyncTestClient[object],
) -> None:
    page = await client.get(SLOTS, params={"service": "caf"})

    assert page.status_code == 200
    assert shown_day(page.text) == ["2026-11-30"]
    assert "Premier disponible" in page.text
    assert page.text.count('aria-current="date"') == 1
    assert "jour=2026-12-01" in page.text  # each day a link that shows it without JavaScript
    assert 'value="2026-12-01T10:00:00+01:00"' in page.text
    assert 'class="choice-bar"' in page.text
    # Without JavaScript the bar cannot follow a choice: it says what to do, never "none chosen".
    assert "Choisissez un horaire, puis « Continuer »." in page.text
    assert ">Aucun créneau choisi<" not in page.text


async def test_a_day_asked_is_the_one_shown_and_a_later_week_marks_no_first(
    client: AsyncTestClient[object],
) -> None:
    tuesday = await client.get(SLOTS, params={"service": "caf", "jour": "2026-12-01"})
    later = await client.get(SLOTS, params={"service": "caf", "du": "2026-12-07"})
    closed = await client.get(SLOTS, params={"service": "caf", "jour": "2026-12-06"})

    assert shown_day(tuesday.text) == ["2026-12-01"]
    assert re.search(
        r'jour=2026-12-01#jours" data-day="2026-12-01" aria-current="date"', tuesday.text
    )
    assert shown_day(later.text) == ["2026-12-07"]
    assert "Premier disponible" not in later.text
    assert "Semaine précédente" in later.text
    assert shown_day(closed.text) == ["2026-11-30"]  # a Sunday: the week's first open day


HORIZON = (
    "Les rendez-vous s'ouvrent 60 jours à l'avance : "
    "jusqu'au vendredi 29 janvier 2027 à 8\u00a0h\u00a000."
)
NOT_OPEN_YET = "Les rendez-vous ne sont pas encore ouverts pour la date demandée"
LAST_WEEK_OPEN = "du samedi 23 janvier 2027 au vendredi 29 janvier 2027"  # not this year


def shows_the_last_week_open(page: Any) -> bool:
    """The page of the last week open for booking, saying that the day asked is not."""
    return (
        page.status_code == 200
        and NOT_OPEN_YET in page.text
        and HORIZON in page.text
        and LAST_WEEK_OPEN in page.text
        and 'value="2027-01-28T16:00:00+01:00"' in page.text
        and "Semaine suivante" not in page.text
    )


async def test_a_week_past_the_booking_horizon_shows_the_last_week_open_saying_so(
    client: AsyncTestClient[object],
) -> None:
    """paris-15 opens bookings 60 days ahead: from Monday 30 November 8:00, up to Friday
    29 January 8:00. The week holding that day is the last one offered; a week asked past
    it is the last week open, saying so, with its days to choose from rather than none."""
    before = await client.get(SLOTS, params={"service": "caf", "du": "2027-01-18"})
    last = await client.get(SLOTS, params={"service": "caf", "du": "2027-01-25"})
    beyond = await client.get(SLOTS, params={"service": "caf", "du": "2027-02-07"})

    assert HORIZON not in before.text
    assert "du=2027-01-25#jours" in before.text
    assert HORIZON in last.text
    assert 'value="2027-01-28T16:00:00+01:00"' in last.text  # its days up to then, open
    assert "Semaine suivante" not in last.text
    assert NOT_OPEN_YET not in last.text
    assert shows_the_last_week_open(beyond), beyond.text
    assert "du=2027-01-16#jours" in beyond.text  # the week before it


@pytest.mark.parametrize(
    ("name", "day"),
    [
        ("du", "2100-12-30"),
        ("du", "9999-12-31"),
        ("jour", "9999-12-31"),
        ("debut", "2100-12-31T10:00:00+01:00"),
    ],
)
async def test_a_day_asked_years_ahead_shows_the_last_week_open_not_an_error(
    client: AsyncTestClient[object], name: str, day: str
) -> None:
    page = await client.get(SLOTS, params={"service": "caf", name: day})

    assert shows_the_last_week_open(page), page.text


@pytest.mark.parametrize("day", ["0001-01-01", "1999-12-31"])
async def test_a_day_asked_long_past_shows_this_week(
    client: AsyncTestClient[object], day: str
) -> None:
    page = await client.get(SLOTS, params={"service": "caf", "du": day})

    assert page.status_code == 200
    assert "du lundi 30 novembre au dimanche 6 décembre" in page.text
    assert "Premier disponible" in page.text


async def test_moving_an_appointment_to_a_day_years_ahead_shows_the_last_week_open_in_english(
    client: AsyncTestClient[object],
) -> None:
    private = await book(client, email="marie@example.org")

    page = await client.get(
        f"{private}/deplacer",
        params={"du": "9999-12-31"},
        headers={"Accept-Language": "en-GB,en;q=0.9"},
    )

    assert page.status_code == 200
    assert "Appointments are not open yet for the date you asked for" in page.text
    assert 'value="2027-01-28T16:00:00+01:00"' in page.text


async def test_a_day_that_is_not_a_date_is_a_french_400(client: AsyncTestClient[object]) -> None:
    page = await client.get(SLOTS, params={"service": "caf", "jour": "mardi"})

    assert page.status_code == 400
    assert "AAAA-MM-JJ" in page.text


async def test_coming_back_to_change_the_slot_recalls_the_one_chosen(
    client: AsyncTestClient[object],
) -> None:
    page = await client.get(SLOTS, params={"service": "caf", "debut": "2026-12-02T15:00:00+01:00"})

    assert shown_day(page.text) == ["2026-12-02"]
    assert re.search(
        r'value="2026-12-02T15:00:00\+01:00" data-moment="[^"]+" required checked', page.text
    )
    assert (
        "Créneau choisi : <strong>mercredi 2 décembre 2026 à 15\u00a0h\u00a000</strong>"
        in page.text
    )


async def test_the_contact_step_shows_a_summary_and_books_nothing(
    client: AsyncTestClient[object], db: Database
) -> None:
    page = await send(client, email="marie@example.org", telephone="06 12 34 56 78")

    assert page.status_code == 200
    assert "<h1>Vérifiez votre rendez-vous</h1>" in page.text
    assert "mardi 1er décembre 2026 à 10\u00a0h\u00a000" in page.text
    assert "Mairie du 15e arrondissement" in page.text
    assert "Démarches CAF en ligne" in page.text
    assert "La confirmation vous sera envoyée par e-mail à marie@example.org." in page.text
    for name, value in (("nom", "Marie Curie"), ("email", "marie@example.org"), ("debut", SLOT)):
        assert f'<input type="hidden" name="{name}" value="{value}">' in page.text
    assert 'name="confirmer" value="oui">Confirmer le rendez-vous</button>' in page.text
    assert 'name="modifier" value="oui">Modifier' in page.text
    assert await appointments(db) == 0


async def test_modifier_shows_the_form_again_filled_in(
    client: AsyncTestClient[object], db: Database
) -> None:
    page = await send(client, email="marie@example.org", modifier="oui", rappels_vus="oui")

    assert page.status_code == 200
    assert "<h1>Vos coordonnées</h1>" in page.text
    assert 'value="marie@example.org"' in page.text
    assert 'value="Marie Curie"' in page.text
    assert await appointments(db) == 0


async def test_mistakes_found_at_the_summary_are_shown_at_the_contact_step(
    client: AsyncTestClient[object], db: Database
) -> None:
    page = await send(client, email="pas-une-adresse", confirmer="oui")

    assert page.status_code == 422
    assert "Cette adresse e-mail n&#39;est pas valide" in page.text
    assert await appointments(db) == 0


@pytest.mark.parametrize(
    ("given", "by_email", "by_sms"),
    [
        ({"telephone": "06 12 34 56 78"}, False, True),
        ({"email": "marie@example.org"}, True, False),
        ({"email": "marie@example.org", "telephone": "06 12 34 56 78"}, True, False),
    ],
    ids=["phone-only", "email-only", "both"],
)
async def test_reminders_follow_what_was_given_when_no_box_was_shown(
    client: AsyncTestClient[object], given: dict[str, str], by_email: bool, by_sms: bool
) -> None:
    summary = await send(client, **given)
    private = await book(client, **given)
    token = private.rsplit("/", 1)[1]
    api = (await client.get(f"/api/v1/appointments/{token}")).json()

    assert ('id="rappels_sms" name="rappels_sms" value="oui" checked' in summary.text) is by_sms
    assert (
        'id="rappels_email" name="rappels_email" value="oui" checked' in summary.text
    ) is by_email
    assert (api["reminders_by_email"], api["reminders_by_sms"]) == (by_email, by_sms)


async def test_boxes_unticked_on_the_summary_mean_no_reminder(
    client: AsyncTestClient[object],
) -> None:
    private = await book(client, telephone="06 12 34 56 78", rappels_vus="oui")
    api = (await client.get(f"/api/v1/appointments/{private.rsplit('/', 1)[1]}")).json()

    assert (api["reminders_by_email"], api["reminders_by_sms"]) == (False, False)


async def test_a_second_tap_on_confirm_books_once_and_leads_to_the_same_page(
    client: AsyncTestClient[object], db: Database
) -> None:
    first = await book(client, email="marie@example.org")
    second = await book(client, email="marie@example.org")
    other = await book(client, email="pierre@example.org")

    assert first == second
    assert other != first
    assert await appointments(db) == 2


async def test_the_same_details_from_another_browser_never_lead_to_the_private_page(
    client: AsyncTestClient[object],
) -> None:
    first = await book(client, email="marie@example.org")
    client.cookies.clear()  # another browser: it never booked, whatever it knows
    again = await send(client, confirmer="oui", email="marie@example.org")

    assert again.headers.get("location", "").split("?")[0] != first
    assert first.rsplit("/", 1)[1] not in again.text


async def test_the_private_page_says_what_was_sent_where_and_how_to_come(
    client: AsyncTestClient[object],
) -> None:
    private = await book(
        client, email="marie@example.org", telephone="06 12 34 56 78", besoins="fauteuil",
        rappels_vus="oui", rappels_email="oui", rappels_sms="oui",
    )  # fmt: skip
    page = await client.get(private)

    assert "Un e-mail de confirmation a été envoyé à m…@example.org." in page.text
    assert "par e-mail à m…@example.org et par SMS au 06 •• •• •• 78" in page.text
    assert "Présentez-vous à l'accueil entre 9\u00a0h\u00a030 et 10\u00a0h\u00a015." in page.text
    assert "https://www.openstreetmap.org/" in page.text
    assert "Je me déplace en fauteuil roulant" in page.text
    assert 'id="imprimer" hidden>Imprimer</button>' in page.text
    assert "Ajouter à mon agenda" in page.text
    assert "/deplacer" in page.text
    assert "/annuler" in page.text
    assert "marie@example.org" not in page.text
    assert "06 12 34 56 78" not in page.text


async def test_a_text_at_night_is_said_to_wait_for_the_morning(
    client: AsyncTestClient[object], clock: Clock
) -> None:
    clock.set("2026-11-30 22:00")  # 23:00 in Paris
    private = await book(client, telephone="06 12 34 56 78")
    page = await client.get(private)

    assert (
        "Un SMS de confirmation sera envoyé au 06 •• •• •• 78 "
        "le mardi 1er décembre 2026 à 8\u00a0h\u00a000" in page.text
    )


async def test_a_text_at_night_for_a_moved_appointment_waits_for_the_morning_not_failed(
    client: AsyncTestClient[object], clock: Clock
) -> None:
    # The booking's text, waiting for 8:00, gives way to the move's, which waits as well:
    # nothing failed (an outside test saw "n'a pas pu être envoyé" here).
    clock.set("2026-11-30 22:00")  # 23:00 in Paris
    private = await book(client, telephone="06 12 34 56 78")
    moved = await client.post(
        f"{private}/deplacer", data={"debut": "2026-12-02T15:00:00+01:00"}, follow_redirects=False
    )
    page = await client.get(private)

    assert moved.status_code == 303
    assert "n'a pas pu être envoyé" not in page.text
    assert (
        "Un SMS de confirmation sera envoyé au 06 •• •• •• 78 "
        "le mardi 1er décembre 2026 à 8\u00a0h\u00a000" in page.text
    )


async def test_the_first_appointment_of_the_day_is_not_told_to_come_before_the_doors_open(
    client: AsyncTestClient[object],
) -> None:
    # The 15e opens at 8:30: its 8:30 appointment is told 8:30, not 8:00.
    private = await book(client, email="marie@example.org", debut="2026-12-01T08:30:00+01:00")
    page = await client.get(private)

    assert "Présentez-vous à l'accueil entre 8\u00a0h\u00a030 et 8\u00a0h\u00a045." in page.text


async def test_after_a_cancellation_one_may_book_again_at_the_same_mairie(
    client: AsyncTestClient[object],
) -> None:
    private = await book(client, email="marie@example.org")
    await client.post(f"{private}/annuler", follow_redirects=False)
    page = await client.get(private)

    assert "Votre rendez-vous est annulé" in page.text or "annulé" in page.text
    assert (
        '<a class="button" href="/mairies/paris-15/rendez-vous">Prendre un autre rendez-vous'
        in page.text
    )
    assert "Présentez-vous" not in page.text
    assert "Gardez ce lien" not in page.text  # nothing left to move or cancel


async def test_a_slot_taken_meanwhile_offers_near_slots_that_lead_to_the_summary(
    client: AsyncTestClient[object],
) -> None:
    for number in range(6):
        await book(client, email=f"p{number}@example.org")
    refused = await send(client, email="late@example.org", confirmer="oui")
    chosen = await send(client, email="late@example.org", debut="2026-12-01T10:30:00+01:00")

    assert refused.status_code == 409
    assert '<input type="hidden" name="email" value="late@example.org">' in refused.text
    assert chosen.status_code == 200
    assert "Vérifiez votre rendez-vous" in chosen.text
