"""The app with a real SMTP server and a real SMS gateway on loopback, its dispatcher in
the test's hands, and a desk of paris-15 to issue, call and finish tickets."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.db import Database
from app.notify.dispatcher import Dispatcher
from tests.conftest import Clock, Staff
from tests.mail import SmsGateway, SmtpServer

PUBLIC_URL = "https://rendez-vous.example.org"


@dataclass
class Post:
    """The app, its dispatcher, and where messages land."""

    client: AsyncTestClient[Litestar]
    dispatcher: Dispatcher
    smtp: SmtpServer
    sms: SmsGateway
    clock: Clock

    async def send_due(self) -> None:
        while await self.dispatcher.run_once():
            pass

    async def book(self, when: str, **fields: Any) -> Any:
        body = {
            "site": "paris-15",
            "service": "caf",
            "start": when,
            "name": "Ada Lovelace",
            **fields,
        }
        response = await self.client.post("/api/v1/appointments", json=body)
        assert response.status_code == 201, response.text
        return response.json()

    def mails(self, address: str = "ada@example.org") -> list[Message]:
        return self.smtp.mailbox.to(address)

    def subjects(self, address: str = "ada@example.org") -> list[str]:
        return [str(message["Subject"]) for message in self.mails(address)]


@dataclass
class Desk:
    """Reception and a facilitator of paris-15, and one of its stations."""

    reception: dict[str, str]
    facilitator: dict[str, str]
    station: int


async def desk_of(post: Post, db: Database) -> Desk:
    staff = Staff(db, post.client)
    site = (await post.client.get("/api/v1/sites/paris-15")).json()
    return Desk(
        await staff.headers("reception", "paris-15"),
        await staff.headers("facilitator", "paris-15"),
        site["stations"][0]["id"],
    )


async def walk_in(post: Post, desk: Desk, **fields: Any) -> Any:
    response = await post.client.post(
        "/api/v1/sites/paris-15/tickets",
        json={"service": "caf", **fields},
        headers=desk.reception,
    )
    assert response.status_code == 201, response.text
    return response.json()


async def check_in(post: Post, desk: Desk, booked: Any) -> None:
    """Reception checks the person of the appointment `booked` in."""
    response = await post.client.post(
        "/api/v1/sites/paris-15/check-ins",
        json={"reference": booked["reference"]},
        headers=desk.reception,
    )
    assert response.status_code == 201, response.text


async def serve(post: Post, desk: Desk, **visit: Any) -> Any:
    """Call the next ticket at the desk's station, start its visit and finish it with
    `visit` as what was done."""
    headers = desk.facilitator
    called = await post.client.post(f"/api/v1/stations/{desk.station}/call-next", headers=headers)
    assert called.status_code == 200, called.text
    ticket = called.json()
    path = f"/api/v1/tickets/{ticket['id']}"
    started = await post.client.post(f"{path}/start", headers=headers)
    assert started.status_code == 200, started.text
    done = await post.client.post(f"{path}/finish", headers=headers, json=visit or None)
    assert done.status_code == 200, done.text
    return ticket
