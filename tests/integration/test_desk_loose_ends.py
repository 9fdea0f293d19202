"""Loose ends of the desks, on both databases: a transfer sent with the form's defaults
("the same démarche", "the same kind of station") or to an unknown démarche says what to
choose instead of "Introuvable"; the printed slips hide their print button until a script
can make it work; a text longer than its field is refused, never cut, with the form kept;
a stale ticket in a console's address is left out; the station's buttons read as sentences;
and staff of one mairie cannot tell another's tickets from ids that do not exist."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from app.queue.models import TicketEvent
from tests.commands import in_session
from tests.conftest import STAFF_PASSWORD, Clock, Staff

pytestmark = pytest.mark.usefixtures("tuesday_morning")


@pytest.fixture
def tuesday_morning(clock: Clock) -> None:
    clock.set("2026-12-01 09:00")  # paris-15 is open 8 h 30 – 17 h 00 on Tuesdays


async def desk(client: AsyncTestClient[object], staff: Staff, role: str, path: str) -> str:
    """Log a new agent of paris-15 in; the CSRF token of the page at `path`."""
    email = await staff.agent(role, "paris-15")
    login = await client.post(
        "/connexion", data={"email": email, "password": STAFF_PASSWORD}, follow_redirects=False
    )
    assert login.status_code == 303, login.text
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', (await client.get(path)).text)
    assert found, "no CSRF token in the page"
    return found.group(1)


async def test_a_transfer_left_on_its_defaults_asks_where_to(
    client: AsyncTestClient[object], staff: Staff, db: Any, clock: Clock
) -> None:
    from app.queue.commands import issue_walk_in

    ticket = await in_session(
        db, issue_walk_in, "paris-15", service_code="caf", agent_id=None, now=clock()
    )
    station = (await client.get("/api/v1/sites/paris-15")).json()["stations"][0]["id"]
    csrf = await desk(client, staff, "facilitator", f"/poste/{station}")
    await client.post(f"/poste/{station}/appeler", data={"csrf": csrf})

    sent = await client.post(
        f"/poste/{station}/tickets/{ticket.id}/transferer",
        data={"csrf": csrf, "service": "", "poste": ""},
        follow_redirects=False,
    )
    odd = await client.post(
        f"/poste/{station}/tickets/{ticket.id}/transferer",
        data={"csrf": csrf, "service": "", "poste": "triple"},
        follow_redirects=False,
    )
    page = (await client.get(sent.headers["location"])).text
    still = (await client.get(f"/api/v1/tickets/{ticket.token}")).json()

    assert sent.headers["location"] == f"/poste/{station}?erreur=transfer_nowhere"
    assert "Choisissez vers quelle démarche ou quel type de poste transférer le ticket." in page
    # A type of station that does not exist is named as such (test_desk_second_pass.py).
    assert odd.status_code == 400
    assert "Ce type de poste n&#39;existe pas" in odd.text
    assert "Introuvable" not in page
    assert still["status"] == "called"


async def test_the_printed_slips_hide_their_button_until_a_script_shows_it(
    client: AsyncTestClient[object], staff: Staff, db: Any, clock: Clock
) -> None:
    from app.queue.commands import issue_walk_in

    ticket = await in_session(
        db, issue_walk_in, "paris-15", service_code="caf", agent_id=None, now=clock()
    )
    await desk(client, staff, "reception", "/accueil/paris-15")

    slip = await client.get(f"/accueil/paris-15/tickets/{ticket.id}/imprimer")

    assert slip.status_code == 200
    assert '<button type="button" id="imprimer" class="button" hidden>' in slip.text
    assert "utilisez la commande Imprimer de votre navigateur (Ctrl+P)" in slip.text


async def test_a_reason_with_control_characters_is_stored_clean(
    client: AsyncTestClient[object], staff: Staff, db: Any, clock: Clock
) -> None:
    clock.set("2026-12-01 21:35")  # closed: a ticket needs a reason
    csrf = await desk(client, staff, "reception", "/accueil/paris-15")

    issued = await client.post(
        "/accueil/paris-15/tickets",
        data={
            "csrf": csrf,
            "service": "caf",
            "forcer": "oui",
            "raison": "Permanence\x00 du\x1b soir",
        },
        follow_redirects=False,
    )
    queue = (await client.get("/api/v1/sites/paris-15/queue")).json()
    async with db.session() as session:
        reasons = (await session.scalars(select(TicketEvent.reason))).all()

    assert issued.status_code == 303, issued.text
    assert [ticket["number"] for ticket in queue["waiting"]] == ["A001"]
    assert [reason for reason in reasons if reason] == ["Permanence du soir"]


def text_of(page: str) -> str:
    """What a screen reader reads of `page`: its text, tags left out, spaces folded."""
    return " ".join(re.sub(r"<[^>]+>", "", page).split())


async def waiting(client: AsyncTestClient[object]) -> list[str]:
    """The numbers of paris-15's waiting tickets, as the API gives them."""
    staff_only = await client.get("/api/v1/sites/paris-15/queue")
    return [ticket["number"] for ticket in staff_only.json()["waiting"]]


async def called_at_station(
    client: AsyncTestClient[object], staff: Staff, db: Any, clock: Clock, *, start: bool = False
) -> tuple[Any, int, str]:
    """A walk-in ticket called (and started, with `start`) at paris-15's first station by a
    facilitator logged in here: the ticket, the station's id, the CSRF token."""
    from app.queue.commands import issue_walk_in

    ticket = await in_session(
        db, issue_walk_in, "paris-15", service_code="caf", agent_id=None, now=clock()
    )
    station = (await client.get("/api/v1/sites/paris-15")).json()["stations"][0]["id"]
    csrf = await desk(client, staff, "facilitator", f"/poste/{station}")
    await client.post(f"/poste/{station}/appeler", data={"csrf": csrf})
    if start:
        await client.post(f"/poste/{station}/tickets/{ticket.id}/commencer", data={"csrf": csrf})
    return ticket, station, csrf


async def test_a_reason_longer_than_200_characters_is_refused_and_kept_as_typed(
    client: AsyncTestClient[object], staff: Staff, clock: Clock
) -> None:
    clock.set("2026-12-01 21:35")  # closed: a ticket needs a reason
    csrf = await desk(client, staff, "reception", "/accueil/paris-15")
    reason = "Permanence du soir, " + "x" * 200

    refused = await client.post(
        "/accueil/paris-15/tickets",
        data={"csrf": csrf, "service": "caf", "forcer": "oui", "raison": reason},
        follow_redirects=False,
    )

    assert refused.status_code == 400
    assert "Raison trop longue : 200 caractères au plus." in refused.text
    assert f'value="{reason}"' in refused.text
    assert await waiting(client) == []


async def test_a_phone_longer_than_its_field_is_refused_with_the_walk_in_form_kept(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    csrf = await desk(client, staff, "reception", "/accueil/paris-15")
    phone = "06 12 34 56 78" + " " * 30 + "9"

    refused = await client.post(
        "/accueil/paris-15/tickets",
        data={
            "csrf": csrf,
            "service": "caf",
            "telephone": phone,
            "besoins": "fauteuil",
            "prioritaire": "oui",
        },
        follow_redirects=False,
    )

    assert refused.status_code == 400
    assert "Numéro de portable trop long : 32 caractères au plus." in refused.text
    assert f'value="{phone}"' in refused.text
    assert re.search(r'id="ticket-besoin-fauteuil" value="fauteuil" checked', refused.text)
    assert re.search(r'id="prioritaire" value="oui" checked', refused.text)
    assert await waiting(client) == []


async def test_a_search_longer_than_its_field_is_refused_and_kept(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    await desk(client, staff, "reception", "/accueil/paris-15")
    search = "Curie " + "x" * 80

    refused = await client.get("/accueil/paris-15", params={"q": search})

    assert refused.status_code == 400
    assert "Recherche trop longue : 80 caractères au plus." in refused.text
    assert f'value="{search}"' in refused.text


async def test_a_desk_booking_with_a_too_long_email_is_refused_with_the_details_kept(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    path = "/accueil/paris-15/rendez-vous?service=caf&jour=2026-12-02"
    csrf = await desk(client, staff, "reception", path)
    slot = re.search(r'name="debut" id="[^"]+" value="([^"]+)"', (await client.get(path)).text)
    assert slot, "no free slot on the desk booking form"
    email = "marie.curie@example.org" + "o" * 240

    refused = await client.post(
        "/accueil/paris-15/rendez-vous",
        data={
            "csrf": csrf,
            "service": "caf",
            "jour": "2026-12-02",
            "debut": slot.group(1),
            "nom": "Marie Curie",
            "email": email,
            "telephone": "06 12 34 56 78",
            "canal": "telephone",
        },
        follow_redirects=False,
    )

    assert refused.status_code == 400
    assert "Adresse e-mail trop longue : 254 caractères au plus." in refused.text
    assert 'value="Marie Curie"' in refused.text
    assert f'value="{email}"' in refused.text
    assert 'value="06 12 34 56 78"' in refused.text
    assert re.search(rf'value="{re.escape(slot.group(1))}" checked', refused.text)
    assert re.search(r'id="canal-telephone" value="telephone" checked', refused.text)


async def test_a_reference_padded_past_its_length_checks_nobody_in(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    slots = await client.get(
        "/api/v1/sites/paris-15/availability",
        params={"service": "caf", "from": "2026-12-01", "to": "2026-12-01"},
    )
    booked = await client.post(
        "/api/v1/appointments",
        json={
            "site": "paris-15",
            "service": "caf",
            "start": slots.json()["slots"][0]["start"],
            "name": "Marie Curie",
            "email": "marie@example.org",
        },
    )
    assert booked.status_code == 201, booked.text
    csrf = await desk(client, staff, "reception", "/accueil/paris-15")

    padded = await client.post(
        "/accueil/paris-15/arrivees",
        data={"csrf": csrf, "reference": booked.json()["reference"] + " " * 10 + "x"},
        follow_redirects=False,
    )

    assert padded.headers["location"] == "/accueil/paris-15?erreur=not_found"
    assert await waiting(client) == []


async def test_a_note_longer_than_1000_characters_is_refused_with_the_visit_form_kept(
    client: AsyncTestClient[object], staff: Staff, db: Any, clock: Clock
) -> None:
    ticket, station, csrf = await called_at_station(client, staff, db, clock, start=True)
    note = "Dossier CAF " + "n" * 1000

    refused = await client.post(
        f"/poste/{station}/tickets/{ticket.id}/terminer",
        data={"csrf": csrf, "issue": "alone", "demarches": "caf", "note": note},
        follow_redirects=False,
    )
    still = (await client.get(f"/api/v1/tickets/{ticket.token}")).json()

    assert refused.status_code == 400
    assert "Note trop longue : 1000 caractères au plus." in refused.text
    assert f">{note}</textarea>" in refused.text
    assert re.search(rf'id="issue-{ticket.id}-alone" value="alone" checked', refused.text)
    assert still["status"] == "serving"


async def test_a_transfer_to_an_unknown_demarche_says_so_and_keeps_the_form(
    client: AsyncTestClient[object], staff: Staff, db: Any, clock: Clock
) -> None:
    ticket, station, csrf = await called_at_station(client, staff, db, clock)

    refused = await client.post(
        f"/poste/{station}/tickets/{ticket.id}/transferer",
        data={"csrf": csrf, "service": "forged", "poste": "double"},
        follow_redirects=False,
    )
    still = (await client.get(f"/api/v1/tickets/{ticket.token}")).json()

    assert refused.status_code == 400
    assert "Introuvable" not in refused.text
    assert "Cette démarche n'existe pas ou n'est plus proposée" in html.unescape(refused.text)
    assert '<details class="transfer-fold" open>' in refused.text
    assert '<option value="double" selected>' in refused.text
    assert still["status"] == "called"


async def test_the_absent_button_reads_as_a_sentence(
    client: AsyncTestClient[object], staff: Staff, db: Any, clock: Clock
) -> None:
    _, station, _ = await called_at_station(client, staff, db, clock)

    page = text_of((await client.get(f"/poste/{station}")).text)

    assert "Marquer le ticket A001 absent" in page
    assert "Commencer le ticket A001" in page
    assert "Absent le ticket" not in page


async def test_marking_absent_before_the_mairies_calls_are_made_is_asked_first(
    client: AsyncTestClient[object], staff: Staff, db: Any, clock: Clock
) -> None:
    """Called once where the mairie calls three times before taking a person as absent:
    "Marquer absent" asks (409), the ticket keeps its place, and the button sent again
    with its confirmation marks it absent. Past the calls, one click does."""
    ticket, station, csrf = await called_at_station(client, staff, db, clock)
    absent = f"/poste/{station}/tickets/{ticket.id}/absent"

    asked = await client.post(absent, data={"csrf": csrf}, follow_redirects=False)
    kept = (await client.get(f"/api/v1/tickets/{ticket.token}")).json()
    said = html.unescape(text_of(asked.text))

    assert asked.status_code == 409
    assert "Le ticket A001 n'a été appelé qu'une fois, et la mairie appelle 3 fois" in said
    assert "Marquer le ticket A001 absent quand même" in said
    assert '<input type="hidden" name="confirme" value="1">' in asked.text
    assert kept["status"] == "called"

    not_said = await client.post(absent, data={"csrf": csrf, "confirme": "0"})
    assert not_said.status_code == 409  # only the confirmation's own value confirms
    confirmed = await client.post(
        absent, data={"csrf": csrf, "confirme": "1"}, follow_redirects=False
    )
    gone = (await client.get(f"/api/v1/tickets/{ticket.token}")).json()

    assert confirmed.status_code == 303
    assert gone["status"] == "no_show"

    later, _, csrf = await called_at_station(client, staff, db, clock)
    for _ in range(2):
        await client.post(f"/poste/{station}/tickets/{later.id}/rappeler", data={"csrf": csrf})
    once = await client.post(
        f"/poste/{station}/tickets/{later.id}/absent", data={"csrf": csrf}, follow_redirects=False
    )
    assert once.status_code == 303
    assert (await client.get(f"/api/v1/tickets/{later.token}")).json()["status"] == "no_show"


async def test_a_stale_ticket_in_a_consoles_address_is_left_out(
    client: AsyncTestClient[object], staff: Staff, db: Any, clock: Clock
) -> None:
    from app.queue.commands import act, call_next, issue_walk_in

    station = (await client.get("/api/v1/sites/paris-15")).json()["stations"][0]["id"]
    yesterday = clock.set("2026-11-30 10:00")
    old = await in_session(
        db, issue_walk_in, "paris-15", service_code="caf", agent_id=None, now=yesterday
    )
    await in_session(db, call_next, station, agent_id=None, now=yesterday)
    for action in ("start", "finish"):
        await in_session(db, act, old.id, action, agent_id=None, now=yesterday)
    today = clock.set("2026-12-01 09:00")
    elsewhere = await in_session(
        db, issue_walk_in, "paris-20", service_code="caf", agent_id=None, now=today
    )
    stale = [str(old.id), str(elsewhere.id), "987654", "abc", "1e3", "99999999999"]
    await desk(client, staff, "manager", "/accueil/paris-15")

    reception = [await client.get("/accueil/paris-15", params={"ticket": t}) for t in stale]
    station_page = [await client.get(f"/poste/{station}", params={"termine": t}) for t in stale]

    assert [page.status_code for page in reception + station_page] == [200] * 12
    assert not any("Imprimer le ticket" in page.text for page in reception)
    assert not any("Visite terminée" in page.text for page in station_page)


async def test_the_consoles_answer_404_for_another_mairies_ticket(
    client: AsyncTestClient[object], staff: Staff, db: Any, clock: Clock
) -> None:
    from app.queue.commands import issue_walk_in

    theirs = await in_session(
        db, issue_walk_in, "paris-20", service_code="caf", agent_id=None, now=clock()
    )
    station = (await client.get("/api/v1/sites/paris-15")).json()["stations"][0]["id"]
    csrf = await desk(client, staff, "manager", f"/poste/{station}")

    slip = await client.get(f"/accueil/paris-15/tickets/{theirs.id}/imprimer")
    cancel = await client.post(f"/poste/{station}/tickets/{theirs.id}/annuler", data={"csrf": csrf})

    assert slip.status_code == 404
    assert cancel.status_code == 404
