"""A screen's refresh that fails is tried again by itself: with no further notice, the
change it missed still reaches the screens once the database answers again."""

from __future__ import annotations

import asyncio
from typing import Any
from zoneinfo import ZoneInfo

from app.live import hub as hub_module
from app.live.feeds import SiteFeed
from app.live.hub import Hub
from app.queue.views import DisplayState


class FlakyHub(Hub):
    def __init__(self, failures: int) -> None:  # no channels or database needed here
        self.failures = failures
        self.reads: list[str] = []

    async def _refresh(
        self, feed: SiteFeed, kind: str, pushed: DisplayState | None = None
    ) -> DisplayState | None:
        self.reads.append(kind)
        if len(self.reads) <= self.failures:
            raise ConnectionRefusedError("the database is away")
        return None


async def test_a_failed_refresh_is_retried_without_another_notice(monkeypatch: Any) -> None:
    monkeypatch.setattr(hub_module, "RETRY_FIRST", 0.01)
    hub = FlakyHub(failures=2)
    feed = SiteFeed(site_id=1, slug="paris-15", timezone=ZoneInfo("Europe/Paris"))
    feed.kinds.append("called")
    feed.dirty.set()  # one notice, then silence

    task = asyncio.create_task(hub._refresh_forever(feed))
    try:
        for _ in range(200):
            if len(hub.reads) >= 3:
                break
            await asyncio.sleep(0.01)
    finally:
        task.cancel()

    assert hub.reads == ["called", "called", "called"]  # the call is not downgraded
    assert not feed.dirty.is_set()
