"""The page of a mairie and the home's search in a browser, on a phone and on a desktop:
what a resident reads and taps, no horizontal overflow, tap targets, axe-core."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect

from app import schema
from app.db import Database
from app.sites.demo import load_demo
from tests.e2e.axe import Axe, describe
from tests.integration.test_busy_hours import RUSH, add_tickets, arrivals
from tests.screenshots import OVERFLOW_SCRIPT
from tests.servers import Server, free_port

SIZES = [pytest.param((390, 844), id="phone"), pytest.param((1366, 900), id="desktop")]
TAP = 44


def weeks_of_tickets(url: str) -> None:
    schema.upgrade(url)
    asyncio.run(_fill(url))


async def _fill(url: str) -> None:
    db = Database(url)
    today = datetime.now(ZoneInfo("Europe/Paris")).date()
    try:
        async with db.writing() as session:
            await load_demo(session, today=today)
        await add_tickets(db, "paris-15", arrivals(today, RUSH))
    finally:
        await db.dispose()


@pytest.fixture(scope="module")
def busy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose database holds eight weeks of tickets at the 15e."""
    folder = tmp_path_factory.mktemp("mairie-pages")
    (folder / "var").mkdir()
    url = f"sqlite+aiosqlite:///{folder / 'var' / 'guichet.db'}"
    with ThreadPoolExecutor(1) as worker:  # away from the browser's own event loop
        worker.submit(weeks_of_tickets, url).result()
    server = Server(folder, free_port(), {"GUICHET_LOG_LEVEL": "WARNING"}, demo=True)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def tab(browser: Browser, busy_server: Server, request: pytest.FixtureRequest) -> Iterator[Page]:
    width, height = request.param
    context = browser.new_context(
        base_url=busy_server.base, locale="fr-FR", viewport={"width": width, "height": height}
    )
    try:
        yield context.new_page()
    finally:
        context.close()


def no_horizontal_overflow(page: Page) -> None:
    measured = page.evaluate(OVERFLOW_SCRIPT)
    assert measured["page"] <= measured["width"], (
        f"{page.url}: the page is {measured['page']} px wide in a {measured['width']} px "
        f"window ({', '.join(measured['culprits'])})"
    )


def small_targets(page: Page) -> list[str]:
    """Buttons, fields and the links styled as buttons smaller than 44 px."""
    found: list[str] = page.evaluate(
        """(tap) => [...document.querySelectorAll(
                'main .button, main button, main input, main select')]
            .filter(e => { const r = e.getBoundingClientRect();
                return r.width && (r.height < tap || r.width < tap); })
            .map(e => e.outerHTML.slice(0, 80))""",
        TAP,
    )
    return found


@pytest.mark.parametrize("tab", SIZES, indirect=True)
def test_a_resident_reads_the_page_of_the_15e_and_books_from_it(tab: Page, axe: Axe) -> None:
    tab.goto("/mairies/paris-15")

    expect(tab).to_have_title(
        "Mairie du 15e arrondissement – Facilitation numérique, mairies de Paris"
    )
    expect(tab.get_by_role("heading", level=1)).to_have_text("Mairie du 15e arrondissement")
    expect(tab.locator("main")).to_contain_text("31 rue Péclet, 75015 Paris")
    expect(tab.locator("main")).to_contain_text("Métro Vaugirard (ligne 12)")
    expect(
        tab.get_by_role("link", name="Voir le plan de la mairie sur OpenStreetMap")
    ).to_have_attribute(
        "href", "https://www.openstreetmap.org/?mlat=48.84120&mlon=2.29910#map=17/48.84120/2.29910"
    )
    table = tab.get_by_role("table", name="Affluence habituelle, par jour et par heure")
    expect(table).to_be_visible()
    expect(table.get_by_role("row", name="10 h à 11 h")).to_contain_text("chargé")
    no_horizontal_overflow(tab)
    assert not small_targets(tab), small_targets(tab)
    violations = axe(tab)
    assert not violations, describe(violations)

    tab.get_by_role("link", name="Prendre rendez-vous").first.click()

    expect(tab).to_have_url(f"{tab.url.split('/mairies')[0]}/mairies/paris-15/rendez-vous")


@pytest.mark.parametrize("tab", SIZES, indirect=True)
def test_venir_sans_rendez_vous_leads_to_how_it_goes_at_the_desk(tab: Page) -> None:
    tab.goto("/mairies/paris-15")

    tab.get_by_role("link", name="Venir sans rendez-vous").click()

    section = tab.get_by_role("region", name="Venir sans rendez-vous")
    expect(section).to_be_in_viewport()
    expect(section).to_contain_text("présentez-vous à l'accueil")


@pytest.mark.parametrize("tab", SIZES, indirect=True)
def test_a_mairie_without_history_says_it_does_not_know_its_busy_hours_yet(
    tab: Page, axe: Axe
) -> None:
    tab.goto("/mairies/paris-20")

    expect(tab.locator(".busy-unknown")).to_contain_text("pas encore assez de visites")
    no_horizontal_overflow(tab)
    violations = axe(tab)
    assert not violations, describe(violations)


@pytest.mark.parametrize("tab", SIZES, indirect=True)
def test_a_search_by_postcode_puts_the_mairie_first_and_its_neighbours_next(
    tab: Page, axe: Axe
) -> None:
    tab.goto("/")

    tab.get_by_label("Trouver ma mairie").fill("75015")
    tab.get_by_role("button", name="Rechercher").click()

    cards = tab.locator(".card")
    expect(cards).to_have_count(17)
    expect(cards.first.locator("h3")).to_have_text("Mairie du 15e arrondissement")
    expect(cards.nth(1)).to_contain_text(" km")
    expect(tab.get_by_role("status")).to_contain_text("Mairie du 15e arrondissement")
    no_horizontal_overflow(tab)
    assert not small_targets(tab), small_targets(tab)
    violations = axe(tab)
    assert not violations, describe(violations)

    cards.first.get_by_role("link", name="Mairie du 15e arrondissement", exact=True).click()

    expect(tab.get_by_role("heading", level=1)).to_have_text("Mairie du 15e arrondissement")


@pytest.mark.parametrize("tab", SIZES, indirect=True)
def test_a_search_matching_nothing_says_so_and_keeps_every_mairie(tab: Page) -> None:
    tab.goto("/?q=Lyon")

    expect(tab.get_by_role("status")).to_contain_text("Aucune mairie ne correspond à « Lyon »")
    expect(tab.locator(".card")).to_have_count(17)
    no_horizontal_overflow(tab)


@pytest.mark.parametrize("tab", SIZES, indirect=True)
def test_the_home_sends_a_demarche_to_the_first_free_slot_page(tab: Page) -> None:
    tab.goto("/")

    tab.get_by_label("Le premier créneau libre dans n'importe quelle mairie").select_option("caf")
    tab.get_by_role("button", name="Voir le premier créneau libre").click()

    expect(tab).to_have_url(f"{tab.url.split('/premier-creneau')[0]}/premier-creneau?demarche=caf")


@pytest.mark.parametrize("tab", SIZES, indirect=True)
def test_an_unknown_mairie_is_a_french_page(tab: Page) -> None:
    response = tab.goto("/mairies/paris-99")

    assert response is not None
    assert response.status == 404
    expect(tab.get_by_role("heading", level=1)).to_have_text("Page introuvable")


def test_the_page_works_at_320_px(browser: Browser, busy_server: Server) -> None:
    context = browser.new_context(base_url=busy_server.base, viewport={"width": 320, "height": 640})
    try:
        page = context.new_page()
        # A long search with no space is shown back, broken to fit.
        for address in ("/mairies/paris-15", "/?q=15e", "/?q=" + "x" * 130):
            page.goto(address)
            no_horizontal_overflow(page)
    finally:
        context.close()
