"""What every page's frame holds, on both databases: the language switch never leads to an
address that takes forms only (on a page answering a form it goes back to the page the
form came from, or home), `?lang=` read as a language tag, the 405 page in its own words,
the staff's error pages in the staff's layout, and the agent named in the console."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import update

from app.accounts.models import Agent
from app.db import Database
from tests.conftest import STAFF_PASSWORD, Clock, Staff

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
ORIGIN = "http://127.0.0.1"
SLOT = "2026-12-01T10:00:00+01:00"
CONTACT = "/mairies/paris-15/rendez-vous/coordonnees"
CONTACT_FORM = f"{CONTACT}?service=caf&debut={quote(SLOT)}"


@pytest.fixture(autouse=True)
def sunday_morning(clock: Clock) -> None:
    """Paris 15 is closed: a ticket asked for at the reception is warned of first."""
    clock.set("2026-11-29 10:00")


def href_of(page: str) -> str:
    """The address the page's language switch links to."""
    found = re.search(r'class="language-switch" href="([^"]*)"', page)
    assert found is not None, "no language switch in the page"
    return html.unescape(found.group(1))


def switch_of(page: str) -> tuple[str, list[tuple[str, str]]]:
    """The path and query of the page's language switch."""
    link = urlsplit(href_of(page))
    assert not link.scheme
    assert not link.netloc
    return link.path, parse_qsl(link.query, keep_blank_values=True)


async def contact_step(client: AsyncTestClient[object], **headers: str) -> Any:
    """The booking's contact details sent: step 4, the summary to confirm."""
    page = await client.post(
        CONTACT,
        data={"service": "caf", "debut": SLOT, "nom": "Marie Curie", "email": "m@example.org"},
        headers={**BROWSER, **headers},
        follow_redirects=False,
    )
    assert page.status_code == 200, page.text
    return page


async def signed_in(client: AsyncTestClient[object], staff: Staff, role: str = "reception") -> str:
    """A new agent of paris-15 logged in on `client`; their email."""
    email = await staff.agent(role, "paris-15")
    login = await client.post(
        "/connexion",
        data={"email": email, "password": STAFF_PASSWORD},
        follow_redirects=False,
    )
    assert login.status_code == 303, login.text
    return email


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert found is not None, "no CSRF token in the page"
    return found.group(1)


async def test_the_switch_of_a_page_answering_a_form_goes_back_to_the_form_s_page(
    client: AsyncTestClient[object],
) -> None:
    summary = await contact_step(client, Referer=f"{ORIGIN}{CONTACT_FORM}")

    path, query = switch_of(summary.text)
    opened = await client.get(href_of(summary.text), headers=BROWSER, follow_redirects=False)

    assert path == CONTACT
    assert query == [("service", "caf"), ("debut", SLOT), ("lang", "en")]
    assert opened.status_code == 200
    assert '<html lang="en">' in opened.text


@pytest.mark.parametrize(
    "referer",
    [
        None,
        "https://evil.example.org/mairies/paris-15/rendez-vous?service=caf",
        f"{ORIGIN}//evil.example.org/mairies",
        f"{ORIGIN}/\\evil.example.org/mairies",
        "javascript:alert(1)",
        f"{ORIGIN}/rendez-vous/abcdef/rappels",  # takes forms only
    ],
)
async def test_without_a_page_of_ours_to_go_back_to_the_switch_goes_home(
    client: AsyncTestClient[object], referer: str | None
) -> None:
    summary = await contact_step(client, **({"Referer": referer} if referer else {}))

    path, query = switch_of(summary.text)
    home = await client.get(f"{path}?lang=en", headers=BROWSER)

    assert (path, query) == ("/", [("lang", "en")])
    assert home.status_code == 200
    assert '<html lang="en">' in home.text


async def test_the_service_s_public_address_counts_as_ours(
    client: AsyncTestClient[object], settings: Any
) -> None:
    public = urlsplit(settings.base_url)
    summary = await contact_step(
        client, Referer=f"{public.scheme}://{public.netloc}/mairies/paris-15/rendez-vous?lang=fr"
    )

    assert switch_of(summary.text) == ("/mairies/paris-15/rendez-vous", [("lang", "en")])


async def test_the_reception_s_warning_page_switches_back_to_the_reception_or_the_console(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    await signed_in(client, staff)
    reception = await client.get("/accueil/paris-15", headers=BROWSER)
    form = {"service": "caf", "csrf": csrf_of(reception.text)}

    warned = await client.post(
        "/accueil/paris-15/tickets",
        data=form,
        headers={**BROWSER, "Referer": f"{ORIGIN}/accueil/paris-15?ticket=3"},
        follow_redirects=False,
    )
    again = await client.post(
        "/accueil/paris-15/tickets",
        data=form,
        headers={**BROWSER, "Referer": f"{ORIGIN}/accueil/paris-15/tickets"},
        follow_redirects=False,
    )
    console = await client.get("/console?lang=en", headers=BROWSER, follow_redirects=False)

    assert warned.status_code == 200, warned.text
    assert 'name="forcer"' in warned.text
    assert switch_of(warned.text) == ("/accueil/paris-15", [("ticket", "3"), ("lang", "en")])
    assert switch_of(again.text) == ("/console", [("lang", "en")])
    assert console.status_code == 200
    assert '<html lang="en">' in console.text


async def test_a_405_page_says_so_and_its_switch_opens_a_page(
    client: AsyncTestClient[object],
) -> None:
    french = await client.get("/rendez-vous/abcdef/rappels", headers=BROWSER)
    english = await client.get(
        "/rendez-vous/abcdef/rappels",
        headers={**BROWSER, "Cookie": "guichet_lang=en", "Referer": f"{ORIGIN}/?q=15"},
    )

    assert french.status_code == 405
    assert "<h1>Cette adresse ne s'ouvre pas ainsi</h1>" in html.unescape(french.text)
    assert "Page introuvable" not in french.text
    assert switch_of(french.text) == ("/", [("lang", "en")])
    assert english.status_code == 405
    assert '<html lang="en">' in english.text
    assert english.headers["content-language"] == "en"
    assert switch_of(english.text) == ("/", [("q", "15"), ("lang", "fr")])


async def test_an_unknown_address_keeps_its_own_switch(client: AsyncTestClient[object]) -> None:
    page = await client.get("/nulle-part?x=1", headers=BROWSER)

    assert page.status_code == 404
    assert switch_of(page.text) == ("/nulle-part", [("x", "1"), ("lang", "en")])


@pytest.mark.parametrize("tag", ["en-GB", "EN", "en-gb", "En-Us", "en-Latn-GB"])
async def test_a_language_tag_of_english_chooses_english(
    client: AsyncTestClient[object], tag: str
) -> None:
    page = await client.get(f"/?lang={tag}", headers=BROWSER)

    assert '<html lang="en">' in page.text
    assert page.headers["set-cookie"].startswith("guichet_lang=en;")
    assert switch_of(page.text) == ("/", [("lang", "fr")])


async def test_a_language_tag_of_french_chooses_french(client: AsyncTestClient[object]) -> None:
    page = await client.get("/?lang=fr-CA", headers={**BROWSER, "Cookie": "guichet_lang=en"})

    assert '<html lang="fr">' in page.text
    assert page.headers["set-cookie"].startswith("guichet_lang=fr;")


@pytest.mark.parametrize("value", ["de-DE", "en_GB", "english", "en-", "-en", "en-toolongsubtag"])
async def test_other_values_stay_ignored(client: AsyncTestClient[object], value: str) -> None:
    page = await client.get(f"/?lang={value}", headers=BROWSER)

    assert '<html lang="fr">' in page.text
    assert "set-cookie" not in page.headers


@pytest.mark.parametrize(
    ("query", "expected"),
    [("lang=en&lang=fr", "en"), ("lang=fr&lang=en", "fr"), ("lang=&lang=en", "en")],
)
async def test_of_repeated_lang_parameters_the_first_wins(
    client: AsyncTestClient[object], query: str, expected: str
) -> None:
    page = await client.get(f"/?{query}", headers={**BROWSER, "Cookie": "guichet_lang=de"})

    assert f'<html lang="{expected}">' in page.text
    assert page.headers["set-cookie"].startswith(f"guichet_lang={expected};")


def in_staff_frame(page: str) -> bool:
    return (
        'class="site-header staff-header"' in page and "Revenir à la liste des mairies" not in page
    )


@pytest.mark.parametrize(
    ("path", "status", "found"),
    [
        ("/accueil/paris-20", 403, True),  # another mairie's reception
        ("/admin", 403, True),  # a page of managers
        ("/accueil/nulle-part", 404, True),  # no such mairie
        ("/statistiques/paris-15/nulle-part/plus-loin", 404, False),  # nothing answers
        ("/accueil/paris-15/tickets", 405, False),  # a form's address
    ],
)
async def test_a_staff_member_s_error_pages_are_in_the_staff_s_frame(
    client: AsyncTestClient[object], staff: Staff, path: str, status: int, found: bool
) -> None:
    """`found`: the staff's pages found the agent before refusing, and the page names
    them, as those pages do; without it, the session cookie is enough to lead back."""
    await signed_in(client, staff)

    page = await client.get(path, headers=BROWSER, follow_redirects=False)

    assert page.status_code == status
    assert in_staff_frame(page.text)
    assert '<a href="/console">Revenir à mes consoles</a>' in page.text
    assert switch_of(page.text) == (path if status != 405 else "/console", [("lang", "en")])
    assert ("<span>reception 1</span>" in page.text) is found
    assert ('action="/deconnexion"' in page.text) is found


async def test_a_staff_address_opened_by_nobody_signed_in_leads_to_the_login(
    client: AsyncTestClient[object],
) -> None:
    page = await client.get("/statistiques/paris-15/nulle-part/plus-loin", headers=BROWSER)
    forged = await client.get(
        "/admin/nulle-part/plus-loin",
        headers={**BROWSER, "Cookie": "guichet_session=not.a.token"},
    )

    for answer in (page, forged):
        assert answer.status_code == 404
        assert in_staff_frame(answer.text)
        assert '<a href="/connexion">Se connecter</a>' in answer.text
        assert 'href="/console">Revenir' not in answer.text
        assert 'action="/deconnexion"' not in answer.text


async def test_a_resident_s_error_page_keeps_the_residents_frame(
    client: AsyncTestClient[object],
) -> None:
    page = await client.get("/mairies/nulle-part", headers=BROWSER)

    assert page.status_code == 404
    assert "staff-header" not in page.text
    assert '<a href="/">Revenir à la liste des mairies</a>' in page.text


async def unnamed(db: Database, email: str) -> None:
    async with db.writing() as session:
        await session.execute(update(Agent).where(Agent.email == email).values(name=""))


async def test_the_console_s_header_names_the_agent_or_their_email(
    client: AsyncTestClient[object], staff: Staff, db: Database
) -> None:
    await signed_in(client, staff)
    named = await client.get("/console", headers=BROWSER)
    email = await staff.agent("facilitator", "paris-15")
    await unnamed(db, email)
    login = await client.post(
        "/connexion", data={"email": email, "password": STAFF_PASSWORD}, follow_redirects=False
    )
    anonymous = await client.get("/console", headers=BROWSER)

    assert "<span>reception 1</span>" in named.text
    assert login.status_code == 303
    assert f"<span>{email}</span>" in anonymous.text
    for page in (named, anonymous):
        assert not re.search(r"<(\w+)[^>]*>\s*</\1>", page.text.split("</header>")[0])


async def test_the_console_greets_an_agent_without_a_name_by_their_email(
    client: AsyncTestClient[object], staff: Staff, db: Database
) -> None:
    email = await staff.agent("reception", "paris-15")
    await unnamed(db, email)
    await client.post(
        "/connexion", data={"email": email, "password": STAFF_PASSWORD}, follow_redirects=False
    )
    named = await staff.agent("facilitator", "paris-15")

    anonymous = await client.get("/console", headers=BROWSER)
    await client.post(
        "/connexion", data={"email": named, "password": STAFF_PASSWORD}, follow_redirects=False
    )
    greeted = await client.get("/console", headers=BROWSER)

    assert f"<h1>Bonjour {email}</h1>" in anonymous.text
    assert "<h1>Bonjour facilitator 2</h1>" in greeted.text


async def test_a_contact_form_sent_back_with_mistakes_keeps_its_step_for_the_switch(
    client: AsyncTestClient[object],
) -> None:
    """The contact form posts to an address that carries its step in the query, so that a
    page answering it, then the next one, switch back to the same step."""
    mistaken = await client.post(
        CONTACT,
        data={"service": "caf", "debut": SLOT, "nom": "", "email": "pas-une-adresse"},
        headers={**BROWSER, "Referer": f"{ORIGIN}{CONTACT_FORM}"},
        follow_redirects=False,
    )
    posted_to = re.search(r'<form method="post" action="([^"]*)" novalidate>', mistaken.text)
    assert posted_to is not None
    action = html.unescape(posted_to.group(1))
    summary = await contact_step(client, Referer=f"{ORIGIN}{action}")
    opened = await client.get(href_of(summary.text), headers=BROWSER, follow_redirects=False)

    assert mistaken.status_code == 422
    assert urlsplit(action).path == CONTACT
    assert parse_qsl(urlsplit(action).query) == [("service", "caf"), ("debut", SLOT)]
    assert opened.status_code == 200
    assert '<html lang="en">' in opened.text


async def test_without_a_referrer_a_form_s_address_carrying_its_step_is_switched_to(
    client: AsyncTestClient[object],
) -> None:
    summary = await client.post(
        CONTACT_FORM,
        data={"service": "caf", "debut": SLOT, "nom": "Marie Curie", "email": "m@example.org"},
        headers=BROWSER,
        follow_redirects=False,
    )
    path, query = switch_of(summary.text)
    opened = await client.get(href_of(summary.text), headers=BROWSER, follow_redirects=False)

    assert summary.status_code == 200
    assert path == CONTACT
    assert query == [("service", "caf"), ("debut", SLOT), ("lang", "en")]
    assert opened.status_code == 200


async def test_a_forged_referrer_never_leads_the_switch_to_the_api_or_a_style_sheet(
    client: AsyncTestClient[object],
) -> None:
    for referrer in ("/api/v1/sites", "/static/guichet.css", "/health/ready"):
        summary = await contact_step(client, Referer=f"{ORIGIN}{referrer}")

        assert switch_of(summary.text)[0] == "/", referrer
