"""Small findings of an outside tester, through HTTP on both databases: a forwarded
request's message over its limit, or a status not in the list, is refused with the form
kept as typed, never cut nor lost; a mairie's settings refused for a text too long show
it back as typed; and the SMS quiet hours say which texts they hold back and suggest the
reverse period only when that one is a sensible night."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from app.db import Database
from app.i18n.formats import NO_BREAK_SPACE
from app.visits.models import Escalation, EscalationEvent
from tests.commands import in_session
from tests.conftest import Clock, Staff
from tests.integration.test_admin_site_pages import logged_in, post_form
from tests.integration.test_admin_tabs import value_of
from tests.integration.test_staff_pages import console, csrf_of

pytestmark = pytest.mark.usefixtures("tuesday_morning")
CLIENT = AsyncTestClient[object]
PAGE = "/admin/sites/paris-15"


@pytest.fixture
def tuesday_morning(clock: Clock) -> None:
    clock.set("2026-12-01 09:00")


def text_of(page: Any) -> str:
    """The page's HTML with its entities read and its no-break spaces as spaces."""
    return html.unescape(page.text).replace(NO_BREAK_SPACE, " ")


async def forwarded_request(client: CLIENT, staff: Staff, db: Any, clock: Clock) -> tuple[str, str]:
    """A visit of the 15e sent on to the tax office; a manager of the 15e logged in on its
    requests page. Its reference, and the page's CSRF token."""
    from app.queue.commands import act, call_next, issue_walk_in
    from app.visits.service import VisitReport

    ticket = await in_session(
        db, issue_walk_in, "paris-15", service_code="caf", agent_id=None, now=clock()
    )
    site = (await client.get("/api/v1/sites/paris-15")).json()
    await in_session(db, call_next, site["stations"][0]["id"], agent_id=None, now=clock())
    await in_session(db, act, ticket.id, "start", agent_id=None, now=clock())
    report = VisitReport(outcome="escalated", department="impots")
    await in_session(db, act, ticket.id, "finish", agent_id=None, now=clock(), report=report)
    page = await console(client, staff, "manager", "/demandes/paris-15")
    found = re.search(r"DM15-[0-9A-Z]{6}", page)
    assert found, "no request on the requests page"
    return found.group(0), csrf_of(page)


async def steps_of(db: Database, reference: str) -> tuple[str, list[str]]:
    """Where the request `reference` stands, and the messages of its steps."""
    async with db.session() as session:
        escalation = await session.scalar(
            select(Escalation).where(Escalation.reference == reference)
        )
        assert escalation is not None
        messages = await session.scalars(
            select(EscalationEvent.message).where(EscalationEvent.escalation_id == escalation.id)
        )
        return escalation.status, [message or "" for message in messages]


# A forwarded request moved by a manager


async def test_a_message_over_1000_characters_is_refused_with_the_request_form_kept(
    client: CLIENT, staff: Staff, db: Any, clock: Clock
) -> None:
    reference, csrf = await forwarded_request(client, staff, db, clock)
    message = "Dossier transmis " + "m" * 984  # 1001 characters

    refused = await client.post(
        f"/demandes/paris-15/{reference}",
        data={"csrf": csrf, "statut": "in_progress", "message": message},
        follow_redirects=False,
    )

    assert len(message) == 1001
    assert refused.status_code == 400
    assert "Message trop long : 1000 caractères au plus." in text_of(refused)
    assert f">{message}</textarea>" in refused.text
    assert '<option value="in_progress" selected>' in refused.text
    assert "mise à jour" not in refused.text
    assert await steps_of(db, reference) == ("received", [""])


async def test_a_message_of_1000_characters_moves_the_request_whole(
    client: CLIENT, staff: Staff, db: Any, clock: Clock
) -> None:
    reference, csrf = await forwarded_request(client, staff, db, clock)
    message = "Dossier transmis " + "m" * 983

    moved = await client.post(
        f"/demandes/paris-15/{reference}",
        data={"csrf": csrf, "statut": "in_progress", "message": message},
    )

    assert f"Demande {reference} mise à jour" in moved.text
    assert await steps_of(db, reference) == ("in_progress", ["", message])


async def test_a_status_not_in_the_list_is_refused_by_name_with_the_request_form_kept(
    client: CLIENT, staff: Staff, db: Any, clock: Clock
) -> None:
    reference, csrf = await forwarded_request(client, staff, db, clock)

    refused = await client.post(
        f"/demandes/paris-15/{reference}",
        data={"csrf": csrf, "statut": "nexiste", "message": "Réponse par courrier"},
        follow_redirects=False,
    )

    said = text_of(refused)
    assert refused.status_code == 400
    assert "Cet état n'est pas dans la liste" in said
    assert "n'a pas pu aboutir" not in said
    assert ">Réponse par courrier</textarea>" in refused.text
    assert await steps_of(db, reference) == ("received", [""])


# A mairie's settings refused for a text too long


async def test_a_station_name_too_long_is_shown_back_as_typed(client: CLIENT, staff: Staff) -> None:
    csrf = await logged_in(client, staff, "manager")
    name = "Poste " + "p" * 995  # 1001 characters

    refused = await post_form(client, f"{PAGE}/postes", csrf, **{"nouveau-nom": name})

    assert refused.status_code == 400
    assert value_of(refused.text, "nouveau-nom") == name


async def test_a_closure_reason_too_long_is_shown_back_as_typed(
    client: CLIENT, staff: Staff
) -> None:
    csrf = await logged_in(client, staff, "manager")
    reason = "Travaux " + "r" * 993  # 1001 characters

    refused = await post_form(
        client,
        f"{PAGE}/fermetures",
        csrf,
        **{
            "fermeture-debut-jour": "2026-12-10",
            "fermeture-debut-heure": "08:00",
            "fermeture-fin-jour": "2026-12-10",
            "fermeture-fin-heure": "18:00",
            "fermeture-motif": reason,
        },
    )

    assert refused.status_code == 400
    assert value_of(refused.text, "fermeture-motif") == reason


# SMS quiet hours


async def test_the_quiet_hours_say_texts_about_todays_queue_go_at_once(
    client: CLIENT, staff: Staff
) -> None:
    await logged_in(client, staff, "manager")

    page = await client.get(PAGE, params={"onglet": "messages"})

    said = text_of(page)
    assert re.search(
        r'<p class="hint" id="sms_quiet_from-aide">Les rappels, les confirmations et les '
        r"messages de suivi envoyés par SMS attendent la fin de cette période\. Les SMS sur "
        r"la file d'attente du jour \(« c'est bientôt votre tour »\) partent tout de suite",
        said,
    ), "no hint under the quiet hours"


async def test_quiet_hours_from_midnight_to_23_59_are_refused_without_suggesting_one_minute(
    client: CLIENT, staff: Staff
) -> None:
    csrf = await logged_in(client, staff, "manager")

    refused = await post_form(
        client,
        f"{PAGE}/reglages",
        csrf,
        onglet="messages",
        reminder_hours="24, 2",
        sms_quiet_from="00:00",
        sms_quiet_until="23:59",
    )

    said = text_of(refused)
    assert refused.status_code == 400
    assert "il resterait moins de 8 heures entre 8 h 00 et 20 h 00" in said
    assert "Voulez-vous dire" not in said
