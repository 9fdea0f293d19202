"""The outbox's lease and retries, with the clock in the test's hands: a claimed message
is another worker's only once its lease has run out, a message that keeps failing is
tried again after its backoff and given up after exactly the configured attempts, and
nothing reaches the relay or the gateway twice."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import insert, select

from app.db import Database
from app.notify.dispatcher import Dispatcher
from app.notify.models import OutboxMessage
from app.notify.transports import EmailTransport, SmsTransport
from app.scheduler import transports
from app.sites.models import Site
from tests.conftest import Clock, make_settings
from tests.mail import SmsGateway, SmtpServer
from tests.post import PUBLIC_URL

LEASE = timedelta(seconds=90)
ATTEMPTS = 4
NUMBER = "+33612345678"
TICKET = {
    "token": "t" * 30,
    "site": "Mairie du 15e arrondissement",
    "address": "31 rue Péclet, 75015 Paris",
    "service": "Démarches CAF en ligne",
    "number": "A001",
}


class MiddleJitter(random.Random):
    """Retries spread by exactly 1, so each backoff is its base delay."""

    def uniform(self, a: float, b: float) -> float:
        assert (a, b) == (0.5, 1.5)
        return 1.0


@pytest.fixture
async def wires(
    database_url: str, smtp: SmtpServer, gateway: SmsGateway
) -> AsyncIterator[tuple[EmailTransport, SmsTransport]]:
    """The real relay and gateway on loopback, shared by the workers of a test."""
    settings = make_settings(
        database_url,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_security="none",
        sms_url=gateway.url,
        sms_key="test-key",
    )
    email, sms = transports(settings)
    yield email, sms
    await email.close()
    await sms.close()


@pytest.fixture
def worker(
    db: Database, clock: Clock, wires: tuple[EmailTransport, SmsTransport]
) -> Callable[[str], Dispatcher]:
    """Makes dispatchers named as instances, with this test's lease and attempts."""
    email, sms = wires

    def make(instance: str) -> Dispatcher:
        dispatcher = Dispatcher(
            db,
            clock,
            base_url=PUBLIC_URL,
            email=email,
            sms=sms,
            instance=instance,
            attempts=ATTEMPTS,
            lease=LEASE,
        )
        dispatcher.random = MiddleJitter()
        return dispatcher

    return make


async def a_text_due(db: Database, now: datetime, number: str = NUMBER) -> int:
    """A turn-near text due `now`, as the outbox writer leaves it; its id."""
    async with db.writing() as session:
        site = await session.scalar(select(Site.id).where(Site.slug == "paris-15"))
        return int(
            await session.scalar(
                insert(OutboxMessage)
                .values(
                    idempotency_key=f"lease:{number}",
                    site_id=site,
                    kind="turn_near",
                    channel="sms",
                    recipient=number,
                    data=TICKET,
                    send_after=now,
                    status="pending",
                    attempts=0,
                    last_error="",
                    claimed_by="",
                    created_at=now,
                )
                .returning(OutboxMessage.id)
            )
        )


async def message(db: Database, message_id: int) -> OutboxMessage:
    async with db.session() as session:
        return await session.get_one(OutboxMessage, message_id)


@pytest.mark.parametrize(
    ("after_the_lease_ends", "taken_again"),
    [
        (-timedelta(seconds=1), False),
        (timedelta(0), False),
        (timedelta(microseconds=1), True),
    ],
    ids=["a-second-before", "at-the-instant", "a-microsecond-after"],
)
async def test_a_claimed_message_goes_to_another_worker_only_once_its_lease_is_over(
    db: Database,
    clock: Clock,
    worker: Callable[[str], Dispatcher],
    after_the_lease_ends: timedelta,
    taken_again: bool,
) -> None:
    start = clock.set("2026-11-30 08:00")
    message_id = await a_text_due(db, start)
    first, second = worker("first"), worker("second")

    (claimed,) = await first.claim()
    held = await message(db, message_id)
    clock.now = start + LEASE + after_the_lease_ends
    taken = await second.claim()
    after = await message(db, message_id)

    assert claimed.id == message_id
    assert (held.status, held.claimed_by, held.claimed_until) == ("sending", "first", start + LEASE)
    assert [m.id for m in taken] == ([message_id] if taken_again else [])
    if taken_again:
        assert (after.claimed_by, after.claimed_until, after.attempts) == (
            "second",
            clock.now + LEASE,
            2,
        )
    else:
        assert (after.claimed_by, after.claimed_until, after.attempts) == (
            "first",
            start + LEASE,
            1,
        )


async def test_a_message_claimed_by_a_worker_that_died_is_sent_once_by_the_next(
    db: Database, clock: Clock, gateway: SmsGateway, worker: Callable[[str], Dispatcher]
) -> None:
    start = clock.set("2026-11-30 08:00")
    message_id = await a_text_due(db, start)
    dead, alive = worker("dead"), worker("alive")

    assert len(await dead.claim()) == 1  # and the instance dies before sending it
    assert await alive.run_once() == 0
    clock.now = start + LEASE + timedelta(seconds=1)
    assert await alive.run_once() == 1
    for later in (LEASE, timedelta(days=1)):
        clock.now += later + timedelta(seconds=1)
        assert await alive.run_once() == 0
        assert await dead.run_once() == 0
    sent = await message(db, message_id)

    assert [sms["to"] for sms in gateway.received] == [NUMBER]
    assert (sent.status, sent.attempts, sent.claimed_by, sent.claimed_until) == (
        "sent",
        2,
        "alive",
        None,
    )
    assert sent.sent_at == start + LEASE + timedelta(seconds=1)


async def test_two_workers_claiming_at_the_same_instant_share_the_messages_without_overlap(
    db: Database, clock: Clock, worker: Callable[[str], Dispatcher]
) -> None:
    start = clock.set("2026-11-30 08:00")
    ids = {await a_text_due(db, start, f"+336123456{n:02d}") for n in range(20)}
    first, second = worker("first"), worker("second")

    mine, yours = await asyncio.gather(first.claim(), second.claim())

    assert {m.id for m in mine} | {m.id for m in yours} == ids
    assert {m.id for m in mine} & {m.id for m in yours} == set()


async def test_a_text_the_gateway_keeps_refusing_for_now_backs_off_then_is_given_up_at_the_limit(
    db: Database, clock: Clock, gateway: SmsGateway, worker: Callable[[str], Dispatcher]
) -> None:
    start = clock.set("2026-11-30 08:00")
    message_id = await a_text_due(db, start)
    dispatcher = worker("only")
    gateway.down = True
    seen: list[tuple[str, int, str, timedelta | None]] = []

    for backoff in (timedelta(seconds=30), timedelta(seconds=60), timedelta(seconds=120)):
        tried_at = clock.now
        assert await dispatcher.run_once() == 1
        waiting = await message(db, message_id)
        seen.append((waiting.status, waiting.attempts, waiting.last_error, backoff))
        assert waiting.send_after == tried_at + backoff
        clock.now = waiting.send_after - timedelta(microseconds=1)
        assert await dispatcher.run_once() == 0, "not due a microsecond before its backoff"
        clock.now = waiting.send_after
    assert await dispatcher.run_once() == 1
    given_up = await message(db, message_id)
    clock.now += timedelta(days=1)
    gateway.down = False
    assert await dispatcher.run_once() == 0
    still = await message(db, message_id)

    assert seen == [
        ("pending", 1, "gateway answered 503", timedelta(seconds=30)),
        ("pending", 2, "gateway answered 503", timedelta(seconds=60)),
        ("pending", 3, "gateway answered 503", timedelta(seconds=120)),
    ]
    assert (given_up.status, given_up.attempts, given_up.last_error) == (
        "failed",
        ATTEMPTS,
        "gave up: gateway answered 503",
    )
    assert (still.status, still.attempts) == ("failed", ATTEMPTS)
    assert gateway.received == []


async def test_a_text_that_goes_through_at_its_last_attempt_is_sent_once_not_given_up(
    db: Database, clock: Clock, gateway: SmsGateway, worker: Callable[[str], Dispatcher]
) -> None:
    start = clock.set("2026-11-30 08:00")
    message_id = await a_text_due(db, start)
    dispatcher = worker("only")
    gateway.down = True

    for _ in range(ATTEMPTS - 1):
        assert await dispatcher.run_once() == 1
        clock.now = (await message(db, message_id)).send_after
    gateway.down = False
    assert await dispatcher.run_once() == 1
    clock.now += timedelta(days=1)
    assert await dispatcher.run_once() == 0
    sent = await message(db, message_id)

    assert (sent.status, sent.attempts, sent.last_error) == ("sent", ATTEMPTS, "")
    assert [sms["to"] for sms in gateway.received] == [NUMBER]


async def test_a_lease_that_runs_out_at_each_attempt_is_given_up_at_the_limit_not_before(
    db: Database, clock: Clock, gateway: SmsGateway, worker: Callable[[str], Dispatcher]
) -> None:
    start = clock.set("2026-11-30 08:00")
    message_id = await a_text_due(db, start)
    statuses = []

    for attempt in range(1, ATTEMPTS + 1):
        # Each worker claims it, then dies before any result is written.
        (claimed,) = await worker(f"worker{attempt}").claim()
        statuses.append((claimed.status, claimed.attempts))
        clock.now += LEASE + timedelta(microseconds=1)
    assert await worker("last").run_once() == 1
    given_up = await message(db, message_id)
    clock.now += timedelta(days=1)
    assert await worker("later").run_once() == 0

    assert statuses == [("sending", n) for n in range(1, ATTEMPTS + 1)]
    assert (given_up.status, given_up.attempts, given_up.claimed_until) == (
        "failed",
        ATTEMPTS,
        None,
    )
    assert given_up.last_error == f"gave up: no result after {ATTEMPTS} attempts"
    assert gateway.received == []
