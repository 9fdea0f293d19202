"""A resident signs in with the City's OpenID provider (a real one, on loopback), sees
their space, signs out; and every answer that is not the provider's genuine answer to
this very request is refused, with no session and no server error. On both databases."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
from httpx import Response
from joserfc import jws
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, update

from app.asgi import create_app
from app.booking.models import Appointment
from app.config import Settings
from app.db import Database
from app.residents import oidc
from app.residents.models import Resident, ResidentSession
from app.residents.sessions import COOKIE, FLOW_COOKIE, FLOW_PATH
from tests.conftest import Clock, make_settings
from tests.oidc.browser import ProviderBrowser, resigning_proxy
from tests.oidc.fixtures import (
    GUICHET_URL,
    RESIDENTS_CLIENT,
    RESIDENTS_RETURN,
    RESIDENTS_SIGNED_OUT,
    OidcProvider,
    free_port,
    start_provider,
)

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def no_provider_remembered() -> Iterator[None]:
    """Each test's guichet learns its provider's keys afresh."""
    oidc.forget_providers()
    yield
    oidc.forget_providers()


def settings_for(database_url: str, issuer: str) -> Settings:
    return make_settings(
        database_url,
        public_url=GUICHET_URL,
        oidc_issuer=issuer,
        oidc_client_id=RESIDENTS_CLIENT.client_id,
        oidc_client_secret=RESIDENTS_CLIENT.client_secret,
    )


@dataclass
class Person:
    """One person's browser: at guichet (the test client) and at the provider."""

    guichet: AsyncTestClient[object]
    provider: ProviderBrowser

    async def start(self) -> str:
        """Ask guichet to sign in: the provider's address it sends the browser to."""
        response = await self.guichet.get("/mon-espace/connexion", follow_redirects=False)
        assert response.status_code == 303, response.text
        assert FLOW_COOKIE in response.headers["set-cookie"]
        return str(response.headers["location"])

    async def at_provider(self, authorization_url: str, login: str) -> str:
        """Sign in at the provider: the address of guichet it sends the browser back to."""
        return await self.provider.sign_in(authorization_url, login, RESIDENTS_RETURN)

    async def back(self, address: str, flow_cookie: str | None = None) -> Response:
        """Follow the provider's redirect back to guichet (with a flow cookie of the test's
        choosing, rather than the browser's)."""
        parts = urlsplit(address)
        assert f"{parts.scheme}://{parts.netloc}" == GUICHET_URL, address
        if flow_cookie is not None:
            self.guichet.cookies.set(FLOW_COOKIE, flow_cookie, path=FLOW_PATH)
        return await self.guichet.get(f"{parts.path}?{parts.query}", follow_redirects=False)

    async def sign_in(self, login: str) -> None:
        response = await self.back(await self.at_provider(await self.start(), login))
        assert response.status_code == 303, response.text
        assert response.headers["location"] == "/mon-espace"

    def flow_cookie(self) -> str:
        value = self.guichet.cookies.get(FLOW_COOKIE, path=FLOW_PATH)
        assert value, "no sign-in under way"
        return str(value)


@asynccontextmanager
async def person(settings: Settings, clock: Clock) -> AsyncIterator[Person]:
    app = create_app(settings, clock=clock)
    async with AsyncTestClient(app=app, base_url="http://127.0.0.1") as client:
        browser = ProviderBrowser()
        try:
            yield Person(client, browser)
        finally:
            await browser.close()


async def count(db: Database, table: type[Resident] | type[ResidentSession]) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)


async def free_slots(client: AsyncTestClient[object]) -> list[str]:
    """The free slots of the coming fortnight at paris-15 for the CAF."""
    today = datetime.now(UTC).date()
    query = {
        "service": "caf",
        "from": str(today + timedelta(days=2)),
        "to": str(today + timedelta(days=16)),
    }
    found = await client.get("/api/v1/sites/paris-15/availability", params=query)
    assert found.status_code == 200, found.text
    return [str(slot["start"]) for slot in found.json()["slots"]]


async def book_soon(client: AsyncTestClient[object]) -> str:
    """Book the first free slot of the coming fortnight at paris-15: its reference."""
    body = {
        "site": "paris-15",
        "service": "caf",
        "start": (await free_slots(client))[0],
        "name": "Alice Martin",
        "email": "alice.martin@example.org",
    }
    booked = await client.post("/api/v1/appointments", json=body)
    assert booked.status_code == 201, booked.text
    return str(booked.json()["reference"])


async def book_on_the_page(client: AsyncTestClient[object], start: str, name: str) -> str:
    """Book `start` through the booking pages' last step: the private link's token."""
    email = f"{name.split()[0].lower()}@example.org"
    form = {"service": "caf", "debut": start, "nom": name, "email": email, "confirmer": "oui"}
    response = await client.post(
        "/mairies/paris-15/rendez-vous/coordonnees", data=form, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    return str(response.headers["location"]).split("/")[2].split("?")[0]


def changed(address: str, **params: str) -> str:
    """`address` with some of its query's parameters changed."""
    parts = urlsplit(address)
    query = dict(parse_qsl(parts.query))
    query.update(params)
    return urlunsplit(parts._replace(query=urlencode(query)))


def refused(response: Response) -> None:
    """A sign-in refused as it should be: a page saying so, no session cookie."""
    assert 400 <= response.status_code < 500, response.text
    assert "Connexion" in response.text
    assert f"{COOKIE}=" not in response.headers.get("set-cookie", "")


async def test_a_resident_signs_in_sees_their_space_and_signs_out(
    oidc_provider: OidcProvider, database_url: str, db: Database, clock: Clock
) -> None:
    settings = settings_for(database_url, oidc_provider.issuer)
    async with person(settings, clock) as alice:
        signed_out = await alice.guichet.get("/mon-espace")
        assert signed_out.status_code == 200
        assert 'href="/mon-espace/connexion"' in signed_out.text

        # An appointment booked in the coming days, as if Alice had booked it signed in.
        reference = await book_soon(alice.guichet)
        await alice.sign_in("resident-alice")
        assert await count(db, ResidentSession) == 1
        async with db.session() as session:
            resident = await session.scalar(select(Resident))
            assert resident is not None
            assert (resident.issuer, resident.subject) == (oidc_provider.issuer, "resident-alice")
            assert (resident.email, resident.email_verified) == ("alice.martin@example.org", True)
            assert (resident.phone, resident.phone_verified) == ("+33612345678", False)
        async with db.writing() as session:
            await session.execute(
                update(Appointment)
                .where(Appointment.reference == reference)
                .values(resident_id=resident.id)
            )

        space = await alice.guichet.get("/mon-espace")
        assert space.status_code == 200
        assert "Alice Martin" in space.text
        assert "alice.martin@example.org" in space.text
        assert str(reference) in space.text
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', space.text)
        assert csrf is not None

        # The form's token is needed to sign out; without it the session stays.
        forged = await alice.guichet.post("/mon-espace/deconnexion", data={"csrf": "0" * 40})
        assert forged.status_code == 403
        assert await count(db, ResidentSession) == 1

        out = await alice.guichet.post(
            "/mon-espace/deconnexion", data={"csrf": csrf.group(1)}, follow_redirects=False
        )
        assert out.status_code == 303
        assert await count(db, ResidentSession) == 0
        again = await alice.guichet.get("/mon-espace")
        assert "Alice Martin" not in again.text
        assert 'href="/mon-espace/connexion"' in again.text

        # Then the provider's own session ends, so that the next person at this computer
        # is not signed in as Alice with one click: the browser goes to its logout, naming
        # her sign-in, and comes back to the space once she confirms.
        logout = urlsplit(out.headers["location"])
        params = {key: values[0] for key, values in parse_qs(logout.query).items()}
        assert params["post_logout_redirect_uri"] == RESIDENTS_SIGNED_OUT
        assert params["client_id"] == RESIDENTS_CLIENT.client_id
        hint = json.loads(jws.extract_compact(params["id_token_hint"].encode()).payload)
        assert (hint["sub"], hint["aud"]) == ("resident-alice", RESIDENTS_CLIENT.client_id)
        assert await alice.provider.log_out(out.headers["location"]) == RESIDENTS_SIGNED_OUT

        # Someone else on this computer, in the same browser, signs in: the provider asks
        # who it is, and Alice's appointment is not theirs.
        alice.guichet.cookies.clear()
        await alice.sign_in("resident-bob")
        bobs = await alice.guichet.get("/mon-espace")
        assert "Bob Durand" in bobs.text
        assert str(reference) not in bobs.text
        await alice.provider.close()


async def test_a_resident_who_books_signed_in_finds_it_in_their_space(
    oidc_provider: OidcProvider, database_url: str, db: Database, clock: Clock
) -> None:
    """Booked through the booking pages while signed in: the appointment names the
    resident and is in their space; booked by someone not signed in, it names nobody."""
    async with person(settings_for(database_url, oidc_provider.issuer), clock) as alice:
        first, second, *_ = await free_slots(alice.guichet)
        anonymous = await book_on_the_page(alice.guichet, first, "Anne Onyme")
        await alice.sign_in("resident-alice")
        booked = await book_on_the_page(alice.guichet, second, "Alice Martin")
        space = await alice.guichet.get("/mon-espace")
        async with db.session() as session:
            rows = dict(
                (await session.execute(select(Appointment.token, Appointment.resident_id))).all()
            )
            alices = await session.scalar(select(Resident.id))
        assert rows[anonymous] is None
        assert rows[booked] == alices
        assert f'href="/rendez-vous/{booked}"' in space.text
        assert f'href="/rendez-vous/{anonymous}"' not in space.text


async def test_a_tampered_state_is_refused(
    oidc_provider: OidcProvider, database_url: str, db: Database, clock: Clock
) -> None:
    async with person(settings_for(database_url, oidc_provider.issuer), clock) as someone:
        address = await someone.at_provider(await someone.start(), "resident-alice")
        response = await someone.back(changed(address, state="not-the-state-guichet-sent"))
        refused(response)
        assert await count(db, ResidentSession) == 0
        assert await count(db, Resident) == 0


async def test_a_code_is_used_once(
    oidc_provider: OidcProvider, database_url: str, db: Database, clock: Clock
) -> None:
    async with person(settings_for(database_url, oidc_provider.issuer), clock) as someone:
        address = await someone.at_provider(await someone.start(), "resident-alice")
        flow = someone.flow_cookie()
        first = await someone.back(address)
        assert first.status_code == 303
        assert await count(db, ResidentSession) == 1
        # The same answer again: the browser no longer holds the sign-in under way...
        refused(await someone.back(address))
        # ...and with it put back, the provider refuses the code it already gave.
        replayed = await someone.back(address, flow_cookie=flow)
        refused(replayed)
        assert "vérifiée" in replayed.text
        assert await count(db, ResidentSession) == 1


async def test_an_id_token_for_another_nonce_is_refused(
    oidc_provider: OidcProvider, database_url: str, db: Database, clock: Clock
) -> None:
    """The test asks the provider itself, as guichet's client, with guichet's code
    challenge and address but a nonce of its own, then hands the code to guichet with
    guichet's real state: the code is good, the verifier is good, the nonce is not."""
    async with person(settings_for(database_url, oidc_provider.issuer), clock) as someone:
        ours = changed(await someone.start(), nonce="a-nonce-guichet-never-sent")
        address = await someone.at_provider(ours, "resident-alice")
        refused(await someone.back(address))
        assert await count(db, ResidentSession) == 0


@pytest.mark.parametrize("kid", ["its-own", "the-providers"])
async def test_an_id_token_signed_by_another_key_is_refused(
    kid: str, oidc_folder: Path, database_url: str, db: Database, clock: Clock
) -> None:
    """A proxy in front of the provider signs the ID tokens again with a key the provider
    never published, naming it by a name of its own or by the provider's key's."""
    proxy_port = free_port()
    issuer = f"http://127.0.0.1:{proxy_port}"
    with start_provider(oidc_folder, issuer=issuer) as provider:

        def name(providers: str) -> str:
            return providers if kid == "the-providers" else "an-intruders-key"

        with resigning_proxy(proxy_port, provider.url, name):
            async with person(settings_for(database_url, issuer), clock) as someone:
                address = await someone.at_provider(await someone.start(), "resident-alice")
                refused(await someone.back(address))
                assert await count(db, ResidentSession) == 0


async def test_an_expired_id_token_is_refused(
    oidc_folder: Path, database_url: str, db: Database, clock: Clock
) -> None:
    """The provider's clock runs ten minutes late and its ID tokens last a minute: each
    has expired when it is issued."""
    with start_provider(oidc_folder, clock_offset=-600, id_token_ttl=60) as provider:
        async with person(settings_for(database_url, provider.issuer), clock) as someone:
            address = await someone.at_provider(await someone.start(), "resident-alice")
            refused(await someone.back(address))
            assert await count(db, ResidentSession) == 0


async def test_without_the_settings_there_is_no_sign_in(
    client: AsyncTestClient[object], database_url: str
) -> None:
    """The `client` fixture's app has no OIDC settings: the space and its addresses do
    not exist, and no page offers to sign in."""
    for path in ("/mon-espace", "/mon-espace/connexion", "/mon-espace/connexion/retour"):
        response = await client.get(path, headers={"accept": "text/html"})
        assert response.status_code == 404, path
    response = await client.post("/mon-espace/deconnexion", data={"csrf": "x"})
    assert response.status_code == 404
    for path in ("/", "/rendez-vous/retrouver", "/mairies/paris-15"):
        page = await client.get(path)
        assert page.status_code == 200, path
        assert "/mon-espace" not in page.text, path


async def test_with_the_settings_every_resident_page_leads_to_the_space(
    database_url: str, clock: Clock
) -> None:
    """No provider is asked for a page: only signing in goes to it."""
    settings = settings_for(database_url, f"http://127.0.0.1:{free_port()}")
    async with person(settings, clock) as someone:
        for path in ("/", "/rendez-vous/retrouver", "/mairies/paris-15", "/mon-espace"):
            page = await someone.guichet.get(path)
            assert page.status_code == 200, path
            assert 'href="/mon-espace"' in page.text, path
        # The provider cannot be reached: a page saying so, no server error.
        away = await someone.guichet.get("/mon-espace/connexion", follow_redirects=False)
        assert away.status_code == 503
        assert "ne répond pas" in away.text


async def test_keys_the_provider_rotated_are_fetched_again(
    oidc_folder: Path,
    database_url: str,
    db: Database,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The provider restarts with new keys at the same address: guichet, which knew the
    old ones, fetches them again when a token names a key it does not hold."""
    monkeypatch.setattr(oidc, "KEYS_REFRESH_SECONDS", 0.0)
    port = free_port()
    with start_provider(oidc_folder, port=port) as before:
        settings = settings_for(database_url, before.issuer)
        async with person(settings, clock) as alice:
            await alice.sign_in("resident-alice")
    with start_provider(oidc_folder, port=port):
        async with person(settings, clock) as bob:
            await bob.sign_in("resident-bob")
    assert await count(db, ResidentSession) == 2
