"""More concurrent writes than the pool has connections, against a real server: each
request gives back the connection it read with before it waits for the lock and the
connection it writes with, so they queue up and all succeed, instead of each holding one
and waiting for a second until the pool gives up (503). And a request refused before its
handler runs gives its connection back all the same, whole: no dependency that refuses
it cuts short the statement of another."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient
from sqlalchemy import event, text

from app import locking
from app.asgi import create_app
from app.config import Settings
from app.db import Database, writing
from app.demo import DEMO_PASSWORD
from tests.conftest import Staff, asgi_scope
from tests.integration.test_staff_pages import console
from tests.servers import running

CONCURRENT = 40
# Dependencies that read nothing from the database: they may be resolved beside others.
READ_NOTHING = frozenset({"settings", "db", "now", "session", "context", "caller", "excel"})
pytestmark = pytest.mark.slow


async def walk_ins_at_once(base_url: str) -> list[int]:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        login = await client.post(
            "/api/v1/auth/token",
            json={"email": "accueil.paris15@guichet.example.org", "password": DEMO_PASSWORD},
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        responses = await asyncio.gather(
            *(
                client.post(  # the server runs on the real clock: the mairie may be closed
                    "/api/v1/sites/paris-15/tickets",
                    json={"service": "caf", "force_reason": "Tests run at any hour"},
                    headers=headers,
                )
                for _ in range(CONCURRENT)
            )
        )
    return [response.status_code for response in responses]


def test_forty_walk_ins_at_once_through_a_pool_of_two_all_get_their_ticket(
    tmp_path: Path,
) -> None:
    environment = {"GUICHET_DATABASE_POOL_SIZE": "2", "GUICHET_DATABASE_TIMEOUT_SECONDS": "5"}
    with running(tmp_path, environment, demo=True) as (server,):
        statuses = asyncio.run(walk_ins_at_once(server.base))

    assert statuses == [201] * CONCURRENT


@pytest.mark.parametrize("seconds", [0.25, 60.0])
async def test_a_transaction_waits_for_a_lock_as_long_as_for_a_connection(
    database_url: str, seconds: float
) -> None:
    """`GUICHET_DATABASE_TIMEOUT_SECONDS` bounds both waits: a loaded instance given a
    minute for a connection is not refused after five seconds in the queue for a lock."""
    database = Database(database_url, timeout=seconds)
    try:
        async with database.writing() as session:
            await locking.lock(session, [locking.lock_key(locking.Scope.QUEUE, 1)])
            shown = (
                None
                if database.is_sqlite  # one writer at a time: no lock, so no lock timeout
                else await session.scalar(text("SELECT current_setting('lock_timeout')"))
            )
    finally:
        await database.dispose()

    assert shown == (None if database.is_sqlite else {0.25: "250ms", 60.0: "1min"}[seconds])


async def test_a_form_refused_before_its_handler_runs_gives_its_connection_back(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    """A staff form posted without its CSRF token is refused (403) by the dependency that
    reads the staff session, after the request's session took a connection to read it:
    the session is closed all the same, each time, not left for the garbage collector."""
    await console(client, staff, "reception", "/accueil/paris-15")
    pool = client.app.state.db.engine.pool
    after_each = []
    for _ in range(5):
        refused = await client.post("/accueil/paris-15/tickets", data={"service": "caf"})
        after_each.append((refused.status_code, pool.checkedout()))

    assert after_each == [(403, 0)] * 5


async def test_a_form_sent_slowly_holds_no_connection_while_it_arrives(
    settings: Settings,
) -> None:
    """A form's body is read before anything reads the database: a client that sends it
    slowly (a phone on a bad network, or on purpose) takes none of the pool's
    connections while it waits."""
    app = create_app(settings)  # called as a server calls it, on this event loop
    pool = app.state.db.engine.pool
    body = [b"service=caf", b"&besoins=fauteuil"]  # no slot chosen: back to the start
    half_sent, go_on = asyncio.Event(), asyncio.Event()
    statuses: list[int] = []

    async def receive() -> dict[str, object]:
        if half_sent.is_set():
            await go_on.wait()
            return {"type": "http.request", "body": body[1], "more_body": False}
        half_sent.set()
        return {"type": "http.request", "body": body[0], "more_body": True}

    async def send(message: Any) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    path = "/mairies/paris-15/rendez-vous/coordonnees"
    headers = [
        (b"content-type", b"application/x-www-form-urlencoded"),
        (b"sec-fetch-site", b"same-origin"),
    ]
    posting = asyncio.create_task(app(asgi_scope("POST", path, headers), receive, send))  # type: ignore[arg-type]
    await asyncio.wait_for(half_sent.wait(), 10)
    await asyncio.sleep(0.2)  # the request is in, waiting for the rest of its form
    held_meanwhile = pool.checkedout()
    go_on.set()
    await asyncio.wait_for(posting, 30)
    await app.state.db.dispose()

    assert (held_meanwhile, statuses) == (0, [303])


async def test_the_connection_goes_back_before_the_answer_is_sent(settings: Settings) -> None:
    """A client that reads its answer slowly holds no connection: the request's session
    is closed when the answer starts."""
    app = create_app(settings)
    pool = app.state.db.engine.pool
    at_start: list[tuple[int, int]] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        if message["type"] == "http.response.start":
            at_start.append((message["status"], pool.checkedout()))

    scope = asgi_scope("GET", "/api/v1/sites/paris-15", [])
    await app(scope, receive, send)  # type: ignore[arg-type]
    await app.state.db.dispose()

    assert at_start == [(200, 0)]


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        (  # a resident's form
            "/mairies/paris-15/rendez-vous/coordonnees",
            [(b"content-type", b"application/x-www-form-urlencoded")],
        ),
        (  # the JSON API
            "/api/v1/appointments",
            [(b"content-type", b"application/json")],
        ),
    ],
)
async def test_a_client_gone_before_its_body_came_is_no_server_error(
    settings: Settings,
    path: str,
    headers: list[tuple[bytes, bytes]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A phone that loses its network halfway through a form is the client's failure: the
    request is answered 400 (nobody reads it) and logged as such, not as a server error."""
    app = create_app(settings)
    sent = [
        {"type": "http.request", "body": b'{"site": "par', "more_body": True},
        {"type": "http.disconnect"},
    ]
    statuses: list[int] = []

    async def receive() -> dict[str, object]:
        return sent.pop(0) if sent else {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    scope = asgi_scope("POST", path, [*headers, (b"sec-fetch-site", b"same-origin")])
    await app(scope, receive, send)  # type: ignore[arg-type]
    await app.state.db.dispose()

    assert statuses == [400]
    assert [record.getMessage() for record in caplog.records if record.levelname == "ERROR"] == []


async def test_on_postgresql_a_write_goes_on_in_the_transaction_of_what_was_read_before(
    database_url: str,
) -> None:
    """What a request read before it writes: on PostgreSQL, the same transaction on the
    same connection goes on (no COMMIT, BEGIN and ping between: now() is the transaction's
    start, the backend the same); on SQLite, it is committed first (the write lock is
    waited for holding no connection)."""
    database = Database(database_url)
    seen = "SELECT 1" if database.is_sqlite else "SELECT pg_backend_pid() || ' ' || now()"
    try:
        async with database.session() as session:
            read = await session.scalar(text(seen))
            before = session.sync_session.get_transaction()
            async with writing(session):
                written = await session.scalar(text(seen))
                during = session.sync_session.get_transaction()
            after = session.sync_session.get_transaction()
    finally:
        await database.dispose()

    assert before is not None
    assert after is None
    assert (during is before) == (not database.is_sqlite)
    assert written == read


def levels_beside_others(app: Litestar) -> dict[str, list[list[str]]]:
    """What each route resolves concurrently: Litestar resolves the dependencies of one
    level of a handler's graph at once, in an anyio task group, by route and method."""
    found: dict[str, list[list[str]]] = {}
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for method, (_handler, model) in route.route_handler_map.items():
            for level in model.dependency_batches:
                if len(level) > 1:
                    found.setdefault(f"{method} {route.path}", []).append(
                        sorted(dependency.key for dependency in level)
                    )
    return found


def test_no_dependency_that_reads_the_database_is_resolved_beside_another(
    settings: Settings,
) -> None:
    """When one dependency of a level fails (a 400 for a malformed parameter), anyio cancels
    the others, again at every turn of the loop until they stop: one that was reading is
    cancelled in the middle of its statement, and SQLAlchemy throws its connection away
    (on SQLite the graceful close of that connection is itself cancelled, and its task is
    left pending: "Task was destroyed but it is pending!"). A dependency that reads comes
    alone in its level, after whatever may refuse the request."""
    beside_others = levels_beside_others(create_app(settings))

    assert beside_others  # the state readers of the first level, at least
    assert {
        route: levels
        for route, levels in beside_others.items()
        if any(set(level) - READ_NOTHING for level in levels)
    } == {}


def resolve_first(app: Litestar, path: str, first: tuple[str, ...]) -> None:
    """The dependencies of each level of `path` are started in the order of a set: pin
    it, those in `first` before the others."""
    for route in app.routes:
        if isinstance(route, HTTPRoute) and route.path == path:
            for _handler, model in route.route_handler_map.values():
                model.dependency_batches = [
                    sorted(level, key=lambda dependency: dependency.key not in first)
                    for level in model.dependency_batches
                ]


@pytest.mark.parametrize(
    "first", [("figures", "asked"), ("excel",)], ids=["reading-first", "refusing-first"]
)
@pytest.mark.parametrize("route", ["stats.csv", "activities.csv"])
async def test_a_csv_refused_for_its_format_throws_no_connection_away(
    client: AsyncTestClient[object],
    staff: Staff,
    route: str,
    first: tuple[str, ...],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A CSV asked in a format that does not exist is refused (400) without any statement
    cut short: each request gives its connection back to the pool whole, and nothing is
    left pending, whichever of its dependencies Litestar starts first."""
    headers = await staff.headers("manager", "paris-15")
    app: Any = client.app
    resolve_first(app, f"/api/v1/{route}", first)
    engine = app.state.db.engine
    thrown_away: list[str] = []

    def on_invalidate(_connection: object, _record: object, error: BaseException | None) -> None:
        thrown_away.append(type(error).__name__)

    event.listen(engine.sync_engine, "invalidate", on_invalidate)
    try:
        statuses = []
        for _ in range(5):
            response = await client.get(
                f"/api/v1/{route}?site=paris-15&format=xlsx", headers=headers
            )
            statuses.append(response.status_code)
        gc.collect()  # a task left pending is in a reference cycle with its connection
    finally:
        event.remove(engine.sync_engine, "invalidate", on_invalidate)

    assert statuses == [400] * 5
    assert thrown_away == []
    assert engine.pool.checkedout() == 0
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == []
