"""Messages end to end, on both databases, with a real SMTP server and a real HTTP SMS
gateway on loopback, and the clock in the test's hands."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from typing import Any

import icalendar
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from app.asgi import create_app
from app.db import Database
from app.notify.dispatcher import Dispatcher
from app.notify.models import OutboxMessage
from app.notify.scheduler import transports
from tests.conftest import Clock, make_settings
from tests.mail import (
    REFUSED_ADDRESS,
    REFUSED_NUMBER,
    SmsGateway,
    SmtpServer,
    sms_gateway,
    smtp_server,
)
from tests.servers import free_port

PUBLIC_URL = "https://rendez-vous.example.org"


@dataclass
class Post:
    """The app, its dispatcher, and where messages land."""

    client: AsyncTestClient[Litestar]
    dispatcher: Dispatcher
    smtp: SmtpServer
    sms: SmsGateway
    clock: Clock

    async def send_due(self) -> None:
        while await self.dispatcher.run_once():
            pass

    async def book(self, when: str, **fields: Any) -> Any:
        body = {
            "site": "paris-15",
            "service": "caf",
            "start": when,
            "name": "Ada Lovelace",
            **fields,
        }
        response = await self.client.post("/api/v1/appointments", json=body)
        assert response.status_code == 201, response.text
        return response.json()

    def mails(self, address: str = "ada@example.org") -> list[Message]:
        return self.smtp.mailbox.to(address)

    def subjects(self, address: str = "ada@example.org") -> list[str]:
        return [str(message["Subject"]) for message in self.mails(address)]


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server(free_port()) as server:
        yield server


@pytest.fixture
def gateway() -> Iterator[SmsGateway]:
    with sms_gateway(free_port()) as server:
        yield server


@pytest.fixture
async def post(
    database_url: str, clock: Clock, smtp: SmtpServer, gateway: SmsGateway, db: Database
) -> AsyncIterator[Post]:
    clock.set("2026-11-30 08:00")
    settings = make_settings(
        database_url,
        public_url=PUBLIC_URL,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_security="none",
        sms_url=gateway.url,
        sms_key="test-key",
    )
    email, sms = transports(settings)
    # The test's own dispatcher, on a database engine of the test's event loop (the app
    # runs in the test client's).
    dispatcher = Dispatcher(db, clock, base_url=PUBLIC_URL, email=email, sms=sms, instance="test")
    async with AsyncTestClient(app=create_app(settings, clock=clock)) as client:
        yield Post(client, dispatcher, smtp, gateway, clock)
    await email.close()
    await sms.close()


def calendar_of(message: Message) -> Any:
    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return icalendar.Calendar.from_ical(payload)
    raise AssertionError("no calendar attached")


def event_of(message: Message) -> Any:
    return next(part for part in calendar_of(message).walk() if part.name == "VEVENT")


async def test_a_booking_sends_a_confirmation_with_its_calendar_file(post: Post) -> None:
    booked = await post.book("2026-12-03T10:00:00+01:00", email="ada@example.org")

    await post.send_due()

    (mail,) = post.mails()
    assert mail["Subject"] == "Votre rendez-vous du jeudi 3 décembre 2026 à 10 h 00 est confirmé"
    assert mail["Message-ID"].startswith("<")
    assert mail["Message-ID"].endswith("@guichet>")
    assert mail.is_multipart()
    types = [part.get_content_type() for part in mail.walk()]
    assert "text/plain" in types
    assert "text/html" in types
    text = next(p for p in mail.walk() if p.get_content_type() == "text/plain").get_content()
    assert "Mairie du 15e arrondissement, 31 rue Péclet, 75015 Paris" in text
    assert "Votre numéro allocataire et votre code confidentiel" in text
    assert f"{PUBLIC_URL}/rendez-vous/{booked['token']}" in text
    event = event_of(mail)
    assert event.decoded("DTSTART") == datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    assert str(event["UID"]) == f"{booked['reference']}@guichet"


async def test_reminders_go_out_at_their_planned_times(post: Post) -> None:
    await post.book("2026-12-03T10:00:00+01:00", email="ada@example.org")
    await post.send_due()

    post.clock.set("2026-12-02 09:59")
    await post.send_due()
    before = post.subjects()
    post.clock.set("2026-12-02 10:00")
    await post.send_due()
    day_before = post.subjects()
    post.clock.set("2026-12-03 07:59")
    await post.send_due()
    post.clock.set("2026-12-03 08:00")
    await post.send_due()

    assert len(before) == 1
    assert day_before[-1] == "Rappel : votre rendez-vous demain à 10 h 00"
    assert post.subjects()[-1] == "Rappel : votre rendez-vous aujourd'hui à 10 h 00"
    assert len(post.subjects()) == 3


async def test_moving_the_appointment_replans_its_reminders(post: Post) -> None:
    booked = await post.book("2026-12-03T10:00:00+01:00", email="ada@example.org")
    await post.send_due()

    moved = await post.client.post(
        f"/api/v1/appointments/{booked['token']}/reschedule",
        json={"start": "2026-12-04T14:00:00+01:00"},
    )
    await post.send_due()
    post.clock.set("2026-12-02 10:00")
    await post.send_due()
    quiet_on_the_old_day = post.subjects()
    post.clock.set("2026-12-03 14:00")
    await post.send_due()

    assert moved.status_code == 200
    assert (
        quiet_on_the_old_day[-1]
        == "Votre rendez-vous est déplacé au vendredi 4 décembre 2026 à 14 h 00"
    )
    assert event_of(post.mails()[1]).decoded("DTSTART") == datetime(2026, 12, 4, 13, 0, tzinfo=UTC)
    assert int(event_of(post.mails()[1])["SEQUENCE"]) == 1
    assert len(quiet_on_the_old_day) == 2
    assert post.subjects()[-1] == "Rappel : votre rendez-vous demain à 14 h 00"


async def test_cancelling_stops_the_reminders_and_says_so(post: Post) -> None:
    booked = await post.book("2026-12-03T10:00:00+01:00", email="ada@example.org")
    await post.send_due()

    await post.client.post(f"/api/v1/appointments/{booked['token']}/cancel")
    await post.send_due()
    post.clock.set("2026-12-03 09:00")
    await post.send_due()

    assert post.subjects() == [
        "Votre rendez-vous du jeudi 3 décembre 2026 à 10 h 00 est confirmé",
        "Votre rendez-vous du jeudi 3 décembre 2026 à 10 h 00 est annulé",
    ]
    assert str(event_of(post.mails()[1])["STATUS"]) == "CANCELLED"


async def test_a_reminder_claimed_before_its_appointment_was_cancelled_is_not_sent(
    post: Post, db: Any
) -> None:
    booked = await post.book("2026-12-03T10:00:00+01:00", email="ada@example.org")
    await post.send_due()
    post.clock.set("2026-12-02 10:00")

    claimed = await post.dispatcher.claim()
    await post.client.post(f"/api/v1/appointments/{booked['token']}/cancel")
    await post.dispatcher.deliver(claimed)
    async with db.session() as session:
        statuses = {
            m.kind: m.status
            for m in await session.scalars(
                select(OutboxMessage).where(OutboxMessage.channel == "email")
            )
        }

    assert [m.kind for m in claimed] == ["reminder_24h"]
    assert "Rappel" not in " ".join(post.subjects())
    assert statuses["reminder_24h"] == "cancelled"


async def test_a_phone_only_booking_is_confirmed_and_reminded_by_text(post: Post) -> None:
    await post.book("2026-12-03T10:00:00+01:00", phone="06 12 34 56 78", reminders_by_sms=True)
    await post.send_due()
    post.clock.set("2026-12-02 10:00")
    await post.send_due()

    texts = [sms["text"] for sms in post.sms.received]
    assert all(sms["to"] == "+33612345678" for sms in post.sms.received)
    assert texts[0].startswith("RDV confirmé jeu. 3/12 10 h 00, Mairie du 15e arrondissement.")
    assert f"{PUBLIC_URL}/r/" in texts[0]
    assert texts[1].startswith("Rappel : RDV demain 10 h 00, Mairie du 15e arrondissement.")
    assert all(len(text) <= 160 for text in texts)


async def test_no_text_is_sent_at_night(post: Post) -> None:
    post.clock.set("2026-12-01 21:00")
    await post.book("2026-12-03T10:00:00+01:00", phone="06 12 34 56 78", reminders_by_sms=True)

    await post.send_due()
    at_night = len(post.sms.received)
    post.clock.set("2026-12-02 07:59")
    await post.send_due()
    before_eight = len(post.sms.received)
    post.clock.set("2026-12-02 08:00")
    await post.send_due()
    post.clock.set("2026-12-02 10:00")
    await post.send_due()

    assert (at_night, before_eight) == (0, 0)
    assert [sms["text"][:16] for sms in post.sms.received] == [
        "RDV confirmé jeu",
        "Rappel : RDV dem",
    ]


async def test_while_smtp_is_down_messages_wait_and_go_out_once_it_is_back(
    post: Post, db: Any
) -> None:
    post.smtp.stop()
    await post.book("2026-12-03T10:00:00+01:00", email="ada@example.org")

    await post.send_due()
    post.clock.set("2026-11-30 08:02")
    await post.send_due()
    async with db.session() as session:
        waiting = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.kind == "confirmation")
        )
    post.smtp.start()
    post.clock.set("2026-11-30 08:30")
    await post.send_due()
    post.clock.set("2026-11-30 09:30")
    await post.send_due()

    assert waiting is not None
    assert waiting.status == "pending"
    assert waiting.attempts == 2
    assert post.subjects() == ["Votre rendez-vous du jeudi 3 décembre 2026 à 10 h 00 est confirmé"]


async def test_a_refused_address_or_number_is_not_retried_and_shows_as_failed(
    post: Post, db: Any
) -> None:
    await post.book("2026-12-03T10:00:00+01:00", email=REFUSED_ADDRESS)
    await post.book("2026-12-03T11:00:00+01:00", phone=REFUSED_NUMBER.replace("+33", "0"))

    await post.send_due()
    post.clock.set("2026-11-30 10:00")
    await post.send_due()
    async with db.session() as session:
        confirmations = list(
            await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "confirmation"))
        )

    assert {(m.channel, m.status, m.attempts) for m in confirmations} == {
        ("email", "failed", 1),
        ("sms", "failed", 1),
    }
    assert post.smtp.mailbox.count() == 0
    assert post.sms.received == []
