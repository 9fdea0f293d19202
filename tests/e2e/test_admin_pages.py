"""The administration of a mairie in the browser: the 15e's manager adds a station,
changes Thursday's hours and closes the mairie for a day, with the keyboard, and the
slots offered to usagers follow. axe-core checks each administration page visited."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import APIRequestContext, Browser, Page, expect

from app.sites.hours import public_holiday
from tests.e2e.axe import Axe, describe
from tests.e2e.test_consoles import log_in
from tests.servers import Server, free_port

MANAGER = "responsable.paris15@guichet.example.org"
MAIRIE = "Mairie du 15e arrondissement"
PARIS = ZoneInfo("Europe/Paris")


def working_thursday_and_friday(today: date) -> tuple[date, date]:
    """The first Thursday at least two days away whose Thursday and Friday are working days
    (the slots need two hours' notice; public holidays are closed anyway)."""
    day = today + timedelta(days=2)
    while True:
        day += timedelta(days=(3 - day.weekday()) % 7)
        friday = day + timedelta(days=1)
        if not public_holiday(day) and not public_holiday(friday):
            return day, friday
        day += timedelta(days=1)


@pytest.fixture
def mairie(tmp_path: Path) -> Iterator[Server]:
    """A server of its own: these changes would surprise the other browser tests."""
    server = Server(tmp_path, free_port(), {"GUICHET_LOG_LEVEL": "WARNING"}, demo=True)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def accessible(page: Page, axe: Axe) -> None:
    violations = axe(page)
    assert not violations, f"{page.url}\n{describe(violations)}"


def offered(api: APIRequestContext, day: date) -> list[str]:
    """The local start times (HH:MM) the availability API offers usagers on `day`."""
    response = api.get(
        "/api/v1/sites/paris-15/availability",
        params={"service": "caf", "from": day.isoformat(), "to": day.isoformat()},
    )
    assert response.ok, response.text()
    slots: list[dict[str, Any]] = response.json()["slots"]
    return [slot["start"][11:16] for slot in slots]


def book_every_station(api: APIRequestContext, day: date, at: str) -> None:
    for number in range(6):
        response = api.post(
            "/api/v1/appointments",
            data={
                "site": "paris-15",
                "service": "caf",
                "start": datetime.combine(day, time.fromisoformat(at), PARIS).isoformat(),
                "name": f"Usager {number}",
                "email": f"usager{number}@example.org",
            },
        )
        assert response.status == 201, response.text()


def test_a_manager_adds_a_station_changes_thursday_and_closes_a_day_and_usagers_see_it(
    browser: Browser, mairie: Server, axe: Axe
) -> None:
    context = browser.new_context(base_url=mairie.base, locale="fr-FR")
    api = context.request
    thursday, friday = working_thursday_and_friday(datetime.now(PARIS).date())
    book_every_station(api, thursday, "10:00")
    before = offered(api, thursday)
    assert "10:00" not in before
    assert before[-1] == "19:00"
    assert offered(api, friday)

    page = context.new_page()
    log_in(page, MANAGER)
    page.get_by_role("link", name="Administration : mairies, postes et horaires").press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mairies et postes")
    accessible(page, axe)
    page.get_by_role("link", name=MAIRIE).press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(MAIRIE)
    accessible(page, axe)

    page.get_by_label("Nom du nouveau poste").fill("Poste 7")
    page.get_by_label("Type du nouveau poste").select_option("standard")
    page.get_by_role("button", name="Ajouter le poste").press("Enter")
    expect(page.get_by_role("status").first).to_contain_text("Le poste a été ajouté")
    expect(page.get_by_role("row", name="Poste 7")).to_contain_text("En service")
    accessible(page, axe)

    page.get_by_label("Plage 1 : fermeture (jeudi)", exact=True).fill("12:00")
    page.get_by_label("Plage 2 : ouverture (jeudi)", exact=True).fill("13:30")
    page.get_by_label("Plage 2 : fermeture (jeudi)", exact=True).fill("20:30")
    page.get_by_role("button", name="Enregistrer les horaires du jeudi").press("Enter")
    expect(page.get_by_role("status").first).to_have_text("Les horaires ont été enregistrés.")
    expect(page.get_by_label("Plage 2 : fermeture (jeudi)", exact=True)).to_have_value("20:30")
    accessible(page, axe)

    # A closure that ends before it starts is refused, in words, next to the field.
    page.get_by_label("Date de début de la fermeture").fill(friday.isoformat())
    page.get_by_label("Heure de début de la fermeture").fill("18:00")
    page.get_by_label("Date de fin de la fermeture").fill(friday.isoformat())
    page.get_by_label("Heure de fin de la fermeture").fill("08:00")
    page.get_by_role("button", name="Enregistrer la fermeture").press("Enter")
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("La fin de la fermeture doit venir après son début.")
    expect(page.get_by_label("Date de fin de la fermeture")).to_have_attribute(
        "aria-invalid", "true"
    )
    accessible(page, axe)
    summary.get_by_role("link").first.press("Enter")
    expect(page.get_by_label("Date de fin de la fermeture")).to_be_focused()

    page.get_by_label("Heure de début de la fermeture").fill("08:00")
    page.get_by_label("Heure de fin de la fermeture").fill("20:00")
    page.get_by_label("Motif (dit aux usagers)").fill("Élections")
    page.get_by_role("button", name="Enregistrer la fermeture").press("Enter")
    expect(page.get_by_role("status").first).to_contain_text("La fermeture a été enregistrée")
    expect(page.get_by_role("row", name="Élections")).to_be_visible()
    accessible(page, axe)

    after = offered(api, thursday)
    assert "10:00" in after  # the new station adds a place where every other was taken
    assert "11:30" in after
    assert "12:00" not in after
    assert "13:00" not in after
    assert after[-1] == "20:00"
    assert offered(api, friday) == []
    context.close()
