"""Reception and partners booking for someone, on both databases. Reminders: the boxes say
how the person is reminded; when the ticked ones cannot reach the person (e-mail ticked,
only a mobile given), the person is reminded as residents booking for themselves are, by
e-mail if given, else by SMS to a mobile; no box ticked means no reminder; and the page
that confirms the booking says which it is. (A partner's booking of someone who gives only
a landline is refused: its confirmation would be a text.) A mairie that sends no reminder
says so instead. Refusals speak of the person, not to them; a refused form shows the boxes
as they were ticked. The same form sent twice books once; two people sharing one phone
book at the same time."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import pytest
from httpx import Response
from sqlalchemy import select, update

from app.booking.models import Appointment
from app.db import Database
from app.notify.models import OutboxMessage
from app.sites.models import Site
from tests.conftest import Clock, Staff
from tests.integration.test_desk_pages import desk
from tests.integration.test_partner_pages import CLIENT, log_in, partner, slot_of

Booker = Callable[[CLIENT, Staff, dict[str, str]], Awaitable[Response]]

MOBILE, LANDLINE, EMAIL = "06 98 76 54 32", "01 45 67 89 10", "marcel.proust@example.org"
RECEPTION = "/accueil/paris-15"
PARTNER_FORM = "/partenaires/mairies/paris-15/rendez-vous"

SAID = {
    (True, True): "Rappels envoyés à la personne par e-mail et par SMS.",
    (True, False): "Rappels envoyés à la personne par e-mail.",
    (False, True): "Rappels envoyés à la personne par SMS.",
    (False, False): "Aucun rappel ne sera envoyé à la personne.",
}

# (boxes ticked, e-mail given, phone given) -> (reminded by e-mail, by SMS)
CASES = [
    pytest.param(("email",), "", MOBILE, (False, True), id="email-ticked-mobile-only"),
    pytest.param(("email",), "", LANDLINE, (False, False), id="email-ticked-landline-only"),
    pytest.param(("sms",), EMAIL, "", (True, False), id="sms-ticked-email-only"),
    pytest.param(("sms",), "", LANDLINE, (False, False), id="sms-ticked-landline-only"),
    pytest.param(("sms",), EMAIL, LANDLINE, (True, False), id="sms-ticked-landline-and-email"),
    pytest.param((), "", MOBILE, (False, False), id="nothing-ticked"),
    pytest.param(("email", "sms"), EMAIL, MOBILE, (True, True), id="both"),
    pytest.param(("email",), EMAIL, MOBILE, (True, False), id="email-as-ticked"),
    pytest.param(("sms",), EMAIL, MOBILE, (False, True), id="sms-as-ticked"),
]


@pytest.fixture(autouse=True)
def tuesday_morning(clock: Clock) -> None:
    clock.set("2026-12-01 09:30")


def contact(boxes: tuple[str, ...], email: str, phone: str) -> dict[str, str]:
    return {
        "nom": "Marcel Proust",
        "email": email,
        "telephone": phone,
        **{f"rappels_{box}": "oui" for box in boxes},
    }


async def at_reception(client: CLIENT, staff: Staff, typed: dict[str, str]) -> Response:
    """A new receptionist of paris-15 books what is `typed` (over the form's slot)."""
    csrf = await desk(
        client, staff, "reception", f"{RECEPTION}/rendez-vous?service=caf&jour=2026-12-02"
    )
    form = {"service": "caf", "jour": "2026-12-02", "debut": "2026-12-02T14:00:00+01:00"}
    return await client.post(
        f"{RECEPTION}/rendez-vous",
        data={"csrf": csrf, **form, **typed},
        follow_redirects=False,
    )


async def as_partner(client: CLIENT, staff: Staff, typed: dict[str, str]) -> Response:
    """A new partner of paris-15 books what is `typed` at the first free slot of its form."""
    made, _ = await partner(client, staff)
    csrf = await log_in(client, made["key"])
    form = {"service": "caf", "jour": "2026-12-03", "debut": await slot_of(client)}
    return await client.post(
        PARTNER_FORM, data={"csrf": csrf, **form, **typed}, follow_redirects=False
    )


async def reminders_of(db: Database) -> tuple[tuple[bool, bool], set[str]]:
    """The one appointment's reminder choices, and the channels of its reminders planned."""
    async with db.session() as session:
        appointment = (await session.scalars(select(Appointment))).one()
        channels = set(
            await session.scalars(
                select(OutboxMessage.channel).where(
                    OutboxMessage.appointment_id == appointment.id,
                    OutboxMessage.kind.startswith("reminder_"),
                )
            )
        )
    return (appointment.reminders_by_email, appointment.reminders_by_sms), channels


def planned(expected: tuple[bool, bool]) -> set[str]:
    return {channel for channel, on in zip(("email", "sms"), expected, strict=True) if on}


@pytest.mark.parametrize("booker", [at_reception, as_partner], ids=["reception", "partner"])
@pytest.mark.parametrize(("boxes", "email", "phone", "expected"), CASES)
async def test_booking_for_someone_reminds_them_as_the_boxes_and_contacts_allow(
    client: CLIENT,
    staff: Staff,
    db: Database,
    booker: Booker,
    boxes: tuple[str, ...],
    email: str,
    phone: str,
    expected: tuple[bool, bool],
) -> None:
    booked = await booker(client, staff, contact(boxes, email, phone))

    if booker is as_partner and phone == LANDLINE and not email:
        # a partner's booking is confirmed by text then
        assert booked.status_code == 400, booked.text
        assert "Sans adresse e-mail, la confirmation partirait par SMS" in booked.text
        assert "choisissez les rappels par e-mail" not in booked.text
        return
    assert booked.status_code == 303, booked.text
    shown = (await client.get(booked.headers["location"])).text
    chosen, channels = await reminders_of(db)
    assert chosen == expected
    assert channels == planned(expected)
    assert SAID[expected] in shown


@pytest.mark.parametrize("booker", [at_reception, as_partner], ids=["reception", "partner"])
@pytest.mark.parametrize(
    ("typed", "said"),
    [
        pytest.param({"nom": "", "email": EMAIL}, "Indiquez le nom de la personne.", id="no-name"),
        pytest.param(
            {"nom": "Marcel Proust"},
            "Indiquez l&#39;adresse e-mail ou le numéro de téléphone de la personne",
            id="no-contact",
        ),
        pytest.param(
            {"nom": "Marcel Proust", "email": EMAIL, "debut": "2026-12-01T09:00:00+01:00"},
            "Ce créneau est passé, ou trop proche pour être réservé.",
            id="past",
        ),
    ],
)
async def test_refusals_booking_for_someone_speak_of_the_person_not_to_them(
    client: CLIENT, staff: Staff, booker: Booker, typed: dict[str, str], said: str
) -> None:
    refused = await booker(client, staff, {**typed, "rappels_email": "oui"})

    assert refused.status_code in (400, 422), refused.text
    assert said in refused.text
    assert "Indiquez votre nom" not in refused.text
    assert "pour recevoir la confirmation" not in refused.text


async def test_a_mairie_that_sends_no_reminder_is_said_to_send_none(
    client: CLIENT, staff: Staff, db: Database
) -> None:
    async with db.writing() as session:
        await session.execute(update(Site).where(Site.slug == "paris-15").values(reminder_hours=[]))

    booked = await at_reception(client, staff, contact(("email", "sms"), EMAIL, MOBILE))
    shown = (await client.get(booked.headers["location"])).text

    _, channels = await reminders_of(db)
    assert channels == set()
    assert "Cette mairie n'envoie pas de rappel avant les rendez-vous." in shown
    assert "Rappels envoyés" not in shown


async def test_a_refused_form_shows_the_boxes_as_they_were_ticked(
    client: CLIENT, staff: Staff
) -> None:
    refused = await at_reception(client, staff, {**contact(("email",), "", MOBILE), "nom": ""})

    assert refused.status_code == 400, refused.text
    assert re.search(r'name="rappels_email"[^>]*value="oui"[^>]* checked', refused.text)
    assert not re.search(r'name="rappels_sms"[^>]*value="oui"[^>]* checked', refused.text)


async def test_the_same_form_sent_twice_books_once_and_two_people_sharing_a_phone_both_book(
    client: CLIENT, staff: Staff, db: Database
) -> None:
    typed = contact(("sms",), "", MOBILE)
    first = await at_reception(client, staff, typed)
    again = await at_reception(client, staff, typed)
    spouse = await at_reception(client, staff, {**typed, "nom": "Jeanne Proust"})
    referral = contact(("email",), EMAIL, "")
    referred = await as_partner(client, staff, referral)
    referred_again = await as_partner(client, staff, referral)

    assert (first.status_code, spouse.status_code, referred.status_code) == (303, 303, 303)
    for twice in (again, referred_again):
        assert twice.status_code == 409, twice.text
        assert "La personne a déjà un rendez-vous à cette heure-là" in twice.text
    async with db.session() as session:
        names = sorted(await session.scalars(select(Appointment.name)))
    assert names == ["Jeanne Proust", "Marcel Proust", "Marcel Proust"]


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("service=nulle-part&jour=2026-12-03", id="unknown-demarche"),
        pytest.param("service=caf&besoins=jetpack&jour=2026-12-03", id="unknown-need"),
        pytest.param("service=caf&besoins=fauteuil&besoins=jetpack", id="one-need-unknown"),
    ],
)
async def test_a_demarche_or_need_that_is_none_shows_the_form_again_saying_so(
    client: CLIENT, staff: Staff, query: str
) -> None:
    await desk(client, staff, "reception", RECEPTION)
    at_desk = await client.get(f"{RECEPTION}/rendez-vous?{query}")
    made, _ = await partner(client, staff)
    await log_in(client, made["key"])
    for_partner = await client.get(f"{PARTNER_FORM}?{query}")

    for page in (at_desk, for_partner):
        assert page.status_code == 200, page.text
        assert 'role="alert"' in page.text
        assert "n&#39;est pas proposé ici" in page.text or "n'est pas proposé ici" in page.text
        assert 'name="debut"' not in page.text  # no slot offered for what is not one
        assert re.search(r'<select id="service" name="service" required>', page.text)
        assert " selected" not in page.text.split('id="service"', 1)[1].split("</select>", 1)[0]


@pytest.mark.parametrize("booker", [at_reception, as_partner], ids=["reception", "partner"])
@pytest.mark.parametrize(
    "chosen",
    [{"service": "nulle-part"}, {"besoins": "jetpack"}, {"service": "<b>caf</b>"}],
    ids=["unknown-demarche", "unknown-need", "markup"],
)
async def test_a_form_sent_with_a_demarche_or_need_that_is_none_says_so(
    client: CLIENT, staff: Staff, booker: Booker, chosen: dict[str, str]
) -> None:
    answer = await booker(client, staff, {**contact(("email",), EMAIL, ""), **chosen})

    assert 400 <= answer.status_code < 500
    assert "pas proposé ici" in answer.text
    assert "<b>caf</b>" not in answer.text
    assert '<select id="service" name="service" required>' in answer.text  # chosen afresh
