"""Several instances: a call made on one reaches screens connected to another, through
PostgreSQL's LISTEN/NOTIFY or Redis, and delivery survives losing the listener."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import websockets
from redis.asyncio import Redis

from tests.conftest import IN_CI, STAFF_PASSWORD, TEST_SECRET, asyncpg_url
from tests.integration.test_live import Desk
from tests.servers import Server, running

REDIS_URL = os.environ.get("GUICHET_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgresql,
    pytest.mark.parametrize("backend", ["postgresql"], indirect=True),
]


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
    return {
        "GUICHET_DATABASE_URL": database_url,
        "GUICHET_SECRET_KEY": TEST_SECRET,
        "GUICHET_LOG_LEVEL": "WARNING",
        **extra,
    }


@pytest.fixture
def through_postgres(database_url: str, tmp_path: Path) -> Iterator[list[Server]]:
    with running(tmp_path, environment(database_url), count=2) as servers:
        yield servers


@pytest.fixture
def through_redis(database_url: str, tmp_path: Path, redis_server: str) -> Iterator[list[Server]]:
    extra = {"GUICHET_REDIS_URL": redis_server, "GUICHET_LIVE_NAMESPACE": uuid.uuid4().hex}
    with running(tmp_path, environment(database_url, **extra), count=2) as servers:
        yield servers


async def manager(db: Any) -> str:
    from app.accounts.service import create_agent

    async with db.writing() as session:
        agent = await create_agent(
            session,
            email=f"m{uuid.uuid4().hex[:6]}@agents.example.org",
            password=STAFF_PASSWORD,
            role="manager",
            site_slugs=["paris-15"],
        )
        return agent.email


async def until_called(screen: Any, number: str, within: float = 20) -> dict[str, Any]:
    """The first message that shows `number` called."""
    async with asyncio.timeout(within):
        while True:
            message: dict[str, Any] = json.loads(await screen.recv())
            if number in {call["number"] for call in message.get("called", [])}:
                return message


async def a_call_on_one_reaches_the_other(servers: list[Server], db: Any) -> None:
    first, second = servers
    desk = await Desk(first.base).open(await manager(db))
    try:
        async with websockets.connect(f"{second.ws}/ws/sites/paris-15/display") as screen:
            snapshot = json.loads(await screen.recv())
            ticket = await desk.walk_in()
            called = await desk.call()
            message = await until_called(screen, ticket["number"])
    finally:
        await desk.close()
    assert snapshot["type"] == "snapshot"
    assert called["number"] == ticket["number"]
    assert message["called"][0]["station"] == "Poste 1"
    assert message["seq"] >= snapshot["seq"] + 2


async def test_postgresql_carries_a_call_from_one_instance_to_the_other(
    through_postgres: list[Server], db: Any
) -> None:
    await a_call_on_one_reaches_the_other(through_postgres, db)


async def test_redis_carries_a_call_from_one_instance_to_the_other(
    through_redis: list[Server], db: Any
) -> None:
    await a_call_on_one_reaches_the_other(through_redis, db)


async def test_delivery_resumes_after_the_listeners_connection_is_killed(
    through_postgres: list[Server], db: Any, database_url: str
) -> None:
    first, second = through_postgres
    desk = await Desk(first.base).open(await manager(db))
    database = database_url.rsplit("/", 1)[1]
    try:
        async with websockets.connect(f"{second.ws}/ws/sites/paris-15/display") as screen:
            json.loads(await screen.recv())
            admin = await asyncpg.connect(asyncpg_url("postgres"))
            try:
                killed = await admin.fetchval(
                    "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = $1 AND application_name = 'guichet-listener') AS gone",
                    database,
                )
            finally:
                await admin.close()
            ticket = await desk.walk_in()
            await desk.call()
            message = await until_called(screen, ticket["number"])
            later = await desk.walk_in()
            await desk.call(desk.stations[1])
            after = await until_called(screen, later["number"])
    finally:
        await desk.close()

    assert killed == 2
    assert message["called"][0]["number"] == ticket["number"]
    assert after["called"][0]["number"] == later["number"]


async def test_delivery_resumes_after_redis_drops_the_subscribers(
    through_redis: list[Server], db: Any, redis_server: str
) -> None:
    first, second = through_redis
    desk = await Desk(first.base).open(await manager(db))
    try:
        async with websockets.connect(f"{second.ws}/ws/sites/paris-15/display") as screen:
            json.loads(await screen.recv())
            redis = Redis.from_url(redis_server)
            try:
                await redis.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
            finally:
                await redis.aclose()
            ticket = await desk.walk_in()
            await desk.call()
            message = await until_called(screen, ticket["number"])
    finally:
        await desk.close()

    assert message["called"][0]["number"] == ticket["number"]
