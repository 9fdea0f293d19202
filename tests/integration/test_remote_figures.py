"""The figures of the queue from a phone, on both databases with the clock injected: per
mairie and period, the tickets taken from a phone, their holders who arrived, those who
did not arrive in time and those who left before arriving, in the stats API, its CSV and
on the figures page; a holder who never came is neither a walk-in nor closed at closing."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

from litestar.testing import AsyncTestClient

from app.config import Settings
from app.db import Database
from app.queue import arrival_codes, remote
from app.sites.service import get_site
from tests.conftest import Clock, Staff
from tests.integration.test_queue_api import Desk
from tests.integration.test_staff_pages import log_in

CLIENT = AsyncTestClient[object]
# 2026-12-01 is a Tuesday; the 15e opens 8 h 30 – 17 h 00 on weekdays.
MORNING = "2026-12-01 09:00"
DAY = "from=2026-12-01&to=2026-12-01"


async def join(client: CLIENT, phone: str) -> str:
    body = {"service": "caf", "phone": phone, "travel_minutes": 20}
    joined = await client.post("/api/v1/sites/paris-15/remote-tickets", json=body)
    assert joined.status_code == 201, joined.text
    token: str = joined.json()["token"]
    return token


async def a_morning_of_remote_tickets(
    client: CLIENT, staff: Staff, clock: Clock, db: Database, settings: Settings
) -> None:
    """Four tickets taken from phones at paris-15 and a walk-in: one holder arrives, one
    leaves the queue from the ticket's page, one never confirms their number (closed,
    not arrived), and one taken later is still on its way."""
    start = clock.set(MORNING)
    async with db.session() as session:
        site = await get_site(session, "paris-15")
    arrives = await join(client, "06 12 34 56 01")
    leaves = await join(client, "06 12 34 56 02")
    await join(client, "06 12 34 56 03")
    code = arrival_codes.arrival_code(settings.secret_key, site.id, clock())[0]
    arrived = await client.post(f"/api/v1/tickets/{arrives}/arrive", json={"code": code})
    left = await client.post(f"/api/v1/tickets/{leaves}/leave")
    assert (arrived.status_code, left.status_code) == (200, 200), (arrived.text, left.text)
    assert await remote.close_unanswered(db, start + remote.UNCONFIRMED_FOR) == 1
    clock.now = start + timedelta(minutes=25)
    await join(client, "06 12 34 56 04")
    await (await Desk(client, staff).open()).walk_in()


async def test_the_stats_count_remote_joins_arrivals_no_arrivals_and_those_who_left(
    client: CLIENT, staff: Staff, clock: Clock, db: Database, settings: Settings
) -> None:
    await a_morning_of_remote_tickets(client, staff, clock, db, settings)
    manager = await staff.headers("manager", "paris-15")

    stats = (await client.get(f"/api/v1/stats?site=paris-15&{DAY}", headers=manager)).json()
    paris = await client.get(f"/api/v1/stats?{DAY}", headers=await staff.headers("admin"))

    expected = {"joined": 4, "arrived": 1, "not_arrived": 1, "left": 1}
    assert stats["total"]["remote"] == expected
    assert [period["remote"] for period in stats["periods"]] == [expected]
    assert paris.json()["total"]["remote"] == expected
    assert stats["total"]["tickets"] == 5
    # The walk-in and the holder who arrived came without an appointment; the others never
    # came, and the one closed unanswered was not closed at closing time.
    assert stats["total"]["walk_ins"] == 2
    assert stats["total"]["closed"] == 0


async def test_the_csv_gives_the_same_remote_figures(
    client: CLIENT, staff: Staff, clock: Clock, db: Database, settings: Settings
) -> None:
    await a_morning_of_remote_tickets(client, staff, clock, db, settings)
    manager = await staff.headers("manager", "paris-15")

    response = await client.get(f"/api/v1/stats.csv?site=paris-15&{DAY}", headers=manager)
    rows: list[dict[str, Any]] = list(csv.DictReader(io.StringIO(response.text)))

    total = rows[-1]
    assert total["period"] == "total"
    assert [total[f"remote_{name}"] for name in ("joined", "arrived", "not_arrived", "left")] == [
        "4",
        "1",
        "1",
        "1",
    ]


async def test_the_figures_page_shows_the_remote_queue_in_its_own_block(
    client: CLIENT, staff: Staff, clock: Clock, db: Database, settings: Settings
) -> None:
    await a_morning_of_remote_tickets(client, staff, clock, db, settings)
    await log_in(client, await staff.agent("manager", "paris-15"))

    page = await client.get("/statistiques/paris-15?du=2026-12-01&au=2026-12-01")

    assert page.status_code == 200
    block = page.text.split('id="file-a-distance"', 1)[1].split("</section>", 1)[0]
    assert ">File à distance</h2>" in block
    assert "<dt>Tickets pris à distance</dt><dd>4</dd>" in block
    assert "<dt>Personnes arrivées à la mairie</dt><dd>1</dd>" in block
    assert "<dt>Personnes non arrivées à temps</dt><dd>1</dd>" in block
    assert "<dt>Personnes sorties de la file avant d&#39;arriver</dt><dd>1</dd>" in block
