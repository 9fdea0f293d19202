"""One person's data (RGPD): a manager finds it by email or phone, at their mairies only,
and erases it on request; the anonymous figures are the same before and after, and the
journal says it was done without naming the person. The retention sweep blanks walk-ins'
needs with the rest. On both databases, with the clock injected."""

from __future__ import annotations

import html
import re
import shutil
from dataclasses import dataclass
from functools import partial
from typing import Any

import anyio.to_thread
import httpx
from sqlalchemy import func, select

from app import retention
from app.audit.models import AuditEvent
from app.booking.models import Appointment
from app.db import Database
from app.notify.models import OutboxMessage
from app.notify.transports import Email, Sms, message_id
from app.notify.transports.files import EmailFiles, SmsFiles
from app.queue.models import Ticket
from app.sites.models import Site, Station
from app.visits.models import EscalationEvent, FollowUpAnswer, Visit
from app.webhooks.models import WebhookDelivery
from tests.conftest import STAFF_PASSWORD, TEST_OUTBOX, Staff, make_settings
from tests.post import Post, check_in, desk_of, serve, walk_in

ADA = "ada.lovelace@example.org"
ADA_PHONE = "0612345678"
STATS = {"site": "paris-15", "from": "2026-12-01", "to": "2026-12-31"}
PAST = {**STATS, "to": "2026-12-02"}  # the days gone by, her booking ahead not among them


@dataclass
class Day:
    """Ada's traces at paris-15 (and one booking at paris-20), Bob's beside them."""

    ada: Any
    ada_later: Any
    ada_elsewhere: Any
    bob: Any
    walk_in: Any


async def answer_the_escalation(post: Post, db: Database, message: str) -> None:
    """paris-15's manager tells the one request sent on that it was answered, `message`."""
    manager = await Staff(db, post.client, created=50).headers("manager", "paris-15")
    (escalation,) = (
        await post.client.get("/api/v1/escalations", params={"site": "paris-15"}, headers=manager)
    ).json()
    moved = await post.client.post(
        f"/api/v1/escalations/{escalation['reference']}/status",
        json={"status": "answered", "message": message},
        headers=manager,
    )
    assert moved.status_code == 200, moved.text


async def a_day_with_ada(post: Post, db: Database, database_url: str) -> Day:
    ada = await post.book(
        "2026-12-01T10:00:00+01:00", email=ADA, phone=ADA_PHONE, reminders_by_sms=True
    )
    bob = await post.book("2026-12-01T10:00:00+01:00", email="bob@example.org")
    ada_later = await post.book(
        "2026-12-15T10:00:00+01:00", email="Ada.Lovelace+mairie@Example.org", needs=["audition"]
    )
    post.clock.set("2026-12-01 09:55")
    desk = await desk_of(post, db)
    for booked in (ada, bob):
        await check_in(post, desk, booked)
    post.clock.set("2026-12-01 10:05")
    await serve(post, desk, outcome="escalated", department="caf", note="Mme Lovelace, RSA")
    await serve(post, desk, outcome="solved", note="M. Bob, fait")
    post.clock.set("2026-12-01 11:00")
    ticket = await walk_in(post, desk, phone="06 12 34 56 78", needs=["fauteuil"])
    await serve(post, desk, outcome="solved", note="Ada revenue")
    post.clock.set("2026-12-01 12:00")
    await post.send_due()
    ada_elsewhere = await post.book(
        "2026-12-16T10:00:00+01:00", site="paris-20", email=ADA, phone=ADA_PHONE
    )
    answered = await post.client.post(
        f"/ticket/{ticket['token']}/avis",
        data={"note": "4", "commentaire": "Merci, Ada"},
        follow_redirects=False,
    )
    assert answered.status_code == 303, answered.text
    assert answered.headers["location"] == f"/ticket/{ticket['token']}/avis?merci=1"
    await answer_the_escalation(post, db, "La CAF écrira à Mme Lovelace.")
    await post.send_due()
    # The next days: the booking guard forgets the past appointments' keys.
    post.clock.set("2026-12-03 08:00")
    await retention.sweep(db, make_settings(database_url), post.clock())
    return Day(ada, ada_later, ada_elsewhere, bob, ticket)


async def test_a_manager_finds_one_persons_data_by_email_whatever_its_spelling(
    post: Post, db: Database, database_url: str
) -> None:
    day = await a_day_with_ada(post, db, database_url)
    manager = await Staff(db, post.client).headers("manager", "paris-15")

    found = await post.client.get(
        "/api/v1/admin/people", params={"email": " ADA.Lovelace+rgpd@EXAMPLE.org "}, headers=manager
    )

    assert found.status_code == 200, found.text
    person = found.json()
    assert person["sites"] == ["paris-15"]
    assert [a["reference"] for a in person["appointments"]] == [
        day.ada["reference"],
        day.ada_later["reference"],
    ]
    assert person["appointments"][0]["email"] == ADA
    assert person["appointments"][1]["needs"] == ["audition"]
    # Her booking's ticket, and her walk-in by the phone she gave with her email.
    assert [t["status"] for t in person["tickets"]] == ["done", "done"]
    assert [v["note"] for v in person["visits"]] == ["Mme Lovelace, RSA", "Ada revenue"]
    assert person["escalations"][0]["messages"] == ["La CAF écrira à Mme Lovelace."]
    assert {m["status"] for m in person["messages"]} >= {"sent", "pending"}
    assert day.ada_elsewhere["reference"] not in found.text
    assert day.bob["reference"] not in found.text


async def test_a_manager_finds_a_walk_in_by_their_phone_in_any_writing(
    post: Post, db: Database, database_url: str
) -> None:
    day = await a_day_with_ada(post, db, database_url)
    manager = await Staff(db, post.client).headers("manager", "paris-15")

    found = await post.client.get(
        "/api/v1/admin/people", params={"phone": "+33 6 12 34 56 78"}, headers=manager
    )

    person = found.json()
    assert found.status_code == 200, found.text
    # Her booking ahead too, by the email given with that phone (in another spelling).
    assert [a["reference"] for a in person["appointments"]] == [
        day.ada["reference"],
        day.ada_later["reference"],
    ]
    assert sorted(t["needs"] == ["fauteuil"] for t in person["tickets"]) == [False, True]
    assert [a["comment"] for a in person["answers"]] == ["Merci, Ada"]
    assert sorted(v["note"] for v in person["visits"]) == ["Ada revenue", "Mme Lovelace, RSA"]


async def test_erasing_a_person_blanks_them_everywhere_and_keeps_the_figures(
    post: Post, db: Database, database_url: str
) -> None:
    day = await a_day_with_ada(post, db, database_url)
    staff = Staff(db, post.client)
    manager = await staff.headers("manager", "paris-15")
    before = (await post.client.get("/api/v1/stats", params=STATS, headers=manager)).json()
    past_before = (await post.client.get("/api/v1/stats", params=PAST, headers=manager)).json()

    by_email = await post.client.post(
        "/api/v1/admin/people/erase", json={"email": ADA}, headers=manager
    )
    by_phone = await post.client.post(
        "/api/v1/admin/people/erase", json={"phone": ADA_PHONE}, headers=manager
    )
    after = (await post.client.get("/api/v1/stats", params=STATS, headers=manager)).json()
    past_after = (await post.client.get("/api/v1/stats", params=PAST, headers=manager)).json()
    again = await post.client.get("/api/v1/admin/people", params={"email": ADA}, headers=manager)
    async with db.session() as session:
        appointments = {a.reference: a for a in await session.scalars(select(Appointment))}
        walk_in = await session.scalar(select(Ticket).where(Ticket.token == day.walk_in["token"]))
        notes = sorted(await session.scalars(select(Visit.note)))
        steps = list(await session.scalars(select(EscalationEvent.message)))
        answer = await session.scalar(select(FollowUpAnswer))
        messages = list(await session.scalars(select(OutboxMessage)))
        log = list(
            await session.scalars(select(AuditEvent).where(AuditEvent.action == "person.erased"))
        )

    assert by_email.status_code == 200, by_email.text
    erased = by_email.json()
    assert erased["sites"] == ["paris-15"]
    # Her walk-in too, by the phone given with her email.
    assert (erased["appointments"], erased["tickets"], erased["notes"], erased["steps"]) == (
        2,
        2,
        2,
        1,
    )
    # The booking ahead's two reminders (24 h and 2 h before, by email); the rest was sent.
    assert erased["messages_cancelled"] == 2
    assert by_phone.status_code == 200, by_phone.text
    # Nothing is left to find by her phone: it was erased with her email.
    assert by_phone.json()["tickets"] == 0
    # The figures, anonymous, are the same; but that her booking ahead was cancelled.
    assert past_after == past_before
    month, month_before = after["total"], before["total"]
    assert month["appointments"]["total"] == month_before["appointments"]["total"] - 1
    assert month["cancellations"]["count"] == month_before["cancellations"]["count"] + 1
    # Ada is gone from paris-15; her booking at paris-20 and Bob are untouched.
    for reference in (day.ada["reference"], day.ada_later["reference"]):
        gone = appointments[reference]
        assert (gone.name, gone.email, gone.phone, gone.needs, gone.email_key) == (
            "",
            "",
            None,
            [],
            None,
        )
    assert appointments[day.ada_later["reference"]].status == "cancelled"
    assert appointments[day.ada_elsewhere["reference"]].email == ADA
    assert appointments[day.bob["reference"]].email == "bob@example.org"
    assert walk_in is not None
    assert (walk_in.phone, walk_in.needs, walk_in.requires_accessible) == (None, [], False)
    assert notes == ["", "", "M. Bob, fait"]
    assert steps == ["", ""]
    assert answer is not None
    assert (answer.score, answer.comment) == (4, "")
    ada_ids = {appointments[day.ada["reference"]].id, appointments[day.ada_later["reference"]].id}
    for message in messages:
        if message.appointment_id in ada_ids:
            assert (message.recipient, message.data) == ("", {})
            assert message.status != "pending"
    elsewhere = appointments[day.ada_elsewhere["reference"]].id
    kept_there = [m for m in messages if m.appointment_id == elsewhere]
    assert kept_there
    assert all(m.data and m.recipient for m in kept_there)
    bob_mail = [m for m in messages if m.recipient == "bob@example.org"]
    assert bob_mail
    assert all(m.data for m in bob_mail)
    # Nothing of Ada is left to find at paris-15.
    person = again.json()
    assert person["appointments"] == []
    assert person["messages"] == []
    # The journal says it was done, with counts, never her contact.
    assert log
    assert {event.site_id for event in log} == {appointments[day.ada["reference"]].site_id}
    assert ADA not in str([e.details for e in log])
    assert "612345678" not in str([e.details for e in log])
    assert log[0].details["appointments"] == 2


async def test_a_manager_neither_sees_nor_erases_another_mairies_data(
    post: Post, db: Database, database_url: str
) -> None:
    day = await a_day_with_ada(post, db, database_url)
    staff = Staff(db, post.client)
    manager = await staff.headers("manager", "paris-15")
    admin = await staff.headers("admin")

    look_there = await post.client.get(
        "/api/v1/admin/people", params={"email": ADA, "site": "paris-20"}, headers=manager
    )
    erase_there = await post.client.post(
        "/api/v1/admin/people/erase", json={"email": ADA, "site": "paris-20"}, headers=manager
    )
    erase_mine = await post.client.post(
        "/api/v1/admin/people/erase", json={"email": ADA}, headers=manager
    )
    by_admin = await post.client.get("/api/v1/admin/people", params={"email": ADA}, headers=admin)

    assert look_there.status_code == 403
    assert erase_there.status_code == 403
    assert erase_mine.json()["sites"] == ["paris-15"]
    # paris-20's booking is still whole, and an administrator sees it.
    seen = [a for a in by_admin.json()["appointments"] if a["site"] == "paris-20"]
    assert [(a["reference"], a["email"]) for a in seen] == [(day.ada_elsewhere["reference"], ADA)]


async def test_looking_for_a_person_needs_one_valid_contact_and_a_manager(
    post: Post, db: Database
) -> None:
    staff = Staff(db, post.client)
    manager = await staff.headers("manager", "paris-15")
    reception = await staff.headers("reception", "paris-15")
    path = "/api/v1/admin/people"

    answers = [
        await post.client.get(path, params=params, headers=manager)
        for params in (
            {},
            {"email": ADA, "phone": ADA_PHONE},
            {"phone": "12"},
            {"email": "no-at-sign"},
            {"phone": "9" * 41},
        )
    ]
    refused = await post.client.get(path, params={"email": ADA}, headers=reception)
    erase_refused = await post.client.post(f"{path}/erase", json={"email": ADA}, headers=reception)
    nobody = await post.client.post(f"{path}/erase", json={"email": ADA}, headers=manager)

    assert [a.status_code for a in answers] == [400] * 5
    assert answers[0].json()["code"] == "person_contact"
    assert (refused.status_code, erase_refused.status_code) == (403, 403)
    assert nobody.status_code == 200
    assert nobody.json()["appointments"] == 0


async def test_a_manager_erases_a_person_from_the_page_after_confirming(
    post: Post, db: Database, database_url: str
) -> None:
    day = await a_day_with_ada(post, db, database_url)
    csrf = await manager_on_the_page(post, db)
    page = await post.client.get("/admin/donnees-personnelles")

    no_csrf = await post.client.post("/admin/donnees-personnelles", data={"email": ADA})
    bad = await post.client.post(
        "/admin/donnees-personnelles", data={"csrf": csrf, "telephone": "12"}
    )
    search = await post.client.post(
        "/admin/donnees-personnelles", data={"csrf": csrf, "email": ADA}
    )
    shown = shown_in(search.text)
    assert shown
    unconfirmed = await post.client.post(
        "/admin/donnees-personnelles/effacement", data={"csrf": csrf, "email": ADA, "vu": shown}
    )
    async with db.session() as session:
        still = await session.scalar(
            select(Appointment.email).where(Appointment.reference == day.ada["reference"])
        )
    erased = await post.client.post(
        "/admin/donnees-personnelles/effacement",
        data={"csrf": csrf, "email": ADA, "vu": shown, "confirme": "oui"},
        follow_redirects=False,
    )
    done = await post.client.get(erased.headers["location"])
    async with db.session() as session:
        gone = await session.scalar(
            select(Appointment.email).where(Appointment.reference == day.ada["reference"])
        )

    assert page.status_code == 200
    assert "Données d'une personne" in html.unescape(page.text)
    assert no_csrf.status_code == 403
    assert bad.status_code == 400
    assert "numéro de téléphone n'est pas valide" in html.unescape(bad.text)
    assert search.status_code == 200
    assert day.ada["reference"] in search.text
    assert day.ada_elsewhere["reference"] not in search.text
    assert "Effacer ces données" in html.unescape(search.text)
    # Her booking ahead is cancelled with the rest, and the page says so before and after.
    assert "annule aussi son rendez-vous à venir" in html.unescape(search.text)
    assert "confirmé (sera annulé par l'effacement)" in html.unescape(search.text)
    # Her messages in words, not in codes.
    said = html.unescape(search.text)
    assert "e-mail – confirmation du rendez-vous – envoyé" in said
    assert "e-mail – rappel 24 heures avant – à envoyer" in said
    assert "SMS – demande d'avis après la visite – envoyé" in said
    assert not re.search(r"reminder_|follow_up|– (sent|pending)", said)
    assert unconfirmed.status_code == 400
    assert "Cochez la case" in html.unescape(unconfirmed.text)
    assert still == ADA
    assert erased.status_code == 303
    assert ADA not in erased.headers["location"]
    assert "C'est effacé" in html.unescape(done.text)
    assert "1 rendez-vous à venir est annulé" in html.unescape(done.text)
    assert gone == ""


def shown_in(page: str) -> str:
    """The digest of what the page listed, as its erase form carries it ("" if none)."""
    shown = re.search(r'name="vu" value="([0-9a-f]+)"', page)
    return shown.group(1) if shown else ""


async def test_the_retention_sweep_blanks_walk_ins_needs_with_the_rest(
    post: Post, db: Database, database_url: str
) -> None:
    post.clock.set("2026-12-01 10:00")
    desk = await desk_of(post, db)
    ticket = await walk_in(post, desk, needs=["fauteuil", "langue"])
    await serve(post, desk, outcome="solved")

    kept = await retention.sweep(
        db, make_settings(database_url), post.clock.set("2027-12-01 10:00")
    )
    async with db.session() as session:
        a_year = await session.scalar(select(Ticket).where(Ticket.token == ticket["token"]))
    swept = await retention.sweep(
        db, make_settings(database_url), post.clock.set("2028-12-02 10:00")
    )
    async with db.session() as session:
        two_years = await session.scalar(select(Ticket).where(Ticket.token == ticket["token"]))

    assert kept.tickets == 0
    assert a_year is not None
    assert a_year.needs == ["fauteuil", "langue"]
    assert swept.tickets == 1
    assert two_years is not None
    assert (two_years.needs, two_years.requires_accessible) == ([], False)
    assert two_years.status == "done"


# The person is the person: the phone given with an email (or the email given with a phone)
# leads to what is tied to it, one step, no further.

MARIE = "marie.curie@example.org"
MARIE_PHONE = "0698765432"
MARIE_NOTE = "Marie Curie, marie.curie@example.org, 06 98 76 54 32"


async def marie_booked_then_walked_in(post: Post, db: Database) -> tuple[Any, Any, Any]:
    """Marie's booking (email and phone), her booking by email alone, and her walk-in
    ticket by phone alone, served, sent on to a department that answered."""
    booked = await post.book(
        "2026-12-02T10:00:00+01:00", name="Marie Curie", email=MARIE, phone=MARIE_PHONE
    )
    by_email = await post.book("2026-12-03T10:00:00+01:00", name="Marie Curie", email=MARIE)
    post.clock.set("2026-12-01 10:00")
    desk = await desk_of(post, db)
    ticket = await walk_in(post, desk, phone="06 98 76 54 32")
    await serve(post, desk, outcome="escalated", department="caf", note=MARIE_NOTE)
    await answer_the_escalation(post, db, "La CAF écrira à Mme Curie.")
    return booked, by_email, ticket


async def test_a_person_found_by_email_is_found_by_the_phone_given_with_it_and_back(
    post: Post, db: Database
) -> None:
    booked, by_email, ticket = await marie_booked_then_walked_in(post, db)
    manager = await Staff(db, post.client).headers("manager", "paris-15")

    found = await post.client.get("/api/v1/admin/people", params={"email": MARIE}, headers=manager)
    back = await post.client.get(
        "/api/v1/admin/people", params={"phone": MARIE_PHONE}, headers=manager
    )

    assert found.status_code == 200, found.text
    person = found.json()
    assert [a["reference"] for a in person["appointments"]] == [
        booked["reference"],
        by_email["reference"],
    ]
    # Her walk-in ticket, by the phone given with her email on her booking.
    assert [(t["number"], t["phone"]) for t in person["tickets"]] == [
        (ticket["number"], "+33698765432")
    ]
    assert [v["note"] for v in person["visits"]] == [MARIE_NOTE]
    assert person["escalations"][0]["messages"] == ["La CAF écrira à Mme Curie."]
    assert {m["channel"] for m in person["messages"]} == {"email", "sms"}
    # By phone: her booking by email alone, by the email given with that phone.
    assert back.status_code == 200, back.text
    assert [a["reference"] for a in back.json()["appointments"]] == [
        booked["reference"],
        by_email["reference"],
    ]
    assert back.json()["tickets"] == person["tickets"]


async def test_erasing_by_email_erases_what_the_phone_given_with_it_holds(
    post: Post, db: Database
) -> None:
    _, _, ticket = await marie_booked_then_walked_in(post, db)
    manager = await Staff(db, post.client).headers("manager", "paris-15")
    async with db.session() as session:
        pending = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.ticket_id == ticket["id"], OutboxMessage.status == "pending")
        )
    assert pending  # her texts not sent yet, about her ticket and her request

    erased = await post.client.post(
        "/api/v1/admin/people/erase", json={"email": MARIE}, headers=manager
    )
    by_phone = await post.client.get(
        "/api/v1/admin/people", params={"phone": MARIE_PHONE}, headers=manager
    )
    async with db.session() as session:
        walked_in = await session.scalar(select(Ticket).where(Ticket.id == ticket["id"]))
        note = await session.scalar(select(Visit.note).where(Visit.ticket_id == ticket["id"]))
        steps = list(await session.scalars(select(EscalationEvent.message)))
        texts = list(
            await session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "sms"))
        )

    assert erased.status_code == 200, erased.text
    counts = erased.json()
    assert (counts["appointments"], counts["tickets"], counts["notes"]) == (2, 1, 1)
    assert counts["messages_cancelled"] >= pending
    assert by_phone.json()["tickets"] == []
    assert by_phone.json()["visits"] == []
    assert by_phone.json()["messages"] == []
    assert walked_in is not None
    assert walked_in.phone is None
    assert note == ""
    assert set(steps) == {""}
    assert texts
    assert all((m.recipient, m.data) == ("", {}) and m.status != "pending" for m in texts)


async def test_the_page_says_through_which_phone_a_walk_in_was_found(
    post: Post, db: Database
) -> None:
    _, _, ticket = await marie_booked_then_walked_in(post, db)
    csrf = await manager_on_the_page(post, db)

    search = await post.client.post(
        "/admin/donnees-personnelles", data={"csrf": csrf, "email": MARIE}
    )

    text = html.unescape(search.text)
    assert search.status_code == 200
    assert "Tickets (1)" in text
    assert "Recherche élargie aux numéros donnés avec cette adresse" in text
    assert f"{ticket['number']} – " in text
    assert "trouvé par +33698765432" in text
    assert MARIE_NOTE in text


# An erasure leaves no booking behind: the appointments ahead are cancelled, without a word.

MARIE_AT = "2026-12-02T10:00:00+01:00"


async def one_station(db: Database) -> None:
    """paris-15 with its first station only and no share kept for walk-ins: a booking
    takes its slot away from the others."""
    async with db.writing() as session:
        site = await session.scalar(select(Site).where(Site.slug == "paris-15"))
        assert site is not None
        site.walk_in_percent = 0
        stations = await session.scalars(
            select(Station).where(Station.site_id == site.id).order_by(Station.id).offset(1)
        )
        for station in stations:
            station.active = False


async def free_at(post: Post, start: str) -> bool:
    free = await post.client.get(
        "/api/v1/sites/paris-15/availability",
        params={"service": "caf", "from": start[:10], "to": start[:10]},
    )
    assert free.status_code == 200, free.text
    return start in [slot["start"] for slot in free.json()["slots"]]


async def test_erasing_a_person_cancels_their_appointment_ahead_and_tells_them_nothing(
    post: Post, db: Database
) -> None:
    await one_station(db)
    staff = Staff(db, post.client)
    hooked = await post.client.post(
        "/api/v1/admin/webhooks",
        json={
            "url": "http://127.0.0.1:9/hook",
            "secret": "a-test-secret-0123456789",
            "events": ["appointment.cancelled"],
        },
        headers=await staff.headers("admin"),
    )
    assert hooked.status_code == 201, hooked.text
    booked = await post.book(
        MARIE_AT, name="Marie Curie", email=MARIE, phone=MARIE_PHONE, reminders_by_sms=True
    )
    await post.send_due()
    mails, texts = len(post.mails(MARIE)), len(post.sms.received)
    assert not await free_at(post, MARIE_AT)
    manager = await staff.headers("manager", "paris-15")

    erased = await post.client.post(
        "/api/v1/admin/people/erase", json={"email": MARIE}, headers=manager
    )
    await post.send_due()
    by_link = await post.client.get(f"/api/v1/appointments/{booked['token']}")
    async with db.session() as session:
        appointment = await session.scalar(
            select(Appointment).where(Appointment.reference == booked["reference"])
        )
        assert appointment is not None
        outbox = list(
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.appointment_id == appointment.id)
            )
        )
        deliveries = list(await session.scalars(select(WebhookDelivery)))
        (log,) = await session.scalars(
            select(AuditEvent.details).where(AuditEvent.action == "person.erased")
        )

    assert erased.status_code == 200, erased.text
    assert erased.json()["appointments"] == 1
    assert appointment is not None
    assert (appointment.status, appointment.name, appointment.email) == ("cancelled", "", "")
    assert appointment.cancelled_at is not None
    # Its slot is free again; its private link tells a cancelled booking, of nobody.
    assert await free_at(post, MARIE_AT)
    assert by_link.status_code == 200, by_link.text
    assert by_link.json()["status"] == "cancelled"
    assert MARIE not in by_link.text
    # Not a word to her: nothing more sent, nothing left to send, no cancellation written.
    assert (len(post.mails(MARIE)), len(post.sms.received)) == (mails, texts)
    assert all(m.status != "pending" for m in outbox)
    assert "cancelled" not in {m.kind for m in outbox}
    # The webhooks hear of it, as of any cancellation, with nothing of her.
    assert [d.event for d in deliveries] == ["appointment.cancelled"]
    assert booked["reference"].encode() in deliveries[0].body
    assert MARIE.encode() not in deliveries[0].body
    assert log["cancelled"] == 1


async def test_erasing_a_person_deletes_the_files_their_messages_were_written_to(
    client: Any, staff: Staff, db: Database
) -> None:
    """Without a mail server or SMS gateway, messages are files under the outbox folder:
    the erasure deletes those of the person's messages, and leaves another's."""
    for email, start in ((ADA, "10:00"), ("bob@example.org", "11:00")):
        response = await client.post(
            "/api/v1/appointments",
            json={"site": "paris-15", "service": "caf", "name": "Une personne", "email": email,
                  "start": f"2026-12-15T{start}:00+01:00"},
        )  # fmt: skip
        assert response.status_code == 201, response.text
    async with db.session() as session:
        written = list(
            await session.execute(
                select(Appointment.email, OutboxMessage.idempotency_key).join(
                    Appointment, Appointment.id == OutboxMessage.appointment_id
                )
            )
        )
    # Message ids start again with each database: files of an earlier test go first.
    await anyio.to_thread.run_sync(partial(shutil.rmtree, TEST_OUTBOX, ignore_errors=True))
    emails = EmailFiles(TEST_OUTBOX / "email", "guichet@example.org")
    texts = SmsFiles(TEST_OUTBOX / "sms")
    files: dict[str, set[str]] = {ADA: set(), "bob@example.org": set()}
    for email, key in written:  # as the file transports write them
        before = await anyio.to_thread.run_sync(message_files)
        await emails.send(Email(email, "Rendez-vous", "Bonjour", "<p>Bonjour</p>", message_id(key)))
        await texts.send(Sms(ADA_PHONE, "Bonjour", key))
        files[email] |= await anyio.to_thread.run_sync(message_files) - before
    manager = await staff.headers("manager", "paris-15")

    erased = await client.post("/api/v1/admin/people/erase", json={"email": ADA}, headers=manager)
    left = await anyio.to_thread.run_sync(message_files)

    assert erased.status_code == 200, erased.text
    assert len(files[ADA]) >= 2
    assert len(files["bob@example.org"]) >= 2
    assert not files[ADA] & left
    assert files["bob@example.org"] <= left


def message_files() -> set[str]:
    """The files the file transports wrote under the tests' outbox folder."""
    return {str(path) for path in TEST_OUTBOX.rglob("*") if path.is_file()}


# Another person with the same phone: what only the widening reaches, and that carries a
# contact of its own differing from the person's, is not surely theirs. It is shown apart,
# never erased nor cancelled.

PAUL = "paul.fam@example.net"
QUENTIN = "quentin.fam@example.net"
FAMILY_PHONE = "+33622334455"
ERASE_PAGE = "/admin/donnees-personnelles/effacement"


@dataclass
class Family:
    """Paul's bookings (with the family's phone, then by email alone), Quentin's with his
    own email and that phone (one past, checked in and served; one ahead, reminded by
    text), and a walk-in ticket with that phone alone."""

    paul: Any
    paul_alone: Any
    quentin_before: Any
    quentin: Any
    walk_in: Any


async def a_family_sharing_a_phone(post: Post, db: Database) -> Family:
    quentin_before = await post.book(
        "2026-12-01T10:00:00+01:00", name="Quentin Famille", email=QUENTIN, phone="0622334455"
    )
    paul = await post.book(
        "2026-12-08T10:00:00+01:00", name="Paul Famille", email=PAUL, phone="06 22 33 44 55"
    )
    paul_alone = await post.book("2026-12-09T10:00:00+01:00", name="Paul", email=PAUL)
    post.clock.set("2026-12-01 09:55")
    desk = await desk_of(post, db)
    await check_in(post, desk, quentin_before)
    post.clock.set("2026-12-01 10:05")
    await serve(post, desk, outcome="solved", note="M. Quentin Famille")
    # Booked once his first is past: a phone holds two appointments to come at most.
    quentin = await post.book(
        "2026-12-10T10:00:00+01:00",
        name="Quentin Famille",
        email=QUENTIN,
        phone="0622334455",
        reminders_by_sms=True,
    )
    ticket = await walk_in(post, desk, phone="06 22 33 44 55")
    return Family(paul, paul_alone, quentin_before, quentin, ticket)


async def manager_on_the_page(post: Post, db: Database) -> str:
    """Log a manager of paris-15 in on the pages; the CSRF token of their session."""
    manager = await Staff(db, post.client).agent("manager", "paris-15")
    login = await post.client.post(
        "/connexion", data={"email": manager, "password": STAFF_PASSWORD}, follow_redirects=False
    )
    assert login.status_code == 303
    page = await post.client.get("/admin/donnees-personnelles")
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
    assert csrf
    return csrf.group(1)


def line_of(page: str, reference: str) -> str:
    """The item of the page's lists that begins with `reference`."""
    found = re.search(rf"<li>{re.escape(reference)} – (.*?)</li>", page)
    assert found, f"{reference} is not listed"
    return found.group(1)


async def test_erasing_by_email_leaves_another_person_who_shares_the_phone(
    post: Post, db: Database
) -> None:
    family = await a_family_sharing_a_phone(post, db)
    manager = await Staff(db, post.client, created=70).headers("manager", "paris-15")
    async with db.session() as session:
        quentin_ids = set(
            await session.scalars(
                select(Appointment.id).where(
                    Appointment.reference.in_(
                        [family.quentin["reference"], family.quentin_before["reference"]]
                    )
                )
            )
        )
        quentin_pending = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.appointment_id.in_(quentin_ids), OutboxMessage.status == "pending")
        )
    assert quentin_pending  # his reminders, not sent yet

    found = await post.client.get("/api/v1/admin/people", params={"email": PAUL}, headers=manager)
    csrf = await manager_on_the_page(post, db)
    search = await post.client.post(
        "/admin/donnees-personnelles", data={"csrf": csrf, "email": PAUL}
    )
    post.client.cookies.clear()
    erased = await post.client.post(
        "/api/v1/admin/people/erase", json={"email": PAUL}, headers=manager
    )
    async with db.session() as session:
        appointments = {a.reference: a for a in await session.scalars(select(Appointment))}
        tickets = {t.id: t for t in await session.scalars(select(Ticket))}
        notes = list(await session.scalars(select(Visit.note)))
        his_messages = list(
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.appointment_id.in_(quentin_ids))
            )
        )
        (log,) = await session.scalars(
            select(AuditEvent.details).where(AuditEvent.action == "person.erased")
        )

    # Found by Paul's email: his bookings and the walk-in with the phone alone, not Quentin's.
    assert found.status_code == 200, found.text
    person = found.json()
    assert [a["reference"] for a in person["appointments"]] == [
        family.paul["reference"],
        family.paul_alone["reference"],
    ]
    assert [t["number"] for t in person["tickets"]] == [family.walk_in["number"]]
    assert person["visits"] == []
    assert QUENTIN not in found.text
    assert "Quentin" not in found.text
    # The page shows Quentin's apart, says why, and that they are left alone.
    page = html.unescape(search.text)
    assert search.status_code == 200, search.text
    assert "Pas effacé : peut-être une autre personne (3)" in page
    for reference in (family.quentin["reference"], family.quentin_before["reference"]):
        line = line_of(page, reference)
        assert f"trouvé par {FAMILY_PHONE}, même téléphone, autre adresse e-mail" in line
        assert "pas effacé ; si c'est la même personne, cherchez-la par cette adresse" in line
        assert "sera annulé" not in line
    assert f"ticket du rendez-vous {family.quentin_before['reference']} : pas effacé" in page
    assert "M. Quentin Famille" not in page
    assert "annule aussi ses 2 rendez-vous à venir" in page
    assert "(sera annulé par l'effacement)" in line_of(page, family.paul["reference"])
    # The erasure erases and cancels Paul's only.
    assert erased.status_code == 200, erased.text
    counts = erased.json()
    assert (counts["appointments"], counts["tickets"], counts["notes"]) == (2, 1, 0)
    assert log["cancelled"] == 2
    for reference in (family.paul["reference"], family.paul_alone["reference"]):
        gone = appointments[reference]
        assert (gone.status, gone.name, gone.email, gone.phone) == ("cancelled", "", "", None)
    quentin = appointments[family.quentin["reference"]]
    assert (quentin.status, quentin.name, quentin.email, quentin.phone) == (
        "booked",
        "Quentin Famille",
        QUENTIN,
        FAMILY_PHONE,
    )
    before = appointments[family.quentin_before["reference"]]
    assert (before.name, before.email, before.phone) == ("Quentin Famille", QUENTIN, FAMILY_PHONE)
    assert tickets[family.walk_in["id"]].phone is None
    (his_ticket,) = [t for t in tickets.values() if t.appointment_id == before.id]
    assert his_ticket.phone == FAMILY_PHONE
    assert notes == ["M. Quentin Famille"]
    assert all(m.recipient and m.data for m in his_messages)
    assert len([m for m in his_messages if m.status == "pending"]) == quentin_pending


async def test_the_page_erases_what_it_showed_or_nothing(post: Post, db: Database) -> None:
    sam = await post.book(
        "2026-12-08T10:00:00+01:00", name="Sam Stale", email="sam.stale@example.net",
        phone="0633445566",
    )  # fmt: skip
    post.clock.set("2026-12-01 10:00")
    desk = await desk_of(post, db)
    csrf = await manager_on_the_page(post, db)
    asked = {"csrf": csrf, "email": "sam.stale@example.net", "confirme": "oui"}
    search = await post.client.post("/admin/donnees-personnelles", data=asked)
    shown = shown_in(search.text)
    # Meanwhile Tina books with the same phone (another email: not Sam's), and a walk-in
    # ticket is taken with Sam's phone alone (Sam's): the page did not show it.
    session_cookies = httpx.Cookies(post.client.cookies)
    post.client.cookies.clear()  # the API, by its public form and a bearer token
    tina = await post.book(
        "2026-12-09T10:00:00+01:00", name="Tina Other", email="tina.other@example.net",
        phone="06 33 44 55 66",
    )  # fmt: skip
    ticket = await walk_in(post, desk, phone="06 33 44 55 66")
    post.client.cookies = session_cookies

    stale = await post.client.post(ERASE_PAGE, data={**asked, "vu": shown})
    async with db.session() as session:
        untouched = await session.scalar(
            select(Appointment).where(Appointment.reference == sam["reference"])
        )
        walked_in = await session.scalar(select(Ticket.phone).where(Ticket.id == ticket["id"]))
        nothing_logged = await session.scalar(
            select(func.count()).where(AuditEvent.action == "person.erased")
        )
    confirmed = await post.client.post(
        ERASE_PAGE, data={**asked, "vu": shown_in(stale.text)}, follow_redirects=False
    )
    async with db.session() as session:
        appointments = {a.reference: a for a in await session.scalars(select(Appointment))}
        walked_in_after = await session.scalar(
            select(Ticket.phone).where(Ticket.id == ticket["id"])
        )

    # Not what the page showed: nothing erased, the page again with what is found now.
    assert stale.status_code == 409, stale.text
    page = html.unescape(stale.text)
    assert "Rien n'a été effacé." in page
    assert "a changé depuis l'affichage de la page" in page
    assert "Tickets (1)" in page
    assert f"{ticket['number']} – " in page
    assert "pas effacé ; si c'est la même personne" in line_of(page, tina["reference"])
    assert untouched is not None
    assert (untouched.status, untouched.email) == ("booked", "sam.stale@example.net")
    assert walked_in == "+33633445566"
    assert nothing_logged == 0
    # Confirmed again on what is shown now: Sam's erased, Tina's left alone.
    assert confirmed.status_code == 303, confirmed.text
    assert "annules=1" in confirmed.headers["location"]
    assert (appointments[sam["reference"]].status, appointments[sam["reference"]].email) == (
        "cancelled",
        "",
    )
    assert walked_in_after is None
    tina_now = appointments[tina["reference"]]
    assert (tina_now.status, tina_now.name, tina_now.email) == (
        "booked",
        "Tina Other",
        "tina.other@example.net",
    )
