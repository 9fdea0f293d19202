"""The partners' page, on both databases: a social worker logs in with the partner's key
(posted in the form, never in an address), books for a person at one of the partner's
mairies through the same booking as the API, sees the referral among the appointments
to come, and logs out; a wrong key opens nothing, a revoked key ends the session at
once, every form needs the session's own token, and another mairie is refused."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from app.booking.models import Appointment
from app.db import Database
from app.notify.models import OutboxMessage
from app.partners.sessions import COOKIE
from tests.conftest import STAFF_PASSWORD, Clock, Staff
from tests.integration.test_staff_pages import csrf_of

CLIENT = AsyncTestClient[object]
HERE, ELSEWHERE = "paris-15", "paris-20"
FORM = f"/partenaires/mairies/{HERE}/rendez-vous"


@pytest.fixture(autouse=True)
def tuesday_morning(clock: Clock) -> None:
    clock.set("2026-12-01 09:30")


async def partner(client: CLIENT, staff: Staff) -> tuple[dict[str, Any], dict[str, str]]:
    """A partner of paris-15 created by an administrator, and the administrator."""
    admin = await staff.headers("admin")
    made = await client.post(
        "/api/v1/admin/partners",
        json={"name": "CCAS du 15e", "email": "ccas@example.org", "sites": [HERE]},
        headers=admin,
    )
    assert made.status_code == 201, made.text
    return made.json(), admin


async def log_in(client: CLIENT, key: str) -> str:
    """The session opened with `key`: the CSRF token of its page."""
    client.cookies.clear()
    opened = await client.post("/partenaires/connexion", data={"cle": key}, follow_redirects=False)
    assert opened.status_code == 303, opened.text
    assert opened.headers["location"] == "/partenaires"
    home = await client.get("/partenaires")
    assert home.status_code == 200
    return csrf_of(home.text)


async def slot_of(client: CLIENT) -> str:
    form = await client.get(FORM, params={"service": "caf", "jour": "2026-12-03"})
    assert form.status_code == 200, form.text
    found = re.search(r'name="debut" id="creneau-1" value="([^"]+)"', form.text)
    assert found, "no free slot on the form"
    return html.unescape(found.group(1))


def person(csrf: str, start: str, **more: str) -> dict[str, str]:
    return {
        "csrf": csrf,
        "service": "caf",
        "jour": "2026-12-03",
        "debut": start,
        "nom": "Marcel Pagnol",
        "email": "marcel.pagnol@example.org",
        "rappels_email": "oui",
        **more,
    }


async def test_a_social_worker_logs_in_with_the_key_books_and_sees_the_referral(
    client: CLIENT, staff: Staff, db: Database
) -> None:
    made, _ = await partner(client, staff)

    login_page = await client.get("/partenaires")
    csrf = await log_in(client, made["key"])
    home = await client.get("/partenaires")
    start = await slot_of(client)
    booked = await client.post(FORM, data=person(csrf, start), follow_redirects=False)
    after = await client.get(booked.headers["location"])
    logged_out = await client.post(
        "/partenaires/deconnexion", data={"csrf": csrf}, follow_redirects=False
    )
    again = await client.get("/partenaires")

    assert 'method="post" action="/partenaires/connexion"' in login_page.text
    assert 'type="password" id="cle" name="cle"' in login_page.text
    assert "CCAS du 15e" in home.text
    assert f'href="{FORM}"' in home.text
    assert booked.status_code == 303, booked.text
    assert "Marcel Pagnol" in after.text
    assert "Le rendez-vous est pris" in after.text
    assert made["key"] not in after.text + home.text
    async with db.session() as session:
        appointment = (await session.scalars(select(Appointment))).one()
        kinds = set(
            await session.scalars(
                select(OutboxMessage.kind).where(OutboxMessage.appointment_id == appointment.id)
            )
        )
    assert appointment.channel == "partner"
    assert appointment.partner_id == made["id"]
    assert appointment.booked_by_agent_id is None
    assert {"confirmation", "partner_copy"} <= kinds
    assert logged_out.status_code == 303
    assert COOKIE not in client.cookies or not client.cookies.get(COOKIE)
    assert 'name="cle"' in again.text  # the login form again


async def test_a_wrong_key_opens_nothing_and_the_pages_behind_send_to_the_login(
    client: CLIENT, staff: Staff
) -> None:
    await partner(client, staff)

    wrong = await client.post("/partenaires/connexion", data={"cle": "gp_abcdefghij_" + "A" * 43})
    empty = await client.post("/partenaires/connexion", data={"cle": ""})
    huge = await client.post("/partenaires/connexion", data={"cle": "gp_" + "x" * 5000})
    behind = await client.get(FORM, follow_redirects=False)

    assert wrong.status_code == 401
    assert "Cette clé n'ouvre aucun compte partenaire" in html.unescape(wrong.text)
    assert empty.status_code == 401
    assert huge.status_code == 401
    assert COOKIE not in wrong.cookies
    assert behind.status_code == 303
    assert behind.headers["location"] == "/partenaires"


async def test_revoking_the_key_ends_its_sessions_at_once(
    client: CLIENT, staff: Staff, db: Database
) -> None:
    made, admin = await partner(client, staff)
    csrf = await log_in(client, made["key"])
    start = await slot_of(client)
    cookie = client.cookies.get(COOKIE)

    revoked = await client.delete(f"/api/v1/admin/partners/{made['id']}", headers=admin)
    client.cookies.set(COOKIE, cookie or "")
    form = await client.get(FORM, follow_redirects=False)
    client.cookies.set(COOKIE, cookie or "")
    booked = await client.post(FORM, data=person(csrf, start), follow_redirects=False)
    login_again = await client.post("/partenaires/connexion", data={"cle": made["key"]})

    assert revoked.status_code == 204
    assert form.status_code == 303
    assert form.headers["location"] == "/partenaires"
    assert booked.status_code == 303
    assert booked.headers["location"] == "/partenaires"
    assert login_again.status_code == 401
    async with db.session() as session:
        assert (await session.scalars(select(Appointment))).all() == []


async def test_every_partner_form_needs_its_sessions_own_token(
    client: CLIENT, staff: Staff, db: Database
) -> None:
    made, _ = await partner(client, staff)
    other_csrf = await log_in(client, made["key"])
    csrf = await log_in(client, made["key"])
    start = await slot_of(client)

    refused = [
        await client.post(FORM, data={**person(csrf, start), "csrf": ""}),
        await client.post(FORM, data=person(other_csrf, start)),
        await client.post(FORM, data=person("0" * 40, start)),
        await client.post("/partenaires/deconnexion", data={"csrf": other_csrf}),
    ]
    cross_site = await client.post(
        FORM, data=person(csrf, start), headers={"Origin": "https://ailleurs.example.org"}
    )
    still_in = await client.get("/partenaires")

    assert [answer.status_code for answer in refused] == [403, 403, 403, 403]
    assert cross_site.status_code == 403
    assert "CCAS du 15e" in still_in.text  # the session is still open
    async with db.session() as session:
        assert (await session.scalars(select(Appointment))).all() == []


async def test_a_partner_books_only_at_its_mairies_and_a_refused_form_keeps_what_was_typed(
    client: CLIENT, staff: Staff
) -> None:
    made, _ = await partner(client, staff)
    csrf = await log_in(client, made["key"])
    start = await slot_of(client)

    elsewhere_page = await client.get(f"/partenaires/mairies/{ELSEWHERE}/rendez-vous")
    elsewhere = await client.post(
        f"/partenaires/mairies/{ELSEWHERE}/rendez-vous", data=person(csrf, start)
    )
    unknown = await client.get("/partenaires/mairies/paris-99/rendez-vous")
    no_contact = await client.post(FORM, data=person(csrf, start, email=""))
    no_slot = await client.post(FORM, data=person(csrf, "pas une date"))

    assert elsewhere_page.status_code == 403
    assert elsewhere.status_code == 403
    assert unknown.status_code == 404
    assert no_contact.status_code == 400
    assert 'value="Marcel Pagnol"' in no_contact.text
    assert 'role="alert"' in no_contact.text
    assert 400 <= no_slot.status_code < 500


async def test_tries_of_keys_from_one_address_are_as_few_as_staff_logins(
    database_url: str, clock: Clock
) -> None:
    """A key cannot be guessed, but each try costs a look in the database: an address
    that tries too many is told to wait (429), as staff logins are."""
    from app.asgi import create_app
    from tests.conftest import make_settings

    app = create_app(make_settings(database_url, login_attempts_per_minute=1), clock=clock)
    async with AsyncTestClient(app=app, base_url="http://127.0.0.1") as client:
        answers = [
            (await client.post("/partenaires/connexion", data={"cle": f"gp_wrong{n}"})).status_code
            for n in range(7)
        ]

    assert answers[:5] == [401] * 5
    assert answers[5:] == [429, 429]


DESK_FORM = f"/accueil/{HERE}/rendez-vous"


async def both_forms(client: CLIENT, staff: Staff, day: str) -> tuple[Any, Any]:
    """The partner's form and the reception's, asked for the slots of `day`; the client is
    left logged in as the reception."""
    made, _ = await partner(client, staff)
    await log_in(client, made["key"])
    partner_page = await client.get(FORM, params={"service": "caf", "jour": day})
    client.cookies.clear()
    email = await staff.agent("reception", HERE)
    login = await client.post("/connexion", data={"email": email, "password": STAFF_PASSWORD})
    assert login.status_code == 200, login.text
    return partner_page, await client.get(DESK_FORM, params={"service": "caf", "jour": day})


@pytest.mark.parametrize(
    "day", ["abc", "2026-13-45", "2026-02-30", "2027-02-29", "2026-12-1", "２０２６-12-07"]
)
async def test_a_day_that_is_not_one_is_refused_on_both_forms_booking_for_someone(
    client: CLIENT, staff: Staff, day: str
) -> None:
    """The partner's form and the reception's share how they read the day: what is not a
    day written YYYY-MM-DD is a 400 page, not today's slots shown for it."""
    partner_page, desk_page = await both_forms(client, staff, day)
    today = await client.get(DESK_FORM, params={"service": "caf"})

    assert partner_page.status_code == 400
    assert desk_page.status_code == 400
    for page in (partner_page, desk_page):  # any day is taken here: none is out of bounds
        assert "Cette date n'existe pas : écrivez-la AAAA-MM-JJ" in html.unescape(page.text)
        assert "2100" not in page.text
    assert today.status_code == 200
    assert "Créneaux libres le mardi 1er décembre 2026" in today.text


@pytest.mark.parametrize("day", ["2027-01-31", "2100-12-31", "9999-12-31"])
async def test_a_day_past_the_last_open_one_shows_that_one_on_both_forms_booking_for_someone(
    client: CLIENT, staff: Staff, day: str
) -> None:
    """A day past those open for booking, in whatever year, shows the last day open, saying
    so and up to when bookings are open, with no "next day" link to a day that takes none
    (the residents' pages do the same with a week); a past day shows today."""
    partner_page, desk_page = await both_forms(client, staff, day)
    last_day = await client.get(DESK_FORM, params={"service": "caf", "jour": "2027-01-30"})
    past = await client.get(DESK_FORM, params={"service": "caf", "jour": "2001-05-04"})

    for page in (partner_page, desk_page):
        assert page.status_code == 200
        text = html.unescape(page.text)
        # 60 days from Tuesday 1 December 2026 at 9 h 00.
        assert "Créneaux libres le samedi 30 janvier 2027" in text
        assert "voici le dernier jour ouvert à la réservation" in text
        assert "s'ouvrent 60 jours à l'avance : jusqu'au samedi 30 janvier 2027" in text
        assert "Jour suivant" not in text
        assert 'max="2027-01-30"' in text
        assert 'min="2026-12-01"' in text
    assert "dernier jour ouvert" not in html.unescape(last_day.text)
    assert "jusqu'au samedi 30 janvier 2027" in html.unescape(last_day.text)
    assert past.status_code == 200
    assert "Créneaux libres le mardi 1er décembre 2026" in past.text
    assert "jusqu'au" not in html.unescape(past.text).split("Créneaux libres", 1)[1]


def switch_and_way_back(page: str) -> tuple[str, list[str]]:
    """The language switch's link and the links of a page's content."""
    switch = re.search(r'class="language-switch" href="([^"]+)"', page)
    assert switch, "no language switch"
    content = page.split("<main", 1)[1]
    return html.unescape(switch.group(1)), re.findall(r'<a href="([^"]+)"', content)


async def test_a_partners_error_page_leads_back_to_their_pages_in_either_language(
    client: CLIENT, staff: Staff
) -> None:
    made, _ = await partner(client, staff)
    csrf = await log_in(client, made["key"])
    start = await slot_of(client)
    page = {"Accept": "text/html"}

    elsewhere = await client.post(
        f"/partenaires/mairies/{ELSEWHERE}/rendez-vous", data=person(csrf, start)
    )  # a form refused: no address of its own to open again, no referrer
    unknown_request = await client.get("/partenaires/demandes/ZZZZ9999", headers=page)
    nowhere = await client.get("/partenaires/nulle-part", headers=page)
    english = await client.get("/partenaires/nulle-part?lang=en", headers=page)

    assert elsewhere.status_code == 403
    assert switch_and_way_back(elsewhere.text) == ("/partenaires?lang=en", ["/partenaires"])
    assert unknown_request.status_code == 404
    assert switch_and_way_back(unknown_request.text) == (
        "/partenaires/demandes/ZZZZ9999?lang=en",
        ["/partenaires"],
    )
    assert nowhere.status_code == 404
    assert switch_and_way_back(nowhere.text) == (
        "/partenaires/nulle-part?lang=en",
        ["/partenaires"],
    )
    assert "Espace partenaires" in nowhere.text
    assert english.status_code == 404
    assert switch_and_way_back(english.text) == (
        "/partenaires/nulle-part?lang=fr",
        ["/partenaires"],
    )
    assert "Back to the partners' area" in english.text


async def test_a_partners_language_switch_never_leads_out_of_their_pages(
    client: CLIENT, staff: Staff
) -> None:
    made, _ = await partner(client, staff)
    csrf = await log_in(client, made["key"])
    page = {"Accept": "text/html"}
    sent_from = [
        "http://127.0.0.1/",
        "http://127.0.0.1/mairies/paris-15",
        "http://127.0.0.1/console",
    ]

    refused = [
        await client.post(
            "/partenaires/demandes/DM15-XXXX", data={"csrf": csrf}, headers={"Referer": where}
        )
        for where in sent_from
    ]
    stepping_out = await client.get("/partenaires/%2e%2e/x", headers=page)

    for answer in refused:
        assert 400 <= answer.status_code < 500
        assert switch_and_way_back(answer.text)[0] == "/partenaires?lang=en"
    assert switch_and_way_back(stepping_out.text)[0] == "/partenaires?lang=en"


async def test_a_day_the_mairie_is_closed_is_said_so_on_both_forms_booking_for_someone(
    client: CLIENT, staff: Staff
) -> None:
    """A day without slots may be a day fully booked or one the mairie is closed: the
    person on the phone is told which, and why where the calendar says (a holiday)."""
    sunday_partner, sunday_desk = await both_forms(client, staff, "2026-12-06")
    christmas = await client.get(DESK_FORM, params={"service": "caf", "jour": "2026-12-25"})
    monday = await client.get(DESK_FORM, params={"service": "caf", "jour": "2026-12-07"})

    for page in (sunday_partner, sunday_desk):
        assert "La mairie est fermée ce jour-là." in html.unescape(page.text)
        assert "Jour suivant" in page.text
    assert "La mairie est fermée ce jour-là (Noël)." in html.unescape(christmas.text)
    assert "fermée" not in html.unescape(monday.text).split("Créneaux libres", 1)[1]
