"""Several instances: a call made on one reaches screens connected to another, through
PostgreSQL's LISTEN/NOTIFY or Redis, and delivery survives losing the listener."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest
import websockets
from redis.asyncio import Redis

from tests.cluster.conftest import environment, new_manager, until_called
from tests.conftest import asyncpg_url
from tests.integration.test_live import Desk
from tests.servers import Server, running

pytestmark = [pytest.mark.slow, pytest.mark.postgresql]


@pytest.fixture
def through_redis(database_url: str, tmp_path: Path, redis_server: str) -> Iterator[list[Server]]:
    extra = {"GUICHET_REDIS_URL": redis_server, "GUICHET_LIVE_NAMESPACE": uuid.uuid4().hex}
    with running(tmp_path, environment(database_url, **extra), count=2) as servers:
        yield servers


async def a_call_on_one_reaches_the_other(servers: list[Server], db: Any) -> None:
    first, second = servers
    desk = await Desk(first.base).open(await new_manager(db))
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
    cluster: list[Server], db: Any
) -> None:
    await a_call_on_one_reaches_the_other(cluster, db)


async def test_redis_carries_a_call_from_one_instance_to_the_other(
    through_redis: list[Server], db: Any
) -> None:
    await a_call_on_one_reaches_the_other(through_redis, db)


async def opening_shown(screen: Any, is_open: bool, within: float = 20) -> dict[str, Any]:
    """The first message of a display whose opening says `is_open`."""
    async with asyncio.timeout(within):
        while True:
            message: dict[str, Any] = json.loads(await screen.recv())
            if message["opening"]["open"] is is_open:
                return message


async def test_a_change_of_the_hours_on_one_instance_reaches_a_display_on_the_other(
    cluster: list[Server], db: Any
) -> None:
    """Today closed, then open all day, by dated exceptions made on the first instance: a
    display without a key on the second is told each at once, with no call in between
    (whatever the real clock says, one of the two is a change)."""
    first, second = cluster
    desk = await Desk(first.base).open(await new_manager(db))
    today = datetime.now(ZoneInfo("Europe/Paris")).date().isoformat()
    path = f"/api/v1/admin/sites/paris-15/hours-exceptions/{today}"
    whole_day = {"ranges": [{"opens": "00:00", "closes": "23:59"}]}
    try:
        async with websockets.connect(f"{second.ws}/ws/sites/paris-15/display") as screen:
            json.loads(await screen.recv())  # the snapshot
            closed = await desk.http.put(path, json={"reason": "Travaux"}, headers=desk.headers)
            shut = await opening_shown(screen, False)
            opened = await desk.http.put(path, json=whole_day, headers=desk.headers)
            reopened = await opening_shown(screen, True)
    finally:
        await desk.close()
    assert (closed.status_code, opened.status_code) == (200, 200)
    assert shut["waiting"]["eta_minutes"] is None
    assert reopened["type"] == "snapshot"


async def test_delivery_resumes_after_the_listeners_connection_is_killed(
    cluster: list[Server], db: Any, database_url: str
) -> None:
    first, second = cluster
    desk = await Desk(first.base).open(await new_manager(db))
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


def redis_ports(process_id: int, redis_port: int) -> set[int]:
    """The local ports of a process's TCP connections to Redis, read from /proc."""
    sockets = set()
    for descriptor in Path(f"/proc/{process_id}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(descriptor)
            if target.startswith("socket:["):
                sockets.add(target[len("socket:[") : -1])
    ports = set()
    for line in Path(f"/proc/{process_id}/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, inode = fields[1], fields[2], fields[9]
        if inode in sockets and int(remote.split(":")[1], 16) == redis_port:
            ports.add(int(local.split(":")[1], 16))
    return ports


async def drop_subscribers(redis_url: str, servers: list[Server]) -> int:
    """Make Redis drop the subscribing connections of these servers (and nobody else's:
    other test runs may share this Redis); return how many it dropped."""
    port = Redis.from_url(redis_url).connection_pool.connection_kwargs.get("port", 6379)
    ours = {
        local
        for server in servers
        if server.process is not None
        for local in redis_ports(server.process.pid, int(port))
    }
    redis = Redis.from_url(redis_url)
    try:
        listing = (await redis.execute_command("CLIENT", "LIST", "TYPE", "pubsub")).decode()
        addresses = [
            field.split("=", 1)[1]
            for line in listing.splitlines()
            for field in line.split()
            if field.startswith("addr=")
        ]
        doomed = [address for address in addresses if int(address.rsplit(":", 1)[1]) in ours]
        for address in doomed:
            await redis.execute_command("CLIENT", "KILL", "ADDR", address)
    finally:
        await redis.aclose()
    return len(doomed)


async def test_delivery_resumes_after_redis_drops_the_subscribers(
    through_redis: list[Server], db: Any, redis_server: str
) -> None:
    first, second = through_redis
    desk = await Desk(first.base).open(await new_manager(db))
    try:
        async with websockets.connect(f"{second.ws}/ws/sites/paris-15/display") as screen:
            json.loads(await screen.recv())
            killed = await drop_subscribers(redis_server, through_redis)
            ticket = await desk.walk_in()
            await desk.call()
            message = await until_called(screen, ticket["number"])
    finally:
        await desk.close()

    assert killed == 1, "the one subscriber: only the instance with a screen subscribes"
    assert message["called"][0]["number"] == ticket["number"]
