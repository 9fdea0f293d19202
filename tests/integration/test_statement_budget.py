"""How many SQL statements each request of the Monday mix makes, on both databases: the
CPU of a request goes mostly to its statements (bench/requests.py), so a change that adds
one to a hot route shows here first. Raise a budget only knowingly."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import event
from sqlalchemy.engine import Engine

from tests.conftest import Clock, Staff

# The most each request may make: SQLite counts its BEGINs, PostgreSQL its advisory locks.
BUDGETS = {
    "sqlite": {
        "search": 4,
        "book": 16,
        "walk-in": 15,
        "call": 12,
        "idle call": 3,
        "start": 9,
        "finish": 12,
        "screen": 7,
    },
    "postgresql": {
        "search": 3,
        "book": 14,
        "walk-in": 12,
        "call": 10,
        "idle call": 2,
        "start": 7,
        "finish": 10,
        "screen": 6,
    },
}


class Counted:
    def __init__(self) -> None:
        self.statements = 0

    def __call__(self, *_args: Any) -> None:
        self.statements += 1


@pytest.fixture
def counted() -> Iterator[Counted]:
    counter = Counted()
    event.listen(Engine, "before_cursor_execute", counter)
    yield counter
    event.remove(Engine, "before_cursor_execute", counter)


async def test_the_monday_routes_keep_to_their_statement_budgets(
    client: AsyncTestClient[object], staff: Staff, clock: Clock, counted: Counted, backend: str
) -> None:
    clock.set("2026-12-01 10:00")
    reception = await staff.headers("reception", "paris-15")
    desk = await staff.headers("facilitator", "paris-15")
    site = (await client.get("/api/v1/sites/paris-15")).json()
    station = site["stations"][0]["id"]
    window = {"service": "caf", "from": "2026-12-02", "to": "2026-12-15"}
    slots = (await client.get("/api/v1/sites/paris-15/availability", params=window)).json()
    for _waiting in range(2):  # people in line before the measured ones
        await client.post(
            "/api/v1/sites/paris-15/tickets", json={"service": "caf"}, headers=reception
        )
    made: dict[str, int] = {}

    async def measure(route: str, call: Any, status: int) -> Any:
        before = counted.statements
        response = await call
        assert response.status_code == status, response.text
        made[route] = counted.statements - before
        return response.json() if response.content else None

    await measure("search", client.get("/api/v1/sites/paris-15/availability", params=window), 200)
    booking = {
        "site": "paris-15",
        "service": "caf",
        "start": slots["slots"][5]["start"],
        "name": "Rosalie Vernet",
        "email": "rosalie@example.org",
    }
    await measure("book", client.post("/api/v1/appointments", json=booking), 201)
    await measure(
        "walk-in",
        client.post("/api/v1/sites/paris-15/tickets", json={"service": "caf"}, headers=reception),
        201,
    )
    called = await measure(
        "call", client.post(f"/api/v1/stations/{station}/call-next", headers=desk), 200
    )
    ticket = called["id"]
    await measure("start", client.post(f"/api/v1/tickets/{ticket}/start", headers=desk), 200)
    await measure("finish", client.post(f"/api/v1/tickets/{ticket}/finish", headers=desk), 200)
    await measure("screen", client.get("/api/v1/sites/paris-15/display"), 200)
    # Most calls of a Monday: a station asking while nobody waits at its mairie.
    idle = await staff.headers("facilitator", "paris-14")
    idle_site = (await client.get("/api/v1/sites/paris-14")).json()
    idle_station = idle_site["stations"][0]["id"]
    await measure(
        "idle call", client.post(f"/api/v1/stations/{idle_station}/call-next", headers=idle), 204
    )

    budgets = BUDGETS[backend]
    over = {route: (made[route], most) for route, most in budgets.items() if made[route] > most}
    assert not over, f"statements made, budget: {over} (all made: {made})"
