"""French words shown to an English reader are marked as French (WCAG 3.1.2, RGAA 8.8): a
démarche or a need the City has not translated, shown in French on an English page or in an
English email, sits in an element with lang="fr", so that a screen reader says it as French;
one that has its English name does not; the mairie's own prose (how to come, why it is
closed, its special hours) is marked French on English pages too. French pages and emails
carry no such mark: all of them are French already."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.message import Message
from html.parser import HTMLParser
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import select, update

from app.db import Database
from app.sites.models import Closure, Need, Service, Site
from tests.post import Post, desk_of, walk_in

CLIENT = AsyncTestClient[Any]
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
ENGLISH = {**BROWSER, "Cookie": "guichet_lang=en"}
FRENCH = {**BROWSER, "Cookie": "guichet_lang=fr"}
BOOKING = "/mairies/paris-15/rendez-vous"
SLOT = "2026-12-01T10:00:00+01:00"

# CAF's démarche and poor eyesight are left untranslated here; the others keep their English.
CAF_FR = "Démarches CAF en ligne"
CAF_ABOUT_FR = "Espace allocataire caf.fr"
CAF_DOCUMENT_FR = "Votre numéro allocataire et votre code confidentiel"
VUE_FR = "Je vois mal"
PARIS_EN = "Setting up or using your Mon Paris account"
WHEELCHAIR_EN = "I use a wheelchair"
CHOSEN = {"service": "caf", "besoins": ["vue", "fauteuil"]}

ACCESS = "Entrée par la rue Péclet, ascenseur au fond de la cour"
STRIKE = "Grève du personnel"
CHRISTMAS_EN = "Christmas Day"

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}


class Languages(HTMLParser):
    """Each piece of text of a page with the language it is in: that of the innermost
    element around it that says one (`lang`)."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[tuple[str, str | None]] = []
        self.texts: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID:
            self.open.append((tag, dict(attrs).get("lang")))

    def handle_endtag(self, tag: str) -> None:
        while self.open:
            if self.open.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        said = next((lang for _, lang in reversed(self.open) if lang), None)
        self.texts.append((" ".join(data.split()), said))


def languages_of(html: str, text: str) -> list[str | None]:
    """The language each piece of the page holding `text` is in, as a browser sees it."""
    parser = Languages()
    parser.feed(html)
    found = [said for data, said in parser.texts if text in data]
    assert found, f"{text!r} is not in the page"
    return found


def said_in_french(html: str, text: str) -> bool:
    return set(languages_of(html, text)) == {"fr"}


def said_in_english(html: str, text: str) -> bool:
    return set(languages_of(html, text)) == {"en"}


def marks(html: str) -> int:
    """How many elements say they are French, the page's own <html> but one."""
    return html.count('lang="fr"') - 1


def contact(**fields: Any) -> dict[str, Any]:
    return {**CHOSEN, "debut": SLOT, "nom": "Ada Lovelace", "email": "ada@example.org", **fields}


async def untranslated(db: Database) -> None:
    """CAF's démarche and poor eyesight left without English; paris-15's access note and a
    strike closure, in the mairie's French."""
    async with db.writing() as session:
        await session.execute(
            update(Service)
            .where(Service.code == "caf")
            .values(name_en="", description_en="", documents_en=[])
        )
        await session.execute(update(Need).where(Need.code == "vue").values(name_en=""))
        site = await session.scalar(select(Site).where(Site.slug == "paris-15"))
        assert site is not None
        site.access = ACCESS
        session.add(
            Closure(
                site_id=site.id,
                starts_at=datetime(2026, 12, 9, 23, tzinfo=UTC),
                ends_at=datetime(2026, 12, 10, 23, tzinfo=UTC),
                reason=STRIKE,
            )
        )


async def booking_steps(client: CLIENT, headers: dict[str, str]) -> list[str]:
    """The HTML of each booking step: the démarche, the slots, the contact details, the
    summary to confirm."""
    steps = [
        await client.get(BOOKING, headers=headers),
        await client.get(f"{BOOKING}/creneaux", params=CHOSEN, headers=headers),
        await client.get(
            f"{BOOKING}/coordonnees", params={**CHOSEN, "debut": SLOT}, headers=headers
        ),
        await client.post(f"{BOOKING}/coordonnees", data=contact(), headers=headers),
    ]
    assert [step.status_code for step in steps] == [200, 200, 200, 200], steps[-1].text
    return [step.text for step in steps]


async def free_slot(client: CLIENT, service: str, after: str) -> str:
    """The first free slot of `service` offered after the `after` day (YYYY-MM-DD)."""
    page = await client.get(f"{BOOKING}/creneaux", params={**CHOSEN, "service": service})
    starts: list[str] = re.findall(r'name="debut" id="[^"]*" value="([^"]+)"', page.text)
    return next(start for start in starts if start[:10] > after)


async def book(client: CLIENT, headers: dict[str, str], **fields: Any) -> str:
    """Book on the pages in the language of `headers`; the appointment's token."""
    booked = await client.post(
        f"{BOOKING}/coordonnees",
        data=contact(confirmer="oui", **fields),
        headers=headers,
        follow_redirects=False,
    )
    assert booked.status_code == 303, booked.text
    return str(booked.headers["location"]).split("/")[2].split("?")[0]


def html_of(mail: Message) -> str:
    part = next(p for p in mail.walk() if p.get_content_type() == "text/html")
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


# The mairie's page


async def test_the_mairie_s_own_french_notes_are_marked_french_on_its_english_page(
    post: Post, db: Database
) -> None:
    await untranslated(db)

    page = (await post.client.get("/mairies/paris-15", headers=ENGLISH)).text

    assert said_in_french(page, ACCESS)
    assert said_in_french(page, STRIKE)
    assert said_in_english(page, CHRISTMAS_EN)


async def test_a_mairie_s_special_hours_note_is_marked_french_on_its_english_page(
    post: Post,
) -> None:
    note = "Fermé jusqu'à 13 h le premier mardi du mois"

    english = (await post.client.get("/mairies/paris-19", headers=ENGLISH)).text
    french = (await post.client.get("/mairies/paris-19", headers=FRENCH)).text

    assert said_in_french(english, note)
    assert marks(french) == 0


async def test_the_mairie_s_french_page_has_no_french_marks(post: Post, db: Database) -> None:
    await untranslated(db)

    page = (await post.client.get("/mairies/paris-15", headers=FRENCH)).text

    assert said_in_french(page, ACCESS)  # the page's own language
    assert marks(page) == 0


async def test_the_home_page_marks_the_untranslated_demarche_among_the_english_ones(
    post: Post, db: Database
) -> None:
    await untranslated(db)

    english = (await post.client.get("/", headers=ENGLISH)).text
    french = (await post.client.get("/", headers=FRENCH)).text

    assert said_in_french(english, CAF_FR)
    assert said_in_english(english, PARIS_EN)
    assert marks(french) == 0


# The booking steps and the appointment's page


async def test_each_english_booking_step_marks_the_french_demarche_and_need_only(
    post: Post, db: Database
) -> None:
    await untranslated(db)

    steps = await booking_steps(post.client, ENGLISH)

    choice, *after = steps
    assert said_in_french(choice, CAF_FR)
    assert said_in_french(choice, CAF_ABOUT_FR)
    assert said_in_english(choice, PARIS_EN)
    for step in steps:
        assert said_in_french(step, VUE_FR)
        assert said_in_english(step, WHEELCHAIR_EN)
    for step in after:
        assert said_in_french(step, CAF_FR)


async def test_the_french_booking_steps_have_no_french_marks(post: Post, db: Database) -> None:
    await untranslated(db)

    steps = await booking_steps(post.client, FRENCH)

    assert [marks(step) for step in steps] == [0, 0, 0, 0]


async def test_the_page_of_a_booked_appointment_marks_its_french_demarche_needs_documents(
    post: Post, db: Database
) -> None:
    await untranslated(db)
    french_one = await book(post.client, ENGLISH)
    later = await free_slot(post.client, "compte-paris", after="2026-12-01")
    english_one = await book(post.client, ENGLISH, service="compte-paris", debut=later)

    page = (await post.client.get(f"/rendez-vous/{french_one}", headers=ENGLISH)).text
    other = (await post.client.get(f"/rendez-vous/{english_one}", headers=ENGLISH)).text
    in_french = (await post.client.get(f"/rendez-vous/{french_one}", headers=FRENCH)).text

    assert said_in_french(page, CAF_FR)
    assert said_in_french(page, CAF_DOCUMENT_FR)
    assert said_in_french(page, VUE_FR)
    assert said_in_english(page, WHEELCHAIR_EN)
    assert said_in_english(other, PARIS_EN)
    assert marks(in_french) == 0


# The tracking page of a ticket


async def test_a_ticket_s_english_page_marks_a_french_demarche_and_the_access_note(
    post: Post, db: Database
) -> None:
    await untranslated(db)
    post.clock.set("2026-12-01 10:00")
    desk = await desk_of(post, db)
    french_one = await walk_in(post, desk)
    english_one = await walk_in(post, desk, service="compte-paris")

    page = (await post.client.get(f"/ticket/{french_one['token']}", headers=ENGLISH)).text
    other = (await post.client.get(f"/ticket/{english_one['token']}", headers=ENGLISH)).text
    in_french = (await post.client.get(f"/ticket/{french_one['token']}", headers=FRENCH)).text

    assert said_in_french(page, CAF_FR)
    assert said_in_french(page, ACCESS)
    assert said_in_english(other, PARIS_EN)
    assert marks(in_french) == 0


# The confirmation email


async def test_an_english_confirmation_marks_a_french_demarche_and_its_documents(
    post: Post, db: Database
) -> None:
    await untranslated(db)
    await book(post.client, ENGLISH)
    later = await free_slot(post.client, "compte-paris", after="2026-12-01")
    await book(post.client, ENGLISH, service="compte-paris", debut=later, email="bob@example.org")
    await book(
        post.client,
        FRENCH,
        debut=await free_slot(post.client, "caf", after="2026-12-02"),
        email="eve@example.org",
    )

    await post.send_due()

    (french_one,) = post.mails()
    (english_one,) = post.mails("bob@example.org")
    (in_french,) = post.mails("eve@example.org")
    assert said_in_french(html_of(french_one), CAF_FR)
    assert said_in_french(html_of(french_one), CAF_DOCUMENT_FR)
    assert said_in_english(html_of(english_one), PARIS_EN)
    assert marks(html_of(in_french)) == 0
