"""Two instances sharing PostgreSQL dispatch the same outbox: every message is delivered
once, and a SIGKILL in the middle loses nothing."""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select

from app.notify.models import OutboxMessage
from app.sites.models import Site
from tests.cluster.conftest import environment
from tests.mail import SmtpServer
from tests.servers import running

MESSAGES = 2000
BATCH = 50
pytestmark = [pytest.mark.slow, pytest.mark.postgresql]


async def fill_the_outbox(db: Any) -> None:
    now = datetime.now(UTC)
    async with db.writing() as session:
        site = await session.scalar(select(Site.id).where(Site.slug == "paris-15"))
        await session.execute(
            insert(OutboxMessage),
            [
                {
                    "idempotency_key": f"load:{number}",
                    "site_id": site,
                    "kind": "follow_up",
                    "channel": "email",
                    "recipient": f"person{number}@example.org",
                    "data": {
                        "token": f"token{number:027d}",
                        "site": "Mairie du 15e arrondissement",
                        "address": "31 rue Péclet, 75015 Paris",
                        "service": "Démarches CAF en ligne",
                        "number": "A001",
                    },
                    "send_after": now,
                    "status": "pending",
                    "attempts": 0,
                    "last_error": "",
                    "claimed_by": "",
                    "created_at": now,
                }
                for number in range(MESSAGES)
            ],
        )


def smtp_environment(database_url: str, smtp: SmtpServer) -> dict[str, str]:
    return environment(
        database_url,
        GUICHET_SMTP_HOST="127.0.0.1",
        GUICHET_SMTP_PORT=str(smtp.port),
        GUICHET_SMTP_SECURITY="none",
        GUICHET_DISPATCH_EVERY_SECONDS="0.5",
        GUICHET_DISPATCH_BATCH=str(BATCH),
        # Long enough for a batch to be sent on a loaded machine, so that only a killed
        # instance's batch is ever claimed again.
        GUICHET_MESSAGE_LEASE_SECONDS="20",
    )


def all_delivered(smtp: SmtpServer, within: float) -> None:
    deadline = time.monotonic() + within
    while len(delivered(smtp)) < MESSAGES and time.monotonic() < deadline:
        time.sleep(0.1)


def delivered(smtp: SmtpServer) -> Counter[str]:
    return Counter(str(message["Message-ID"]) for message in smtp.mailbox.messages)


async def statuses(db: Any) -> dict[str, int]:
    async with db.session() as session:
        rows = await session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        )
        return {status: int(count) for status, count in rows}


async def settled(db: Any, within: float) -> dict[str, int]:
    """The outbox's statuses once every message is recorded as sent, or at `within`: the
    killed instance's batch went out before it died, and is claimed again, sent again
    and recorded only when its lease ends."""
    deadline = time.monotonic() + within
    found = await statuses(db)
    while found != {"sent": MESSAGES} and time.monotonic() < deadline:
        await asyncio.sleep(0.5)  # another process writes them: there is nothing to await
        found = await statuses(db)
    return found


async def test_two_instances_deliver_each_message_exactly_once(
    database_url: str, db: Any, smtp: SmtpServer, tmp_path: Path
) -> None:
    await fill_the_outbox(db)

    with running(tmp_path, smtp_environment(database_url, smtp), count=2):
        all_delivered(smtp, within=180)
        smtp.mailbox.wait_for(MESSAGES + 1, within=3)

    received = delivered(smtp)
    assert len(received) == MESSAGES
    assert set(received.values()) == {1}
    assert await statuses(db) == {"sent": MESSAGES}


async def test_a_process_killed_mid_dispatch_loses_nothing(
    database_url: str, db: Any, smtp: SmtpServer, tmp_path: Path
) -> None:
    await fill_the_outbox(db)

    with running(tmp_path, smtp_environment(database_url, smtp), count=2) as (first, _second):
        smtp.mailbox.wait_for(MESSAGES // 4, within=120)
        first.stop(signal.SIGKILL)
        killed_at = smtp.mailbox.count()
        first.start()
        all_delivered(smtp, within=180)
        outbox = await settled(db, within=120)

    received = delivered(smtp)
    repeats = sum(count - 1 for count in received.values())
    print(f"\nkilled after {killed_at} deliveries; messages delivered twice: {repeats}")
    assert len(received) == MESSAGES
    assert repeats <= BATCH
    assert outbox == {"sent": MESSAGES}
