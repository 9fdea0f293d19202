"""The administration in the browser. A mairie's settings are in tabs: the 15e's manager
reaches them with the keyboard, adds a station, changes Thursday's hours and closes the
mairie for a day, each form coming back to its tab, and the slots offered to usagers
follow. Every administration page (each tab of a mairie's settings, agents, catalog,
requests, screens, personal data) fits a phone of 390 px and a desk of 1366 px with no
horizontal overflow, and axe-core finds nothing serious or critical on it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import APIRequestContext, Browser, Locator, Page, expect

from app.demo import DEMO_PASSWORD
from app.sites.admin_tabs import TABS
from app.sites.hours import public_holiday
from tests.e2e.axe import Axe, describe
from tests.e2e.test_consoles import log_in
from tests.servers import Server, free_port

MANAGER = "responsable.paris15@guichet.example.org"
ADMIN = "admin@guichet.example.org"
RECEPTION = "accueil.paris15@guichet.example.org"
FACILITATOR = "facilitateur.paris15@guichet.example.org"
SIZES = {"phone": (390, 844), "desk": (1366, 900)}
SITE_PAGE = "/admin/sites/paris-15"
# Every administration page, each tab of a mairie's settings its own page.
ADMIN_PAGES = [
    "/admin",
    *(f"{SITE_PAGE}?onglet={tab}" for tab in TABS),
    "/admin/agents",
    "/admin/catalogue",
    "/admin/catalogue/demarches/caf",
    "/admin/catalogue/besoins/premiere-fois",
    "/admin/catalogue/demarches/nouvelle",
    "/demandes/paris-15",
    "/demandes/paris-15?filtre=toutes",
    "/admin/donnees-personnelles",
]
OVERFLOW = "document.documentElement.scrollWidth - window.innerWidth"
MAIRIE = "Mairie du 15e arrondissement"
PARIS = ZoneInfo("Europe/Paris")
MAX_TAB_PRESSES = 40


def working_thursday_and_friday(today: date) -> tuple[date, date]:
    """The first Thursday at least two days away whose Thursday and Friday are working days
    (the slots need two hours' notice; public holidays are closed anyway)."""
    day = today + timedelta(days=2)
    while True:
        day += timedelta(days=(3 - day.weekday()) % 7)
        friday = day + timedelta(days=1)
        if not public_holiday(day) and not public_holiday(friday):
            return day, friday
        day += timedelta(days=1)


@pytest.fixture
def mairie(tmp_path: Path) -> Iterator[Server]:
    """A server of its own: these changes would surprise the other browser tests."""
    server = Server(tmp_path, free_port(), {"GUICHET_LOG_LEVEL": "WARNING"}, demo=True)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def accessible(page: Page, axe: Axe) -> None:
    violations = axe(page)
    assert not violations, f"{page.url}\n{describe(violations)}"


def tab_link(page: Page, name: str) -> Locator:
    """The link of a tab of the mairie's settings."""
    tabs = page.get_by_role("navigation", name="Réglages de la mairie")
    return tabs.get_by_role("link", name=name, exact=True)


def open_tab_by_keyboard(page: Page, name: str) -> None:
    """Reach the tab `name` with the Tab key from the top of the page, as someone who uses
    no mouse, open it with Enter, and check that it says it is the one open."""
    page.evaluate("document.activeElement && document.activeElement.blur()")
    for _ in range(MAX_TAB_PRESSES):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "(() => { const e = document.activeElement;"
            " return e && e.closest('nav.tabs') ? e.textContent.trim() : ''; })()"
        )
        if focused == name:
            break
    else:
        raise AssertionError(f"the tab {name!r} cannot be reached with the Tab key")
    page.keyboard.press("Enter")
    expect(tab_link(page, name)).to_have_attribute("aria-current", "page")
    assert len(page.locator("nav.tabs [aria-current=page]").all()) == 1


def offered(api: APIRequestContext, day: date) -> list[str]:
    """The local start times (HH:MM) the availability API offers usagers on `day`."""
    response = api.get(
        "/api/v1/sites/paris-15/availability",
        params={"service": "caf", "from": day.isoformat(), "to": day.isoformat()},
    )
    assert response.ok, response.text()
    slots: list[dict[str, Any]] = response.json()["slots"]
    return [slot["start"][11:16] for slot in slots]


def book_every_station(api: APIRequestContext, day: date, at: str) -> None:
    for number in range(6):
        response = api.post(
            "/api/v1/appointments",
            data={
                "site": "paris-15",
                "service": "caf",
                "start": datetime.combine(day, time.fromisoformat(at), PARIS).isoformat(),
                "name": f"Usager {number}",
                "email": f"usager{number}@example.org",
            },
        )
        assert response.status == 201, response.text()


def test_a_manager_adds_a_station_changes_thursday_and_closes_a_day_and_usagers_see_it(
    browser: Browser, mairie: Server, axe: Axe
) -> None:
    context = browser.new_context(base_url=mairie.base, locale="fr-FR")
    api = context.request
    thursday, friday = working_thursday_and_friday(datetime.now(PARIS).date())
    book_every_station(api, thursday, "10:00")
    before = offered(api, thursday)
    assert "10:00" not in before
    assert before[-1] == "19:00"
    assert offered(api, friday)

    page = context.new_page()
    log_in(page, MANAGER)
    page.get_by_role("link", name="Administration : mairies, postes et horaires").press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mairies et postes")
    accessible(page, axe)
    page.get_by_role("link", name=MAIRIE).press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(MAIRIE)
    expect(tab_link(page, "Général")).to_have_attribute("aria-current", "page")
    accessible(page, axe)

    open_tab_by_keyboard(page, "Postes")
    page.get_by_label("Nom du nouveau poste").fill("Poste 7")
    page.get_by_label("Type du nouveau poste").select_option("standard")
    page.get_by_role("button", name="Ajouter le poste").press("Enter")
    expect(page.get_by_role("status").first).to_contain_text("Le poste a été ajouté")
    expect(tab_link(page, "Postes")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("row", name="Poste 7")).to_contain_text("En service")
    accessible(page, axe)

    open_tab_by_keyboard(page, "Horaires")
    page.get_by_label("Plage 1 : fermeture (jeudi)", exact=True).fill("12:00")
    page.get_by_label("Plage 2 : ouverture (jeudi)", exact=True).fill("13:30")
    page.get_by_label("Plage 2 : fermeture (jeudi)", exact=True).fill("20:30")
    page.get_by_role("button", name="Enregistrer les horaires du jeudi").press("Enter")
    expect(page.get_by_role("status").first).to_have_text("Les horaires ont été enregistrés.")
    expect(page.get_by_label("Plage 2 : fermeture (jeudi)", exact=True)).to_have_value("20:30")
    accessible(page, axe)

    # Closures have a tab of their own, next to the hours' (Enter on its link: after the
    # hours were saved, the page starts at its panel, past the tabs).
    tab_link(page, "Fermetures").press("Enter")
    expect(tab_link(page, "Fermetures")).to_have_attribute("aria-current", "page")
    # A closure that ends before it starts is refused, in words, next to the field.
    page.get_by_label("Date de début de la fermeture").fill(friday.isoformat())
    page.get_by_label("Heure de début de la fermeture").fill("18:00")
    page.get_by_label("Date de fin de la fermeture").fill(friday.isoformat())
    page.get_by_label("Heure de fin de la fermeture").fill("08:00")
    page.get_by_role("button", name="Enregistrer la fermeture").press("Enter")
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("La fin de la fermeture doit venir après son début.")
    expect(page.get_by_label("Date de fin de la fermeture")).to_have_attribute(
        "aria-invalid", "true"
    )
    accessible(page, axe)
    summary.get_by_role("link").first.press("Enter")
    expect(page.get_by_label("Date de fin de la fermeture")).to_be_focused()

    page.get_by_label("Heure de début de la fermeture").fill("08:00")
    page.get_by_label("Heure de fin de la fermeture").fill("20:00")
    page.get_by_label("Motif (dit aux usagers)").fill("Élections")
    page.get_by_role("button", name="Enregistrer la fermeture").press("Enter")
    expect(page.get_by_role("status").first).to_contain_text("La fermeture a été enregistrée")
    expect(tab_link(page, "Fermetures")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("row", name="Élections")).to_be_visible()
    accessible(page, axe)

    after = offered(api, thursday)
    assert "10:00" in after  # the new station adds a place where every other was taken
    assert "11:30" in after
    assert "12:00" not in after
    assert "13:00" not in after
    assert after[-1] == "20:00"
    assert offered(api, friday) == []
    context.close()


def token(server: Server, email: str) -> dict[str, str]:
    answer = httpx.post(
        f"{server.base}/api/v1/auth/token", json={"email": email, "password": DEMO_PASSWORD}
    )
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


@pytest.fixture(scope="module")
def furnished(server: Server) -> Server:
    """The module's server with something in every list of the administration: a request
    sent on to a department (a ticket forced at any hour, called, seen, escalated), a
    station out of service, a day with its own hours and a closure."""
    base, manager = server.base, token(server, MANAGER)
    desk, facilitator = token(server, RECEPTION), token(server, FACILITATOR)
    api = f"{base}/api/v1/admin/sites/paris-15"
    stations = httpx.get(f"{base}/api/v1/sites/paris-15").json()["stations"]
    issued = httpx.post(
        f"{base}/api/v1/sites/paris-15/tickets",
        headers=desk,
        json={"service": "caf", "force_reason": "Essai de l'administration"},
    )
    issued.raise_for_status()
    ticket = issued.json()["id"]
    station = stations[0]["id"]
    for step, body in (
        (f"/api/v1/stations/{station}/call-next", None),
        (f"/api/v1/tickets/{ticket}/start", None),
        (
            f"/api/v1/tickets/{ticket}/finish",
            {
                "outcome": "escalated",
                "department": "caf",
                "services": ["caf"],
                "note": "Dossier d'aide au logement transmis, avec une note assez longue.",
            },
        ),
    ):
        httpx.post(f"{base}{step}", headers=facilitator, json=body).raise_for_status()
    later = datetime.now(PARIS).replace(hour=8, minute=0, second=0, microsecond=0)
    start, end = later + timedelta(days=20), later + timedelta(days=20, hours=12)
    period = {"starts_at": start.isoformat(), "ends_at": end.isoformat()}
    for path, body in (
        ("/outages", {**period, "station_id": stations[-1]["id"], "reason": "Écran cassé"}),
        ("/closures", {**period, "reason": "Élections"}),
    ):
        httpx.post(f"{api}{path}", headers=manager, json=body).raise_for_status()
    day = (later + timedelta(days=21)).date().isoformat()
    httpx.put(
        f"{api}/hours-exceptions/{day}", headers=manager, json={"ranges": [], "reason": "Fête"}
    ).raise_for_status()
    return server


def fits(page: Page) -> str:
    """What is wrong with the page as shown: wider than the window, or an error."""
    overflow = page.evaluate(OVERFLOW)
    return f"{page.url}: {overflow} px wider than the window" if overflow > 0 else ""


@pytest.mark.parametrize("size", SIZES)
def test_every_administration_page_fits_the_window_and_axe_finds_nothing_serious(
    browser: Browser, furnished: Server, axe: Axe, size: str
) -> None:
    width, height = SIZES[size]
    context = browser.new_context(
        base_url=furnished.base, locale="fr-FR", viewport={"width": width, "height": height}
    )
    page = context.new_page()
    log_in(page, ADMIN)
    problems: list[str] = []

    def check(path: str | None = None) -> None:
        if path is not None:
            response = page.goto(path)
            assert response is not None, path
            assert response.ok, f"{path}: {response.status}"
        problems.append(fits(page))
        violations = axe(page)
        problems.append(f"{page.url}\n{describe(violations)}" if violations else "")

    for path in ADMIN_PAGES:
        check(path)
    page.goto("/admin/agents")
    with page.expect_navigation():
        page.locator("main a[href^='/admin/agents/']").first.click()
    check()
    page.goto("/admin/donnees-personnelles")
    page.get_by_label("Numéro de téléphone").fill("06 12 34 56 78")
    with page.expect_navigation():
        page.get_by_role("button", name="Rechercher").click()
    check()
    page.goto(f"{SITE_PAGE}?onglet=ecrans")
    page.get_by_label("Nom de l'écran").fill(f"Salle d'attente, {size}")
    page.get_by_role("button", name="Associer l'écran").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Écran associé")
    check()
    context.close()

    assert [problem for problem in problems if problem] == []


def test_the_tab_bar_wraps_inside_itself_on_a_small_phone(
    browser: Browser, furnished: Server
) -> None:
    context = browser.new_context(
        base_url=furnished.base, locale="fr-FR", viewport={"width": 320, "height": 640}
    )
    page = context.new_page()
    log_in(page, MANAGER)
    page.goto(SITE_PAGE)

    bar = page.locator("nav.tabs")
    right = bar.evaluate(
        "(nav) => Math.max(...[...nav.querySelectorAll('a')]"
        ".map((a) => a.getBoundingClientRect().right))"
    )
    heights = [
        box["height"]
        for box in (link.bounding_box() for link in bar.get_by_role("link").all())
        if box
    ]

    assert page.evaluate(OVERFLOW) <= 0
    assert right <= 320
    assert min(heights) >= 44
    context.close()
