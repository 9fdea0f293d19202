"""What clients rely on in the OpenAPI document: each operation's path, method and id, its
parameters, the fields of its bodies and answers with their types, and its status codes.
Words (summaries, descriptions, titles, examples) and the names of the schema components
are left out, so that code can move without the contract moving.

`python -m tests.openapi_contract` writes today's contract to tests/openapi-contract.json,
for a change to the contract that is meant (then say so in CONTRACT.md).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

STORED = Path(__file__).with_name("openapi-contract.json")
WORDS = {"description", "summary", "title", "examples", "example", "tags", "externalDocs"}


def served_document() -> dict[str, Any]:
    from litestar.testing import TestClient

    from app.asgi import create_app
    from tests.conftest import make_settings

    with tempfile.TemporaryDirectory() as folder:  # the document needs no database
        app = create_app(make_settings(f"sqlite+aiosqlite:///{folder}/unused.db"))
        with TestClient(app) as client:
            document: dict[str, Any] = client.get("/schema/openapi.json").json()
    return document


class Shapes:
    """The schemas an operation refers to, each named by a digest of what it holds (fields,
    types, required) rather than by its component's name."""

    def __init__(self, components: dict[str, Any]) -> None:
        self.components = components
        self.held: dict[str, Any] = {}

    def of(self, node: Any, seen: tuple[str, ...] = ()) -> Any:
        if isinstance(node, list):
            return [self.of(value, seen) for value in node]
        if not isinstance(node, dict):
            return node
        reference = node.get("$ref")
        if isinstance(reference, str):
            name = reference.rsplit("/", 1)[-1]
            if name in seen:  # a schema that holds itself
                return {"recursive": True}
            shape = self.of(self.components[name], (*seen, name))
            digest = hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()[:12]
            self.held[digest] = shape
            return {"shape": digest}
        return {
            key: self.of(value, seen) for key, value in sorted(node.items()) if key not in WORDS
        }


def contract(document: dict[str, Any]) -> dict[str, Any]:
    shapes = Shapes(document.get("components", {}).get("schemas", {}))
    operations: dict[str, Any] = {}
    for path, item in sorted(document["paths"].items()):
        shared = item.get("parameters", [])
        for method, operation in sorted(item.items()):
            if method == "parameters":
                continue
            parameters = {
                f"{parameter['in']}:{parameter['name']}": {
                    "required": parameter.get("required", False),
                    "schema": shapes.of(parameter.get("schema", {})),
                }
                for parameter in [*shared, *operation.get("parameters", [])]
            }
            body = operation.get("requestBody", {})
            operations[f"{method.upper()} {path}"] = {
                "operationId": operation.get("operationId"),
                "parameters": dict(sorted(parameters.items())),
                "body": {
                    "required": body.get("required", False),
                    "content": shapes.of(body.get("content", {})),
                },
                "responses": {
                    status: {
                        "headers": sorted(answer.get("headers", {})),
                        "content": shapes.of(answer.get("content", {})),
                    }
                    for status, answer in sorted(operation.get("responses", {}).items())
                },
            }
    return {"operations": operations, "shapes": dict(sorted(shapes.held.items()))}


def main() -> None:
    STORED.write_text(
        json.dumps(contract(served_document()), indent=1, ensure_ascii=False, sort_keys=True)
        + "\n",
        encoding="utf-8",
    )
    print(f"wrote {STORED}")


if __name__ == "__main__":
    main()
