"""A whole day at the Mairie du 15e, from opening to closing, on both databases: bookings
made the days before, early, on-time and late arrivals, a no-show, walk-ins of both
station kinds, a station out of order from 11:00, facilitators calling at several
stations, and people still waiting at closing time. The scheduler's jobs (the dispatcher,
the no-show sweep and the closing sweep) run after every step, as they would every few
seconds; messages land on a real SMTP server and SMS gateway on loopback.

Then every ticket's and appointment's final status, every message received, and the
day's figures are compared with what the table below says, counted by hand.

paris-15 opens 8:30-17:00 on Tuesdays. Postes 1-4 are standard (Poste 1 accessible),
Postes 5 and 6 double (both accessible). A caf booking (30 min) takes Poste 2 first;
one with the "accompagnement-long" need (60 min, double) Poste 5, then Poste 6.

| When             | What happens                                                        |
|------------------|---------------------------------------------------------------------|
| Fri 27/11 10:00  | Reception books by phone, for mobiles with texts: Chloé caf 10:00   |
|                  | (Poste 2), Farid caf + long 14:00 (Poste 5)                         |
| Mon 30/11 08:00  | Online with an email: Alice 9:00, Bruno 9:30, Denis 10:30, Hugo     |
|                  | 15:00 (Poste 2); Emma caf + long 11:30 (Poste 5), Gaëlle caf + long |
|                  | 14:00 (Poste 6, Poste 5 being Farid's)                              |
| Mon 30/11 18:00  | Hugo cancels                                                        |
| Tue 01/12 08:30  | Opening                                                             |
| 08:40            | Alice checks in early (R001)                                        |
| 08:45 / 08:46    | W1 walks in (A001); Poste 2 calls W1, not Alice (not due yet)       |
| 09:00            | Poste 3 calls Alice (due)                                           |
| 09:05 / 09:06    | W2 walks in needing a long help (B001); Poste 5 calls W2            |
| 09:28 / 09:30    | Bruno checks in on time (R002); Alice finished                      |
| 09:31            | Poste 3 calls Bruno (due)                                           |
| 09:35 / 09:40    | W3 walks in (A002); W4 walks in with a mobile (A003)                |
| 09:50            | W1 finished; Poste 2 calls W3: W4 is next, told by text             |
| 10:00            | W2 finished; Poste 5 (double) calls W4, the only one waiting        |
| 10:05 / 10:20    | Bruno finished; W3 finished                                         |
| 10:25 / 10:26    | Chloé, booked at 10:00, checks in late (R003); Poste 2 calls her    |
| 10:40 / 10:50    | W4 finished; Chloé finished                                         |
| 11:00            | Poste 5 out of order until closing: Emma moved to Poste 6 and told; |
|                  | Farid called off (Poste 6 holds Gaëlle at 14:00) and told           |
| 11:25 / 11:30    | Emma checks in (R004); Poste 6 calls her (Poste 5 cannot call)      |
| 11:35            | The sweep marks Denis (10:30, nobody came) a no-show                |
| 12:20            | Emma finished                                                       |
| 13:10 / 13:20    | W5 walks in (A004); W6 walks in needing a long help (B002)          |
| 13:25            | Poste 6 calls W6 before W5: only a double station can serve W6      |
| 13:30 / 13:32    | Poste 3 calls W5, who is not there: no-show                         |
| 13:50 / 13:58    | Gaëlle checks in early (R005); W6 finished                          |
| 14:00 / 14:55    | Poste 6 calls Gaëlle; Gaëlle finished                               |
| 16:40 - 16:50    | W7 (A005), W8 with a mobile (A006), W9 needing a long help (B003)   |
| 16:52 / 16:53    | Poste 3 calls W7 (W8 is next, told by text) and starts              |
| 17:00            | Closing: W8 and W9 closed, W8 told by text                          |
| 17:15            | W7 finished, after closing                                          |
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from app.config import Settings
from app.db import Database
from app.scheduler import Scheduler
from tests.conftest import Staff
from tests.post import Post

SITE = "/api/v1/sites/paris-15"
TUESDAY = "2026-12-01"
PHONES = {
    "Chloé": ("06 11 22 33 44", "+33611223344"),
    "Farid": ("06 22 33 44 55", "+33622334455"),
    "W4": ("06 33 44 55 66", "+33633445566"),
    "W8": ("06 44 55 66 77", "+33644556677"),
}
LONG = ["accompagnement-long"]

# What each received message is, by its subject (emails) or its opening (texts).
EMAIL_KINDS = {
    "confirmation": r"^Votre rendez-vous du .* est confirmé$",
    "reminder_24h": r"^Rappel : votre rendez-vous demain à ",
    "reminder_2h": r"^Rappel : votre rendez-vous aujourd'hui à ",
    "station_changed": r"^Votre rendez-vous du .* est maintenu$",
    "cannot_take_place": r"^Votre rendez-vous du .* ne peut pas avoir lieu$",
    "cancelled": r"^Votre rendez-vous du .* est annulé$",
    "follow_up": r"^Merci de votre visite \(",
}
SMS_KINDS = {
    "confirmation": r"^RDV confirmé ",
    "reminder_24h": r"^Rappel : RDV demain ",
    "reminder_2h": r"^Rappel : RDV aujourd'hui ",
    "station_changed": r"^RDV .* maintenu, ",
    "cannot_take_place": r"^RDV .* annulé, ",
    "cancelled": r"^Votre RDV du .* est annulé",
    "follow_up": r"^Merci de votre visite \(",
    "turn_near": r"^Ticket [A-Z]\d{3} : votre tour approche ",
    "queue_closed": r"^Ticket [A-Z]\d{3} : la .* ferme, ",
}


def kind_of(text: str, kinds: dict[str, str]) -> str:
    (kind,) = [kind for kind, pattern in kinds.items() if re.search(pattern, text)]
    return kind


def email_of(name: str) -> str:
    return f"{name.lower().replace('ë', 'e')}@example.org"


class Day:
    """The day's people (appointments and tickets by name), its staff, and the scheduler's
    jobs run after each step."""

    def __init__(self, post: Post, db: Database, settings: Settings) -> None:
        self.post, self.client, self.clock = post, post.client, post.clock
        self.staff = Staff(db, post.client)
        self.runs: list[tuple[str, str]] = []
        self.scheduler = Scheduler(
            db, settings, post.clock, post.dispatcher, "test", on_run=self._ran
        )
        self.emails: dict[str, str] = {}
        self.tokens: dict[str, tuple[datetime, str]] = {}
        self.stations: dict[str, int] = {}
        self.appointments: dict[str, Any] = {}
        self.tickets: dict[str, Any] = {}

    def _ran(self, job: str, result: str) -> None:
        self.runs.append((job, result))

    async def open(self) -> Day:
        site = (await self.client.get(SITE)).json()
        self.stations = {station["name"]: station["id"] for station in site["stations"]}
        for role in ("reception", "manager", "Poste 2", "Poste 3", "Poste 5", "Poste 6"):
            kind = "facilitator" if role.startswith("Poste") else role
            self.emails[role] = await self.staff.agent(kind, "paris-15")
        return self

    async def headers(self, who: str) -> dict[str, str]:
        """The token of reception, the manager or the facilitator at a station, renewed
        as the clock moves on by days."""
        issued, token = self.tokens.get(who, (datetime.min.replace(tzinfo=UTC), ""))
        if self.clock() - issued > timedelta(hours=12):
            token = await self.staff.token(self.emails[who])
            self.tokens[who] = (self.clock(), token)
        return {"Authorization": f"Bearer {token}"}

    async def at(self, when: str) -> None:
        """Move the clock to `when` ("09:30" on the Tuesday, or a full local date and time)
        and let the scheduler's jobs run."""
        self.clock.set(when if " " in when else f"{TUESDAY} {when}")
        await self.jobs()

    async def jobs(self) -> None:
        await self.scheduler.missed_sweep()
        await self.scheduler.closing_sweep()
        await self.post.send_due()
        assert all(result == "ok" for _, result in self.runs), self.runs

    # Booking

    async def book(
        self, name: str, start: str, *, needs: list[str] | None = None, by_phone: bool = False
    ) -> None:
        contact: dict[str, Any] = (
            {"phone": PHONES[name][0], "reminders_by_sms": True, "channel": "phone"}
            if by_phone
            else {"email": email_of(name)}
        )
        response = await self.client.post(
            "/api/v1/appointments",
            json={
                "site": "paris-15",
                "service": "caf",
                "start": f"{TUESDAY}T{start}:00+01:00",
                "name": name,
                "needs": needs or [],
                **contact,
            },
            headers=await self.headers("reception") if by_phone else {},
        )
        assert response.status_code == 201, response.text
        self.appointments[name] = response.json()
        await self.jobs()

    async def cancel(self, name: str) -> None:
        token = self.appointments[name]["token"]
        response = await self.client.post(f"/api/v1/appointments/{token}/cancel")
        assert response.status_code == 200, response.text
        await self.jobs()

    # At the desk

    async def check_in(self, name: str) -> Any:
        response = await self.client.post(
            f"{SITE}/check-ins",
            json={"reference": self.appointments[name]["reference"]},
            headers=await self.headers("reception"),
        )
        assert response.status_code == 201, response.text
        self.tickets[name] = ticket = response.json()
        await self.jobs()
        return ticket

    async def walk_in(self, name: str, *, needs: list[str] | None = None) -> Any:
        fields: dict[str, Any] = {"service": "caf", "needs": needs or []}
        if name in PHONES:
            fields["phone"] = PHONES[name][0]
        response = await self.client.post(
            f"{SITE}/tickets", json=fields, headers=await self.headers("reception")
        )
        assert response.status_code == 201, response.text
        self.tickets[name] = ticket = response.json()
        await self.jobs()
        return ticket

    async def call(self, station: str, expected: str) -> None:
        """The facilitator at `station` calls the next ticket: it is `expected`'s."""
        response = await self.client.post(
            f"/api/v1/stations/{self.stations[station]}/call-next",
            headers=await self.headers(station),
        )
        assert response.status_code == 200, response.text
        called = response.json()
        assert called is not None, f"{station} called nobody"
        names = {ticket["id"]: name for name, ticket in self.tickets.items()}
        assert names.get(called["id"]) == expected, (station, called["number"])
        assert called["station"]["id"] == self.stations[station]
        await self.jobs()

    async def move(self, name: str, action: str) -> None:
        """start, finish or no-show, by the facilitator at the ticket's station."""
        ticket = self.tickets[name]
        tracked = await self.client.get(f"/api/v1/tickets/{ticket['token']}")
        station: str = tracked.json()["station"]
        response = await self.client.post(
            f"/api/v1/tickets/{ticket['id']}/{action}", headers=await self.headers(station)
        )
        assert response.status_code == 200, response.text
        await self.jobs()

    # What is left at the end

    async def ticket_status(self, name: str) -> tuple[str, str]:
        response = await self.client.get(f"/api/v1/tickets/{self.tickets[name]['token']}")
        assert response.status_code == 200, response.text
        return response.json()["number"], response.json()["status"]

    async def appointment(self, name: str) -> Any:
        token = self.appointments[name]["token"]
        response = await self.client.get(f"/api/v1/appointments/{token}")
        assert response.status_code == 200, response.text
        return response.json()

    def received(self) -> list[tuple[str, str, str]]:
        """Every message received, as (recipient, channel, kind)."""
        emails = [
            (str(mail["To"]), "email", kind_of(str(mail["Subject"]), EMAIL_KINDS))
            for mail in self.post.smtp.mailbox.messages
        ]
        texts = [
            (sms["to"], "sms", kind_of(sms["text"], SMS_KINDS)) for sms in self.post.sms.received
        ]
        return emails + texts


async def test_a_day_at_paris_15_from_opening_to_closing(
    post: Post, db: Database, settings: Settings
) -> None:
    day = await Day(post, db, settings).open()

    # The days before.
    await day.at("2026-11-27 10:00")
    await day.book("Chloé", "10:00", by_phone=True)
    await day.book("Farid", "14:00", needs=LONG, by_phone=True)
    await day.at("2026-11-30 08:00")
    for name, start in (("Alice", "09:00"), ("Bruno", "09:30"), ("Denis", "10:30")):
        await day.book(name, start)
    await day.book("Emma", "11:30", needs=LONG)
    await day.book("Gaëlle", "14:00", needs=LONG)
    await day.book("Hugo", "15:00")
    await day.at("2026-11-30 18:00")
    await day.cancel("Hugo")
    booked_at = {name: a["station"]["name"] for name, a in day.appointments.items()}
    assert booked_at == {
        "Chloé": "Poste 2",
        "Farid": "Poste 5",
        "Alice": "Poste 2",
        "Bruno": "Poste 2",
        "Denis": "Poste 2",
        "Emma": "Poste 5",
        "Gaëlle": "Poste 6",
        "Hugo": "Poste 2",
    }

    # The morning.
    await day.at("08:30")
    await day.at("08:40")
    alice = await day.check_in("Alice")
    assert (alice["late"], alice["due_at"]) == (False, "2026-12-01T09:00:00+01:00")
    await day.at("08:45")
    await day.walk_in("W1")
    await day.at("08:46")
    await day.call("Poste 2", "W1")  # Alice is early: walk-ins first until 9:00
    await day.move("W1", "start")
    await day.at("09:00")
    await day.call("Poste 3", "Alice")
    await day.move("Alice", "start")
    await day.at("09:05")
    w2 = await day.walk_in("W2", needs=LONG)
    assert w2["number"] == "B001"
    await day.at("09:06")
    await day.call("Poste 5", "W2")
    await day.move("W2", "start")
    await day.at("09:28")
    await day.check_in("Bruno")
    await day.at("09:30")
    await day.move("Alice", "finish")
    await day.at("09:31")
    await day.call("Poste 3", "Bruno")
    await day.move("Bruno", "start")
    await day.at("09:35")
    await day.walk_in("W3")
    await day.at("09:40")
    await day.walk_in("W4")
    await day.at("09:50")
    await day.move("W1", "finish")
    await day.call("Poste 2", "W3")  # W4, next, is told by text
    await day.move("W3", "start")
    await day.at("10:00")
    await day.move("W2", "finish")
    await day.call("Poste 5", "W4")  # no double ticket waits: the double station helps W4
    await day.move("W4", "start")
    await day.at("10:05")
    await day.move("Bruno", "finish")
    await day.at("10:20")
    await day.move("W3", "finish")
    await day.at("10:25")
    chloe = await day.check_in("Chloé")  # 25 minutes late: placed as a walk-in arriving now
    assert (chloe["late"], chloe["due_at"]) == (True, None)
    await day.at("10:26")
    await day.call("Poste 2", "Chloé")
    await day.move("Chloé", "start")
    await day.at("10:40")
    await day.move("W4", "finish")
    await day.at("10:50")
    await day.move("Chloé", "finish")

    # 11:00: Poste 5's screen breaks, for the rest of the day.
    await day.at("11:00")
    out = await day.client.post(
        "/api/v1/admin/sites/paris-15/outages",
        json={
            "station_id": day.stations["Poste 5"],
            "starts_at": f"{TUESDAY}T11:00:00+01:00",
            "ends_at": f"{TUESDAY}T17:00:00+01:00",
            "reason": "Écran en panne",
        },
        headers=await day.headers("manager"),
    )
    assert out.status_code == 201, out.text
    assert [a["reference"] for a in out.json()["kept"]] == [day.appointments["Emma"]["reference"]]
    assert [a["reference"] for a in out.json()["to_reschedule"]] == [
        day.appointments["Farid"]["reference"]
    ]
    await day.jobs()
    await day.at("11:25")
    await day.check_in("Emma")
    await day.at("11:29")  # Denis's check-in stays open until 11:30 (end 11:00 + 30 min)
    assert (await day.appointment("Denis"))["status"] == "booked"
    await day.at("11:30")
    broken = await day.client.post(
        f"/api/v1/stations/{day.stations['Poste 5']}/call-next",
        headers=await day.headers("Poste 5"),
    )
    assert broken.status_code == 409
    assert broken.json()["code"] == "station_out_of_service"
    await day.call("Poste 6", "Emma")
    await day.move("Emma", "start")
    await day.at("11:35")
    assert (await day.appointment("Denis"))["status"] == "no_show"
    await day.at("12:20")
    await day.move("Emma", "finish")

    # The afternoon.
    await day.at("13:10")
    await day.walk_in("W5")
    await day.at("13:20")
    await day.walk_in("W6", needs=LONG)
    await day.at("13:25")
    await day.call("Poste 6", "W6")  # before W5, who came first: any standard station takes W5
    await day.move("W6", "start")
    await day.at("13:30")
    await day.call("Poste 3", "W5")
    await day.at("13:32")
    await day.move("W5", "no-show")
    await day.at("13:50")
    await day.check_in("Gaëlle")
    await day.at("13:58")
    await day.move("W6", "finish")
    await day.at("14:00")
    await day.call("Poste 6", "Gaëlle")
    await day.move("Gaëlle", "start")
    await day.at("14:55")
    await day.move("Gaëlle", "finish")

    # Closing time, with people still waiting.
    await day.at("16:40")
    await day.walk_in("W7")
    await day.at("16:45")
    await day.walk_in("W8")
    await day.at("16:50")
    await day.walk_in("W9", needs=LONG)
    await day.at("16:52")
    await day.call("Poste 3", "W7")  # W8, next, is told by text
    await day.at("16:53")
    await day.move("W7", "start")
    await day.at("16:59")
    assert (await day.ticket_status("W8"))[1] == "waiting"
    await day.at("17:00")
    await day.at("17:15")
    await day.move("W7", "finish")
    await day.at("18:00")  # the last follow-ups are due at 17:45 at the latest

    # Every ticket's final status.
    tickets = {name: await day.ticket_status(name) for name in day.tickets}
    assert tickets == {
        "Alice": ("R001", "done"),
        "W1": ("A001", "done"),
        "W2": ("B001", "done"),
        "Bruno": ("R002", "done"),
        "W3": ("A002", "done"),
        "W4": ("A003", "done"),
        "Chloé": ("R003", "done"),
        "Emma": ("R004", "done"),
        "W5": ("A004", "no_show"),
        "W6": ("B002", "done"),
        "Gaëlle": ("R005", "done"),
        "W7": ("A005", "done"),
        "W8": ("A006", "closed"),
        "W9": ("B003", "closed"),
    }
    # Every appointment's.
    appointments = {name: await day.appointment(name) for name in day.appointments}
    assert {name: a["status"] for name, a in appointments.items()} == {
        "Chloé": "served",  # came late, was served: not a no-show
        "Farid": "called_off",
        "Alice": "served",
        "Bruno": "served",
        "Denis": "no_show",
        "Emma": "served",
        "Gaëlle": "served",
        "Hugo": "cancelled",
    }
    assert appointments["Emma"]["station"]["name"] == "Poste 6"

    # Every message, as received: nothing missing, nothing extra, nothing twice.
    chloe_phone, farid_phone = PHONES["Chloé"][1], PHONES["Farid"][1]
    w4_phone, w8_phone = PHONES["W4"][1], PHONES["W8"][1]
    booked_online = ["confirmation", "reminder_24h", "reminder_2h"]
    expected = [
        *[(email_of("Alice"), "email", kind) for kind in [*booked_online, "follow_up"]],
        *[(email_of("Bruno"), "email", kind) for kind in [*booked_online, "follow_up"]],
        *[(email_of("Denis"), "email", kind) for kind in booked_online],
        *[
            (email_of("Emma"), "email", kind)
            for kind in [*booked_online, "station_changed", "follow_up"]
        ],
        # Farid's 2-hour reminder (12:00) was not sent: his appointment was off by then.
        *[(email_of("Gaëlle"), "email", kind) for kind in [*booked_online, "follow_up"]],
        # Hugo's 24-hour reminder went on Monday at 15:00, before he cancelled at 18:00.
        *[(email_of("Hugo"), "email", kind) for kind in ["confirmation", "reminder_24h"]],
        (email_of("Hugo"), "email", "cancelled"),
        *[(chloe_phone, "sms", kind) for kind in [*booked_online, "follow_up"]],
        *[
            (farid_phone, "sms", kind)
            for kind in ["confirmation", "reminder_24h", "cannot_take_place"]
        ],
        (w4_phone, "sms", "turn_near"),
        (w4_phone, "sms", "follow_up"),
        (w8_phone, "sms", "turn_near"),
        (w8_phone, "sms", "queue_closed"),
    ]
    assert sorted(day.received()) == sorted(expected)
    assert Counter(day.received()) == Counter(expected)
    (closed_text,) = [sms["text"] for sms in post.sms.received if "ferme" in sms["text"]]
    assert closed_text.startswith("Ticket A006 : ")

    # The day's figures, counted by hand from the table.
    stats = await day.client.get(
        f"/api/v1/stats?site=paris-15&from={TUESDAY}&to={TUESDAY}&by=day",
        headers=await day.headers("manager"),
    )
    assert stats.status_code == 200, stats.text
    figures = stats.json()["total"]
    # Booked for the day and neither cancelled nor called off: Alice, Bruno, Denis, Emma,
    # Gaëlle online; Chloé by phone (Farid's, called off, and Hugo's, cancelled, are apart).
    assert figures["appointments"] == {
        "online": 5,
        "phone": 1,
        "counter": 0,
        "partner": 0,
        "total": 6,
    }
    # Hugo, over the 6 appointments and his: 1 / 7.
    assert figures["cancellations"] == {"count": 1, "rate": 0.1429}
    assert figures["called_off"] == 1  # Farid
    # Denis among the 6 appointments; W5 called and absent.
    assert figures["no_shows"] == {"appointments": 1, "tickets": 1, "rate": 0.1667}
    assert figures["came_late"] == 1  # Chloé
    assert figures["closed"] == 2  # W8, W9
    # R001-R005, A001-A006, B001-B003; the 9 walk-ins W1-W9; all done but W5, W8, W9.
    assert (figures["tickets"], figures["walk_ins"], figures["served"]) == (14, 9, 11)
    # Minutes from arrival (or the booked time, for who came early) to the call: W1 1,
    # Alice 0, W2 1, Bruno 1, W3 15, W4 20, Chloé 1, Emma 0, W6 5, W5 20, Gaëlle 0, W7 12:
    # 12 called, 10 within 15 minutes, mean 76 / 12, median (1 + 1) / 2, p90 15 + 0.9 × 5.
    assert figures["service_level"] == {
        "target_minutes": 15,
        "goal": 0.8,
        "called": 12,
        "within": 10,
        "rate": 0.8333,
    }
    assert figures["waiting_minutes"] == {"mean": 6.3, "median": 1.0, "p90": 19.5}
