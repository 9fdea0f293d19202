"""`make screenshots`: pictures of every page of the service, from a scripted scenario, so
anyone can review the whole service at a glance.

    .venv/bin/python -m tests.screenshots [--out DIR] [--only PATTERN] [--timeout SECONDS]
                                          [--port PORT]

It starts a real `guichet serve --demo` on a loopback port (a free one unless `--port`
says), with a fresh SQLite database in a temporary folder, and drives Debian's Chromium
(`GUICHET_TEST_CHROMIUM`, default /usr/bin/chromium) through a day at the 15e: a resident
looks for a mairie, books, moves and cancels, finds an appointment again; another books
in English; a walk-in ticket is followed until it is called and feedback given; then
staff log in: reception books for someone on the phone and prints the summary and a
ticket, a station starts, transfers and finishes a visit, reception is warned before a
ticket while the mairie is closed (an exceptional closure, then called off); managers
open the figures (all Paris, with the mairies compared) and the administration (every tab
of a mairie's settings, the journal), and the lobby screen shows the calls.

Each page is written as `<nn>-<page>-<width>.png` under `var/screenshots/`, in the order of
the day: residents' pages at 390×844, 320×640 and 1366×900 (plus the whole page at
390, `-390-full.png`), staff pages at 390×844 and 1366×900, the lobby screen at 1920×1080.
One line per picture says its HTTP status and whether the page is wider than the window
(horizontal overflow, with the elements sticking out), and, in brackets, a document that
is not HTML (`[application/json]`) or an English reader's page not in English (`[lang=fr]`,
or `[French: ...]` with the French sentences left in it). A page that answers an
unexpected status or lacks what the scenario looks for is pictured as it is (or not at
all) and named in the summary; the run goes on. `index.html` beside the pictures shows them
all on one page, under a heading per part of the day.

`--only PATTERN` pictures only the pages whose name matches (`admin-*`, `ticket`), while
the scenario still runs whole. The run stops by itself after `--timeout` seconds (600),
and the server is stopped at the end, whatever happens.
"""

from __future__ import annotations

import argparse
import fnmatch
import html
import os
import re
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import Any, Literal
from zoneinfo import ZoneInfo

import httpx
from playwright.sync_api import Browser, Locator, Page, Response, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from app.sites.admin_tabs import TABS as SITE_TABS
from tests.e2e.conftest import CHROMIUM
from tests.e2e.conftest import CHROMIUM_ARGS as E2E_CHROMIUM_ARGS
from tests.server_clock import ServerClock
from tests.servers import Server, free_port

# As the browser tests launch it, scrollbars hidden so that pictures show only the page.
CHROMIUM_ARGS = [*E2E_CHROMIUM_ARGS, "--hide-scrollbars"]
OUT = Path("var/screenshots")
TIMEOUT_SECONDS = 600
# Past the global timeout, what could not stop by itself is killed this much later.
HARD_STOP_GRACE_SECONDS = 30
ACTION_TIMEOUT_MS = 15_000
NAVIGATION_TIMEOUT_MS = 30_000

PARIS = ZoneInfo("Europe/Paris")
PASSWORD = "demo-guichet-paris"
ADMIN = "admin@guichet.example.org"
MANAGER = "responsable.paris15@guichet.example.org"
RECEPTION = "accueil.paris15@guichet.example.org"
FACILITATOR = "facilitateur.paris15@guichet.example.org"
MAIRIE = "paris-15"
DEMARCHE = "caf"
NEED = "premiere-fois"
RESIDENT_PHONE = "06 12 34 56 78"
# Someone who phones the 15e for an appointment, booked by reception.
CALLER_NAME = "Jean Dupont"
CALLER_PHONE = "07 81 22 33 44"
# How far ahead reception looks for a day with a free slot.
DESK_DAYS_AHEAD = 21

Audience = Literal["public", "staff", "display"]
# Who looks at the page: each has a browser context (cookies, language) of their own.
Persona = Literal[
    "resident", "english", "admin", "manager", "reception", "facilitator", "screen", "partner"
]
STAFF: dict[Persona, str] = {
    "admin": ADMIN,
    "manager": MANAGER,
    "reception": RECEPTION,
    "facilitator": FACILITATOR,
}

PHONE = (390, 844)
SMALL_PHONE = (320, 640)
DESKTOP = (1366, 900)
LOBBY = (1920, 1080)
SIZES: dict[Audience, list[tuple[int, int]]] = {
    "public": [PHONE, SMALL_PHONE, DESKTOP],
    "staff": [PHONE, DESKTOP],
    "display": [LOBBY],
}
# The residents' pages are also pictured whole at this width.
FULL_PAGE_WIDTH = PHONE[0]


class Absent(Exception):
    """What the step pictures is not there (yet): no picture, a line in the summary."""


class PortTaken(Exception):
    """The port asked for with `--port` is already listened on."""


class RunTimeout(BaseException):
    """The global timeout went off (not an Exception: no step's handler may swallow it)."""


@dataclass
class Tab:
    """One persona's browser tab, and the HTTP status and type of the document it shows."""

    page: Page
    status: int | None = None
    content_type: str = ""
    # A CSS selector of an element to bring to the top of the window after each resize (a
    # section of a page).
    anchor: str | None = None

    def __post_init__(self) -> None:
        self.page.on("response", self._heard)

    def _heard(self, response: Response) -> None:
        request = response.request
        if request.is_navigation_request() and request.frame == self.page.main_frame:
            self.status = response.status
            self.content_type = response.headers.get("content-type", "")


@dataclass
class Tour:
    """What the scenario runs against and what it has learnt on the way."""

    base: str
    browser: Browser
    server: Server
    tabs: dict[Persona, Tab] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)

    def tab(self, persona: Persona) -> Tab:
        if persona not in self.tabs:
            locale = "en-GB" if persona == "english" else "fr-FR"
            width, height = LOBBY if persona == "screen" else PHONE
            context = self.browser.new_context(
                base_url=self.base, locale=locale, viewport={"width": width, "height": height}
            )
            context.set_default_timeout(ACTION_TIMEOUT_MS)
            context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
            self.tabs[persona] = Tab(context.new_page())
        return self.tabs[persona]

    def api(self, method: str, path: str, email: str, **kwargs: Any) -> httpx.Response:
        """A call to the staff API as `email`, with a bearer token asked for once."""
        if email not in self.tokens:
            answer = httpx.post(
                f"{self.base}/api/v1/auth/token",
                json={"email": email, "password": PASSWORD},
                timeout=30,
            )
            answer.raise_for_status()
            self.tokens[email] = answer.json()["access_token"]
        headers = {"Authorization": f"Bearer {self.tokens[email]}"}
        return httpx.request(method, f"{self.base}{path}", headers=headers, timeout=30, **kwargs)

    def need(self, key: str, what: str) -> Any:
        if key not in self.state:
            raise Absent(f"no {what}: an earlier step did not get it")
        return self.state[key]


Act = Callable[[Tour, Tab], None]


@dataclass(frozen=True)
class Step:
    """A page to picture (`audience` set) or an action between pages (`audience` None)."""

    name: str
    persona: Persona
    act: Act
    audience: Audience | None = None
    expect: int = 200


# Page helpers -------------------------------------------------------------------------


def go(path: str) -> Act:
    def act(tour: Tour, tab: Tab) -> None:
        tab.page.goto(path)

    return act


def settle(page: Page) -> None:
    """Let the page finish its requests, fonts and scripts' first drawing."""
    with suppress(PlaywrightError):
        page.wait_for_load_state("networkidle", timeout=4_000)
    with suppress(PlaywrightError):
        page.evaluate("() => document.fonts ? document.fonts.ready.then(() => true) : true")
    page.wait_for_timeout(200)


def form_with(page: Page, selector: str) -> Locator:
    """The first form holding an element that matches `selector`."""
    form = page.locator("form").filter(has=page.locator(selector)).first
    if form.count() == 0:
        raise Absent(f"no form with {selector} on {page.url}")
    return form


def submit(page: Page, form: Locator, button: str | None = None) -> None:
    """Press the form's submit button (the one whose text matches `button`, if given) and
    wait for the page it leads to."""
    buttons = form.locator("button:not([type=button]):not([type=reset]), input[type=submit]")
    if button is not None:
        named = buttons.filter(has_text=re.compile(button, re.IGNORECASE))
        buttons = named if named.count() else buttons
    if buttons.count() == 0:
        raise Absent(f"no submit button in the form on {page.url}")
    with page.expect_navigation():
        buttons.first.click()
    settle(page)


def tick(control: Locator) -> None:
    """Check a radio or checkbox, even one drawn by its label and hidden itself."""
    try:
        control.check(timeout=3_000)
    except PlaywrightError:
        control.evaluate(
            "e => { e.checked = true; e.dispatchEvent(new Event('change', {bubbles: true})); }"
        )


def fill_first(form: Locator, selectors: Sequence[str], value: str) -> bool:
    for selector in selectors:
        field_ = form.locator(selector)
        if field_.count():
            field_.first.fill(value)
            return True
    return False


def private_token(url: str) -> str | None:
    """The token of a private page's address, `/rendez-vous/<token>`."""
    match = re.match(r"https?://[^/]+/rendez-vous/([^/?#]+)", url)
    if match and match.group(1) != "retrouver":
        return match.group(1)
    return None


# The residents' day ---------------------------------------------------------------------


@dataclass(frozen=True)
class Booker:
    """Who books online, and the suffix of what the scenario keeps of their booking
    (`slot`, `appointment`, `reference`) in `Tour.state`."""

    name: str
    email: str
    phone: str
    key: str = ""


RESIDENT = Booker("Marie Curie", "marie.curie@example.org", RESIDENT_PHONE)
ENGLISH_READER = Booker("Ada Lovelace", "ada.lovelace@example.org", "06 98 76 54 32", "-en")


def choose_demarche(booker: Booker) -> Act:
    """From the démarche step to the slots, the CAF and a first time online; then the
    first slot chosen, as the page looks once someone has tapped one."""

    def act(tour: Tour, tab: Tab) -> None:
        pick_slot(tour, tab, booker)

    return act


def pick_slot(tour: Tour, tab: Tab, booker: Booker) -> None:
    page = tab.page
    if page.locator("input[name=service]").count() == 0:
        page.goto(f"/mairies/{MAIRIE}/rendez-vous")
    try:
        form = form_with(page, "input[name=service]")
        choice = form.locator(f"input[name=service][value='{DEMARCHE}']")
        tick(choice if choice.count() else form.locator("input[name=service]").first)
        need = form.locator(f"input[name=besoins][value='{NEED}']")
        if need.count():
            tick(need)
        submit(page, form)
    except (Absent, PlaywrightError):
        page.goto(f"/mairies/{MAIRIE}/rendez-vous/creneaux?service={DEMARCHE}&besoins={NEED}")
        settle(page)
    slot = page.locator("input[name=debut]")
    if slot.count() == 0:
        raise Absent("no free slot on the slots step")
    tour.state[f"slot{booker.key}"] = slot.first.get_attribute("value")
    tick(slot.first)


def to_contact(booker: Booker) -> Act:
    def act(tour: Tour, tab: Tab) -> None:
        go_to_contact(tour, tab, booker)

    return act


def go_to_contact(tour: Tour, tab: Tab, booker: Booker) -> None:
    page = tab.page
    try:
        submit(page, form_with(page, "input[name=debut]"), "continuer|continue")
    except (Absent, PlaywrightError):
        slot = tour.need(f"slot{booker.key}", "slot chosen")
        page.goto(
            f"/mairies/{MAIRIE}/rendez-vous/coordonnees?service={DEMARCHE}"
            f"&besoins={NEED}&debut={slot}"
        )
    if page.locator("input[name=nom]").count() == 0:
        raise Absent("no contact form after the slot")


def give_contact(booker: Booker) -> Act:
    """Fill the contact details and go on: to the summary where there is one (pictured),
    or straight to the private page (then there is no summary to picture)."""

    def act(tour: Tour, tab: Tab) -> None:
        page = tab.page
        form = form_with(page, "input[name=nom]")
        form.locator("input[name=nom]").fill(booker.name)
        fill_first(form, ["input[name=email]"], booker.email)
        fill_first(form, ["input[name=telephone]", "input[type=tel]"], booker.phone)
        submit(page, form)
        token = private_token(page.url)
        if token:
            tour.state[f"appointment{booker.key}"] = token
            raise Absent("no summary step: the contact form books at once")
        if page.locator("input[name=nom][aria-invalid=true]").count():
            raise Absent("the contact form refused the details")

    return act


def confirm_booking(booker: Booker) -> Act:
    def act(tour: Tour, tab: Tab) -> None:
        confirm(tour, tab, booker)

    return act


def confirm(tour: Tour, tab: Tab, booker: Booker) -> None:
    page = tab.page
    if f"appointment{booker.key}" not in tour.state:
        confirming = page.locator("form").filter(
            has=page.locator("button", has_text=re.compile("confirm", re.IGNORECASE))
        )
        if confirming.count() == 0:
            raise Absent(f"nothing to confirm on {page.url}")
        submit(page, confirming.last, "confirm")
        token = private_token(page.url)
        if token is None:
            raise Absent(f"the booking did not lead to a private page ({page.url})")
        tour.state[f"appointment{booker.key}"] = token
    reference = page.locator(".reference")
    if reference.count():
        tour.state[f"reference{booker.key}"] = reference.first.inner_text().strip()


def appointment_page(suffix: str, booker: Booker = RESIDENT) -> Act:
    def act(tour: Tour, tab: Tab) -> None:
        token = tour.need(f"appointment{booker.key}", "appointment")
        tab.page.goto(f"/rendez-vous/{token}{suffix}")

    return act


def ask_for_earlier(tour: Tour, tab: Tab) -> None:
    """Ask to be told of an earlier slot, with no day given."""
    page = tab.page
    if "/plus-tot" not in page.url:
        page.goto(f"/rendez-vous/{tour.need('appointment', 'appointment')}/plus-tot")
    submit(page, form_with(page, "input[name=avant]"))


def cancel(tour: Tour, tab: Tab) -> None:
    page = tab.page
    if "/annuler" not in page.url:
        page.goto(f"/rendez-vous/{tour.need('appointment', 'appointment')}/annuler")
    submit(page, form_with(page, "button"), "annuler")


def find_again(tour: Tour, tab: Tab) -> None:
    """Fill "retrouver mon rendez-vous" with the reference and the phone number."""
    page = tab.page
    reference = tour.need("reference", "appointment reference")
    if tab.status != 200:
        raise Absent(f"/rendez-vous/retrouver answered {tab.status}")
    form = form_with(page, "input[name=reference], input[name*=ref i]")
    fill_first(form, ["input[name=reference]", "input[name*=ref i]"], reference)
    fill_first(
        form, ["input[name=contact]", "input[type=tel]", "input[name*=tel i]"], RESIDENT_PHONE
    )
    submit(page, form)


# The queue ------------------------------------------------------------------------------


def open_and_issue(tour: Tour, tab: Tab) -> None:
    """Open the 15e all day today (the server runs on the real clock, and no ticket is
    called while a mairie is closed), then give three walk-in tickets at reception."""
    today = tour.server.clock.now().astimezone(PARIS).date()
    opened = tour.api(
        "PUT",
        f"/api/v1/admin/sites/{MAIRIE}/hours-exceptions/{today}",
        MANAGER,
        json={
            "ranges": [{"opens": "00:00", "closes": "23:59"}],
            "reason": "Permanence exceptionnelle",
        },
    )
    opened.raise_for_status()
    site = httpx.get(f"{tour.base}/api/v1/sites/{MAIRIE}", timeout=30).json()
    tour.state["station"] = site["stations"][0]["id"]
    tickets = []
    for body in (
        {"service": DEMARCHE},
        {"service": DEMARCHE, "needs": [NEED], "phone": RESIDENT_PHONE},
        {"service": "compte-paris"},
    ):
        issued = tour.api("POST", f"/api/v1/sites/{MAIRIE}/tickets", RECEPTION, json=body)
        issued.raise_for_status()
        tickets.append(issued.json())
    tour.state["tickets"] = tickets


def ticket(index: int, suffix: str = "") -> Act:
    def act(tour: Tour, tab: Tab) -> None:
        tickets = tour.need("tickets", "ticket")
        tab.page.goto(f"/ticket/{tickets[index]['token']}{suffix}")

    return act


def call_next(tour: Tour, tab: Tab) -> None:
    station = tour.need("station", "station")
    called = tour.api("POST", f"/api/v1/stations/{station}/call-next", FACILITATOR)
    called.raise_for_status()


def finish_first(tour: Tour, tab: Tab) -> None:
    """The first ticket's visit: started, then finished with a request sent on."""
    first = tour.need("tickets", "ticket")[0]["id"]
    tour.api("POST", f"/api/v1/tickets/{first}/start", FACILITATOR).raise_for_status()
    departments = [d["code"] for d in tour.api("GET", "/api/v1/departments", MANAGER).json()]
    department = DEMARCHE if DEMARCHE in departments else departments[0]
    tour.api(
        "POST",
        f"/api/v1/tickets/{first}/finish",
        FACILITATOR,
        json={
            "outcome": "escalated",
            "department": department,
            "services": [DEMARCHE],
            "note": "Dossier d'aide au logement transmis.",
        },
    ).raise_for_status()


# Staff ----------------------------------------------------------------------------------


def log_in(tour: Tour, tab: Tab) -> None:
    """Every agent logs in through /connexion, each in a browser of their own."""
    refused = []
    for persona, email in STAFF.items():
        page = tour.tab(persona).page
        page.goto("/connexion")
        form = form_with(page, "input[name=password]")
        form.locator("input[name=email]").fill(email)
        form.locator("input[name=password]").fill(PASSWORD)
        submit(page, form)
        if "/connexion" in page.url:
            refused.append(email)
    if refused:
        raise Absent(f"login refused for {', '.join(refused)}")


def anchored(path: str, selector: str) -> Act:
    """A page, with the part `selector` finds brought to the top of the window."""

    def act(tour: Tour, tab: Tab) -> None:
        tab.page.goto(path)
        settle(tab.page)
        if tab.page.locator(selector).count() == 0:
            raise Absent(f"no {selector} on {tab.page.url}")
        tab.anchor = selector

    return act


def desk_slots(tour: Tour, tab: Tab) -> None:
    """Reception books for someone on the phone: the first day with a free slot of the
    démarche, its first slot ticked and the caller's details typed, not yet sent."""
    page = tab.page
    today = tour.server.clock.now().astimezone(PARIS).date()
    for days in range(DESK_DAYS_AHEAD):
        day = today + timedelta(days=days)
        page.goto(f"/accueil/{MAIRIE}/rendez-vous?service={DEMARCHE}&jour={day}")
        if page.locator("input[name=debut]").count():
            break
    else:
        raise Absent(f"no free slot at the desk in the next {DESK_DAYS_AHEAD} days")
    form = form_with(page, "input[name=debut]")
    tick(form.locator("input[name=debut]").first)
    form.locator("input[name=nom]").fill(CALLER_NAME)
    fill_first(form, ["input[name=telephone]", "input[type=tel]"], CALLER_PHONE)
    for choice in ("input[name=canal][value=telephone]", "input[name=rappels_sms]"):
        if form.locator(choice).count():
            tick(form.locator(choice).first)
    if form.locator("input[name=rappels_email]").count():
        form.locator("input[name=rappels_email]").first.uncheck()
    tab.anchor = "form[method=post]"


def desk_book(tour: Tour, tab: Tab) -> None:
    """Send the desk booking: back at reception, which says the reference."""
    page = tab.page
    if page.locator("input[name=debut]:checked").count() == 0:
        raise Absent("no slot chosen on the desk booking form")
    submit(page, form_with(page, "input[name=debut]"))
    found = re.search(r"[?&]rdv=([^&#]+)", page.url)
    if found is None:
        said = page.locator(".error-summary, [role=alert]")
        why = said.first.inner_text().strip() if said.count() else page.url
        raise Absent(f"the desk booking did not lead back to reception ({why})")
    tour.state["desk-reference"] = found.group(1)


def booking_slip(tour: Tour, tab: Tab) -> None:
    reference = tour.need("desk-reference", "desk booking")
    tab.page.goto(f"/accueil/{MAIRIE}/rendez-vous/{reference}/imprimer")


def slip(tour: Tour, tab: Tab) -> None:
    last = tour.need("tickets", "ticket")[-1]["id"]
    tab.page.goto(f"/accueil/{MAIRIE}/tickets/{last}/imprimer")


def station(tour: Tour, tab: Tab) -> None:
    tab.page.goto(f"/poste/{tour.need('station', 'station')}")


def press(page: Page, action: str) -> None:
    """Press the button of the station form posted to `.../<action>`."""
    form = page.locator(f"form[action$='/{action}']")
    if form.count() == 0:
        raise Absent(f"no {action!r} button on {page.url}")
    submit(page, form.first)


def start_visit(tour: Tour, tab: Tab) -> None:
    """At the station, the called person arrives: "Commencer"; the visit's form shows,
    its part "Démarches faites et note" unfolded."""
    station(tour, tab)
    press(tab.page, "commencer")
    if tab.page.locator("form[action$='/terminer']").count() == 0:
        raise Absent("no visit form after 'Commencer'")
    tab.page.locator("form[action$='/terminer'] details").evaluate_all(
        "all => all.forEach(d => { d.open = true; })"
    )
    tab.anchor = "section.current"


def unfold_transfer(tour: Tour, tab: Tab) -> None:
    fold = tab.page.locator("details.transfer-fold")
    if fold.count() == 0:
        raise Absent(f"no transfer form on {tab.page.url}")
    fold.first.locator("summary").click()
    tab.anchor = "details.transfer-fold"


def finish_visit(tour: Tour, tab: Tab) -> None:
    """The visit's outcome ticked, then "Terminer": the console says which visit ended."""
    page = tab.page
    form = form_with(page, "input[name=issue]")
    tick(form.locator("input[name=issue]").first)
    submit(page, form, "terminer")
    if "termine=" not in page.url:
        raise Absent(f"'Terminer' did not come back with the visit finished ({page.url})")


def close_now(tour: Tour, tab: Tab) -> None:
    """An exceptional closure of the 15e from a minute ago for half an hour, as a manager
    gives one through the administration."""
    now = tour.server.clock.now().astimezone(PARIS).replace(microsecond=0)
    closed = tour.api(
        "POST",
        f"/api/v1/admin/sites/{MAIRIE}/closures",
        MANAGER,
        json={
            "starts_at": (now - timedelta(minutes=1)).isoformat(),
            "ends_at": (now + timedelta(minutes=30)).isoformat(),
            "reason": "Coupure de courant",
        },
    )
    closed.raise_for_status()
    tour.state["closure"] = closed.json()["closure"]["id"]


def issue_while_closed(tour: Tour, tab: Tab) -> None:
    """A walk-in ticket asked for at reception while closed: the warning comes first."""
    page = tab.page
    if f"/accueil/{MAIRIE}" not in page.url:
        page.goto(f"/accueil/{MAIRIE}")
    form = form_with(page, "button[name=service]")
    with page.expect_navigation():
        form.locator("button[name=service]").first.click()
    settle(page)
    if page.locator("input[name=forcer][type=hidden]").count() == 0:
        raise Absent(f"no warning before the ticket while closed ({page.url})")


def reopen(tour: Tour, tab: Tab) -> None:
    closure = tour.need("closure", "closure")
    tour.api(
        "DELETE", f"/api/v1/admin/sites/{MAIRIE}/closures/{closure}", MANAGER
    ).raise_for_status()


def privacy_search(tour: Tour, tab: Tab) -> None:
    page = tab.page
    form = form_with(page, "input[name=email]")
    form.locator("input[name=email]").fill(RESIDENT.email)
    submit(page, form)


def make_partner(tour: Tour, tab: Tab) -> None:
    """The administrator gives a CCAS a key for the 15e, and makes the CAF's expert
    department its account for the day (the requests sent on show on its page)."""
    made = tour.api(
        "POST",
        "/api/v1/admin/partners",
        ADMIN,
        json={"name": "CCAS du 15e", "email": "ccas15@example.org", "sites": [MAIRIE]},
    )
    if made.status_code != 201:
        raise Absent(f"no partner made: {made.status_code} {made.text[:200]}")
    tour.state["partner_key"] = made.json()["key"]
    tour.api("PATCH", "/api/v1/departments/caf", ADMIN, json={"partner": made.json()["id"]})


def partner_log_in(tour: Tour, tab: Tab) -> None:
    """The social worker pastes the key on /partenaires."""
    page = tab.page
    page.goto("/partenaires")
    form = form_with(page, "input[name=cle]")
    form.locator("input[name=cle]").fill(tour.need("partner_key", "partner key"))
    submit(page, form)
    if page.locator("input[name=cle]").count():
        raise Absent("the partner's key did not open its page")


def partner_slots(tour: Tour, tab: Tab) -> None:
    """The partner's booking form: the first day with a free slot, its first slot ticked
    and the person's details typed, not yet sent."""
    page = tab.page
    today = tour.server.clock.now().astimezone(PARIS).date()
    for days in range(DESK_DAYS_AHEAD):
        day = today + timedelta(days=days)
        page.goto(f"/partenaires/mairies/{MAIRIE}/rendez-vous?service={DEMARCHE}&jour={day}")
        if page.locator("input[name=debut]").count():
            break
    else:
        raise Absent(f"no free slot for the partner in the next {DESK_DAYS_AHEAD} days")
    form = form_with(page, "input[name=debut]")
    tick(form.locator("input[name=debut]").first)
    form.locator("input[name=nom]").fill("Marcel Pagnol")
    fill_first(form, ["input[name=email]", "input[type=email]"], "marcel.pagnol@example.org")
    tab.anchor = "form[method=post]"


def partner_book(tour: Tour, tab: Tab) -> None:
    page = tab.page
    submit(page, form_with(page, "input[name=debut]"))
    if "rdv=" not in page.url:
        raise Absent(f"the partner's booking did not come back booked ({page.url})")


def lobby(tour: Tour, tab: Tab, lang: str = "") -> None:
    """The paired screen of the 15e, as `serve --demo` printed its address."""
    found = re.search(r"lobby display\s+https?://[^/\s]+(/display/\S+)", tour.server.output())
    address = found.group(1) if found else f"/display/{MAIRIE}?sound=1"
    tab.page.goto(f"{address}&lang={lang}" if lang else address)
    settle(tab.page)
    tab.page.wait_for_timeout(1_500)


def lobby_in_english(tour: Tour, tab: Tab) -> None:
    lobby(tour, tab, "en")


# The scenario, in the order of the day: each part a heading of index.html.
PARTS: list[tuple[str, list[Step]]] = [
    (
        "A resident on a phone",
        [
            Step("home", "resident", go("/"), "public"),
            Step("home-search-15", "resident", go("/?q=15"), "public"),
            Step(f"mairie-{MAIRIE}", "resident", go(f"/mairies/{MAIRIE}"), "public"),
            Step("booking-demarche", "resident", go(f"/mairies/{MAIRIE}/rendez-vous"), "public"),
            Step("booking-slots", "resident", choose_demarche(RESIDENT), "public"),
            Step("booking-contact", "resident", to_contact(RESIDENT), "public"),
            Step("booking-summary", "resident", give_contact(RESIDENT), "public"),
            Step("booking-done", "resident", confirm_booking(RESIDENT), "public"),
            Step("booking-move", "resident", appointment_page("/deplacer"), "public"),
            Step("booking-earlier", "resident", appointment_page("/plus-tot"), "public"),
            Step("booking-earlier-asked", "resident", ask_for_earlier, "public"),
            Step("booking-cancel", "resident", appointment_page("/annuler"), "public"),
            Step("booking-cancelled", "resident", cancel, "public"),
            Step("first-slot", "resident", go(f"/premier-creneau?demarche={DEMARCHE}"), "public"),
            Step("find-appointment", "resident", go("/rendez-vous/retrouver"), "public"),
            Step("find-appointment-found", "resident", find_again, "public"),
        ],
    ),
    (
        "A resident reading English",
        [
            Step("home-en", "english", go("/"), "public"),
            Step(f"mairie-{MAIRIE}-en", "english", go(f"/mairies/{MAIRIE}"), "public"),
            Step("booking-demarche-en", "english", go(f"/mairies/{MAIRIE}/rendez-vous"), "public"),
            Step("booking-slots-en", "english", choose_demarche(ENGLISH_READER), "public"),
            Step("booking-contact-en", "english", to_contact(ENGLISH_READER), "public"),
            Step("booking-summary-en", "english", give_contact(ENGLISH_READER), "public"),
            Step("booking-done-en", "english", confirm_booking(ENGLISH_READER), "public"),
            Step("appointment-en", "english", appointment_page("", ENGLISH_READER), "public"),
            Step("not-found-en", "english", go("/cette-page-n-existe-pas"), "public", expect=404),
        ],
    ),
    (
        "A walk-in ticket",
        [
            Step("open-and-issue-tickets", "resident", open_and_issue),
            Step("ticket-waiting", "resident", ticket(1), "public"),
            Step("call-the-first-ticket", "resident", call_next),
            Step("ticket-next", "resident", ticket(1), "public"),
            Step("ticket-next-en", "english", ticket(1), "public"),
            Step("ticket-called", "resident", ticket(0), "public"),
            Step("finish-the-first-ticket", "resident", finish_first),
            Step("ticket-done", "resident", ticket(0), "public"),
            Step("feedback", "resident", ticket(0, "/avis"), "public"),
            Step("not-found", "resident", go("/cette-page-n-existe-pas"), "public", expect=404),
        ],
    ),
    (
        "Staff log in; reception",
        [
            Step("login", "resident", go("/connexion"), "staff"),
            Step("log-in", "resident", log_in),
            Step("console-manager", "manager", go("/console"), "staff"),
            Step("console-facilitator", "facilitator", go("/console"), "staff"),
            Step("call-the-second-ticket", "facilitator", call_next),
            Step("reception", "reception", go(f"/accueil/{MAIRIE}"), "staff"),
            Step("reception-booking", "reception", go(f"/accueil/{MAIRIE}/rendez-vous"), "staff"),
            Step("reception-earlier", "reception", go(f"/accueil/{MAIRIE}/plus-tot"), "staff"),
            Step("reception-booking-slots", "reception", desk_slots, "staff"),
            Step("reception-booked", "reception", desk_book, "staff"),
            Step("reception-booking-slip", "reception", booking_slip, "staff"),
            Step("reception-ticket-slip", "reception", slip, "staff"),
        ],
    ),
    (
        "A station",
        [
            Step("station", "facilitator", station, "staff"),
            Step("station-visit", "facilitator", start_visit, "staff"),
            Step("station-transfer", "facilitator", unfold_transfer, "staff"),
            Step("station-finished", "facilitator", finish_visit, "staff"),
        ],
    ),
    (
        "Reception while the mairie is closed",
        [
            Step("close-the-mairie", "manager", close_now),
            Step("reception-closed", "reception", go(f"/accueil/{MAIRIE}"), "staff"),
            Step("reception-closed-warning", "reception", issue_while_closed, "staff"),
            Step("reopen-the-mairie", "manager", reopen),
        ],
    ),
    (
        "Managers and administration",
        [
            Step("requests", "manager", go(f"/demandes/{MAIRIE}"), "staff"),
            Step(f"figures-{MAIRIE}", "manager", go(f"/statistiques/{MAIRIE}"), "staff"),
            Step("figures-paris", "admin", go("/statistiques"), "staff"),
            Step(
                "figures-paris-comparison",
                "admin",
                anchored("/statistiques", "#comparaison"),
                "staff",
            ),
            Step("admin-sites", "admin", go("/admin"), "staff"),
            *(
                Step(
                    f"admin-site-{tab}", "admin", go(f"/admin/sites/{MAIRIE}?onglet={tab}"), "staff"
                )
                for tab in SITE_TABS
            ),
            Step("admin-catalog", "admin", go("/admin/catalogue"), "staff"),
            Step("admin-agents", "admin", go("/admin/agents"), "staff"),
            Step("admin-journal", "admin", go("/admin/journal"), "staff"),
            Step("admin-privacy", "admin", go("/admin/donnees-personnelles"), "staff"),
            Step("admin-privacy-found", "admin", privacy_search, "staff"),
        ],
    ),
    (
        "A partner who refers people",
        # Read by social workers at their desks: held to the staff's pages' rules.
        [
            Step("make-a-partner", "admin", make_partner),
            Step("partner-login", "partner", go("/partenaires"), "staff"),
            Step("partner-log-in", "partner", partner_log_in),
            Step("partner-home", "partner", go("/partenaires"), "staff"),
            Step("partner-booking", "partner", partner_slots, "staff"),
            Step("partner-booked", "partner", partner_book, "staff"),
        ],
    ),
    (
        "The lobby screen",
        [
            Step(f"display-{MAIRIE}", "screen", lobby, "display"),
            Step(f"display-{MAIRIE}-en", "screen", lobby_in_english, "display"),
        ],
    ),
]
SCENARIO: list[Step] = [step for _, steps in PARTS for step in steps]


# Running it ------------------------------------------------------------------------------


def part_of(name: str) -> str:
    """The heading of the scenario's part the step `name` belongs to."""
    return next((title for title, steps in PARTS if any(s.name == name for s in steps)), "")


def pictured() -> list[tuple[int, Step]]:
    """The steps that make pictures, with their number in the file names."""
    return list(enumerate((step for step in SCENARIO if step.audience), start=1))


def file_name(number: int, name: str, width: int, full: bool = False) -> str:
    return f"{number:02d}-{name}-{width}{'-full' if full else ''}.png"


def wanted(name: str, only: str | None) -> bool:
    if not only:
        return True
    if any(sign in only for sign in "*?["):
        return fnmatch.fnmatch(name, only)
    return only in name


OVERFLOW_SCRIPT = """() => {
  const width = window.innerWidth;
  const page = document.documentElement.scrollWidth;
  if (page <= width) return {page, width, culprits: []};
  const culprits = [];
  const sticks = e => e.getBoundingClientRect().right > width + 1;
  for (const e of document.body.querySelectorAll('*')) {
    if (!sticks(e) || (e.parentElement && e.parentElement !== document.body
        && sticks(e.parentElement))) continue;
    let name = e.tagName.toLowerCase();
    if (e.id) name += '#' + e.id;
    else if (e.classList.length) name += '.' + [...e.classList].join('.');
    culprits.push(name);
    if (culprits.length === 3) break;
  }
  return {page, width, culprits};
}"""


@dataclass
class Picture:
    file: str
    name: str
    status: int | None
    overflow: str
    # What else the reviewer should know of the page: not HTML, not in English.
    remark: str = ""


@dataclass
class Report:
    pictures: list[Picture] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)


def overflow_of(page: Page) -> str:
    measured = page.evaluate(OVERFLOW_SCRIPT)
    if measured["page"] <= measured["width"]:
        return "no"
    culprits = ", ".join(measured["culprits"])
    return f"YES {measured['page']}>{measured['width']} ({culprits})"


# The page's title and the text of each of its text nodes, hidden ones for screen readers
# included, scripts and styles left out, and parts marked as in another language.
TEXTS_SCRIPT = """() => {
  const texts = [document.title];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent.replace(/\\s+/g, ' ').trim();
    const parent = node.parentElement;
    if (!text || !parent || parent.closest('script, style, noscript, template')) continue;
    // A part marked as in another language (a manager's note, lang="fr") is said so.
    const marked = parent.closest('[lang]');
    if (marked && !marked.lang.startsWith('en')) continue;
    texts.push(text);
  }
  return texts;
}"""
# Words that make a French sentence and no English one (names of places such as "Mairie
# du 15e" or "rue de Vaugirard" hold "du" and "de": they are left out), and English ones
# that are no French word ("a", "on" are both).
FRENCH = (
    "le la les un une des est sont vous votre vos nous pour avec dans sur aux pas cette ces "
    "mais ou où à être été aucun aucune jusqu il elle qui que quand ne plus"
)
ENGLISH = "the an and or of to is are you your we for with in at not this be by"
# A word with one of these letters is French too ("envoyé", "prévenu"): a street's name
# ("rue Péclet") has one such word, a sentence more.
FRENCH_LETTERS = re.compile("[éèêëàâùûçôîœ]")
FRENCH_WORDS = frozenset(FRENCH.split())
ENGLISH_WORDS = frozenset(ENGLISH.split())
FRENCH_SHOWN = 3


def french_in(texts: Sequence[str]) -> list[str]:
    """The texts that read as French: two French little words or more, more than English
    ones. Names (of mairies, streets, démarches) are not sentences and pass."""
    found = []
    for text in texts:
        words = re.findall(r"[a-zà-öø-ÿœ]+", text.lower())
        french = sum(word in FRENCH_WORDS or bool(FRENCH_LETTERS.search(word)) for word in words)
        english = sum(word in ENGLISH_WORDS for word in words)
        if french >= 2 and french > english and text not in found:
            found.append(text)
    return found


def oddities(step: Step, tab: Tab) -> list[str]:
    """What a reviewer should know of the document beyond its picture: not HTML (raw JSON
    where a page is expected), or not in the language its reader asked for (the document's
    `lang`, and French sentences left in an English page)."""
    found = []
    kind = tab.content_type.split(";")[0].strip()
    if kind and kind != "text/html":
        found.append(kind)
    if step.persona == "english" and kind == "text/html":
        lang = tab.page.evaluate("() => document.documentElement.lang") or "?"
        if not lang.startswith("en"):
            found.append(f"lang={lang}")
        french = french_in(tab.page.evaluate(TEXTS_SCRIPT))
        if french:
            shown = " | ".join(text[:60] for text in french[:FRENCH_SHOWN])
            more = f" and {len(french) - FRENCH_SHOWN} more" if len(french) > FRENCH_SHOWN else ""
            found.append(f"French: {shown}{more}")
    return found


def shoot(out: Path, number: int, step: Step, tab: Tab, report: Report) -> None:
    assert step.audience is not None
    page = tab.page
    odd = oddities(step, tab)
    remark = f"  [{'; '.join(odd)}]" if odd else ""
    if odd:
        report.unexpected.append(f"{step.name} ({'; '.join(odd)})")
    for width, height in SIZES[step.audience]:
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(150)
        if tab.anchor:
            page.evaluate(
                "s => document.querySelector(s)?.scrollIntoView({block: 'start'})",
                tab.anchor,
            )
        variants = [False]
        if step.audience == "public" and width == FULL_PAGE_WIDTH:
            variants.append(True)
        overflow = overflow_of(page)
        for full in variants:
            name = file_name(number, step.name, width, full)
            page.screenshot(path=out / name, full_page=full, animations="disabled")
            picture = Picture(name, step.name, tab.status, overflow, "; ".join(odd))
            report.pictures.append(picture)
            status = "-" if tab.status is None else str(tab.status)
            print(f"{name:<44} {status:>4}  overflow {overflow}{remark}", flush=True)


def run_step(tour: Tour, out: Path, number: int | None, step: Step, only: str | None) -> Report:
    """Run one step and picture its page; whatever goes wrong is a line, never the end."""
    report = Report()
    tab = tour.tab(step.persona)
    tab.anchor = None
    label = step.name if number is None else f"{number:02d}-{step.name}"
    # Pages left out by --only are still reached, in silence.
    shown = number is None or wanted(step.name, only)
    error: str | None = None
    try:
        step.act(tour, tab)
        if step.audience:
            settle(tab.page)
    except Absent as absent:
        if shown:
            report.notes.append(f"{label}: {absent}")
            print(f"{label:<44}    -  not pictured: {absent}", flush=True)
        return report
    except Exception as failure:  # one page failing must not end the run
        error = f"{type(failure).__name__}: {(str(failure).splitlines() or [''])[0][:200]}"
        if shown:
            report.notes.append(f"{label}: {error}")
            print(f"{label:<44}    -  failed: {error}", flush=True)
        if number is None or not tab.page.url.startswith(tour.base):
            return report
    if number is None or not shown:
        return report
    try:
        shoot(out, number, step, tab, report)
    except PlaywrightError as failure:
        note = f"{label}: picture failed: {str(failure).splitlines()[0][:200]}"
        report.notes.append(note)
        print(note, flush=True)
        return report
    if tab.status != step.expect:
        report.unexpected.append(f"{step.name} ({tab.status}, expected {step.expect})")
    if error:
        report.unexpected.append(f"{step.name} (pictured after: {error})")
    return report


def index_html(report: Report, when: str) -> str:
    """Every picture on one page: a heading per part of the day (listed at the top), a row
    per page, in the order of the file names."""
    rows: dict[str, dict[str, list[Picture]]] = {}
    for picture in sorted(report.pictures, key=lambda picture: picture.file):
        page = f"{picture.file.split('-', 1)[0]}-{picture.name}"
        rows.setdefault(part_of(picture.name), {}).setdefault(page, []).append(picture)
    anchors = {title: f"part-{number}" for number, title in enumerate(rows, start=1)}
    parts = [
        "<!doctype html><html lang='en'><meta charset='utf-8'><title>guichet screenshots</title>",
        "<style>body{font-family:sans-serif;margin:1rem}figure{display:inline-block;"
        "vertical-align:top;margin:0 1rem 1rem 0}img{max-height:420px;border:1px solid #999}"
        "figcaption{font-size:.8rem;max-width:20rem}.bad{color:#a00}"
        "h2{border-top:2px solid #333;padding-top:.5rem}</style>",
        "<h1>guichet screenshots</h1>",
        f"<p>{len(report.pictures)} pictures, {html.escape(when)}</p>",
    ]
    if report.unexpected or report.notes:
        parts.append("<ul>")
        parts += [f"<li class='bad'>{html.escape(n)}</li>" for n in report.unexpected]
        parts += [f"<li>{html.escape(n)}</li>" for n in report.notes]
        parts.append("</ul>")
    parts.append("<nav><ol>")
    parts += [
        f"<li><a href='#{anchors[title]}'>{html.escape(title or 'Other pages')}</a> "
        f"({len(pages)} page{'s' if len(pages) > 1 else ''})</li>"
        for title, pages in rows.items()
    ]
    parts.append("</ol></nav>")
    for title, pages in rows.items():
        parts.append(f"<h2 id='{anchors[title]}'>{html.escape(title or 'Other pages')}</h2>")
        for key, pictures in pages.items():
            parts.append(f"<h3>{html.escape(key)}</h3>")
            for picture in pictures:
                bad = " class='bad'" if picture.overflow != "no" or picture.remark else ""
                remark = f" · {html.escape(picture.remark)}" if picture.remark else ""
                parts.append(
                    f"<figure><a href='{picture.file}'><img src='{picture.file}' alt='' "
                    f"loading='lazy'></a><figcaption{bad}>{picture.file} · {picture.status} · "
                    f"overflow {html.escape(picture.overflow)}{remark}</figcaption></figure>"
                )
    return "\n".join(parts) + "\n"


def write_index(out: Path, report: Report) -> None:
    html_text = index_html(report, time.strftime("%Y-%m-%d %H:%M"))
    (out / "index.html").write_text(html_text, encoding="utf-8")


@contextmanager
def deadline(seconds: int, servers: list[Server]) -> Iterator[None]:
    """Raise RunTimeout in this thread after `seconds`; should the run still not end,
    stop the server and leave the process `HARD_STOP_GRACE_SECONDS` later."""

    def soft(signum: int, frame: FrameType | None) -> None:
        raise RunTimeout(f"the run took longer than {seconds} s")

    def hard() -> None:
        print(f"screenshots: still running {HARD_STOP_GRACE_SECONDS} s past the timeout: killed")
        for server in servers:
            with suppress(Exception):
                server.stop(signal.SIGKILL)
        os._exit(3)

    previous = signal.signal(signal.SIGALRM, soft)
    signal.alarm(seconds)
    backstop = threading.Timer(seconds + HARD_STOP_GRACE_SECONDS, hard)
    backstop.daemon = True
    backstop.start()
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        backstop.cancel()


def tour_the_service(server: Server, out: Path, only: str | None) -> tuple[Report, bool]:
    """Run the scenario against `server`: the report, and whether it ran to its end."""
    report = Report()
    numbers = {id(step): number for number, step in pictured()}
    finished = False
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            tour = Tour(server.base, browser, server)
            for step in SCENARIO:
                done = run_step(tour, out, numbers.get(id(step)), step, only)
                report.pictures += done.pictures
                report.notes += done.notes
                report.unexpected += done.unexpected
                if not server.alive:
                    # Every page after would only say "connection refused".
                    last = " | ".join(server.output().strip().splitlines()[-3:])
                    report.notes.append(f"the server stopped after {step.name}: {last}")
                    print(f"the server stopped after {step.name}: {last}", flush=True)
                    return report, False
            finished = True
        except RunTimeout as timeout:
            report.notes.append(f"stopped: {timeout}")
            print(f"stopped: {timeout}", flush=True)
        finally:
            with suppress(Exception):
                browser.close()
    return report, finished


def arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.screenshots", description=__doc__)
    parser.add_argument("--out", type=Path, default=OUT, help=f"where to write ({OUT})")
    parser.add_argument("--only", help="picture only the pages whose name matches")
    parser.add_argument("--timeout", type=int, default=TIMEOUT_SECONDS, help="seconds (600)")
    parser.add_argument("--port", type=int, default=0, help="the demo server's port (a free one)")
    return parser.parse_args(argv)


def server_port(options: argparse.Namespace) -> int:
    """The port asked for, else a free one: two runs, or a run beside the tests, never
    fight over a port. A port asked for that something already listens on is refused:
    that other server would answer in our server's stead."""
    if not options.port:
        return free_port()
    with socket.socket() as probe:
        # As the server binds: connections of an earlier run still closing do not count.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", options.port))
        except OSError as busy:
            raise PortTaken(f"port {options.port} is taken ({busy.strerror})") from busy
    return int(options.port)


def main(argv: Sequence[str] | None = None) -> int:
    options = arguments(argv)
    try:
        port = server_port(options)
    except PortTaken as taken:
        print(f"screenshots: {taken}; choose another with --port, or none for a free one")
        return 1
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        print(
            f"screenshots: Chromium not found at {CHROMIUM}; install Debian's chromium "
            "or set GUICHET_TEST_CHROMIUM"
        )
        return 1
    out: Path = options.out
    out.mkdir(parents=True, exist_ok=True)
    if not options.only:
        for old in out.glob("[0-9][0-9]*-*.png"):
            old.unlink()
    started = time.monotonic()
    servers: list[Server] = []
    report = Report()
    finished = False
    with tempfile.TemporaryDirectory(prefix="guichet-screenshots-") as folder:
        environment = {
            "GUICHET_DATABASE_URL": f"sqlite+aiosqlite:///{folder}/guichet.db",
            "GUICHET_OUTBOX_DIR": f"{folder}/outbox",
        }
        try:
            with deadline(options.timeout, servers):
                clock = ServerClock.for_tests()
                server = Server(Path(folder), port, environment, demo=True, clock=clock)
                servers.append(server)
                try:
                    server.start()
                    print(f"guichet serve --demo on {server.base}", flush=True)
                    report, finished = tour_the_service(server, out, options.only)
                except AssertionError as failure:
                    print(f"screenshots: {str(failure).splitlines()[0]}")
                    return 1
                finally:
                    server.stop()
        except RunTimeout as timeout:
            print(f"stopped: {timeout}")
    write_index(out, report)
    seconds = time.monotonic() - started
    overflowing = sorted({p.name for p in report.pictures if p.overflow != "no"})
    print(f"\n{len(report.pictures)} pictures in {out}/ ({seconds:.0f} s); index: {out}/index.html")
    if report.unexpected:
        print(f"not as expected: {'; '.join(report.unexpected)}")
    if overflowing:
        print(f"wider than the window: {', '.join(overflowing)}")
    for note in report.notes:
        print(f"note: {note}")
    return 0 if finished else 2


if __name__ == "__main__":
    sys.exit(main())
