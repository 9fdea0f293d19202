"""The OpenAPI document keeps the contract clients rely on (`tests/openapi_contract.py` says
what that is): operations, parameters, fields and status codes, as stored."""

from __future__ import annotations

import json
from typing import Any

from tests.openapi_contract import STORED, contract, served_document


def differences(stored_contract: dict[str, Any], served_contract: dict[str, Any]) -> list[str]:
    """What moved between two contracts, per operation (a field changed deep in a shape
    changes the digest the operation names)."""
    stored, served = stored_contract["operations"], served_contract["operations"]
    found = [f"gone: {key}" for key in stored.keys() - served.keys()]
    found += [f"new: {key}" for key in served.keys() - stored.keys()]
    for key in sorted(stored.keys() & served.keys()):
        for part in ("operationId", "parameters", "body", "responses"):
            if stored[key][part] != served[key][part]:
                found.append(f"changed: {key} {part}")
    return sorted(found)


def test_the_served_document_keeps_every_operation_field_and_status_of_the_contract() -> None:
    stored = json.loads(STORED.read_text(encoding="utf-8"))

    assert differences(stored, contract(served_document())) == []


def test_the_comparison_sees_a_field_renamed_deep_in_an_answer() -> None:
    served = contract(served_document())
    document = served_document()
    answer = document["components"]["schemas"]["AppointmentOut"]
    answer["properties"]["ref"] = answer["properties"].pop("reference")
    changed = contract(document)

    assert differences(served, served) == []
    assert "changed: POST /api/v1/appointments responses" in differences(served, changed)


def test_the_comparison_sees_a_status_code_and_an_operation_dropped() -> None:
    served = contract(served_document())
    key = "POST /api/v1/appointments"
    changed = json.loads(json.dumps(served))
    del changed["operations"][key]["responses"]["409"]
    del changed["operations"]["GET /api/v1/needs"]

    assert differences(served, changed) == [
        f"changed: {key} responses",
        "gone: GET /api/v1/needs",
    ]
