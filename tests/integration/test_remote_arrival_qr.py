"""The arrival QR code on the lobby screens, on both databases with the clock injected:
a paired screen shows the mairie's code of the moment as a QR code while it is open, and
is sent the next one by itself when the code changes; a display without a key and the
public GET never carry it; while the mairie is closed, no screen shows one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from litestar.testing.websocket_test_session import WebSocketTestSession

from app.config import Settings
from app.db import Database
from app.live import hub
from app.live.arrival import ArrivalCodes
from app.queue.arrival_codes import arrival_code
from app.sites.service import get_site
from tests.conftest import Clock, Staff
from tests.integration.test_queue_api import Desk

CLIENT = AsyncTestClient[object]
SCREENS = "/api/v1/admin/sites/paris-15/screens"
DISPLAY = "/ws/sites/paris-15/display"
# 2026-12-01 is a Tuesday; the 15e opens 8 h 30 – 17 h 00 on weekdays.
BEFORE_OPENING = "2026-12-01 07:45"
MORNING = "2026-12-01 09:00"
WITHIN = 10  # seconds a message may take to come; a wait, not a measure


def listen(socket: WebSocketTestSession) -> dict[str, Any]:
    message: dict[str, Any] = socket.receive_json(timeout=WITHIN)
    return message


async def paired_key(client: CLIENT, staff: Staff) -> str:
    """The key of a screen of paris-15 its manager just paired."""
    manager = await staff.headers("manager", "paris-15")
    paired = await client.post(SCREENS, json={"label": "Salle d'attente"}, headers=manager)
    assert paired.status_code == 201, paired.text
    key: str = paired.json()["key"]
    return key


async def qr_at(db: Database, settings: Settings, clock: Clock) -> str:
    """The QR code of paris-15's arrival code at the clock's time, as drawn for it."""
    async with db.session() as session:
        site = await get_site(session, "paris-15")
    codes = ArrivalCodes(settings.secret_key, settings.base_url)
    return codes.at(site.id, "paris-15", clock()).qr


def next_snapshot(
    screen: Any, wanted: Callable[[dict[str, Any]], bool], at_most: int = 5
) -> dict[str, Any]:
    """The first snapshot the screen is sent that is `wanted`, past the messages the hub
    may send first (an update of the queue, the state again as the clock turns): a new
    code, or none, is sent as a snapshot."""
    for _ in range(at_most):
        message = listen(screen)
        if message["type"] == "snapshot" and wanted(message):
            return message
    raise AssertionError(f"no such snapshot in {at_most} messages")


@pytest.fixture
def checked_often(monkeypatch: pytest.MonkeyPatch) -> None:
    """The hub looks whether the minute turned ten times a second (the clock is the test's:
    it jumps, it does not run).
    Asked for before the client: the hub's first wait begins as the app starts, and
    would otherwise be the full ten seconds a test waits for a message."""
    monkeypatch.setattr(hub, "ARRIVAL_CHECK_SECONDS", 0.1)


async def test_a_paired_screen_shows_the_arrival_code_of_the_moment_as_a_qr_code(
    client: CLIENT, staff: Staff, clock: Clock, db: Database, settings: Settings
) -> None:
    clock.set(MORNING)
    key = await paired_key(client, staff)

    with await client.websocket_connect(f"{DISPLAY}?ecran={key}") as screen:
        snapshot = listen(screen)

    assert snapshot["type"] == "snapshot"
    assert snapshot["opening"]["open"] is True
    assert snapshot["arrival"]["qr"].startswith("data:image/svg+xml")
    assert snapshot["arrival"]["qr"] == await qr_at(db, settings, clock)
    async with db.session() as session:
        site = await get_site(session, "paris-15")
    # The six digits too, for those who type them on their ticket's page.
    assert snapshot["arrival"]["code"] == arrival_code(settings.secret_key, site.id, clock())[0]


async def test_a_display_without_a_key_and_the_public_get_never_carry_the_code(
    client: CLIENT, staff: Staff, clock: Clock
) -> None:
    clock.set(MORNING)
    key = await paired_key(client, staff)
    desk = await Desk(client, staff).open()

    with await client.websocket_connect(DISPLAY) as public:
        public_snapshot = listen(public)
        with await client.websocket_connect(f"{DISPLAY}?ecran={key}") as screen:
            listen(screen)
            await desk.walk_in()
            paired_update = listen(screen)
            public_update = listen(public)
    state = (await client.get("/api/v1/sites/paris-15/display")).json()

    assert public_snapshot["opening"]["open"] is True
    assert "arrival" not in public_snapshot
    assert "arrival" not in public_update
    assert "arrival" not in state
    assert public_update["seq"] == paired_update["seq"]  # the same queue, less the code
    assert paired_update["arrival"]["qr"].startswith("data:image/svg+xml")


async def test_while_the_mairie_is_closed_a_paired_screen_shows_no_qr_code(
    client: CLIENT, staff: Staff, clock: Clock
) -> None:
    clock.set(BEFORE_OPENING)
    key = await paired_key(client, staff)

    with await client.websocket_connect(f"{DISPLAY}?ecran={key}") as screen:
        snapshot = listen(screen)

    assert snapshot["opening"]["open"] is False
    assert "arrival" not in snapshot


async def test_five_minutes_later_a_paired_screen_is_sent_the_new_code_by_itself(
    checked_often: None,
    client: CLIENT,
    staff: Staff,
    clock: Clock,
    db: Database,
    settings: Settings,
) -> None:
    start = clock.set(MORNING)
    key = await paired_key(client, staff)
    drawn_first = await qr_at(db, settings, clock)

    with await client.websocket_connect(f"{DISPLAY}?ecran={key}") as screen:
        first = listen(screen)
        clock.now = start + timedelta(minutes=5)
        # No change in the queue: the new code alone.
        then = next_snapshot(screen, lambda m: m.get("arrival") != first.get("arrival"))

    assert first["arrival"]["qr"] == drawn_first
    assert then["type"] == "snapshot"
    assert then["seq"] == first["seq"]
    assert then["arrival"]["qr"] == await qr_at(db, settings, clock)
    assert then["arrival"]["qr"] != first["arrival"]["qr"]


async def test_when_the_mairie_closes_the_qr_code_leaves_its_paired_screens(
    checked_often: None, client: CLIENT, staff: Staff, clock: Clock
) -> None:
    clock.set("2026-12-01 16:59")
    key = await paired_key(client, staff)

    with await client.websocket_connect(f"{DISPLAY}?ecran={key}") as screen:
        before = listen(screen)
        clock.set("2026-12-01 17:00")
        after = next_snapshot(screen, lambda m: "arrival" not in m)

    assert before["arrival"]["qr"].startswith("data:image/svg+xml")
    assert after["type"] == "snapshot"
    assert "arrival" not in after
