"""Faults a deployment of two instances meets, each injected for real: a process killed
mid-load, PostgreSQL restarted mid-load, the mail server away, a lobby screen's network
path gone silent. Each test is bounded in requests and in time, and puts back what it
broke."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import signal
import socket
import statistics
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy import select

from app.db import Database
from app.notify.dispatcher import message_id
from app.notify.models import OutboxMessage
from tests.cluster.conftest import (
    SITE,
    booking,
    clients,
    environment,
    free_slots,
    new_manager,
    station_ids,
    until_called,
    whole_bookings,
)
from tests.cluster.faults import (
    BlackHoleProxy,
    RestartablePostgres,
    accepting_connections,
    restartable,
)
from tests.conftest import IN_CI
from tests.integration.test_free_time import differences
from tests.integration.test_live import Desk
from tests.mail import smtp_server
from tests.servers import Server, running

pytestmark = [pytest.mark.slow, pytest.mark.postgresql]

WORKERS_PER_INSTANCE = 3
PAUSE_SECONDS = 0.05
FAIL_FAST_SECONDS = 6.0
OUTAGE_SECONDS = 3.0
RECOVERED_WITHIN_SECONDS = 30.0
BOOKINGS = 12


@dataclass
class Answer:
    """One booking request as its sender saw it."""

    instance: int
    sent: float
    took: float
    status: int | None  # None: no answer at all (the instance is gone)
    reference: str | None = None
    retry_after: str | None = None
    problem: bool = False

    @property
    def done(self) -> float:
        return self.sent + self.took


@dataclass
class BookingLoad:
    """People booking through both instances until told to stop: each takes the next
    place in a list of slots, each slot offered once per station."""

    instances: list[httpx.AsyncClient]
    places: Iterator[str]
    answers: list[Answer] = field(default_factory=list)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    numbers: Iterator[int] = field(default_factory=itertools.count)

    @classmethod
    async def on(cls, instances: list[httpx.AsyncClient]) -> BookingLoad:
        stations = len(await station_ids(instances[0]))
        slots = await free_slots(instances[0])
        places = iter([slot for slot in slots for _ in range(stations)])
        return cls(instances, places)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[BookingLoad]:
        workers = [
            asyncio.create_task(self._book(instance))
            for instance in range(len(self.instances))
            for _ in range(WORKERS_PER_INSTANCE)
        ]
        try:
            yield self
        finally:
            self.stopping.set()
            await asyncio.gather(*workers)

    async def _book(self, instance: int) -> None:
        client = self.instances[instance]
        while not self.stopping.is_set():
            start = next(self.places, None)
            if start is None:
                return
            number, sent = next(self.numbers), time.monotonic()
            try:
                response = await client.post("/api/v1/appointments", json=booking(number, start))
            except httpx.TransportError:
                self.answers.append(Answer(instance, sent, time.monotonic() - sent, None))
            else:
                created = response.status_code == 201
                self.answers.append(
                    Answer(
                        instance,
                        sent,
                        time.monotonic() - sent,
                        response.status_code,
                        response.json()["reference"] if created else None,
                        response.headers.get("retry-after"),
                        response.headers.get("content-type", "").startswith(
                            "application/problem+json"
                        ),
                    )
                )
            await asyncio.sleep(PAUSE_SECONDS)

    def of(self, instance: int, since: float = 0.0, until: float = float("inf")) -> list[Answer]:
        return [a for a in self.answers if a.instance == instance and since <= a.sent < until]

    def accepted(self) -> set[str]:
        return {a.reference for a in self.answers if a.reference is not None}


async def eventually(condition: Callable[[], bool], within: float, every: float = 0.05) -> bool:
    """Wait until `condition()` holds, at most `within` seconds; say whether it held."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(every)
    return True


# a. A process killed mid-load


async def test_an_instance_killed_mid_load_loses_no_accepted_booking_and_the_other_serves_on(
    cluster: list[Server], db: Database
) -> None:
    doomed = cluster[0]
    async with clients(cluster) as instances:
        load = await BookingLoad.on(instances)
        async with load.running():
            await eventually(lambda: len(load.of(0)) >= 10 and len(load.of(1)) >= 10, within=20)
            doomed.stop(signal.SIGKILL)
            killed_at = time.monotonic()
            await eventually(lambda: len(load.of(1, since=killed_at)) >= 30, within=20)

    stored = await whole_bookings(db)
    after = load.of(1, since=killed_at)
    unanswered = [a for a in load.of(0) if a.status is None]
    print(
        f"\nkilled after {len(load.of(0, until=killed_at))} requests to it; "
        f"{len(after)} answered by the other since, {len(unanswered)} refused by the dead one; "
        f"{len(stored) - len(load.accepted())} bookings committed whose answer was lost"
    )
    assert doomed.process is not None
    assert doomed.process.returncode == -signal.SIGKILL
    assert len(after) >= 30
    assert Counter(a.status for a in load.of(1)).keys() <= {201, 409}
    assert sum(a.status == 201 for a in after) >= 10
    assert {a.status for a in load.of(0, since=killed_at)} <= {None}
    assert load.accepted() <= stored.keys(), "a booking answered 201 is not in the database"
    assert await differences(db) == [], "the summary of free time agrees with the bookings"


# b. PostgreSQL restarted mid-load


@pytest.fixture(scope="session")
def restartable_postgres(
    postgres_server: str, tmp_path_factory: pytest.TempPathFactory
) -> RestartablePostgres:
    """The PostgreSQL server behind the tests' URL, as this machine allows to stop and
    start it: pg_ctlcluster, else pg_ctl as the owner of the data directory
    (GUICHET_TEST_POSTGRES_RESTART=pg_ctlcluster or pg_ctl takes only that one). Where
    neither can, skipped with the reason, and under CI a failure."""
    log = tmp_path_factory.mktemp("postgres") / "server.log"
    server = restartable(postgres_server, log, os.environ.get("GUICHET_TEST_POSTGRES_RESTART", ""))
    if isinstance(server, str):
        if IN_CI:
            pytest.fail(f"{server}: CI requires the PostgreSQL restart test", pytrace=False)
        pytest.skip(server)
    return server


async def readiness(instances: list[httpx.AsyncClient]) -> list[int]:
    return [(await client.get("/health/ready")).status_code for client in instances]


@pytest.mark.alone
async def test_a_postgresql_restart_mid_load_is_refused_quickly_then_recovered_alone(
    restartable_postgres: RestartablePostgres,
    postgres_server: str,
    cluster: list[Server],
    db: Database,
    record_property: Callable[[str, object], None],
) -> None:
    postgres = restartable_postgres
    desk = await Desk(cluster[0].base).open(await new_manager(db))
    try:
        async with (
            clients(cluster) as instances,
            websockets.connect(f"{cluster[1].ws}/ws/sites/{SITE}/display") as screen,
        ):
            await screen.recv()
            load = await BookingLoad.on(instances)
            async with load.running():
                await eventually(lambda: len(load.answers) >= 20, within=20)
                stopping = time.monotonic()
                await asyncio.to_thread(postgres.stop)
                ready_while_down = await readiness(instances)
                await asyncio.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - stopping)))
                await asyncio.to_thread(postgres.start)
                back = time.monotonic()
                await eventually(
                    lambda: all(
                        any(a.status in (201, 409) for a in load.of(n, since=back)) for n in (0, 1)
                    ),
                    within=RECOVERED_WITHIN_SECONDS,
                )
                await asyncio.sleep(1)
            ready_after = await readiness(instances)
            # The screen stayed connected through the outage; calls reach it again.
            ticket = await desk.walk_in()
            await desk.call()
            shown = await until_called(screen, ticket["number"], within=RECOVERED_WITHIN_SECONDS)
    finally:
        await desk.close()
        await postgres.ensure_running(postgres_server)

    await accepting_connections(postgres_server)
    stored = await whole_bookings(db)
    during = [a for a in load.answers if stopping <= a.sent < back]
    refused = [a for a in during if a.status == 503]
    recovery = [
        min((a.done for a in load.of(n, since=back) if a.status in (201, 409)), default=None)
        for n in (0, 1)
    ]
    lost = load.accepted() - stored.keys()
    recovered_in = max((done - back for done in recovery if done is not None), default=None)
    figures = {
        "restarted_with": postgres.way,
        "requests_refused_during_outage": len(refused),
        "recovery_seconds": None if recovered_in is None else round(recovered_in, 2),
        "bookings_lost": len(lost),
        "outage_seconds": round(back - stopping, 2),
        "slowest_refusal_seconds": round(max((a.took for a in refused), default=0.0), 3),
        "median_refusal_seconds": round(statistics.median(a.took for a in refused), 3)
        if refused
        else None,
    }
    print(f"\nPostgreSQL restart: {json.dumps(figures)}")
    for name, value in figures.items():
        record_property(name, value)

    assert ready_while_down == [503, 503]
    assert ready_after == [200, 200]
    assert shown["called"][0]["number"] == ticket["number"]
    assert {a.status for a in load.answers} <= {201, 409, 503}, "only refusals that say why"
    assert all(a.retry_after and a.problem for a in load.answers if a.status == 503)
    assert {a.instance for a in refused} == {0, 1}, "both instances refused during the outage"
    assert max(a.took for a in refused) < FAIL_FAST_SECONDS
    assert None not in recovery, "an instance did not recover by itself"
    assert not lost, f"{len(lost)} bookings answered 201 are not in the database"
    assert await differences(db) == [], "the summary of free time agrees with the bookings"


# c. The mail server away


async def test_messages_wait_while_the_mail_server_is_away_then_go_once_each(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    # The mail server's port stays taken, and refuses connections, until it starts.
    reserved = socket.socket()
    reserved.bind(("127.0.0.1", 0))
    port = int(reserved.getsockname()[1])
    settings = environment(
        database_url,
        GUICHET_SMTP_HOST="127.0.0.1",
        GUICHET_SMTP_PORT=str(port),
        GUICHET_SMTP_SECURITY="none",
        GUICHET_DISPATCH_EVERY_SECONDS="0.5",
        GUICHET_MESSAGE_LEASE_SECONDS="5",
    )
    try:
        with running(tmp_path, settings, count=2) as servers:
            async with clients(servers) as instances:
                slots = await free_slots(instances[0])
                for number, slot in enumerate(slots[:BOOKINGS]):
                    created = await instances[number % 2].post(
                        "/api/v1/appointments", json=booking(number, slot)
                    )
                    assert created.status_code == 201, created.text
            tried = await until_each(db, lambda m: m.attempts >= 1 and m.status == "pending", 20)
            await asyncio.sleep(2)
            waiting = await confirmations(db)
            reserved.close()
            with smtp_server(port) as smtp:
                back = time.monotonic()
                await asyncio.to_thread(smtp.mailbox.wait_for, len(waiting), 75)
                delivered_in = time.monotonic() - back
                await asyncio.to_thread(smtp.mailbox.wait_for, len(waiting) + 1, 3)
                received = Counter(str(message["Message-ID"]) for message in smtp.mailbox.messages)
    finally:
        reserved.close()
    sent = await confirmations(db)

    print(f"\nmail server back: {len(received)} messages delivered within {delivered_in:.1f} s")
    assert tried, "the instances did not try the messages while the mail server was away"
    assert len(waiting) == BOOKINGS
    assert all(m.status == "pending" and m.last_error for m in waiting)
    # Each confirmation once; other messages the bookings may bring by the real clock (a
    # reminder already due) once each too.
    confirmed = {message_id(m.idempotency_key) for m in waiting}
    assert {key: received[key] for key in confirmed} == dict.fromkeys(confirmed, 1)
    assert set(received.values()) == {1}
    assert {m.status for m in sent} == {"sent"}


async def confirmations(db: Database) -> list[OutboxMessage]:
    async with db.session() as session:
        return list(
            await session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.kind == "confirmation")
                .order_by(OutboxMessage.id)
            )
        )


async def until_each(
    db: Database, condition: Callable[[OutboxMessage], bool], within: float
) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        messages = await confirmations(db)
        if messages and all(condition(message) for message in messages):
            return True
        await asyncio.sleep(0.2)
    return False


# d. A lobby screen's network path gone silent


SCREEN_PING_SECONDS = 1.0
# uvicorn pings every 20 s and waits 20 s for the answer (app/cli.py).
SERVER_NOTICES_WITHIN_SECONDS = 50.0


async def read_until_closed(connection: Any, within: float) -> None:
    async with asyncio.timeout(within):
        async for _message in connection:
            pass


def screens_connected(server: Server) -> float:
    text = httpx.get(f"{server.base}/metrics", timeout=5).text
    found = re.search(rf'^guichet_screens_connected\{{site="{SITE}"\}} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


async def test_a_screen_behind_a_dead_network_path_comes_back_with_every_call(
    cluster: list[Server], db: Database
) -> None:
    desk_side, screen_side = cluster
    desk = await Desk(desk_side.base).open(await new_manager(db))
    key = await desk.pair_screen("Salle d'attente")

    def screen(port: int) -> Any:
        # What the lobby page does: it notices silence (its pings go unanswered) and
        # opens a new connection, whose first message is a snapshot.
        return websockets.connect(
            f"ws://127.0.0.1:{port}/ws/sites/{SITE}/display?ecran={key}",
            ping_interval=SCREEN_PING_SECONDS,
            ping_timeout=SCREEN_PING_SECONDS,
            close_timeout=1,
            open_timeout=10,
        )

    try:
        async with BlackHoleProxy(screen_side.port) as proxy:
            async with screen(proxy.port) as lost:
                first = json.loads(await lost.recv())
                before = await desk.walk_in()
                await desk.call()
                await until_called(lost, before["number"])

                proxy.drop_paths()
                dropped = time.monotonic()
                unseen = [await desk.walk_in() for _ in range(3)]
                for station in desk.stations[1:4]:
                    await desk.call(station)
                with pytest.raises(websockets.ConnectionClosedError):
                    await read_until_closed(lost, within=10 * SCREEN_PING_SECONDS)
                noticed = time.monotonic() - dropped

            async with screen(proxy.port) as again:
                snapshot = json.loads(await again.recv())
                current = (await desk.http.get(f"/api/v1/sites/{SITE}/display")).json()
                after = await desk.walk_in()
                await desk.call(desk.stations[0])
                live = await until_called(again, after["number"])

                await eventually(
                    lambda: screens_connected(screen_side) <= 1,
                    within=SERVER_NOTICES_WITHIN_SECONDS,
                    every=0.5,
                )
                dropped_by_server = time.monotonic() - dropped
                still_counted = screens_connected(screen_side)
    finally:
        await desk.close()

    print(
        f"\nscreen noticed the dead path after {noticed:.1f} s; "
        f"the server dropped it after {dropped_by_server:.1f} s"
    )
    assert first["type"] == "snapshot"
    assert snapshot["type"] == "snapshot"
    assert snapshot["seq"] == current["seq"] >= first["seq"] + 8
    called = {call["number"] for call in snapshot["called"]}
    assert {ticket["number"] for ticket in unseen} <= called
    assert live["seq"] > snapshot["seq"]
    assert still_counted == 1, "the server still counts the screen behind the dead path"
