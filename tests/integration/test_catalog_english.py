"""The démarches and needs in English, on both databases: an English reader sees their
English names (descriptions, documents to bring) in the booking steps, on the private page
of an appointment, in its confirmation and calendar file, on a ticket's tracking page; a
French reader sees the French ones; one the City has not translated is shown in French to
both; administrators set and clear the English texts, on the catalog pages and the API.
And a few French wording slips of the residents' pages and messages, fixed."""

from __future__ import annotations

import re
from datetime import date
from email.message import Message
from html import unescape
from typing import Any

import icalendar
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update

from app.db import Database
from app.sites.demo import NEEDS, SERVICES, load_demo
from app.sites.models import Need, Service
from tests.conftest import STAFF_PASSWORD, Staff
from tests.post import Post, desk_of, serve, walk_in

CLIENT = AsyncTestClient[Any]
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
ENGLISH = {**BROWSER, "Cookie": "guichet_lang=en"}
FRENCH = {**BROWSER, "Cookie": "guichet_lang=fr"}
SLOT = "2026-12-01T10:00:00+01:00"
BOOKING = "/mairies/paris-15/rendez-vous"
CHOSEN = {"service": "caf", "besoins": "vue"}

CAF_FR = "Démarches CAF en ligne"
CAF_EN = "CAF family benefits online"
CAF_ABOUT_EN = "Your caf.fr account: quarterly declaration"
CAF_DOCUMENT_FR = "Votre numéro allocataire et votre code confidentiel"
CAF_DOCUMENT_EN = "Your CAF claimant number and secret code"
VUE_FR = "Je vois mal"
VUE_EN = "I have difficulty seeing"


def words(html: str) -> str:
    """The words of a page or an email, tags out."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def contact(**fields: Any) -> dict[str, Any]:
    return {
        **CHOSEN,
        "debut": SLOT,
        "nom": "Ada Lovelace",
        "email": "ada@example.org",
        **fields,
    }


async def booking_steps(client: CLIENT, headers: dict[str, str]) -> list[str]:
    """The words of each booking step, for the CAF démarche and poor eyesight: the choice
    of a démarche, the slots, the contact details, the summary to confirm."""
    steps = [
        await client.get(BOOKING, headers=headers),
        await client.get(f"{BOOKING}/creneaux", params=CHOSEN, headers=headers),
        await client.get(
            f"{BOOKING}/coordonnees", params={**CHOSEN, "debut": SLOT}, headers=headers
        ),
        await client.post(f"{BOOKING}/coordonnees", data=contact(), headers=headers),
    ]
    assert [step.status_code for step in steps] == [200, 200, 200, 200], steps[-1].text
    return [words(step.text) for step in steps]


async def book_on_the_page(client: CLIENT, headers: dict[str, str], **fields: Any) -> str:
    """Book on the booking pages in the language of `headers`; the appointment's token."""
    booked = await client.post(
        f"{BOOKING}/coordonnees",
        data=contact(confirmer="oui", **fields),
        headers=headers,
        follow_redirects=False,
    )
    assert booked.status_code == 303, booked.text
    return str(booked.headers["location"]).split("/")[2].split("?")[0]


def part_of(mail: Message, kind: str) -> str:
    part = next(p for p in mail.walk() if p.get_content_type() == kind)
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def calendar_event(mail: Message) -> Any:
    calendar = icalendar.Calendar.from_ical(part_of(mail, "text/calendar"))
    return next(c for c in calendar.walk() if c.name == "VEVENT")


async def log_in(client: CLIENT, staff: Staff) -> None:
    email = await staff.agent("admin")
    logged = await client.post(
        "/connexion", data={"email": email, "password": STAFF_PASSWORD}, follow_redirects=False
    )
    assert logged.status_code == 303, logged.text


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


# The residents' pages


async def test_an_english_visitor_reads_the_demarche_and_needs_in_english_at_each_step(
    post: Post,
) -> None:
    steps = await booking_steps(post.client, ENGLISH)

    choice, *after = steps
    assert CAF_EN in choice
    assert CAF_ABOUT_EN in choice
    assert VUE_EN in choice
    assert "I use a wheelchair" in choice
    for step in steps:
        assert CAF_FR not in step
        assert VUE_FR not in step
    for step in after:
        assert CAF_EN in step
        assert VUE_EN in step


async def test_a_french_visitor_reads_them_in_french(post: Post) -> None:
    steps = await booking_steps(post.client, FRENCH)

    for step in steps:
        assert CAF_FR in step
        assert VUE_FR in step
        assert CAF_EN not in step
        assert VUE_EN not in step
    assert "Espace allocataire caf.fr" in steps[0]


async def test_the_private_page_of_an_appointment_names_it_in_the_visitor_s_language(
    post: Post,
) -> None:
    token = await book_on_the_page(post.client, ENGLISH)

    english = words((await post.client.get(f"/rendez-vous/{token}", headers=ENGLISH)).text)
    french = words((await post.client.get(f"/rendez-vous/{token}", headers=FRENCH)).text)

    assert CAF_EN in english
    assert VUE_EN in english
    assert CAF_DOCUMENT_EN in english
    assert CAF_FR not in english
    assert CAF_DOCUMENT_FR not in english
    assert CAF_FR in french
    assert VUE_FR in french
    assert CAF_DOCUMENT_FR in french


async def test_a_ticket_s_tracking_page_names_its_demarche_in_the_visitor_s_language(
    post: Post, db: Database
) -> None:
    post.clock.set("2026-12-01 10:00")
    ticket = await walk_in(post, await desk_of(post, db))

    english = words((await post.client.get(f"/ticket/{ticket['token']}", headers=ENGLISH)).text)
    french = words((await post.client.get(f"/ticket/{ticket['token']}", headers=FRENCH)).text)

    assert CAF_EN in english
    assert CAF_FR not in english
    assert CAF_FR in french


# The messages


async def test_the_confirmation_of_a_booking_in_english_names_the_demarche_in_english(
    post: Post,
) -> None:
    await book_on_the_page(post.client, ENGLISH)
    await book_on_the_page(
        post.client, ENGLISH, debut="2026-12-02T10:00:00+01:00", email="", telephone="0612345678"
    )

    await post.send_due()

    (mail,) = post.mails()
    text, html = part_of(mail, "text/plain"), words(part_of(mail, "text/html"))
    event = calendar_event(mail)
    (sms,) = [message["text"] for message in post.sms.received]
    assert f"Task: {CAF_EN}" in text
    assert f"- {CAF_DOCUMENT_EN}" in text
    assert CAF_EN in html
    assert CAF_DOCUMENT_EN in html
    for written in (text, html, str(event["DESCRIPTION"])):
        assert CAF_FR not in written
        assert CAF_DOCUMENT_FR not in written
    assert str(event["SUMMARY"]) == f"Digital help: {CAF_EN}"
    assert CAF_DOCUMENT_EN in str(event["DESCRIPTION"])
    assert sms.startswith("Appointment confirmed ")
    assert CAF_FR not in sms


async def test_an_english_email_is_marked_english_and_its_links_open_in_english(
    post: Post,
) -> None:
    await book_on_the_page(post.client, ENGLISH)
    await book_on_the_page(
        post.client, {}, debut="2026-12-02T10:00:00+01:00", email="f@example.org"
    )

    await post.send_due()

    (english,), (french,) = post.mails(), post.mails("f@example.org")
    english_html, french_html = part_of(english, "text/html"), part_of(french, "text/html")
    assert '<html lang="en">' in english_html
    assert "?lang=en" in part_of(english, "text/plain")
    assert '<html lang="fr">' in french_html
    assert "?lang=" not in part_of(french, "text/plain") + french_html


async def test_the_confirmation_of_a_booking_in_french_names_it_in_french(post: Post) -> None:
    await book_on_the_page(post.client, FRENCH)

    await post.send_due()

    (mail,) = post.mails()
    text = part_of(mail, "text/plain")
    assert f"Démarche : {CAF_FR}" in text
    assert f"- {CAF_DOCUMENT_FR}" in text
    assert CAF_EN not in text
    assert str(calendar_event(mail)["SUMMARY"]) == f"Facilitation numérique : {CAF_FR}"


async def test_a_demarche_without_english_is_named_in_french_to_an_english_reader(
    post: Post, db: Database
) -> None:
    async with db.writing() as session:
        await session.execute(
            update(Service)
            .where(Service.code == "caf")
            .values(name_en="", description_en="", documents_en=[])
        )
        await session.execute(update(Need).where(Need.code == "vue").values(name_en=""))

    steps = await booking_steps(post.client, ENGLISH)
    await book_on_the_page(post.client, ENGLISH)
    await post.send_due()

    for step in steps[1:]:
        assert CAF_FR in step
        assert VUE_FR in step
    assert "Espace allocataire caf.fr" in steps[0]
    (mail,) = post.mails()
    text = part_of(mail, "text/plain")
    assert f"Task: {CAF_FR}" in text
    assert f"- {CAF_DOCUMENT_FR}" in text
    assert "Your appointment on" in str(mail["Subject"])


async def test_the_follow_up_of_a_visit_booked_in_english_names_its_demarche_in_english(
    post: Post, db: Database
) -> None:
    token = await book_on_the_page(post.client, ENGLISH)
    booked = (await post.client.get(f"/api/v1/appointments/{token}")).json()
    post.clock.set("2026-12-01 09:55")
    desk = await desk_of(post, db)
    checked_in = await post.client.post(
        "/api/v1/sites/paris-15/check-ins",
        json={"reference": booked["reference"]},
        headers=desk.reception,
    )
    assert checked_in.status_code == 201, checked_in.text
    await serve(post, desk)
    post.clock.set("2026-12-01 10:30")

    await post.send_due()

    text = part_of(post.mails()[-1], "text/plain")
    assert f"Task: {CAF_EN}" in text
    assert CAF_FR not in text  # nor in what was done together


# The administration


async def test_an_administrator_sets_then_clears_the_english_texts_on_the_catalog_pages(
    client: CLIENT, staff: Staff
) -> None:
    await log_in(client, staff)
    form = await client.get("/admin/catalogue/demarches/caf")
    csrf = csrf_of(form.text)
    french = {
        "csrf": csrf,
        "name": CAF_FR,
        "description": "Espace allocataire caf.fr.",
        "duration_minutes": "30",
        "station_kind": "standard",
        "documents": CAF_DOCUMENT_FR,
    }

    set_ = await client.post(
        "/admin/catalogue/demarches/caf",
        data={
            **french,
            "name_en": "  Benefits from the CAF  ",
            "description_en": "Your family benefits online.",
            "documents_en": "Your claimant number\n\nYour password\n",
        },
        follow_redirects=False,
    )
    need_set = await client.post(
        "/admin/catalogue/besoins/vue",
        data={"csrf": csrf, "name": VUE_FR, "extra_minutes": "15", "name_en": "I see badly"},
        follow_redirects=False,
    )
    shown = words((await client.get(BOOKING, headers=ENGLISH)).text)
    item = (await client.get("/api/v1/admin/services/caf")).json()
    listing = await client.get("/admin/catalogue")
    refused = await client.post(
        "/admin/catalogue/demarches/caf",
        data={**french, "name_en": "x" * 121},
    )
    cleared = await client.post(
        "/admin/catalogue/demarches/caf", data=french, follow_redirects=False
    )
    need_cleared = await client.post(
        "/admin/catalogue/besoins/vue",
        data={"csrf": csrf, "name": VUE_FR, "extra_minutes": "15", "name_en": ""},
        follow_redirects=False,
    )
    after = words((await client.get(BOOKING, headers=ENGLISH)).text)

    assert 'name="name_en"' in form.text
    assert 'lang="en"' in form.text
    assert f'value="{CAF_EN}"' in form.text
    assert [set_.status_code, need_set.status_code] == [303, 303]
    assert "Benefits from the CAF" in shown
    assert "Your family benefits online." in shown
    assert "I see badly" in shown
    assert item["name_en"] == "Benefits from the CAF"
    assert item["documents_en"] == ["Your claimant number", "Your password"]
    assert '<span lang="en">Benefits from the CAF</span>' in listing.text
    assert refused.status_code == 400
    assert 'aria-describedby="name_en-erreur"' in refused.text
    assert [cleared.status_code, need_cleared.status_code] == [303, 303]
    assert "Benefits from the CAF" not in after
    assert CAF_FR in after
    assert "Espace allocataire caf.fr." in after
    assert VUE_FR in after


async def test_the_api_sets_and_clears_the_english_texts(client: CLIENT, staff: Staff) -> None:
    admin = await staff.headers("admin")

    added = await client.post(
        "/api/v1/admin/services",
        json={"code": "carte-grise", "name": "Carte grise", "duration_minutes": 30},
        headers=admin,
    )
    named = await client.patch(
        "/api/v1/admin/services/carte-grise",
        json={"name_en": "Vehicle registration", "documents_en": ["Driving licence"]},
        headers=admin,
    )
    bad = await client.patch(
        "/api/v1/admin/services/carte-grise", json={"name_en": "Two\nlines"}, headers=admin
    )
    turned = [
        await client.patch(
            "/api/v1/admin/services/carte-grise", json={field: "Report\u202eevil"}, headers=admin
        )
        for field in ("name", "name_en", "description_en")
    ]
    need = await client.post(
        "/api/v1/admin/needs",
        json={"code": "braille", "name": "Je lis le braille", "name_en": "I read braille"},
        headers=admin,
    )
    cleared = await client.patch(
        "/api/v1/admin/services/carte-grise", json={"name_en": ""}, headers=admin
    )
    public = (await client.get("/api/v1/services")).json()

    assert added.status_code == 201, added.text
    assert added.json()["name_en"] == ""
    assert added.json()["documents_en"] == []
    assert named.status_code == 200, named.text
    assert named.json()["name_en"] == "Vehicle registration"
    assert named.json()["documents_en"] == ["Driving licence"]
    assert bad.status_code == 400
    assert [answer.status_code for answer in turned] == [400, 400, 400]  # text turned around
    assert need.status_code == 201, need.text
    assert need.json()["name_en"] == "I read braille"
    assert cleared.json()["name_en"] == ""
    assert cleared.json()["documents_en"] == ["Driving licence"]
    caf = next(item for item in public if item["code"] == "caf")
    assert caf["name"] == CAF_FR  # the public API stays as it is
    assert "name_en" not in caf


def test_every_demo_demarche_and_need_has_its_english_texts() -> None:
    for service in SERVICES:
        assert service["name_en"], service["code"]
        assert service["description_en"], service["code"]
        assert len(service["documents_en"]) == len(service["documents"]), service["code"]
    assert all(need["name_en"] for need in NEEDS)


async def test_the_demo_gives_its_english_texts_to_its_items_loaded_before_them(
    db: Database,
) -> None:
    async with db.writing() as session:
        await session.execute(
            update(Service).values(name_en="", description_en="", documents_en=[])
        )
        await session.execute(update(Need).values(name_en=""))
        await session.execute(
            update(Service).where(Service.code == "impots").values(name="Impôts (renommée)")
        )
    async with db.writing() as session:
        await load_demo(session, today=date(2026, 12, 1))
    async with db.session() as session:
        services = {item.code: item for item in await session.scalars(select(Service))}
        needs = {item.code: item for item in await session.scalars(select(Need))}

    assert services["caf"].name_en == CAF_EN
    assert services["caf"].documents_en[0] == CAF_DOCUMENT_EN
    assert services["impots"].name_en == ""  # renamed by the City: left alone
    assert needs["vue"].name_en == VUE_EN


# French wording


async def test_the_appointment_page_says_e_mail_like_the_rest_of_the_service(post: Post) -> None:
    token = await book_on_the_page(post.client, FRENCH)

    page = words((await post.client.get(f"/rendez-vous/{token}", headers=FRENCH)).text)

    assert "courriel" not in page.lower()
    assert "e-mail de confirmation" in page


async def test_the_find_page_has_straight_apostrophes_and_no_wrong_agreement(
    client: CLIENT,
) -> None:
    page = words((await client.get("/rendez-vous/retrouver", headers=FRENCH)).text)

    assert "’" not in page
    assert "donnés" not in page
    assert "courriel" not in page.lower()
    assert "Le numéro de téléphone ou l'adresse e-mail de la réservation" in page


async def test_the_follow_up_names_the_mairie_without_an_article_before_it(
    post: Post, db: Database
) -> None:
    booked = await post.book(SLOT, email="ada@example.org")
    post.clock.set("2026-12-01 09:55")
    desk = await desk_of(post, db)
    checked_in = await post.client.post(
        "/api/v1/sites/paris-15/check-ins",
        json={"reference": booked["reference"]},
        headers=desk.reception,
    )
    assert checked_in.status_code == 201, checked_in.text
    await serve(post, desk)
    post.clock.set("2026-12-01 10:30")

    await post.send_due()

    follow_up = post.mails()[-1]
    text, html = part_of(follow_up, "text/plain"), words(part_of(follow_up, "text/html"))
    assert follow_up["Subject"] == "Merci de votre visite (Mairie du 15e arrondissement)"
    for written in (text, html):
        assert "Merci de votre visite (Mairie du 15e arrondissement)." in written
        assert f"Démarche : {CAF_FR}" in written
        assert "à la Mairie" not in written
