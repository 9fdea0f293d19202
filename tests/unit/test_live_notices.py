"""The notices between instances: a change made here goes out with the state read for it,
when it fits in a PostgreSQL notice, and the others send that state to their screens
without reading it; never an older state than the one they sent, and a read whenever a
notice of the burst came without its state."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event

from app import events
from app.db import Database
from app.live import notices
from app.live.bodies import display_body
from app.live.feeds import Connection, SiteFeed, StateRead
from app.live.hub import Hub
from app.queue.views import CalledEntry, DisplayState, WaitingModel
from app.sites.demo import SERVICES
from app.sites.opening import OPEN

NOW = datetime(2026, 12, 1, 9, 30, 10, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")
CODES = [str(service["code"]) for service in SERVICES]


def state(seq: int, calls: int = 1) -> DisplayState:
    return DisplayState(
        seq=seq,
        called=[
            CalledEntry(f"A{n:03d}", f"Poste {n}", 100 + n, CODES[n % len(CODES)], NOW, "called")
            for n in range(calls)
        ],
        waiting_count=seq,
        waiting_by_service={"caf": seq},
        eta_minutes=(10, 25),
    )


def test_a_state_comes_back_as_it_was_sent() -> None:
    sent = state(42, calls=12)
    data = notices.moved_with_state(7, "called", display_body(sent, PARIS), "here")
    assert data is not None

    heard = notices.read(data)

    assert (heard.kind, heard.seq, heard.sender) == ("called", 42, "here")
    assert heard.state == sent
    assert display_body(heard.state, PARIS) == display_body(sent, PARIS)


def test_a_busy_mairies_state_fits_in_a_notice_and_one_too_long_is_left_out() -> None:
    """A mairie's busiest state: twelve calls shown, every service of the catalog waiting
    in hundreds; and the longest the columns allow (sixty accented letters a station, forty
    services of forty letters), which PostgreSQL would refuse."""
    busy = DisplayState(
        seq=123_456,
        called=[
            CalledEntry(
                f"A{n:03d}", f"Poste {n}", 100_000 + n, CODES[n % len(CODES)], NOW, "called"
            )
            for n in range(12)
        ],
        waiting_count=999,
        waiting_by_service=dict.fromkeys(CODES, 99),
        eta_minutes=(120, 240),
    )
    longest = DisplayState(
        seq=123_456,
        called=[CalledEntry("Z999", "é" * 60, n, "x" * 40, NOW, "no_show") for n in range(12)],
        waiting_count=99_999,
        waiting_by_service={f"{n:02d}" + "x" * 38: 9_999 for n in range(40)},
        eta_minutes=(1_200, 2_400),
    )

    fits = notices.moved_with_state(1_234, "called", display_body(busy, PARIS), "0" * 16)
    too_long = notices.moved_with_state(1_234, "called", display_body(longest, PARIS), "0" * 16)

    assert fits is not None
    assert len(fits) < 2_500 < notices.LONGEST_NOTICE < 8_000
    assert too_long is None


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"[1, 2]",
        b'{"resync":true}',
        b'{"site": 1, "seq": 3, "kind": "called"}',
        b'{"site": 1, "seq": 3, "kind": "called", "state": {"seq": 3}}',
    ],
)
def test_a_notice_without_a_whole_state_asks_for_a_read(payload: bytes) -> None:
    assert notices.read(payload).state is None


class Channels:
    """What the hub publishes, kept."""

    def __init__(self) -> None:
        self.published: list[dict[str, Any]] = []

    def publish(self, data: bytes, channels: str) -> None:
        self.published.append(json.loads(data))


def hub_with(channels: Channels, db: Database | None = None) -> Hub:
    return Hub(channels, db, lambda: NOW, namespace="test", per_address=10)  # type: ignore[arg-type]


def test_changes_made_here_go_out_with_the_state_read_after_them() -> None:
    channels = Channels()
    hub = hub_with(channels)
    feed = SiteFeed(site_id=1, slug="paris-15", timezone=PARIS)
    made = [(5, "issued"), (6, "called")]

    hub._tell_others(feed, made, state(6))
    with_state = channels.published[:]
    channels.published.clear()
    hub._tell_others(feed, made, state(5))  # read before the last change: not that state
    older = channels.published[:]
    channels.published.clear()
    hub._tell_others(feed, made, None)  # the read failed
    unread = channels.published[:]

    assert [(m["seq"], m["kind"], m["from"]) for m in with_state] == [(6, "called", hub.instance)]
    assert notices.state_of(with_state[0]["state"]) == state(6)
    assert older == unread == [{"site": 1, "seq": s, "kind": k} for s, k in made]


def moved(seq: int, action: str) -> events.QueueMoved:
    return events.QueueMoved(
        at=NOW, site_id=1, seq=seq, action=action, ticket_id=seq, ticket_number=f"A{seq:03d}",
        station_id=None, agent_id=None,
    )  # fmt: skip


async def test_the_others_are_told_at_the_commit_when_its_state_covers_what_waits() -> None:
    """A commit with the state read in its transaction tells the others at once, with that
    state, of its changes and of those still waiting for the refresher; one without (the
    read failed, or was not due) leaves its changes to the refresher, which reads."""
    channels = Channels()
    hub = hub_with(channels)
    feed = hub.feeds[1] = SiteFeed(site_id=1, slug="paris-15", timezone=PARIS)
    feed.displays.add(Connection(None, "127.0.0.1"))  # type: ignore[arg-type]

    await hub.publish([moved(5, "issued")])  # no state read with it
    waiting = channels.published[:], feed.outgoing[:]
    await hub.publish([moved(6, "called"), StateRead(1, state(6))])

    assert waiting == ([], [(5, "issued")])
    assert [(m["seq"], m["kind"], m["from"]) for m in channels.published] == [
        (6, "called", hub.instance)
    ]
    assert feed.outgoing == []
    assert feed.pushed == state(6)
    assert feed.kinds == ["issued", "called"]
    assert feed.dirty.is_set()


async def test_a_waiting_model_read_with_a_state_is_kept_once_committed_unless_one_is_newer() -> (
    None
):
    hub = hub_with(Channels())
    feed = hub.feeds[1] = SiteFeed(site_id=1, slug="paris-15", timezone=PARIS)
    feed.displays.add(Connection(None, "127.0.0.1"))  # type: ignore[arg-type]
    older, newer = WaitingModel(stations=2, average_minutes=20), WaitingModel(3, 15)

    await hub.publish([moved(5, "issued"), StateRead(1, state(5), newer, 200.0)])
    kept = feed.model, feed.model_read_at
    await hub.publish([moved(6, "called"), StateRead(1, state(6), older, 100.0)])

    assert kept == (newer, 200.0)
    assert (feed.model, feed.model_read_at) == (newer, 200.0)
    assert feed.pushed == state(6)


class PassingHub(Hub):
    """A hub whose refreshes only record the state they were given."""

    def __init__(self) -> None:  # no channels or database needed here
        self.given: list[DisplayState | None] = []
        self.instance = "here"

    async def _refresh(
        self, feed: SiteFeed, kind: str, pushed: DisplayState | None = None
    ) -> DisplayState | None:
        self.given.append(pushed)
        return None


async def one_refresh(hub: Hub, feed: SiteFeed) -> None:
    """The feed's refresher, until it has refreshed once."""
    task = asyncio.create_task(hub._refresh_forever(feed))
    try:
        for _ in range(100):
            await asyncio.sleep(0)
            if not feed.dirty.is_set():
                break
    finally:
        task.cancel()


def heard(feed: SiteFeed, payload: bytes) -> None:
    """What `Hub._listen` does with `payload`."""
    feed.hear(notices.read(payload))


def with_state(seq: int) -> bytes:
    data = notices.moved_with_state(1, "called", display_body(state(seq), PARIS), "there")
    assert data is not None
    return data


async def test_states_heard_together_are_given_without_a_read_the_newest_only() -> None:
    hub = PassingHub()
    feed = SiteFeed(site_id=1, slug="paris-15", timezone=PARIS)
    for seq in (8, 9, 7):  # from two other instances, out of order
        heard(feed, with_state(seq))

    await one_refresh(hub, feed)

    assert hub.given == [state(9)]


async def test_a_notice_heard_without_its_state_makes_the_refresh_read() -> None:
    hub = PassingHub()
    feed = SiteFeed(site_id=1, slug="paris-15", timezone=PARIS)
    heard(feed, with_state(8))
    heard(feed, notices.moved(1, 9, "issued"))

    await one_refresh(hub, feed)

    assert hub.given == [None]


@pytest.fixture
async def empty_db() -> AsyncIterator[Database]:
    database = Database("sqlite+aiosqlite:///:memory:")
    yield database
    await database.dispose()


class Socket:
    async def send_text(self, message: str) -> None:  # pragma: no cover (no writer here)
        raise AssertionError


def messages(connection: Connection) -> list[dict[str, Any]]:
    found = []
    while not connection.outbox.empty():
        found.append(json.loads(connection.outbox.get_nowait()))
    return found


async def test_a_state_given_by_another_instance_is_sent_without_a_query(
    empty_db: Database,
) -> None:
    queries: list[str] = []
    event.listen(
        empty_db.engine.sync_engine, "before_cursor_execute", lambda *a: queries.append(a[2])
    )
    hub = hub_with(Channels(), empty_db)
    feed = SiteFeed(site_id=1, slug="paris-15", timezone=PARIS)
    feed.opening, feed.day, feed.sent_seq = (NOW, OPEN), NOW.date(), 7
    screen = Connection(Socket(), "192.0.2.1")  # type: ignore[arg-type]
    screen.started, screen.seq = True, 7  # shown its snapshot of 7
    feed.displays.add(screen)

    await hub._refresh(feed, "called", state(8, calls=2))
    await hub._refresh(feed, "update", state(6))  # older than what the screen holds

    assert queries == []
    sent = messages(screen)
    assert [(m["type"], m["seq"]) for m in sent] == [("called", 8)]
    assert sent[0]["called"] == display_body(state(8, calls=2), PARIS)["called"]
    assert feed.state == state(8, calls=2)  # what a screen that comes next is shown
