"""An instance that stops while one of its periodic rounds runs says so in one line: the
round is cut short (its transaction rolled back, done again by the next round somewhere)
and is not logged as a job that failed, with a traceback, at every deployment."""

from __future__ import annotations

import asyncio
import logging

import pytest

from app.config import Settings
from app.db import Database
from app.notify.dispatcher import Dispatcher
from app.scheduler import Scheduler, transports
from tests.conftest import Clock


async def test_a_round_cut_short_by_the_stop_is_not_logged_as_a_failure(
    db: Database, settings: Settings, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    email, sms = transports(settings)
    dispatcher = Dispatcher(db, clock, base_url="", email=email, sms=sms, instance="test")
    rounds = Scheduler(db, settings, clock, dispatcher, "test")
    started, ended = asyncio.Event(), asyncio.Event()

    async def long_round() -> None:
        started.set()
        try:
            await asyncio.sleep(60)
        finally:
            ended.set()

    rounds._add(long_round, "long", "date")  # once, now
    rounds._scheduler.start()
    await asyncio.wait_for(started.wait(), timeout=10)
    with caplog.at_level(logging.INFO):
        await rounds.stop()
        await asyncio.wait_for(ended.wait(), timeout=10)  # the round cut short has ended

    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert "long: the round in progress stopped with the instance" in caplog.messages
