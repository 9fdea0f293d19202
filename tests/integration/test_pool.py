"""More concurrent writes than the pool has connections, against a real server: each
request gives back the connection it read with before it waits for the lock and the
connection it writes with, so they queue up and all succeed, instead of each holding one
and waiting for a second until the pool gives up (503). And a request refused before its
handler runs gives its connection back all the same."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text

from app import locking
from app.db import Database
from app.demo import DEMO_PASSWORD
from tests.conftest import Staff
from tests.integration.test_staff_pages import console
from tests.servers import running

CONCURRENT = 40
pytestmark = pytest.mark.slow


async def walk_ins_at_once(base_url: str) -> list[int]:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        login = await client.post(
            "/api/v1/auth/token",
            json={"email": "accueil.paris15@guichet.example.org", "password": DEMO_PASSWORD},
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        responses = await asyncio.gather(
            *(
                client.post(  # the server runs on the real clock: the mairie may be closed
                    "/api/v1/sites/paris-15/tickets",
                    json={"service": "caf", "force_reason": "Tests run at any hour"},
                    headers=headers,
                )
                for _ in range(CONCURRENT)
            )
        )
    return [response.status_code for response in responses]


def test_forty_walk_ins_at_once_through_a_pool_of_two_all_get_their_ticket(
    tmp_path: Path,
) -> None:
    environment = {"GUICHET_DATABASE_POOL_SIZE": "2", "GUICHET_DATABASE_TIMEOUT_SECONDS": "5"}
    with running(tmp_path, environment, demo=True) as (server,):
        statuses = asyncio.run(walk_ins_at_once(server.base))

    assert statuses == [201] * CONCURRENT


@pytest.mark.parametrize("seconds", [0.25, 60.0])
async def test_a_transaction_waits_for_a_lock_as_long_as_for_a_connection(
    database_url: str, seconds: float
) -> None:
    """`GUICHET_DATABASE_TIMEOUT_SECONDS` bounds both waits: a loaded instance given a
    minute for a connection is not refused after five seconds in the queue for a lock."""
    database = Database(database_url, timeout=seconds)
    try:
        async with database.writing() as session:
            await locking.lock(session, [locking.lock_key(locking.Scope.QUEUE, 1)])
            shown = (
                None
                if database.is_sqlite  # one writer at a time: no lock, so no lock timeout
                else await session.scalar(text("SELECT current_setting('lock_timeout')"))
            )
    finally:
        await database.dispose()

    assert shown == (None if database.is_sqlite else {0.25: "250ms", 60.0: "1min"}[seconds])


async def test_a_form_refused_before_its_handler_runs_gives_its_connection_back(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    """A staff form posted without its CSRF token is refused (403) by the dependency that
    reads the staff session, after the request's session took a connection to read it:
    the session is closed all the same, each time, not left for the garbage collector."""
    await console(client, staff, "reception", "/accueil/paris-15")
    pool = client.app.state.db.engine.pool
    after_each = []
    for _ in range(5):
        refused = await client.post("/accueil/paris-15/tickets", data={"service": "caf"})
        after_each.append((refused.status_code, pool.checkedout()))

    assert after_each == [(403, 0)] * 5
