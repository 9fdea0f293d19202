"""Which channels backend carries the live notices, made sturdy.

Litestar's channels plugin runs one task that publishes and one that listens. Its
PostgreSQL backend opens a connection per publish and does not come back when the
listening connection is lost, and one publish that raises ends the plugin's publish
task for good. The wrappers here keep both tasks alive: a failed publish is retried,
then dropped (the truth is in the database and screens re-read it), and a lost listener
is re-established, after which every subscribed channel is told to re-read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Iterable
from typing import Any

import asyncpg
from litestar.channels import ChannelsBackend
from litestar.channels.backends.asyncpg import AsyncPgChannelsBackend
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.channels.backends.redis import RedisChannelsPubSubBackend

from app import loops

log = logging.getLogger("guichet.live")
RESYNC = b'{"resync":true}'
PUBLISH_ATTEMPTS = 3
WATCH_EVERY_SECONDS = 1.0
LISTENER_NAME = "guichet-listener"


class SturdyBackend(ChannelsBackend):
    """Any channels backend, with publishing that never raises and listening that
    outlives a broken stream."""

    def __init__(self, inner: ChannelsBackend) -> None:
        self.inner = inner
        self.channels: set[str] = set()
        self.failed_publishes = 0

    async def on_startup(self) -> None:
        await self.inner.on_startup()

    async def on_shutdown(self) -> None:
        await self.inner.on_shutdown()

    async def publish(self, data: bytes, channels: Iterable[str]) -> None:
        channels = list(channels)
        for attempt in range(PUBLISH_ATTEMPTS):
            try:
                await self.inner.publish(data, channels)
                return
            except Exception as exc:  # the publish task must survive any backend failure
                log.warning("live publish failed (%s), attempt %d", type(exc).__name__, attempt + 1)
                await asyncio.sleep(0.05 * 2**attempt)
        self.failed_publishes += 1
        log.error("live notice dropped after %d attempts; screens will catch up", PUBLISH_ATTEMPTS)

    async def subscribe(self, channels: Iterable[str]) -> None:
        channels = set(channels)
        self.channels |= channels
        await self.inner.subscribe(channels)

    async def unsubscribe(self, channels: Iterable[str]) -> None:
        channels = set(channels)
        self.channels -= channels
        await self.inner.unsubscribe(channels)

    async def stream_events(self) -> AsyncGenerator[tuple[str, Any], None]:
        delay = 0.1
        while True:
            try:
                async for event in self.inner.stream_events():
                    delay = 0.1
                    yield event
            except Exception as exc:  # a broken stream is restarted, never left dead
                log.warning("live listener stopped (%s); starting it again", type(exc).__name__)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
            await self._subscribe_again()
            for channel in list(self.channels):
                yield channel, RESYNC

    async def _subscribe_again(self) -> None:
        """Subscribe to every channel again, as long as it takes: a stream that runs
        without its subscriptions would wait for ever and say nothing."""
        delay = 0.1
        while True:
            try:
                await self.inner.subscribe(set(self.channels))
                return
            except Exception as exc:  # the server may not be back yet
                log.warning("live subscriptions not back yet (%s)", type(exc).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def get_history(self, channel: str, limit: int | None = None) -> list[bytes]:
        return []


class ListeningPostgres(AsyncPgChannelsBackend):
    """LISTEN/NOTIFY that keeps one connection for publishing and comes back when its
    listening connection is lost."""

    def __init__(self, dsn: str) -> None:
        super().__init__(make_connection=self._listener_connection)
        self._dsn = dsn
        self._publisher: asyncpg.Connection | None = None
        self._publish_lock = asyncio.Lock()
        self._watch: asyncio.Task[None] | None = None
        self._listener_conn: asyncpg.Connection | None = None
        self.reconnections = 0

    async def _listener_connection(self) -> asyncpg.Connection:
        return await asyncpg.connect(
            self._dsn, server_settings={"application_name": LISTENER_NAME}, timeout=5
        )

    async def on_startup(self) -> None:
        self._listener_lock = asyncio.Lock()
        self._queue = asyncio.Queue()
        try:
            self._listener_conn = await self._connect()
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            # Start anyway: the watch below connects as soon as the database answers.
            log.warning("live listener not connected yet (%s)", type(exc).__name__)
            self._listener_conn = None
        self._watch = asyncio.create_task(self._keep_listening())

    async def on_shutdown(self) -> None:
        await loops.stop(self._watch)
        for connection in (self._publisher, self._listener_conn):
            if connection is not None and not connection.is_closed():
                with contextlib.suppress(Exception):
                    await connection.close()
        self._subscribed_channels.clear()
        self._queue = None

    async def subscribe(self, channels: Iterable[str]) -> None:
        async with self._listener_lock:
            for channel in set(channels) - self._subscribed_channels:
                self._subscribed_channels.add(channel)
                if self._listener_conn is not None and self._listening():
                    await self._listener_conn.add_listener(channel, self._listener)

    async def unsubscribe(self, channels: Iterable[str]) -> None:
        async with self._listener_lock:
            for channel in set(channels) & self._subscribed_channels:
                self._subscribed_channels.discard(channel)
                if self._listener_conn is not None and self._listening():
                    await self._listener_conn.remove_listener(channel, self._listener)

    def _listening(self) -> bool:
        return self._listener_conn is not None and not self._listener_conn.is_closed()

    async def publish(self, data: bytes, channels: Iterable[str]) -> None:
        async with self._publish_lock:
            if self._publisher is None or self._publisher.is_closed():
                self._publisher = await asyncpg.connect(self._dsn, timeout=5)
            try:
                for channel in channels:
                    await self._publisher.execute(
                        "SELECT pg_notify($1, $2)", channel, data.decode()
                    )
            except Exception:
                with contextlib.suppress(Exception):
                    await self._publisher.close()
                self._publisher = None
                raise

    async def _keep_listening(self) -> None:
        await asyncio.sleep(WATCH_EVERY_SECONDS)  # on_startup has just tried
        await loops.every(
            WATCH_EVERY_SECONDS, self._listen_again, log=log, failure="live listener not back yet"
        )

    async def _listen_again(self) -> None:
        """Listen on a new connection if the one listening was lost."""
        if self._listening():
            return
        async with self._listener_lock:
            connection = await self._connect()
            for channel in self._subscribed_channels:
                await connection.add_listener(channel, self._listener)
            self._listener_conn = connection
            self.reconnections += 1
            log.info("live listener re-established")
        for channel in list(self._subscribed_channels):
            if self._queue is not None:
                self._queue.put_nowait((channel, RESYNC))


def backend_for(database_url: str, redis_url: str) -> SturdyBackend:
    """Redis when configured; else PostgreSQL's LISTEN/NOTIFY on PostgreSQL; else memory."""
    if redis_url:
        from redis.asyncio import Redis

        return SturdyBackend(RedisChannelsPubSubBackend(redis=Redis.from_url(redis_url)))
    if database_url.startswith("postgresql"):
        dsn = database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
        return SturdyBackend(ListeningPostgres(dsn))
    return SturdyBackend(MemoryChannelsBackend())
