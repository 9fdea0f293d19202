"""Exports for French offices, on both databases: the figures' CSV stays as programs read
it by default, and on request opens cleanly in a spreadsheet set up in French
(semicolons, a UTF-8 byte order mark, French titles beside the codes, decimal commas).
And every text answer says its charset once."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests.conftest import Clock, Staff

QUERY = "site=paris-15&from=2026-12-01&to=2026-12-01&by=day"
BOM = "\ufeff".encode()


@pytest.fixture
async def manager(client: AsyncTestClient[object], staff: Staff, clock: Clock) -> dict[str, str]:
    """A manager of the 15e, after a day of three bookings, one of them cancelled."""
    clock.set("2026-11-30 09:00")
    tokens = []
    for hour in ("10", "11", "14"):
        response = await client.post(
            "/api/v1/appointments",
            json={
                "site": "paris-15",
                "service": "caf",
                "start": f"2026-12-01T{hour}:00:00+01:00",
                "name": "Adèle Lovelace",
                "email": f"u{hour}@example.org",
            },
        )
        assert response.status_code == 201, response.text
        tokens.append(response.json()["token"])
    cancelled = await client.post(f"/api/v1/appointments/{tokens[0]}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    clock.set("2026-12-02 09:00")
    return await staff.headers("manager", "paris-15")


def spreadsheet_rows(body: bytes) -> list[list[str]]:
    assert body.startswith(BOM)
    return list(csv.reader(io.StringIO(body[len(BOM) :].decode("utf-8")), delimiter=";"))


async def test_the_default_csv_stays_as_programs_read_it(
    client: AsyncTestClient[object], manager: dict[str, str]
) -> None:
    response = await client.get(f"/api/v1/stats.csv?{QUERY}", headers=manager)

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.content.startswith(b"period,from,to,appointments_online,")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["period"] for row in rows] == ["2026-12-01", "total"]
    assert rows[0]["cancellations"] == "1"
    assert float(rows[0]["cancellation_rate"]) == pytest.approx(1 / 3, abs=0.01)


@pytest.mark.parametrize(
    ("query", "headers"),
    [
        ("&format=excel", {}),
        ("", {"Accept": "application/vnd.ms-excel"}),
        ("", {"Accept": "text/csv;q=0.5, Application/VND.ms-Excel;q=0.001"}),
        ("", {"Accept": "application/vnd.ms-excel;q=inf"}),
        ("", {"Accept": "application/vnd.ms-excel;q=1e999, text/csv;q=nope"}),
    ],
    ids=["format-excel", "accept-excel", "accept-excel-barely", "accept-q-inf", "accept-q-huge"],
)
async def test_a_french_office_gets_semicolons_a_bom_and_french_titles_beside_the_codes(
    client: AsyncTestClient[object], manager: dict[str, str], query: str, headers: dict[str, Any]
) -> None:
    plain = await client.get(f"/api/v1/stats.csv?{QUERY}", headers=manager)
    response = await client.get(f"/api/v1/stats.csv?{QUERY}{query}", headers={**manager, **headers})

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert "guichet-paris-15-2026-12-01-2026-12-01.csv" in (response.headers["content-disposition"])
    titles, day, total = spreadsheet_rows(response.content)
    assert titles[:4] == ["Période (period)", "Du (from)", "Au (to)",
                          "Rendez-vous en ligne (appointments_online)"]  # fmt: skip
    assert "Issue : Démarche faite (outcome_solved)" in titles
    assert all(title.endswith(")") for title in titles)
    assert day[0] == "2026-12-01"
    assert total[0] == "Total"
    # The same figures as for programs, with a decimal comma.
    codes, *figures = list(csv.reader(io.StringIO(plain.text)))
    assert [title.rsplit(" (", 1)[-1][:-1] for title in titles] == codes
    assert day[1:] == [cell.replace(".", ",") for cell in figures[0][1:]]
    assert day[codes.index("cancellation_rate")].startswith("0,33")


@pytest.mark.parametrize(
    "accept",
    [
        "application/vnd.ms-excel;q=0",
        "text/csv, application/vnd.ms-excel; q=0.0",
        "application/vnd.ms-excel-custom",
        "*/*",
    ],
)
async def test_a_program_that_does_not_ask_for_the_spreadsheet_gets_the_csv_for_programs(
    client: AsyncTestClient[object], manager: dict[str, str], accept: str
) -> None:
    response = await client.get(f"/api/v1/stats.csv?{QUERY}", headers={**manager, "Accept": accept})

    assert response.status_code == 200
    assert response.content.startswith(b"period,from,to,appointments_online,")


async def test_an_unknown_format_is_refused_plainly(
    client: AsyncTestClient[object], manager: dict[str, str]
) -> None:
    response = await client.get(f"/api/v1/stats.csv?{QUERY}&format=xlsx", headers=manager)

    assert response.status_code == 400


@pytest.mark.parametrize("route", ["stats.csv", "activities.csv"])
async def test_a_csv_asked_without_a_token_is_told_so_before_its_format(
    client: AsyncTestClient[object], route: str
) -> None:
    response = await client.get(f"/api/v1/{route}?{QUERY}&format=xlsx")

    assert response.status_code == 401


# Queries that a manager of the 15e is refused (400) on every one of the figures' routes,
# and the CSV ones' own.
MALFORMED = ["site=paris-15&from=yesterday", "site=paris-15&to=2026-13-01", "site=" + "x" * 41]
MALFORMED_CSV = ["site=paris-15&format=xlsx", "site=paris-15&format="]


@pytest.mark.parametrize("role", ["reception", "facilitator"])
@pytest.mark.parametrize("route", ["stats.csv", "activities.csv", "stats", "activities"])
async def test_a_role_that_may_not_read_the_figures_is_refused_before_its_query_is_read(
    client: AsyncTestClient[object], staff: Staff, route: str, role: str
) -> None:
    """A caller is told nothing about a query it may not make, not even that it is
    malformed: an unknown format, a day that is none, a mairie's name too long."""
    headers = await staff.headers(role, "paris-15")
    manager = await staff.headers("manager", "paris-15")
    queries = MALFORMED + (MALFORMED_CSV if route.endswith(".csv") else [])

    plain = await client.get(f"/api/v1/{route}?{QUERY}", headers=headers)
    malformed = {
        query: await client.get(f"/api/v1/{route}?{query}", headers=headers) for query in queries
    }
    managers = {
        query: (await client.get(f"/api/v1/{route}?{query}", headers=manager)).status_code
        for query in queries
    }

    assert managers == dict.fromkeys(queries, 400)
    assert plain.status_code == 403
    assert {query: r.status_code for query, r in malformed.items()} == dict.fromkeys(queries, 403)
    assert all(r.json() == plain.json() for r in malformed.values())


async def test_the_metrics_say_their_charset_once(client: AsyncTestClient[object]) -> None:
    response = await client.get("/metrics")

    assert response.status_code == 200
    content_type = response.headers["content-type"]
    assert content_type.startswith("text/plain; version=")
    assert content_type.count("charset=") == 1
