"""What a newly connected lobby screen is shown first: the state its site's feed read
moments ago, or one read for all the screens that come together, and never a state older
than what the site's other screens hold."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from app.live.feeds import Connection, SiteFeed
from app.live.hub import Hub
from app.queue.views import DisplayState
from app.sites.opening import OPEN, Opening

NOW = datetime(2026, 12, 1, 9, 30, 10, tzinfo=UTC)


def state(seq: int) -> DisplayState:
    return DisplayState(
        seq=seq, called=[], waiting_count=seq, waiting_by_service={}, eta_minutes=None
    )


def fed(seq: int | None = None) -> SiteFeed:
    feed = SiteFeed(site_id=1, slug="paris-15", timezone=ZoneInfo("Europe/Paris"))
    feed.opening = (NOW, OPEN)
    if seq is not None:
        feed.remember(state(seq), NOW)
    return feed


def test_a_state_read_moments_ago_is_shown_to_a_newcomer() -> None:
    assert fed(4).recent_state(NOW + timedelta(seconds=20)) == state(4)


def test_no_state_is_reused_after_a_notice_or_once_old_or_once_the_minute_turned(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    noticed = fed(4)
    noticed.dirty.set()
    assert noticed.recent_state(NOW) is None

    assert fed(4).recent_state(NOW.replace(minute=31, second=0)) is None  # the next minute
    assert fed().recent_state(NOW) is None  # nothing read yet

    old = fed(4)
    monkeypatch.setattr("app.live.feeds.time.monotonic", lambda: old.state_read_at + 31)
    assert old.recent_state(NOW) is None


def test_reads_that_end_out_of_order_leave_the_newest_state() -> None:
    feed = fed(7)
    feed.remember(state(5), NOW)  # a read begun before the one that brought 7

    assert feed.state == state(7)
    assert feed.newest(state(5)) == state(7)
    assert feed.newest(state(8)) == state(8)


class CountingHub(Hub):
    def __init__(self) -> None:  # no channels or database needed here
        self.reads = 0
        self.release = asyncio.Event()

    async def _read_first(self, feed: SiteFeed, now: datetime) -> DisplayState:
        self.reads += 1
        await self.release.wait()
        read = state(3)
        feed.remember(read, now)
        return read


async def test_screens_that_come_together_share_one_read() -> None:
    hub = CountingHub()
    feed = fed()
    waiting: list[asyncio.Task[Any]] = [
        asyncio.create_task(hub._first_state(feed, NOW)) for _ in range(10)
    ]
    await asyncio.sleep(0)
    hub.release.set()
    shown = await asyncio.gather(*waiting)

    assert hub.reads == 1
    assert shown == [state(3)] * 10
    assert await hub._first_state(feed, NOW) == state(3)  # read moments ago: no read
    assert hub.reads == 1

    feed.dirty.set()  # a notice came: the next newcomer reads again
    assert await hub._first_state(feed, NOW) == state(3)
    assert hub.reads == 2


def queued(connection: Connection) -> list[tuple[str, int]]:
    """The messages queued for `connection`: type and seq."""
    found = []
    while not connection.outbox.empty():
        message = json.loads(connection.outbox.get_nowait())
        found.append((message["type"], message["seq"]))
    return found


async def test_a_newcomer_is_sent_its_snapshot_first_then_only_newer_states() -> None:
    """A state sent to the site's displays while a newcomer's first state is being read
    is not sent to the newcomer before its snapshot (which shows it, at least), nor again
    after it."""
    hub = CountingHub()
    hub.clock = lambda: NOW
    feed = fed()
    there, newcomer = Connection(None, "a"), Connection(None, "b")  # type: ignore[arg-type]
    there.started = True
    feed.displays.update({there, newcomer})
    first = asyncio.create_task(hub._send_first(feed, newcomer, None))
    await asyncio.sleep(0)  # reading its first state

    feed.remember(state(5), NOW)  # a call made meanwhile, read and sent to the displays
    feed.send(state(5), OPEN, "called", None, moved=True, turned=False)
    hub.release.set()
    await first
    feed.send(state(5), OPEN, "called", None, moved=True, turned=False)  # heard once more
    feed.send(state(6), OPEN, "update", None, moved=True, turned=False)

    assert queued(newcomer) == [("snapshot", 5), ("update", 6)]
    assert queued(there) == [("called", 5), ("update", 6)]


def test_an_opening_read_holds_into_the_next_minute_while_its_hours_change_nothing() -> None:
    """A call as the minute turns is sent the opening read in the minute before, if the
    hours as read give the same answer since and the clock's read of this minute is not
    overdue; else it is read again."""
    feed = fed()
    read_at = datetime(2026, 12, 1, 9, 29, 50, tzinfo=UTC)
    feed.opening = (read_at, Opening(open=True, until=datetime(2026, 12, 1, 9, 31, tzinfo=UTC)))
    cut = Opening(open=True, until=datetime(2026, 12, 1, 9, 30, 30, tzinfo=UTC))

    assert feed.opening_holds(read_at + timedelta(seconds=20))  # 9:30:10, the minute after
    assert not feed.opening_read_this_minute(read_at + timedelta(seconds=20))
    assert not feed.opening_holds(read_at + timedelta(seconds=75))  # the clock's read overdue
    assert not feed.opening_holds(read_at - timedelta(seconds=1))  # a clock set back
    feed.opening = (read_at, cut)
    assert not feed.opening_holds(read_at + timedelta(seconds=40))  # 9:30:30: it closes
    feed.opening = (read_at, OPEN)  # no `until` worked out: its minute only
    assert not feed.opening_holds(read_at + timedelta(seconds=20))
