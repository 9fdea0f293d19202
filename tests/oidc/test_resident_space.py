"""A resident's space, signed in through a real OpenID provider on loopback: the bookings
made by link attached by what the provider verified (never by what it did not), today's
tickets, the contact details saved for bookings, and deleting the space and the data
(RGPD) with the anonymous figures unchanged. On both databases.

Each test's provider runs on the test's clock (`clock_offset`), so that its ID tokens are
current at the days the test books and checks in for."""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio.to_thread
import httpx
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from app.asgi import create_app
from app.audit.models import AuditEvent
from app.booking.models import Appointment
from app.db import Database, utcnow
from app.notify.dispatcher import Dispatcher
from app.notify.models import OutboxMessage
from app.notify.transports import Email, Sms, message_id
from app.notify.transports.files import EmailFiles, SmsFiles
from app.queue.models import Ticket
from app.residents import oidc, space
from app.residents.models import Resident, ResidentSession
from app.residents.sessions import COOKIE
from app.scheduler import transports
from app.visits.models import EscalationEvent, Visit
from tests.conftest import TEST_OUTBOX, Clock, Staff, make_settings
from tests.mail import sms_gateway, smtp_server
from tests.oidc.browser import ProviderBrowser
from tests.oidc.fixtures import (
    GUICHET_URL,
    RESIDENTS_CLIENT,
    RESIDENTS_RETURN,
    RESIDENTS_SIGNED_OUT,
    OidcProvider,
    OidcUser,
    start_provider,
)
from tests.post import Post, desk_of, serve
from tests.servers import free_port

pytestmark = pytest.mark.slow

VERA = OidcUser(
    "resident-vera",
    email="vera.dupont@example.org",
    email_verified=True,
    name="Vera Dupont",
    phone="+33611223344",
    phone_verified=True,
)
# The provider vouches for Ugo, but not for his email or his phone.
UGO = OidcUser(
    "resident-ugo",
    email="ugo.petit@example.org",
    email_verified=False,
    name="Ugo Petit",
    phone="+33655667788",
    phone_verified=False,
)
# The day the tests book, and the next, when the bookings are checked in and served.
BOOKING = "2026-12-14 08:00"
VISIT = "2026-12-15 09:55"
TEN = "2026-12-15T10:00:00+01:00"
NEXT_DAY = "2026-12-16T10:00:00+01:00"
STATS = {"site": "paris-15", "from": "2026-12-01", "to": "2026-12-31"}


@pytest.fixture(autouse=True)
def no_provider_remembered() -> Iterator[None]:
    oidc.forget_providers()
    yield
    oidc.forget_providers()


@dataclass
class Desk:
    """The app with a provider whose clock is the test's, a real SMTP server and SMS
    gateway with the test's dispatcher, and the resident's browser at the provider."""

    post: Post
    provider: OidcProvider
    browser: ProviderBrowser

    @property
    def client(self) -> AsyncTestClient[Any]:
        return self.post.client

    async def sign_in(self, login: str) -> None:
        started = await self.client.get("/mon-espace/connexion", follow_redirects=False)
        assert started.status_code == 303, started.text
        back = await self.browser.sign_in(started.headers["location"], login, RESIDENTS_RETURN)
        response = await self.client.get(back.removeprefix(GUICHET_URL), follow_redirects=False)
        assert response.status_code == 303, response.text
        assert response.headers["location"] == "/mon-espace"

    async def csrf(self, path: str = "/mon-espace") -> str:
        page = await self.client.get(path)
        assert page.status_code == 200, page.text
        found = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
        assert found is not None, page.text
        return found.group(1)


@asynccontextmanager
async def desk_at(
    folder: Path, database_url: str, db: Database, clock: Clock, at: str
) -> AsyncIterator[Desk]:
    """The app and its provider, both at `at` (local time in Paris) from now on."""
    moved = clock.set(at)
    offset = round((moved - utcnow()).total_seconds())
    with (
        smtp_server(free_port()) as smtp,
        sms_gateway(free_port()) as gateway,
        start_provider(folder, users=(VERA, UGO), clock_offset=offset) as provider,
    ):
        settings = make_settings(
            database_url,
            public_url=GUICHET_URL,
            oidc_issuer=provider.issuer,
            oidc_client_id=RESIDENTS_CLIENT.client_id,
            oidc_client_secret=RESIDENTS_CLIENT.client_secret,
            smtp_host="127.0.0.1",
            smtp_port=smtp.port,
            smtp_security="none",
            sms_url=gateway.url,
            sms_key="test-key",
        )
        email, sms = transports(settings)
        dispatcher = Dispatcher(db, clock, base_url=GUICHET_URL, email=email, sms=sms, instance="t")
        app = create_app(settings, clock=clock)
        browser = ProviderBrowser()
        try:
            async with AsyncTestClient(app=app, base_url="http://127.0.0.1") as client:
                yield Desk(Post(client, dispatcher, smtp, gateway, clock), provider, browser)
        finally:
            await browser.close()
            await email.close()
            await sms.close()


async def appointments(db: Database) -> dict[str, Appointment]:
    async with db.session() as session:
        return {a.reference: a for a in await session.scalars(select(Appointment))}


async def resident_of(db: Database, subject: str) -> Resident:
    async with db.session() as session:
        found = await session.scalar(select(Resident).where(Resident.subject == subject))
    assert found is not None, subject
    return found


async def test_bookings_by_link_are_attached_by_a_verified_email_or_phone_only(
    oidc_folder: Path, database_url: str, db: Database, clock: Clock
) -> None:
    async with desk_at(oidc_folder, database_url, db, clock, BOOKING) as desk:
        post = desk.post
        # Booked by link, signed out: with Vera's email written otherwise, with her phone
        # only, with Ugo's email, with Ugo's phone.
        by_email = await post.book(TEN, name="Vera D.", email="Vera.Dupont+mairie@Example.org")
        by_phone = await post.book(
            "2026-12-15T10:30:00+01:00", name="Vera D.", phone="06 11 22 33 44"
        )
        ugos_email = await post.book("2026-12-15T11:00:00+01:00", email="ugo.petit@example.org")
        ugos_phone = await post.book("2026-12-15T11:30:00+01:00", phone="06 55 66 77 88")
        someone_else = await post.book("2026-12-15T14:00:00+01:00", email="anne@example.org")
        # A look-alike of her address, with a Cyrillic а in the domain (another domain,
        # which anyone may register): one person for the booking guard, not her mailbox.
        look_alikes = [
            await post.book("2026-12-15T14:30:00+01:00", email="vera.dupont@ex\u0430mple.org")
        ]

        await desk.sign_in("resident-vera")
        vera = await resident_of(db, "resident-vera")
        rows = await appointments(db)
        assert rows[by_email["reference"]].resident_id == vera.id
        assert rows[by_phone["reference"]].resident_id == vera.id
        assert rows[someone_else["reference"]].resident_id is None
        for look_alike in look_alikes:
            assert rows[look_alike["reference"]].resident_id is None
            cancelled = await desk.client.post(
                f"/api/v1/appointments/{look_alike['token']}/cancel"
            )  # Vera's count of bookings to come is hers again
            assert cancelled.status_code == 200, cancelled.text
        page = await desk.client.get("/mon-espace")
        assert f'href="/rendez-vous/{rows[by_email["reference"]].token}"' in page.text
        assert f'href="/rendez-vous/{rows[by_phone["reference"]].token}"' in page.text
        assert ugos_email["reference"] not in page.text

        # Ugo: the provider did not verify his email nor his phone; nothing is his.
        desk.client.cookies.clear()
        desk.browser = ProviderBrowser()
        await desk.sign_in("resident-ugo")
        rows = await appointments(db)
        assert rows[ugos_email["reference"]].resident_id is None
        assert rows[ugos_phone["reference"]].resident_id is None
        page = await desk.client.get("/mon-espace")
        assert "Aucun rendez-vous à venir." in page.text

        # A booking named by one resident stays theirs when another's verified email
        # matches it later.
        again = await post.book("2026-12-15T15:00:00+01:00", email=VERA.email)
        async with db.writing() as session:
            booking = await session.scalar(
                select(Appointment).where(Appointment.reference == again["reference"])
            )
            assert booking is not None
            booking.resident_id = (await resident_of(db, "resident-ugo")).id
        desk.client.cookies.clear()
        desk.browser = ProviderBrowser()
        await desk.sign_in("resident-vera")
        rows = await appointments(db)
        assert rows[again["reference"]].resident_id != vera.id


async def test_the_space_shows_todays_tickets_and_keeps_the_details_for_bookings(
    oidc_folder: Path, database_url: str, db: Database, clock: Clock
) -> None:
    async with desk_at(oidc_folder, database_url, db, clock, VISIT) as desk:
        clock.set(BOOKING)
        booked = await desk.post.book(TEN, email=VERA.email)
        clock.set(VISIT)
        reception = await Staff(db, desk.client).headers("reception", "paris-15")
        checked_in = await desk.client.post(
            "/api/v1/sites/paris-15/check-ins",
            json={"reference": booked["reference"]},
            headers=reception,
        )
        assert checked_in.status_code == 201, checked_in.text
        await desk.sign_in("resident-vera")

        page = await desk.client.get("/mon-espace")
        async with db.session() as session:
            ticket = await session.scalar(select(Ticket))
        assert ticket is not None
        assert "Mes tickets d'aujourd'hui" in page.text
        assert f'href="/ticket/{ticket.token}"' in page.text
        assert ticket.number in page.text
        # The details not saved yet are the provider's.
        form = await desk.client.get("/mon-espace/coordonnees")
        assert 'value="vera.dupont@example.org"' in form.text
        assert 'value="+33611223344"' in form.text

        # Without the form's token nothing is saved; a landline cannot take the texts.
        forged = await desk.client.post(
            "/mon-espace/coordonnees", data={"csrf": "0" * 40, "nom": "Mallory"}
        )
        assert forged.status_code == 403
        csrf = await desk.csrf("/mon-espace/coordonnees")
        wrong = await desk.client.post(
            "/mon-espace/coordonnees",
            data={"csrf": csrf, "nom": "Véra Dupont", "telephone": "01 42 76 40 40"}
            | {"rappels_sms": "oui"},
        )
        assert wrong.status_code == 422
        assert 'aria-invalid="true"' in wrong.text
        saved = await desk.client.post(
            "/mon-espace/coordonnees",
            data={
                "csrf": csrf,
                "nom": "  Véra   Dupont ",
                "email": "vera.perso@example.org",
                "telephone": "06 11 22 33 44",
                "rappels_sms": "oui",
            },
            follow_redirects=False,
        )
        assert saved.status_code == 303, saved.text
        vera = await resident_of(db, "resident-vera")
        assert (vera.contact_name, vera.contact_email, vera.contact_phone) == (
            "Véra Dupont",
            "vera.perso@example.org",
            "+33611223344",
        )
        assert (vera.reminders_by_email, vera.reminders_by_sms) == (False, True)
        shown = await desk.client.get("/mon-espace")
        assert "vera.perso@example.org" in shown.text

        # What the booking pages fill their form with: these details, for this browser.
        cookie = str(desk.client.cookies.get(COOKIE))
        settings = desk.client.app.state.settings
        async with db.session() as session:
            details = await space.booking_details(session, cookie, settings, clock())
            nobody = await space.booking_details(session, "not-a-session", settings, clock())
        assert details is not None
        assert (details.nom, details.email, details.telephone) == (
            "Véra Dupont",
            "vera.perso@example.org",
            "+33611223344",
        )
        assert space.reminders_for(details, details.email, details.telephone) == (False, True)
        assert space.reminders_for(details, details.email, "") == (False, False)
        assert nobody is None

        # The booking form is filled with them, and carries the reminders chosen: the
        # summary offers the texts only, as saved.
        step = "/mairies/paris-15/rendez-vous/coordonnees"
        contact = await desk.client.get(step, params={"service": "caf", "debut": NEXT_DAY})
        assert contact.status_code == 200, re.findall(r"<p>(.*?)</p>", contact.text)[:6]
        assert 'value="Véra Dupont"' in contact.text
        assert 'value="vera.perso@example.org"' in contact.text
        assert 'name="rappels_sms" value="oui"' in contact.text
        assert 'name="rappels_email" value="oui"' not in contact.text
        summary = await desk.client.post(
            step,
            data={
                "service": "caf",
                "debut": NEXT_DAY,
                "nom": "Véra Dupont",
                "email": "vera.perso@example.org",
                "telephone": "+33611223344",
                "rappels_vus": "oui",
                "rappels_sms": "oui",
            },
        )
        assert summary.status_code == 200, summary.text
        assert re.search(r'id="rappels_sms"[^>]*checked', summary.text)
        assert not re.search(r'id="rappels_email"[^>]*checked', summary.text)
        # Someone else, in another browser (no cookie of Vera's), finds the form empty.
        veras = desk.client.cookies
        desk.client.cookies = httpx.Cookies()
        empty = await desk.client.get(step, params={"service": "caf", "debut": NEXT_DAY})
        desk.client.cookies = veras
        assert empty.status_code == 200, empty.text
        assert "vera.perso@example.org" not in empty.text
        assert 'value="Véra Dupont"' not in empty.text


async def figures(desk: Desk, manager: dict[str, str]) -> Any:
    response = await desk.client.get("/api/v1/stats", params=STATS, headers=manager)
    assert response.status_code == 200, response.text
    return response.json()


async def test_deleting_the_space_erases_the_data_and_keeps_the_figures(
    oidc_folder: Path, database_url: str, db: Database, clock: Clock
) -> None:
    async with desk_at(oidc_folder, database_url, db, clock, VISIT) as desk:
        post = desk.post
        clock.set(BOOKING)
        today = await post.book(
            TEN, email=VERA.email, phone="06 11 22 33 44", reminders_by_sms=True, needs=[]
        )
        later = await post.book("2026-12-22T10:00:00+01:00", email=VERA.email)
        other = await post.book(TEN, name="Bob Martin", email="bob@example.org")
        await post.send_due()  # the confirmations
        clock.set(VISIT)
        booths = await desk_of(post, db)
        for booked in (today, other):
            checked_in = await desk.client.post(
                "/api/v1/sites/paris-15/check-ins",
                json={"reference": booked["reference"]},
                headers=booths.reception,
            )
            assert checked_in.status_code == 201, checked_in.text
        await serve(post, booths, outcome="escalated", department="caf", note="Mme Dupont, RSA")
        await serve(post, booths, outcome="solved", note="M. Martin, fait")
        manager = await Staff(db, desk.client, created=50).headers("manager", "paris-15")
        (escalation,) = (
            await desk.client.get(
                "/api/v1/escalations", params={"site": "paris-15"}, headers=manager
            )
        ).json()
        moved = await desk.client.post(
            f"/api/v1/escalations/{escalation['reference']}/status",
            json={"status": "answered", "message": "La CAF écrira à Mme Dupont."},
            headers=manager,
        )
        assert moved.status_code == 200, moved.text
        await post.send_due()
        await desk.sign_in("resident-vera")
        # Her request sent on shows in her space, with where it stands; Bob's visit, solved
        # at the desk, sent nothing on.
        space_page = await desk.client.get("/mon-espace")
        sent_on = space_page.text.split('id="demandes"', 1)[1].split("</table>", 1)[0]
        assert escalation["reference"] in sent_on
        assert "réponse reçue" in sent_on
        assert sent_on.count("<tr>") == 2  # the headings and her request
        before = await figures(desk, manager)
        vera = await resident_of(db, "resident-vera")
        rows = await appointments(db)
        ids = {rows[today["reference"]].id, rows[later["reference"]].id}
        async with db.session() as session:
            statuses = {
                m.id: m.status
                for m in await session.scalars(
                    select(OutboxMessage).where(OutboxMessage.appointment_id.in_(ids))
                )
            }
        assert {"sent", "pending"} <= set(statuses.values())
        # Without a mail server her messages would be files: written as the transport
        # writes them, they go with her data.
        async with db.session() as session:
            keys = list(
                await session.scalars(
                    select(OutboxMessage.idempotency_key).where(
                        OutboxMessage.appointment_id.in_(ids)
                    )
                )
            )
        written = await write_message_files(keys)
        assert written

        confirm = await desk.client.get("/mon-espace/suppression")
        assert confirm.status_code == 200
        assert "Supprimer définitivement" in confirm.text
        forged = await desk.client.post("/mon-espace/suppression", data={"csrf": "0" * 40})
        assert forged.status_code == 403
        assert (await resident_of(db, "resident-vera")).id == vera.id
        csrf = await desk.csrf("/mon-espace/suppression")
        deleted = await desk.client.post(
            "/mon-espace/suppression", data={"csrf": csrf}, follow_redirects=False
        )
        assert deleted.status_code == 303, deleted.text
        assert not [path for path in written if path.exists()]
        after = await figures(desk, manager)
        # Then the provider's session ends too, as at a sign-out; it sends the browser back
        # to the space with the `state` guichet gave it, and the page says what was done.
        logout = deleted.headers["location"]
        params = {key: values[0] for key, values in parse_qs(urlsplit(logout).query).items()}
        assert (params["state"], params["post_logout_redirect_uri"]) == (
            "suppression",
            RESIDENTS_SIGNED_OUT,
        )
        back = await desk.browser.log_out(logout)
        assert back == f"{RESIDENTS_SIGNED_OUT}?state=suppression"
        page = await desk.client.get(urlsplit(back).path + "?" + urlsplit(back).query)
        assert "ont été supprimés" in page.text
        assert "Vera" not in page.text

    assert after == before
    rows = await appointments(db)
    for reference in (today["reference"], later["reference"]):
        gone = rows[reference]
        assert (gone.name, gone.email, gone.phone, gone.needs, gone.email_key) == (
            "",
            "",
            None,
            [],
            None,
        )
        assert gone.resident_id is None
    assert rows[today["reference"]].status == "served"
    assert rows[later["reference"]].status == "booked"
    assert rows[other["reference"]].email == "bob@example.org"
    async with db.session() as session:
        ticket = await session.scalar(
            select(Ticket).where(Ticket.appointment_id == rows[today["reference"]].id)
        )
        notes = sorted(await session.scalars(select(Visit.note)))
        steps = list(await session.scalars(select(EscalationEvent.message)))
        messages = list(await session.scalars(select(OutboxMessage)))
        residents = await session.scalar(select(func.count()).select_from(Resident))
        open_sessions = await session.scalar(select(func.count()).select_from(ResidentSession))
        log = list(
            await session.scalars(select(AuditEvent).where(AuditEvent.action == "resident.erased"))
        )
    assert ticket is not None
    assert (ticket.phone, ticket.needs) == (None, [])
    assert notes == ["", "M. Martin, fait"]
    assert set(steps) == {""}
    for message in messages:
        if message.appointment_id in ids or message.ticket_id == ticket.id:
            assert (message.recipient, message.data) == ("", {})
            assert message.status != "pending"
            if statuses.get(message.id) == "pending":
                assert message.status == "cancelled"
        else:
            assert message.recipient != ""
    assert (residents, open_sessions) == (0, 0)
    (event,) = log
    assert event.agent_id is None
    assert event.details == {"appointments": 2, "tickets": 1, "messages": event.details["messages"]}
    assert event.details["messages"] >= 3
    assert "vera" not in str(event.details).lower()


async def test_a_resident_signed_out_is_sent_to_the_space(
    oidc_folder: Path, database_url: str, db: Database, clock: Clock
) -> None:
    """Signed out, the space's forms lead back to the space and change nothing."""
    async with desk_at(oidc_folder, database_url, db, clock, VISIT) as desk:
        for path in ("/mon-espace/coordonnees", "/mon-espace/suppression"):
            shown = await desk.client.get(path, follow_redirects=False)
            assert (shown.status_code, shown.headers["location"]) == (303, "/mon-espace")
            sent = await desk.client.post(path, data={"csrf": "x"}, follow_redirects=False)
            assert (sent.status_code, sent.headers["location"]) == (303, "/mon-espace")


async def write_message_files(keys: list[str]) -> list[Path]:
    """Files for the outbox messages of `keys`, in the tests' outbox folder, as the file
    transports write them (emptied first: message ids start again with each database)."""
    await anyio.to_thread.run_sync(partial(shutil.rmtree, TEST_OUTBOX, ignore_errors=True))
    emails = EmailFiles(TEST_OUTBOX / "email", "guichet@example.org")
    for key in keys:
        await emails.send(
            Email("vera@example.org", "RDV", "Bonjour", "<p>Bonjour</p>", message_id(key))
        )
        await SmsFiles(TEST_OUTBOX / "sms").send(Sms("+33612345678", "Bonjour", key))
    return await anyio.to_thread.run_sync(
        lambda: [p for p in TEST_OUTBOX.rglob("*") if p.is_file()]
    )
