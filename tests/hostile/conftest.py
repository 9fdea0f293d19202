"""Fixtures of the hostile-input tests: a real `guichet serve` on loopback over a copy of
the SQLite demo database, with an administrator to call the staff endpoints."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from app.accounts.service import create_agent
from app.db import Database
from tests.conftest import STAFF_PASSWORD, TEST_SECRET, Templates
from tests.servers import Server, running

ADMIN_EMAIL = "admin@hostile.example.org"
# Every test client comes from 127.0.0.1: tests.servers raises the other per-address
# budgets, this one lets schemathesis try logins without being told to wait.
LOGIN_ATTEMPTS_PER_MINUTE = "10000"


@dataclass
class Served:
    """A running server and the bearer token of an administrator of it."""

    server: Server
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def header_lines(self) -> list[str]:
        return [f"{name}: {value}" for name, value in self.headers.items()]


async def _create_agents(url: str, emails: list[str], role: str) -> None:
    db = Database(url)
    try:
        async with db.writing() as session:
            for email in emails:
                await create_agent(
                    session, email=email, password=STAFF_PASSWORD, role=role, site_slugs=[]
                )
    finally:
        await db.dispose()


@contextmanager
def serve_demo(
    templates: Templates,
    folder: Path,
    *,
    decoys: int = 0,
    environment: dict[str, str] | None = None,
) -> Iterator[Served]:
    """A server over a fresh copy of the demo database, with an administrator created
    after `decoys` other administrators (so that fuzzed agent ids rarely hit it)."""
    url = templates.copy(demo=True)
    try:
        decoy_emails = [f"decoy.{n}@hostile.example.org" for n in range(decoys)]
        asyncio.run(_create_agents(url, [*decoy_emails, ADMIN_EMAIL], "admin"))
        env = {
            "GUICHET_DATABASE_URL": url,
            "GUICHET_SECRET_KEY": TEST_SECRET,
            "GUICHET_LOG_LEVEL": "WARNING",
            "GUICHET_SCHEDULER": "false",
            "GUICHET_TOKEN_TTL_MINUTES": "1440",
            "GUICHET_LOGIN_ATTEMPTS_PER_MINUTE": LOGIN_ATTEMPTS_PER_MINUTE,
            **(environment or {}),
        }
        with running(folder, env) as servers:
            response = httpx.post(
                f"{servers[0].base}/api/v1/auth/token",
                json={"email": ADMIN_EMAIL, "password": STAFF_PASSWORD},
                timeout=30,
            )
            assert response.status_code == 200, response.text
            yield Served(servers[0], response.json()["access_token"])
    finally:
        templates.drop(url)


@pytest.fixture(scope="module")
def served(
    sqlite_templates: Templates, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    with serve_demo(sqlite_templates, tmp_path_factory.mktemp("hostile")) as found:
        yield found
