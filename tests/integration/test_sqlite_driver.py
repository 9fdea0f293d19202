"""SQLite's statements each cost one call to aiosqlite's thread (app/sqlite_driver.py),
and behave as through SQLAlchemy's own aiosqlite cursor: rows, counts, ids, errors,
many rows at once, streaming."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError

from app.db import Database, writing


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    async with database.writing() as session:
        await session.execute(
            text("CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL)")
        )
    yield database
    await database.dispose()


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every call made to an aiosqlite connection's thread."""
    made: list[Any] = []
    original = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        made.append(fn)
        return await original(self, fn, *args, **kwargs)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return made


async def test_a_statement_is_one_call_to_the_thread(db: Database, calls: list[Any]) -> None:
    async with db.session() as session:
        await session.execute(text("SELECT 1"))  # the connection and its BEGIN
        calls.clear()
        rows = (await session.execute(text("SELECT 1 UNION ALL SELECT 2"))).all()
        one = len(calls)
        await session.execute(text("SELECT name FROM things"))
        await session.execute(text("SELECT count(*) FROM things"))
        three = len(calls)

    assert [tuple(row) for row in rows] == [(1,), (2,)]
    assert one == 1
    assert three == 3


async def test_rows_counts_and_ids_are_those_of_sqlite(db: Database) -> None:
    async with db.writing() as session:
        inserted = await session.execute(text("INSERT INTO things (name) VALUES ('a')"))
        await session.execute(
            text("INSERT INTO things (name) VALUES (:name)"),
            [{"name": "b"}, {"name": "c"}, {"name": "d"}],
        )
        updated = await session.execute(text("UPDATE things SET name = name || '!' WHERE id > 1"))
        returned = await session.execute(
            text("INSERT INTO things (name) VALUES ('e') RETURNING id, name")
        )
        back = returned.one()
        none = await session.execute(text("SELECT * FROM things WHERE id < 0"))
        nothing = none.all()
        described = list(none.keys())
    async with db.session() as session:
        names = (await session.execute(text("SELECT name FROM things ORDER BY id"))).scalars()
        listed = list(names)

    assert inserted.lastrowid == 1  # type: ignore[attr-defined]
    assert updated.rowcount == 3  # type: ignore[attr-defined]
    assert tuple(back) == (5, "e")
    assert nothing == []
    assert described == ["id", "name"]
    assert listed == ["a", "b!", "c!", "d!", "e"]


async def test_errors_are_raised_as_through_sqlalchemy(db: Database) -> None:
    async with db.writing() as session:
        await session.execute(text("INSERT INTO things (name) VALUES ('same')"))
    with pytest.raises(IntegrityError):
        async with db.writing() as session:
            await session.execute(text("INSERT INTO things (name) VALUES ('same')"))
    with pytest.raises(OperationalError):
        async with db.session() as session:
            await session.execute(text("SELECT nope FROM nowhere"))
    async with db.session() as session:  # the connection is still good
        count = await session.scalar(text("SELECT count(*) FROM things"))

    assert count == 1


async def test_a_stream_reads_every_row(db: Database) -> None:
    async with db.writing() as session:
        await session.execute(
            text("INSERT INTO things (name) VALUES (:name)"),
            [{"name": f"n{n:04}"} for n in range(2500)],
        )
    async with db.session() as session:
        streamed = [row.name async for row in await session.stream(text("SELECT name FROM things"))]
        async with writing(session):
            left = await session.scalar(text("SELECT count(*) FROM things"))

    assert len(streamed) == 2500
    assert streamed[0] == "n0000"
    assert left == 2500
