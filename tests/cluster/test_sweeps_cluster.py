"""The daily retention sweep runs once a day across instances, however many fire it.

The sweep is due at 03:30 in GUICHET_TIMEZONE. Rather than wait for the night, the
instances here get a time zone of their own, a fixed UTC offset to the second (a TZif
file found through PYTHONTZPATH), chosen so that 03:30 there comes a few seconds after
they start: both fire the sweep at the same instant, as every replica would each night.
"""

from __future__ import annotations

import asyncio
import json
import re
import struct
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from app.db import Database
from app.notify.models import OutboxMessage, SweepRun
from app.sites.models import Site
from tests.cluster.conftest import SITE, environment
from tests.servers import Server, running

pytestmark = [pytest.mark.slow, pytest.mark.postgresql]
ZONE = "Guichet/SweepSoon"
SWEEP_AT = timedelta(hours=3, minutes=30)
# Two instances start in a few seconds; a loaded machine may take several times that.
STARTED_WITHIN_SECONDS = 25
RAN_WITHIN_SECONDS = 15
DAY = 24 * 3600


def fixed_offset_zone(folder: Path, offset_seconds: int) -> None:
    """Write the TZif file of a zone `offset_seconds` ahead of UTC, for ever, as `ZONE`
    under `folder` (RFC 8536: version 2, no transitions, one local time type)."""

    def block() -> bytes:
        counts = struct.pack(">6l", 0, 0, 0, 0, 1, 4)  # one type, four characters
        return b"TZif2" + bytes(15) + counts + struct.pack(">lBB", offset_seconds, 0, 0) + b"SWP\0"

    path = folder / ZONE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(block() + block() + b"\n\n")


def offset_for_sweep_at(instant: datetime) -> int:
    """The UTC offset, in seconds, at which `instant` reads 03:30:00 on the wall clock."""
    since_midnight = instant.hour * 3600 + instant.minute * 60 + instant.second
    offset = (int(SWEEP_AT.total_seconds()) - since_midnight) % DAY
    return offset - DAY if offset > DAY // 2 else offset


async def an_old_sent_message(db: Database, now: datetime) -> int:
    """A message sent a year ago, whose body the sweep must purge."""
    async with db.writing() as session:
        site = await session.scalar(select(Site.id).where(Site.slug == SITE))
        a_year_ago = now - timedelta(days=365)
        message = OutboxMessage(
            idempotency_key="old:1",
            site_id=site,
            kind="follow_up",
            channel="email",
            recipient="old@example.org",
            data={"token": "x" * 32, "number": "A001"},
            send_after=a_year_ago,
            status="sent",
            attempts=1,
            created_at=a_year_ago,
            sent_at=a_year_ago,
        )
        session.add(message)
        await session.flush()
        return message.id


def retention_runs_fired(server: Server) -> float:
    """How many times this instance's scheduler fired the retention job (run or not)."""
    text = httpx.get(f"{server.base}/metrics", timeout=5).text
    found = re.search(
        r'^guichet_scheduler_runs_total\{job="retention",result="ok"\} (\S+)$', text, re.M
    )
    return float(found.group(1)) if found else 0.0


def sweeps_logged(servers: list[Server]) -> list[dict[str, object]]:
    lines = [line for server in servers for line in server.output().splitlines()]
    entries = [json.loads(line) for line in lines if line.startswith("{")]
    return [entry for entry in entries if entry.get("message") == "retention sweep"]


async def test_two_instances_firing_the_daily_sweep_at_once_run_it_once(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    old = await an_old_sent_message(db, now)
    fires_at = now.replace(microsecond=0) + timedelta(seconds=STARTED_WITHIN_SECONDS)
    offset = offset_for_sweep_at(fires_at)
    zones = tmp_path / "zones"
    fixed_offset_zone(zones, offset)
    settings = environment(
        database_url,
        GUICHET_TIMEZONE=ZONE,
        GUICHET_LOG_LEVEL="INFO",
        GUICHET_LOG_FORMAT="json",
        PYTHONTZPATH=str(zones),
    )

    with running(tmp_path, settings, count=2) as servers:
        started = datetime.now(UTC)
        assert started < fires_at - timedelta(seconds=1), "the instances started too slowly"
        deadline = time.monotonic() + (fires_at - started).total_seconds() + RAN_WITHIN_SECONDS
        while time.monotonic() < deadline:
            if all(retention_runs_fired(server) >= 1 for server in servers):
                break
            await asyncio.sleep(0.5)
        fired = [retention_runs_fired(server) for server in servers]
        logged = sweeps_logged(servers)

    async with db.session() as session:
        runs = list(await session.scalars(select(SweepRun).where(SweepRun.name == "retention")))
        purged = await session.get(OutboxMessage, old)
    day = (fires_at + timedelta(seconds=offset)).date().isoformat()
    assert fired == [1.0, 1.0], "each instance fires the sweep once"
    assert [run.period for run in runs] == [day]
    assert abs(runs[0].started_at - fires_at) < timedelta(seconds=5)
    assert len(logged) == 1, f"the sweep ran {len(logged)} times"
    assert logged[0]["swept"] == {
        "appointments": 0,
        "tickets": 0,
        "answers": 0,
        "notes": 0,
        "messages": 1,
        "addresses": 0,
        "guards": 0,
    }
    assert purged is not None
    assert purged.purged_at is not None
    assert purged.data == {}
