"""Schemathesis against a real server: every public and staff operation of the OpenAPI
document, called as an administrator with generated valid and invalid input, never
answers 5xx and always answers as documented (status, content type, body, headers).

Deterministic: a fixed seed, derandomized generation, no example database. The budget
is EXAMPLES fuzzed cases per operation, on top of the schema's own examples and the
boundary cases of schemathesis's coverage phase.

Schemathesis makes one test per operation when pytest collects this module, before any
server runs, so the document is built in-process from the same code; the first test
checks that the server serves exactly that document.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from litestar.testing import TestClient
from schemathesis import Case

from app.asgi import create_app
from tests.conftest import Templates, make_settings
from tests.hostile.conftest import Served, serve_demo

pytestmark = pytest.mark.slow

EXAMPLES = 25
SEED = 20261126
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
]


def openapi_document() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:  # the document needs no database
        app = create_app(make_settings(f"sqlite+aiosqlite:///{folder}/unused.db"))
        document: dict[str, Any] = TestClient(app).get("/schema/openapi.json").json()
    return document


DOCUMENT = openapi_document()
schema = schemathesis.openapi.from_dict(
    DOCUMENT,
    config=schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "request-timeout": 30,
            "generation": {"max-examples": EXAMPLES, "deterministic": True, "database": "none"},
            "phases": {
                "examples": {"enabled": True},
                "coverage": {"enabled": True},
                "fuzzing": {"enabled": True},
                "stateful": {"enabled": False},
            },
            "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
        }
    ),
)


@pytest.fixture(scope="module")
def conformance_served(
    sqlite_templates: Templates, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """The server under test; its administrator comes after 40 others, so that fuzzed
    agent ids seldom disable it or change its password."""
    folder = tmp_path_factory.mktemp("conformance")
    with serve_demo(sqlite_templates, folder, decoys=40) as served:
        yield served


def test_the_server_serves_the_document_under_test(conformance_served: Served) -> None:
    served = httpx.get(f"{conformance_served.server.base}/schema/openapi.json", timeout=30)

    assert served.json() == DOCUMENT


@schema.parametrize()
def test_every_operation_answers_as_documented_and_never_5xx(
    case: Case[Any], conformance_served: Served
) -> None:
    response = case.call(
        base_url=conformance_served.server.base, headers=conformance_served.headers
    )
    case.validate_response(response, headers=conformance_served.headers)
