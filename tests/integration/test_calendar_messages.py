"""Messages that match what happened, on both databases, through a real SMTP server on
loopback: each emailed calendar file is an iTIP message (REQUEST, or CANCEL once off) in
UTF-8, read back by two independent parsers (icalendar and vobject); its SEQUENCE goes up
whenever what the event says changes, and only then. Texts keep their accents, and a
second opinion keeps the first's words."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import Message

import icalendar
import vobject
from sqlalchemy import select

from app.db import Database
from app.visits.models import FollowUpAnswer
from tests.conftest import Staff
from tests.post import PUBLIC_URL, Post, desk_of, serve, walk_in

SENDER = "mailto:ne-pas-repondre@guichet.example.org"
BOOKED_AT = "2026-12-03T10:00:00+01:00"


class Invitation:
    """The calendar part of an email, as both parsers read it."""

    def __init__(self, part: Message) -> None:
        self.part = part
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        self.raw = payload
        self.text = payload.decode("utf-8")  # strict: any other encoding would fail here
        self.icalendar = icalendar.Calendar.from_ical(self.text)
        self.event = next(c for c in self.icalendar.walk() if c.name == "VEVENT")
        self.vobject = vobject.readOne(self.text)

    @property
    def method(self) -> str:
        """METHOD as the MIME part, icalendar and vobject say it: they must agree."""
        methods = {
            str(self.part.get_param("method")),
            str(self.icalendar["METHOD"]),
            self.vobject.method.value,
        }
        assert len(methods) == 1, methods
        return methods.pop()

    @property
    def sequence(self) -> int:
        sequences = {int(self.event["SEQUENCE"]), int(self.vobject.vevent.sequence.value)}
        assert len(sequences) == 1, sequences
        return sequences.pop()

    @property
    def uid(self) -> str:
        uids = {str(self.event["UID"]), self.vobject.vevent.uid.value}
        assert len(uids) == 1, uids
        return uids.pop()

    @property
    def start(self) -> datetime:
        starts = {self.event.decoded("DTSTART"), self.vobject.vevent.dtstart.value}
        assert len(starts) == 1, starts
        return starts.pop()

    def both(self, name: str) -> str:
        """A text property, as icalendar and vobject read it (they must agree)."""
        values = {str(self.event[name]), getattr(self.vobject.vevent, name.lower()).value}
        assert len(values) == 1, values
        return values.pop()


def invitation_of(mail: Message) -> Invitation:
    (part,) = [p for p in mail.walk() if p.get_content_type() == "text/calendar"]
    assert part.get_content_charset() == "utf-8"
    assert part.get_content_disposition() is None  # inline: the part calendars act upon
    (attached,) = [p for p in mail.walk() if p.get_content_type() == "application/ics"]
    assert attached.get_payload(decode=True) == part.get_payload(decode=True)
    assert attached.get_filename().endswith(".ics")
    invitation = Invitation(part)
    assert all(len(line) <= 75 for line in invitation.raw.split(b"\r\n"))
    return invitation


async def sequence_downloaded(post: Post, token: str) -> int:
    response = await post.client.get(f"/api/v1/appointments/{token}/calendar.ics")
    assert response.status_code == 200
    return int(vobject.readOne(response.text).vevent.sequence.value)


async def test_a_confirmation_carries_an_invitation_in_utf8_that_two_readers_understand(
    post: Post,
) -> None:
    booked = await post.book(BOOKED_AT, email="ada@example.org", name="Adèle Lovelace")

    await post.send_due()

    (mail,) = post.mails()
    invitation = invitation_of(mail)
    assert invitation.method == "REQUEST"
    assert invitation.sequence == 0
    assert invitation.uid == f"{booked['reference']}@guichet"
    assert invitation.start == datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    assert invitation.both("SUMMARY") == "Facilitation numérique : Démarches CAF en ligne"
    assert invitation.both("LOCATION") == (
        "Mairie du 15e arrondissement, 31 rue Péclet, 75015 Paris"
    )
    assert "À apporter :" in invitation.both("DESCRIPTION")
    assert f"{PUBLIC_URL}/rendez-vous/{booked['token']}" in invitation.both("DESCRIPTION")
    assert invitation.both("STATUS") == "CONFIRMED"
    organizer = invitation.vobject.vevent.organizer
    assert organizer.value == str(invitation.event["ORGANIZER"]) == SENDER
    assert organizer.params["CN"] == ["Mairie de Paris"]
    attendee = invitation.vobject.vevent.attendee
    assert attendee.value == str(invitation.event["ATTENDEE"]) == "mailto:ada@example.org"
    assert attendee.params["PARTSTAT"] == ["ACCEPTED"]
    # The calendar's properties come before its event (RFC 5545 3.4).
    assert invitation.text.index("METHOD:REQUEST") < invitation.text.index("BEGIN:VEVENT")


async def test_a_move_is_a_request_of_the_same_event_with_the_next_sequence(
    post: Post,
) -> None:
    booked = await post.book(BOOKED_AT, email="ada@example.org")
    await post.send_due()

    moved = await post.client.post(
        f"/api/v1/appointments/{booked['token']}/reschedule",
        json={"start": "2026-12-04T14:00:00+01:00"},
    )
    await post.send_due()

    assert moved.status_code == 200, moved.text
    first, second = (invitation_of(mail) for mail in post.mails())
    assert second.method == "REQUEST"
    assert second.uid == first.uid
    assert (first.sequence, second.sequence) == (0, 1)
    assert second.start == datetime(2026, 12, 4, 13, 0, tzinfo=UTC)
    assert await sequence_downloaded(post, booked["token"]) == 1


async def test_moving_to_the_very_same_slot_changes_nothing_and_sends_nothing(
    post: Post,
) -> None:
    booked = await post.book(BOOKED_AT, email="ada@example.org")
    await post.send_due()

    same = await post.client.post(
        f"/api/v1/appointments/{booked['token']}/reschedule",
        json={"start": "2026-12-03T09:00:00Z"},  # the same instant, written in UTC
    )
    await post.send_due()

    assert same.status_code == 200, same.text
    assert same.json()["start"] == booked["start"]
    assert same.json()["station"] == booked["station"]
    assert post.subjects() == [
        "Votre rendez-vous du jeudi 3 décembre 2026 à 10\u00a0h\u00a000 est confirmé"
    ]
    assert await sequence_downloaded(post, booked["token"]) == 0


async def test_a_cancellation_is_a_cancel_of_the_same_event_with_a_higher_sequence(
    post: Post,
) -> None:
    booked = await post.book(BOOKED_AT, email="ada@example.org")
    await post.send_due()

    await post.client.post(f"/api/v1/appointments/{booked['token']}/cancel")
    await post.send_due()

    confirmation, cancellation = (invitation_of(mail) for mail in post.mails())
    assert cancellation.method == "CANCEL"
    assert cancellation.uid == confirmation.uid
    assert cancellation.sequence > confirmation.sequence
    assert cancellation.both("STATUS") == "CANCELLED"
    assert str(cancellation.event["ORGANIZER"]) == SENDER
    assert not list(cancellation.vobject.vevent.components())  # no alarm left


async def test_a_new_station_is_a_new_version_of_the_event_and_reminders_still_go_once(
    post: Post, db: Database
) -> None:
    booked = await post.book(BOOKED_AT, email="ada@example.org")
    await post.send_due()
    manager = await Staff(db, post.client).headers("manager", "paris-15")
    before = booked["station"]["name"]

    outage = await post.client.post(
        "/api/v1/admin/sites/paris-15/outages",
        json={
            "station_id": booked["station"]["id"],
            "starts_at": "2026-12-03T00:00:00+01:00",
            "ends_at": "2026-12-04T00:00:00+01:00",
            "reason": "Écran en panne",
        },
        headers=manager,
    )
    await post.send_due()
    after = (await post.client.get(f"/api/v1/appointments/{booked['token']}")).json()
    post.clock.set("2026-12-02 10:00")
    await post.send_due()
    post.clock.set("2026-12-03 08:00")
    await post.send_due()

    assert outage.status_code == 201, outage.text
    assert after["station"]["name"] != before
    confirmation, changed, *reminders = post.mails()
    invitation = invitation_of(changed)
    assert invitation.method == "REQUEST"
    assert invitation.uid == invitation_of(confirmation).uid
    assert invitation.sequence == 1
    assert f"({after['station']['name']})" in invitation.both("DESCRIPTION")
    assert [str(mail["Subject"]) for mail in reminders] == [
        "Rappel : votre rendez-vous demain à 10\u00a0h\u00a000",
        "Rappel : votre rendez-vous aujourd'hui à 10\u00a0h\u00a000",
    ]


async def test_the_downloaded_calendar_file_is_a_plain_file_that_says_its_charset_once(
    post: Post,
) -> None:
    booked = await post.book(BOOKED_AT, email="ada@example.org")

    response = await post.client.get(f"/api/v1/appointments/{booked['token']}/calendar.ics")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    text = response.content.decode("utf-8")
    assert "METHOD" not in icalendar.Calendar.from_ical(text)
    read = vobject.readOne(text)
    assert not hasattr(read, "method")
    assert read.vevent.summary.value == "Facilitation numérique : Démarches CAF en ligne"
    assert read.vevent.uid.value == f"{booked['reference']}@guichet"


async def test_a_text_keeps_its_accents_and_tells_the_gateway_its_encoding_and_segments(
    post: Post,
) -> None:
    await post.book(BOOKED_AT, phone="06 12 34 56 78")

    await post.send_due()

    (text,) = post.sms.received
    assert text["text"].startswith("RDV confirmé jeu. 3/12 10 h 00, Mairie du 15e")
    assert (text["encoding"], text["segments"]) == ("gsm7", 1)


async def test_a_second_opinion_keeps_the_comment_of_the_first(post: Post, db: Database) -> None:
    post.clock.set("2026-12-01 09:00")
    desk = await desk_of(post, db)
    ticket = await walk_in(post, desk, phone="06 12 34 56 78")
    await serve(post, desk)
    form = f"/ticket/{ticket['token']}/avis"

    async def answer(score: str, comment: str) -> int:
        response = await post.client.post(
            form, data={"note": score, "commentaire": comment}, follow_redirects=False
        )
        return response.status_code

    first = await answer("2", "Trop d'attente.")
    shown = await post.client.get(form)
    # Opened again from the text, or from a page kept open: only a score this time.
    again = await answer("4", "")
    more = await answer("5", "Mais très aimable.")
    same = await answer("5", "Mais très aimable.")
    async with db.session() as session:
        answer = await session.scalar(select(FollowUpAnswer))

    assert [first, again, more, same] == [303, 303, 303, 303]
    assert answer is not None
    assert answer.score == 5
    assert answer.comment == "Trop d'attente. / Mais très aimable."
    # The comment given is shown as kept, and the box is for what to add.
    assert "Trop d&#39;attente." in shown.text
    assert 'name="commentaire" rows="4" maxlength="1000"></textarea>' in shown.text
