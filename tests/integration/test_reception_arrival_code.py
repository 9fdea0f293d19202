"""The arrival code on reception's console stays the code of the moment: its line is a
region that refreshes itself from a fragment of its own, which reads the clock each time,
says in how many seconds its code turns (refresh.js reads the line again right then), and
which only the mairie's reception (and its manager) may read."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.config import Settings
from app.queue import arrival_codes
from app.sites.service import get_site
from tests.conftest import STAFF_PASSWORD, Clock, Staff
from tests.integration.test_desk_loose_ends import text_of

CLIENT = AsyncTestClient[Litestar]
RECEPTION = "/accueil/paris-15"
LINE = f"{RECEPTION}/code-arrivee"
# The page's regions that refresh themselves: where each reads, and what it holds.
REGION = re.compile(r'<div data-refresh="([^"]+)"[^>]*>(.*?)</div>', re.DOTALL)
TURNS_IN = re.compile(r'data-turns-in="(\d+)"')


async def log_in(client: CLIENT, staff: Staff, role: str, site: str) -> None:
    email = await staff.agent(role, site)
    login = await client.post(
        "/connexion", data={"email": email, "password": STAFF_PASSWORD}, follow_redirects=False
    )
    assert login.status_code == 303, login.text


async def shown_code(db: Any, settings: Settings, now: datetime) -> tuple[str, datetime]:
    """The line paris-15's reception reads out at `now`, and when its code turns."""
    async with db.session() as session:
        site = await get_site(session, "paris-15")
    code, until = arrival_codes.arrival_code(settings.secret_key, site.id, now)
    local = until.astimezone(ZoneInfo("Europe/Paris"))
    return f"Code d'arrivée : {code[:3]} {code[3:]} (jusqu'à {local.hour} h {local:%M})", until


def read(page: str) -> str:
    return text_of(html.unescape(page))


async def test_the_line_the_console_refreshes_carries_the_new_code_once_it_turns(
    client: CLIENT, staff: Staff, db: Any, clock: Clock, settings: Settings
) -> None:
    clock.set("2026-12-01 09:00")
    await log_in(client, staff, "reception", "paris-15")
    before, turns = await shown_code(db, settings, clock())
    console = (await client.get(RECEPTION)).text
    regions = {url: read(held) for url, held in REGION.findall(console)}
    line_before = await client.get(LINE)
    clock.now = turns
    after, _ = await shown_code(db, settings, clock())
    line_after = await client.get(LINE)
    console_after = read((await client.get(RECEPTION)).text)

    assert before != after
    assert before in regions[LINE]  # the line is the region that reads the fragment
    assert "Code d'arrivée" not in regions[f"{RECEPTION}/file"]
    assert line_before.status_code == 200
    assert before in read(line_before.text)
    assert line_after.status_code == 200
    assert after in read(line_after.text)
    assert before not in read(line_after.text)
    assert "<html" not in line_after.text  # a fragment, not a page
    assert after in console_after


async def test_the_line_says_in_how_many_seconds_its_code_turns(
    client: CLIENT, staff: Staff, db: Any, clock: Clock, settings: Settings
) -> None:
    """Read again every 15 seconds only, a console showed a code that had turned for up to
    15 seconds more (an outside test saw "jusqu'à 3 h 38" at 3:38:56, the code of the API
    already another): whoever was read it had under five minutes left to type it, not ten."""
    start = clock.set("2026-12-01 09:00")
    await log_in(client, staff, "reception", "paris-15")
    before, turns = await shown_code(db, settings, clock())
    console = (await client.get(RECEPTION)).text
    clock.now = turns - timedelta(seconds=1)
    line_last_second = await client.get(LINE)
    clock.now = turns
    after, _ = await shown_code(db, settings, clock())
    line_turned = await client.get(LINE)

    region = dict(REGION.findall(console))[LINE]
    assert TURNS_IN.findall(region) == [str(int((turns - start).total_seconds()))]
    assert TURNS_IN.findall(console) == TURNS_IN.findall(region)  # the line's alone
    assert before in read(line_last_second.text)
    assert TURNS_IN.findall(line_last_second.text) == ["1"]
    assert after in read(line_turned.text)
    assert TURNS_IN.findall(line_turned.text) == [
        str(int(arrival_codes.ARRIVAL_CODE_EVERY.total_seconds()))
    ]


async def test_while_the_mairie_is_closed_the_line_reads_as_the_page_shows_it(
    client: CLIENT, staff: Staff, db: Any, clock: Clock, settings: Settings
) -> None:
    clock.set("2026-12-01 22:00")
    await log_in(client, staff, "manager", "paris-15")
    shown, turns = await shown_code(db, settings, clock())
    console = (await client.get(RECEPTION)).text
    line = await client.get(LINE)
    clock.now = turns + timedelta(seconds=1)
    later, _ = await shown_code(db, settings, clock())
    line_later = await client.get(LINE)

    region = read(dict(REGION.findall(console))[LINE])
    assert shown in region
    assert line.status_code == 200
    assert read(line.text) == region
    assert later in read(line_later.text)


async def test_another_mairies_staff_cannot_read_the_line(client: CLIENT, staff: Staff) -> None:
    await log_in(client, staff, "reception", "paris-20")

    own = await client.get("/accueil/paris-20/code-arrivee")
    other = await client.get(LINE)

    assert own.status_code == 200
    assert "Code d'arrivée" in read(own.text)
    assert other.status_code == 403
    assert "Code d'arrivée" not in read(other.text)
    assert "Accès refusé" in other.text


async def test_a_facilitator_cannot_read_it_nor_anyone_not_signed_in(
    client: CLIENT, staff: Staff
) -> None:
    anonymous = await client.get(LINE, follow_redirects=False)
    await log_in(client, staff, "facilitator", "paris-15")
    facilitator = await client.get(LINE)

    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == f"/connexion?suite={LINE}"
    assert facilitator.status_code == 403
    assert "Code d'arrivée" not in read(facilitator.text)
