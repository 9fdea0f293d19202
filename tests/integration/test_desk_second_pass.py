"""The consoles' second pass, on both databases: a station moves only the tickets called
or served at it, saying which station holds the others; a visit's report, a walk-in's
form and a transfer refused come back as typed, 400, the refusal beside its field, in
the desk's words; nothing changes."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from app.queue.models import Ticket, TicketEvent
from tests.commands import in_session
from tests.conftest import Clock, Staff
from tests.integration.test_desk_loose_ends import desk, text_of, waiting

pytestmark = pytest.mark.usefixtures("tuesday_morning")

CLIENT = AsyncTestClient[object]


@pytest.fixture
def tuesday_morning(clock: Clock) -> None:
    clock.set("2026-12-01 09:00")  # paris-15 is open 8 h 30 – 17 h 00 on Tuesdays


async def stations(client: CLIENT) -> list[int]:
    """The ids of paris-15's stations, Poste 1 first."""
    return [s["id"] for s in (await client.get("/api/v1/sites/paris-15")).json()["stations"]]


async def at_poste_1(
    client: CLIENT, staff: Staff, db: Any, clock: Clock, *, start: bool = False
) -> tuple[Ticket, str]:
    """A walk-in ticket for the CAF called (and started, with `start`) at Poste 1 by a
    facilitator logged in here, who may work at every station: the ticket, the CSRF token."""
    from app.queue.commands import issue_walk_in

    ticket = await in_session(
        db, issue_walk_in, "paris-15", service_code="caf", agent_id=None, now=clock()
    )
    poste_1 = (await stations(client))[0]
    csrf = await desk(client, staff, "facilitator", f"/poste/{poste_1}")
    await client.post(f"/poste/{poste_1}/appeler", data={"csrf": csrf})
    if start:
        await client.post(f"/poste/{poste_1}/tickets/{ticket.id}/commencer", data={"csrf": csrf})
    return ticket, csrf


async def as_stored(db: Any, ticket_id: int) -> tuple[str, int | None, int, int, int]:
    """What a move would change of the ticket: its status, station, calls and service, and
    how many events its history holds."""
    async with db.session() as session:
        ticket = await session.get_one(Ticket, ticket_id)
        events = await session.scalar(
            select(func.count()).where(TicketEvent.ticket_id == ticket_id)
        )
        return ticket.status, ticket.station_id, ticket.call_count, ticket.service_id, events


def beside(page: str, field_id: str) -> str | None:
    """The refusal written beside the field `field_id` of `page`, if any."""
    found = re.search(rf'<p class="field-error" id="{field_id}-erreur">([^<]*)</p>', page)
    return html.unescape(found.group(1)) if found else None


def ticked(page: str, field_id: str) -> bool:
    """Whether the radio button or checkbox `field_id` of `page` is checked."""
    return re.search(rf'id="{field_id}" value="[^"]*" checked', page) is not None


# F1: a station's console acts only on the tickets called or served at it.


@pytest.mark.parametrize("action", ["transferer", "rappeler", "commencer", "absent", "annuler"])
async def test_a_station_cannot_move_a_ticket_called_at_another_station(
    client: CLIENT, staff: Staff, db: Any, clock: Clock, action: str
) -> None:
    ticket, csrf = await at_poste_1(client, staff, db, clock)
    poste_1, poste_2 = (await stations(client))[:2]
    before = await as_stored(db, ticket.id)

    refused = await client.post(
        f"/poste/{poste_2}/tickets/{ticket.id}/{action}",
        data={"csrf": csrf, "service": "logement"},
        follow_redirects=False,
    )
    held_there = text_of((await client.get(f"/poste/{poste_1}")).text)

    assert refused.status_code == 409
    assert (
        "Ce ticket est appelé au Poste 1 : c'est à ce poste de le prendre en charge."
        in html.unescape(refused.text)
    )
    assert await as_stored(db, ticket.id) == before
    assert "Commencer le ticket A001" in held_there


async def test_a_move_for_a_station_is_refused_under_the_lock_once_another_holds_the_ticket(
    client: CLIENT, staff: Staff, db: Any, clock: Clock
) -> None:
    """The console's check reads the ticket before the queue's lock: the command checks
    again under it, so a ticket called elsewhere in between is not moved either."""
    from app.errors import Conflict
    from app.queue.commands import act

    ticket, _ = await at_poste_1(client, staff, db, clock)
    poste_1, poste_2 = (await stations(client))[:2]
    before = await as_stored(db, ticket.id)

    with pytest.raises(Conflict) as refused:
        await in_session(
            db, act, ticket.id, "recall", agent_id=None, now=clock(), station_id=poste_2
        )
    recalled = await in_session(
        db, act, ticket.id, "recall", agent_id=None, now=clock(), station_id=poste_1
    )

    assert refused.value.code == "other_station"
    assert before[2] == 1
    assert recalled.call_count == 2


@pytest.mark.parametrize("action", ["terminer", "transferer"])
async def test_a_station_cannot_finish_or_transfer_a_ticket_served_at_another_station(
    client: CLIENT, staff: Staff, db: Any, clock: Clock, action: str
) -> None:
    ticket, csrf = await at_poste_1(client, staff, db, clock, start=True)
    poste_2 = (await stations(client))[1]
    before = await as_stored(db, ticket.id)

    refused = await client.post(
        f"/poste/{poste_2}/tickets/{ticket.id}/{action}",
        data={"csrf": csrf, "issue": "solved", "service": "logement"},
        follow_redirects=False,
    )

    page = html.unescape(refused.text)

    assert refused.status_code == 409
    assert "Ce ticket est en cours au Poste 1 : c'est à ce poste de s'en occuper." in page
    assert await as_stored(db, ticket.id) == before


# F2: a visit's report refused comes back as typed, the refusal beside its field.

NOTE = "Dossier CAF : attestation à refaire"
REPORTS = {
    "escalated_without_department": (
        {"issue": "escalated"},
        "expert",
        "Choisissez le service expert à qui la demande est transmise.",
    ),
    "unknown_department": (
        {"issue": "escalated", "service_expert": "nexiste"},
        "expert",
        "Ce service expert n'existe pas ou n'est plus proposé.",
    ),
    "department_without_escalation": (
        {"issue": "solved", "service_expert": "caf"},
        "expert",
        "Un service expert ne se choisit que pour une demande transmise.",
    ),
    "no_outcome": ({}, "issue", "Choisissez l'issue de la visite."),
    "bogus_outcome": ({"issue": "bogus"}, "issue", "Choisissez l'issue de la visite."),
    "unknown_demarche": (
        {"issue": "solved", "demarches": ["caf", "nope"]},
        "demarches",
        "Une des démarches choisies n'existe pas.",
    ),
}


@pytest.mark.parametrize(("sent", "field", "message"), REPORTS.values(), ids=REPORTS.keys())
async def test_a_refused_visit_report_is_kept_as_typed_with_its_refusal_beside_the_field(
    client: CLIENT,
    staff: Staff,
    db: Any,
    clock: Clock,
    sent: dict[str, Any],
    field: str,
    message: str,
) -> None:
    ticket, csrf = await at_poste_1(client, staff, db, clock, start=True)
    poste_1 = (await stations(client))[0]
    typed = {"demarches": ["caf", "logement"], **sent}

    refused = await client.post(
        f"/poste/{poste_1}/tickets/{ticket.id}/terminer",
        data={"csrf": csrf, "note": NOTE, **typed},
        follow_redirects=False,
    )
    page = refused.text

    assert refused.status_code == 400
    assert beside(page, f"{field}-{ticket.id}") == message
    assert f">{NOTE}</textarea>" in html.unescape(page)
    for code in ("caf", "logement"):
        assert ticked(page, f"demarche-{ticket.id}-{code}") == (code in typed["demarches"])
    if typed.get("issue") in ("solved", "escalated"):
        assert ticked(page, f"issue-{ticket.id}-{typed['issue']}")
    if typed.get("service_expert") == "caf":
        assert '<option value="caf" selected>' in page
    assert (await as_stored(db, ticket.id))[0] == "serving"


# F3: the walk-in form refused comes back as typed, in words that fit it.

WALK_INS = {
    "phone_invalid": (
        {"service": "caf", "telephone": "06 12 34"},
        "ticket-telephone",
        "Ce numéro de téléphone n'est pas valide. Exemple : 06 12 34 56 78",
    ),
    "phone_not_mobile": (
        {"service": "caf", "telephone": "01 45 67 89 10"},
        "ticket-telephone",
        "Ce numéro n'est pas un numéro de portable : les SMS ne partent que vers un portable "
        "(06, 07, d'outre-mer ou étranger).",
    ),
    "unknown_service": (
        {"service": "nope", "telephone": "06 12 34 56 78"},
        "ticket-service",
        "Cette démarche n'existe pas ou n'est plus proposée : choisissez-en une dans la liste.",
    ),
    "no_service": (
        {"telephone": "06 12 34 56 78"},
        "ticket-service",
        "Choisissez une démarche.",
    ),
    "unknown_need": (
        {"service": "caf", "telephone": "06 12 34 56 78", "besoins": ["fauteuil", "nope"]},
        "ticket-besoins",
        "Un des besoins choisis n'existe pas ou n'est plus proposé.",
    ),
}


@pytest.mark.parametrize(("sent", "field", "message"), WALK_INS.values(), ids=WALK_INS.keys())
async def test_a_refused_walk_in_is_kept_as_typed_at_reception(
    client: CLIENT, staff: Staff, sent: dict[str, Any], field: str, message: str
) -> None:
    csrf = await desk(client, staff, "reception", "/accueil/paris-15")
    typed = {"besoins": ["fauteuil"], "prioritaire": "oui", **sent}

    refused = await client.post(
        "/accueil/paris-15/tickets", data={"csrf": csrf, **typed}, follow_redirects=False
    )
    page = refused.text

    assert refused.status_code == 400
    assert beside(page, field) == message
    assert "Introuvable" not in page
    assert f'value="{typed["telephone"]}"' in page
    assert ticked(page, "ticket-besoin-fauteuil")
    assert ticked(page, "prioritaire")
    assert "<details open>" in page
    assert await waiting(client) == []


async def test_a_refused_walk_in_is_kept_as_typed_at_a_station(
    client: CLIENT, staff: Staff, db: Any
) -> None:
    from app.sites.models import Site

    async with db.writing() as session:
        site = await session.scalar(select(Site).where(Site.slug == "paris-15"))
        site.facilitators_issue_tickets = True
    poste_2 = (await stations(client))[1]
    csrf = await desk(client, staff, "facilitator", f"/poste/{poste_2}")

    refused = await client.post(
        "/accueil/paris-15/tickets",
        data={"csrf": csrf, "poste": str(poste_2), "service": "caf", "telephone": "06 12 34"},
        follow_redirects=False,
    )
    page = refused.text

    assert refused.status_code == 400
    assert "<h1>Poste 2 – " in page
    assert beside(page, "ticket-telephone") == (
        "Ce numéro de téléphone n'est pas valide. Exemple : 06 12 34 56 78"
    )
    assert 'value="06 12 34"' in page
    assert await waiting(client) == []


# F11: a transfer to a station type that does not exist says so.


@pytest.mark.parametrize("kind", ["48", "nexistepas"])
async def test_a_transfer_to_an_unknown_station_type_says_so_and_keeps_the_form(
    client: CLIENT, staff: Staff, db: Any, clock: Clock, kind: str
) -> None:
    ticket, csrf = await at_poste_1(client, staff, db, clock)
    poste_1 = (await stations(client))[0]
    before = await as_stored(db, ticket.id)

    refused = await client.post(
        f"/poste/{poste_1}/tickets/{ticket.id}/transferer",
        data={"csrf": csrf, "service": "logement", "poste": kind},
        follow_redirects=False,
    )
    page = refused.text

    assert refused.status_code == 400
    assert beside(page, f"transfert-poste-{ticket.id}") == (
        "Ce type de poste n'existe pas : choisissez standard ou double écran."
    )
    assert "Choisissez vers quelle démarche" not in page
    assert '<details class="transfer-fold" open>' in page
    assert '<option value="logement" selected>' in page
    assert await as_stored(db, ticket.id) == before
