"""An agent signs in with the City's staff OpenID provider (a real one, on loopback) and
lands on their console with the roles and mairies guichet holds; someone the provider
vouches for but guichet does not know, or whose address the provider did not verify, or
whose account is deactivated, is refused with a page and no session; a tampered answer
is refused; every one of these is in the audit log; logging out ends guichet's session
and the provider's. Without the settings, nothing of it exists. On both databases."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
from httpx import Response
from joserfc import jws
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, update

from app.accounts.models import Agent, SessionRow
from app.accounts.service import create_agent
from app.accounts.sessions import COOKIE
from app.accounts.sso import FLOW_COOKIE, LOGOUT_COOKIE
from app.asgi import create_app
from app.audit.models import AuditEvent
from app.config import Settings, SettingsError, load_settings
from app.db import Database
from app.residents import oidc
from app.sites.models import Site
from tests.conftest import STAFF_PASSWORD, Clock, make_settings
from tests.oidc.browser import ProviderBrowser
from tests.oidc.fixtures import (
    GUICHET_URL,
    STAFF_CLIENT,
    STAFF_LOGGED_OUT,
    STAFF_RETURN,
    OidcProvider,
    free_port,
)

pytestmark = pytest.mark.slow

CLAIRE = "claire.petit@paris.example.org"  # `agent-claire` at the provider, verified
ALICE = "alice.martin@example.org"  # `resident-alice`, verified
BOB = "bob.durand@example.org"  # `resident-bob`, not verified
BUTTON = "Se connecter avec le compte agent de la Ville"
ISSUER = "https://agents.paris.example.org"


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
        staff_oidc_issuer=issuer,
        staff_oidc_client_id=STAFF_CLIENT.client_id,
        staff_oidc_client_secret=STAFF_CLIENT.client_secret,
    )


async def new_agent(
    db: Database, email: str, role: str, *sites: str, name: str, active: bool = True
) -> int:
    async with db.writing() as session:
        agent = await create_agent(
            session,
            email=email,
            password=STAFF_PASSWORD,
            role=role,
            site_slugs=list(sites),
            name=name,
        )
        if not active:
            await session.execute(update(Agent).where(Agent.id == agent.id).values(active=False))
        return agent.id


@dataclass
class AgentBrowser:
    """One agent's browser: at guichet (the test client) and at the provider."""

    guichet: AsyncTestClient[object]
    provider: ProviderBrowser

    async def start(self, suite: str | None = None) -> str:
        """Ask guichet for the sign-on: the provider's address it sends the browser to."""
        query = f"?{urlencode({'suite': suite})}" if suite else ""
        response = await self.guichet.get(f"/agents/connexion{query}", follow_redirects=False)
        assert response.status_code == 303, response.text
        assert FLOW_COOKIE in response.headers["set-cookie"]
        return str(response.headers["location"])

    async def at_provider(self, authorization_url: str, login: str) -> str:
        """Sign in at the provider: the address of guichet it sends the browser back to."""
        return await self.provider.sign_in(authorization_url, login, STAFF_RETURN)

    async def back(self, address: str) -> Response:
        """Follow the provider's redirect back to guichet."""
        parts = urlsplit(address)
        assert f"{parts.scheme}://{parts.netloc}" == GUICHET_URL, address
        return await self.guichet.get(f"{parts.path}?{parts.query}", follow_redirects=False)

    async def sign_in(self, login: str, suite: str | None = None) -> Response:
        return await self.back(await self.at_provider(await self.start(suite), login))


@asynccontextmanager
async def agent_browser(settings: Settings, clock: Clock) -> AsyncIterator[AgentBrowser]:
    app = create_app(settings, clock=clock)
    async with AsyncTestClient(app=app, base_url="http://127.0.0.1") as client:
        browser = ProviderBrowser()
        try:
            yield AgentBrowser(client, browser)
        finally:
            await browser.close()


async def sessions_open(db: Database) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(SessionRow)) or 0)


async def logins(db: Database) -> list[tuple[str, int | None, dict[str, object]]]:
    """The audit log's login entries, oldest first: action, agent, details."""
    async with db.session() as session:
        rows = await session.scalars(
            select(AuditEvent).where(AuditEvent.action.startswith("auth.")).order_by(AuditEvent.id)
        )
        return [(row.action, row.agent_id, dict(row.details)) for row in rows]


def refused(response: Response, status: int, title: str) -> None:
    """A sign-on refused as it should be: a page saying why, no session cookie, the
    sign-in under way forgotten."""
    assert response.status_code == status, response.text
    assert f"<title>{title} – Connexion des agents" in response.text
    assert f"<h1>{title}</h1>" in response.text
    cookies = response.headers.get_list("set-cookie")
    assert not any(cookie.startswith(f"{COOKIE}=") for cookie in cookies), cookies
    assert not any(cookie.startswith(f"{LOGOUT_COOKIE}=") for cookie in cookies), cookies
    assert any(cookie.startswith(f'{FLOW_COOKIE}=""') for cookie in cookies), cookies


def changed(address: str, **params: str) -> str:
    parts = urlsplit(address)
    query = dict(parse_qsl(parts.query))
    query.update(params)
    return urlunsplit(parts._replace(query=urlencode(query)))


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert found, page
    return found.group(1)


async def test_an_agent_signs_in_and_lands_on_their_console_with_guichets_roles(
    oidc_provider: OidcProvider, database_url: str, db: Database, clock: Clock
) -> None:
    """Guichet's name, role (reception) and mairie (the 15e) are the agent's, whatever
    the provider says of them."""
    claire = await new_agent(db, CLAIRE, "reception", "paris-15", name="C. Petit, accueil")
    async with db.session() as session:
        names = dict((await session.execute(select(Site.slug, Site.name))).all())
    async with agent_browser(settings_for(database_url, oidc_provider.issuer), clock) as agent:
        login = await agent.guichet.get("/connexion")
        assert BUTTON in login.text
        assert 'href="/agents/connexion"' in login.text
        # The password form stays beside it.
        assert 'name="password"' in login.text

        back = await agent.sign_in("agent-claire")
        assert back.status_code == 303, back.text
        assert back.headers["location"] == "/console"
        assert await sessions_open(db) == 1

        console = await agent.guichet.get("/console")
        assert console.status_code == 200
        assert "Bonjour C. Petit, accueil" in console.text
        assert "Claire Petit" not in console.text  # the provider's name for her
        assert names["paris-15"] in console.text
        assert names["paris-20"] not in console.text
        assert 'href="/accueil/paris-15"' in console.text
        assert 'href="/admin"' not in console.text  # not a manager
        reception = await agent.guichet.get("/accueil/paris-15")
        assert reception.status_code == 200
        elsewhere = await agent.guichet.get("/accueil/paris-20")
        assert elsewhere.status_code == 403

    async with db.session() as session:
        agent_row = await session.get(Agent, claire)
        assert agent_row is not None
        assert agent_row.last_login_at is not None
    assert await logins(db) == [("auth.login", claire, {"via": "sso"})]


async def test_an_agent_goes_on_to_the_page_they_were_going_to(
    oidc_provider: OidcProvider, database_url: str, db: Database, clock: Clock
) -> None:
    await new_agent(db, CLAIRE, "reception", "paris-15", name="Claire")
    async with agent_browser(settings_for(database_url, oidc_provider.issuer), clock) as agent:
        sent = await agent.guichet.get("/accueil/paris-15", follow_redirects=False)
        assert sent.headers["location"] == "/connexion?suite=/accueil/paris-15"
        login = await agent.guichet.get(sent.headers["location"])
        assert 'href="/agents/connexion?suite=/accueil/paris-15"' in login.text
        back = await agent.sign_in("agent-claire", suite="/accueil/paris-15")
        assert back.status_code == 303, back.text
        assert back.headers["location"] == "/accueil/paris-15"
        # Never another site's address.
        elsewhere = await agent.sign_in("agent-claire", suite="//elsewhere.example.org/")
        assert elsewhere.headers["location"] == "/console"


async def test_someone_unknown_to_guichet_is_refused(
    oidc_provider: OidcProvider, database_url: str, db: Database, clock: Clock
) -> None:
    """Alice's address is verified by the provider, but no agent of guichet has it."""
    async with agent_browser(settings_for(database_url, oidc_provider.issuer), clock) as agent:
        refused(await agent.sign_in("resident-alice"), 403, "Compte agent introuvable")
        assert await sessions_open(db) == 0
        assert (await agent.guichet.get("/console", follow_redirects=False)).status_code == 303
    entries = await logins(db)
    assert entries == [("auth.login_failed", None, {"via": "sso", "reason": "unknown"})]
    assert ALICE not in json.dumps(entries)


async def test_a_deactivated_agent_is_refused(
    oidc_provider: OidcProvider, database_url: str, db: Database, clock: Clock
) -> None:
    claire = await new_agent(db, CLAIRE, "facilitator", "paris-15", name="Claire", active=False)
    async with agent_browser(settings_for(database_url, oidc_provider.issuer), clock) as agent:
        refused(await agent.sign_in("agent-claire"), 403, "Compte désactivé")
        assert await sessions_open(db) == 0
    assert await logins(db) == [
        ("auth.login_refused", claire, {"via": "sso", "reason": "disabled"})
    ]


async def test_an_address_the_provider_did_not_verify_is_refused(
    oidc_provider: OidcProvider, database_url: str, db: Database, clock: Clock
) -> None:
    """Bob's provider account has an agent's address, which the provider did not verify:
    it proves nothing, and opens nothing."""
    bob = await new_agent(db, BOB, "manager", "paris-15", name="Bob")
    async with agent_browser(settings_for(database_url, oidc_provider.issuer), clock) as agent:
        refused(await agent.sign_in("resident-bob"), 403, "Adresse e-mail non vérifiée")
        assert await sessions_open(db) == 0
    entries = await logins(db)
    assert entries == [("auth.login_refused", bob, {"via": "sso", "reason": "unverified"})]
    assert BOB not in json.dumps(entries)


async def test_a_tampered_state_is_refused(
    oidc_provider: OidcProvider, database_url: str, db: Database, clock: Clock
) -> None:
    await new_agent(db, CLAIRE, "reception", "paris-15", name="Claire")
    async with agent_browser(settings_for(database_url, oidc_provider.issuer), clock) as agent:
        address = await agent.at_provider(await agent.start(), "agent-claire")
        response = await agent.back(changed(address, state="not-the-state-guichet-sent"))
        refused(response, 400, "Connexion refusée")
        assert await sessions_open(db) == 0
        # The answer again, untouched: the sign-in under way was used, and is gone.
        refused(await agent.back(address), 400, "Connexion expirée")
        assert await sessions_open(db) == 0
    assert await logins(db) == [
        ("auth.login_refused", None, {"via": "sso", "reason": "state"}),
        ("auth.login_refused", None, {"via": "sso", "reason": "flow"}),
    ]


async def test_logging_out_ends_guichets_session_and_the_providers(
    oidc_provider: OidcProvider, database_url: str, db: Database, clock: Clock
) -> None:
    await new_agent(db, CLAIRE, "reception", "paris-15", name="Claire")
    async with agent_browser(settings_for(database_url, oidc_provider.issuer), clock) as agent:
        assert (await agent.sign_in("agent-claire")).status_code == 303
        console = await agent.guichet.get("/console")
        out = await agent.guichet.post(
            "/deconnexion", data={"csrf": csrf_of(console.text)}, follow_redirects=False
        )
        assert out.status_code == 303, out.text
        assert await sessions_open(db) == 0
        assert (await agent.guichet.get("/console", follow_redirects=False)).status_code == 303

        # The browser goes to the provider's logout, naming the sign-in and the way back.
        logout = urlsplit(out.headers["location"])
        discovery = await agent.provider.http.get(
            f"{oidc_provider.url}/.well-known/openid-configuration"
        )
        endpoint = discovery.json()["end_session_endpoint"]
        assert f"{logout.scheme}://{logout.netloc}{logout.path}" == endpoint
        params = {key: values[0] for key, values in parse_qs(logout.query).items()}
        assert params["post_logout_redirect_uri"] == STAFF_LOGGED_OUT
        assert params["client_id"] == STAFF_CLIENT.client_id
        hint = json.loads(jws.extract_compact(params["id_token_hint"].encode()).payload)
        assert (hint["sub"], hint["aud"]) == ("agent-claire", STAFF_CLIENT.client_id)

        # The provider asks to confirm, ends its session, and sends the browser back.
        # (A 400 "post_logout_redirect_uri not registered": tests/oidc/provider.mjs does
        # not register the staff client's `post_logout_redirect_uris`.)
        assert await agent.provider.log_out(out.headers["location"]) == STAFF_LOGGED_OUT

        # Signing on again: the provider asks who it is, it no longer knows.
        again = await agent.provider.http.get(await agent.start(), follow_redirects=True)
        assert 'name="prompt" value="login"' in again.text


async def test_logging_out_of_a_password_session_stays_at_guichet(
    oidc_provider: OidcProvider, database_url: str, db: Database, clock: Clock
) -> None:
    await new_agent(db, CLAIRE, "reception", "paris-15", name="Claire")
    async with agent_browser(settings_for(database_url, oidc_provider.issuer), clock) as agent:
        login = await agent.guichet.post(
            "/connexion",
            data={"email": CLAIRE, "password": STAFF_PASSWORD},
            follow_redirects=False,
        )
        assert login.status_code == 303
        console = await agent.guichet.get("/console")
        out = await agent.guichet.post(
            "/deconnexion", data={"csrf": csrf_of(console.text)}, follow_redirects=False
        )
        assert out.headers["location"] == "/connexion"
        assert await sessions_open(db) == 0


async def test_without_the_settings_there_is_no_single_sign_on(
    client: AsyncTestClient[object],
) -> None:
    """The `client` fixture's app has no staff OIDC settings."""
    login = await client.get("/connexion")
    assert login.status_code == 200
    assert 'name="password"' in login.text
    assert BUTTON not in login.text
    assert "/agents/connexion" not in login.text
    for path in ("/agents/connexion", "/agents/connexion/retour?code=x&state=y"):
        response = await client.get(path, follow_redirects=False)
        assert response.status_code == 404, path
        assert FLOW_COOKIE not in response.headers.get("set-cookie", "")


async def test_a_provider_that_cannot_be_reached_is_said_so(
    database_url: str, clock: Clock
) -> None:
    """No server error, and nothing asked of the provider for the login page itself."""
    settings = settings_for(database_url, f"http://127.0.0.1:{free_port()}")
    async with agent_browser(settings, clock) as agent:
        assert BUTTON in (await agent.guichet.get("/connexion")).text
        away = await agent.guichet.get("/agents/connexion", follow_redirects=False)
        assert away.status_code == 503
        assert "ne répond pas" in away.text
        assert f"{COOKIE}=" not in away.headers.get("set-cookie", "")


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"GUICHET_STAFF_OIDC_ISSUER": ISSUER}, "GUICHET_STAFF_OIDC_CLIENT_ID"),
        (
            {"GUICHET_STAFF_OIDC_ISSUER": "agents.paris.fr", "GUICHET_STAFF_OIDC_CLIENT_ID": "g"},
            "GUICHET_STAFF_OIDC_ISSUER",
        ),
        (
            {
                "GUICHET_STAFF_OIDC_ISSUER": ISSUER,
                "GUICHET_STAFF_OIDC_CLIENT_ID": "g",
                "GUICHET_STAFF_OIDC_SCOPES": "email",
            },
            "GUICHET_STAFF_OIDC_SCOPES",
        ),
        (
            {
                "GUICHET_ENV": "production",
                "GUICHET_SECRET_KEY": "x" * 40,
                "GUICHET_STAFF_OIDC_ISSUER": "http://agents.paris.example.org",
                "GUICHET_STAFF_OIDC_CLIENT_ID": "g",
            },
            "https",
        ),
    ],
)
def test_staff_settings_that_cannot_work_are_refused(environ: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        load_settings(environ=environ)


def test_the_staff_settings_are_their_own() -> None:
    assert not load_settings(environ={}).staff_sign_in
    environ = {"GUICHET_STAFF_OIDC_ISSUER": ISSUER, "GUICHET_STAFF_OIDC_CLIENT_ID": "guichet"}
    settings = load_settings(environ=environ)
    assert settings.staff_sign_in
    assert not settings.residents_sign_in
    assert settings.staff_oidc_scopes == "openid email profile"
