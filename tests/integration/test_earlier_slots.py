"""Earlier slots, on both databases, with the clock in the test's hands and a real SMTP
server: a freed slot is held for the first person waiting for it, hidden from everybody
else while held, taken in one step, passed to the next person when its hold runs out;
asking, stopping and the refusals of the API.

paris-15 is cut down to one station taking no walk-ins, and filled from Monday 10:00 to
Thursday 11:30 by people booked at the desk, but for the slots of Ada (Wednesday 16:00),
Bob (16:30) and Chloé (Thursday 11:30): they can have nothing earlier until somebody
cancels."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from app.asgi import create_app
from app.booking.commands import new_token
from app.booking.models import Appointment
from app.db import Database
from app.sites.models import Service, Site, Station
from app.waitlist import engine
from app.waitlist.models import Offer, OfferMark, Wish
from tests.conftest import Staff, desks, make_settings
from tests.post import Post

PARIS = ZoneInfo("Europe/Paris")
SLOT = timedelta(minutes=30)
FILLED_FROM = datetime(2026, 11, 30, 10, 0, tzinfo=PARIS)
FILLED_UNTIL = datetime(2026, 12, 3, 12, 0, tzinfo=PARIS)  # exclusive
ADA_AT = "2026-12-02T16:00:00+01:00"
BOB_AT = "2026-12-02T16:30:00+01:00"
CHLOE_AT = "2026-12-03T11:30:00+01:00"
KEPT = {datetime.fromisoformat(when) for when in (ADA_AT, BOB_AT, CHLOE_AT)}
FREED = datetime(2026, 12, 1, 10, 0, tzinfo=PARIS)


async def one_station_no_walk_ins(db: Database) -> int:
    """paris-15 with its first standard station only, no share kept for walk-ins, and no
    appointment this week; the station's id."""
    async with db.writing() as session:
        site = await session.scalar(select(Site).where(Site.slug == "paris-15"))
        assert site is not None
        site.walk_in_percent = 0
        stations = list(
            await session.scalars(
                select(Station).where(Station.site_id == site.id).order_by(Station.id)
            )
        )
        kept = stations[0]
        for station in stations[1:]:
            station.active = False
        await session.execute(delete(Appointment).where(Appointment.site_id == site.id))
        return kept.id


async def fill(db: Database, station_id: int) -> dict[datetime, str]:
    """Every caf slot of the station from `FILLED_FROM` to `FILLED_UNTIL` within opening
    hours, booked at the desk for somebody else; their private tokens by start."""
    tokens = {}
    async with db.writing() as session:
        site_id = await session.scalar(select(Site.id).where(Site.slug == "paris-15"))
        caf = await session.scalar(select(Service.id).where(Service.code == "caf"))
        assert site_id is not None
        assert caf is not None
        start = FILLED_FROM
        while start < FILLED_UNTIL:
            local = start.astimezone(PARIS)
            opening = 8 * 60 + 30 <= local.hour * 60 + local.minute <= 16 * 60 + 30
            if opening and start not in KEPT:
                number = len(tokens)
                tokens[start] = new_token()
                session.add(
                    Appointment(
                        reference=f"15-F{number:05d}",
                        token=tokens[start],
                        site_id=site_id,
                        station_id=station_id,
                        service_id=caf,
                        starts_at=start,
                        ends_at=start + SLOT,
                        status="booked",
                        channel="phone",
                        name=f"Personne {number}",
                        email=f"personne{number}@example.org",
                        email_key=f"personne{number}@example.org",
                        needs=[],
                    )
                )
            start += SLOT
    return tokens


@pytest.fixture
async def day(post: Post, db: Database) -> dict[datetime, str]:
    return await fill(db, await one_station_no_walk_ins(db))


async def booked(post: Post, when: str, name: str, email: str) -> dict[str, Any]:
    body: dict[str, Any] = await post.book(when, name=name, email=email)
    return body


async def waits(post: Post, token: str, **body: Any) -> Any:
    response = await post.client.post(f"/api/v1/appointments/{token}/waitlist", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def offer_of(post: Post, token: str) -> Any:
    response = await post.client.get(f"/api/v1/appointments/{token}")
    assert response.status_code == 200, response.text
    return response.json()["offer"]


async def round_of_offers(post: Post, db: Database) -> int:
    now = post.clock()
    await engine.lapse_due(db, now)
    return await engine.run(db, now)


async def free_on(post: Post, day: str) -> list[str]:
    response = await post.client.get(
        "/api/v1/sites/paris-15/availability", params={"service": "caf", "from": day, "to": day}
    )
    assert response.status_code == 200, response.text
    return [slot["start"] for slot in response.json()["slots"]]


async def ada_then_bob_waiting_and_a_slot_freed(
    post: Post, db: Database, day: dict[datetime, str]
) -> tuple[Any, Any]:
    """Ada, then Bob, ask for an earlier slot; Tuesday 10:00 is cancelled and a round of
    offers runs (Ada's is held, if nothing else changed)."""
    ada = await booked(post, ADA_AT, "Ada Lovelace", "ada@example.org")
    bob = await booked(post, BOB_AT, "Bob Marley", "bob@example.org")
    await waits(post, ada["token"])
    await waits(post, bob["token"])
    await post.client.post(f"/api/v1/appointments/{day[FREED]}/cancel")
    await round_of_offers(post, db)
    return ada, bob


async def test_a_freed_slot_is_held_for_the_first_person_waiting_then_taken_in_one_step(
    post: Post, db: Database, day: dict[datetime, str]
) -> None:
    ada = await booked(post, ADA_AT, "Ada Lovelace", "ada@example.org")
    bob = await booked(post, BOB_AT, "Bob Marley", "bob@example.org")
    asked = await waits(post, ada["token"])
    await waits(post, bob["token"])
    assert asked["before"] is None
    assert asked["offer"] is None

    assert await round_of_offers(post, db) == 0  # nothing earlier is free

    cancelled = await post.client.post(f"/api/v1/appointments/{day[FREED]}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert await round_of_offers(post, db) == 1

    offer = await offer_of(post, ada["token"])
    assert offer["start"] == FREED.isoformat()
    held_until = datetime.fromisoformat(offer["expires_at"])
    assert held_until - post.clock() == timedelta(minutes=15)
    assert await offer_of(post, bob["token"]) is None
    # Nobody else sees it or can book it while it is held.
    assert FREED.isoformat() not in await free_on(post, "2026-12-01")
    body = {
        "site": "paris-15",
        "service": "caf",
        "start": FREED.isoformat(),
        "name": "Chloé",
        "email": "chloe@example.org",
    }
    taken = await post.client.post("/api/v1/appointments", json=body)
    assert taken.status_code == 409, taken.text
    assert taken.json()["code"] == "taken"

    await post.send_due()
    subjects = post.subjects("ada@example.org")
    assert any(subject.startswith("Un créneau plus tôt s'est libéré") for subject in subjects)
    offer_mail = next(m for m in post.mails() if "plus tôt" in str(m["Subject"]))
    text = offer_mail.get_body(("plain",)).get_content()
    assert f"/rendez-vous/{ada['token']}/plus-tot" in text
    assert f"/rendez-vous/{ada['token']}/plus-tot#arreter" in text  # the stop link
    assert not [s for s in post.subjects("bob@example.org") if "plus tôt" in s]

    accepted = await post.client.post(f"/api/v1/appointments/{ada['token']}/offer/accept")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["start"] == FREED.isoformat()
    again = await post.client.get(f"/api/v1/appointments/{ada['token']}")
    assert again.json()["offer"] is None
    assert again.json()["waitlist"] is None
    # Taken twice (a double click): the same answer, the slot is hers.
    twice = await post.client.post(f"/api/v1/appointments/{ada['token']}/offer/accept")
    assert twice.status_code == 200, twice.text
    assert twice.json()["start"] == FREED.isoformat()

    # Ada's Wednesday 16:00 is free now: Bob (16:30) is next.
    assert await round_of_offers(post, db) == 1
    bobs = await offer_of(post, bob["token"])
    assert bobs["start"] == "2026-12-02T16:00:00+01:00"


async def test_an_offer_not_taken_in_time_goes_to_the_next_person(
    post: Post, db: Database, day: dict[datetime, str]
) -> None:
    ada, bob = await ada_then_bob_waiting_and_a_slot_freed(post, db, day)
    assert (await offer_of(post, ada["token"]))["start"] == FREED.isoformat()

    post.clock.now = post.clock() + timedelta(minutes=15)
    late = await post.client.post(f"/api/v1/appointments/{ada['token']}/offer/accept")
    assert late.status_code == 410, late.text
    assert late.json()["code"] == "offer_expired"

    assert await round_of_offers(post, db) == 1
    assert await offer_of(post, ada["token"]) is None
    assert (await offer_of(post, bob["token"]))["start"] == FREED.isoformat()
    ada_now = (await post.client.get(f"/api/v1/appointments/{ada['token']}")).json()
    assert ada_now["start"] == ADA_AT  # she keeps hers, and keeps waiting
    assert ada_now["waitlist"] is not None


async def test_declining_passes_the_slot_on_and_stopping_ends_the_offers(
    post: Post, db: Database, day: dict[datetime, str]
) -> None:
    ada, bob = await ada_then_bob_waiting_and_a_slot_freed(post, db, day)

    declined = await post.client.post(f"/api/v1/appointments/{ada['token']}/offer/decline")
    assert declined.status_code == 204, declined.text
    await round_of_offers(post, db)
    assert (await offer_of(post, bob["token"]))["start"] == FREED.isoformat()

    stopped = await post.client.delete(f"/api/v1/appointments/{bob['token']}/waitlist")
    assert stopped.status_code == 204, stopped.text
    again = await post.client.delete(f"/api/v1/appointments/{bob['token']}/waitlist")
    assert again.status_code == 204, again.text
    assert await offer_of(post, bob["token"]) is None
    # The slot is anybody's again: Ada declined it, Bob stopped.
    await round_of_offers(post, db)
    assert await offer_of(post, ada["token"]) is None
    assert FREED.isoformat() in await free_on(post, "2026-12-01")


async def test_asking_refuses_what_cannot_be(
    post: Post, db: Database, day: dict[datetime, str]
) -> None:
    ada = await booked(post, ADA_AT, "Ada Lovelace", "ada@example.org")
    path = f"/api/v1/appointments/{ada['token']}/waitlist"
    for before in ("2026-11-30", "2026-12-03", "2025-01-01"):
        refused = await post.client.post(path, json={"before": before})
        assert refused.status_code in (400, 422), (before, refused.text)
    for body in ({"before": "demain"}, {"avant": "2026-12-01"}, [], "x"):
        bad = await post.client.post(path, json=body)
        assert bad.status_code == 400, (body, bad.text)
    unknown = await post.client.post("/api/v1/appointments/" + "x" * 32 + "/waitlist", json={})
    assert unknown.status_code == 404
    gone = await post.client.post(f"/api/v1/appointments/{ada['token']}/offer/accept")
    assert gone.status_code == 410

    nobody = await post.client.post(path)  # no body at all: any earlier slot
    assert nobody.status_code == 201, nobody.text
    assert nobody.json()["before"] is None
    kept = await post.client.post(path, json={"before": "2026-12-02"})
    assert kept.status_code == 201, kept.text
    assert kept.json()["before"] == "2026-12-02"

    await post.client.post(f"/api/v1/appointments/{ada['token']}/cancel")
    after = await post.client.post(path, json={})
    assert after.status_code == 409, after.text


async def test_the_page_offers_no_day_before_which_nothing_could_ever_be_offered(
    post: Post, db: Database
) -> None:
    """Monday 20:30: an offer is read from Tuesday 8:00 at the earliest (the quiet hours),
    and its slot starts two hours (the notice) and five minutes (the shortest hold) later,
    so a slot starts on Tuesday at the earliest: "before Tuesday" could never be met, and
    Wednesday is the first day the page offers for Chloé's Thursday appointment."""
    chloe = await booked(post, CHLOE_AT, "Chloé Bernard", "chloe@example.org")
    page = f"/rendez-vous/{chloe['token']}/plus-tot"
    post.clock.set("2026-11-30 20:30")

    shown = await post.client.get(page)
    never = await post.client.post(page, data={"avant": "01/12/2026"}, follow_redirects=False)
    by_api = await post.client.post(
        f"/api/v1/appointments/{chloe['token']}/waitlist", json={"before": "2026-12-01"}
    )
    first = await post.client.post(page, data={"avant": "2026-12-02"}, follow_redirects=False)
    stale_tab = await post.client.post(page, data={"avant": "garbage"})  # already waiting

    assert 'min="2026-12-02" max="2026-12-03"' in shown.text
    assert never.status_code == 422
    assert (
        "Aucun créneau ne peut vous être proposé avant le mardi 1er décembre 2026. Indiquez "
        "le mercredi 2 décembre 2026 ou un jour plus tard, au plus tard celui de votre "
        "rendez-vous."
    ) in never.text
    assert 'value="01/12/2026" aria-describedby="avant-aide avant-erreur" aria-invalid="true"' in (
        never.text
    )
    assert by_api.status_code == 422, by_api.text
    assert by_api.json()["code"] == "before_invalid"
    assert first.status_code == 303, first.text
    after = await post.client.get(page)
    assert "avant le mercredi 2 décembre 2026" in after.text
    assert stale_tab.status_code == 422
    assert '<div class="error-summary" role="alert" tabindex="-1"><p>' in stale_tab.text


async def test_a_day_given_bounds_what_is_offered(
    post: Post, db: Database, day: dict[datetime, str]
) -> None:
    ada = await booked(post, ADA_AT, "Ada Lovelace", "ada@example.org")
    await waits(post, ada["token"], before="2026-12-01")  # Monday only
    await post.client.post(f"/api/v1/appointments/{day[FREED]}/cancel")  # a Tuesday
    assert await round_of_offers(post, db) == 0
    monday = datetime(2026, 11, 30, 15, 0, tzinfo=PARIS)
    await post.client.post(f"/api/v1/appointments/{day[monday]}/cancel")
    assert await round_of_offers(post, db) == 1
    assert (await offer_of(post, ada["token"]))["start"] == monday.isoformat()


async def test_fifty_bookings_of_a_held_slot_racing_its_acceptance_are_all_refused(
    post: Post, db: Database, day: dict[datetime, str], database_url: str
) -> None:
    """The holder takes the slot while fifty others try to book it, all at once (requests
    that really overlap, through `desks`): the holder gets it, the fifty are refused."""
    ada = await booked(post, ADA_AT, "Ada Lovelace", "ada@example.org")
    await waits(post, ada["token"])
    await post.client.post(f"/api/v1/appointments/{day[FREED]}/cancel")
    await round_of_offers(post, db)
    assert (await offer_of(post, ada["token"]))["start"] == FREED.isoformat()
    settings = make_settings(
        database_url,
        booking_requests_per_minute=100_000,
        database_pool_size=20,
        database_timeout_seconds=60,
    )
    racing = create_app(settings, clock=post.clock)

    def body(n: int) -> dict[str, Any]:
        return {
            "site": "paris-15",
            "service": "caf",
            "start": FREED.isoformat(),
            "name": f"Personne pressée {n}",
            "email": f"presse{n}@example.org",
        }

    async with desks(racing) as (client,):
        accept = client.post(f"/api/v1/appointments/{ada['token']}/offer/accept")
        bookings = [client.post("/api/v1/appointments", json=body(n)) for n in range(50)]
        accepted, *others = await asyncio.gather(accept, *bookings)

    assert accepted.status_code == 200, accepted.text
    assert [response.status_code for response in others] == [409] * 50
    assert {response.json()["code"] for response in others} == {"taken"}
    async with db.session() as session:
        on_it = list(
            await session.scalars(
                select(Appointment.reference).where(
                    Appointment.starts_at == FREED, Appointment.status == "booked"
                )
            )
        )
        statuses = list(await session.scalars(select(Offer.status)))
    assert on_it == [ada["reference"]]
    assert statuses == ["accepted"]


async def an_offer_row(db: Database, token: str, **fields: Any) -> int:
    """An offer written behind the engine's back, for the tables' own guards; its id."""
    async with db.writing() as session:
        appointment = await session.scalar(select(Appointment).where(Appointment.token == token))
        assert appointment is not None
        wish = await session.scalar(select(Wish).where(Wish.appointment_id == appointment.id))
        assert wish is not None
        made = fields.pop("made_at")
        start = fields.pop("start", FREED)
        offer = Offer(
            wish_id=wish.id,
            appointment_id=appointment.id,
            site_id=appointment.site_id,
            station_id=appointment.station_id,
            starts_at=start,
            ends_at=start + SLOT,
            day=made.astimezone(PARIS).date(),
            made_at=made,
            expires_at=made + timedelta(minutes=15),
            **{"status": "expired", **fields},
        )
        session.add(offer)
        await session.flush()
        return offer.id


async def a_mark(db: Database, offer_id: int, person: str, made: datetime, rank: int) -> None:
    async with db.writing() as session:
        session.add(
            OfferMark(
                offer_id=offer_id,
                person=person,
                day=made.astimezone(PARIS).date(),
                day_rank=rank,
                made_at=made,
                quiet_until=made + timedelta(hours=1),
            )
        )


async def refused(write: Any) -> bool:
    try:
        await write
    except IntegrityError:
        return True
    return False


async def test_the_tables_refuse_a_fourth_offer_a_day_and_a_second_within_the_hour(
    post: Post, db: Database, day: dict[datetime, str]
) -> None:
    """Whatever writes offers (two instances at once, a bug like the one that once sent
    a person 136 texts), the tables keep the caps on each of a person's keys."""
    ada = await booked(post, ADA_AT, "Ada Lovelace", "ada@example.org")
    bob = await booked(post, BOB_AT, "Bob Marley", "bob@example.org")
    await waits(post, ada["token"])
    await waits(post, bob["token"])
    morning = datetime(2026, 11, 30, 8, 0, tzinfo=PARIS)
    offer = await an_offer_row(db, ada["token"], made_at=morning)
    key = "a" * 64
    for rank in (1, 2, 3):
        await a_mark(db, offer, key, morning + timedelta(hours=2 * rank), rank)

    evening = morning + timedelta(hours=9)
    assert await refused(a_mark(db, offer, key, evening, 4))  # no fourth place
    assert await refused(a_mark(db, offer, key, evening, 3))  # nor the third twice
    assert not await refused(a_mark(db, offer, "b" * 64, evening, 1))  # another person
    # Never within the hour of the last one (14:00), whatever the day's count says.
    assert await refused(a_mark(db, offer, key, morning + timedelta(hours=6, minutes=59), 1))
    next_day = morning + timedelta(days=1)
    assert not await refused(a_mark(db, offer, key, next_day, 1))
    # Two offers held at once on one station's slot: refused on PostgreSQL by the table,
    # on SQLite by the one writer at a time and the engine's look under the day's lock.
    if db.is_sqlite:
        return
    later = next_day + timedelta(hours=2)
    slot = datetime(2026, 12, 2, 15, 0, tzinfo=PARIS)
    held = {"status": "held", "start": slot}
    await an_offer_row(db, ada["token"], made_at=later, **held)
    assert await refused(an_offer_row(db, bob["token"], made_at=later, **held))


async def test_one_person_booked_by_email_and_by_phone_gets_one_offer_an_hour(
    post: Post, db: Database, day: dict[datetime, str]
) -> None:
    """Camille booked once with her email and phone, once at another mairie with her
    phone alone: the caps know her by either, as the booking limits do."""
    camille = await post.book(
        ADA_AT, name="Camille Roux", email="camille@example.org", phone="06 12 34 56 78"
    )
    elsewhere = await post.book(
        "2026-12-04T10:00:00+01:00", site="paris-14", name="Camille Roux", phone="0612345678"
    )
    await waits(post, camille["token"])
    await post.client.post(f"/api/v1/appointments/{day[FREED]}/cancel")
    assert await round_of_offers(post, db) == 1
    assert await offer_of(post, camille["token"]) is not None

    await waits(post, elsewhere["token"])  # paris-14 has slots free before Friday
    assert await round_of_offers(post, db) == 0
    assert await offer_of(post, elsewhere["token"]) is None
    post.clock.now = post.clock() + timedelta(hours=1)
    await round_of_offers(post, db)
    assert await engine.sweep(db, post.clock()) >= 1  # an hour on, she may have another
    assert await offer_of(post, elsewhere["token"]) is not None


async def test_an_offer_made_at_night_is_held_from_the_morning_and_its_text_waits(
    post: Post, db: Database, day: dict[datetime, str]
) -> None:
    """A slot freed at 22:00 is offered then, but held until 15 minutes after the quiet
    hours end (08:00), and a text goes out at 08:00, not in the night."""
    ada = await post.book(
        ADA_AT, name="Ada Lovelace", phone="06 12 34 56 78", reminders_by_sms=True
    )
    await waits(post, ada["token"])
    post.clock.set("2026-11-30 22:00")
    wednesday = datetime(2026, 12, 2, 9, 0, tzinfo=PARIS)
    await post.client.post(f"/api/v1/appointments/{day[wednesday]}/cancel")
    assert await round_of_offers(post, db) == 1
    offer = await offer_of(post, ada["token"])
    assert offer["expires_at"] == "2026-12-01T08:15:00+01:00"

    await post.send_due()
    assert not [text for text in post.sms.received if "libéré" in str(text)]
    post.clock.set("2026-12-01 08:00")
    await post.send_due()
    offers = [text for text in post.sms.received if "libéré" in str(text)]
    assert len(offers) == 1
    assert "/p/" + ada["token"] in str(offers[0])


async def test_a_slot_free_already_on_a_later_day_is_offered_at_the_next_round(
    post: Post, db: Database, day: dict[datetime, str]
) -> None:
    """Asking looks at every day up to the appointment at once, not only today's: at
    night or on a day the mairie is closed, what is free on the days ahead is offered."""
    await booked(post, ADA_AT, "Ada Lovelace", "ada@example.org")
    await booked(post, BOB_AT, "Bob Marley", "bob@example.org")
    thursday = datetime(2026, 12, 3, 9, 0, tzinfo=PARIS)
    await post.client.post(f"/api/v1/appointments/{day[thursday]}/cancel")
    await round_of_offers(post, db)  # nobody waits yet
    chloe = await booked(post, CHLOE_AT, "Chloé Dubois", "chloe@example.org")
    await waits(post, chloe["token"])

    assert await round_of_offers(post, db) == 1
    assert (await offer_of(post, chloe["token"]))["start"] == thursday.isoformat()


async def test_a_slot_the_mairie_can_no_longer_give_is_let_go_and_the_person_keeps_waiting(
    post: Post, db: Database, day: dict[datetime, str]
) -> None:
    """Its station goes out of service over the slot (no other station can take it): the
    hold ends, nothing says it is still theirs, and they wait for another."""
    ada = await booked(post, ADA_AT, "Ada Lovelace", "ada@example.org")
    await waits(post, ada["token"])
    await post.client.post(f"/api/v1/appointments/{day[FREED]}/cancel")
    await round_of_offers(post, db)
    offer = await offer_of(post, ada["token"])
    assert offer["start"] == FREED.isoformat()
    manager = await Staff(db, post.client).headers("manager", "paris-15")
    station = (await post.client.get(f"/api/v1/appointments/{ada['token']}")).json()["station"]

    out = await post.client.post(
        "/api/v1/admin/sites/paris-15/outages",
        json={
            "station_id": station["id"],
            "starts_at": "2026-12-01T09:30:00+01:00",
            "ends_at": "2026-12-01T11:00:00+01:00",
            "reason": "Panne",
        },
        headers=manager,
    )
    assert out.status_code == 201, out.text

    now = (await post.client.get(f"/api/v1/appointments/{ada['token']}")).json()
    assert now["offer"] is None
    assert now["waitlist"] is not None
    taken = await post.client.post(f"/api/v1/appointments/{ada['token']}/offer/accept")
    assert taken.status_code == 410, taken.text
    assert await session_statuses(db) == ["withdrawn"]


async def test_erasing_a_person_ends_their_wait_and_lets_their_slot_go(
    post: Post, db: Database, day: dict[datetime, str]
) -> None:
    ada = await booked(post, ADA_AT, "Ada Lovelace", "ada@example.org")
    await waits(post, ada["token"])
    await post.client.post(f"/api/v1/appointments/{day[FREED]}/cancel")
    await round_of_offers(post, db)
    assert await offer_of(post, ada["token"]) is not None
    manager = await Staff(db, post.client).headers("manager", "paris-15")

    erased = await post.client.post(
        "/api/v1/admin/people/erase", json={"email": "ada@example.org"}, headers=manager
    )
    assert erased.status_code == 200, erased.text

    now = (await post.client.get(f"/api/v1/appointments/{ada['token']}")).json()
    assert (now["offer"], now["waitlist"]) == (None, None)
    assert await session_statuses(db) == ["withdrawn"]
    async with db.session() as session:
        assert list(await session.scalars(select(OfferMark))) == []  # nothing of her kept
    assert FREED.isoformat() in await free_on(post, "2026-12-01")


async def test_an_appointment_too_close_for_anything_earlier_cannot_ask(
    post: Post, db: Database
) -> None:
    """At 8:00, with two hours' notice, nothing can be booked before a 10:00 appointment."""
    soon = await booked(post, "2026-11-30T10:00:00+01:00", "Ada Lovelace", "ada@example.org")
    refused = await post.client.post(f"/api/v1/appointments/{soon['token']}/waitlist", json={})
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "too_close"


async def session_statuses(db: Database) -> list[str]:
    async with db.session() as session:
        return list(await session.scalars(select(Offer.status).order_by(Offer.id)))
