"""Two instances sharing PostgreSQL send the same webhook deliveries: a thousand bookings
made through either of them, as fast as they come, reach a real receiver on loopback
exactly once each, signed, and the two instances shared the sending."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app.accounts.service import create_agent
from app.db import Database
from app.webhooks.models import DeliveryStatus, WebhookDelivery
from tests.cluster.conftest import PARIS, clients, environment
from tests.conftest import STAFF_PASSWORD
from tests.integration.test_webhooks import Receiver, receiving
from tests.servers import running

pytestmark = [pytest.mark.slow, pytest.mark.postgresql]
EVENTS = 1000
AT_ONCE = 24
SECRET = "whsec-cluster-0123456789abcdef"
BOOKED_WITHIN_SECONDS = 300
DELIVERED_WITHIN_SECONDS = 180
# After the last one came, how long the receiver is watched for a repeat.
WATCHED_AFTER_SECONDS = 3.0


async def admin_token(db: Database, client: httpx.AsyncClient) -> str:
    async with db.writing() as session:
        agent = await create_agent(
            session,
            email=f"admin.{uuid.uuid4().hex[:8]}@agents.example.org",
            password=STAFF_PASSWORD,
            role="admin",
            site_slugs=[],
        )
        email = agent.email
    response = await client.post(
        "/api/v1/auth/token", json={"email": email, "password": STAFF_PASSWORD}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


async def slots(client: httpx.AsyncClient, wanted: int) -> list[tuple[str, str]]:
    """(mairie, start) of `wanted` free `caf` slots, from three days ahead, across the
    mairies so that bookings seldom wait for one another's day."""
    sites = [site["slug"] for site in (await client.get("/api/v1/sites")).json()]
    first = datetime.now(PARIS).date() + timedelta(days=3)
    found: dict[str, list[str]] = {}
    for slug in sites:
        response = await client.get(
            f"/api/v1/sites/{slug}/availability",
            params={
                "service": "caf",
                "from": first.isoformat(),
                "to": (first + timedelta(days=40)).isoformat(),
            },
        )
        if response.status_code == 200:
            found[slug] = [str(slot["start"]) for slot in response.json()["slots"]]
    spread = [
        (slug, starts[rank])
        for rank in range(max(map(len, found.values()), default=0))
        for slug, starts in found.items()
        if rank < len(starts)
    ]
    assert len(spread) >= wanted, f"only {len(spread)} free slots for {wanted} bookings"
    return spread[:wanted]


async def book_all(instances: list[httpx.AsyncClient], chosen: list[tuple[str, str]]) -> list[str]:
    """Book every slot, through either instance in turn, `AT_ONCE` at a time; the
    references."""
    queue: asyncio.Queue[tuple[int, str, str]] = asyncio.Queue()
    for number, (slug, start) in enumerate(chosen):
        queue.put_nowait((number, slug, start))
    references: list[str] = []

    async def worker() -> None:
        while not queue.empty():
            number, slug, start = queue.get_nowait()
            client = instances[number % len(instances)]
            response = await client.post(
                "/api/v1/appointments",
                json={
                    "site": slug,
                    "service": "caf",
                    "start": start,
                    "name": f"Usager {number}",
                    "email": f"usager{number}@example.org",
                },
            )
            assert response.status_code == 201, response.text
            references.append(str(response.json()["reference"]))

    await asyncio.gather(*(worker() for _ in range(AT_ONCE)))
    return references


def until_received(receiver: Receiver, count: int, within: float) -> None:
    deadline = time.monotonic() + within
    while len(receiver.accepted) < count and time.monotonic() < deadline:
        time.sleep(0.1)


async def test_two_instances_deliver_a_thousand_events_exactly_once_each(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    cluster_environment = environment(
        database_url,
        GUICHET_WEBHOOK_EVERY_SECONDS="0.3",
        GUICHET_WEBHOOK_BATCH="20",
        GUICHET_DISPATCH_EVERY_SECONDS="5",
    )
    with (
        receiving(Receiver()) as receiver,
        running(tmp_path, cluster_environment, count=2) as servers,
    ):
        async with clients(servers) as instances:
            token = await admin_token(db, instances[0])
            registered = await instances[1].post(
                "/api/v1/admin/webhooks",
                json={"url": receiver.url, "secret": SECRET, "events": ["appointment.created"]},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert registered.status_code == 201, registered.text
            chosen = await slots(instances[0], EVENTS)
            started = time.monotonic()
            async with asyncio.timeout(BOOKED_WITHIN_SECONDS):
                references = await book_all(instances, chosen)
            booked_in = time.monotonic() - started
            await asyncio.to_thread(until_received, receiver, EVENTS, DELIVERED_WITHIN_SECONDS)
            delivered_in = time.monotonic() - started
            await asyncio.sleep(WATCHED_AFTER_SECONDS)
        logs = [server.output() for server in servers]

    received = receiver.accepted
    print(
        f"\n{EVENTS} bookings in {booked_in:.1f} s through two instances; "
        f"every delivery received {delivered_in:.1f} s after the first booking"
    )
    counts = Counter(one.delivery_id for one in received)
    async with db.session() as session:
        rows = (
            await session.execute(
                select(
                    WebhookDelivery.delivery_id, WebhookDelivery.status, WebhookDelivery.claimed_by
                )
            )
        ).all()
        attempts = await session.scalar(select(func.sum(WebhookDelivery.attempts)))
    bodies: list[dict[str, Any]] = [json.loads(one.body) for one in received]

    assert len(references) == EVENTS
    assert len(counts) == EVENTS, "missing deliveries"
    assert set(counts.values()) == {1}, "deliveries received twice"
    assert len(receiver.received) == EVENTS  # nothing refused, nothing sent again
    assert {row.delivery_id for row in rows} == set(counts)
    assert {row.status for row in rows} == {DeliveryStatus.DELIVERED}
    assert attempts == EVENTS
    assert len({row.claimed_by for row in rows}) == 2, "one instance sent everything"
    assert all(one.signed_with(SECRET) for one in received)
    assert sorted(body["data"]["reference"] for body in bodies) == sorted(references)
    for log in logs:
        assert " ERROR " not in log, log[-2000:]
        assert "webhook delivery" not in log, log[-2000:]
