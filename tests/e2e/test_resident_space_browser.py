"""A resident's space in Chromium, signed in through a real OpenID provider on loopback
(the `oidc-provider` package, tests/oidc/provider.mjs) and its own login and consent
pages: Alice signs in, books with the form her account filled in, finds the booking in her
space and signs out, of guichet and of the provider; Bob, signing in after her in the same
browser (a shared computer), is asked who he is and sees none of it. axe-core
checks guichet's pages on the way (not the provider's: they are not ours)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.axe import Axe
from tests.e2e.test_booking_pages import accessible
from tests.oidc.fixtures import OidcClient, OidcProvider, OidcUser, start_provider
from tests.servers import Server, free_port

ALICE = OidcUser(
    "resident-alice",
    email="alice.martin@example.org",
    email_verified=True,
    name="Alice Martin",
)
BOB = OidcUser(
    "resident-bob", email="bob.durand@example.org", email_verified=True, name="Bob Durand"
)


@pytest.fixture(scope="module")
def guichet_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory, guichet_port: int) -> Iterator[OidcProvider]:
    """The City's provider, knowing guichet at the address the browser reaches it by."""
    back = f"http://127.0.0.1:{guichet_port}/mon-espace/connexion/retour"
    signed_out = f"http://127.0.0.1:{guichet_port}/mon-espace"
    client = OidcClient("guichet-usagers", "usagers-secret-0123456789", (back,), (signed_out,))
    with start_provider(
        tmp_path_factory.mktemp("provider"), clients={"residents": client}, users=(ALICE, BOB)
    ) as started:
        yield started


@pytest.fixture(scope="module")
def signing_in(
    tmp_path_factory: pytest.TempPathFactory, guichet_port: int, provider: OidcProvider
) -> Iterator[Server]:
    """`guichet serve --demo` with the residents' sign-in on."""
    client = provider.clients["residents"]
    server = Server(
        tmp_path_factory.mktemp("guichet"),
        guichet_port,
        {
            "GUICHET_LOG_LEVEL": "WARNING",
            "GUICHET_PUBLIC_URL": f"http://127.0.0.1:{guichet_port}",
            "GUICHET_OIDC_ISSUER": provider.issuer,
            "GUICHET_OIDC_CLIENT_ID": client.client_id,
            "GUICHET_OIDC_CLIENT_SECRET": client.client_secret,
        },
        demo=True,
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


def sign_in(page: Page, axe: Axe, who: OidcUser) -> None:
    """From guichet's space, through the provider's own login and consent pages, back to
    the space."""
    page.goto("/mon-espace")
    accessible(page, axe)
    page.get_by_role("link", name="Se connecter avec mon compte Ville de Paris").click()
    page.locator('input[name="login"]').fill(who.sub)
    page.locator('input[name="password"]').fill("any password")
    page.locator('button[type="submit"]').click()
    page.locator('button[type="submit"]', has_text="Continue").click()
    expect(page).to_have_url(re.compile(r"/mon-espace$"))
    expect(page.get_by_role("heading", name="Vous êtes connecté")).to_be_visible()
    expect(page.locator(".resident-details").first).to_contain_text(who.name)
    accessible(page, axe)


def book(page: Page, axe: Axe) -> str:
    """Book at the 15e for the CAF with the form as the space filled it; the reference."""
    page.goto("/mairies/paris-15/rendez-vous")
    page.get_by_role("radio", name="Démarches CAF en ligne").check()
    page.get_by_role("button", name="Voir les créneaux libres").click()
    page.get_by_role("radio").first.check()
    page.get_by_role("button", name="Continuer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Vos coordonnées")
    # Said once: the provider's name and email are there already.
    expect(page.get_by_label("Nom et prénom")).to_have_value(ALICE.name)
    expect(page.get_by_label("Adresse e-mail")).to_have_value(str(ALICE.email))
    accessible(page, axe)
    page.get_by_role("button", name="Continuer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Vérifiez votre rendez-vous")
    page.get_by_role("button", name="Confirmer le rendez-vous").click()
    expect(page.get_by_role("status")).to_have_text("Votre rendez-vous est confirmé.")
    return page.locator(".reference").inner_text()


def test_a_resident_signs_in_books_finds_it_and_signs_out_and_another_cannot_see_it(
    browser: Browser, signing_in: Server, axe: Axe
) -> None:
    alice = browser.new_context(base_url=signing_in.base, locale="fr-FR").new_page()
    sign_in(alice, axe, ALICE)
    reference = book(alice, axe)

    alice.goto("/mon-espace")
    upcoming = alice.get_by_role("table", name="Mes rendez-vous à venir")
    expect(upcoming).to_contain_text(reference)
    expect(upcoming).to_contain_text("Mairie du 15e")
    accessible(alice, axe)
    alice.get_by_role("button", name="Se déconnecter").click()
    # The provider's own session ends too (it asks to confirm), then back to the space.
    alice.locator('button[name="logout"][value="yes"]').click()
    expect(alice).to_have_url(re.compile(r"/mon-espace$"))
    expect(
        alice.get_by_role("link", name="Se connecter avec mon compte Ville de Paris")
    ).to_be_visible()
    expect(alice.locator("main")).not_to_contain_text(reference)

    # Bob, at the same computer, in the same browser: the provider asks who he is (its
    # login page, which `sign_in` fills), and nothing of Alice's is his.
    bob = alice
    sign_in(bob, axe, BOB)
    expect(bob.locator("main")).to_contain_text("Aucun rendez-vous à venir.")
    expect(bob.locator("main")).not_to_contain_text(ALICE.name)
    bob.context.close()
