"""A request sent on to an expert department reaches it: the department's email address is
set through the departments API, each request is emailed there (in the transaction that
sends it on) with a private link, and on the page behind it the department answers and
moves the request forward, the usager being told at each step. On both databases, with a
real SMTP server on loopback and the clock injected."""

from __future__ import annotations

import html
import re
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import select

from app.asgi import create_app
from app.audit.models import AuditEvent
from app.db import Database, token_digest
from app.notify.models import OutboxMessage
from app.visits.models import Escalation, EscalationEvent
from tests.conftest import Clock, Staff, make_settings
from tests.post import PUBLIC_URL, Desk, Post, desk_of, serve

CAF = "demandes.caf@partenaires.example.org"
CAF_NAME = "Caisse d'allocations familiales (CAF)"


def text_of(message: Any) -> str:
    part = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    return str(part.get_content())


def link_in(message: Any) -> str:
    found = re.search(
        rf"{re.escape(PUBLIC_URL)}(/demande-transmise/[A-Za-z0-9_-]+)", text_of(message)
    )
    assert found, text_of(message)
    return found.group(1)


def form_token_of(page: str) -> str:
    found = re.search(r'name="jeton" value="([0-9a-f]+)"', page)
    assert found, page
    return found.group(1)


async def caf_has_an_email(post: Post, db: Database) -> None:
    admin = await Staff(db, post.client).headers("admin")
    changed = await post.client.patch("/api/v1/departments/caf", json={"email": CAF}, headers=admin)
    assert changed.status_code == 200, changed.text


async def ada_is_sent_on_to_the_caf(post: Post, db: Database) -> tuple[Any, Desk]:
    """Ada books 10:00, comes, and her request is sent on to the CAF at 10:20."""
    booked = await post.book("2026-12-01T10:00:00+01:00", email="ada@example.org")
    post.clock.set("2026-12-01 09:55")
    desk = await desk_of(post, db)
    checked_in = await post.client.post(
        "/api/v1/sites/paris-15/check-ins",
        json={"reference": booked["reference"]},
        headers=desk.reception,
    )
    assert checked_in.status_code == 201, checked_in.text
    post.clock.set("2026-12-01 10:20")
    await serve(post, desk, outcome="escalated", department="caf", note="Attestation manquante")
    await post.send_due()
    return booked, desk


async def test_a_department_email_is_set_and_cleared_through_the_departments_api(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    admin = await staff.headers("admin")
    manager = await staff.headers("manager", "paris-15")

    added = await client.post(
        "/api/v1/departments",
        json={"code": "mdph", "name": "MDPH", "email": "Contact@MDPH.example.org"},
        headers=admin,
    )
    bad = await client.post(
        "/api/v1/departments",
        json={"code": "bad", "name": "Bad", "email": "not an address"},
        headers=admin,
    )
    nowhere = await client.patch("/api/v1/departments/caf", json={"email": "a@b.c"}, headers=admin)
    by_manager = await client.patch("/api/v1/departments/caf", json={"email": CAF}, headers=manager)
    set_ = await client.patch("/api/v1/departments/caf", json={"email": CAF}, headers=admin)
    renamed = await client.patch("/api/v1/departments/caf", json={"answer_days": 20}, headers=admin)
    cleared = await client.patch("/api/v1/departments/mdph", json={"email": ""}, headers=admin)
    listed = {
        d["code"]: d for d in (await client.get("/api/v1/departments", headers=manager)).json()
    }
    log = (
        await client.get("/api/v1/audit", params={"action": "department."}, headers=admin)
    ).json()

    assert added.status_code == 201, added.text
    assert added.json()["email"] == "contact@mdph.example.org"
    assert bad.status_code == 400
    assert nowhere.status_code == 400
    assert by_manager.status_code == 403
    assert set_.json()["email"] == CAF
    assert renamed.json()["email"] == CAF  # a change of something else keeps it
    assert cleared.json()["email"] is None
    assert listed["caf"]["email"] == CAF
    assert listed["logement"]["email"] is None
    assert set(listed["caf"]) == {"code", "name", "answer_days", "active", "email", "partner"}
    # The journal says the email changed, never what it is.
    assert CAF not in str(log)
    assert "mdph.example.org" not in str(log)


async def test_a_request_sent_on_is_emailed_to_its_department_with_a_private_link(
    post: Post, db: Database
) -> None:
    await caf_has_an_email(post, db)
    booked, _ = await ada_is_sent_on_to_the_caf(post, db)

    (request,) = post.mails(CAF)
    link = link_in(request)
    token = link.rsplit("/", 1)[1]
    async with db.session() as session:
        escalation = await session.scalar(select(Escalation))
        message = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.kind == "department_request")
        )
    assert escalation is not None
    assert message is not None
    body = text_of(request)

    assert str(request["Subject"]) == (
        f"Demande {escalation.reference} transmise par la Mairie du 15e arrondissement"
    )
    assert escalation.reference in body
    assert "Ada" not in body
    assert "ada@example.org" not in body
    assert "Attestation" not in body
    assert len(token) >= 43  # 256 random bits
    assert escalation.department_token_digest == token_digest(token)
    assert token not in str(escalation.__dict__)
    assert (message.status, message.recipient, message.ticket_id) == (
        "sent",
        CAF,
        escalation.ticket_id,
    )
    # Written in the transaction that sent the request on.
    assert message.created_at == escalation.created_at
    assert booked["reference"] not in body


async def test_the_department_answers_on_its_page_and_the_usager_is_told_at_each_step(
    post: Post, db: Database
) -> None:
    await caf_has_an_email(post, db)
    await ada_is_sent_on_to_the_caf(post, db)
    link = link_in(post.mails(CAF)[0])

    post.clock.set("2026-12-03 11:00")
    page = await post.client.get(link)
    started = await post.client.post(
        link,
        data={"jeton": form_token_of(page.text), "statut": "in_progress", "message": ""},
        follow_redirects=False,
    )
    await post.send_due()
    post.clock.set("2026-12-08 15:00")
    page_again = await post.client.get(started.headers["location"])
    answered = await post.client.post(
        link,
        data={
            "jeton": form_token_of(page_again.text),
            "statut": "answered",
            "message": "Votre dossier est complet : versement le 15 décembre.",
        },
        follow_redirects=False,
    )
    await post.send_due()
    manager = await Staff(db, post.client).headers("manager", "paris-15")
    (listed,) = (await post.client.get("/api/v1/escalations", headers=manager)).json()
    after = await post.client.get(link)
    async with db.session() as session:
        steps = list(await session.scalars(select(EscalationEvent).order_by(EscalationEvent.id)))
        moved = list(
            await session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == "escalation.moved")
                .order_by(AuditEvent.id)
            )
        )
    reference = listed["reference"]

    text = html.unescape(page.text)
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert '<html lang="fr">' in page.text
    assert f"Demande {reference}" in text
    assert "Attestation manquante" in text  # what the mairie passes on
    assert "Ada Lovelace" in text
    assert "ada@example.org" not in text  # the department answers through the mairie
    assert started.status_code == 303
    assert answered.status_code == 303
    assert "C'est enregistré" in html.unescape(page_again.text)
    assert [s["status"] for s in listed["history"]] == ["received", "in_progress", "answered"]
    assert listed["answered_at"].startswith("2026-12-08T15:00")
    assert [(s.by_department, s.agent_id) for s in steps[1:]] == [(True, None), (True, None)]
    assert [(e.agent_id, e.details) for e in moved] == [
        (None, {"status": "in_progress", "department": "caf"}),
        (None, {"status": "answered", "department": "caf"}),
    ]
    # The visit's thank-you may go out in the same batch as the first, in either order.
    about_the_request = [s for s in post.subjects() if s.startswith("Votre demande")]
    assert about_the_request[-2:] == [
        f"Votre demande {reference} : en cours de traitement",
        f"Votre demande {reference} : réponse reçue",
    ]
    told = text_of(post.mails()[-1])
    assert f"Message de {CAF_NAME} : Votre dossier est complet" in told
    after_text = html.unescape(after.text)
    assert "par votre service – Votre dossier est complet" in after_text
    assert 'value="closed"' in after.text
    assert 'value="answered"' not in after.text


async def test_the_department_page_refuses_a_forged_form_a_step_back_and_an_empty_answer(
    post: Post, db: Database
) -> None:
    await caf_has_an_email(post, db)
    await ada_is_sent_on_to_the_caf(post, db)
    link = link_in(post.mails(CAF)[0])
    jeton = form_token_of((await post.client.get(link)).text)

    forged = await post.client.post(link, data={"statut": "in_progress"})
    wrong = await post.client.post(link, data={"jeton": "0" * 64, "statut": "in_progress"})
    odd = await post.client.post(link, data={"jeton": "\u202e", "statut": "in_progress"})
    backwards = await post.client.post(link, data={"jeton": jeton, "statut": "received"})
    empty = await post.client.post(link, data={"jeton": jeton, "statut": "answered"})
    too_long = await post.client.post(
        link, data={"jeton": jeton, "statut": "in_progress", "message": "x" * 1001}
    )
    control = await post.client.post(
        link,
        data={"jeton": jeton, "statut": "in_progress", "message": "Bonjour\x00\x07 \u202e"},
    )
    unknown = await post.client.get("/demande-transmise/" + "A" * 43)
    unknown_post = await post.client.post(
        "/demande-transmise/" + "A" * 43, data={"jeton": jeton, "statut": "in_progress"}
    )
    async with db.session() as session:
        escalation = await session.scalar(select(Escalation))

    assert [r.status_code for r in (forged, wrong, odd)] == [403, 403, 403]
    assert "Ce formulaire a expiré" in html.unescape(forged.text)
    assert backwards.status_code == 400
    assert "Choisissez où en est la demande" in html.unescape(backwards.text)
    assert empty.status_code == 400
    assert "Écrivez la réponse" in html.unescape(empty.text)
    assert too_long.status_code == 400
    assert control.status_code == 400
    assert "caractères invisibles ou de contrôle" in html.unescape(control.text)
    assert (unknown.status_code, unknown_post.status_code) == (404, 404)
    assert escalation is not None
    assert escalation.status == "received"
    assert post.subjects().count(f"Votre demande {escalation.reference} : réponse reçue") == 0


async def test_a_department_without_an_email_gets_no_message_and_no_link(
    post: Post, db: Database
) -> None:
    await ada_is_sent_on_to_the_caf(post, db)

    async with db.session() as session:
        escalation = await session.scalar(select(Escalation))
        kinds = list(await session.scalars(select(OutboxMessage.kind)))

    assert escalation is not None
    assert escalation.department_token_digest is None
    assert "department_request" not in kinds


async def test_department_links_are_throttled_like_every_private_link(
    database_url: str, clock: Clock
) -> None:
    clock.set("2026-12-01 10:00")
    app = create_app(make_settings(database_url, token_lookups_per_minute=2), clock=clock)
    async with AsyncTestClient(app=app) as client:
        answers = [
            (await client.get("/demande-transmise/" + "B" * 43)).status_code for _ in range(3)
        ]

    assert answers == [404, 404, 429]
