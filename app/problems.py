"""The problem details the API answers besides success, as its OpenAPI document shows them."""

from __future__ import annotations

from http import HTTPStatus

import msgspec
from litestar import Litestar
from litestar.openapi import ResponseSpec
from litestar.routes import HTTPRoute

from app.errors import PROBLEM_JSON

WHEN = {
    400: "The request is not valid: a parameter or the body (see `errors`)",
    401: "No credentials, or credentials that are not (or no longer) valid",
    403: "Authenticated, but this role or these sites do not allow it",
    404: "Nothing has this identifier, or a reference in the request is unknown",
    409: "Not possible in the current state (slot taken, ticket already moved on…)",
    413: "The body is larger than 64 KiB",
    429: "Too many requests from this address: wait for `Retry-After` seconds",
}
STAFF_DEPENDENCIES = frozenset({"agent", "optional_agent"})
UNTHROTTLED = "/health/"


class FieldProblem(msgspec.Struct, kw_only=True):
    message: str
    key: str | None = None
    source: str | None = None


class Problem(msgspec.Struct, kw_only=True):
    """RFC 9457 problem details; `code` names a refusal for programs, `errors` the fields
    at fault. Some refusals add members of their own."""

    type: str
    title: str
    status: int
    detail: str
    code: str | None = None
    errors: list[FieldProblem] | None = None


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """`responses=` of a route handler: these statuses answer a problem."""
    return {
        status: ResponseSpec(
            Problem,
            description=WHEN.get(status, HTTPStatus(status).phrase),
            media_type=PROBLEM_JSON,
            generate_examples=False,
        )
        for status in statuses
    }


def document_problems(app: Litestar) -> None:
    """Give every operation of `app` the problems that operations of its shape may answer
    (staff ones 401 and 403, those with a path parameter or a `site` 404, those with a body 413…);
    what a handler declares itself, such as a 409, comes on top."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            parameters = handler.parsed_fn_signature.parameters
            statuses = {400}
            if not route.path.startswith(UNTHROTTLED):
                statuses.add(429)
            if handler.resolve_security() or STAFF_DEPENDENCIES & parameters.keys():
                statuses |= {401, 403}
            if route.path_parameters or "site" in parameters:  # a mairie named by its slug
                statuses.add(404)
            if "data" in parameters:
                statuses.add(413)
            handler.responses = {
                **problem_responses(*sorted(statuses)),
                **(handler.responses or {}),
            }
