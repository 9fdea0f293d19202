"""Booking through the pages as a resident does it, with the keyboard only: choose a
démarche and a need, a slot, give contact details, check and confirm them, download the
calendar file, then move and cancel from the private page. axe-core checks every page on
the way."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Locator, Page, expect

from tests.e2e.axe import Axe, describe

MAX_TABS = 200


def tab_to(page: Page, target: Locator) -> None:
    """Press Tab until `target` has the focus, as someone without a mouse would."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"{target} never received the focus with Tab")


def accessible(page: Page, axe: Axe) -> None:
    violations = axe(page)
    assert not violations, f"{page.url}\n{describe(violations)}"


def book_with_the_keyboard(page: Page, axe: Axe, email: str) -> str:
    """Book at the 15e for the CAF, in a wheelchair; return the private page's address."""
    page.goto("/")
    tab_to(
        page, page.get_by_role("link", name="Prendre rendez-vous à la Mairie du 15e arrondissement")
    )
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Prendre rendez-vous à la Mairie du 15e arrondissement"
    )
    accessible(page, axe)
    tab_to(page, page.get_by_role("radio", name="Créer ou utiliser son compte Mon Paris"))
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("radio", name="Démarches CAF en ligne")).to_be_checked()
    tab_to(page, page.get_by_role("checkbox", name="Je me déplace en fauteuil roulant"))
    page.keyboard.press("Space")
    tab_to(page, page.get_by_role("button", name="Voir les créneaux libres"))
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("Choisir un créneau")
    accessible(page, axe)
    first_slot = page.get_by_role("radio").first
    tab_to(page, first_slot)
    page.keyboard.press("Space")
    expect(first_slot).to_be_checked()
    tab_to(page, page.get_by_role("button", name="Continuer"))
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("Vos coordonnées")
    accessible(page, axe)
    tab_to(page, page.get_by_label("Nom et prénom"))
    page.keyboard.type("Marie Curie")
    tab_to(page, page.get_by_label("Adresse e-mail"))
    page.keyboard.type(email)
    tab_to(page, page.get_by_role("button", name="Continuer"))
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("Vérifiez votre rendez-vous")
    expect(page.locator(".summary")).to_contain_text(email)
    accessible(page, axe)
    tab_to(page, page.get_by_role("button", name="Confirmer le rendez-vous"))
    page.keyboard.press("Enter")

    expect(page.get_by_role("status")).to_have_text("Votre rendez-vous est confirmé.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Votre rendez-vous")
    expect(page.locator(".reference")).to_have_text(re.compile(r"^15-[0-9A-Z]{6}$"))
    accessible(page, axe)
    return page.url.split("?", 1)[0]


def test_a_resident_books_downloads_the_calendar_and_cancels_with_the_keyboard(
    page: Page, axe: Axe
) -> None:
    private = book_with_the_keyboard(page, axe, f"marie.{uuid.uuid4().hex[:8]}@example.org")

    reference = page.locator(".reference").inner_text()
    assert reference.startswith("15-")
    expect(page.locator(".appointment")).to_contain_text("Démarches CAF en ligne")
    with page.expect_download() as download:
        tab_to(page, page.get_by_role("link", name="Ajouter à mon agenda (fichier .ics)"))
        page.keyboard.press("Enter")
    calendar = download.value.path().read_text(encoding="utf-8")
    assert calendar.startswith("BEGIN:VCALENDAR")
    assert f"UID:{reference}@guichet" in calendar
    assert "STATUS:CONFIRMED" in calendar

    tab_to(page, page.get_by_role("button", name="Ne plus recevoir de rappels"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_have_text(
        "Vous ne recevrez plus de rappels pour ce rendez-vous."
    )
    expect(page.locator("#rappels + p")).to_have_text(
        "Vous ne recevrez pas de rappel pour ce rendez-vous."
    )
    accessible(page, axe)

    tab_to(page, page.get_by_role("link", name="Annuler le rendez-vous"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Annuler votre rendez-vous ?")
    accessible(page, axe)
    tab_to(page, page.get_by_role("button", name="Oui, annuler ce rendez-vous"))
    page.keyboard.press("Enter")

    expect(page.get_by_role("status")).to_have_text("Votre rendez-vous est annulé.")
    expect(page.locator(".appointment")).to_contain_text("annulé")
    expect(page.get_by_role("link", name="Annuler le rendez-vous")).to_have_count(0)
    assert page.url.startswith(private)


def test_a_resident_moves_the_appointment_to_another_slot(page: Page, axe: Axe) -> None:
    book_with_the_keyboard(page, axe, f"pierre.{uuid.uuid4().hex[:8]}@example.org")
    before = page.locator(".appointment").inner_text()

    tab_to(page, page.get_by_role("link", name="Déplacer le rendez-vous"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Déplacer votre rendez-vous")
    accessible(page, axe)
    tab_to(page, page.get_by_role("link", name="Semaine suivante (7 jours plus tard)"))
    page.keyboard.press("Enter")
    slot = page.get_by_role("radio").first
    tab_to(page, slot)
    page.keyboard.press("Space")
    tab_to(page, page.get_by_role("button", name="Déplacer à ce créneau"))
    page.keyboard.press("Enter")

    expect(page.get_by_role("status")).to_have_text("Votre rendez-vous a été déplacé.")
    assert page.locator(".appointment").inner_text() != before


def test_mistakes_in_the_contact_form_are_announced_and_linked_to_their_field(
    page: Page, axe: Axe
) -> None:
    page.goto("/mairies/paris-12/rendez-vous/creneaux?service=ameli")
    page.get_by_role("radio").first.check()
    page.get_by_role("button", name="Continuer").click()
    page.get_by_label("Adresse e-mail").fill("pas-une-adresse")
    page.get_by_role("button", name="Continuer").click()

    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Il y a 2 erreurs")
    expect(summary.get_by_role("link", name="Indiquez votre nom.")).to_have_attribute(
        "href", "#nom"
    )
    expect(page.get_by_label("Adresse e-mail")).to_have_attribute("aria-invalid", "true")
    expect(page).to_have_title(re.compile(r"^Erreur – "))
    accessible(page, axe)
