"""Messages end to end, on both databases, with a real SMTP server and a real HTTP SMS
gateway on loopback, and the clock in the test's hands."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path
from typing import Any

import icalendar
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import retention
from app.audit.models import AuditEvent
from app.booking.models import Appointment
from app.db import Database
from app.notify.models import MessageStatus, OutboxMessage
from app.queue.models import Ticket
from app.scheduler import first_to_run
from app.visits.models import FollowUpAnswer, Visit
from tests.conftest import Clock, Staff, make_settings
from tests.mail import (
    REFUSED_ADDRESS,
    REFUSED_NUMBER,
)
from tests.post import PUBLIC_URL, Post, desk_of, serve, walk_in
from tests.same_moment import at_the_same_moment


def calendar_of(message: Message) -> Any:
    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return icalendar.Calendar.from_ical(payload)
    raise AssertionError("no calendar attached")


def event_of(message: Message) -> Any:
    return next(part for part in calendar_of(message).walk() if part.name == "VEVENT")


async def test_a_booking_sends_a_confirmation_with_its_calendar_file(post: Post) -> None:
    booked = await post.book("2026-12-03T10:00:00+01:00", email="ada@example.org")

    await post.send_due()

    (mail,) = post.mails()
    assert (
        mail["Subject"]
        == "Votre rendez-vous du jeudi 3 décembre 2026 à 10\u00a0h\u00a000 est confirmé"
    )
    assert mail["Message-ID"].startswith("<")
    assert mail["Message-ID"].endswith("@guichet>")
    assert mail.is_multipart()
    types = [part.get_content_type() for part in mail.walk()]
    assert "text/plain" in types
    assert "text/html" in types
    text = next(p for p in mail.walk() if p.get_content_type() == "text/plain").get_content()
    assert "Mairie du 15e arrondissement, 31 rue Péclet, 75015 Paris" in text
    assert "Votre numéro allocataire et votre code confidentiel" in text
    assert f"{PUBLIC_URL}/rendez-vous/{booked['token']}" in text
    event = event_of(mail)
    assert event.decoded("DTSTART") == datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    assert str(event["UID"]) == f"{booked['reference']}@guichet"


async def test_reminders_go_out_at_their_planned_times(post: Post) -> None:
    await post.book("2026-12-03T10:00:00+01:00", email="ada@example.org")
    await post.send_due()

    post.clock.set("2026-12-02 09:59")
    await post.send_due()
    before = post.subjects()
    post.clock.set("2026-12-02 10:00")
    await post.send_due()
    day_before = post.subjects()
    post.clock.set("2026-12-03 07:59")
    await post.send_due()
    post.clock.set("2026-12-03 08:00")
    await post.send_due()

    assert len(before) == 1
    assert day_before[-1] == "Rappel : votre rendez-vous demain à 10\u00a0h\u00a000"
    assert post.subjects()[-1] == "Rappel : votre rendez-vous aujourd'hui à 10\u00a0h\u00a000"
    assert len(post.subjects()) == 3


async def test_moving_the_appointment_replans_its_reminders(post: Post) -> None:
    booked = await post.book("2026-12-03T10:00:00+01:00", email="ada@example.org")
    await post.send_due()

    moved = await post.client.post(
        f"/api/v1/appointments/{booked['token']}/reschedule",
        json={"start": "2026-12-04T14:00:00+01:00"},
    )
    await post.send_due()
    post.clock.set("2026-12-02 10:00")
    await post.send_due()
    quiet_on_the_old_day = post.subjects()
    post.clock.set("2026-12-03 14:00")
    await post.send_due()

    assert moved.status_code == 200
    assert (
        quiet_on_the_old_day[-1]
        == "Votre rendez-vous est déplacé au vendredi 4 décembre 2026 à 14\u00a0h\u00a000"
    )
    assert event_of(post.mails()[1]).decoded("DTSTART") == datetime(2026, 12, 4, 13, 0, tzinfo=UTC)
    assert int(event_of(post.mails()[1])["SEQUENCE"]) == 1
    assert len(quiet_on_the_old_day) == 2
    assert post.subjects()[-1] == "Rappel : votre rendez-vous demain à 14\u00a0h\u00a000"


async def test_cancelling_stops_the_reminders_and_says_so(post: Post) -> None:
    booked = await post.book("2026-12-03T10:00:00+01:00", email="ada@example.org")
    await post.send_due()

    await post.client.post(f"/api/v1/appointments/{booked['token']}/cancel")
    await post.send_due()
    post.clock.set("2026-12-03 09:00")
    await post.send_due()

    assert post.subjects() == [
        "Votre rendez-vous du jeudi 3 décembre 2026 à 10\u00a0h\u00a000 est confirmé",
        "Votre rendez-vous du jeudi 3 décembre 2026 à 10\u00a0h\u00a000 est annulé",
    ]
    assert str(event_of(post.mails()[1])["STATUS"]) == "CANCELLED"


@pytest.mark.parametrize(
    ("change", "answer"),
    [("/api/v1/appointments/{token}/cancel", 200), ("/rendez-vous/{token}/rappels", 303)],
    ids=["appointment-cancelled", "reminders-turned-off"],
)
async def test_a_reminder_claimed_before_it_was_called_off_is_not_sent(
    post: Post, db: Any, change: str, answer: int
) -> None:
    booked = await post.book("2026-12-03T10:00:00+01:00", email="ada@example.org")
    await post.send_due()
    post.clock.set("2026-12-02 10:00")

    claimed = await post.dispatcher.claim()
    done = await post.client.post(change.format(token=booked["token"]), follow_redirects=False)
    assert done.status_code == answer, done.text
    await post.dispatcher.deliver(claimed)
    async with db.session() as session:
        statuses = {
            m.kind: m.status
            for m in await session.scalars(
                select(OutboxMessage).where(OutboxMessage.channel == "email")
            )
        }

    assert [m.kind for m in claimed] == ["reminder_24h"]
    assert "Rappel" not in " ".join(post.subjects())
    assert statuses["reminder_24h"] == "cancelled"


async def test_a_phone_only_booking_is_confirmed_and_reminded_by_text(post: Post) -> None:
    await post.book("2026-12-03T10:00:00+01:00", phone="06 12 34 56 78", reminders_by_sms=True)
    await post.send_due()
    post.clock.set("2026-12-02 10:00")
    await post.send_due()

    texts = [sms["text"] for sms in post.sms.received]
    assert all(sms["to"] == "+33612345678" for sms in post.sms.received)
    assert texts[0].startswith("RDV confirmé jeu. 3/12 10 h 00, Mairie du 15e arrondissement.")
    assert f"{PUBLIC_URL}/r/" in texts[0]
    assert texts[1].startswith("Rappel : RDV demain 10 h 00, Mairie du 15e arrondissement.")
    assert all(len(text) <= 160 for text in texts)


async def test_no_text_is_sent_at_night(post: Post) -> None:
    post.clock.set("2026-12-01 21:00")
    await post.book("2026-12-03T10:00:00+01:00", phone="06 12 34 56 78", reminders_by_sms=True)

    await post.send_due()
    at_night = len(post.sms.received)
    post.clock.set("2026-12-02 07:59")
    await post.send_due()
    before_eight = len(post.sms.received)
    post.clock.set("2026-12-02 08:00")
    await post.send_due()
    post.clock.set("2026-12-02 10:00")
    await post.send_due()

    assert (at_night, before_eight) == (0, 0)
    assert [sms["text"][:16] for sms in post.sms.received] == [
        "RDV confirmé jeu",
        "Rappel : RDV dem",
    ]


async def test_while_smtp_is_down_messages_wait_and_go_out_once_it_is_back(
    post: Post, db: Any
) -> None:
    post.smtp.stop()
    await post.book("2026-12-03T10:00:00+01:00", email="ada@example.org")

    await post.send_due()
    post.clock.set("2026-11-30 08:02")
    await post.send_due()
    async with db.session() as session:
        waiting = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.kind == "confirmation")
        )
    post.smtp.start()
    post.clock.set("2026-11-30 08:30")
    await post.send_due()
    post.clock.set("2026-11-30 09:30")
    await post.send_due()

    assert waiting is not None
    assert waiting.status == "pending"
    assert waiting.attempts == 2
    assert post.subjects() == [
        "Votre rendez-vous du jeudi 3 décembre 2026 à 10\u00a0h\u00a000 est confirmé"
    ]


async def test_a_refused_address_or_number_is_not_retried_and_shows_as_failed(
    post: Post, db: Any
) -> None:
    await post.book("2026-12-03T10:00:00+01:00", email=REFUSED_ADDRESS)
    await post.book("2026-12-03T11:00:00+01:00", phone=REFUSED_NUMBER.replace("+33", "0"))

    await post.send_due()
    post.clock.set("2026-11-30 10:00")
    await post.send_due()
    async with db.session() as session:
        confirmations = list(
            await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "confirmation"))
        )

    assert {(m.channel, m.status, m.attempts) for m in confirmations} == {
        ("email", "failed", 1),
        ("sms", "failed", 1),
    }
    assert post.smtp.mailbox.count() == 0
    assert post.sms.received == []


# The usager's side: reminders turned off, the turn-near text, the follow-up and its answer.


async def test_reminders_turned_off_from_the_private_page_are_not_sent(post: Post) -> None:
    booked = await post.book(
        "2026-12-03T10:00:00+01:00",
        email="ada@example.org",
        phone="0612345678",
        reminders_by_sms=True,
    )
    await post.send_due()
    page = await post.client.get(f"/rendez-vous/{booked['token']}")

    stopped = await post.client.post(
        f"/rendez-vous/{booked['token']}/rappels", follow_redirects=False
    )
    after = await post.client.get(stopped.headers["location"])
    post.clock.set("2026-12-03 09:00")
    await post.send_due()

    assert "par e-mail à a…@example.org et par SMS au 06 •• •• •• 78" in page.text
    assert stopped.status_code == 303
    assert "Vous ne recevrez plus de rappels pour ce rendez-vous." in after.text
    assert "Ne plus recevoir de rappels" not in after.text
    assert post.subjects() == [
        "Votre rendez-vous du jeudi 3 décembre 2026 à 10\u00a0h\u00a000 est confirmé"
    ]
    assert post.sms.received == []


async def test_a_walk_in_with_a_phone_is_told_once_when_their_turn_is_near(
    post: Post, db: Database
) -> None:
    post.clock.set("2026-12-01 09:00")
    desk = await desk_of(post, db)
    for _ in range(3):
        await walk_in(post, desk)
    fourth = await walk_in(post, desk, phone="06 12 34 56 78")

    await post.send_due()
    three_ahead = list(post.sms.received)
    await serve(post, desk)
    await post.send_due()
    await serve(post, desk)
    await post.send_due()

    assert three_ahead == []
    (text,) = post.sms.received
    assert text["to"] == "+33612345678"
    assert text["text"] == (
        f"Ticket {fourth['number']} : votre tour approche à la Mairie du 15e arrondissement. "
        "Revenez dans la salle d'attente."
    )


async def test_after_the_visit_a_follow_up_asks_one_question_and_records_the_answer(
    post: Post, db: Database
) -> None:
    post.clock.set("2026-12-01 09:00")
    desk = await desk_of(post, db)
    ticket = await walk_in(post, desk, phone="06 12 34 56 78")
    too_soon = await post.client.post(f"/ticket/{ticket['token']}/avis", data={"note": "5"})
    await serve(post, desk)

    await post.send_due()
    right_after = len(post.sms.received)
    post.clock.set("2026-12-01 09:30")
    await post.send_due()
    (follow_up,) = post.sms.received
    link = follow_up["text"].rsplit(" ", 1)[-1]
    form = await post.client.get(link.removeprefix(PUBLIC_URL))
    no_score = await post.client.post(f"/ticket/{ticket['token']}/avis", data={"note": "9"})
    answered = await post.client.post(
        f"/ticket/{ticket['token']}/avis",
        data={"note": "4", "commentaire": "  Très  patient,\n merci  "},
        follow_redirects=False,
    )
    thanks = await post.client.get(answered.headers["location"])
    async with db.session() as session:
        answer = await session.scalar(select(FollowUpAnswer))

    assert too_soon.status_code == 409
    assert "une fois votre visite terminée" in too_soon.text
    assert right_after == 0
    assert link == f"{PUBLIC_URL}/a/{ticket['token']}"
    assert len(follow_up["text"]) <= 160
    assert form.status_code == 200
    assert "Que pensez-vous de l'aide reçue ?" in form.text
    assert no_score.status_code == 400
    assert "Choisissez une note de 1 à 5." in no_score.text
    assert answered.status_code == 303
    assert "Merci, votre avis est enregistré." in thanks.text
    assert 'value="4" required checked' in thanks.text
    assert answer is not None
    assert (answer.score, answer.comment) == (4, "Très patient, merci")


async def test_a_booked_visit_is_followed_up_by_email(post: Post, db: Database) -> None:
    booked = await post.book("2026-12-01T10:00:00+01:00", email="ada@example.org")
    post.clock.set("2026-12-01 09:55")
    desk = await desk_of(post, db)
    checked_in = await post.client.post(
        "/api/v1/sites/paris-15/check-ins",
        json={"reference": booked["reference"]},
        headers=desk.reception,
    )
    assert checked_in.status_code == 201, checked_in.text
    await serve(post, desk)
    post.clock.set("2026-12-01 10:30")
    await post.send_due()

    follow_up = post.mails()[-1]
    text = next(p for p in follow_up.walk() if p.get_content_type() == "text/plain")

    assert follow_up["Subject"] == "Merci de votre visite (Mairie du 15e arrondissement)"
    assert f"{PUBLIC_URL}/ticket/{checked_in.json()['token']}/avis" in text.get_content()


# Managers: messages given up on, and trying them again.


async def test_managers_see_failed_messages_masked_and_can_retry_them(
    post: Post, db: Database
) -> None:
    staff = Staff(db, post.client)
    manager = await staff.headers("manager", "paris-15")
    elsewhere = await staff.headers("manager", "paris-11")
    facilitator = await staff.headers("facilitator", "paris-15")
    post.smtp.mailbox.refuse("ada@example.org")
    await post.book("2026-12-03T10:00:00+01:00", email="ada@example.org")
    await post.send_due()

    listed = await post.client.get("/api/v1/admin/outbox?status=failed", headers=manager)
    (failed,) = listed.json()
    not_theirs = await post.client.get(
        "/api/v1/admin/outbox?status=failed&site=paris-15", headers=elsewhere
    )
    their_own = await post.client.get("/api/v1/admin/outbox?status=failed", headers=elsewhere)
    not_a_manager = await post.client.get("/api/v1/admin/outbox", headers=facilitator)
    cannot_retry = await post.client.post(
        f"/api/v1/admin/outbox/{failed['id']}/retry", headers=elsewhere
    )
    post.smtp.mailbox.accept("ada@example.org")
    retried = await post.client.post(f"/api/v1/admin/outbox/{failed['id']}/retry", headers=manager)
    await post.send_due()
    failed_after = await post.client.get("/api/v1/admin/outbox", headers=manager)
    sent = await post.client.get("/api/v1/admin/outbox?status=sent", headers=manager)
    unknown = await post.client.post("/api/v1/admin/outbox/999999/retry", headers=manager)
    bad_status = await post.client.get("/api/v1/admin/outbox?status=lost", headers=manager)

    assert listed.status_code == 200
    assert (failed["kind"], failed["channel"], failed["site"]) == (
        "confirmation",
        "email",
        "paris-15",
    )
    assert failed["recipient"] == "a***@example.org"
    assert failed["attempts"] == 1
    assert "ada@" not in listed.text
    assert not_theirs.status_code == 403
    assert their_own.json() == []
    assert not_a_manager.status_code == 403
    assert cannot_retry.status_code == 403
    assert retried.status_code == 200
    assert retried.json()["status"] == "pending"
    assert failed_after.json() == []
    assert [m["id"] for m in sent.json()] == [failed["id"]]
    assert post.subjects() == [
        "Votre rendez-vous du jeudi 3 décembre 2026 à 10\u00a0h\u00a000 est confirmé"
    ]
    assert unknown.status_code == 404
    assert bad_status.status_code == 400


async def test_a_retry_sent_while_another_is_under_way_does_not_send_the_message_again(
    post: Post, db: Database
) -> None:
    """Two retries at once (two managers, two instances): the second waits for the first,
    and for a dispatcher that sent the message meanwhile, then finds it sent. Before, it
    had read it failed, set it pending again after it was sent, and it went out twice."""
    manager = await Staff(db, post.client).headers("manager", "paris-15")
    post.smtp.mailbox.refuse("ada@example.org")
    await post.book("2026-12-03T10:00:00+01:00", email="ada@example.org")
    await post.send_due()
    async with db.session() as session:
        failed = await session.scalar(
            select(OutboxMessage.id).where(OutboxMessage.status == MessageStatus.FAILED)
        )
    assert failed is not None

    async def first_retry_then_sent(session: AsyncSession) -> None:
        message = await session.get_one(OutboxMessage, failed, with_for_update=True)
        message.status, message.attempts = MessageStatus.SENT, 1

    with at_the_same_moment(db, first_retry_then_sent):
        answer = await post.client.post(f"/api/v1/admin/outbox/{failed}/retry", headers=manager)
    async with db.session() as session:
        status = await session.scalar(
            select(OutboxMessage.status).where(OutboxMessage.id == failed)
        )

    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "sent"
    assert status == MessageStatus.SENT


async def test_a_message_erased_or_purged_is_not_tried_again(post: Post, db: Database) -> None:
    manager = await Staff(db, post.client).headers("manager", "paris-15")
    post.smtp.mailbox.refuse("bob@example.org")
    await post.book("2026-12-03T10:00:00+01:00", email="ada@example.org")
    await post.book("2026-12-03T11:00:00+01:00", email="bob@example.org")
    await post.send_due()
    erased = await post.client.post(
        "/api/v1/admin/people/erase", json={"email": "ada@example.org"}, headers=manager
    )
    async with db.writing() as session:
        messages = list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        (failed,) = [m for m in messages if m.status == "failed"]
        await retention.purge_messages(session, post.clock.now, OutboxMessage.id == failed.id)
    (reminder, *_) = [m for m in messages if m.last_error == "erased on request"]

    answers = [
        await post.client.post(f"/api/v1/admin/outbox/{message.id}/retry", headers=manager)
        for message in (reminder, failed)
    ]
    post.clock.set("2026-12-03 09:00")
    await post.send_due()
    async with db.session() as session:
        after = {m.id: m for m in await session.scalars(select(OutboxMessage))}

    assert erased.status_code == 200, erased.text
    assert [a.status_code for a in answers] == [200, 200]
    assert [(a.json()["status"], a.json()["last_error"]) for a in answers] == [
        ("cancelled", "erased on request"),
        ("failed", failed.last_error),
    ]
    assert (after[reminder.id].status, after[reminder.id].last_error) == (
        "cancelled",
        "erased on request",
    )
    assert (after[failed.id].status, after[failed.id].attempts) == ("failed", 1)
    assert len(post.mails()) == 1


async def test_the_dispatcher_cancels_a_purged_message_instead_of_rendering_it(
    post: Post, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    booked = await post.book("2026-12-03T10:00:00+01:00", email="ada@example.org")
    await post.send_due()
    await post.client.post(f"/api/v1/appointments/{booked['token']}/cancel")
    # Due and blanked: as a retry of a purged message left it before retries were refused.
    async with db.writing() as session:
        await retention.purge_messages(session, post.clock.now, OutboxMessage.kind == "cancelled")

    await post.send_due()
    async with db.session() as session:
        told = await session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "cancelled"))

    assert told is not None
    assert (told.status, told.last_error) == ("cancelled", "content purged: nothing left to send")
    assert "failed unexpectedly" not in caplog.text
    assert len(post.mails()) == 1


# Retention.


async def test_the_daily_sweep_empties_messages_then_anonymises_people(
    post: Post, db: Database, database_url: str
) -> None:
    settings = make_settings(database_url)
    booked = await post.book(
        "2026-12-01T10:00:00+01:00", email="ada@example.org", phone="0612345678"
    )
    post.clock.set("2026-12-01 09:00")
    desk = await desk_of(post, db)
    ticket = await walk_in(post, desk, phone="06 98 76 54 32")
    await serve(post, desk, outcome="escalated", department="caf", note="Dossier de M. Paul")
    post.clock.set("2026-12-01 10:00")
    await post.send_due()
    await post.client.post(
        f"/ticket/{ticket['token']}/avis", data={"note": "5", "commentaire": "Merci Paul"}
    )

    half_a_year = await retention.sweep(db, settings, post.clock.set("2027-06-03 10:00"))
    async with db.session() as session:
        messages = list(await session.scalars(select(OutboxMessage)))
        kept = await session.scalar(
            select(Appointment).where(Appointment.reference == booked["reference"])
        )
        addressed = list(
            await session.scalars(
                select(AuditEvent.action).where(AuditEvent.address != "").order_by(AuditEvent.id)
            )
        )
    two_years = await retention.sweep(db, settings, post.clock.set("2028-12-01 10:01"))
    again = await retention.sweep(db, settings, post.clock.now + timedelta(days=1))
    async with db.session() as session:
        gone = await session.scalar(
            select(Appointment).where(Appointment.reference == booked["reference"])
        )
        phones = list(await session.scalars(select(Ticket.phone)))
        comment = await session.scalar(select(FollowUpAnswer.comment))
        score = await session.scalar(select(FollowUpAnswer.score))
        visit = await session.scalar(select(Visit))
        addressed_after = await session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.address != "")
        )

    assert half_a_year.messages == len(messages) >= 3
    assert {(m.recipient, m.data == {}) for m in messages} == {("", True)}
    assert all(m.purged_at is not None for m in messages)
    assert (half_a_year.appointments, half_a_year.tickets) == (0, 0)
    assert kept is not None
    assert kept.email == "ada@example.org"
    assert half_a_year.notes == 0
    assert (two_years.appointments, two_years.tickets, two_years.answers) == (1, 1, 1)
    assert two_years.notes == 1
    assert half_a_year.addresses == 0
    # The desk's audit events, all of the first day, forget where they came from: the
    # logins of reception and the facilitator, then the walk-in's ticket along the desk.
    assert addressed == [
        "auth.login",
        "auth.login",
        "ticket.issued",
        "ticket.called",
        "ticket.start",
        "ticket.finish",
    ]
    assert two_years.addresses == len(addressed)
    assert addressed_after == 0
    assert visit is not None
    assert (visit.note, visit.outcome) == ("", "escalated")
    assert gone is not None
    assert (gone.name, gone.email, gone.phone, gone.status) == ("", "", None, "booked")
    assert phones == [None]
    assert (comment, score) == ("", 5)
    assert again == retention.Swept(appointments=0, tickets=0, answers=0, notes=0, messages=0)


async def test_the_daily_sweep_deletes_message_files_as_old_as_the_bodies_it_empties(
    tmp_path: Path,
) -> None:
    """Without a mail server or SMS gateway messages are files, with their recipient and
    text: the sweep deletes those written before the outbox's bodies are emptied
    (`message_body_days`) and keeps the others, and files that are not messages."""
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    settings = make_settings("sqlite+aiosqlite://", outbox_dir=str(tmp_path))
    (tmp_path / "email").mkdir()
    (tmp_path / "sms").mkdir()
    old_email = tmp_path / "email" / "0a1b@guichet.eml"
    old_text = tmp_path / "sms" / "sms-42.txt"
    recent = tmp_path / "email" / "9f8e@guichet.eml"
    other = tmp_path / "sms" / "notes.txt"
    for path in (old_email, old_text, recent, other):
        path.write_text("To: ada@example.org", encoding="utf-8")
    long_ago = (now - timedelta(days=settings.message_body_days + 1)).timestamp()
    for path in (old_email, old_text, other):
        os.utime(path, (long_ago, long_ago))
    recently = (now - timedelta(days=1)).timestamp()
    os.utime(recent, (recently, recently))

    deleted = await retention.forget_message_files(settings, now)

    assert deleted == 2
    assert sorted(path.name for path in [old_email, old_text, recent, other] if path.exists()) == [
        "9f8e@guichet.eml",
        "notes.txt",
    ]


async def test_the_daily_sweep_runs_once_a_day_whatever_the_number_of_instances(
    db: Database, clock: Clock
) -> None:
    now = clock.set("2026-12-01 03:30")

    first = await first_to_run(db, "retention", "2026-12-01", "a", now)
    second = await first_to_run(db, "retention", "2026-12-01", "b", now)
    next_day = await first_to_run(db, "retention", "2026-12-02", "b", now + timedelta(days=1))

    assert (first, second, next_day) == (True, False, True)
