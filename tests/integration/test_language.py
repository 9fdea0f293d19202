"""French and English, chosen by the visitor and remembered, on both databases: the choice
by `?lang=`, its cookie, or the browser's preference; pages and error pages in it; an
appointment booked in English gets its messages in English; HEAD and the favicon.

The English sentences asserted here are in /work/notes/en-language.json for the English
catalog (`app/i18n/locales/en/`)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from email.message import Message
from typing import Any

import icalendar
import pytest
from litestar import Litestar, get
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from app.asgi import create_app
from app.booking.models import Appointment
from app.config import Settings
from app.db import Database
from tests.conftest import Clock
from tests.post import Post, desk_of

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
IN_ENGLISH = {**BROWSER, "Accept-Language": "en-GB,en;q=0.9"}
SLOT = "2026-12-01T10:00:00+01:00"


def html_lang(page: str) -> str:
    found = re.search(r'<html lang="([a-z]+)">', page)
    assert found is not None, page[:200]
    return found.group(1)


async def test_lang_en_is_used_at_once_and_remembered_by_its_cookie(
    client: AsyncTestClient[Litestar],
) -> None:
    chosen = await client.get("/mairies/paris-15?lang=en", headers=BROWSER)
    next_page = await client.get("/", headers=BROWSER)

    assert chosen.status_code == 200
    assert html_lang(chosen.text) == "en"
    assert chosen.headers["content-language"] == "en"
    cookie = chosen.headers["set-cookie"]
    assert cookie.startswith("guichet_lang=en;")
    assert "Max-Age=31536000" in cookie
    assert "Path=/" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie  # the test app's address is http
    assert html_lang(next_page.text) == "en"
    assert next_page.headers["content-language"] == "en"
    assert "set-cookie" not in next_page.headers
    vary = {part.strip().lower() for part in next_page.headers["vary"].split(",")}
    assert {"accept-language", "cookie"} <= vary


async def test_lang_fr_beats_the_cookie_and_the_browser(client: AsyncTestClient[Litestar]) -> None:
    await client.get("/?lang=en", headers=BROWSER)

    back = await client.get("/?lang=fr", headers=IN_ENGLISH)
    after = await client.get("/", headers=IN_ENGLISH)

    assert html_lang(back.text) == "fr"
    assert back.headers["set-cookie"].startswith("guichet_lang=fr;")
    assert html_lang(after.text) == "fr"  # the cookie beats the browser


async def test_the_browser_s_preference_is_followed_without_a_cookie(
    client: AsyncTestClient[Litestar],
) -> None:
    english = await client.get("/", headers=IN_ENGLISH)
    german = await client.get("/", headers={**BROWSER, "Accept-Language": "de-DE,de"})
    canadian = await client.get("/", headers={**BROWSER, "Accept-Language": "fr-CA"})

    assert html_lang(english.text) == "en"
    assert "set-cookie" not in english.headers
    assert html_lang(german.text) == "fr"
    assert html_lang(canadian.text) == "fr"


@pytest.mark.parametrize("value", ["zz", "", "en%00", "<script>"])
async def test_an_unknown_lang_is_ignored(client: AsyncTestClient[Litestar], value: str) -> None:
    page = await client.get(f"/?lang={value}", headers=BROWSER)

    assert page.status_code == 200
    assert html_lang(page.text) == "fr"
    assert "set-cookie" not in page.headers


async def test_the_switch_links_to_the_same_page_in_the_other_language(
    client: AsyncTestClient[Litestar],
) -> None:
    french = await client.get("/mairies/paris-15/rendez-vous?service=caf&lang=fr", headers=BROWSER)
    english = await client.get("/mairies/paris-15/rendez-vous?service=caf&lang=en", headers=BROWSER)

    assert (
        '<a class="language-switch" href="/mairies/paris-15/rendez-vous?service=caf&amp;lang=en"'
        ' lang="en" hreflang="en">English</a>'
    ) in french.text
    assert (
        '<a class="language-switch" href="/mairies/paris-15/rendez-vous?service=caf&amp;lang=fr"'
        ' lang="fr" hreflang="fr">Français</a>'
    ) in english.text


async def test_staff_pages_follow_the_choice(client: AsyncTestClient[Litestar]) -> None:
    login = await client.get("/connexion?lang=en", headers=BROWSER)

    assert html_lang(login.text) == "en"
    assert 'class="language-switch"' in login.text


async def test_partner_pages_follow_the_choice_and_offer_the_switch(
    client: AsyncTestClient[Litestar],
) -> None:
    login = await client.get("/partenaires?lang=en", headers=BROWSER)

    assert html_lang(login.text) == "en"
    assert (
        '<a class="language-switch" href="/partenaires?lang=fr" lang="fr" hreflang="fr">'
        "Français</a>"
    ) in login.text


async def test_an_unknown_address_is_an_english_404_page_for_an_english_visitor(
    client: AsyncTestClient[Litestar],
) -> None:
    page = await client.get("/nulle-part", headers={**BROWSER, "Cookie": "guichet_lang=en"})
    french = await client.get("/nulle-part", headers=BROWSER)

    assert page.status_code == 404
    assert html_lang(page.text) == "en"
    assert page.headers["content-language"] == "en"
    assert "Page not found" in page.text
    assert french.status_code == 404
    assert "Page introuvable" in french.text


async def test_a_resident_s_404_page_is_in_english(client: AsyncTestClient[Litestar]) -> None:
    page = await client.get("/rendez-vous/" + "x" * 32, headers=IN_ENGLISH)

    assert page.status_code == 404
    assert html_lang(page.text) == "en"
    assert "Page not found" in page.text


@get("/en-panne", include_in_schema=False, sync_to_thread=False)
def broken() -> str:
    raise RuntimeError("a bug")


@pytest.fixture
async def broken_client(
    settings: Settings, clock: Clock
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    app = create_app(settings, clock=clock)
    app.register(broken)
    async with AsyncTestClient(app=app, base_url="http://127.0.0.1") as test_client:
        yield test_client


async def test_a_server_error_is_a_page_in_the_visitor_s_language(
    broken_client: AsyncTestClient[Litestar],
) -> None:
    page = await broken_client.get("/en-panne", headers=IN_ENGLISH)
    api = await broken_client.get("/en-panne", headers={"Accept": "application/json"})

    assert page.status_code == 500
    assert page.headers["content-type"].startswith("text/html")
    assert html_lang(page.text) == "en"
    assert "Error" in page.text
    assert "a bug" not in page.text
    assert api.status_code == 500
    assert api.headers["content-type"] == "application/problem+json"


async def test_head_answers_like_get_without_a_body(client: AsyncTestClient[Litestar]) -> None:
    got = await client.get("/mairies/paris-15", headers=BROWSER)
    head = await client.head("/mairies/paris-15", headers=BROWSER)
    api = await client.head("/api/v1/sites")
    unknown = await client.head("/nulle-part", headers=BROWSER)

    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.headers["content-length"] == str(len(got.content))
    assert head.headers["content-language"] == "fr"
    assert api.status_code == 200
    assert api.content == b""
    assert unknown.status_code == 404
    assert unknown.content == b""


async def test_the_favicon_answers(client: AsyncTestClient[Litestar]) -> None:
    icon = await client.get("/favicon.ico")
    svg = await client.get("/static/favicon.svg")
    home = await client.get("/", headers=BROWSER)

    assert icon.status_code == 200
    assert icon.headers["content-type"] == "image/x-icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert svg.status_code == 200
    assert 'rel="icon" href="/favicon.ico"' in home.text
    assert (await client.head("/favicon.ico")).status_code == 200


# Messages in the resident's language.


def form(**fields: Any) -> dict[str, Any]:
    return {
        "service": "caf",
        "debut": SLOT,
        "nom": "Ada Lovelace",
        "email": "ada@example.org",
        "confirmer": "oui",
        **fields,
    }


async def book_on_the_page(post: Post, language: str, **fields: Any) -> str:
    """Book on the booking pages in `language` (by its cookie); the appointment's token."""
    booked = await post.client.post(
        "/mairies/paris-15/rendez-vous/coordonnees",
        data=form(**fields),
        headers={"Cookie": f"guichet_lang={language}"},
        follow_redirects=False,
    )
    assert booked.status_code == 303, booked.text
    return str(booked.headers["location"]).split("/")[2].split("?")[0]


async def language_of(db: Database, token: str) -> str:
    async with db.session() as session:
        language = await session.scalar(
            select(Appointment.language).where(Appointment.token == token)
        )
    assert language is not None
    return language


def text_of(mail: Message) -> str:
    part = next(p for p in mail.walk() if p.get_content_type() == "text/plain")
    return str(part.get_content())  # type: ignore[attr-defined]


def calendar_summary(mail: Message) -> str:
    part = next(p for p in mail.walk() if p.get_content_type() == "text/calendar")
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    event = next(c for c in icalendar.Calendar.from_ical(payload).walk() if c.name == "VEVENT")
    return str(event["SUMMARY"])


async def test_a_booking_in_english_is_confirmed_in_english(post: Post, db: Database) -> None:
    token = await book_on_the_page(post, "en")

    await post.send_due()

    assert await language_of(db, token) == "en"
    (mail,) = post.mails()
    assert mail["Subject"] == "Your appointment on Tuesday 1 December 2026 at 10:00 is confirmed"
    assert "Your digital help appointment is confirmed." in text_of(mail)
    assert calendar_summary(mail).startswith("Digital help: ")


async def test_a_booking_in_french_is_confirmed_in_french(post: Post, db: Database) -> None:
    token = await book_on_the_page(post, "fr")

    await post.send_due()

    assert await language_of(db, token) == "fr"
    (mail,) = post.mails()
    assert (
        mail["Subject"]
        == "Votre rendez-vous du mardi 1er décembre 2026 à 10\u00a0h\u00a000 est confirmé"
    )
    assert calendar_summary(mail).startswith("Facilitation numérique : ")


async def test_a_text_to_a_resident_who_booked_in_english_is_in_english(post: Post) -> None:
    await book_on_the_page(post, "en", email="", telephone="06 12 34 56 78")

    await post.send_due()

    (text,) = [sms["text"] for sms in post.sms.received]
    assert text.startswith("Appointment confirmed Tue 1/12 10:00, ")
    assert text.isascii()


async def test_an_appointment_booked_by_staff_is_in_french(post: Post, db: Database) -> None:
    desk = await desk_of(post, db)
    booked = await post.client.post(
        "/api/v1/appointments",
        json={
            "site": "paris-15",
            "service": "caf",
            "start": SLOT,
            "name": "Ada Lovelace",
            "email": "ada@example.org",
            "channel": "phone",
        },
        headers={**desk.reception, "Accept-Language": "en", "Cookie": "guichet_lang=en"},
    )
    assert booked.status_code == 201, booked.text

    await post.send_due()

    assert await language_of(db, booked.json()["token"]) == "fr"
    (mail,) = post.mails()
    assert str(mail["Subject"]).startswith("Votre rendez-vous du mardi 1er décembre 2026")
