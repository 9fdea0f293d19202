"""Fixtures of the cluster and fault suites: real `guichet serve` processes sharing one
PostgreSQL database (demo data loaded) and, for the Redis fan-out, one Redis.

The suite runs with the others (`make test`) when PostgreSQL answers at
GUICHET_TEST_POSTGRES_URL; it is skipped when it does not, and fails under CI=true,
as tests/conftest.py decides for every PostgreSQL test.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import select

from app.accounts.service import create_agent
from app.booking.models import Appointment
from app.db import Database
from app.notify.models import OutboxMessage
from app.serving import KEEP_ALIVE_SECONDS
from tests.conftest import IN_CI, STAFF_PASSWORD, TEST_SECRET
from tests.integration.test_booking_races import (
    assert_no_station_is_held_twice_at_once,
    live_appointments,
)
from tests.mail import SmtpServer, smtp_server
from tests.servers import Server, free_port, running

REDIS_URL = os.environ.get("GUICHET_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SITE = "paris-15"
PARIS = ZoneInfo("Europe/Paris")
# Small pools: the suite's instances share the PostgreSQL server with every other test.
POOL_SIZE = "8"
HERE = Path(__file__).parent
LOG_LINES = 60


@pytest.fixture
def backend() -> str:
    """Instances share nothing but the database: here it is always PostgreSQL."""
    return "postgresql"


@pytest.fixture(scope="session")
def redis_server() -> str:
    """The Redis server for tests; skipped when unreachable, a failure under CI."""

    async def ping() -> str | None:
        client = Redis.from_url(REDIS_URL, socket_connect_timeout=3)
        try:
            await client.ping()
        except Exception as exc:  # any reason it cannot be reached
            return f"{type(exc).__name__}: {exc}"
        finally:
            await client.aclose()
        return None

    problem = asyncio.run(ping())
    if problem:
        reason = f"Redis unreachable at {REDIS_URL} ({problem})"
        if IN_CI:
            pytest.fail(f"{reason}: CI requires it", pytrace=False)
        pytest.skip(f"{reason}; set GUICHET_TEST_REDIS_URL to run these tests")
    return REDIS_URL


def environment(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of an instance of the test's cluster."""
    return {
        "GUICHET_DATABASE_URL": database_url,
        "GUICHET_SECRET_KEY": TEST_SECRET,
        "GUICHET_LOG_LEVEL": "WARNING",
        "GUICHET_DATABASE_POOL_SIZE": POOL_SIZE,
        **extra,
    }


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server(free_port()) as server:
        yield server


@pytest.fixture
def cluster(database_url: str, tmp_path: Path) -> Iterator[list[Server]]:
    """Two instances on the test's database, live events through LISTEN/NOTIFY."""
    with running(tmp_path, environment(database_url), count=2) as servers:
        yield servers


async def new_manager(db: Database, site: str = SITE) -> str:
    """A manager of `site`, made in the database; returns the email to log in with."""
    async with db.writing() as session:
        agent = await create_agent(
            session,
            email=f"manager.{uuid.uuid4().hex[:8]}@agents.example.org",
            password=STAFF_PASSWORD,
            role="manager",
            site_slugs=[site],
        )
        return agent.email


@asynccontextmanager
async def clients(servers: list[Server]) -> AsyncIterator[list[httpx.AsyncClient]]:
    """One HTTP client per instance, as a load balancer would spread people."""
    opened = [
        httpx.AsyncClient(
            base_url=server.base,
            timeout=30,
            # An idle connection is let go before the server closes it: reused at the
            # very moment the server drops it, a request gets no answer at all.
            limits=httpx.Limits(
                max_connections=200,
                max_keepalive_connections=50,
                keepalive_expiry=KEEP_ALIVE_SECONDS / 2,
            ),
        )
        for server in servers
    ]
    try:
        yield opened
    finally:
        for client in opened:
            await client.aclose()


async def free_slots(client: httpx.AsyncClient, *, from_day: int = 3, days: int = 14) -> list[str]:
    """Start times (ISO) of the free `caf` slots at the site, `from_day` days ahead on."""
    first = datetime.now(PARIS).date() + timedelta(days=from_day)
    response = await client.get(
        f"/api/v1/sites/{SITE}/availability",
        params={
            "service": "caf",
            "first": first.isoformat(),
            "last": (first + timedelta(days=days)).isoformat(),
        },
    )
    assert response.status_code == 200, response.text
    starts = [str(slot["start"]) for slot in response.json()["slots"]]
    assert starts, "the demo site has no free slot: nothing to book"
    return starts


async def station_ids(client: httpx.AsyncClient) -> list[int]:
    response = await client.get(f"/api/v1/sites/{SITE}")
    return [int(station["id"]) for station in response.json()["stations"]]


async def until_called(screen: Any, number: str, within: float = 20) -> dict[str, Any]:
    """The first message of a display websocket that shows `number` called."""
    async with asyncio.timeout(within):
        while True:
            message: dict[str, Any] = json.loads(await screen.recv())
            if number in {call["number"] for call in message.get("called", [])}:
                return message


def booking(number: int, start: str) -> dict[str, Any]:
    """The body of an online booking of the `caf` service at `start`."""
    return {
        "site": SITE,
        "service": "caf",
        "start": start,
        "name": f"Usager {number}",
        "email": f"usager{number}@example.org",
    }


async def whole_bookings(db: Database) -> dict[str, Appointment]:
    """The live appointments by reference, once checked whole: each has its confirmation
    in the outbox, and no station is held twice at once."""
    appointments = await live_appointments(db)
    async with db.session() as session:
        confirmations = Counter(
            await session.scalars(
                select(OutboxMessage.appointment_id).where(OutboxMessage.kind == "confirmation")
            )
        )
    unconfirmed = [a.reference for a in appointments if confirmations[a.id] != 1]
    assert unconfirmed == [], "appointments without exactly one confirmation in the outbox"
    assert_no_station_is_held_twice_at_once(appointments)
    return {appointment.reference: appointment for appointment in appointments}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """When a test here fails, its report carries what its servers logged: their folder
    may be gone by the time someone looks (pytest keeps the last few runs only)."""
    report = yield
    folder = getattr(item, "funcargs", {}).get("tmp_path")
    if report.failed and isinstance(folder, Path) and item.path.is_relative_to(HERE):
        for log in sorted(folder.glob("serve-*.log")):
            lines = log.read_text(errors="replace").splitlines()
            report.sections.append((f"{log.name} (last lines)", "\n".join(lines[-LOG_LINES:])))
    return report
