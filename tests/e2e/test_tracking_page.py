"""Following one's ticket on a phone, in the browser: the page turns into "C'est votre tour"
with the station, its title and heading follow, the phone vibrates once per call; a lost
connection is said until the state is read again; a ticket that is no more is said, and
the page stops reading, as it does once a ticket is over; leaving the queue with the
keyboard and without JavaScript; no horizontal overflow, 44 px targets and nothing
serious for axe-core, on a phone and a desktop."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, WebSocket, expect

from app.demo import DEMO_PASSWORD
from tests.e2e.axe import Axe, describe
from tests.server_clock import ServerClock

RECEPTION = "accueil.paris15@guichet.example.org"
FACILITATOR = "facilitateur.paris15@guichet.example.org"
MANAGER = "responsable.paris15@guichet.example.org"
SIZES = [pytest.param((390, 844), id="phone"), pytest.param((1366, 900), id="desktop")]
MIN_TARGET = 44
MAX_TABS = 60
# Records the page's calls to navigator.vibrate (headless Chromium has no motor).
VIBRATIONS = """
window.__vibrations = [];
Object.defineProperty(navigator, "vibrate", {
  configurable: true,
  value: function (pattern) { window.__vibrations.push(pattern); return true; },
});
"""


class Desk:
    """The 15e's reception and a facilitator, through the API of the live server."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http
        self.headers = {role: self._token(email) for role, email in (
            ("reception", RECEPTION), ("facilitator", FACILITATOR), ("manager", MANAGER)
        )}  # fmt: skip
        site = self.http.get("/api/v1/sites/paris-15").json()
        self.stations = {station["name"]: station["id"] for station in site["stations"]}

    def _token(self, email: str) -> dict[str, str]:
        answer = self.http.post(
            "/api/v1/auth/token", json={"email": email, "password": DEMO_PASSWORD}
        )
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}

    def post(self, path: str, role: str, **kwargs: Any) -> Any:
        answer = self.http.post(path, headers=self.headers[role], **kwargs)
        assert answer.status_code < 300, f"{path}: {answer.text}"
        return answer.json() if answer.content else None

    def empty_queue(self) -> None:
        """Nobody left waiting, called or served: the tickets of earlier tests are gone."""
        queue = self.http.get("/api/v1/sites/paris-15/queue", headers=self.headers["reception"])
        found = queue.json()
        for ticket in found["waiting"]:
            self.post(f"/api/v1/tickets/{ticket['id']}/cancel", "reception")
        for ticket in found["called"]:
            self.post(f"/api/v1/tickets/{ticket['id']}/no-show", "facilitator")
        for ticket in found["serving"]:
            self.post(f"/api/v1/tickets/{ticket['id']}/finish", "facilitator")

    def walk_in(self) -> Any:
        return self.post("/api/v1/sites/paris-15/tickets", "reception", json={"service": "caf"})

    def call(self, station: str) -> Any:
        return self.post(f"/api/v1/stations/{self.stations[station]}/call-next", "facilitator")


@pytest.fixture
def desk(live_server: str, live_clock: ServerClock) -> Iterator[Desk]:
    """The 15e open all day today (on the server's clock, `tests.server_clock`), its queue
    empty; the day goes back to its usual hours afterwards."""
    with httpx.Client(base_url=live_server, timeout=30) as http:
        desk = Desk(http)
        today = live_clock.today()
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
        assert http.delete(path, headers=desk.headers["manager"]).status_code == 204


def phone(browser: Browser, live_server: str, size: tuple[int, int], **options: Any) -> Page:
    width, height = size
    context = browser.new_context(
        base_url=live_server, locale="fr-FR", viewport={"width": width, "height": height}, **options
    )
    return context.new_page()


def accessible(page: Page, axe: Axe) -> None:
    violations = axe(page)
    assert not violations, f"{page.url}\n{describe(violations)}"


def no_horizontal_overflow(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth - innerWidth") <= 0, page.url


def small_targets(page: Page) -> list[str]:
    """The buttons and links of the page's content shown as targets, smaller than 44 px."""
    found: list[str] = page.evaluate(
        """(least) => Array.from(document.querySelectorAll(
             "main .button, main button, .ticket-links a, .updated a"))
           .filter((element) => element.offsetParent !== null)
           .map((element) => [element, element.getBoundingClientRect()])
           .filter(([, box]) => box.height < least || box.width < least)
           .map(([element, box]) => `${element.tagName} "${element.textContent.trim()}" `
                + `${Math.round(box.width)}x${Math.round(box.height)}`)""",
        MIN_TARGET,
    )
    return found


def looks_right(page: Page, axe: Axe) -> None:
    no_horizontal_overflow(page)
    assert small_targets(page) == [], page.url
    accessible(page, axe)


def tab_to(page: Page, target: Locator) -> None:
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"{target} never received the focus with Tab")


@pytest.mark.parametrize("size", SIZES)
def test_the_call_is_unmistakable_and_the_phone_vibrates_once_per_call(
    browser: Browser, live_server: str, desk: Desk, axe: Axe, size: tuple[int, int]
) -> None:
    first = desk.walk_in()
    mine = desk.walk_in()
    page = phone(browser, live_server, size)
    page.add_init_script(VIBRATIONS)

    page.goto(f"/ticket/{mine['token']}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Vous êtes dans la file d'attente")
    expect(page.locator(".state")).to_have_text("Il y a 1 personne avant vous.")
    expect(page.locator(".ticket-number")).to_have_text(f"Numéro {mine['number']}")
    expect(page.get_by_role("link", name="Voir l'adresse sur un plan")).to_have_attribute(
        "href", "https://www.openstreetmap.org/?mlat=48.84120&mlon=2.29910#map=17/48.84120/2.29910"
    )
    looks_right(page, axe)

    desk.call("Poste 1")  # the first in line
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Vous êtes la prochaine personne appelée", timeout=15_000
    )
    assert page.evaluate("window.__vibrations") == []
    looks_right(page, axe)

    called = desk.call("Poste 3")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("C'est votre tour", timeout=15_000)
    expect(page.get_by_role("heading", level=1)).to_have_text("C'est votre tour")
    expect(page.locator(".turn-station")).to_have_text("Poste 3")
    expect(page).to_have_title(
        f"C'est votre tour : Poste 3 – ticket {mine['number']} – "
        "Facilitation numérique, mairies de Paris"
    )
    assert page.evaluate("window.__vibrations.length") == 1
    if size[0] < 600:  # the whole width of a phone (its layout box: it may be pulsing)
        assert page.locator(".turn").evaluate("element => element.offsetWidth") == size[0]
    station_size = page.locator(".turn-station").evaluate(
        "element => parseFloat(getComputedStyle(element).fontSize)"
    )
    assert station_size >= 48
    looks_right(page, axe)

    desk.post(f"/api/v1/tickets/{called['id']}/recall", "facilitator")
    # A call repeated at the same station comes with the page's slower round (30 s), or
    # at once when the phone wakes up, as here.
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    expect(page.locator(".turn-again")).to_be_visible(timeout=40_000)
    assert page.evaluate("window.__vibrations.length") == 2

    desk.post(f"/api/v1/tickets/{called['id']}/start", "facilitator")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Votre visite est en cours", timeout=15_000
    )
    assert page.evaluate("window.__vibrations.length") == 2
    assert first["number"] != mine["number"]
    looks_right(page, axe)
    page.context.close()


@pytest.mark.parametrize("size", SIZES)
def test_leaving_the_queue_with_the_keyboard(
    browser: Browser, live_server: str, desk: Desk, axe: Axe, size: tuple[int, int]
) -> None:
    mine = desk.walk_in()
    page = phone(browser, live_server, size)

    page.goto(f"/ticket/{mine['token']}")
    tab_to(page, page.get_by_role("link", name="Quitter la file"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Voulez-vous vraiment quitter la file ?"
    )
    looks_right(page, axe)
    tab_to(page, page.get_by_role("button", name="Oui, quitter la file"))
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("Ce ticket est annulé")
    expect(page).to_have_url(f"{live_server}/ticket/{mine['token']}")
    looks_right(page, axe)
    tracked = desk.http.get(f"/api/v1/tickets/{mine['token']}").json()
    assert tracked["status"] == "cancelled"
    page.context.close()


@pytest.mark.parametrize(
    "size", [pytest.param((320, 640), id="narrow"), pytest.param((1280, 900), id="desktop")]
)
def test_a_lost_connection_is_said_until_the_state_is_read_again(
    browser: Browser, live_server: str, desk: Desk, axe: Axe, size: tuple[int, int]
) -> None:
    """The state unreachable (no network, the server answering an error, a page that is
    not the state), the page says since when the place shown dates, politely and in
    words; a read that succeeds takes the notice away."""
    mine = desk.walk_in()
    page = phone(browser, live_server, size)
    state = f"**/ticket/{mine['token']}/etat"
    offline = page.locator("#hors-ligne")

    def read_now() -> None:
        # What a phone waking up does; a read already under way when it comes (the one
        # of the socket opening, say) makes it wait for the slower round (30 s).
        page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")

    page.goto(f"/ticket/{mine['token']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Vous êtes la prochaine personne appelée"
    )
    expect(offline).to_be_hidden()

    page.route(state, lambda route: route.abort("internetdisconnected"))
    read_now()
    expect(offline).to_be_visible(timeout=45_000)
    shown = page.locator(".updated-at").inner_text()
    status = page.get_by_role("status").filter(has=offline)
    expect(status).to_have_count(1)
    expect(status).to_contain_text(
        f"Connexion perdue : votre place affichée date de {shown}. Nouvel essai en cours…"
    )
    expect(page.get_by_role("alert")).to_have_count(0)
    looks_right(page, axe)

    page.unroute(state)
    read_now()
    expect(offline).to_be_hidden(timeout=45_000)

    page.route(state, lambda route: route.fulfill(status=503, body="Service Unavailable"))
    read_now()
    expect(offline).to_be_visible(timeout=45_000)
    page.unroute(state)
    # A page that is not the state (a Wi-Fi network's sign-in page) is no news either.
    page.route(state, lambda route: route.fulfill(status=200, body="<p>Wi-Fi</p>"))
    read_now()
    expect(offline).to_be_visible(timeout=45_000)
    page.unroute(state)
    read_now()
    expect(offline).to_be_hidden(timeout=45_000)
    page.context.close()


GONE = "Ce ticket n'existe plus"
GONE_TEXT = (
    "Vous n'êtes plus dans la file d'attente avec ce ticket : il a été supprimé, ou ce lien "
    "n'est plus valable."
)
NO_SUCH_TOKEN = "Zz9" * 14 + "a"  # the shape of a ticket's token, of no ticket


class Reads:
    """The page's reads of its ticket's state, and its live sockets, as they go out."""

    def __init__(self, page: Page) -> None:
        self.states: list[str] = []
        self.sockets: list[WebSocket] = []
        page.on("request", lambda r: self.states.append(r.url) if "/etat" in r.url else None)
        page.on("websocket", lambda socket: self.sockets.append(socket))

    def stopped(self, page: Page) -> bool:
        """Whether the page no longer reads: its sockets closed, and none opened nor
        any state read while it is asked to read at once (a phone waking up, the
        network coming back)."""
        for socket in self.sockets:
            if not socket.is_closed():
                socket.wait_for_event("close", timeout=15_000)
        states, sockets = len(self.states), len(self.sockets)
        page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
        page.evaluate("window.dispatchEvent(new Event('online'))")
        page.wait_for_timeout(2_000)
        return (len(self.states), len(self.sockets)) == (states, sockets)


@pytest.mark.parametrize(
    "size", [pytest.param((320, 640), id="narrow"), pytest.param((1280, 900), id="desktop")]
)
def test_a_ticket_that_is_no_more_is_said_and_the_page_stops_reading(
    browser: Browser, live_server: str, desk: Desk, axe: Axe, size: tuple[int, int]
) -> None:
    """The state answers that the ticket is no more (the server's 404 for a link that
    leads to no ticket; a 410): the page says so in place of the place it showed, as an
    alert, with what to do and the mairie's page, and stops reading. A ticket over (here
    cancelled at the desk) is said by its state, and the page stops reading too. Without
    JavaScript, the link of a ticket that is no more says the same."""
    erased, expired, cancelled = desk.walk_in(), desk.walk_in(), desk.walk_in()
    page = phone(browser, live_server, size)
    reads = Reads(page)

    page.goto(f"/ticket/{erased['token']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Vous êtes la prochaine personne appelée"
    )
    nowhere = f"{live_server}/ticket/{NO_SUCH_TOKEN}/etat"
    page.route(f"**/ticket/{erased['token']}/etat", lambda route: route.continue_(url=nowhere))
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(GONE, timeout=45_000)
    expect(alert).to_contain_text(GONE_TEXT)
    expect(alert).to_contain_text(
        "Si vous êtes à la mairie, adressez-vous à l'accueil. Sinon, prenez un nouveau "
        "ticket ou un rendez-vous."
    )
    expect(page.get_by_role("heading", level=1)).to_have_text(GONE)
    expect(page).to_have_title(f"{GONE} – Facilitation numérique, mairies de Paris")
    expect(
        page.get_by_role("link", name="La page de la mairie : ticket ou rendez-vous")
    ).to_have_attribute("href", "/mairies/paris-15")
    expect(page.get_by_text("personne avant vous")).to_have_count(0)
    expect(page.get_by_role("link", name="Quitter la file")).to_have_count(0)
    expect(page.locator("#hors-ligne")).to_be_hidden()
    looks_right(page, axe)
    assert reads.stopped(page)
    page.context.close()

    page = phone(browser, live_server, size)
    reads = Reads(page)
    page.goto(f"/ticket/{expired['token']}")
    page.route(f"**/ticket/{expired['token']}/etat", lambda route: route.fulfill(status=410))
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    expect(page.get_by_role("alert")).to_contain_text(GONE, timeout=45_000)
    assert reads.stopped(page)
    page.context.close()

    page = phone(browser, live_server, size)
    reads = Reads(page)
    page.goto(f"/ticket/{cancelled['token']}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Vous êtes dans la file d'attente")
    desk.post(f"/api/v1/tickets/{cancelled['id']}/cancel", "reception")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Ce ticket est annulé", timeout=45_000
    )
    assert reads.stopped(page)
    page.context.close()

    page = phone(browser, live_server, size, java_script_enabled=False)
    answer = page.goto(f"/ticket/{NO_SUCH_TOKEN}")
    assert answer is not None
    assert answer.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text(GONE)
    expect(page.locator(".state")).to_have_text(GONE_TEXT)
    expect(
        page.get_by_role("link", name="Choisir une mairie : ticket ou rendez-vous")
    ).to_have_attribute("href", "/")
    expect(page).to_have_title(f"{GONE} – Facilitation numérique, mairies de Paris")
    no_horizontal_overflow(page)
    assert small_targets(page) == []
    page.context.close()


def test_without_javascript_the_page_tells_the_state_and_leaving_works(
    browser: Browser, live_server: str, desk: Desk
) -> None:
    mine = desk.walk_in()
    stays = desk.walk_in()
    page = phone(browser, live_server, (320, 640), java_script_enabled=False)

    page.goto(f"/ticket/{stays['token']}")
    expect(page.locator(".state")).to_have_text("Il y a 1 personne avant vous.")
    expect(page.locator("#hors-ligne")).to_be_hidden()
    no_horizontal_overflow(page)
    page.goto(f"/ticket/{mine['token']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Vous êtes la prochaine personne appelée"
    )
    no_horizontal_overflow(page)
    page.get_by_role("link", name="Quitter la file").click()
    page.get_by_role("link", name="Non, garder ma place").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Vous êtes la prochaine personne appelée"
    )
    page.get_by_role("link", name="Quitter la file").click()
    page.get_by_role("button", name="Oui, quitter la file").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ce ticket est annulé")

    page.goto(f"/ticket/{stays['token']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Vous êtes la prochaine personne appelée"
    )
    desk.call("Poste 2")
    page.get_by_role("link", name="Actualiser").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("C'est votre tour")
    expect(page.locator(".turn-station")).to_have_text("Poste 2")
    no_horizontal_overflow(page)
    page.context.close()
