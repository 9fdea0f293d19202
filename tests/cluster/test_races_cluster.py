"""Races across two instances: a slot is booked once per station, and two stations
calling at once, each through its own instance, never get the same ticket."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from app.db import Database, utcnow
from app.queue.commands import issue_walk_in
from app.queue.models import Ticket, TicketEvent
from tests.cluster.conftest import (
    SITE,
    booking,
    clients,
    environment,
    free_slots,
    new_manager,
    station_ids,
    whole_bookings,
)
from tests.commands import in_session
from tests.integration.test_free_time import differences
from tests.integration.test_live import Desk
from tests.servers import Server, running

pytestmark = [pytest.mark.slow, pytest.mark.postgresql]
RACERS = 120
QUEUE = 60


@pytest.fixture
def cluster(database_url: str, tmp_path: Path) -> Iterator[list[Server]]:
    """Two instances on the test's database whose requests wait for a connection as long as
    a race needs: sixty requests per instance each hold one while they queue for the day's
    lock, and on a loaded machine the default five seconds ran out (503), which is about
    capacity, not about who gets the slot."""
    with running(
        tmp_path, environment(database_url, GUICHET_DATABASE_TIMEOUT_SECONDS="60"), count=2
    ) as servers:
        yield servers


async def test_people_racing_for_one_slot_on_two_instances_get_it_once_per_station(
    cluster: list[Server], db: Database
) -> None:
    async with clients(cluster) as instances:
        stations = await station_ids(instances[0])
        slots = await free_slots(instances[0])
        slot = slots[len(slots) // 2]

        responses = await asyncio.gather(
            *(
                instances[number % 2].post("/api/v1/appointments", json=booking(number, slot))
                for number in range(RACERS)
            )
        )

    statuses = Counter(response.status_code for response in responses)
    assert statuses == {201: len(stations), 409: RACERS - len(stations)}
    winners = [response.json() for response in responses if response.status_code == 201]
    assert sorted(winner["station"]["id"] for winner in winners) == sorted(stations)
    refusals = {response.json()["reason"] for response in responses if response.status_code == 409}
    assert refusals == {"taken"}
    assert sorted(await whole_bookings(db)) == sorted(winner["reference"] for winner in winners)
    assert await differences(db) == [], "the summary of free time agrees with the bookings"


async def test_two_stations_calling_through_two_instances_never_call_a_ticket_twice(
    cluster: list[Server], db: Database
) -> None:
    for _ in range(QUEUE):
        await in_session(
            db,
            issue_walk_in,  # the servers run on the real clock: the mairie may be closed
            SITE,
            service_code="caf",
            agent_id=None,
            now=utcnow(),
            force_reason="Tests run at any hour",
        )
    manager = await new_manager(db)
    desks = [await Desk(server.base).open(manager) for server in cluster]

    async def call_until_nobody_waits(desk: Desk, station: int) -> list[httpx.Response]:
        """An agent at a station, calling the next person as soon as the last is called."""
        answers = []
        for _ in range(QUEUE + 1):
            answers.append(
                await desk.http.post(f"/api/v1/stations/{station}/call-next", headers=desk.headers)
            )
            if answers[-1].status_code != 200:
                break
        return answers

    try:
        stations = desks[0].stations[:2]
        calls = await asyncio.gather(
            *(
                call_until_nobody_waits(desk, station)
                for desk, station in zip(desks, stations, strict=True)
            )
        )
    finally:
        for desk in desks:
            await desk.close()

    responses = [response for answers in calls for response in answers]
    statuses = Counter(response.status_code for response in responses)
    assert statuses == {200: QUEUE, 204: 2}
    assert all(answers[:-1] for answers in calls), "each station called someone"
    called = [response.json()["id"] for response in responses if response.status_code == 200]
    assert len(set(called)) == QUEUE
    async with db.session() as session:
        by_status = dict(
            (
                await session.execute(select(Ticket.status, func.count()).group_by(Ticket.status))
            ).all()
        )
        calls = await session.scalar(
            select(func.count()).select_from(TicketEvent).where(TicketEvent.action == "called")
        )
    assert by_status == {"called": QUEUE}
    assert calls == QUEUE
