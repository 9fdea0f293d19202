"""The stats page and the journal in the browser, over two months of generated activity at
the 17 mairies: a manager chooses the month with the keyboard, sees the charts drawn,
downloads the CSV and finds in it the figures the API gives. Then the figures of one
mairie, of all of Paris and the journal, on a phone (390 px) and a screen (1366 px): no
horizontal scrolling, no serious axe-core violation, no chart label cut at the edge of
its drawing, the mairies side by side."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from app import schema
from app.db import Database
from app.demo import DEMO_PASSWORD
from tests.e2e.axe import Axe, describe
from tests.e2e.test_consoles import log_in
from tests.history import fill
from tests.servers import Server, free_port

MANAGER = "responsable.paris15@guichet.example.org"
ADMIN = "admin@guichet.example.org"
FIRST, LAST = date(2026, 10, 1), date(2026, 11, 30)
QUERY = "from=2026-10-01&to=2026-10-31&by=week&site=paris-15"
RANGE = "du=2026-10-01&au=2026-11-30&par=semaine"
SIZES = {"phone": (390, 844), "screen": (1366, 900)}
PAGES = {
    "figures-paris-15": (MANAGER, f"/statistiques/paris-15?{RANGE}"),
    "figures-paris": (ADMIN, f"/statistiques?{RANGE}"),
    "journal": (ADMIN, "/admin/journal"),
}
# Each text of each chart shown, and how far it lies outside its drawing (0: inside).
TEXTS_OUTSIDE = """() => [...document.querySelectorAll("svg.chart")]
  .filter((svg) => svg.getClientRects().length > 0)
  .flatMap((svg) => {
    const frame = svg.getBoundingClientRect();
    return [...svg.querySelectorAll("text")].map((text) => {
      const box = text.getBoundingClientRect();
      const outside = Math.max(
        frame.left - box.left, box.right - frame.right, frame.top - box.top,
        box.bottom - frame.bottom, 0);
      return { chart: svg.getAttribute("aria-labelledby"), text: text.textContent, outside };
    });
  })"""


def two_months_of_activity(url: str) -> None:
    schema.upgrade(url)
    asyncio.run(_fill(url))


async def _fill(url: str) -> None:
    db = Database(url)
    try:
        await fill(db, FIRST, LAST, tickets_per_day=30, now=datetime.now(UTC))
    finally:
        await db.dispose()


def some_changes(base: str) -> None:
    """A manager's changes to the 15e, for the journal to say."""
    with httpx.Client(base_url=f"{base}/api/v1", timeout=30) as client:
        token = client.post("/auth/token", json={"email": MANAGER, "password": DEMO_PASSWORD})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        done = [
            client.patch(
                "/admin/sites/paris-15",
                json={"walk_in_percent": 35, "reminder_hours": [48, 2]},
                headers=headers,
            ),
            client.put(
                "/admin/sites/paris-15/hours/tue",
                json={"ranges": [{"opens": "09:30", "closes": "12:30"}]},
                headers=headers,
            ),
            client.post(
                "/admin/sites/paris-15/closures",
                json={
                    "starts_at": "2027-03-02T08:00:00+01:00",
                    "ends_at": "2027-03-03T20:00:00+01:00",
                    "reason": "Travaux dans la salle des mariages et le hall d'accueil",
                },
                headers=headers,
            ),
        ]
    assert [response.status_code for response in done] == [200, 200, 201], done[-1].text


@pytest.fixture(scope="module")
def busy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose database holds October and November 2026 at every mairie, and a few
    changes of a manager in its journal."""
    folder = tmp_path_factory.mktemp("figures")
    (folder / "var").mkdir()
    url = f"sqlite+aiosqlite:///{folder / 'var' / 'guichet.db'}"
    with ThreadPoolExecutor(1) as worker:  # away from the browser's own event loop
        worker.submit(two_months_of_activity, url).result()
    server = Server(folder, free_port(), {"GUICHET_LOG_LEVEL": "WARNING"}, demo=True)
    server.start()
    try:
        some_changes(server.base)
        yield server
    finally:
        server.stop()


def test_a_manager_reads_a_month_of_figures_and_downloads_them(
    browser: Browser, busy_server: Server, axe: Axe
) -> None:
    page = browser.new_context(base_url=busy_server.base, locale="fr-FR").new_page()
    log_in(page, MANAGER)
    page.get_by_role("link", name="Statistiques – Mairie du 15e arrondissement").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Statistiques – Mairie du 15e arrondissement"
    )

    page.get_by_label("Du", exact=True).fill("2026-10-01")
    page.get_by_label("Au", exact=True).fill("2026-10-31")
    page.get_by_label("Par", exact=True).select_option("semaine")
    page.get_by_role("button", name="Afficher").press("Enter")
    expect(page.locator(".lead")).to_have_text(
        "Du jeudi 1er octobre 2026 au samedi 31 octobre 2026."
    )

    charts = page.locator("svg.chart:visible")
    expect(charts).to_have_count(5)
    for index in range(5):
        chart = charts.nth(index)
        expect(chart).to_be_visible()
        assert chart.locator("rect").count() > 0, f"chart {index} has no bar"
        box = chart.bounding_box()
        assert box is not None
        assert box["width"] > 200
    expect(page.get_by_role("img", name="Attente moyenne par heure", exact=True)).to_be_visible()
    violations = axe(page)
    assert not violations, describe(violations)

    api = page.request.get(f"/api/v1/stats?{QUERY}").json()
    with page.expect_download() as download:
        page.get_by_role(
            "link", name="Télécharger ces chiffres (CSV, un tableur les ouvre)"
        ).click()
    rows = list(csv.DictReader(io.StringIO(download.value.path().read_text(encoding="utf-8"))))

    assert [row["period"] for row in rows[:-1]] == [p["start"] for p in api["periods"]]
    assert api["total"]["tickets"] > 300
    for row, period in zip(rows, [*api["periods"], api["total"]], strict=True):
        assert int(row["tickets"]) == period["tickets"]
        assert int(row["walk_ins"]) == period["walk_ins"]
        assert int(row["appointments"]) == period["appointments"]["total"]
        assert float(row["wait_median_minutes"]) == period["waiting_minutes"]["median"]
        assert float(row["wait_p90_minutes"]) == period["waiting_minutes"]["p90"]
        assert float(row["service_level"]) == period["service_level"]["rate"]
        assert int(row["outcome_escalated"]) == period["outcomes"]["escalated"]
        assert float(row["satisfaction_mean"]) == period["satisfaction"]["mean"]


def open_as(browser: Browser, server: Server, email: str, path: str, size: str) -> Page:
    width, height = SIZES[size]
    context = browser.new_context(
        base_url=server.base, locale="fr-FR", viewport={"width": width, "height": height}
    )
    page = context.new_page()
    log_in(page, email)
    page.goto(path)
    return page


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", PAGES)
def test_figures_and_journal_fit_a_phone_and_a_screen(
    browser: Browser, busy_server: Server, axe: Axe, name: str, size: str
) -> None:
    email, path = PAGES[name]
    page = open_as(browser, busy_server, email, path, size)

    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    violations = axe(page)
    outside = [text for text in page.evaluate(TEXTS_OUTSIDE) if text["outside"] > 0.5]

    assert overflow <= 0, f"{name} at {size} scrolls sideways by {overflow} px"
    assert not violations, describe(violations)
    assert not outside, f"chart texts cut at the edge of their drawing: {outside}"
    if name != "journal":
        assert page.locator("svg.chart:visible").count() == 5
        # On a phone, every chart is drawn as bars, at the phone's own size.
        kind = ".chart-narrow" if size == "phone" else ".chart-wide"
        assert page.locator(f"{kind} svg.chart:visible").count() == 5
    page.context.close()


def test_all_of_paris_shows_the_mairies_side_by_side_sorted_by_a_link(
    browser: Browser, busy_server: Server
) -> None:
    page = open_as(browser, busy_server, ADMIN, f"/statistiques?{RANGE}", "screen")
    table = page.get_by_role("table", name="Chiffres de chaque mairie", exact=False)

    expect(table.locator("tbody tr")).to_have_count(17)
    expect(table.locator("tfoot th")).to_have_text("Tout Paris")
    table.get_by_role("link", name="Attente médiane (tri croissant)").click()
    expect(table.get_by_role("columnheader", name="Attente médiane")).to_have_attribute(
        "aria-sort", "ascending"
    )
    waits = [
        float(text.removesuffix(" min").replace(",", "."))
        for text in table.locator("tbody tr td:nth-of-type(6)").all_inner_texts()
    ]
    assert waits == sorted(waits)
    page.context.close()


def test_the_journal_says_the_changes_in_words(browser: Browser, busy_server: Server) -> None:
    page = open_as(browser, busy_server, ADMIN, "/admin/journal", "phone")
    journal = page.get_by_role("table", name="Actions, les plus récentes d'abord")

    expect(journal).to_contain_text("a modifié les horaires du mardi")
    expect(journal).to_contain_text("Rappels avant le rendez-vous : 48 heures avant")
    # Times in one piece: Playwright's text matching reads a no-break space as a space,
    # the table's own text keeps it.
    said = journal.inner_text()
    assert "Horaires : de 9\u00a0h\u00a030 à 12\u00a0h\u00a030" in said
    assert "a fermé la mairie du mardi 2 mars 2027 à 8\u00a0h\u00a000" in said
    expect(journal).to_contain_text("Mairie du 15e arrondissement")
    expect(journal).not_to_contain_text("hours.changed")
    expect(journal).not_to_contain_text("{")
    page.context.close()
