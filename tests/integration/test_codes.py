"""A code or a name sent to the API is one line: a newline at its end is refused, not
stored as another item that looks the same (Python's `$` matches before a final newline;
found by the outside attack, where `abc` and `abc\n` both became démarches)."""

from __future__ import annotations

import pytest
from litestar.testing import AsyncTestClient

from tests.conftest import Staff

CREATED = [
    ("/api/v1/admin/services", {"code": "abc", "name": "X", "duration_minutes": 30}),
    ("/api/v1/admin/needs", {"code": "abc", "name": "X"}),
    ("/api/v1/departments", {"code": "abc", "name": "X"}),
]


@pytest.mark.parametrize(("path", "body"), CREATED, ids=["service", "need", "department"])
async def test_a_code_or_a_name_ending_in_a_newline_is_refused(
    client: AsyncTestClient[object], staff: Staff, path: str, body: dict[str, object]
) -> None:
    admin = await staff.headers("admin")

    code_with_newline = await client.post(path, json={**body, "code": "abc\n"}, headers=admin)
    name_with_newline = await client.post(path, json={**body, "name": "X\n"}, headers=admin)
    name_with_a_bell = await client.post(path, json={**body, "name": "X\u0007"}, headers=admin)
    plain = await client.post(path, json=body, headers=admin)

    assert code_with_newline.status_code == 400, code_with_newline.text
    assert name_with_newline.status_code == 400, name_with_newline.text
    assert name_with_a_bell.status_code == 400, name_with_a_bell.text
    assert plain.status_code == 201, plain.text
