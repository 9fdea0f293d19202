"""SQLite through aiosqlite, one thread hand-off per statement.

aiosqlite runs each sqlite3 call in its connection's thread, and SQLAlchemy's adapter
makes one call per step of a statement: open a cursor, execute, fetch the rows, close
the cursor. Each call is a round trip between the event loop and that thread (a queue,
a wake-up, a future set from the other thread), and on the Monday mix those round trips
cost more CPU than SQLite's own work. The cursor below does the four steps in one call.
Behaviour is SQLAlchemy's own: same rows, same description, rowcount and lastrowid,
errors raised the same way. Server-side cursors (`stream()`) keep SQLAlchemy's cursor.

It plugs in through `create_async_engine(module=...)`, the documented way to give a
dialect another DBAPI module.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util.concurrency import await_

# What one statement gives back: description, rows, rowcount, lastrowid.
Outcome = tuple[Any, Sequence[Any], int, int | None]


def _run(
    connection: aiosqlite.Connection, work: Callable[[sqlite3.Cursor], None]
) -> Callable[[], Outcome]:
    """The whole life of one cursor, to run in the connection's thread."""

    def whole() -> Outcome:
        cursor = connection._conn.cursor()
        try:
            work(cursor)
            description = cursor.description
            rows = cursor.fetchall() if description else ()
            return description, rows, cursor.rowcount, cursor.lastrowid
        finally:
            cursor.close()

    return whole


class OneCallCursor(AsyncAdapt_aiosqlite_cursor):
    """A cursor whose statements each cost one call to the connection's thread."""

    __slots__ = ("_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        # No aiosqlite cursor is opened here: each statement opens and closes its own
        # sqlite3 cursor in the thread.
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = {}  # type: ignore[assignment]
        self._rows = deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]

    @property
    def arraysize(self) -> int:
        return 1

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        pass

    async def _async_soft_close(self) -> None:
        """Nothing is left open: the rows are already read."""

    def close(self) -> None:
        self._rows.clear()

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        arguments = () if parameters is None else parameters
        return self._call(lambda cursor: cursor.execute(operation, arguments))

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        return self._call(lambda cursor: cursor.executemany(operation, seq_of_parameters))

    def _call(self, work: Callable[[sqlite3.Cursor], object]) -> None:
        try:
            outcome = await_(self._in_thread(work))
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        self._description, rows, self._rowcount, self._lastrowid = outcome
        self._rows = deque(rows)

    async def _in_thread(self, work: Callable[[sqlite3.Cursor], object]) -> Outcome:
        connection = self._connection
        async with self._adapt_connection._execute_mutex:
            outcome: Outcome = await connection._execute(_run(connection, work))  # type: ignore[arg-type]
            return outcome


class OneCallConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneCallCursor  # type: ignore[assignment]


class OneCallDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> OneCallConnection:
        adapted = super().connect(*arg, **kw)
        return OneCallConnection(self, adapted._connection)


def dbapi() -> OneCallDBAPI:
    """The module to give `create_async_engine(module=...)` for a SQLite URL."""
    return OneCallDBAPI(aiosqlite, sqlite3)
