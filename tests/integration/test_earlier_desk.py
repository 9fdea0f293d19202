"""Earlier slots as the mairie sees them, on both databases with the clock injected:
reception's list of who waits (in order, with the slot held for each), refused to another
mairie's agents; and the figures of offers made, taken, lapsed and left to the next
person, in the stats API, its CSV and on the figures page."""

from __future__ import annotations

import csv
import html
import io
from datetime import datetime, timedelta
from typing import Any

from app.db import Database
from tests.conftest import Staff
from tests.integration.test_earlier_slots import (
    ADA_AT,
    BOB_AT,
    CHLOE_AT,
    FREED,
    booked,
    day,  # noqa: F401  # the fixture
    offer_of,
    round_of_offers,
    waits,
)
from tests.integration.test_staff_pages import log_in
from tests.post import Post

MONDAY = "from=2026-11-30&to=2026-11-30"


async def three_waiting(post: Post) -> dict[str, Any]:
    people = {
        "ada": await booked(post, ADA_AT, "Ada Lovelace", "ada@example.org"),
        "bob": await booked(post, BOB_AT, "Bob Marley", "bob@example.org"),
        "chloe": await booked(post, CHLOE_AT, "Chloé Dubois", "chloe@example.org"),
    }
    for person in people.values():
        await waits(post, person["token"])
    return people


async def test_reception_sees_who_waits_in_order_and_the_slot_held_for_them(
    post: Post,
    db: Database,
    day: dict[datetime, str],  # noqa: F811
) -> None:
    people = await three_waiting(post)
    await post.client.post(f"/api/v1/appointments/{day[FREED]}/cancel")
    await round_of_offers(post, db)
    staff = Staff(db, post.client)
    assert (
        await log_in(post.client, await staff.agent("reception", "paris-15"))
    ).status_code == 303

    console = html.unescape((await post.client.get("/accueil/paris-15")).text)
    assert "Créneaux plus tôt : 3 personnes attendent" in console
    page = await post.client.get("/accueil/paris-15/plus-tot")
    assert page.status_code == 200, page.text
    text = html.unescape(page.text).replace("\u00a0", " ")
    assert "3 personnes attendent un créneau plus tôt" in text
    names = [text.index(p["name"]) for p in people.values()]
    assert names == sorted(names)  # in the order they asked
    assert "mardi 1er décembre 2026 à 10 h 00, jusqu'à 8 h 15" in text  # Ada's

    post.client.cookies.clear()
    elsewhere = await staff.agent("reception", "paris-14")
    assert (await log_in(post.client, elsewhere)).status_code == 303
    refused = await post.client.get("/accueil/paris-15/plus-tot")
    assert refused.status_code == 403
    assert "Ada Lovelace" not in refused.text


async def offers_taken_lapsed_and_declined(
    post: Post, db: Database, tokens: dict[datetime, str]
) -> None:
    """The slot freed goes to Ada, who leaves it; to Bob, who lets it lapse; to Chloé,
    who takes it."""
    people = await three_waiting(post)
    await post.client.post(f"/api/v1/appointments/{tokens[FREED]}/cancel")
    await round_of_offers(post, db)
    await post.client.post(f"/api/v1/appointments/{people['ada']['token']}/offer/decline")
    await round_of_offers(post, db)
    assert (await offer_of(post, people["bob"]["token"]))["start"] == FREED.isoformat()
    post.clock.now = post.clock() + timedelta(minutes=20)
    await round_of_offers(post, db)
    accepted = await post.client.post(
        f"/api/v1/appointments/{people['chloe']['token']}/offer/accept"
    )
    assert accepted.status_code == 200, accepted.text


async def test_the_figures_count_offers_made_taken_lapsed_and_declined(
    post: Post,
    db: Database,
    day: dict[datetime, str],  # noqa: F811
) -> None:
    await offers_taken_lapsed_and_declined(post, db, day)
    staff = Staff(db, post.client)
    manager = await staff.headers("manager", "paris-15")

    stats = (await post.client.get(f"/api/v1/stats?site=paris-15&{MONDAY}", headers=manager)).json()
    expected = {"made": 3, "accepted": 1, "expired": 1, "declined": 1, "withdrawn": 0}
    assert stats["total"]["offers"] == expected
    assert [period["offers"] for period in stats["periods"]] == [expected]
    elsewhere = (
        await post.client.get(
            f"/api/v1/stats?site=paris-14&{MONDAY}",
            headers=await staff.headers("manager", "paris-14"),
        )
    ).json()
    assert elsewhere["total"]["offers"] == dict.fromkeys(expected, 0)

    exported = await post.client.get(f"/api/v1/stats.csv?site=paris-15&{MONDAY}", headers=manager)
    total = list(csv.DictReader(io.StringIO(exported.text)))[-1]
    assert [total[f"offers_{name}"] for name in expected] == ["3", "1", "1", "1", "0"]

    assert (await log_in(post.client, await staff.agent("manager", "paris-15"))).status_code == 303
    page = await post.client.get("/statistiques/paris-15?du=2026-11-30&au=2026-11-30")
    text = html.unescape(page.text)
    assert "Créneaux plus tôt proposés" in text
    assert "Propositions laissées à la personne suivante" in text
