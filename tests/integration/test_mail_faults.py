"""One message cannot spoil the others: whatever goes wrong with one address, one number or
one message's data fails that message alone, once, and every other message of its batch
arrives exactly once, however many leases run out afterwards. Real SMTP relays on loopback
(with and without SMTPUTF8), a real SMS gateway, the clock in the test's hands."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select

from app.db import Database
from app.notify.dispatcher import LEASE, Dispatcher
from app.notify.models import OutboxMessage
from app.notify.transports import Email, PermanentError, TransientError
from app.notify.transports.smtp import SmtpTransport
from app.scheduler import Scheduler, transports
from app.sites.models import Site
from tests.conftest import Staff, make_settings
from tests.mail import REFUSED_ADDRESS, SmtpServer, smtp_server
from tests.post import PUBLIC_URL, Post
from tests.servers import free_port

ACCENTED = "josé@exämple.org"
ACCENTED_DOMAIN = "jose@exämple.org"
ACCENTED_DOMAIN_IN_IDNA = "jose@xn--exmple-cua.org"
FOLLOW_UP = {
    "token": "t" * 30,
    "site": "Mairie du 15e arrondissement",
    "address": "31 rue Péclet, 75015 Paris",
    "service": "Démarches CAF en ligne",
    "number": "A001",
}


async def write_to_the_outbox(db: Database, now: datetime, messages: list[dict[str, Any]]) -> None:
    """Messages due now, as the outbox writer leaves them (follow-ups, which need no
    appointment: what they say is all in their data)."""
    async with db.writing() as session:
        site = await session.scalar(select(Site.id).where(Site.slug == "paris-15"))
        await session.execute(
            insert(OutboxMessage),
            [
                {
                    "idempotency_key": f"fault:{number}",
                    "site_id": site,
                    "kind": "follow_up",
                    "channel": "email",
                    "data": FOLLOW_UP,
                    "send_after": now,
                    "status": "pending",
                    "attempts": 0,
                    "last_error": "",
                    "claimed_by": "",
                    "created_at": now,
                    **message,
                }
                for number, message in enumerate(messages)
            ],
        )


async def dispatch_rounds(post: Post, database_url: str, leases: int) -> None:
    """One round of the dispatcher as the app schedules it, then one more after each of
    `leases` leases has run out."""
    rounds = Scheduler(
        post.dispatcher.db,
        make_settings(database_url),
        post.clock,
        post.dispatcher,
        "test",
    )
    await rounds.dispatch()
    for _ in range(leases):
        assert post.clock.now is not None
        post.clock.now += LEASE + timedelta(seconds=1)
        await rounds.dispatch()


async def outbox(db: Database, kind: str | None = None) -> dict[str, OutboxMessage]:
    """The messages of the outbox (of one `kind`), by recipient."""
    query = select(OutboxMessage)
    if kind is not None:
        query = query.where(OutboxMessage.kind == kind)
    async with db.session() as session:
        return {m.recipient: m for m in await session.scalars(query)}


async def test_one_undeliverable_address_among_fifty_fails_alone_and_nothing_is_sent_twice(
    post: Post, db: Database, database_url: str
) -> None:
    staff = Staff(db, post.client)
    manager = await staff.headers("manager", "paris-15")
    people = [f"person{number}@example.org" for number in range(49)]
    addresses = [*people[:25], ACCENTED, *people[25:]]
    assert post.clock.now is not None
    await write_to_the_outbox(db, post.clock.now, [{"recipient": a} for a in addresses])

    await dispatch_rounds(post, database_url, leases=3)
    messages = await outbox(db)
    failed = await post.client.get("/api/v1/admin/outbox?status=failed", headers=manager)

    received = Counter(post.smtp.mailbox.recipients)
    assert received == Counter(people)
    assert sorted(str(m["To"]) for m in post.smtp.mailbox.messages) == sorted(people)
    assert {(messages[p].status, messages[p].attempts) for p in people} == {("sent", 1)}
    bad = messages[ACCENTED]
    assert (bad.status, bad.attempts) == ("failed", 1)
    assert 0 < len(bad.last_error) <= 100
    assert "jos" not in bad.last_error
    assert "xämple" not in bad.last_error
    assert failed.status_code == 200
    (listed,) = failed.json()
    assert (listed["id"], listed["last_error"]) == (bad.id, bad.last_error)


async def test_an_unexpected_error_in_one_text_fails_that_text_alone(
    post: Post, db: Database, database_url: str
) -> None:
    numbers = ["+33612345601", "+33612345602", "+33612345603"]
    assert post.clock.now is not None
    async with db.writing() as session:
        site = await session.scalar(select(Site.id).where(Site.slug == "paris-15"))
        await session.execute(
            insert(OutboxMessage),
            [
                {
                    "idempotency_key": f"turn:{number}",
                    "site_id": site,
                    "kind": "turn_near",
                    "channel": "sms",
                    "recipient": number,
                    # The second text's data lacks what its template says (say, written
                    # by an older version): rendering it raises.
                    "data": {} if number == numbers[1] else FOLLOW_UP,
                    "send_after": post.clock.now,
                    "status": "pending",
                    "attempts": 0,
                    "last_error": "",
                    "claimed_by": "",
                    "created_at": post.clock.now,
                }
                for number in numbers
            ],
        )

    await dispatch_rounds(post, database_url, leases=3)
    messages = await outbox(db)

    assert sorted(sms["to"] for sms in post.sms.received) == [numbers[0], numbers[2]]
    assert [messages[n].status for n in numbers] == ["sent", "failed", "sent"]
    assert messages[numbers[1]].attempts == 1
    assert "+336" not in messages[numbers[1]].last_error


async def test_a_message_that_never_gets_a_result_is_given_up_not_claimed_forever(
    post: Post, db: Database
) -> None:
    assert post.clock.now is not None
    await write_to_the_outbox(db, post.clock.now, [{"recipient": "ada@example.org"}])
    for _ in range(post.dispatcher.attempts):
        # Claimed, then the instance dies before any result is written (say, sending
        # this very message brings it down).
        assert len(await post.dispatcher.claim()) == 1
        post.clock.now = post.clock.now + LEASE + timedelta(seconds=1)

    await post.send_due()
    message = (await outbox(db))["ada@example.org"]

    assert post.smtp.mailbox.recipients == []
    assert (message.status, message.attempts) == ("failed", post.dispatcher.attempts)
    assert message.last_error == f"gave up: no result after {post.dispatcher.attempts} attempts"


@pytest.fixture
def utf8_relay() -> Any:
    with smtp_server(free_port(), smtputf8=True) as server:
        yield server


@pytest.fixture
async def to_utf8_relay(
    database_url: str, db: Database, post: Post, utf8_relay: SmtpServer
) -> AsyncIterator[Dispatcher]:
    """A dispatcher whose mail goes to a relay that offers SMTPUTF8."""
    settings = make_settings(
        database_url, smtp_host="127.0.0.1", smtp_port=utf8_relay.port, smtp_security="none"
    )
    email, sms = transports(settings)
    yield Dispatcher(
        db, post.clock, base_url=PUBLIC_URL, email=email, sms=sms, instance="utf8-relay"
    )
    await email.close()
    await sms.close()


async def test_a_relay_with_smtputf8_receives_an_accented_address_as_written(
    post: Post, utf8_relay: SmtpServer, to_utf8_relay: Dispatcher
) -> None:
    await post.book("2026-12-03T10:00:00+01:00", email=ACCENTED)

    await to_utf8_relay.run_once()

    assert utf8_relay.mailbox.recipients == [ACCENTED]
    (mail,) = utf8_relay.mailbox.messages
    assert mail["To"] == ACCENTED
    assert (
        mail["Subject"]
        == "Votre rendez-vous du jeudi 3 décembre 2026 à 10\u00a0h\u00a000 est confirmé"
    )


async def test_a_relay_without_smtputf8_receives_an_accented_domain_in_idna(post: Post) -> None:
    await post.book("2026-12-03T10:00:00+01:00", email=ACCENTED_DOMAIN)

    await post.send_due()

    assert post.smtp.mailbox.recipients == [ACCENTED_DOMAIN_IN_IDNA]
    (mail,) = post.smtp.mailbox.messages
    assert mail["To"] == ACCENTED_DOMAIN_IN_IDNA
    assert (
        mail["Subject"]
        == "Votre rendez-vous du jeudi 3 décembre 2026 à 10\u00a0h\u00a000 est confirmé"
    )


async def test_an_accented_name_to_a_relay_without_smtputf8_fails_for_good_at_once(
    post: Post, db: Database
) -> None:
    await post.book("2026-12-03T10:00:00+01:00", email=ACCENTED)
    await post.book("2026-12-03T11:00:00+01:00", email="ada@example.org")

    await post.send_due()
    post.clock.set("2026-11-30 10:00")
    await post.send_due()
    messages = await outbox(db, "confirmation")

    assert post.smtp.mailbox.recipients == ["ada@example.org"]
    assert (messages[ACCENTED].status, messages[ACCENTED].attempts) == ("failed", 1)
    assert messages["ada@example.org"].status == "sent"


async def test_a_connection_that_failed_in_the_middle_of_a_message_is_not_used_again(
    smtp: SmtpServer,
) -> None:
    relay = SmtpTransport(
        host="127.0.0.1",
        port=smtp.port,
        sender="Mairie <mairie@example.org>",
        security="none",
        connections=1,
    )

    def email(to: str, number: int) -> Email:
        return Email(to, "Objet", "Texte", "<p>Texte</p>", f"<{number}@guichet>")

    try:
        await relay.send(email("ada@example.org", 1))
        with pytest.raises(PermanentError):
            await relay.send(email(REFUSED_ADDRESS, 2))  # refused after MAIL FROM and RCPT
        await relay.send(email("grace@example.org", 3))
    finally:
        await relay.close()

    assert smtp.mailbox.recipients == ["ada@example.org", "grace@example.org"]
    first, after = smtp.mailbox.connections
    assert first != after


@asynccontextmanager
async def relay_saying(greeting: str = "220 relay ready", **replies: str) -> AsyncIterator[int]:
    """A relay on loopback that answers each command as `replies` says (`MAIL`, `RCPT`,
    `AUTH`, `END` for the end of the data), and 250 otherwise: its port."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async def say(reply: str) -> None:
            writer.write(f"{reply}\r\n".encode())
            await writer.drain()

        await say(greeting)
        while greeting.startswith("220") and (line := await reader.readline()):
            verb = line.split(b" ", 1)[0].split(b":", 1)[0].strip().upper().decode()
            if verb == "EHLO":
                await say("250-relay\r\n250 AUTH PLAIN LOGIN")
            elif verb == "DATA":
                await say("354 end with a dot")
                while (await reader.readline()) not in (b".\r\n", b""):
                    pass
                await say(replies.get("END", "250 queued"))
            elif verb == "QUIT":
                await say("221 bye")
                break
            else:
                await say(replies.get(verb, "235 welcome" if verb == "AUTH" else "250 OK"))
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize(
    ("greeting", "replies", "login", "outcome"),
    [
        ("554 5.3.2 No service at the moment", {}, False, TransientError),
        ("220 relay ready", {"MAIL": "530 5.7.0 Authentication required"}, False, TransientError),
        ("220 relay ready", {"MAIL": "553 5.7.1 Sender not allowed"}, False, TransientError),
        ("220 relay ready", {"AUTH": "535 5.7.8 Authentication failed"}, True, TransientError),
        ("220 relay ready", {"RCPT": "451 4.3.0 Try again later"}, False, TransientError),
        ("220 relay ready", {"RCPT": "550 5.1.1 No such user"}, False, PermanentError),
        ("220 relay ready", {"END": "451 4.3.0 Try again later"}, False, TransientError),
        ("220 relay ready", {"END": "554 5.7.1 Refused as spam"}, False, PermanentError),
        ("220 relay ready", {"END": "552 5.3.4 Message too big"}, False, PermanentError),
    ],
    ids=[
        "greeting",
        "mail-530",
        "mail-553",
        "auth-535",
        "rcpt-451",
        "rcpt-550",
        "data-451",
        "data-554",
        "data-552",
    ],
)
async def test_only_a_refusal_of_the_message_or_its_recipient_gives_it_up_for_good(
    greeting: str, replies: dict[str, str], login: bool, outcome: type[Exception]
) -> None:
    """A relay that refuses service, a login or the sender speaks of itself or of our
    settings: every message would be given up until someone retried each, so they are
    tried again later. Only the recipient or the message refused (5xx) is for good."""
    async with relay_saying(greeting, **replies) as port:
        relay = SmtpTransport(
            host="127.0.0.1",
            port=port,
            sender="Mairie <mairie@example.org>",
            username="guichet" if login else "",
            password="secret" if login else "",
            security="none",
            connections=1,
        )
        try:
            with pytest.raises(outcome):
                await relay.send(
                    Email("ada@example.org", "Objet", "Texte", "<p>Texte</p>", "<1@g>")
                )
        finally:
            await relay.close()
