"""/metrics, on both databases: Prometheus's own parser reads it, the queue gauges follow
tickets issued and called, and no private token ever becomes a label."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families

from app.asgi import create_app
from tests.conftest import Clock, Staff, make_settings


async def scrape(
    client: AsyncTestClient[Any],
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def paris_15(name: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    return (name, (("site", "paris-15"),))


async def test_the_queue_gauges_follow_tickets_issued_and_called(
    client: AsyncTestClient[Any], staff: Staff, clock: Clock
) -> None:
    clock.set("2026-12-01 09:00")
    reception = await staff.headers("reception", "paris-15")
    facilitator = await staff.headers("facilitator", "paris-15")
    station = (await client.get("/api/v1/sites/paris-15")).json()["stations"][0]["id"]

    before = await scrape(client)
    for _ in range(3):
        issued = await client.post(
            "/api/v1/sites/paris-15/tickets", json={"service": "caf"}, headers=reception
        )
        assert issued.status_code == 201
    clock.set("2026-12-01 09:10")
    after_issuing = await scrape(client)
    await client.post(f"/api/v1/stations/{station}/call-next", headers=facilitator)
    after_calling = await scrape(client)

    assert before[paris_15("guichet_queue_waiting")] == 0
    assert after_issuing[paris_15("guichet_queue_waiting")] == 3
    assert after_issuing[paris_15("guichet_queue_oldest_wait_seconds")] == 600
    assert after_calling[paris_15("guichet_queue_waiting")] == 2
    assert after_calling[("guichet_queue_waiting", (("site", "paris-20"),))] == 0
    assert len([key for key in after_calling if key[0] == "guichet_queue_waiting"]) == 17
    assert after_calling[paris_15("guichet_screens_connected")] == 0


async def test_requests_are_timed_by_route_and_the_outbox_backlog_is_counted(
    client: AsyncTestClient[Any], clock: Clock
) -> None:
    clock.set("2026-11-30 08:00")
    booked = await client.post(
        "/api/v1/appointments",
        json={
            "site": "paris-15",
            "service": "caf",
            "start": "2026-12-03T10:00:00+01:00",
            "name": "Ada",
            "email": "ada@example.org",
        },
    )
    token = booked.json()["token"]
    await client.get(f"/api/v1/appointments/{token}")
    await client.get("/nowhere/at/all")

    samples = await scrape(client)
    text = (await client.get("/metrics")).text

    route = (
        "guichet_http_request_duration_seconds_count",
        (("method", "GET"), ("route", "/api/v1/appointments/{token}"), ("status", "200")),
    )
    assert samples[route] == 1
    assert token not in text
    assert "/nowhere" not in text
    assert samples[("guichet_outbox_messages", (("status", "pending"),))] >= 3
    assert samples[("guichet_outbox_due", ())] == 1  # the confirmation; reminders wait


async def test_the_metrics_can_be_kept_behind_a_token(database_url: str) -> None:
    settings = make_settings(database_url, metrics_token="scrape-me-0123456789")
    async with AsyncTestClient(app=create_app(settings)) as client:
        without = await client.get("/metrics")
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        right = await client.get(
            "/metrics", headers={"Authorization": "Bearer scrape-me-0123456789"}
        )

    assert (without.status_code, wrong.status_code, right.status_code) == (401, 401, 200)
