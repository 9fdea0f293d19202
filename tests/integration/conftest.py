"""Fixtures of the integration tests that send messages: a real SMTP server and a real
SMS gateway on loopback, and the app wired to them with its dispatcher in the test's
hands."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from litestar.testing import AsyncTestClient

from app.asgi import create_app
from app.db import Database
from app.notify.dispatcher import Dispatcher
from app.scheduler import transports
from tests.conftest import Clock, make_settings
from tests.mail import SmsGateway, SmtpServer, sms_gateway, smtp_server
from tests.post import PUBLIC_URL, Post
from tests.servers import free_port


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
