"""The desks through HTTP, on both databases: the warning before a ticket while the mairie
is closed or about to close, the needs in the queue, the printed summary of a booking made
at the desk, the station's word after a finished visit, and the printed ticket's wording."""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests.commands import in_session
from tests.conftest import STAFF_PASSWORD, Clock, Staff

pytestmark = pytest.mark.usefixtures("tuesday_morning")

RECEPTION = "/accueil/paris-15"


@pytest.fixture
def tuesday_morning(clock: Clock) -> None:
    clock.set("2026-12-01 09:00")  # paris-15 is open 8 h 30 – 17 h 00 on Tuesdays


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


async def desk(client: AsyncTestClient[object], staff: Staff, role: str, path: str) -> str:
    """Log a new agent of paris-15 in; the CSRF token of the page at `path`."""
    email = await staff.agent(role, "paris-15")
    login = await client.post(
        "/connexion", data={"email": email, "password": STAFF_PASSWORD}, follow_redirects=False
    )
    assert login.status_code == 303, login.text
    page = await client.get(path)
    assert page.status_code == 200, page.text
    return csrf_of(page.text)


async def waiting_numbers(client: AsyncTestClient[object]) -> list[str]:
    queue = (await client.get("/api/v1/sites/paris-15/queue")).json()
    return [ticket["number"] for ticket in queue["waiting"]]


async def test_a_ticket_asked_while_closed_is_first_warned_of_then_issued_when_confirmed(
    client: AsyncTestClient[object], staff: Staff, clock: Clock
) -> None:
    clock.set("2026-12-01 21:35")
    csrf = await desk(client, staff, "reception", RECEPTION)
    asked = {"csrf": csrf, "service": "caf", "besoins": ["fauteuil"], "prioritaire": "oui"}

    warned = await client.post(f"{RECEPTION}/tickets", data=asked, follow_redirects=False)
    before = await waiting_numbers(client)
    confirmed = await client.post(
        f"{RECEPTION}/tickets",
        data={**asked, "forcer": "oui", "raison": "Permanence du soir"},
        follow_redirects=False,
    )
    shown = await client.get(confirmed.headers["location"])

    assert warned.status_code == 200
    assert "La mairie est fermée" in warned.text
    assert "Aucun ticket n" in warned.text
    assert "Émettre quand même" in warned.text
    assert '<input type="hidden" name="forcer" value="oui">' in warned.text
    assert '<input type="hidden" name="besoins" value="fauteuil">' in warned.text
    assert '<input type="hidden" name="prioritaire" value="oui">' in warned.text
    assert before == []
    assert confirmed.status_code == 303
    assert 'Ticket <strong class="big-number">A001</strong>' in shown.text
    assert await waiting_numbers(client) == ["A001"]


async def test_confirming_a_closed_mairies_ticket_without_a_reason_asks_for_one_again(
    client: AsyncTestClient[object], staff: Staff, clock: Clock
) -> None:
    clock.set("2026-12-01 21:35")
    csrf = await desk(client, staff, "reception", RECEPTION)

    blank = await client.post(
        f"{RECEPTION}/tickets",
        data={"csrf": csrf, "service": "caf", "forcer": "oui", "raison": "  "},
        follow_redirects=False,
    )

    assert blank.status_code == 400
    assert "Indiquez pourquoi" in blank.text
    assert 'aria-invalid="true"' in blank.text
    assert "Émettre quand même" in blank.text
    assert await waiting_numbers(client) == []


async def test_a_ticket_asked_just_before_closing_is_warned_of_and_needs_no_reason(
    client: AsyncTestClient[object], staff: Staff, clock: Clock
) -> None:
    clock.set("2026-12-01 16:55")
    csrf = await desk(client, staff, "reception", RECEPTION)

    warned = await client.post(
        f"{RECEPTION}/tickets", data={"csrf": csrf, "service": "caf"}, follow_redirects=False
    )
    confirmed = await client.post(
        f"{RECEPTION}/tickets",
        data={"csrf": csrf, "service": "caf", "forcer": "oui"},
        follow_redirects=False,
    )

    assert warned.status_code == 200
    assert "La mairie ferme à 17\u00a0h\u00a000." in warned.text
    assert "risque de ne pas être reçue aujourd" in warned.text
    assert 'name="raison"' not in warned.text
    assert confirmed.status_code == 303
    assert await waiting_numbers(client) == ["A001"]


async def test_a_ticket_in_the_morning_is_issued_at_once(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    csrf = await desk(client, staff, "reception", RECEPTION)

    issued = await client.post(
        f"{RECEPTION}/tickets", data={"csrf": csrf, "service": "caf"}, follow_redirects=False
    )

    assert issued.status_code == 303
    assert await waiting_numbers(client) == ["A001"]


async def test_the_queue_says_each_persons_needs_in_words(
    client: AsyncTestClient[object], staff: Staff, db: Any, clock: Clock
) -> None:
    from app.queue.commands import issue_walk_in

    await in_session(
        db,
        issue_walk_in,
        "paris-15",
        service_code="caf",
        needs=("fauteuil", "langue"),
        agent_id=None,
        now=clock(),
    )
    await desk(client, staff, "reception", RECEPTION)

    queue = (await client.get(f"{RECEPTION}/file")).text
    page = (await client.get(RECEPTION)).text

    assert "Besoins :" in queue
    assert "fauteuil roulant ; parle peu le français" in queue
    assert "la prochaine personne" in queue
    assert "(1e)" not in queue
    assert "fauteuil roulant ; parle peu le français" in page


async def test_a_booking_made_at_the_desk_prints_as_a_summary(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    csrf = await desk(
        client, staff, "reception", f"{RECEPTION}/rendez-vous?service=caf&jour=2026-12-02"
    )
    booked = await client.post(
        f"{RECEPTION}/rendez-vous",
        data={
            "csrf": csrf,
            "service": "caf",
            "jour": "2026-12-02",
            "besoins": ["audition"],
            "debut": "2026-12-02T14:00:00+01:00",
            "nom": "Marcel Proust",
            "telephone": "06 98 76 54 32",
            "canal": "telephone",
        },
        follow_redirects=False,
    )
    shown = (await client.get(booked.headers["location"])).text
    reference = booked.headers["location"].split("rdv=")[1]

    slip = await client.get(f"{RECEPTION}/rendez-vous/{reference}/imprimer")
    unknown = await client.get(f"{RECEPTION}/rendez-vous/15-XXXXXX/imprimer")

    assert f'href="{RECEPTION}/rendez-vous/{reference}/imprimer"' in shown
    assert "Imprimer le récapitulatif" in shown
    assert slip.status_code == 200
    assert reference in slip.text
    assert "jeudi" not in slip.text
    assert "mercredi 2 décembre 2026 à 14\u00a0h\u00a000" in slip.text
    assert "31 rue Péclet" in slip.text
    assert "entre 13\u00a0h\u00a030 et 14\u00a0h\u00a015" in slip.text
    assert "À apporter" in slip.text
    assert "J&#39;entends mal" in slip.text
    assert re.search(r"/rendez-vous/[A-Za-z0-9_-]{32}", slip.text)
    assert "déplacer ou annuler" in slip.text
    assert "3975" in slip.text
    assert "<svg" in slip.text
    assert unknown.status_code == 404


async def test_the_station_says_which_visit_ended_and_how(
    client: AsyncTestClient[object], staff: Staff, db: Any, clock: Clock
) -> None:
    from app.queue.commands import issue_walk_in

    ticket = await in_session(
        db, issue_walk_in, "paris-15", service_code="caf", agent_id=None, now=clock()
    )
    station = (await client.get("/api/v1/sites/paris-15")).json()["stations"][0]["id"]
    csrf = await desk(client, staff, "facilitator", f"/poste/{station}")
    await client.post(f"/poste/{station}/appeler", data={"csrf": csrf})
    serving = await client.post(
        f"/poste/{station}/tickets/{ticket.id}/commencer", data={"csrf": csrf}
    )

    finished = await client.post(
        f"/poste/{station}/tickets/{ticket.id}/terminer",
        data={"csrf": csrf, "issue": "alone"},
        follow_redirects=False,
    )
    page = (await client.get(finished.headers["location"])).text
    plain = (await client.get(f"/poste/{station}")).text

    assert "<summary>Transférer vers un autre poste ou service" in serving.text
    assert f'action="/poste/{station}/tickets/{ticket.id}/transferer"' in serving.text
    assert finished.headers["location"] == f"/poste/{station}?termine={ticket.id}"
    assert '<div class="notice desk-finished" role="status">' in page
    assert "Visite terminée : ticket A001 – Démarches CAF en ligne." in page
    assert "Issue enregistrée : La personne terminera seule." in page
    assert "Visite terminée" not in plain


async def test_the_printed_ticket_says_the_wait_in_words(
    client: AsyncTestClient[object], staff: Staff, clock: Clock
) -> None:
    csrf = await desk(client, staff, "reception", RECEPTION)
    paths = []
    for _ in range(8):
        issued = await client.post(
            f"{RECEPTION}/tickets", data={"csrf": csrf, "service": "caf"}, follow_redirects=False
        )
        paths.append(issued.headers["location"].split("ticket=")[1])
    first = (await client.get(f"{RECEPTION}/tickets/{paths[0]}/imprimer")).text
    last = (await client.get(f"{RECEPTION}/tickets/{paths[-1]}/imprimer")).text
    clock.set("2026-12-01 21:35")
    csrf = await desk(client, staff, "reception", RECEPTION)  # the morning's session is over
    forced = await client.post(
        f"{RECEPTION}/tickets",
        data={"csrf": csrf, "service": "caf", "forcer": "oui", "raison": "Permanence"},
        follow_redirects=False,
    )
    late = forced.headers["location"].split("ticket=")[1]
    closed = (await client.get(f"{RECEPTION}/tickets/{late}/imprimer")).text

    for printed in (first, last, closed):
        assert "0 à" not in printed
        assert " à 1 minute" not in printed
    assert "aucune" in first
    assert re.search(
        r"<dd>(entre \d+ et \d+ minutes|moins de \d+ minutes|environ \d+ minutes)</dd>", last
    )
    assert "dans un instant" not in closed
    assert "La mairie est fermée en ce moment" in closed


async def test_a_station_page_calls_only_at_its_own_mairie(
    client: AsyncTestClient[object], staff: Staff, db: Any, clock: Clock
) -> None:
    from app.queue.commands import issue_walk_in

    ticket = await in_session(
        db, issue_walk_in, "paris-14", service_code="caf", agent_id=None, now=clock()
    )
    mine = (await client.get("/api/v1/sites/paris-15")).json()["stations"][0]["id"]
    theirs = (await client.get("/api/v1/sites/paris-14")).json()["stations"][0]["id"]
    csrf = await desk(client, staff, "facilitator", f"/poste/{mine}")

    other = await client.post(f"/poste/{theirs}/appeler", data={"csrf": csrf})
    unknown = await client.post("/poste/999999/appeler", data={"csrf": csrf})
    nobody = await client.post(
        f"/poste/{mine}/appeler", data={"csrf": csrf}, follow_redirects=False
    )

    assert other.status_code == 403
    assert unknown.status_code == 404
    assert nobody.status_code == 303
    assert "nobody_waiting" in nobody.headers["location"]
    there = await staff.headers("reception", "paris-14")
    queue = (await client.get("/api/v1/sites/paris-14/queue", headers=there)).json()
    assert [t["number"] for t in queue["waiting"]] == [ticket.number]  # nobody called it
