"""Fixtures shared by every suite: databases (SQLite and PostgreSQL), the app, staff.

Every test that takes `database_url` runs twice, once per database. Each run
gets a database of its own, copied from a template that the migrations built
once per session (and, for `database_url`, filled with the Paris demo data).
"""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import tempfile
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest
from argon2 import PasswordHasher
from hypothesis import settings as hypothesis_settings
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app import schema
from app.accounts import credentials
from app.asgi import create_app
from app.config import Settings, load_settings
from app.db import Database, utcnow
from app.sites.demo import load_demo

# The machines that run the suite are shared and noisy: a property test fails on what it
# finds, never on how long one example took.
hypothesis_settings.register_profile("guichet", deadline=None)
hypothesis_settings.load_profile("guichet")

POSTGRES_URL = os.environ.get(
    "GUICHET_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
DEMO_DAY = date(2026, 11, 26)
TEST_SECRET = "a-test-secret-that-is-long-enough-for-production-0123456789"
# Messages written as files by a test (no mail server) go to a folder of this run's own,
# never to the checkout's var/outbox, whose files the daily sweep would delete.
TEST_OUTBOX = Path(tempfile.mkdtemp(prefix="guichet-test-outbox-"))
atexit.register(shutil.rmtree, TEST_OUTBOX, True)
STAFF_PASSWORD = "correct horse battery staple"
# The real OpenID provider on loopback (`oidc_provider`, `start_provider`), for every suite.
pytest_plugins = ["tests.oidc.fixtures"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test has a node id of its own. Schemathesis gives all the operations of one test
    the same id, and the workers of pytest-xdist (`make pytest`) know tests by id: they would
    run one operation and count it for all. Each operation's label goes into its id, and a
    collection where two tests still share one is refused rather than silently cut."""
    for item in items:
        label = getattr(item, "operation_label", None)
        if label is not None and not item.nodeid.endswith("]"):
            if hasattr(item, "_id"):  # pytest 9 keeps the id in parts
                item._id = item._id.with_params(label)
            else:
                item._nodeid = f"{item.nodeid}[{label}]"
    shared = [
        nodeid for nodeid, count in Counter(item.nodeid for item in items).items() if count > 1
    ]
    if shared:
        raise pytest.UsageError(f"tests that share a node id, which xdist would run once: {shared}")


def asyncpg_url(database: str) -> str:
    """POSTGRES_URL pointed at another database, for asyncpg."""
    base, _, _ = POSTGRES_URL.rpartition("/")
    return f"{base}/{database}"


def sqlalchemy_url(database: str) -> str:
    return asyncpg_url(database).replace("postgresql://", "postgresql+asyncpg://", 1)


async def _postgres(sql: str, database: str = "") -> None:
    connection = await asyncpg.connect(asyncpg_url(database) if database else POSTGRES_URL)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def _postgres_problem() -> str | None:
    try:
        connection = await asyncio.wait_for(asyncpg.connect(POSTGRES_URL), timeout=5)
    except Exception as exc:  # any reason the server cannot be reached
        return f"{type(exc).__name__}: {exc}"
    await connection.close()
    return None


async def _fill_with_demo(url: str) -> None:
    db = Database(url)
    try:
        async with db.writing() as session:
            await load_demo(session, today=DEMO_DAY)
    finally:
        await db.dispose()


@dataclass
class Templates:
    """Migrated template databases, and how to copy one for a test."""

    backend: str
    tmp: Path
    prefix: str

    def template_name(self, demo: bool) -> str:
        return f"{self.prefix}_{'demo' if demo else 'empty'}"

    def build(self) -> None:
        for demo in (False, True):
            url = self._url(self.template_name(demo))
            if self.backend == "postgresql":
                asyncio.run(_postgres(f'CREATE DATABASE "{self.template_name(demo)}"'))
            schema.upgrade(url)
            if demo:
                asyncio.run(_fill_with_demo(url))

    def copy(self, demo: bool) -> str:
        name = f"{self.prefix}_{uuid.uuid4().hex[:10]}"
        if self.backend == "sqlite":
            shutil.copy(self.tmp / f"{self.template_name(demo)}.db", self.tmp / f"{name}.db")
        else:
            template = self.template_name(demo)
            asyncio.run(_postgres(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        return self._url(name)

    def drop(self, url: str) -> None:
        if self.backend == "sqlite":
            path = Path(url.split(":///", 1)[1])
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        else:
            name = url.rsplit("/", 1)[1]
            asyncio.run(_postgres(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def drop_all(self) -> None:
        if self.backend == "postgresql":
            for demo in (False, True):
                sql = f'DROP DATABASE IF EXISTS "{self.template_name(demo)}" WITH (FORCE)'
                asyncio.run(_postgres(sql))

    def _url(self, name: str) -> str:
        if self.backend == "sqlite":
            return f"sqlite+aiosqlite:///{self.tmp / name}.db"
        return sqlalchemy_url(name)


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The PostgreSQL server for tests; skipped when unreachable, a failure under CI."""
    problem = asyncio.run(_postgres_problem())
    if problem is not None:
        reason = f"PostgreSQL unreachable at {POSTGRES_URL} ({problem})"
        if IN_CI:
            pytest.fail(f"{reason}: CI requires it", pytrace=False)
        pytest.skip(f"{reason}; set GUICHET_TEST_POSTGRES_URL to run these tests")
    return POSTGRES_URL


@pytest.fixture(scope="session")
def sqlite_templates(tmp_path_factory: pytest.TempPathFactory) -> Templates:
    templates = Templates("sqlite", tmp_path_factory.mktemp("sqlite"), "guichet")
    templates.build()
    return templates


@pytest.fixture(scope="session")
def postgres_templates(postgres_server: str) -> Iterator[Templates]:
    prefix = f"guichet_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    templates = Templates("postgresql", Path("."), prefix)
    try:
        templates.build()
        yield templates
    finally:
        templates.drop_all()


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _fresh_database(request: pytest.FixtureRequest, backend: str, *, demo: bool) -> Iterator[str]:
    name = "sqlite_templates" if backend == "sqlite" else "postgres_templates"
    templates: Templates = request.getfixturevalue(name)
    url = templates.copy(demo=demo)
    yield url
    templates.drop(url)


@pytest.fixture
def database_url(request: pytest.FixtureRequest, backend: str) -> Iterator[str]:
    """A fresh database holding the schema and the Paris demo data (no agents)."""
    yield from _fresh_database(request, backend, demo=True)


@pytest.fixture
def empty_database_url(request: pytest.FixtureRequest, backend: str) -> Iterator[str]:
    """A fresh database holding the schema and nothing else."""
    yield from _fresh_database(request, backend, demo=False)


def asgi_scope(method: str, path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    """The scope of an HTTP request to `path`, for a test that drives the app by ASGI."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


def make_settings(database_url: str, **overrides: object) -> Settings:
    """Settings for a test app; staff tokens last a day, as tests move their clock by hours,
    and messages go out only when a test runs the dispatcher."""
    return load_settings(
        environ={},
        overrides={
            "database_url": database_url,
            "secret_key": TEST_SECRET,
            "token_ttl_minutes": 1440,
            "scheduler": False,
            "requests_per_minute": 1_000_000,
            "token_lookups_per_minute": 1_000_000,
            # Every test client books from one address: the cap of a site-day per address
            # is out of the way but where a test checks it (test_book_out.py).
            "bookings_per_address_per_day": 10_000,
            "outbox_dir": str(TEST_OUTBOX),
            **overrides,
        },
    )


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = Database(settings.database_url)
    yield database
    await database.dispose()


class Clock:
    """The application's clock in tests: the real time until a test sets `now`."""

    def __init__(self) -> None:
        self.now: datetime | None = None

    def __call__(self) -> datetime:
        return self.now or utcnow()

    def set(self, local: str, tz: str = "Europe/Paris") -> datetime:
        """Stop the clock at a local wall-clock time, e.g. "2026-11-30 08:00"."""
        self.now = datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)
        return self.now


@pytest.fixture(autouse=True)
def quick_password_hashes(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 at its cheapest in the tests' own process: every agent a test creates costs a
    hash and a login, at about half a second of CPU each with the real settings, and what
    those tests check is not the hash. tests/unit/test_credentials.py keeps the real ones
    (and checks them); servers started by the tests run with them too."""
    if request.module.__name__.endswith("test_credentials"):
        return
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(credentials, "_hasher", cheap)
    monkeypatch.setattr(credentials, "_unknown_account_hash", lambda: cheap.hash("no account"))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def client(settings: Settings, clock: Clock) -> AsyncIterator[AsyncTestClient[object]]:
    app = create_app(settings, clock=clock)
    async with AsyncTestClient(app=app, base_url="http://127.0.0.1") as test_client:
        yield test_client


@dataclass
class Staff:
    """Creates agents in the test's database and logs them in through the API."""

    db: Database
    client: AsyncTestClient[object]
    created: int = 0

    async def agent(self, role: str, *sites: str, active: bool = True) -> str:
        """Create an agent; return its email address."""
        from sqlalchemy import update

        from app.accounts.models import Agent
        from app.accounts.service import create_agent

        self.created += 1
        email = f"{role}.{self.created}@agents.example.org"
        async with self.db.writing() as session:
            agent = await create_agent(
                session,
                email=email,
                password=STAFF_PASSWORD,
                role=role,
                site_slugs=list(sites),
                name=f"{role} {self.created}",
            )
            if not active:
                await session.execute(
                    update(Agent).where(Agent.id == agent.id).values(active=False)
                )
        return email

    async def token(self, email: str) -> str:
        response = await self.client.post(
            "/api/v1/auth/token", json={"email": email, "password": STAFF_PASSWORD}
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    async def headers(self, role: str, *sites: str) -> dict[str, str]:
        """Authorization headers of a new agent with `role` at `sites`."""
        return {"Authorization": f"Bearer {await self.token(await self.agent(role, *sites))}"}


@pytest.fixture
def staff(db: Database, client: AsyncTestClient[object]) -> Staff:
    return Staff(db, client)


@asynccontextmanager
async def desks(app: Litestar, *addresses: str) -> AsyncIterator[list[httpx.AsyncClient]]:
    """Clients of one app in this process, each from its own network address, whose
    requests really overlap. Litestar's AsyncTestClient runs one request at a time, even
    under asyncio.gather: a race written with it is a queue, and proves nothing."""
    async with app.lifespan():
        clients = [
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app, client=(address, 50000)),
                base_url="http://127.0.0.1",
            )
            for address in addresses or ("127.0.0.1",)
        ]
        try:
            yield clients
        finally:
            for client in clients:
                await client.aclose()
