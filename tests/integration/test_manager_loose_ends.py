"""What an outside tester found on the managers' pages, through HTTP on both databases:
SMS quiet hours typed the wrong way round are refused on the page and on the API, a
refused filter of the figures keeps the form as typed, and the journal names the English
fields of the catalogue in words."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from app.i18n.formats import NO_BREAK_SPACE
from tests.conftest import Clock, Staff
from tests.integration.test_staff_pages import csrf_of, log_in

pytestmark = pytest.mark.usefixtures("monday_morning")
ADMIN = "/api/v1/admin/sites"
PAGE = "/admin/sites/paris-15"
CLIENT = AsyncTestClient[object]


@pytest.fixture
def monday_morning(clock: Clock) -> None:
    clock.set("2026-11-30 08:00")


async def logged_in(client: CLIENT, staff: Staff, role: str, *sites: str) -> str:
    """Log a new agent in; return the CSRF token of their console."""
    response = await log_in(client, await staff.agent(role, *sites))
    assert response.status_code == 303, response.text
    return csrf_of((await client.get("/console")).text)


def text_of(page: Any) -> str:
    """The page's HTML with its entities read and its no-break spaces as spaces."""
    return html.unescape(page.text).replace(NO_BREAK_SPACE, " ")


async def post_messages(client: CLIENT, csrf: str, quiet_from: str, quiet_until: str) -> Any:
    """The form of the settings tab "Messages", as a manager sends it."""
    form = {
        "csrf": csrf,
        "onglet": "messages",
        "reminder_hours": "24, 2",
        "sms_quiet_from": quiet_from,
        "sms_quiet_until": quiet_until,
    }
    return await client.post(f"{PAGE}/reglages", data=form, follow_redirects=False)


# SMS quiet hours


async def test_quiet_hours_typed_the_wrong_way_round_are_refused_naming_the_likely_period(
    client: CLIENT, staff: Staff
) -> None:
    csrf = await logged_in(client, staff, "manager", "paris-15")

    refused = await post_messages(client, csrf, "08:00", "21:00")
    after = await client.get(PAGE, params={"onglet": "messages"})

    assert refused.status_code == 400
    said = text_of(refused)
    assert "Il y a 1 erreur" in said
    assert "Voulez-vous dire de 21 h 00 à 8 h 00 ?" in said
    assert '<a href="#sms_quiet_from">' in refused.text
    assert 'id="sms_quiet_from" name="sms_quiet_from" value="08:00"' in refused.text
    assert 'id="sms_quiet_until" name="sms_quiet_until" value="21:00"' in refused.text
    assert 'id="sms_quiet_from" name="sms_quiet_from" value="20:00"' in after.text


async def test_quiet_hours_that_start_and_end_at_the_same_time_are_refused_on_the_page(
    client: CLIENT, staff: Staff
) -> None:
    csrf = await logged_in(client, staff, "manager", "paris-15")

    refused = await post_messages(client, csrf, "22:00", "22:00")

    assert refused.status_code == 400
    assert "La période sans SMS doit commencer et finir à des heures différentes." in (
        text_of(refused)
    )
    assert 'id="sms_quiet_until" name="sms_quiet_until" value="22:00"' in refused.text


async def test_quiet_hours_of_a_night_are_kept(client: CLIENT, staff: Staff) -> None:
    csrf = await logged_in(client, staff, "manager", "paris-15")

    accepted = await post_messages(client, csrf, "21:00", "08:00")
    after = await client.get(accepted.headers["location"])

    assert accepted.status_code == 303
    assert 'id="sms_quiet_from" name="sms_quiet_from" value="21:00"' in after.text


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"sms_quiet_from": "08:00", "sms_quiet_until": "21:00"}, "did you mean 21:00 to 08:00?"),
        # 13:00 until 08:00 leaves the morning only; the other way round, the afternoon only.
        ({"sms_quiet_from": "13:00"}, "fewer than 8 of the hours from 08:00 to 20:00 for texts."),
        ({"sms_quiet_from": "07:30", "sms_quiet_until": "07:30"}, "different times."),
    ],
)
async def test_the_api_refuses_quiet_hours_that_leave_the_day_without_texts(
    client: CLIENT, staff: Staff, body: dict[str, str], words: str
) -> None:
    manager = await staff.headers("manager", "paris-15")

    refused = await client.patch(f"{ADMIN}/paris-15", json=body, headers=manager)
    after = await client.get(f"{ADMIN}/paris-15", headers=manager)

    # 400 like every other setting this route refuses (its documented answer).
    assert refused.status_code == 400
    problem = refused.json()
    assert [error["key"] for error in problem["errors"]] == ["sms_quiet_from"]
    assert problem["detail"].lower().endswith(words), problem
    assert (after.json()["sms_quiet_from"], after.json()["sms_quiet_until"]) == ("20:00", "08:00")


async def test_the_api_keeps_quiet_hours_that_leave_most_of_the_day_for_texts(
    client: CLIENT, staff: Staff
) -> None:
    manager = await staff.headers("manager", "paris-15")

    night = await client.patch(
        f"{ADMIN}/paris-15",
        json={"sms_quiet_from": "22:00", "sms_quiet_until": "07:00"},
        headers=manager,
    )
    lunch = await client.patch(
        f"{ADMIN}/paris-15",
        json={"sms_quiet_from": "12:00", "sms_quiet_until": "14:00"},
        headers=manager,
    )

    assert night.status_code == 200, night.text
    assert lunch.status_code == 200, lunch.text
    assert (lunch.json()["sms_quiet_from"], lunch.json()["sms_quiet_until"]) == ("12:00", "14:00")


# The figures page


@pytest.mark.parametrize(
    ("du", "au", "words"),
    [
        ("2026-11-20", "2026-11-02", "Le dernier jour vient avant le premier."),
        ("2024-01-01", "2026-11-30", "Choisissez une période d'au plus 400 jours."),
        ("2026-11-31", "2026-11-30", "Indiquez la date sous la forme AAAA-MM-JJ"),
    ],
)
async def test_a_refused_filter_of_the_figures_keeps_the_form_as_typed(
    client: CLIENT, staff: Staff, du: str, au: str, words: str
) -> None:
    await logged_in(client, staff, "manager", "paris-15")

    page = await client.get("/statistiques/paris-15", params={"du": du, "au": au, "par": "mois"})

    assert page.status_code == 400
    assert words in text_of(page)
    assert f'name="du" value="{du}"' in page.text
    assert f'name="au" value="{au}"' in page.text
    assert '<option value="mois" selected>' in page.text
    assert "En bref" not in page.text  # no figures of another range under the form


async def test_a_refused_filter_of_all_paris_keeps_the_form_as_typed(
    client: CLIENT, staff: Staff
) -> None:
    await logged_in(client, staff, "admin")

    page = await client.get("/statistiques", params={"du": "2026-12-01", "au": "2026-11-01"})

    assert page.status_code == 400
    assert 'name="du" value="2026-12-01"' in page.text
    assert 'name="au" value="2026-11-01"' in page.text


async def test_a_refused_first_day_alone_keeps_the_last_day_of_the_range_in_its_field(
    client: CLIENT, staff: Staff
) -> None:
    await logged_in(client, staff, "manager", "paris-15")

    page = await client.get("/statistiques/paris-15", params={"du": "hier"})

    assert page.status_code == 400
    assert 'name="du" value="hier"' in page.text
    assert re.search(r'name="au" value="2026-\d\d-\d\d"', page.text)


# The journal


async def test_the_journal_names_the_english_fields_of_the_catalogue_in_words(
    client: CLIENT, staff: Staff
) -> None:
    admin = await staff.headers("admin")
    changed = await client.patch(
        "/api/v1/admin/services/caf",
        json={"name_en": "CAF online", "description_en": "Help", "documents_en": ["ID card"]},
        headers=admin,
    )
    await logged_in(client, staff, "admin")

    journal = await client.get("/admin/journal", params={"action": "service."})

    assert changed.status_code == 200, changed.text
    said = text_of(journal)
    assert (
        "Modifié : la description en anglais, la liste des pièces à apporter en anglais, "
        "le nom en anglais" in said
    )
    assert "name_en" not in said
