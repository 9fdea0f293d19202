"""The queue from a phone, on both databases with the clock injected: joining while the
mairie is open and not while it is closed; one live ticket per mobile number across Paris,
even when two joins race; a remote ticket is never called before its holder arrives, and
is held (then closed) when its turn comes while they are away; the arrival code of the
moment lets them in, a stale or wrong one does not; leaving by the page."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from litestar.testing import AsyncTestClient

from app.config import Settings
from app.db import Database
from app.errors import Conflict, Forbidden
from app.queue import arrival_codes, remote
from app.queue.models import Ticket, TicketStatus
from app.sites.models import Site
from tests.conftest import Clock, Staff
from tests.integration.test_queue_api import Desk

CLIENT = AsyncTestClient[object]
# 2026-12-01 is a Tuesday; the 15e opens 8 h 30 – 17 h 00 on weekdays.
MORNING = "2026-12-01 09:00"
PHONE = "06 12 34 56 78"


async def join(client: CLIENT, slug: str = "paris-15", **fields: Any) -> Any:
    body = {"service": "caf", "phone": PHONE, "travel_minutes": 20, **fields}
    return await client.post(f"/api/v1/sites/{slug}/remote-tickets", json=body)


async def ticket_of(db: Database, token: str) -> Ticket:
    async with db.session() as session:
        from app.queue.views import ticket_by_token

        return await ticket_by_token(session, token)


def code_at(settings: Settings, site_id: int, clock: Clock) -> str:
    return arrival_codes.arrival_code(settings.secret_key, site_id, clock())[0]


async def test_one_joins_while_the_mairie_is_open_and_not_while_it_is_closed(
    client: CLIENT, clock: Clock
) -> None:
    clock.set("2026-12-01 07:45")
    closed_state = (await client.get("/api/v1/sites/paris-15/remote-queue")).json()
    refused = await join(client)
    clock.set(MORNING)
    open_state = (await client.get("/api/v1/sites/paris-15/remote-queue")).json()
    joined = await join(client)

    assert closed_state == {"open": False, "reason": "site_closed", "eta_minutes": None}
    assert refused.status_code == 409
    assert refused.json()["code"] == "site_closed"
    assert open_state["open"] is True
    assert "reason" not in open_state  # said only when one may not join
    assert joined.status_code == 201, joined.text
    body = joined.json()
    assert body["status"] == "remote"
    assert body["position"] == 1
    assert body["number"].startswith("A")


async def test_a_number_that_takes_no_texts_is_refused_with_422(
    client: CLIENT, clock: Clock
) -> None:
    clock.set(MORNING)

    landline = await join(client, phone="01 42 76 40 40")
    nonsense = await join(client, phone="not a number")

    assert landline.status_code == 422
    assert nonsense.status_code == 422


async def test_one_number_holds_one_live_ticket_across_paris(client: CLIENT, clock: Clock) -> None:
    clock.set(MORNING)

    first = await join(client)
    again_elsewhere = await join(client, "paris-20", phone="+33612345678")
    left = await client.post(f"/api/v1/tickets/{first.json()['token']}/leave")
    after_leaving = await join(client, "paris-20")

    assert first.status_code == 201
    assert again_elsewhere.status_code == 409
    assert again_elsewhere.json()["code"] == "phone_has_ticket"
    assert left.json() == {"status": "cancelled"}
    assert after_leaving.status_code == 201


async def test_two_joins_racing_with_one_number_at_two_mairies_give_one_ticket(
    db: Database, settings: Settings, clock: Clock
) -> None:
    now = clock.set(MORNING)

    async def one_join(slug: str) -> str:
        async with db.session() as session:
            try:
                await remote.join(
                    session,
                    slug,
                    service_code="caf",
                    phone=PHONE,
                    secret=settings.secret_key,
                    now=now,
                )
            except Conflict as refused:
                return refused.code
            return "joined"

    outcomes = await asyncio.gather(one_join("paris-15"), one_join("paris-20"))

    assert sorted(outcomes) == ["joined", "phone_has_ticket"]
    async with db.session() as session:
        live = await remote.live_ticket_of(session, "+33612345678")
    assert live is not None


async def test_a_remote_ticket_is_never_called_before_its_holder_arrives(
    client: CLIENT, staff: Staff, clock: Clock, db: Database, settings: Settings
) -> None:
    clock.set(MORNING)
    desk = await Desk(client, staff).open()
    token = (await join(client)).json()["token"]
    clock.set("2026-12-01 09:05")
    walk_in = await desk.walk_in()

    called = await desk.call()
    nobody = await desk.call("Poste 2")

    assert called.json()["number"] == walk_in["number"]
    assert nobody.status_code == 204  # the remote holder is not there: nobody to call
    held = await ticket_of(db, token)
    assert held.status == TicketStatus.REMOTE
    assert held.held_at is not None  # passed over while away: held for them

    # They come within the rejoin window: first in line, and the next call is theirs.
    clock.set("2026-12-01 09:12")
    site_id = held.site_id
    arrived = await client.post(
        f"/api/v1/tickets/{token}/arrive", json={"code": code_at(settings, site_id, clock)}
    )
    second_walk_in = await desk.walk_in()
    next_call = await desk.call("Poste 2")

    assert arrived.status_code == 200, arrived.text
    assert arrived.json()["status"] == "waiting"
    assert next_call.json()["number"] == held.number
    assert next_call.json()["number"] != second_walk_in["number"]


async def test_a_ticket_held_while_away_closes_after_the_rejoin_window(
    client: CLIENT, staff: Staff, clock: Clock, db: Database
) -> None:
    clock.set(MORNING)
    desk = await Desk(client, staff).open()
    token = (await join(client)).json()["token"]
    clock.set("2026-12-01 09:05")
    await desk.walk_in()
    await desk.call()
    held_at = (await ticket_of(db, token)).held_at
    assert held_at is not None
    tracked = (await client.get(f"/api/v1/tickets/{token}")).json()
    kept = held_at + timedelta(minutes=15)
    assert datetime.fromisoformat(tracked["held_until"]) == kept  # the API says until when

    almost = await remote.close_unanswered(db, held_at + timedelta(minutes=14))
    closed = await remote.close_unanswered(db, held_at + timedelta(minutes=15))

    assert (almost, closed) == (0, 1)
    assert (await ticket_of(db, token)).status == TicketStatus.CLOSED
    late = await client.post(f"/api/v1/tickets/{token}/arrive", json={"code": "000000"})
    assert late.status_code in (403, 409)


async def test_the_arrival_code_of_the_moment_lets_one_in_a_stale_or_wrong_one_does_not(
    client: CLIENT, clock: Clock, db: Database, settings: Settings
) -> None:
    clock.set(MORNING)
    token = (await join(client)).json()["token"]
    site_id = (await ticket_of(db, token)).site_id
    stale = code_at(settings, site_id, clock)
    clock.set("2026-12-01 09:11")  # two periods later
    current = code_at(settings, site_id, clock)

    wrong = await client.post(f"/api/v1/tickets/{token}/arrive", json={"code": "123 456"})
    too_old = await client.post(f"/api/v1/tickets/{token}/arrive", json={"code": stale})
    still_remote = await ticket_of(db, token)
    good = await client.post(f"/api/v1/tickets/{token}/arrive", json={"code": current})
    twice = await client.post(f"/api/v1/tickets/{token}/arrive", json={"code": current})

    assert stale != current
    assert (wrong.status_code, too_old.status_code) == (403, 403)
    assert wrong.json()["code"] == "arrival_code"
    assert still_remote.status == TicketStatus.REMOTE
    assert good.status_code == 200
    assert good.json()["status"] == "waiting"
    assert twice.status_code == 409


async def test_the_code_just_changed_is_still_taken_for_one_period(
    settings: Settings, clock: Clock
) -> None:
    clock.set("2026-12-01 09:04:00")
    shown, until = arrival_codes.arrival_code(settings.secret_key, 1, clock())
    next_code, next_until = arrival_codes.arrival_code(settings.secret_key, 1, until)
    half_a_period = arrival_codes.ARRIVAL_CODE_EVERY / 2

    assert clock() < until <= clock() + arrival_codes.ARRIVAL_CODE_EVERY
    assert next_code != shown
    assert next_until == until + arrival_codes.ARRIVAL_CODE_EVERY
    assert (
        arrival_codes.arrival_code(settings.secret_key, 1, until - timedelta(seconds=1))[0] == shown
    )
    assert remote.arrival_code_holds(settings.secret_key, 1, shown, until + half_a_period)
    assert not remote.arrival_code_holds(settings.secret_key, 1, shown, next_until + half_a_period)
    assert not remote.arrival_code_holds(settings.secret_key, 2, shown, until + half_a_period)


async def test_the_code_is_taken_as_shown_with_its_space(settings: Settings, clock: Clock) -> None:
    clock.set("2026-12-01 09:04:00")
    code = arrival_codes.arrival_code(settings.secret_key, 1, clock())[0]

    assert remote.arrival_code_holds(settings.secret_key, 1, f" {code[:3]} {code[3:]} ", clock())
    assert not remote.arrival_code_holds(settings.secret_key, 1, f"{code[:3]}-{code[3:]}", clock())


async def test_the_mairies_codes_turn_at_their_own_second_not_all_at_once(
    settings: Settings, clock: Clock
) -> None:
    clock.set("2026-12-01 09:04:00")
    turns = {
        arrival_codes.arrival_code(settings.secret_key, site, clock())[1] for site in range(1, 41)
    }

    assert len(turns) >= 30  # forty mairies' screens are not redrawn in the same second


async def test_on_arrival_a_ticket_waits_as_if_since_it_was_taken_for_at_most_the_head_start(
    client: CLIENT, clock: Clock, db: Database, settings: Settings
) -> None:
    joined_at = clock.set(MORNING)
    early = (await join(client)).json()["token"]
    far = (await join(client, phone="06 98 76 54 32")).json()["token"]
    site_id = (await ticket_of(db, early)).site_id

    clock.set("2026-12-01 09:20")
    await client.post(
        f"/api/v1/tickets/{early}/arrive", json={"code": code_at(settings, site_id, clock)}
    )
    clock.set("2026-12-01 10:30")
    await client.post(
        f"/api/v1/tickets/{far}/arrive", json={"code": code_at(settings, site_id, clock)}
    )

    assert (await ticket_of(db, early)).arrived_at == joined_at
    # 60 minutes of head start at most: placed as if it came at 9 h 30.
    assert (await ticket_of(db, far)).arrived_at == clock() - timedelta(minutes=60)


async def test_a_number_never_confirmed_lets_its_ticket_close(
    client: CLIENT, clock: Clock, db: Database, settings: Settings
) -> None:
    joined_at = clock.set(MORNING)
    unconfirmed = (await join(client)).json()["token"]
    confirmed = (await join(client, phone="06 98 76 54 32")).json()["token"]
    async with db.session() as session:
        code = remote.confirmation_code(settings.secret_key, confirmed)
        assert not await remote.confirm(
            session, confirmed, "0" * 12, secret=settings.secret_key, now=joined_at
        )
        assert await remote.confirm(
            session, confirmed, code, secret=settings.secret_key, now=joined_at
        )

    closed = await remote.close_unanswered(db, joined_at + remote.UNCONFIRMED_FOR)

    assert closed == 1
    assert (await ticket_of(db, unconfirmed)).status == TicketStatus.CLOSED
    assert (await ticket_of(db, confirmed)).status == TicketStatus.REMOTE


async def test_leaving_by_the_page_or_by_the_texted_keyword_frees_the_number(
    client: CLIENT, clock: Clock, db: Database
) -> None:
    now = clock.set(MORNING)
    by_page = (await join(client)).json()["token"]
    left = await client.post(f"/api/v1/tickets/{by_page}/leave")
    by_text = (await join(client)).json()["token"]
    async with db.session() as session:
        gone = await remote.leave_by_phone(session, "+33 6 12 34 56 78", now=now)
    async with db.session() as session:
        nothing = await remote.leave_by_phone(session, PHONE, now=now)

    assert left.json() == {"status": "cancelled"}
    assert gone is not None
    assert gone.status == TicketStatus.CANCELLED
    assert (await ticket_of(db, by_text)).status == TicketStatus.CANCELLED
    assert nothing is None


async def test_wrong_codes_are_counted_and_past_ten_only_reception_checks_the_holder_in(
    client: CLIENT, staff: Staff, clock: Clock, db: Database, settings: Settings
) -> None:
    clock.set(MORNING)
    joined = (await join(client)).json()
    site_id = (await ticket_of(db, joined["token"])).site_id
    good = code_at(settings, site_id, clock)
    wrong = "999999" if good != "999999" else "999998"

    misses = [
        (await client.post(f"/api/v1/tickets/{joined['token']}/arrive", json={"code": wrong}))
        for _ in range(remote.MAX_ARRIVAL_MISSES)
    ]
    locked = await client.post(f"/api/v1/tickets/{joined['token']}/arrive", json={"code": good})
    desk = await Desk(client, staff).open()
    checked_in = await client.post(
        "/api/v1/sites/paris-15/remote-check-ins",
        json={"number": joined["number"]},
        headers=desk.reception,
    )

    assert [miss.json()["code"] for miss in misses] == ["arrival_code"] * 10
    assert (await ticket_of(db, joined["token"])).arrival_misses == 10
    assert locked.status_code == 403
    assert locked.json()["code"] == "arrival_locked"
    assert checked_in.status_code == 200, checked_in.text
    assert checked_in.json()["status"] == "waiting"


async def test_wrong_codes_sent_at_once_are_counted_up_to_the_lock_and_no_further(
    client: CLIENT, clock: Clock, db: Database, settings: Settings
) -> None:
    # Each in a session of its own, really overlapping: ten wrong codes and no more are
    # told so; the others find the ticket locked.
    now = clock.set(MORNING)
    token = (await join(client)).json()["token"]
    ticket = await ticket_of(db, token)
    async with db.session() as session:
        site = await session.get_one(Site, ticket.site_id)
    good = code_at(settings, site.id, clock)
    wrong = "999999" if good != "999999" else "999998"

    async def one_try() -> str:
        async with db.session() as session:
            try:
                await remote.judge_code(
                    session, ticket, site, wrong, secret=settings.secret_key, now=now
                )
            except Forbidden as refused:
                return refused.code
            return "let in"

    answers = await asyncio.gather(*(one_try() for _ in range(16)))

    assert sorted(answers) == ["arrival_code"] * 10 + ["arrival_locked"] * 6
    assert (await ticket_of(db, token)).arrival_misses == remote.MAX_ARRIVAL_MISSES


async def test_a_held_ticket_keeps_its_promised_time_though_its_number_was_never_confirmed(
    client: CLIENT, staff: Staff, clock: Clock, db: Database
) -> None:
    joined_at = clock.set(MORNING)
    desk = await Desk(client, staff).open()
    token = (await join(client)).json()["token"]
    clock.set("2026-12-01 09:15")
    await desk.walk_in()
    await desk.call()  # passes it over at 9 h 15: kept until 9 h 30

    at_unconfirmed_delay = await remote.close_unanswered(db, joined_at + remote.UNCONFIRMED_FOR)

    assert at_unconfirmed_delay == 0
    assert (await ticket_of(db, token)).status == TicketStatus.REMOTE
