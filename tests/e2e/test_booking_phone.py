"""Booking on a phone and on a desktop, as a resident does it in Chromium: the slots one
day at a time with "Continuer" always in view, the summary to confirm, the private page,
finding the appointment again by its reference. At 390 and 1366 px: no horizontal
overflow, no serious axe violation, choices and buttons at least 44 px tall. And the same
booking with JavaScript off."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.axe import Axe, describe

WIDTHS = [pytest.param((390, 844), id="phone"), pytest.param((1366, 900), id="desktop")]
TAPPABLE = (
    ".slot-row, .day-tab, .choice-bar .button, .form-actions .button, .page-actions .button, "
    ".choice label, .link-line a"
)


@pytest.fixture
def sized(browser: Browser, live_server: str, request: pytest.FixtureRequest) -> Iterator[Page]:
    width, height = request.param
    context = browser.new_context(
        base_url=live_server, locale="fr-FR", viewport={"width": width, "height": height}
    )
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def without_js(browser: Browser, live_server: str) -> Iterator[Page]:
    context = browser.new_context(
        base_url=live_server,
        locale="fr-FR",
        viewport={"width": 390, "height": 844},
        java_script_enabled=False,
    )
    try:
        yield context.new_page()
    finally:
        context.close()


def checked(page: Page, axe: Axe) -> None:
    """No horizontal overflow, nothing serious for axe, every choice and button tappable."""
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), page.url
    violations = axe(page)
    assert not violations, f"{page.url}\n{describe(violations)}"
    small = page.evaluate(
        """(selector) => [...document.querySelectorAll(selector)]
            .filter((element) => element.offsetParent !== null)
            .filter((element) => element.getBoundingClientRect().height < 44)
            .map((element) => element.outerHTML.slice(0, 80))""",
        TAPPABLE,
    )
    assert small == [], small


@pytest.mark.parametrize("sized", WIDTHS, indirect=True)
def test_booking_a_slot_of_another_day_confirming_and_finding_it_again(
    sized: Page, axe: Axe
) -> None:
    page = sized
    email = f"marie.{uuid.uuid4().hex[:8]}@example.org"
    page.goto("/mairies/paris-15/rendez-vous/creneaux?service=caf&besoins=fauteuil")
    expect(page.locator(".progress-now")).to_have_text("Étape 2 sur 4 : Créneau")
    expect(page.locator(".day-tab").first).to_contain_text("Premier disponible")
    checked(page, axe)

    second_day = page.locator(".day-tab").nth(1)
    day = second_day.get_attribute("data-day")
    second_day.click()  # shown in place
    expect(second_day).to_have_attribute("aria-current", "date")
    expect(page.locator(f"#jour-{day}")).to_be_visible()
    assert f"jour={day}" in page.url
    row = page.locator(f"#jour-{day} .slot-row").nth(1)
    row.click()  # anywhere on the row
    expect(row.locator("input")).to_be_checked()
    expect(page.locator(".choice-bar-text")).to_contain_text("Créneau choisi :")
    continuer = page.get_by_role("button", name="Continuer")
    if page.viewport_size and page.viewport_size["width"] < 768:
        expect(continuer).to_be_in_viewport()  # the bar at the bottom of a phone
    checked(page, axe)
    continuer.click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Vos coordonnées")
    page.get_by_label("Nom et prénom").fill("Marie Curie")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Téléphone portable").fill("06 12 34 56 78")
    checked(page, axe)
    page.get_by_role("button", name="Continuer").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Vérifiez votre rendez-vous")
    expect(page.locator(".summary")).to_contain_text("Je me déplace en fauteuil roulant")
    expect(page.get_by_label(re.compile("^Par e-mail"))).to_be_checked()
    expect(page.get_by_label(re.compile("^Par SMS"))).not_to_be_checked()
    checked(page, axe)
    page.get_by_role("button", name="Modifier").click()
    expect(page.get_by_label("Adresse e-mail")).to_have_value(email)
    page.get_by_role("button", name="Continuer").click()
    page.get_by_role("button", name="Confirmer le rendez-vous").click()

    expect(page.get_by_role("status")).to_have_text("Votre rendez-vous est confirmé.")
    expect(page.locator(".sent")).to_contain_text("Un e-mail de confirmation a été envoyé à m…@")
    expect(page.locator(".arrival")).to_contain_text("Présentez-vous à l'accueil entre")
    expect(page.get_by_role("button", name="Imprimer")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("^Voir le plan d'accès"))).to_be_visible()
    checked(page, axe)
    reference = page.locator(".reference").inner_text()
    private = page.url.split("?", 1)[0]

    page.goto("/rendez-vous/retrouver")
    page.get_by_label("Référence du rendez-vous").fill(reference)
    page.get_by_label("Téléphone ou adresse e-mail").fill("06 00 00 00 00")
    page.get_by_role("button", name="Retrouver mon rendez-vous").click()
    expect(page.get_by_role("alert")).to_contain_text("Aucun rendez-vous ne correspond")
    checked(page, axe)
    page.get_by_label("Téléphone ou adresse e-mail").fill("0612345678")
    page.get_by_role("button", name="Retrouver mon rendez-vous").click()
    assert page.url == private

    page.get_by_role("link", name="Annuler le rendez-vous").click()
    page.get_by_role("button", name="Oui, annuler ce rendez-vous").click()
    book_again = page.get_by_role("link", name=re.compile("^Prendre un autre rendez-vous"))
    expect(book_again).to_have_attribute("href", "/mairies/paris-15/rendez-vous")
    checked(page, axe)


def test_booking_with_javascript_off_goes_day_by_day_through_links(without_js: Page) -> None:
    page = without_js
    page.goto("/mairies/paris-12/rendez-vous/creneaux?service=ameli")
    second_day = page.locator(".day-tab").nth(1)
    day = second_day.get_attribute("data-day")
    second_day.click()  # a link: the page comes again with that day

    page.wait_for_url(re.compile(f"jour={day}"))
    expect(page.locator(f"#jour-{day}")).to_be_visible()
    expect(page.locator(f'.day-tab[data-day="{day}"]')).to_have_attribute("aria-current", "date")
    page.locator(f"#jour-{day} .slot-row").first.click()
    page.get_by_role("button", name="Continuer").click()
    page.get_by_label("Nom et prénom").fill("Pierre Curie")
    page.get_by_label("Téléphone portable").fill("06 98 76 54 32")
    page.get_by_role("button", name="Continuer").click()
    expect(page.get_by_label(re.compile("^Par SMS"))).to_be_checked()  # only a phone given
    page.get_by_role("button", name="Confirmer le rendez-vous").click()

    expect(page.get_by_role("status")).to_have_text("Votre rendez-vous est confirmé.")
    expect(page.locator(".sent")).to_contain_text("06 •• •• •• 32")
    expect(page.get_by_role("button", name="Imprimer")).to_be_hidden()  # needs JavaScript


@pytest.fixture
def narrowest(browser: Browser, live_server: str) -> Iterator[Page]:
    context = browser.new_context(
        base_url=live_server, locale="fr-FR", viewport={"width": 320, "height": 640}
    )
    try:
        yield context.new_page()
    finally:
        context.close()


FOCUS_CLEAR_OF_THE_BAR = """() => {
    const bar = document.querySelector(".choice-bar");
    const focused = document.activeElement.closest(".slot-row") || document.activeElement;
    if (!bar || bar.offsetParent === null) return true;
    return focused.getBoundingClientRect().bottom <= bar.getBoundingClientRect().top + 1;
}"""


def test_the_slot_the_keyboard_reaches_is_never_under_the_sticky_bar(narrowest: Page) -> None:
    # WCAG 2.4.11: an outside test saw 4 of 12 slots reached by the arrow keys under the
    # "Créneau choisi / Continuer" bar at 320 px.
    page = narrowest
    page.goto("/mairies/paris-15/rendez-vous/creneaux?service=caf")
    first = page.locator(".slot-row input:visible").first
    first.focus()
    page.keyboard.press("Space")
    hidden = []
    for step in range(12):
        page.keyboard.press("ArrowDown")
        if not page.evaluate(FOCUS_CLEAR_OF_THE_BAR):
            hidden.append(step)

    assert hidden == []


def test_a_contact_form_sent_empty_shows_its_errors_first_on_a_phone(narrowest: Page) -> None:
    page = narrowest
    page.goto("/mairies/paris-15/rendez-vous/creneaux?service=caf")
    page.locator(".slot-row:visible").first.click()
    page.get_by_role("button", name="Continuer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Vos coordonnées")
    page.get_by_role("button", name="Continuer").click()

    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_be_in_viewport()
    expect(summary).to_contain_text("Il y a")
