"""All of Paris side by side, on both databases: a morning at the 15e and at the 20e played
through the API, and the administrator's figures page shows one row per mairie with the
numbers computed by hand — the same as each mairie's own figures — sorted by the link of
a column's head, without script."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests.conftest import STAFF_PASSWORD, Clock, Staff

CLIENT = AsyncTestClient[object]
RANGE = "du=2026-12-01&au=2026-12-01&par=jour"
COLUMNS = [
    "Tickets",
    "Rendez-vous",
    "Sans rendez-vous",
    "Personnes reçues",
    "Rendez-vous manqués",
    "Attente médiane",
    "Appelées dans les temps",
    "Satisfaction (sur 5)",
]


class Morning:
    """Tuesday 1 December 2026 at two mairies, the clock in the test's hands."""

    def __init__(self, client: CLIENT, staff: Staff, clock: Clock) -> None:
        self.client, self.staff, self.clock = client, staff, clock
        self.headers: dict[tuple[str, str], dict[str, str]] = {}

    async def as_(self, role: str, site: str) -> dict[str, str]:
        if (role, site) not in self.headers:
            self.headers[role, site] = await self.staff.headers(role, site)
        return self.headers[role, site]

    async def at(self, local: str) -> None:
        self.clock.set(f"2026-12-01 {local}")

    async def walk_in(self, site: str) -> Any:
        response = await self.client.post(
            f"/api/v1/sites/{site}/tickets",
            json={"service": "caf"},
            headers=await self.as_("reception", site),
        )
        assert response.status_code == 201, response.text
        return response.json()

    async def call(self, site: str) -> Any:
        station = (await self.client.get(f"/api/v1/sites/{site}")).json()["stations"][0]["id"]
        response = await self.client.post(
            f"/api/v1/stations/{station}/call-next", headers=await self.as_("facilitator", site)
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def move(self, site: str, ticket: Any, action: str, **visit: Any) -> None:
        response = await self.client.post(
            f"/api/v1/tickets/{ticket['id']}/{action}",
            headers=await self.as_("facilitator", site),
            json=visit or None,
        )
        assert response.status_code == 200, response.text

    async def answer(self, ticket: Any, score: int) -> None:
        response = await self.client.post(
            f"/ticket/{ticket['token']}/avis", data={"note": str(score)}, follow_redirects=False
        )
        assert response.status_code == 303, response.text


@pytest.fixture
async def morning(client: CLIENT, staff: Staff, clock: Clock) -> Morning:
    """The 15e: an appointment and two walk-ins, waits of 5, 10 and 20 minutes (median 10,
    two of three within the 15 minutes aimed at), one absent, one answer of 4. The 20e: one
    walk-in who waited 30 minutes, one answer of 2. The other mairies: nobody."""
    played = Morning(client, staff, clock)
    clock.set("2026-11-30 08:00")
    booked = await client.post(
        "/api/v1/appointments",
        json={
            "site": "paris-15",
            "service": "caf",
            "start": "2026-12-01T10:00:00+01:00",
            "name": "Usager",
            "email": "usager@example.org",
        },
    )
    assert booked.status_code == 201, booked.text

    await played.at("09:00")
    w1 = await played.walk_in("paris-15")
    w20 = await played.walk_in("paris-20")
    await played.at("09:05")
    w2 = await played.walk_in("paris-15")
    await played.at("09:10")
    assert (await played.call("paris-15"))["id"] == w1["id"]  # waited 10 min
    await played.move("paris-15", w1, "start")
    await played.at("09:20")
    await played.move("paris-15", w1, "finish", outcome="solved")
    await played.at("09:25")
    assert (await played.call("paris-15"))["id"] == w2["id"]  # waited 20 min
    await played.move("paris-15", w2, "no-show")
    await played.at("09:30")
    assert (await played.call("paris-20"))["id"] == w20["id"]  # waited 30 min
    await played.move("paris-20", w20, "start")
    await played.at("09:40")
    await played.move("paris-20", w20, "finish", outcome="solved")
    await played.at("09:55")
    checked = await client.post(
        "/api/v1/sites/paris-15/check-ins",
        json={"reference": booked.json()["reference"]},
        headers=await played.as_("reception", "paris-15"),
    )
    assert checked.status_code == 201, checked.text
    await played.at("10:05")
    t1 = await played.call("paris-15")  # waited 5 min, from the booked 10:00
    assert t1["id"] == checked.json()["id"]
    await played.move("paris-15", t1, "start")
    await played.at("10:30")
    await played.move("paris-15", t1, "finish", outcome="solved")
    await played.answer(w1, 4)
    await played.answer(w20, 2)
    clock.set("2026-12-02 09:00")
    return played


def table_rows(page: str) -> dict[str, list[str]]:
    """The comparison's rows: each mairie's name and its cells, as read."""
    table = page.split('class="stacked comparison"', 1)[1].split("</table>", 1)[0]
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", table, flags=re.S):
        cells = [
            " ".join(html.unescape(re.sub(r"<[^>]+>", " ", cell)).split())
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, flags=re.S)
        ]
        if cells and not cells[0].startswith("Mairie ("):  # the head
            rows[cells[0]] = cells[1:]
    return rows


async def page_as_admin(morning: Morning, query: str = "") -> str:
    email = await morning.staff.agent("admin")
    logged = await morning.client.post(
        "/connexion", data={"email": email, "password": STAFF_PASSWORD}, follow_redirects=False
    )
    assert logged.status_code == 303
    response = await morning.client.get(f"/statistiques?{RANGE}{query}")
    assert response.status_code == 200, response.text
    return response.text


async def test_one_row_per_mairie_with_the_numbers_computed_by_hand(morning: Morning) -> None:
    page = await page_as_admin(morning)
    rows = table_rows(page)

    assert len(rows) == 17 + 1  # every mairie, and all of Paris
    assert rows["Mairie du 15e arrondissement"] == [
        "3",
        "1",
        "2",
        "2",
        "0 %",
        "10 min",
        "67 %",
        "4",
    ]
    assert rows["Mairie du 20e arrondissement"] == ["1", "0", "1", "1", "–", "30 min", "0 %", "2"]
    assert rows["Tout Paris"] == ["4", "1", "3", "3", "0 %", "15 min", "50 %", "3"]
    quiet = [
        cells
        for name, cells in rows.items()
        if name
        not in ("Mairie du 15e arrondissement", "Mairie du 20e arrondissement", "Tout Paris")
    ]
    assert len(quiet) == 15
    assert all(cells == ["0", "0", "0", "0", "–", "–", "–", "–"] for cells in quiet)
    # One day is said as one day, in the caption and at the top of the page.
    assert "<caption>Chiffres de chaque mairie, le mardi 1er décembre 2026</caption>" in page
    assert '<p class="lead">Le mardi 1er décembre 2026.</p>' in page
    for title in COLUMNS:
        assert f'>{title}<span class="visually-hidden">' in page
    assert f'href="/statistiques/paris-15?{RANGE.replace("&", "&amp;")}"' in page


async def test_each_mairie_s_row_holds_its_own_figures(morning: Morning) -> None:
    """The comparison and each mairie's own figures (the API) agree."""
    page = await page_as_admin(morning)
    rows = table_rows(page)
    admin = await morning.as_("admin", "paris-15")

    for slug, name in (
        ("paris-15", "Mairie du 15e arrondissement"),
        ("paris-20", "Mairie du 20e arrondissement"),
    ):
        stats = (
            await morning.client.get(
                f"/api/v1/stats?site={slug}&from=2026-12-01&to=2026-12-01", headers=admin
            )
        ).json()["total"]
        cells = rows[name]
        assert int(cells[0]) == stats["tickets"]
        assert int(cells[1]) == stats["appointments"]["total"]
        assert int(cells[2]) == stats["walk_ins"]
        assert int(cells[3]) == stats["served"]
        assert cells[5] == f"{stats['waiting_minutes']['median']:g} min".replace(".", ",")
        assert cells[6] == f"{round(stats['service_level']['rate'] * 100)} %"


async def test_a_column_s_head_sorts_the_mairies_by_a_link(morning: Morning) -> None:
    page = await page_as_admin(morning, "&tri=attente&ordre=decroissant")
    names = list(table_rows(page))

    assert names[:2] == ["Mairie du 20e arrondissement", "Mairie du 15e arrondissement"]
    assert names[-1] == "Tout Paris"  # the total stays last; mairies with no wait before it
    assert 'aria-sort="descending"' in page
    assert page.count("aria-sort=") == 1
    # Sorted the other way by the same head, and back to the arrondissements' order.
    assert "tri=attente&amp;ordre=croissant#comparaison" in page
    ascending = await morning.client.get(f"/statistiques?{RANGE}&tri=attente&ordre=croissant")
    unknown = await morning.client.get(f"/statistiques?{RANGE}&tri=nimporte")
    assert list(table_rows(ascending.text))[:2] == [
        "Mairie du 15e arrondissement",
        "Mairie du 20e arrondissement",
    ]
    assert next(iter(table_rows(unknown.text))) == "Mairie de Paris Centre"


async def test_a_mairie_s_own_page_has_no_comparison(morning: Morning) -> None:
    await page_as_admin(morning)

    page = await morning.client.get(f"/statistiques/paris-15?{RANGE}")

    assert page.status_code == 200
    assert "Les mairies côte à côte" not in page.text
