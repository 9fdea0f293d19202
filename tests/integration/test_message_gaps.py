"""Messages where a message could go out stale, twice, or to a phone that cannot take it:
one claimed just before its appointment moves, one whose lease another instance took
over, the turn-near text of a walk-in called closer twice, and a booking by reception
for someone who left a landline."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.db import Database
from app.notify.dispatcher import Dispatcher
from app.notify.models import OutboxMessage
from app.queue.models import Ticket
from tests.conftest import Staff
from tests.post import PUBLIC_URL, Post, desk_of, serve, walk_in

LEASE = timedelta(seconds=90)
MOBILE = "+33612345678"


async def outbox(db: Database, **where: object) -> list[OutboxMessage]:
    async with db.session() as session:
        query = select(OutboxMessage).filter_by(**where).order_by(OutboxMessage.id)
        return list(await session.scalars(query))


@pytest.mark.parametrize(
    ("claimed_at", "kind", "stale_subject"),
    [
        (
            "2026-11-30 08:00",
            "confirmation",
            "Votre rendez-vous du jeudi 3 décembre 2026 à 10\u00a0h\u00a000 est confirmé",
        ),
        (
            "2026-12-02 10:00",
            "reminder_24h",
            "Rappel : votre rendez-vous demain à 10\u00a0h\u00a000",
        ),
    ],
    ids=["confirmation", "reminder"],
)
async def test_a_message_claimed_just_before_the_appointment_moves_is_not_sent_with_the_old_time(
    post: Post, db: Database, claimed_at: str, kind: str, stale_subject: str
) -> None:
    booked = await post.book("2026-12-03T10:00:00+01:00", email="ada@example.org")
    if kind != "confirmation":
        await post.send_due()
    before = post.subjects()
    post.clock.set(claimed_at)

    claimed = await post.dispatcher.claim()
    moved = await post.client.post(
        f"/api/v1/appointments/{booked['token']}/reschedule",
        json={"start": "2026-12-04T14:00:00+01:00"},
    )
    assert moved.status_code == 200, moved.text
    await post.dispatcher.deliver(claimed)
    await post.send_due()
    stale = await outbox(db, id=claimed[0].id)

    assert [m.kind for m in claimed] == [kind]
    assert stale_subject not in post.subjects()[len(before) :]
    assert post.subjects()[len(before) :] == [
        "Votre rendez-vous est déplacé au vendredi 4 décembre 2026 à 14\u00a0h\u00a000"
    ]
    assert [(m.status, m.last_error) for m in stale] == [("cancelled", "no longer applies")]


async def test_the_late_outcome_of_an_instance_whose_lease_ran_out_does_not_undo_the_next_send(
    post: Post, db: Database
) -> None:
    start = post.clock.set("2026-11-30 08:00")
    await post.book("2026-12-03T10:00:00+01:00", phone="06 12 34 56 78", reminders_by_sms=True)

    def instance(name: str) -> Dispatcher:
        return Dispatcher(
            db,
            post.clock,
            base_url=PUBLIC_URL,
            email=post.dispatcher.email,
            sms=post.dispatcher.sms,
            instance=name,
            lease=LEASE,
        )

    slow, next_one = instance("slow"), instance("next")
    (held,) = await slow.claim()
    post.clock.now = start + LEASE + timedelta(seconds=1)
    (taken,) = await next_one.claim()
    post.sms.down = True  # what the slow instance finally gets: try again later
    await slow.deliver([held])
    post.sms.down = False
    await next_one.deliver([taken])
    post.clock.set("2026-11-30 11:00")
    for dispatcher in (slow, next_one):
        while await dispatcher.run_once():
            pass
    (confirmation,) = await outbox(db, kind="confirmation")

    confirmations = [sms for sms in post.sms.received if sms["text"].startswith("RDV confirmé")]
    assert [sms["to"] for sms in confirmations] == [MOBILE]
    assert held.id == taken.id == confirmation.id
    assert (confirmation.status, confirmation.claimed_by, confirmation.last_error) == (
        "sent",
        "next",
        "",
    )
    assert confirmation.sent_at == start + LEASE + timedelta(seconds=1)


async def test_a_walk_in_called_closer_twice_at_two_moments_is_told_once_that_their_turn_is_near(
    post: Post, db: Database
) -> None:
    post.clock.set("2026-12-01 09:00")
    desk = await desk_of(post, db)
    for _ in range(3):
        await walk_in(post, desk)
    fourth = await walk_in(post, desk, phone="06 12 34 56 78")

    await serve(post, desk)  # the fourth is now third in line
    await post.send_due()
    post.clock.set("2026-12-01 09:12")
    await serve(post, desk)  # second in line, and still waiting
    await post.send_due()
    post.clock.set("2026-12-01 09:25")
    await serve(post, desk)  # next in line
    await post.send_due()
    async with db.session() as session:
        ticket = await session.scalar(select(Ticket).where(Ticket.number == fourth["number"]))
    assert ticket is not None
    near = await outbox(db, ticket_id=ticket.id, kind="turn_near")

    assert ticket.status == "waiting"
    assert [(m.status, m.recipient) for m in near] == [("sent", MOBILE)]
    assert [sms["to"] for sms in post.sms.received] == [MOBILE]


async def test_a_booking_by_reception_for_a_landline_alone_plans_no_text(
    post: Post, db: Database
) -> None:
    reception = await Staff(db, post.client).headers("reception", "paris-15")

    async def book(start: str, **fields: object) -> dict[str, object]:
        body = {
            "site": "paris-15",
            "service": "caf",
            "start": start,
            "name": "Ada Lovelace",
            "channel": "phone",
            **fields,
        }
        response = await post.client.post("/api/v1/appointments", json=body, headers=reception)
        assert response.status_code == 201, response.text
        answer: dict[str, object] = response.json()
        return answer

    landline_alone = await book("2026-12-03T10:00:00+01:00", phone="01 45 45 45 45")
    landline_and_email = await book(
        "2026-12-03T11:00:00+01:00", phone="01 45 45 45 45", email="ada@example.org"
    )
    await post.send_due()
    post.clock.set("2026-12-02 11:00")
    await post.send_due()
    post.clock.set("2026-12-03 09:00")
    await post.send_due()
    everything = await outbox(db)

    assert landline_alone["phone"] == landline_and_email["phone"] == "+33145454545"
    assert [(m.kind, m.recipient) for m in everything if m.channel == "sms"] == []
    assert {m.recipient for m in everything} == {"ada@example.org"}
    assert post.sms.received == []
    assert post.subjects() == [
        "Votre rendez-vous du jeudi 3 décembre 2026 à 11\u00a0h\u00a000 est confirmé",
        "Rappel : votre rendez-vous demain à 11\u00a0h\u00a000",
        "Rappel : votre rendez-vous aujourd'hui à 11\u00a0h\u00a000",
    ]
