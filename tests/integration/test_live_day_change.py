"""At midnight in Paris the lobby screens leave the day's calls, on both databases with the
clock injected: a display without a key, as much as a paired screen, is sent the new
day's state by itself, though nothing moved in the queue since the last call."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from litestar.testing.websocket_test_session import WebSocketTestSession

from app.live import hub
from tests.conftest import Clock, Staff
from tests.integration.test_queue_api import Desk

CLIENT = AsyncTestClient[object]
DISPLAY = "/ws/sites/paris-15/display"
WITHIN = 10  # seconds a message may take to come; a wait, not a measure


def listen(socket: WebSocketTestSession) -> dict[str, Any]:
    message: dict[str, Any] = socket.receive_json(timeout=WITHIN)
    return message


def next_shown(socket: WebSocketTestSession, seq: int, at_most: int = 5) -> dict[str, Any]:
    """The next message a display shows, holding the state `seq`: a snapshot, or a change
    after `seq` (display.js passes over a change it already shows; the hub may send the
    state again as a screen's QR code leaves it)."""
    for _ in range(at_most):
        message = listen(socket)
        if message["type"] == "snapshot" or message["seq"] > seq:
            return message
    raise AssertionError(f"nothing shown in {at_most} messages")


@pytest.fixture
def checked_often(monkeypatch: pytest.MonkeyPatch) -> None:
    """The hub looks at the clock ten times a second (the test's clock jumps).
    Asked for before the client: the hub's first wait begins as the app starts, and
    would otherwise be the full ten seconds a test waits for a message."""
    monkeypatch.setattr(hub, "ARRIVAL_CHECK_SECONDS", 0.1)


async def test_after_midnight_every_screen_is_sent_a_day_without_yesterdays_calls(
    checked_often: None, client: CLIENT, staff: Staff, clock: Clock
) -> None:
    clock.set("2026-12-01 16:30")  # a Tuesday; the 15e closes at 17 h
    manager = await staff.headers("manager", "paris-15")
    paired = await client.post(
        "/api/v1/admin/sites/paris-15/screens", json={"label": "Hall"}, headers=manager
    )
    key = paired.json()["key"]
    desk = await Desk(client, staff).open()
    ticket = await desk.walk_in()
    await desk.call()

    with (
        await client.websocket_connect(DISPLAY) as keyless,
        await client.websocket_connect(f"{DISPLAY}?ecran={key}") as screen,
    ):
        evening = [listen(keyless), listen(screen)]
        seq = evening[0]["seq"]
        clock.set("2026-12-01 23:59")
        closed = next_shown(screen, seq)  # its QR code leaves at closing
        clock.set("2026-12-02 00:00:30")
        keyless_next, screen_next = next_shown(keyless, seq), next_shown(screen, seq)
    state = (await client.get("/api/v1/sites/paris-15/display")).json()

    assert [m["called"][0]["number"] for m in evening] == [ticket["number"]] * 2
    assert closed["called"][0]["number"] == ticket["number"]
    for message in (keyless_next, screen_next):
        assert message["type"] == "snapshot"
        assert message["called"] == []
        assert message["seq"] == seq  # nothing moved: the day turned
        assert message["waiting"]["count"] == 0
    assert "arrival" not in keyless_next
    assert state["called"] == []
