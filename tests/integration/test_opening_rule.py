"""One rule for whether the mairie is open, at every door an usager looks through: while
it is closed, the tracking page, the ticket's GET and websocket, the lobby screen's GET
and websocket give no waiting estimate (`null`); while it is open, they all give one,
the same. And the live hub reads the site's two weeks of hours once a minute, however
busy the morning."""

from __future__ import annotations

import re
from datetime import date
from html import unescape
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from litestar.testing.websocket_test_session import WebSocketTestSession

from app.sites import opening
from app.sites.hours import SiteCalendar
from tests.conftest import Clock, Staff
from tests.integration.test_queue_api import Desk

CLIENT = AsyncTestClient[object]
FORCED = {"force_reason": "Rendez-vous avec l'assistante sociale"}
# 2026-12-01 is a Tuesday; the 15e opens 8 h 30 – 17 h 00 on weekdays.
BEFORE_OPENING = "2026-12-01 07:45"
MORNING = "2026-12-01 09:00"
WITHIN = 10  # seconds a message may take to come; a wait, not a measure


def text_of(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).replace("\u00a0", " ").split())


def listen(socket: WebSocketTestSession) -> dict[str, Any]:
    message: dict[str, Any] = socket.receive_json(timeout=WITHIN)
    return message


async def doors(client: CLIENT, token: str) -> dict[str, Any]:
    """What each door tells the holder of `token` of the wait: the tracking page (whether
    it gives an estimate), then the estimate of the ticket's GET and first websocket
    message, and of the lobby screen's GET and snapshot."""
    page = text_of((await client.get(f"/ticket/{token}")).text)
    ticket = (await client.get(f"/api/v1/tickets/{token}")).json()
    display = (await client.get("/api/v1/sites/paris-15/display")).json()
    with await client.websocket_connect(f"/ws/tickets/{token}") as socket:
        ticket_message = listen(socket)
    with await client.websocket_connect("/ws/sites/paris-15/display") as socket:
        snapshot = listen(socket)
    assert ticket_message["type"] == "ticket"
    assert snapshot["type"] == "snapshot"
    return {
        "page": "Attente estimée" in page,
        "page_says_closed": "La mairie est fermée en ce moment" in page,
        "ticket": ticket["eta_minutes"],
        "ticket_socket": ticket_message["eta_minutes"],
        "display": display["waiting"]["eta_minutes"],
        "display_socket": snapshot["waiting"]["eta_minutes"],
        "display_open": (display["opening"]["open"], snapshot["opening"]["open"]),
    }


async def test_while_the_mairie_is_closed_no_door_gives_an_estimate(
    client: CLIENT, staff: Staff, clock: Clock
) -> None:
    clock.set(BEFORE_OPENING)
    desk = await Desk(client, staff).open()
    mine = await desk.walk_in(**FORCED)
    await desk.walk_in(**FORCED)

    seen = await doors(client, mine["token"])

    assert seen == {
        "page": False,
        "page_says_closed": True,
        "ticket": None,
        "ticket_socket": None,
        "display": None,
        "display_socket": None,
        "display_open": (False, False),
    }


async def test_while_the_mairie_is_closed_the_live_messages_after_a_change_give_none_either(
    client: CLIENT, staff: Staff, clock: Clock
) -> None:
    clock.set(BEFORE_OPENING)
    desk = await Desk(client, staff).open()
    mine = await desk.walk_in(**FORCED)
    with await client.websocket_connect(f"/ws/tickets/{mine['token']}") as phone:
        first = listen(phone)
        with await client.websocket_connect("/ws/sites/paris-15/display") as screen:
            snapshot = listen(screen)
            # Someone forced in ahead of mine: my place changes, the screens' count too.
            await desk.walk_in(priority=True, **FORCED)
            update = listen(screen)
            moved = listen(phone)

    assert first["position"] == 1
    assert moved["position"] == 2
    assert [first["eta_minutes"], moved["eta_minutes"]] == [None, None]
    assert update["seq"] == snapshot["seq"] + 1
    assert update["waiting"]["count"] == 2
    assert update["waiting"]["eta_minutes"] is None
    assert update["opening"]["open"] is False


async def test_while_the_mairie_is_open_every_door_gives_the_same_estimate(
    client: CLIENT, staff: Staff, clock: Clock
) -> None:
    clock.set(MORNING)
    desk = await Desk(client, staff).open()
    mine = await desk.walk_in()
    await desk.walk_in()

    seen = await doors(client, mine["token"])

    assert seen["page"] is True
    assert seen["page_says_closed"] is False
    assert seen["ticket"] is not None
    assert seen["ticket_socket"] == seen["ticket"]
    assert seen["display"] is not None
    assert seen["display_socket"] == seen["display"]
    assert seen["display_open"] == (True, True)


@pytest.mark.parametrize("change", ["closure", "exception"])
async def test_a_change_of_the_hours_reaches_the_screens_and_the_phones_at_once(
    client: CLIENT, staff: Staff, clock: Clock, change: str
) -> None:
    """Nothing in the queue moves: the change itself tells them (keyless displays and
    phones had to wait for the next call, or poll)."""
    clock.set(MORNING)
    desk = await Desk(client, staff).open()
    mine = await desk.walk_in()
    manager = await staff.headers("manager", "paris-15")
    admin = "/api/v1/admin/sites/paris-15"
    with await client.websocket_connect(f"/ws/tickets/{mine['token']}") as phone:
        before_phone = listen(phone)
        with await client.websocket_connect("/ws/sites/paris-15/display") as screen:
            before = listen(screen)
            if change == "closure":
                body = {"starts_at": "2026-12-01T08:55:00+01:00", "reason": "Coupure"}
                body["ends_at"] = "2026-12-01T10:00:00+01:00"
                made = await client.post(f"{admin}/closures", json=body, headers=manager)
            else:
                path = f"{admin}/hours-exceptions/2026-12-01"
                made = await client.put(path, json={"reason": "Travaux"}, headers=manager)
            after = listen(screen)
            after_phone = listen(phone)

    assert made.status_code in (200, 201), made.text
    assert before["opening"]["open"] is True
    assert before_phone["eta_minutes"] is not None
    assert after["type"] == "snapshot"
    assert after["seq"] == before["seq"]
    assert after["opening"]["open"] is False
    assert after["waiting"]["eta_minutes"] is None
    assert after_phone["eta_minutes"] is None


@pytest.fixture
def two_week_reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[date, date]]:
    """The reads of a site's calendar over more than its day (whether it is open and when
    it opens next), as the app makes them: the real reader on the real database, counted.
    A walk-in's own check reads the day alone and is not counted."""
    reads: list[tuple[date, date]] = []
    real = opening.site_calendars

    async def counted(session: Any, sites: Any, first: date, last: date) -> dict[int, SiteCalendar]:
        if last > first:
            reads.append((first, last))
        return await real(session, sites, first, last)

    monkeypatch.setattr(opening, "site_calendars", counted)
    return reads


async def test_twenty_changes_in_one_minute_read_the_hours_once_for_the_screens_and_phones(
    client: CLIENT, staff: Staff, clock: Clock, two_week_reads: list[tuple[date, date]]
) -> None:
    clock.set(MORNING)
    desk = await Desk(client, staff).open()
    mine = await desk.walk_in()
    with await client.websocket_connect(f"/ws/tickets/{mine['token']}") as phone:
        listen(phone)
        with await client.websocket_connect("/ws/sites/paris-15/display") as screen:
            start = listen(screen)["seq"]
            for second in range(1, 21):
                clock.set(f"2026-12-01 09:00:{second:02d}")
                await desk.walk_in()
            last = start
            while last < start + 20:
                last = listen(screen)["seq"]
            in_the_minute = len(two_week_reads)
            # As the minute turns, the hours read change nothing before noon: no read.
            clock.set("2026-12-01 09:01:00")
            await desk.walk_in()
            while last < start + 21:
                last = listen(screen)["seq"]
            as_it_turned = len(two_week_reads)
            # The clock's read of the new minute is overdue (it runs in the app, not here).
            clock.set("2026-12-01 09:01:20")
            await desk.walk_in()
            while last < start + 22:
                last = listen(screen)["seq"]

    assert in_the_minute == 1
    assert as_it_turned == 1
    assert len(two_week_reads) == 2
