"""The queue from a phone, in the browser and with the keyboard only: a resident joins the
15e's queue from the mairie's page on a 390 px phone, is told to leave home, opens the
arrival address the lobby's QR code holds, says they are there with one button, and sees
"C'est votre tour" when a station calls them; axe-core finds nothing serious on the way."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.e2e.axe import Axe
from tests.e2e.test_tracking_page import Desk, looks_right
from tests.servers import Server

PHONE = "06 12 34 56 78"
MAX_TABS = 80


@pytest.fixture
def desk(server: Server) -> Iterator[Desk]:
    """The 15e open all day today (on the server's clock, `tests.server_clock`), its queue
    empty."""
    with httpx.Client(base_url=server.base, timeout=30) as http:
        desk = Desk(http)
        today = server.clock.today()
        path = f"/api/v1/admin/sites/paris-15/hours-exceptions/{today}"
        opened = http.put(
            path,
            json={"ranges": [{"opens": "00:00", "closes": "23:59"}], "reason": "Essais"},
            headers=desk.headers["manager"],
        )
        assert opened.status_code == 200, opened.text
        desk.empty_queue()
        yield desk
        desk.empty_queue()
        http.delete(path, headers=desk.headers["manager"])


def focus(page: Page, target: Locator) -> None:
    """Tab until `target` has the focus, as a keyboard user would."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"{target} never received the focus with Tab")


def test_a_resident_joins_from_a_phone_arrives_by_the_qr_address_and_is_called(
    browser: Browser, server: Server, desk: Desk, axe: Axe
) -> None:
    context = browser.new_context(
        base_url=server.base, locale="fr-FR", viewport={"width": 390, "height": 844}
    )
    page = context.new_page()

    page.goto("/mairies/paris-15")
    join = page.get_by_role("link", name="Prendre un ticket à distance")
    focus(page, join)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Prendre un ticket à distance")
    looks_right(page, axe)

    first_service = page.locator("input[name=service]").first
    focus(page, first_service)
    page.keyboard.press("Space")
    expect(first_service).to_be_checked()
    phone = page.get_by_label("Téléphone portable")
    focus(page, phone)
    page.keyboard.type(PHONE)
    focus(page, page.get_by_role("button", name="Prendre un ticket"))
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_contain_text("pas encore arrivé")
    expect(page.locator("main")).to_contain_text("Partez de chez vous maintenant.")
    looks_right(page, axe)
    ticket_page = page.url

    code = desk.http.get(
        "/api/v1/sites/paris-15/arrival-code", headers=desk.headers["reception"]
    ).json()["code"]
    page.goto(f"/arrivee/paris-15?code={code}")  # what the lobby's QR code opens
    expect(page.get_by_role("heading", level=1)).to_have_text("Vous êtes à la mairie ?")
    looks_right(page, axe)
    focus(page, page.get_by_role("button", name="Je suis arrivé"))
    page.keyboard.press("Enter")

    page.wait_for_url(ticket_page)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Vous êtes la prochaine personne appelée"
    )
    looks_right(page, axe)

    desk.call("Poste 1")
    expect(page.get_by_role("alert")).to_contain_text("C'est votre tour", timeout=15_000)
    expect(page.get_by_role("heading", level=1)).to_have_text("C'est votre tour")
    looks_right(page, axe)
    context.close()
