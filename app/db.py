"""The database: engine, the one session factory, the base model and column types."""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    JSON,
    DateTime,
    Integer,
    MetaData,
    any_,
    cast,
    event,
    literal,
    null,
    text,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, ORMExecuteState, Session
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator, TypeEngine

from app import sqlite_driver

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSONValue = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """An instant, always timezone-aware and in UTC, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored: give an aware instant")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is UTC:
            return value
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def one_of(column: str, values: Iterable[str]) -> str:
    """The SQL of a check that `column` holds one of `values`: "status IN ('a', 'b')"."""
    quoted = ", ".join("'" + str(value).replace("'", "''") + "'" for value in values)
    return f"{column} IN ({quoted})"


def among(session: AsyncSession, column: Any, ids: Collection[int]) -> ColumnElement[bool]:
    """`column` holds one of `ids`. On PostgreSQL the ids go as one array: a network's
    thousands of screens as as many bound parameters cost milliseconds of rendering at
    each reading, with the event loop held (SQLite's few stay an IN)."""
    if session.get_bind().dialect.name == "postgresql":
        found: ColumnElement[bool] = column == any_(literal(sorted(ids), ARRAY(Integer)))
        return found
    within: ColumnElement[bool] = column.in_(ids)
    return within


def rowcount(result: Any) -> int:
    """How many rows the UPDATE or DELETE that gave `result` touched (`execute` is typed
    as giving a plain `Result`, which does not say it)."""
    return int(result.rowcount or 0)


def token_digest(token: str) -> str:
    """The SHA-256 of a private-link token. Rows are found by it, then the token itself is
    compared in constant time: the database never compares a secret byte by byte."""
    return hashlib.sha256(token.encode()).hexdigest()


def digest_of_token_column(context: Any) -> str:
    """Column default: the digest of the row's `token`."""
    return token_digest(str(context.get_current_parameters()["token"]))


# The module that registers what keeps derived data in each transaction that changes what
# it derives from (flush listeners): imported by every `Database`, before any write.
KEEPERS = "app.keepers"
_WRITE = "guichet_write"
WRITING = "writing"  # in a session's `info` while it is in its writing transaction
_DATABASE = "database"  # in a session's `info`: the Database it belongs to
_RETURNED_AT = "returned_at"  # in a pooled connection's `info`: when it was given back
PING_AFTER_IDLE_SECONDS = 2.0
log = logging.getLogger("guichet.db")


def sqlite_local_time(value: str | None, timezone: str) -> str | None:
    """SQLite has no time zones: `guichet_local_time(instant, zone)` gives the wall-clock
    time ("YYYY-MM-DD HH:MM:SS") of a stored UTC instant in `zone`, for the figures."""
    if value is None:
        return None
    instant = datetime.fromisoformat(value).replace(tzinfo=UTC)
    return instant.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M:%S")


def _prepare_sqlite(engine: AsyncEngine) -> None:
    """WAL, foreign keys, a busy timeout, and transactions we begin ourselves.

    pysqlite's own transaction handling is turned off so that a writing
    transaction can start with BEGIN IMMEDIATE: it takes the write lock at
    once, so two writers are serialised instead of failing at commit.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        dbapi_connection.create_function(
            "guichet_local_time", 2, sqlite_local_time, deterministic=True
        )

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(connection: Connection) -> None:
        writing = connection.get_execution_options().get(_WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")


def make_engine(url: str, *, pool_size: int = 10, timeout: float = 5.0) -> AsyncEngine:
    """An engine for `url`, set up for its database."""
    if url.startswith("sqlite"):
        in_memory = ":memory:" in url or "mode=memory" in url  # one shared connection
        pool: dict[str, Any] = (
            {}
            if in_memory
            else {"pool_size": pool_size, "max_overflow": pool_size, "pool_timeout": timeout}
        )
        engine = create_async_engine(
            url,
            hide_parameters=True,
            connect_args={"timeout": timeout},
            pool_pre_ping=False,
            module=sqlite_driver.dbapi(),  # one thread hand-off per statement
            **pool,
        )
        _prepare_sqlite(engine)
        return engine
    engine = create_async_engine(
        url,
        hide_parameters=True,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=timeout,
        pool_pre_ping=False,  # `_ping_on_checkout`, in one round trip instead of three
        connect_args={
            "timeout": timeout,
            "command_timeout": 30,
            # A transaction waits for a lock (app/locking.py) as long as for a connection.
            "server_settings": {"lock_timeout": str(round(timeout * 1000))},
        },
    )
    event.listen(engine.sync_engine, "checkout", _ping_on_checkout)
    event.listen(engine.sync_engine, "checkin", _returned_to_pool)
    return engine


def union_part(
    part: int, columns: Mapping[str, TypeEngine[Any]], **given: Any
) -> list[ColumnElement[Any]]:
    """One part's columns in a UNION ALL of parts of one row shape (several reads in one
    round trip): the `part` number first, then each of `columns` in order, `given` where
    the part has it and a NULL of its type elsewhere, so that both databases read every
    part alike."""
    return [
        literal(part, Integer()).label("part"),
        *(
            (type_coerce(given[name], of) if name in given else cast(null(), of)).label(name)
            for name, of in columns.items()
        ),
    ]


def _ping_on_checkout(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
    """After a database restart every pooled connection is dead: each one that has lain
    in the pool a while is tried as it is taken and replaced if it is dead. One given
    back moments ago (`PING_AFTER_IDLE_SECONDS`: a busy instance's connections all are)
    is taken as it is, a round trip fewer a request: if the database went away meanwhile,
    its first statement fails, which is answered 503 with Retry-After and makes the pool
    replace all its connections (tests/cluster/test_faults.py restarts PostgreSQL under
    load).

    SQLAlchemy's own pre-ping wraps its `;` in BEGIN … ROLLBACK (for pgbouncer in
    transaction mode, which guichet does not use behind it): three round trips on every
    checkout. Here the `;` is sent alone, outside a transaction."""
    returned = record.info.get(_RETURNED_AT)
    if returned is not None and time.monotonic() - returned < PING_AFTER_IDLE_SECONDS:
        return
    try:
        dbapi_connection.autocommit = True
        dbapi_connection.ping()
    except Exception as exc:
        raise DisconnectionError("the pooled connection is dead") from exc
    finally:
        dbapi_connection.autocommit = False


def _returned_to_pool(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    record.info[_RETURNED_AT] = time.monotonic()


class WritingSession(Session):
    """A session that changes data only in its writing transaction (`writing`).

    Outside it, a change would go in a transaction begun by a read: on SQLite such a
    transaction cannot wait for the write lock (SQLite answers "database is locked" at
    once, whatever the busy timeout, when another connection holds it), and nothing
    would commit it. Refused here, it fails every time rather than once in a while."""


@event.listens_for(WritingSession, "before_flush")
def _flush_only_in_writing(session: Session, *_: object) -> None:
    if not session.info.get(WRITING) and (session.new or session.dirty or session.deleted):
        raise RuntimeError("data changed outside writing(): see app.db.writing")


@event.listens_for(WritingSession, "do_orm_execute")
def _change_only_in_writing(state: ORMExecuteState) -> None:
    if not state.session.info.get(WRITING) and (
        state.is_insert or state.is_update or state.is_delete
    ):
        raise RuntimeError("data changed outside writing(): see app.db.writing")


class Database:
    """The engine and the one session factory of the process.

    A request, a job or a command line works with one `session()`: it reads in it, and
    changes data in `writing(session)`, a transaction on that same session. `writing()`
    is both at once, for work that only writes.
    """

    def __init__(self, url: str, *, pool_size: int = 10, timeout: float = 5.0) -> None:
        self.url = url
        self.engine = make_engine(url, pool_size=pool_size, timeout=timeout)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        info = {_DATABASE: self}
        self._sessions = async_sessionmaker(
            self.engine, expire_on_commit=False, info=info, sync_session_class=WritingSession
        )
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        self.on_notices: Callable[[list[object]], Awaitable[None]] | None = None
        # Reads, in a writing transaction about to commit, what its notices will tell.
        self.before_commit: Callable[[AsyncSession, list[object]], Awaitable[None]] | None = None
        importlib.import_module(KEEPERS)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session:
            yield session

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[AsyncSession]:
        """A new session, in a writing transaction (see `writing`)."""
        async with self.session() as session, writing(session):
            yield session

    async def _deliver_notices(self, session: AsyncSession) -> None:
        notices = session.info.pop("notices", [])
        if notices and self.on_notices is not None:
            try:
                await self.on_notices(notices)
            except Exception:  # the change is committed: a lost notice only delays screens
                log.exception("live notices could not be handed over")

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


@asynccontextmanager
async def writing(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    """The transaction in which `session` changes data: it commits on success and rolls
    back on error; on SQLite it is the only writer of the process (BEGIN IMMEDIATE under
    a lock), so two writers are serialised instead of failing at commit.

    On SQLite, what the session read before is committed first, so that a request never
    holds one connection while it waits for another, or for the lock. On PostgreSQL, the
    read's transaction goes on as the writing one: under READ COMMITTED each statement
    reads what is committed when it runs, as in a new transaction, and the connection is
    not given back and taken again (a COMMIT, a BEGIN and a ping fewer).

    Objects read before, or in, the transaction stay readable but are detached from the
    session when it begins and when it ends: the transaction reads afresh (under its
    locks, see app/locking.py) whatever it decides on, a rollback does not expire what was
    read before it, and what is read after it is read as committed. A command called by
    another joins its transaction. The notices it queued with `notify()` are handed to
    the live screens once it has committed (never if it rolled back); just before the
    commit, `before_commit` may read in the transaction what they will tell.
    """
    if session.info.get(WRITING):
        yield session
        return
    db: Database = session.info[_DATABASE]
    going_on = db._write_lock is None and session.in_transaction()
    if session.in_transaction() and not going_on:
        await session.commit()
    session.expunge_all()
    session.info[WRITING] = True
    try:
        if going_on:
            try:
                yield session
                await _before_commit(db, session)
            except BaseException:
                await session.rollback()
                raise
            await session.commit()
        elif db._write_lock is None:
            async with session.begin():
                yield session
                await _before_commit(db, session)
        else:
            async with db._write_lock, session.begin():
                await session.connection(execution_options={_WRITE: True})
                yield session
                await _before_commit(db, session)
    except BaseException:
        session.info.pop("notices", None)
        raise
    finally:
        session.info.pop(WRITING, None)
        session.expunge_all()  # what is read next is read as committed
    await db._deliver_notices(session)


async def _before_commit(db: Database, session: AsyncSession) -> None:
    notices = session.info.get("notices")
    if notices and db.before_commit is not None:
        await db.before_commit(session, notices)


async def release(session: AsyncSession) -> None:
    """Give the session's connection back before a wait that is not the database's (a
    password hash): what it read stays loaded, and its next read takes a connection
    again. Inside a writing transaction, nothing is given back."""
    if session.in_transaction() and not session.info.get(WRITING):
        await session.commit()


def notify(session: AsyncSession, notice: object) -> None:
    """Queue `notice` to go out once the session's writing transaction has committed."""
    session.info.setdefault("notices", []).append(notice)


def utcnow() -> datetime:
    """The one clock of the imperative shell; pure functions take `now` as an argument."""
    return datetime.now(UTC)


def sqlite_path(url: str) -> str | None:
    if not url.startswith("sqlite"):
        return None
    return url.split(":///", 1)[-1].split("?", 1)[0]


__all__ = [
    "Base",
    "Database",
    "JSONValue",
    "UTCDateTime",
    "make_engine",
    "notify",
    "one_of",
    "release",
    "sqlite_path",
    "union_part",
    "utcnow",
    "writing",
]
