"""The home page as a resident sees it in a browser: the mairies, the keyboard, axe-core."""

from __future__ import annotations

import json
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.axe import Axe, describe

ROOT = Path(__file__).resolve().parents[2]
MAIRIES = json.loads((ROOT / "app/sites/data/paris-mairies.json").read_text(encoding="utf-8"))
MAIRIE_NAMES = [mairie["name"] for mairie in MAIRIES["mairies"]]


def test_the_home_page_lists_the_seventeen_mairies_of_paris(page: Page) -> None:
    page.goto("/")

    expect(page).to_have_title("Les mairies – Facilitation numérique, mairies de Paris")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Se faire aider dans ses démarches en ligne"
    )
    cards = page.locator(".card")
    expect(cards).to_have_count(17)
    expect(cards.locator("h3")).to_have_text(MAIRIE_NAMES)
    expect(cards.filter(has_text="Mairie du 15e arrondissement")).to_contain_text(
        "31 rue Péclet, 75015 Paris"
    )


def test_the_first_tab_reaches_the_skip_link_which_leads_to_the_content(page: Page) -> None:
    page.goto("/")
    skip_link = page.get_by_role("link", name="Aller au contenu")

    page.keyboard.press("Tab")

    expect(skip_link).to_be_focused()
    expect(skip_link).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main#contenu")).to_be_focused()


def test_axe_finds_no_serious_or_critical_violation_on_the_home_page(page: Page, axe: Axe) -> None:
    page.goto("/")

    violations = axe(page)

    assert not violations, describe(violations)
