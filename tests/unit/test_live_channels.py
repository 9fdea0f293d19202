"""The channels backend wrapper: a failed publish does not stop the next ones, and a
broken listener comes back and asks every channel to re-read."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Iterable
from typing import Any

from litestar.channels import ChannelsBackend, ChannelsPlugin
from litestar.channels.backends.memory import MemoryChannelsBackend

from app.live.channels import RESYNC, SturdyBackend


class FlakyPublisher(MemoryChannelsBackend):
    """Memory channels whose publishes fail while `failing` is above zero."""

    def __init__(self, failing: int) -> None:
        super().__init__()
        self.failing = failing

    async def publish(self, data: bytes, channels: Iterable[str]) -> None:
        if self.failing:
            self.failing -= 1
            raise ConnectionError("the broker is away")
        await super().publish(data, channels)


class BrokenStream(ChannelsBackend):
    """A stream that breaks once, and subscriptions that fail once after that."""

    def __init__(self) -> None:
        self.broken = False
        self.subscribe_failures = 1
        self.subscriptions: list[set[str]] = []
        self.events: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()

    async def on_startup(self) -> None:
        pass

    async def on_shutdown(self) -> None:
        pass

    async def publish(self, data: bytes, channels: Iterable[str]) -> None:
        for channel in channels:
            self.events.put_nowait((channel, data))

    async def subscribe(self, channels: Iterable[str]) -> None:
        if self.broken and self.subscribe_failures:
            self.subscribe_failures -= 1
            raise ConnectionError("not back yet")
        self.subscriptions.append(set(channels))

    async def unsubscribe(self, channels: Iterable[str]) -> None:
        pass

    async def stream_events(self) -> AsyncGenerator[tuple[str, Any], None]:
        while True:
            event = await self.events.get()
            if event[1] == b"break" and not self.broken:
                self.broken = True
                raise ConnectionError("listener lost")
            yield event

    async def get_history(self, channel: str, limit: int | None = None) -> list[bytes]:
        return []


async def test_a_failing_publish_does_not_stop_the_plugins_publish_task() -> None:
    flaky = FlakyPublisher(failing=5)
    plugin = ChannelsPlugin(backend=SturdyBackend(flaky), arbitrary_channels_allowed=True)
    async with plugin:
        subscriber = await plugin.subscribe(["site.1"])
        plugin.publish(b"lost", "site.1")
        plugin.publish(b"delivered", "site.1")
        received = await asyncio.wait_for(anext(subscriber.iter_events()), timeout=5)

    assert received == b"delivered"
    assert plugin._backend.failed_publishes == 1  # type: ignore[attr-defined]


async def test_a_broken_stream_is_restarted_resubscribed_and_asks_for_a_re_read() -> None:
    inner = BrokenStream()
    sturdy = SturdyBackend(inner)
    await sturdy.subscribe(["site.1", "site.2"])
    events = sturdy.stream_events()

    await inner.publish(b"first", ["site.1"])
    first = await asyncio.wait_for(anext(events), timeout=5)
    await inner.publish(b"break", ["site.1"])
    resyncs = {await asyncio.wait_for(anext(events), timeout=5) for _ in range(2)}
    await inner.publish(b"after", ["site.2"])
    after = await asyncio.wait_for(anext(events), timeout=5)

    assert first == ("site.1", b"first")
    assert resyncs == {("site.1", RESYNC), ("site.2", RESYNC)}
    assert after == ("site.2", b"after")
    assert inner.subscriptions[-1] == {"site.1", "site.2"}
    assert inner.subscribe_failures == 0
