"""Calling is atomic: two stations calling at once never get the same ticket."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from litestar import Litestar
from sqlalchemy import func, select

from app.asgi import create_app
from app.db import Database
from app.queue.commands import issue_walk_in
from app.queue.models import Ticket, TicketEvent
from tests.commands import in_session
from tests.conftest import Clock, Staff, desks, make_settings

QUEUE = 150
CALLS_PER_STATION = 100
# Calls in flight at once per station: together within what the pool (20 + 20) serves
# without a request waiting past its timeout, each call holding the site's lock in turn.
AT_ONCE = 10


@pytest.fixture
def busy_app(database_url: str, clock: Clock) -> Litestar:
    clock.set("2026-12-01 09:00")
    # Judged on what the calls decide, not on how fast: a busy shared machine must not
    # turn a long wait for a connection into a 503 (overload: tests/hostile).
    settings = make_settings(database_url, database_pool_size=20, database_timeout_seconds=60)
    return create_app(settings, clock=clock)


async def test_two_stations_calling_a_hundred_times_at_once_call_each_ticket_once(
    busy_app: Litestar, db: Database, staff: Staff, clock: Clock
) -> None:
    async with desks(busy_app) as (busy_client,):
        for _ in range(QUEUE):
            await in_session(
                db, issue_walk_in, "paris-15", service_code="caf", agent_id=None, now=clock()
            )
        stations = [
            s["id"] for s in (await busy_client.get("/api/v1/sites/paris-15")).json()["stations"]
        ][:2]
        headers = await staff.headers("facilitator", "paris-15")

        responses = []
        for _ in range(CALLS_PER_STATION // AT_ONCE):
            responses += await asyncio.gather(
                *(
                    busy_client.post(f"/api/v1/stations/{station}/call-next", headers=headers)
                    for _ in range(AT_ONCE)
                    for station in stations
                )
            )

        statuses = Counter(response.status_code for response in responses)
        assert statuses == {200: QUEUE, 204: 2 * CALLS_PER_STATION - QUEUE}
        called = [response.json()["id"] for response in responses if response.status_code == 200]
        assert len(set(called)) == QUEUE
        async with db.session() as session:
            by_status = dict(
                (
                    await session.execute(
                        select(Ticket.status, func.count()).group_by(Ticket.status)
                    )
                ).all()
            )
            calls = await session.scalar(
                select(func.count()).select_from(TicketEvent).where(TicketEvent.action == "called")
            )
            seqs = list(await session.scalars(select(TicketEvent.seq).order_by(TicketEvent.seq)))
        assert by_status == {"called": QUEUE}
        assert calls == QUEUE
        assert seqs == list(range(1, 2 * QUEUE + 1))
