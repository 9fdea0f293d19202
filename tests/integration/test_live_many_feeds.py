"""The screens' clock check of an instance holding a network's feeds looks each feed up
once, not in a list of all of them: with a thousand places' screens, each minute's turn
once compared every feed with every other (about a million comparisons of dataclasses,
a quarter of a second with the event loop blocked, which every lobby screen of the
instance waited out)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from app.db import Database
from app.live.arrival import ArrivalCodes
from app.live.feeds import Connection, SiteFeed
from app.live.hub import Hub
from app.sites.opening import Opening
from tests.conftest import TEST_SECRET, Clock

FEEDS = 2_000


async def test_the_minute_turn_looks_each_feed_up_once(
    db: Database, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = clock.set("2026-12-01 23:30")
    hub = Hub(
        None,  # type: ignore[arg-type]  # nothing is published here
        db,
        clock,
        namespace="test",
        per_address=10,
        arrival=ArrivalCodes(TEST_SECRET, "http://127.0.0.1"),
    )
    for number in range(FEEDS):  # places unknown to the database: their opening is kept
        site_id = 1_000_000 + number
        feed = SiteFeed(site_id, f"place-{number}", ZoneInfo("Europe/Paris"))
        feed.day = feed.local_day(now)
        feed.opening = (now - timedelta(minutes=2), Opening(open=False))
        screen = Connection(None, "127.0.0.1", screen_id=site_id)  # type: ignore[arg-type]
        feed.displays.add(screen)
        hub.feeds[site_id] = feed
    compared = 0

    def counting(self: Any, other: object) -> bool:
        nonlocal compared
        compared += 1
        return self is other

    monkeypatch.setattr(SiteFeed, "__eq__", counting)
    monkeypatch.setattr(SiteFeed, "__hash__", object.__hash__)

    await hub._turn(now)

    assert compared < FEEDS  # a list looked up for each feed: about FEEDS² / 2
