"""The screens' clock of an instance (`Hub._keep_minutes`) reads, once the minute turns,
whether each site with displays is open, all at once: a call in the minute finds the
opening read, and its screens wait for no read of two weeks of hours."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from app.db import Database
from app.live.feeds import Connection, SiteFeed
from app.live.hub import Hub
from app.sites.opening import OPEN, Opening
from app.sites.service import get_site
from tests.conftest import Clock


async def test_as_the_minute_turns_each_site_with_displays_has_its_opening_read(
    db: Database, clock: Clock
) -> None:
    """Displays without a key too, on an instance that draws no arrival codes."""
    now = clock.set("2026-12-01 09:00:00")  # a Tuesday: paris-15 is open
    hub = Hub(None, db, clock, namespace="test", per_address=10)  # type: ignore[arg-type]
    async with db.session() as session:
        site = await get_site(session, "paris-15")
    feed = SiteFeed(site.id, site.slug, ZoneInfo(site.timezone))
    feed.day = feed.local_day(now)
    feed.opening = (now - timedelta(minutes=1), Opening(open=False))  # read before it opened
    feed.displays.add(Connection(None, "127.0.0.1"))  # type: ignore[arg-type]
    hub.feeds[site.id] = feed

    await hub._turn(now)

    assert feed.opening == (now, OPEN)
    assert not feed.dirty.is_set()  # nothing a keyless display is sent changed
