"""Visits and requests sent on to expert departments, on both databases, with a real SMTP
server on loopback: what the facilitator records, the follow-up that says so, and each
step of an escalation told to the usager and shown on their private page."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.db import Database
from app.visits.models import Visit
from tests.conftest import Staff
from tests.post import Desk, Post, desk_of, serve, walk_in


def text_of(message: Any) -> str:
    part = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    return str(part.get_content())


async def fresh(staff: Staff, email: str) -> dict[str, str]:
    """Headers with a new token: the tests move their clock by days."""
    return {"Authorization": f"Bearer {await staff.token(email)}"}


async def book_and_come(post: Post, db: Database) -> tuple[Any, Desk]:
    """Ada books 10:00 the day before, arrives at 9:55 and is checked in."""
    booked = await post.book("2026-12-01T10:00:00+01:00", email="ada@example.org")
    post.clock.set("2026-12-01 09:55")
    desk = await desk_of(post, db)
    checked_in = await post.client.post(
        "/api/v1/sites/paris-15/check-ins",
        json={"reference": booked["reference"]},
        headers=desk.reception,
    )
    assert checked_in.status_code == 201, checked_in.text
    return booked, desk


async def test_a_finished_visit_records_what_was_done_by_whom_and_how_the_person_came(
    post: Post, db: Database
) -> None:
    _, desk = await book_and_come(post, db)
    started = post.clock.set("2026-12-01 10:00")
    await walk_in(post, desk, service="ants")

    called = await post.client.post(
        f"/api/v1/stations/{desk.station}/call-next", headers=desk.facilitator
    )
    ticket = f"/api/v1/tickets/{called.json()['id']}"
    await post.client.post(f"{ticket}/start", headers=desk.facilitator)
    finished = post.clock.set("2026-12-01 10:20")
    done = await post.client.post(
        f"{ticket}/finish",
        headers=desk.facilitator,
        json={"services": ["caf", "impots"], "outcome": "solved", "note": "  Fait  "},
    )
    assert done.status_code == 200, done.text
    await serve(post, desk)
    async with db.session() as session:
        visits = list(await session.scalars(select(Visit).order_by(Visit.id)))

    booked, walked_in = visits
    assert (booked.channel, booked.services, booked.outcome, booked.note) == (
        "online",
        ["caf", "impots"],
        "solved",
        "Fait",
    )
    assert booked.agent_id is not None
    assert booked.station_id == desk.station
    assert (booked.started_at, booked.finished_at) == (started, finished)
    assert (walked_in.channel, walked_in.services, walked_in.outcome) == (
        "walk_in",
        ["ants"],
        "unrecorded",
    )


async def test_a_visit_report_that_does_not_hold_together_is_refused_and_nothing_changes(
    post: Post, db: Database
) -> None:
    post.clock.set("2026-12-01 10:00")
    desk = await desk_of(post, db)
    ticket = await walk_in(post, desk)
    await post.client.post(f"/api/v1/stations/{desk.station}/call-next", headers=desk.facilitator)
    await post.client.post(f"/api/v1/tickets/{ticket['id']}/start", headers=desk.facilitator)
    finish = f"/api/v1/tickets/{ticket['id']}/finish"

    answers = [
        await post.client.post(finish, headers=desk.facilitator, json=body)
        for body in (
            {"outcome": "escalated"},
            {"outcome": "solved", "department": "caf"},
            {"outcome": "escalated", "department": "nowhere"},
            {"outcome": "solved", "services": ["no-such-service"]},
            {"outcome": "maybe"},
            {"outcome": "solved", "color": "blue"},
        )
    ]
    still = await post.client.get(f"/api/v1/tickets/{ticket['token']}")

    assert [a.status_code for a in answers] == [400] * 6
    assert answers[0].json()["code"] == "department_required"
    assert answers[2].json()["code"] == "unknown_department"
    assert still.json()["status"] == "serving"


async def test_an_escalation_tells_the_usager_at_each_step_and_shows_on_their_page(
    post: Post, db: Database
) -> None:
    booked, desk = await book_and_come(post, db)
    staff = Staff(db, post.client)
    manager_email = await staff.agent("manager", "paris-15")
    manager = await fresh(staff, manager_email)
    post.clock.set("2026-12-01 10:00")
    await serve(post, desk, outcome="escalated", department="caf", note="Dossier incomplet")
    post.clock.set("2026-12-01 10:30")
    await post.send_due()
    (listed,) = (await post.client.get("/api/v1/escalations", headers=manager)).json()
    reference = listed["reference"]

    unprintable = await post.client.post(
        f"/api/v1/escalations/{reference}/status",
        json={"status": "in_progress", "message": "Bonjour\u0000\u202e"},
        headers=manager,
    )
    steps = []
    for day, status, message in (
        ("2026-12-03 11:00", "in_progress", ""),
        ("2026-12-10 15:00", "answered", "La CAF vous écrit sous huit jours."),
        ("2026-12-11 09:00", "closed", ""),
    ):
        post.clock.set(day)
        manager = await fresh(staff, manager_email)
        moved = await post.client.post(
            f"/api/v1/escalations/{reference}/status",
            json={"status": status, "message": message},
            headers=manager,
        )
        steps.append(moved)
        await post.send_due()
    backwards = await post.client.post(
        f"/api/v1/escalations/{reference}/status", json={"status": "answered"}, headers=manager
    )
    page = await post.client.get(f"/rendez-vous/{booked['token']}")

    subjects = post.subjects()
    assert listed["department"] == "caf"
    assert listed["status"] == "received"
    assert unprintable.status_code == 400
    assert unprintable.json()["code"] == "message_unprintable"
    assert reference.startswith("DM15-")
    assert [s.status_code for s in steps] == [200, 200, 200]
    assert steps[-1].json()["answered_at"].startswith("2026-12-10T15:00")
    assert [step["status"] for step in steps[-1].json()["history"]] == [
        "received",
        "in_progress",
        "answered",
        "closed",
    ]
    assert subjects[-4:] == [
        "Merci de votre visite (Mairie du 15e arrondissement)",
        f"Votre demande {reference} : en cours de traitement",
        f"Votre demande {reference} : réponse reçue",
        f"Votre demande {reference} : close",
    ]
    follow_up = text_of(post.mails()[-4])
    assert f"transmise à Caisse d'allocations familiales (CAF), sous la référence {reference}" in (
        follow_up
    )
    assert "La CAF vous écrit sous huit jours." in text_of(post.mails()[-2])
    assert backwards.status_code == 409
    assert "Votre demande transmise" in page.text
    assert reference in page.text
    assert "État : <strong>close</strong>" in page.text
    assert "La CAF vous écrit sous huit jours." in page.text


async def test_a_walk_in_follows_their_request_by_text_and_on_the_ticket_page(
    post: Post, db: Database
) -> None:
    post.clock.set("2026-12-01 10:00")
    desk = await desk_of(post, db)
    manager = await Staff(db, post.client).headers("manager", "paris-15")
    ticket = await walk_in(post, desk, phone="06 12 34 56 78")
    await serve(post, desk, outcome="escalated", department="logement")
    (listed,) = (await post.client.get("/api/v1/escalations", headers=manager)).json()

    await post.client.post(
        f"/api/v1/escalations/{listed['reference']}/status",
        json={"status": "in_progress"},
        headers=manager,
    )
    post.clock.set("2026-12-01 11:00")
    await post.send_due()
    page = await post.client.get(f"/ticket/{ticket['token']}")
    tracked = (await post.client.get(f"/api/v1/tickets/{ticket['token']}")).json()

    texts = [sms["text"] for sms in post.sms.received]
    assert len(texts) == 2
    assert any(text.startswith("Merci de votre visite") for text in texts)
    update = next(text for text in texts if text.startswith("Demande"))
    assert update.startswith(
        f"Demande {listed['reference']}, Mairie du 15e arrondissement : en cours de traitement."
    )
    assert update.endswith(f"/t/{ticket['token']}")
    assert tracked["escalation"]["reference"] == listed["reference"]
    assert tracked["escalation"]["status"] == "in_progress"
    assert "Logement social (Ville de Paris)" in page.text


async def test_requests_waiting_too_long_are_flagged_and_managers_see_only_theirs(
    post: Post, db: Database
) -> None:
    post.clock.set("2026-12-01 10:00")
    desk = await desk_of(post, db)
    staff = Staff(db, post.client)
    manager_email = await staff.agent("manager", "paris-15")
    manager = await fresh(staff, manager_email)
    elsewhere_email = await staff.agent("manager", "paris-20")
    await walk_in(post, desk)
    await serve(post, desk, outcome="escalated", department="caf")
    (listed,) = (await post.client.get("/api/v1/escalations", headers=manager)).json()
    path = f"/api/v1/escalations/{listed['reference']}"

    post.clock.set("2026-12-16 09:00")
    manager = await fresh(staff, manager_email)
    elsewhere = await fresh(staff, elsewhere_email)
    on_time = (await post.client.get(path, headers=manager)).json()
    post.clock.set("2026-12-16 11:00")
    late = (await post.client.get(path, headers=manager)).json()
    only_late = await post.client.get("/api/v1/escalations?overdue=true", headers=manager)
    theirs = await post.client.get("/api/v1/escalations", headers=elsewhere)
    not_theirs = await post.client.get(path, headers=elsewhere)
    cannot_move = await post.client.post(
        f"{path}/status", json={"status": "closed"}, headers=elsewhere
    )
    facilitator_email = await staff.agent("facilitator", "paris-15")
    facilitator = await post.client.get(
        "/api/v1/escalations", headers=await fresh(staff, facilitator_email)
    )

    assert (on_time["overdue"], late["overdue"]) == (False, True)
    assert [item["reference"] for item in only_late.json()] == [listed["reference"]]
    assert theirs.json() == []
    assert not_theirs.status_code == 403
    assert cannot_move.status_code == 403
    assert facilitator.status_code == 403


async def test_administrators_manage_the_list_of_departments(post: Post, db: Database) -> None:
    staff = Staff(db, post.client)
    admin = await staff.headers("admin")
    manager = await staff.headers("manager", "paris-15")

    added = await post.client.post(
        "/api/v1/departments",
        json={"code": "msa", "name": "Mutualité sociale agricole", "answer_days": 30},
        headers=admin,
    )
    twice = await post.client.post(
        "/api/v1/departments", json={"code": "msa", "name": "MSA"}, headers=admin
    )
    refused = await post.client.post(
        "/api/v1/departments", json={"code": "x", "name": "X"}, headers=manager
    )
    blank = await post.client.post(
        "/api/v1/departments", json={"code": "y", "name": "   "}, headers=admin
    )
    retired = await post.client.patch(
        "/api/v1/departments/msa", json={"active": False}, headers=admin
    )
    listed = (await post.client.get("/api/v1/departments", headers=manager)).json()

    assert added.status_code == 201
    assert twice.status_code == 409
    assert refused.status_code == 403
    assert blank.status_code == 400
    assert retired.json()["active"] is False
    assert {"code": "msa", "name": "Mutualité sociale agricole", "answer_days": 30,
            "active": False, "email": None, "partner": None} in listed  # fmt: skip
    assert len(listed) == 10
