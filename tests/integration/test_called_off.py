"""Appointments the mairie calls off (a closure, a station outage nothing can absorb), on
both databases, with a real SMTP server and SMS gateway and the clock in the test's hands:
the status says so on the API and the private page, the calendar file is CANCELLED, no
reminder goes out, the sweep never makes it a no-show, the figures count it apart, and the
person is offered the nearest free slots and takes one in one step, under every booking
rule."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from email.message import Message
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest

from app.booking.commands import mark_missed
from app.db import Database
from app.i18n import formats
from tests.conftest import Staff
from tests.post import PUBLIC_URL, Post

ADMIN = "/api/v1/admin/sites"
PARIS = ZoneInfo("Europe/Paris")
WEDNESDAY = "2026-12-02"
THURSDAY = "2026-12-03"
BOOKED_AT = f"{WEDNESDAY}T10:00:00+01:00"
WORKS = {
    "starts_at": f"{WEDNESDAY}T09:00:00+01:00",
    "ends_at": f"{WEDNESDAY}T13:00:00+01:00",
    "reason": "Travaux",
}


@pytest.fixture
def people(post: Post, db: Database) -> Staff:
    return Staff(db, post.client)


@pytest.fixture
async def manager(people: Staff) -> dict[str, str]:
    return await people.headers("manager", "paris-15")


def text_of(mail: Message) -> str:
    part = next(p for p in mail.walk() if p.get_content_type() == "text/plain")
    text: str = part.get_content()
    return text


def event_in(payload: bytes | str) -> Any:
    calendar = icalendar.Calendar.from_ical(payload)
    return next(part for part in calendar.walk() if part.name == "VEVENT")


def attached_event(mail: Message) -> Any:
    for part in mail.walk():
        if part.get_content_type() == "text/calendar":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return event_in(payload)
    raise AssertionError("no calendar attached")


async def close_for_works(post: Post, manager: dict[str, str]) -> dict[str, Any]:
    response = await post.client.post(f"{ADMIN}/paris-15/closures", json=WORKS, headers=manager)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def free_slots(post: Post, first: str, last: str) -> list[datetime]:
    response = await post.client.get(
        "/api/v1/sites/paris-15/availability", params={"service": "caf", "from": first, "to": last}
    )
    assert response.status_code == 200, response.text
    return [datetime.fromisoformat(slot["start"]) for slot in response.json()["slots"]]


def offered_on(page: str) -> list[str]:
    """The slots a private page offers to take in one click."""
    return re.findall(r'name="debut" value="([^"]+)"', page)


async def test_an_appointment_inside_a_new_closure_is_called_off_everywhere_it_shows(
    post: Post, manager: dict[str, str], people: Staff, db: Database
) -> None:
    booked = await post.book(BOOKED_AT, email="ada@example.org")
    afternoon = await post.book(f"{WEDNESDAY}T14:00:00+01:00", email="bob@example.org")
    await post.send_due()

    closed = await close_for_works(post, manager)
    seen = await post.client.get(f"/api/v1/appointments/{booked['token']}")
    page = await post.client.get(f"/rendez-vous/{booked['token']}")
    ics = await post.client.get(f"/api/v1/appointments/{booked['token']}/calendar.ics")
    await post.send_due()
    post.clock.set(f"{WEDNESDAY} 08:00")  # two hours before, past the day-before reminder
    await post.send_due()
    post.clock.set(f"{WEDNESDAY} 20:00")  # the afternoon's person never came
    missed = await mark_missed(db, post.clock())
    after_sweep = await post.client.get(f"/api/v1/appointments/{booked['token']}")
    missed_one = await post.client.get(f"/api/v1/appointments/{afternoon['token']}")
    manager = await people.headers("manager", "paris-15")  # a new day's login
    figures = await post.client.get(
        f"/api/v1/stats?site=paris-15&from={WEDNESDAY}&to={WEDNESDAY}", headers=manager
    )
    table = await post.client.get(
        f"/api/v1/stats.csv?site=paris-15&from={WEDNESDAY}&to={WEDNESDAY}", headers=manager
    )

    assert [item["reference"] for item in closed["to_reschedule"]] == [booked["reference"]]
    assert seen.json()["status"] == "called_off"
    assert "annulé par la mairie" in page.text
    assert "confirmé" not in page.text
    assert ics.status_code == 200
    event = event_in(ics.content)
    assert str(event["STATUS"]) == "CANCELLED"
    assert int(event["SEQUENCE"]) == 1
    assert not list(event.walk("VALARM"))
    assert post.subjects() == [
        "Votre rendez-vous du mercredi 2 décembre 2026 à 10\u00a0h\u00a000 est confirmé",
        "Votre rendez-vous du mercredi 2 décembre 2026 à 10\u00a0h\u00a000 ne peut pas avoir lieu",
    ]  # and no reminder, the day before nor two hours before
    told = post.mails()[1]
    assert str(attached_event(told)["STATUS"]) == "CANCELLED"
    assert str(attached_event(told)["UID"]) == f"{booked['reference']}@guichet"
    assert "annulé par la mairie (Travaux)" in text_of(told)
    assert missed == 1
    assert after_sweep.json()["status"] == "called_off"
    assert missed_one.json()["status"] == "no_show"
    total = figures.json()["total"]
    assert total["called_off"] == 1
    assert total["cancellations"]["count"] == 0
    assert total["no_shows"]["appointments"] == 1
    assert total["appointments"]["total"] == 1
    (row,) = [r for r in csv.DictReader(io.StringIO(table.text)) if r["period"] == "total"]
    assert row["called_off"] == "1"
    assert row["cancellations"] == "0"
    assert row["no_shows_appointments"] == "1"


async def test_the_message_offers_the_nearest_free_slots_and_its_link_rebooks_in_one_step(
    post: Post, manager: dict[str, str]
) -> None:
    booked = await post.book(BOOKED_AT, email="ada@example.org")
    await close_for_works(post, manager)
    await post.send_due()

    told = text_of(post.mails()[-1])
    link = f"{PUBLIC_URL}/rendez-vous/{booked['token']}"
    page = await post.client.get(link.removeprefix(PUBLIC_URL))
    offered = [datetime.fromisoformat(value) for value in offered_on(page.text)]
    free = await free_slots(post, "2026-12-01", "2026-12-09")
    target = datetime.fromisoformat(BOOKED_AT)
    chosen = offered[0]
    taken = await post.client.post(
        f"/rendez-vous/{booked['token']}/reprendre",
        data={"debut": chosen.isoformat()},
        follow_redirects=False,
    )
    new_token = taken.headers["location"].split("/rendez-vous/")[1].split("?")[0]
    again = await post.client.post(
        f"/rendez-vous/{booked['token']}/reprendre",
        data={"debut": offered[1].isoformat()},
        follow_redirects=False,
    )
    new = (await post.client.get(f"/api/v1/appointments/{new_token}")).json()
    old = (await post.client.get(f"/api/v1/appointments/{booked['token']}")).json()
    old_page = await post.client.get(f"/rendez-vous/{booked['token']}")
    await post.send_due()

    assert link in told
    assert len(offered) == 3
    assert set(offered) <= set(free)
    assert all(not (WORKS["starts_at"] <= o.isoformat() < WORKS["ends_at"]) for o in offered)
    farthest = max(abs(o - target) for o in offered)
    assert all(abs(slot - target) >= farthest for slot in set(free) - set(offered))
    for slot in offered:  # the email names them, as the page does
        assert f"- {formats.moment(slot.astimezone(PARIS))}" in told
    assert taken.status_code == 303
    assert taken.headers["location"].endswith("?confirme=1")
    assert new["status"] == "booked"
    assert datetime.fromisoformat(new["start"]) == chosen
    assert new["reference"] != booked["reference"]
    assert again.status_code == 303  # a second click leads to the same booking
    assert again.headers["location"] == f"/rendez-vous/{new_token}?confirme=1"
    assert old["status"] == "called_off"  # the call-off stays what it was
    assert new["reference"] in old_page.text
    assert offered_on(old_page.text) == []
    assert post.subjects() == [  # its first confirmation was still waiting: not sent
        "Votre rendez-vous du mercredi 2 décembre 2026 à 10\u00a0h\u00a000 ne peut pas avoir lieu",
        f"Votre rendez-vous du {formats.moment(chosen.astimezone(PARIS))} est confirmé",
    ]


async def test_taking_another_slot_keeps_every_booking_rule(
    post: Post, manager: dict[str, str]
) -> None:
    booked = await post.book(BOOKED_AT, email="ada@example.org")
    standing = await post.book(f"{THURSDAY}T10:00:00+01:00", email="ada@example.org")
    await close_for_works(post, manager)

    def rebook(token: str, start: str) -> Any:
        return post.client.post(
            f"/rendez-vous/{token}/reprendre", data={"debut": start}, follow_redirects=False
        )

    inside = await rebook(booked["token"], f"{WEDNESDAY}T11:00:00+01:00")
    off_grid = await rebook(booked["token"], f"{THURSDAY}T10:07:00+01:00")
    too_far = await rebook(booked["token"], "2027-06-02T10:00:00+01:00")
    not_called_off = await rebook(standing["token"], f"{THURSDAY}T11:00:00+01:00")
    week = await post.client.get(f"/rendez-vous/{booked['token']}/reprendre?du={THURSDAY}")
    booked_week = await post.client.get(
        f"/rendez-vous/{standing['token']}/reprendre", follow_redirects=False
    )
    still = await post.client.get(f"/api/v1/appointments/{booked['token']}")
    listed = await post.client.get(f"{ADMIN}/paris-15/appointments-to-reschedule", headers=manager)

    assert inside.status_code == 422
    assert "La mairie est fermée à cette heure-là." in inside.text
    assert off_grid.status_code == 422
    assert too_far.status_code == 422
    assert not_called_off.status_code == 409
    assert week.status_code == 200
    assert f"{THURSDAY}T10:30:00+01:00" in week.text
    assert booked_week.status_code == 303
    assert still.json()["status"] == "called_off"
    assert [item["reference"] for item in listed.json()] == [booked["reference"]]


async def test_an_outage_nothing_can_absorb_calls_off_frees_the_station_and_stays_off(
    post: Post, manager: dict[str, str]
) -> None:
    at_nine = f"{THURSDAY}T09:00:00+01:00"
    first = await post.book(at_nine, phone="06 12 34 56 78", reminders_by_sms=True)
    for n in range(5):  # every other station taken at 9:00
        await post.book(at_nine, email=f"voisin{n}@example.org")
    await post.send_due()
    station = first["station"]["id"]

    out = await post.client.post(
        f"{ADMIN}/paris-15/outages",
        json={
            "station_id": station,
            "starts_at": f"{THURSDAY}T08:00:00+01:00",
            "ends_at": f"{THURSDAY}T10:00:00+01:00",
            "reason": "Panne",
        },
        headers=manager,
    )
    await post.send_due()
    back = await post.client.delete(
        f"{ADMIN}/paris-15/outages/{out.json()['outage']['id']}", headers=manager
    )
    after = await post.client.get(f"/api/v1/appointments/{first['token']}")
    newcomer = await post.book(at_nine, email="nouvelle@example.org")
    post.clock.set(f"{THURSDAY} 07:00")
    await post.send_due()

    assert out.status_code == 201, out.text
    assert [item["reference"] for item in out.json()["to_reschedule"]] == [first["reference"]]
    assert back.status_code == 204
    assert after.json()["status"] == "called_off"  # the outage removed does not bring it back
    assert newcomer["station"]["id"] == station  # its station was free again
    texts = [m["text"] for m in post.sms.received if m["to"] == "+33612345678"]
    assert len(texts) == 2  # confirmation, then called off: no reminder
    assert "annulé" in texts[1]
    assert f"/r/{first['token']}" in texts[1]


async def test_cancelling_a_called_off_appointment_changes_nothing(
    post: Post, manager: dict[str, str]
) -> None:
    booked = await post.book(BOOKED_AT, email="ada@example.org")
    await close_for_works(post, manager)

    cancelled = await post.client.post(f"/api/v1/appointments/{booked['token']}/cancel")

    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "called_off"
