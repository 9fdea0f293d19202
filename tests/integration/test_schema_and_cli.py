"""Migrations agree with the models; the `guichet` command migrates, loads, creates agents."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from app import schema
from app.db import make_engine
from tests.conftest import _postgres, sqlalchemy_url

GUICHET = str(Path(sys.executable).parent / "guichet")


def guichet(
    *args: str, database_url: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GUICHET_DATABASE_URL": database_url}
    return subprocess.run(
        [GUICHET, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def describe(url: str) -> dict[str, Any]:
    """Tables, columns, keys, indexes and checks, as the database reports them."""

    def read(connection: Connection) -> dict[str, Any]:
        inspector = inspect(connection)
        tables: dict[str, Any] = {}
        for table in sorted(inspector.get_table_names()):
            if table == "alembic_version":
                continue
            tables[table] = {
                "columns": [
                    (column["name"], str(column["type"]), column["nullable"])
                    for column in inspector.get_columns(table)
                ],
                "primary_key": inspector.get_pk_constraint(table)["constrained_columns"],
                "foreign_keys": sorted(
                    (key["name"], tuple(key["constrained_columns"]), key["referred_table"])
                    for key in inspector.get_foreign_keys(table)
                ),
                "indexes": sorted(
                    (index["name"], tuple(index["column_names"]), bool(index["unique"]))
                    for index in inspector.get_indexes(table)
                ),
                "unique": sorted(
                    (unique["name"], tuple(unique["column_names"]))
                    for unique in inspector.get_unique_constraints(table)
                ),
                "checks": sorted(check["name"] for check in inspector.get_check_constraints(table)),
            }
        return tables

    async def run() -> dict[str, Any]:
        engine = make_engine(url)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(read)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_the_models_and_the_migrations_agree(empty_database_url: str) -> None:
    assert schema.pending_changes(empty_database_url) is None


def test_the_migrations_go_down_and_up_again(empty_database_url: str) -> None:
    before = describe(empty_database_url)

    command.downgrade(schema.alembic_config(empty_database_url), "base")
    assert describe(empty_database_url) == {}
    schema.upgrade(empty_database_url)

    assert describe(empty_database_url) == before


@pytest.fixture
def blank_database(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with nothing in it, not even the migrations."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'var' / 'blank.db'}"
        return
    request.getfixturevalue("postgres_server")
    name = f"guichet_blank_{uuid.uuid4().hex[:10]}"
    asyncio.run(_postgres(f'CREATE DATABASE "{name}"'))
    try:
        yield sqlalchemy_url(name)
    finally:
        asyncio.run(_postgres(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_guichet_db_upgrade_on_an_empty_database_creates_the_schema_the_tests_use(
    blank_database: str, empty_database_url: str
) -> None:
    result = guichet("db", "upgrade", database_url=blank_database)

    assert result.returncode == 0, result.stderr
    assert describe(blank_database) == describe(empty_database_url)
    check = guichet("db", "check", database_url=blank_database)
    assert check.returncode == 0, check.stderr
    assert "models and migrations agree" in check.stdout


def test_guichet_demo_loads_the_paris_data_once(empty_database_url: str) -> None:
    first = guichet("demo", database_url=empty_database_url)
    second = guichet("demo", database_url=empty_database_url)

    assert first.returncode == 0, first.stderr
    assert "17 mairies" in first.stdout
    assert "5 staff accounts" in first.stdout
    assert second.returncode == 0, second.stderr
    assert "0 mairies, 0 stations, 0 services, 0 needs, 0 dated exceptions" in second.stdout


def test_guichet_agent_create_makes_an_account_that_can_log_in(database_url: str) -> None:
    from litestar.testing import TestClient

    from app.asgi import create_app
    from tests.conftest import make_settings

    created = guichet(
        "agent", "create",
        "--email", "Nadia.Accueil@agents.example.org",
        "--password", "une phrase de passe solide",
        "--role", "reception",
        "--site", "paris-11",
        database_url=database_url,
    )  # fmt: skip

    assert created.returncode == 0, created.stderr
    assert "created reception nadia.accueil@agents.example.org" in created.stdout
    with TestClient(app=create_app(make_settings(database_url))) as client:
        response = client.post(
            "/api/v1/auth/token",
            json={
                "email": "nadia.accueil@agents.example.org",
                "password": "une phrase de passe solide",
            },
        )
        assert response.status_code == 200
        me = client.get(
            "/api/v1/auth/me",
            headers={"Authorization": f"Bearer {response.json()['access_token']}"},
        )
        assert me.json()["sites"] == ["paris-11"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--role", "boss", "--site", "paris-11"], "Invalid value for '--role'"),
        (["--role", "reception", "--site", "paris-99"], "Unknown site: paris-99"),
        (["--role", "reception"], "needs at least one site"),
    ],
)
def test_guichet_agent_create_refuses_bad_input_in_plain_words(
    database_url: str, arguments: list[str], message: str
) -> None:
    result = guichet(
        "agent", "create", "--email", "x@agents.example.org", "--password", "long enough password",
        *arguments,
        database_url=database_url,
    )  # fmt: skip

    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_guichet_agent_create_refuses_a_short_password_and_a_duplicate(database_url: str) -> None:
    args = ["agent", "create", "--email", "dup@agents.example.org", "--role", "admin"]
    short = guichet(*args, "--password", "short", database_url=database_url)
    first = guichet(*args, "--password", "long enough password", database_url=database_url)
    again = guichet(*args, "--password", "long enough password", database_url=database_url)

    assert short.returncode == 1
    assert "at least 12 characters" in short.stderr
    assert first.returncode == 0, first.stderr
    assert again.returncode == 1
    assert "already exists" in again.stderr
