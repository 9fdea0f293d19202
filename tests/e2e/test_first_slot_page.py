"""The first free slot in any mairie, in a browser: search with the keyboard, go straight to
booking that slot; no overflow, 44 px targets and nothing serious for axe, on a phone and
on a desktop."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.axe import Axe, describe

SIZES = [pytest.param((390, 844), id="phone"), pytest.param((1366, 900), id="desktop")]
MIN_TARGET = 44
# The buttons, links and choices a resident taps on this page.
TARGETS = (
    "main .button, main select, main input[type=text], main .choice, main summary, "
    ".first-more, .first-order a, .first-recap a"
)


def no_horizontal_overflow(page: Page) -> None:
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"{page.url}: {widths[0]} px wide in {widths[1]} px"


def small_targets(page: Page) -> list[str]:
    """The tap targets smaller than 44 px high, as `tag "text" height`."""
    found: list[str] = page.evaluate(
        """([selector, least]) => [...document.querySelectorAll(selector)]
            .filter((element) => element.offsetParent !== null)
            .map((element) => [element, element.getBoundingClientRect()])
            .filter(([, box]) => box.height < least)
            .map(([element, box]) =>
                `${element.tagName} "${element.textContent.trim().slice(0, 30)}" ${box.height}`)""",
        [TARGETS, MIN_TARGET],
    )
    return found


def search_with_the_keyboard(page: Page) -> None:
    page.goto("/premier-creneau")
    page.get_by_label("Votre démarche").focus()
    page.get_by_label("Votre démarche").select_option(label="Démarches CAF en ligne")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Près de")).to_be_focused()
    page.keyboard.type("75015")
    page.keyboard.press("Enter")


@pytest.mark.parametrize("size", SIZES)
def test_a_resident_finds_the_first_slot_near_them_and_opens_its_booking_step(
    page: Page, axe: Axe, size: tuple[int, int]
) -> None:
    page.set_viewport_size({"width": size[0], "height": size[1]})
    search_with_the_keyboard(page)

    expect(page.get_by_role("heading", level=2, name="Premiers créneaux libres")).to_be_visible()
    cards = page.locator(".first-slot")
    expect(cards).to_have_count(17)
    expect(cards.first.locator(".first-when")).to_contain_text(" à ")
    expect(page.locator(".first-distance").first).to_be_visible()
    no_horizontal_overflow(page)
    assert not small_targets(page), small_targets(page)
    violations = axe(page)
    assert not violations, describe(violations)

    page.get_by_role("link", name="Classer par distance").click()
    expect(cards.first.locator("h3")).to_have_text("Mairie du 15e arrondissement")
    when = cards.first.locator(".first-when").inner_text()
    cards.first.get_by_role("link", name="Choisir ce créneau").focus()
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("Vos coordonnées")
    assert "/mairies/paris-15/rendez-vous/coordonnees?" in page.url
    expect(page.locator(".recap")).to_contain_text("Mairie du 15e arrondissement")
    expect(page.locator(".recap")).to_contain_text(when.split(" à ")[0].split(":")[-1].strip())


@pytest.mark.parametrize("size", SIZES)
def test_the_form_alone_and_a_wrong_place_are_readable_and_accessible(
    page: Page, axe: Axe, size: tuple[int, int]
) -> None:
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.goto("/premier-creneau")
    page.locator("summary").click()
    expect(page.get_by_role("checkbox", name="Je me déplace en fauteuil roulant")).to_be_visible()
    no_horizontal_overflow(page)
    assert not small_targets(page), small_targets(page)
    violations = axe(page)
    assert not violations, describe(violations)

    page.goto("/premier-creneau?demarche=caf&pres-de=Lyon")

    expect(page.get_by_role("alert")).to_contain_text("Nous ne trouvons pas ce lieu")
    expect(page.get_by_label("Près de")).to_have_attribute("aria-invalid", "true")
    no_horizontal_overflow(page)
    violations = axe(page)
    assert not violations, describe(violations)
