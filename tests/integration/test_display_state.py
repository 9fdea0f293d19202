"""What a lobby screen is sent, read in one statement: the twelve latest calls of the day,
newest first (two asked at one instant: the second stamped just after), how many wait for each
service, and the queue's seq; and a station asking while nobody waits, which reads
nothing under the queue's lock, against one that is out of service or has people to
call."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from litestar.testing import AsyncTestClient

from tests.conftest import Clock, Staff

SERVICES = ["caf", "ants", "impots"]
DISPLAY = "/api/v1/sites/paris-15/display"


async def test_a_screen_is_sent_the_twelve_latest_calls_newest_first_and_who_waits(
    client: AsyncTestClient[object], staff: Staff, clock: Clock
) -> None:
    clock.set("2026-12-01 10:00")
    reception = await staff.headers("reception", "paris-15")
    desk = await staff.headers("facilitator", "paris-15")
    stations = [s["id"] for s in (await client.get("/api/v1/sites/paris-15")).json()["stations"]]
    issued = []
    for n in range(17):
        answer = await client.post(
            "/api/v1/sites/paris-15/tickets",
            json={"service": SERVICES[n % 3]},
            headers=reception,
        )
        assert answer.status_code == 201, answer.text
        issued.append(answer.json())
    called: list[dict[str, Any]] = []
    for n in range(14):
        if n != 7:  # the 7th and 8th calls are made at one instant
            clock.now += timedelta(minutes=1)
        station = stations[n % len(stations)]
        answer = await client.post(f"/api/v1/stations/{station}/call-next", headers=desk)
        assert answer.status_code == 200, answer.text
        called.append(answer.json())
        if n < 10:  # the first ten are over; the last four still called
            for move in ("start", "finish"):
                path = f"/api/v1/tickets/{answer.json()['id']}/{move}"
                assert (await client.post(path, headers=desk)).status_code == 200

    body = (await client.get(DISPLAY)).json()

    newest_first = sorted(
        called,
        key=lambda t: (datetime.fromisoformat(t["called_at"]).astimezone(UTC), t["id"]),
        reverse=True,
    )
    assert [c["number"] for c in body["called"]] == [t["number"] for t in newest_first[:12]]
    # Two calls asked at one instant: the second is stamped just after the first.
    instants = [datetime.fromisoformat(c["called_at"]) for c in body["called"][6:8]]
    assert instants[0] - instants[1] == timedelta(milliseconds=1)
    assert [c["status"] for c in body["called"]] == ["called"] * 4 + ["done"] * 8
    assert body["called"][0]["station_id"] == stations[13 % len(stations)]
    left = [t for t in issued if t["number"] not in {c["number"] for c in called}]
    assert body["waiting"]["count"] == len(left) == 3
    expected: dict[str, int] = {}
    for ticket in left:
        expected[ticket["service"]] = expected.get(ticket["service"], 0) + 1
    assert body["waiting"]["by_service"] == expected

    await client.post("/api/v1/sites/paris-15/tickets", json={"service": "caf"}, headers=reception)
    after = (await client.get(DISPLAY)).json()
    assert after["seq"] == body["seq"] + 1
    assert after["waiting"]["count"] == 4


async def test_a_screen_of_a_day_with_no_call_and_nobody_waiting(
    client: AsyncTestClient[object], clock: Clock
) -> None:
    clock.set("2026-12-01 10:00")

    body = (await client.get(DISPLAY)).json()

    assert body["called"] == []
    assert body["waiting"]["count"] == 0
    assert body["waiting"]["by_service"] == {}
    assert body["seq"] == 0


async def test_a_station_asking_while_nobody_waits_is_told_so_unless_it_is_out_of_service(
    client: AsyncTestClient[object], staff: Staff, clock: Clock
) -> None:
    clock.set("2026-12-01 10:00")
    manager = await staff.headers("manager", "paris-15")
    reception = await staff.headers("reception", "paris-15")
    desk = await staff.headers("facilitator", "paris-15")
    stations = [s["id"] for s in (await client.get("/api/v1/sites/paris-15")).json()["stations"]]
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    outage = {
        "station_id": stations[0],
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=3)).isoformat(),
        "reason": "écran cassé",
    }
    nobody = await client.post(f"/api/v1/stations/{stations[0]}/call-next", headers=desk)
    made = await client.post("/api/v1/admin/sites/paris-15/outages", json=outage, headers=manager)
    assert made.status_code == 201, made.text
    out = await client.post(f"/api/v1/stations/{stations[0]}/call-next", headers=desk)
    other = await client.post(f"/api/v1/stations/{stations[1]}/call-next", headers=desk)
    ticket = await client.post(
        "/api/v1/sites/paris-15/tickets", json={"service": "caf"}, headers=reception
    )
    still_out = await client.post(f"/api/v1/stations/{stations[0]}/call-next", headers=desk)
    taken = await client.post(f"/api/v1/stations/{stations[1]}/call-next", headers=desk)
    again = await client.post(f"/api/v1/stations/{stations[1]}/call-next", headers=desk)

    assert nobody.status_code == 204
    assert out.status_code == 409
    assert out.json()["code"] == "station_out_of_service"
    assert other.status_code == 204
    assert still_out.status_code == 409
    assert taken.status_code == 200
    assert taken.json()["number"] == ticket.json()["number"]
    assert again.status_code == 204


async def test_a_call_that_waited_for_the_lock_is_shown_after_the_one_made_meanwhile(
    client: AsyncTestClient[object], staff: Staff, clock: Clock
) -> None:
    clock.set("2026-12-01 10:05")
    reception = await staff.headers("reception", "paris-15")
    desk = await staff.headers("facilitator", "paris-15")
    stations = [s["id"] for s in (await client.get("/api/v1/sites/paris-15")).json()["stations"]]
    for _ in range(2):
        await client.post(
            "/api/v1/sites/paris-15/tickets", json={"service": "caf"}, headers=reception
        )
    first = (await client.post(f"/api/v1/stations/{stations[0]}/call-next", headers=desk)).json()
    clock.set("2026-12-01 10:04:59")  # its request came first, but had the lock after the other
    second = (await client.post(f"/api/v1/stations/{stations[1]}/call-next", headers=desk)).json()

    body = (await client.get(DISPLAY)).json()

    assert [c["number"] for c in body["called"]] == [second["number"], first["number"]]
    stamped = [datetime.fromisoformat(t["called_at"]) for t in (first, second)]
    assert stamped[1] > stamped[0]
    assert stamped[1] - stamped[0] < timedelta(seconds=1)


async def test_a_ticket_left_waiting_from_the_day_before_is_not_called_today(
    client: AsyncTestClient[object], staff: Staff, clock: Clock
) -> None:
    """Before the lock, a call looks for anyone waiting within a day of UTC's date (the
    site's own day is not known yet): yesterday's ticket, never closed, sends the call
    under the lock, which reads today's and answers nobody."""
    clock.set("2026-12-01 16:00")
    reception = await staff.headers("reception", "paris-15")
    desk = await staff.headers("facilitator", "paris-15")
    stations = [s["id"] for s in (await client.get("/api/v1/sites/paris-15")).json()["stations"]]
    yesterday = await client.post(
        "/api/v1/sites/paris-15/tickets", json={"service": "caf"}, headers=reception
    )
    assert yesterday.status_code == 201, yesterday.text
    clock.set("2026-12-02 10:00")  # nobody closed the day: the ticket still waits

    today = await client.post(f"/api/v1/stations/{stations[0]}/call-next", headers=desk)
    elsewhere = await staff.headers("facilitator", "paris-14")
    other_site = (await client.get("/api/v1/sites/paris-14")).json()["stations"][0]["id"]
    there = await client.post(f"/api/v1/stations/{other_site}/call-next", headers=elsewhere)
    unknown = await client.post("/api/v1/stations/999999/call-next", headers=desk)

    assert today.status_code == 204
    assert there.status_code == 204
    assert unknown.status_code == 404
