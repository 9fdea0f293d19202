"""A morning at the 15e in the browser: reception gives a ticket and checks a booked
person in, a facilitator calls, starts and finishes at their station, and the usager's
phone shows the call. axe-core checks the consoles, the printed ticket and the tracking
page."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Request, Route, expect

from app.db import token_digest
from app.demo import DEMO_PASSWORD
from tests.e2e.axe import Axe, describe
from tests.server_clock import ServerClock

RECEPTION = "accueil.paris15@guichet.example.org"
FACILITATOR = "facilitateur.paris15@guichet.example.org"
MANAGER = "responsable.paris15@guichet.example.org"
ARRIVAL_LINE = "/accueil/paris-15/code-arrivee"


@pytest.fixture
def open_all_day(live_server: str, live_clock: ServerClock) -> Iterator[None]:
    """The 15e open today from midnight to 23:59, through its manager's API: the server
    runs on a clock of its own (`tests.server_clock`), and no ticket is given nor arrival
    taken while a mairie is closed. The day goes back to its usual hours afterwards."""
    with httpx.Client(base_url=live_server, timeout=30) as http:
        token = http.post(
            "/api/v1/auth/token", json={"email": MANAGER, "password": DEMO_PASSWORD}
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        today = live_clock.today()
        path = f"/api/v1/admin/sites/paris-15/hours-exceptions/{today}"
        opened = http.put(
            path,
            json={"ranges": [{"opens": "00:00", "closes": "23:59"}], "reason": "Essais"},
            headers=headers,
        )
        assert opened.status_code == 200, opened.text
        yield
        assert http.delete(path, headers=headers).status_code == 204


def accessible(page: Page, axe: Axe) -> None:
    violations = axe(page)
    assert not violations, f"{page.url}\n{describe(violations)}"


def log_in(page: Page, email: str) -> None:
    page.goto("/connexion")
    page.get_by_label("Adresse e-mail professionnelle").fill(email)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bonjour")


def call_next(station: Page) -> None:
    """Call the next person from a station's console; where a ticket an earlier test
    called is still at the station, the console asks first, and is told to go on."""
    station.get_by_role("button", name="Appeler le suivant").click()
    anyway = station.get_by_role("button", name="Appeler quand même la personne suivante")
    if anyway.count():
        anyway.click()


def booking_due_in_ten_minutes(live_folder: Path, clock: ServerClock, name: str) -> str:
    """An appointment at paris-15 starting in ten minutes of the server's clock, booked
    earlier (so, whatever the hour the tests run at, the person can be checked in now)."""
    stamp = "%Y-%m-%d %H:%M:%S.%f"
    now = clock.now().replace(tzinfo=None)
    start = (now + timedelta(minutes=10)).replace(second=0, microsecond=0)
    reference = f"15-E2E{now:%M%S}"[:9]
    token = f"e2e-token-{reference}-0123456789"
    with sqlite3.connect(live_folder / "var" / "guichet.db") as database:
        site, station = database.execute(
            "SELECT sites.id, stations.id FROM sites JOIN stations ON stations.site_id = sites.id "
            "WHERE sites.slug = 'paris-15' ORDER BY stations.position DESC LIMIT 1"
        ).fetchone()
        service = database.execute("SELECT id FROM services WHERE code = 'caf'").fetchone()[0]
        database.execute(
            "INSERT INTO appointments (reference, token, token_digest, site_id, station_id, "
            "service_id, starts_at, ends_at, status, channel, name, email, needs, "
            "reminders_by_email, reminders_by_sms, sequence, created_at, updated_at) VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, 'booked', 'phone', ?, 'e2e@example.org', '[]', 0, 0, 0, "
            "?, ?)",
            (
                reference,
                token,
                token_digest(token),
                site,
                station,
                service,
                start.strftime(stamp),
                (start + timedelta(minutes=30)).strftime(stamp),
                name,
                (now - timedelta(days=2)).strftime(stamp),
                (now - timedelta(days=2)).strftime(stamp),
            ),
        )
    return reference


@pytest.mark.usefixtures("open_all_day")
def test_reception_and_a_facilitator_run_the_queue_and_the_phone_follows(
    browser: Browser, live_server: str, live_folder: Path, live_clock: ServerClock, axe: Axe
) -> None:
    reference = booking_due_in_ten_minutes(live_folder, live_clock, "Grace Hopper")
    reception = browser.new_context(base_url=live_server, locale="fr-FR").new_page()
    facilitator = browser.new_context(base_url=live_server, locale="fr-FR").new_page()
    phone = browser.new_context(
        base_url=live_server, locale="fr-FR", viewport={"width": 360, "height": 640}
    ).new_page()

    log_in(reception, RECEPTION)
    reception.get_by_role("link", name="Console d'accueil – Mairie du 15e arrondissement").click()
    expect(reception.get_by_role("heading", level=1)).to_have_text(
        "Accueil – Mairie du 15e arrondissement"
    )
    # The arrival code turns every five minutes: its line is a region that refreshes itself.
    expect(reception.locator(f"[data-refresh='{ARRIVAL_LINE}']")).to_contain_text("Code d'arrivée")
    accessible(reception, axe)
    reception.get_by_role("button", name="Démarches CAF en ligne").click()
    banner = reception.get_by_role("status")
    expect(banner).to_contain_text("Démarches CAF en ligne")
    number = banner.locator(".big-number").inner_text()
    assert re.fullmatch(r"A\d{3}", number)
    reception.get_by_role("link", name=f"Imprimer le ticket {number}").click()
    expect(reception.get_by_role("heading", level=1)).to_have_text(number)
    expect(reception.locator(".qr svg")).to_be_visible()
    accessible(reception, axe)
    tracking = reception.locator(".url").inner_text()
    reception.go_back()

    reception.get_by_label("Référence ou nom").fill("Hopper")
    reception.get_by_role("button", name="Chercher").click()
    reception.get_by_role(
        "button", name=f"Enregistrer l'arrivée : Grace Hopper ({reference})"
    ).click()
    expect(reception.get_by_role("status")).to_contain_text("Arrivée enregistrée : ticket R")
    accessible(reception, axe)

    log_in(facilitator, FACILITATOR)
    facilitator.get_by_role("link", name="Poste 1 – Mairie du 15e arrondissement").click()
    accessible(facilitator, axe)
    call_next(facilitator)
    expect(facilitator.get_by_role("heading", level=2).first).to_have_text(
        f"Ticket {number} – appelé"
    )
    accessible(facilitator, axe)
    expect(reception.locator("[data-refresh] tbody")).to_contain_text(f"{number}", timeout=15_000)
    expect(reception.locator("[data-refresh] tbody tr").first).to_contain_text(
        "appelé", timeout=15_000
    )

    phone.goto(tracking)
    expect(phone.get_by_role("heading", level=1)).to_have_text("C'est votre tour")
    expect(phone.locator(".turn-station")).to_have_text("Poste 1")
    accessible(phone, axe)

    facilitator.get_by_role("button", name=f"Commencer le ticket {number}").click()
    expect(facilitator.get_by_role("heading", level=2).first).to_have_text(
        f"Ticket {number} – en cours"
    )
    accessible(facilitator, axe)
    # The whole row is the choice's target: its label covers the radio button.
    facilitator.get_by_label("Démarche faite", exact=True).check(force=True)
    facilitator.get_by_role("button", name=f"Terminer le ticket {number}").click()
    expect(facilitator.locator(".idle")).to_have_text("Aucun ticket à ce poste pour l'instant.")
    expect(facilitator.get_by_role("status")).to_contain_text(f"Visite terminée : ticket {number}")
    expect(facilitator.get_by_role("status")).to_contain_text("Issue enregistrée : Démarche faite.")

    phone.reload()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Votre visite est terminée")

    phone.get_by_role("link", name="Donner votre avis sur l'aide reçue").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Votre avis sur votre visite")
    accessible(phone, axe)
    phone.get_by_label("4 – satisfaisante").check(force=True)
    phone.get_by_label("Un mot pour nous aider à nous améliorer (facultatif)").fill("Merci")
    phone.get_by_role("button", name="Envoyer mon avis").press("Enter")
    expect(phone.get_by_role("status")).to_have_text("Merci, votre avis est enregistré.")
    expect(phone.get_by_label("4 – satisfaisante")).to_be_checked()
    accessible(phone, axe)


def test_the_arrival_code_line_refreshes_and_leaves_the_field_being_typed_in_alone(
    browser: Browser, live_server: str
) -> None:
    """The line is read again while the receptionist types a ticket's number below it: the
    field keeps the keyboard focus and what was typed, and the line still says the code."""
    context = browser.new_context(base_url=live_server, locale="fr-FR")
    try:
        desk = context.new_page()
        log_in(desk, RECEPTION)
        desk.goto("/accueil/paris-15")
        line = desk.locator(f"[data-refresh='{ARRIVAL_LINE}']")
        line.locator("p").evaluate("shown => { shown.dataset.loaded = 'yes'; }")
        number = desk.get_by_label("Numéro du ticket")
        number.click()
        desk.keyboard.type("A0")
        with desk.expect_response(lambda answer: answer.url.endswith(ARRIVAL_LINE)) as read:
            pass

        assert read.value.ok
        expect(line.locator("p[data-loaded]")).to_have_count(0)  # the line read again
        expect(line).to_contain_text(re.compile(r"Code d'arrivée : \d{3} \d{3} \(jusqu'à"))
        expect(number).to_be_focused()
        expect(number).to_have_value("A0")
        assert line.get_attribute("aria-live") == "off"
    finally:
        context.close()


def turning_soon(route: Route) -> None:
    """Serves reception's console as if its arrival code turned in two seconds."""
    console = route.fetch()
    soon = re.sub(r'data-turns-in="\d+"', 'data-turns-in="2"', console.text())
    route.fulfill(response=console, body=soon)


def test_the_arrival_code_line_is_read_again_when_its_code_turns(
    browser: Browser, live_server: str
) -> None:
    """Not at the next round, up to 15 seconds later: served as if its code turned in two
    seconds, the line asks the server again then, and shows the code it answers."""
    context = browser.new_context(base_url=live_server, locale="fr-FR")

    def the_line(request: Request) -> bool:
        return request.url.endswith(ARRIVAL_LINE)

    try:
        desk = context.new_page()
        log_in(desk, RECEPTION)
        desk.route("**/accueil/paris-15", turning_soon)
        with desk.expect_request(the_line, timeout=10_000) as asked:
            desk.goto("/accueil/paris-15")
            line = desk.locator(f"[data-refresh='{ARRIVAL_LINE}']")
            expect(line.locator("p")).to_have_attribute("data-turns-in", "2")

        answer = asked.value.response()
        assert answer is not None
        assert answer.ok
        expect(line).to_contain_text(re.compile(r"Code d'arrivée : \d{3} \d{3} \(jusqu'à"))
        assert line.get_attribute("aria-live") == "off"
    finally:
        context.close()


def cookie_gone(context: BrowserContext, desk: Page) -> None:
    context.clear_cookies()


def reading_refused(context: BrowserContext, desk: Page) -> None:
    """Another agent logged in since, in the same browser (a shared desk): the line's
    reading is refused (403) rather than sent to the login page."""
    desk.route(f"**{ARRIVAL_LINE}", lambda route: route.fulfill(status=403, body="refusé"))


@pytest.mark.parametrize("session_end", [cookie_gone, reading_refused])
def test_the_arrival_code_line_says_so_when_the_session_has_ended(
    browser: Browser, live_server: str, session_end: Callable[[BrowserContext, Page], None]
) -> None:
    """A console left open after its session ended no longer shows its last arrival code
    as if current: the line, read again when its code turns, says the session ended and
    offers to reload the page."""
    context = browser.new_context(base_url=live_server, locale="fr-FR")

    try:
        desk = context.new_page()
        log_in(desk, RECEPTION)
        desk.route("**/accueil/paris-15", turning_soon)
        desk.goto("/accueil/paris-15")
        line = desk.locator(f"[data-refresh='{ARRIVAL_LINE}']")
        expect(line).to_contain_text("Code d'arrivée")
        session_end(context, desk)

        ended = line.get_by_role("alert")
        expect(ended).to_contain_text("Votre session a pris fin", timeout=10_000)
        expect(line).not_to_contain_text("Code d'arrivée")
        expect(
            ended.get_by_role("link", name="Recharger la page pour vous reconnecter")
        ).to_be_visible()
    finally:
        context.close()


def fits(page: Page) -> None:
    """No horizontal scrolling: the page is no wider than the window."""
    width = page.evaluate("document.documentElement.scrollWidth")
    window = page.evaluate("window.innerWidth")
    assert width <= window, f"{page.url} is {width} px wide in a {window} px window"


@pytest.mark.usefixtures("open_all_day")
@pytest.mark.parametrize("size", [(390, 844), (1366, 900)], ids=["phone", "laptop"])
def test_the_consoles_fit_a_phone_and_a_laptop_and_show_the_needs(
    browser: Browser, live_server: str, axe: Axe, size: tuple[int, int]
) -> None:
    viewport = {"width": size[0], "height": size[1]}
    reception = browser.new_context(base_url=live_server, locale="fr-FR", viewport=viewport)
    facilitator = browser.new_context(base_url=live_server, locale="fr-FR", viewport=viewport)
    try:
        desk = reception.new_page()
        log_in(desk, RECEPTION)
        desk.goto("/accueil/paris-15")
        desk.get_by_text("Besoins particuliers, public prioritaire, SMS").click()
        desk.get_by_label("Je me déplace en fauteuil roulant").check(force=True)
        desk.get_by_role("button", name="Démarches CAF en ligne").click()
        expect(desk.get_by_role("status")).to_contain_text("Démarches CAF en ligne")
        expect(desk.locator(".queue")).to_contain_text("Besoins : fauteuil roulant")
        fits(desk)
        accessible(desk, axe)

        station = facilitator.new_page()
        log_in(station, FACILITATOR)
        station.get_by_role("link", name="Poste 1 – Mairie du 15e arrondissement").click()
        call_next(station)
        expect(station.get_by_role("heading", level=2).first).to_contain_text("appelé")
        expect(
            station.get_by_text("Transférer vers un autre poste ou service").first
        ).to_be_visible()
        fits(station)
        accessible(station, axe)
    finally:
        reception.close()
        facilitator.close()


@pytest.mark.usefixtures("open_all_day")
def test_the_activity_record_fits_320_px_and_goes_by_the_keyboard(
    browser: Browser, live_server: str, axe: Axe
) -> None:
    """The facilitator's form on the narrowest phone: the démarche's defaults ticked in
    advance, every field reached and changed with the keyboard, and the visit finished."""
    reception = browser.new_context(base_url=live_server, locale="fr-FR")
    facilitator = browser.new_context(
        base_url=live_server, locale="fr-FR", viewport={"width": 320, "height": 640}
    )
    try:
        desk = reception.new_page()
        log_in(desk, RECEPTION)
        desk.goto("/accueil/paris-15")
        desk.get_by_role("button", name="Démarches CAF en ligne").click()
        expect(desk.get_by_role("status")).to_contain_text("Démarches CAF en ligne")
        number = desk.get_by_role("status").locator(".big-number").first.inner_text()

        station = facilitator.new_page()
        log_in(station, FACILITATOR)
        station.get_by_role("link", name="Poste 1 – Mairie du 15e arrondissement").click()
        call_next(station)
        station.get_by_role("button", name=f"Commencer le ticket {number}").click()
        ours = station.get_by_role("region", name=f"Ticket {number} – en cours")
        expect(ours.get_by_label("Partiellement autonome")).to_be_checked()
        ours.get_by_text("Compte rendu d'activité").click()
        expect(ours.get_by_label("Famille, scolarité")).to_be_checked()
        expect(ours.get_by_label("Ordinateur")).to_be_checked()
        age = ours.get_by_label("Tranche d'âge (facultatif, anonyme)")
        expect(age).to_have_value("non_communique")
        fits(station)
        accessible(station, axe)

        ours.get_by_label("Démarche faite", exact=True).focus()
        station.keyboard.press("Space")
        ours.get_by_label("Autonome", exact=True).focus()
        station.keyboard.press("Space")
        ours.get_by_label("Aide faite sous mandat Aidants Connect").focus()
        station.keyboard.press("Space")
        ours.get_by_label("Durée, en minutes").fill("25")
        age.focus()
        age.select_option("soixante_dix_plus")
        ours.get_by_role("button", name=f"Terminer le ticket {number}").press("Enter")
        expect(station.get_by_role("status")).to_contain_text(f"Visite terminée : ticket {number}")
        fits(station)
    finally:
        reception.close()
        facilitator.close()
