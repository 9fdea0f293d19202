"""The administration of accounts and of the catalog in the browser, keyboard only: a
manager creates a colleague's account after reading what was wrong, an administrator
adds and retires a service, and the journal shows both. axe-core checks every page, and
no page breaks the Content-Security-Policy."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from tests.e2e.axe import Axe, describe
from tests.e2e.test_consoles import log_in

MANAGER = "responsable.paris15@guichet.example.org"
ADMIN = "admin@guichet.example.org"


@pytest.fixture
def tab(browser: Browser, live_server: str) -> Iterator[tuple[Page, list[str]]]:
    """A fresh tab, and the Content-Security-Policy complaints it logs."""
    context = browser.new_context(base_url=live_server, locale="fr-FR")
    page = context.new_page()
    complaints: list[str] = []

    def listen(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            complaints.append(message.text)

    page.on("console", listen)
    try:
        yield page, complaints
    finally:
        context.close()


def accessible(page: Page, axe: Axe) -> None:
    violations = axe(page)
    assert not violations, f"{page.url}\n{describe(violations)}"


def submit(page: Page, name: str) -> None:
    """Send a form from the keyboard, as someone who uses no mouse."""
    button = page.get_by_role("button", name=name)
    button.focus()
    page.keyboard.press("Enter")


def test_a_manager_creates_an_account_after_fixing_the_errors(
    tab: tuple[Page, list[str]], axe: Axe
) -> None:
    page, complaints = tab
    email = f"nouvel.agent.{uuid.uuid4().hex[:8]}@paris.fr"
    log_in(page, MANAGER)
    page.goto("/admin/agents")
    expect(page.get_by_role("heading", level=1)).to_have_text("Agents")
    expect(page.get_by_role("link", name="Agents", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    accessible(page, axe)

    page.get_by_label("Adresse e-mail professionnelle").fill(email)
    page.get_by_label("Mot de passe de départ").fill("court")
    submit(page, "Créer le compte")

    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Il y a 3 erreurs")
    expect(summary).to_contain_text("Choisissez au moins une mairie.")
    name = page.get_by_label("Prénom et nom")
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(name).to_have_accessible_description("Erreur : Indiquez le prénom et le nom de l'agent.")
    accessible(page, axe)

    name.fill("Nadia Belkacem")
    page.get_by_label("Rôle").select_option(label="Facilitation")
    mairie = page.get_by_label("Mairie du 15e arrondissement")
    mairie.focus()
    page.keyboard.press("Space")
    expect(mairie).to_be_checked()
    page.get_by_label("Mot de passe de départ").fill("une phrase facile à retenir")
    submit(page, "Créer le compte")

    expect(page.get_by_role("status")).to_contain_text("Le compte a été créé.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Nadia Belkacem")
    accessible(page, axe)
    assert complaints == []


def test_an_administrator_adds_then_retires_a_service_and_reads_it_in_the_journal(
    tab: tuple[Page, list[str]], axe: Axe
) -> None:
    page, complaints = tab
    code = f"essai-{uuid.uuid4().hex[:6]}"
    log_in(page, ADMIN)
    page.goto("/admin/catalogue")
    accessible(page, axe)
    page.get_by_role("link", name="Ajouter une démarche").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ajouter une démarche")

    page.get_by_label("Code").fill(code)
    page.get_by_label("Nom de la démarche, tel que l'usager le lit").fill("Démarche d'essai")
    page.get_by_label("Durée d'un rendez-vous, en minutes").fill("300")
    submit(page, "Ajouter la démarche")
    expect(page.get_by_role("alert")).to_contain_text("Durée : indiquez un nombre entier")
    accessible(page, axe)
    page.get_by_label("Durée d'un rendez-vous, en minutes").fill("25")
    documents = page.locator("#documents")  # the French field, not its English one
    documents.fill("Pièce d'identité\nAvis d'imposition")
    submit(page, "Ajouter la démarche")

    expect(page.get_by_role("status")).to_contain_text("La démarche a été ajoutée")
    row = page.get_by_role("row", name="Démarche d'essai")
    expect(row).to_contain_text("25 min")
    row.get_by_role("link", name="Modifier").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Modifier la démarche « Démarche d'essai »"
    )
    accessible(page, axe)
    submit(page, "Retirer la démarche")
    expect(page.get_by_role("status")).to_contain_text("L'élément a été retiré")
    expect(page.get_by_role("row", name="Démarche d'essai")).to_contain_text("Retirée")

    page.goto("/admin/journal")
    page.get_by_label("Action", exact=True).select_option(label="Catalogue des démarches")
    submit(page, "Filtrer")
    table = page.get_by_role("table")
    expect(table).to_contain_text("a retiré la démarche « Démarche d'essai » du catalogue")
    expect(table).to_contain_text("a ajouté la démarche « Démarche d'essai » au catalogue")
    accessible(page, axe)
    assert complaints == []
