"""The stats page in the browser, over a month of generated activity at the 17 mairies:
a manager chooses the month with the keyboard, sees the charts drawn, downloads the CSV
and finds in it the figures the API gives. axe-core checks the page."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from app import schema
from app.db import Database
from tests.e2e.axe import Axe, describe
from tests.e2e.test_consoles import log_in
from tests.history import fill
from tests.servers import Server, free_port

MANAGER = "responsable.paris15@guichet.example.org"
FIRST, LAST = date(2026, 10, 1), date(2026, 10, 31)
QUERY = "from=2026-10-01&to=2026-10-31&by=week&site=paris-15"


def a_month_of_activity(url: str) -> None:
    schema.upgrade(url)
    asyncio.run(_fill(url))


async def _fill(url: str) -> None:
    db = Database(url)
    try:
        await fill(db, FIRST, LAST, tickets_per_day=30, now=datetime.now(UTC))
    finally:
        await db.dispose()


@pytest.fixture
def busy_server(tmp_path: Path) -> Iterator[Server]:
    """A server whose database holds October 2026 at every mairie."""
    (tmp_path / "var").mkdir()
    url = f"sqlite+aiosqlite:///{tmp_path / 'var' / 'guichet.db'}"
    with ThreadPoolExecutor(1) as worker:  # away from the browser's own event loop
        worker.submit(a_month_of_activity, url).result()
    server = Server(tmp_path, free_port(), {"GUICHET_LOG_LEVEL": "WARNING"}, demo=True)
    server.start()
    try:
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
        "du jeudi 1er octobre 2026 au samedi 31 octobre 2026."
    )

    charts = page.locator("svg.chart")
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
