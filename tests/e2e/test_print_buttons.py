"""The reception's printable slips (a booking's summary, a walk-in ticket) offer a
"Imprimer" button only when it works: with JavaScript it opens the print dialog, and
without JavaScript it stays hidden and the page says to use the browser's own command."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from app.demo import DEMO_PASSWORD

MAIRIE = "paris-15"
RECEPTION = "accueil.paris15@guichet.example.org"
HINT = "utilisez la commande Imprimer de votre navigateur"


def booked_reference(base: str, name: str) -> str:
    """The reference of an appointment for `name` at the 15e on its first free slot (one
    person is not booked twice at one time: each run books another)."""
    today = datetime.now(ZoneInfo("Europe/Paris")).date()
    free = httpx.get(
        f"{base}/api/v1/sites/{MAIRIE}/availability",
        params={"service": "caf", "from": str(today), "to": str(today + timedelta(days=20))},
        timeout=30,
    )
    free.raise_for_status()
    booked = httpx.post(
        f"{base}/api/v1/appointments",
        json={
            "site": MAIRIE,
            "service": "caf",
            "start": free.json()["slots"][0]["start"],
            "name": name,
            "phone": "06 12 34 56 78",
        },
        timeout=30,
    )
    assert booked.status_code == 201, booked.text
    reference: str = booked.json()["reference"]
    return reference


@pytest.fixture(params=[True, False], ids=["javascript", "no-javascript"])
def desk(
    request: pytest.FixtureRequest, browser: Browser, live_server: str
) -> Iterator[tuple[Page, bool]]:
    """A reception agent's tab, logged in, with or without JavaScript (the boolean)."""
    context = browser.new_context(
        base_url=live_server, locale="fr-FR", java_script_enabled=request.param
    )
    page = context.new_page()
    page.goto("/connexion")
    page.get_by_label("Adresse e-mail professionnelle").fill(RECEPTION)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bonjour")
    try:
        yield page, request.param
    finally:
        context.close()


def test_the_print_button_shows_only_where_it_works(
    desk: tuple[Page, bool], live_server: str
) -> None:
    page, javascript = desk
    reference = booked_reference(live_server, "Paul Langevin" if javascript else "Jeanne Langevin")
    page.goto(f"/accueil/{MAIRIE}/rendez-vous/{reference}/imprimer")
    expect(page.get_by_text(reference).first).to_be_visible()
    button = page.get_by_role("button", name="Imprimer le récapitulatif")
    hint = page.get_by_text(HINT)
    if not javascript:
        expect(button).to_be_hidden()
        expect(hint).to_be_visible()
        return
    expect(button).to_be_visible()
    expect(hint).to_be_hidden()
    page.evaluate("() => { window.printed = 0; window.print = () => { window.printed += 1; }; }")
    button.click()
    assert page.evaluate("() => window.printed") == 1
