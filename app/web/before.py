"""What the app checks of every request before its route's handler (Litestar's
`before_request`, the app's only one): the numbers it writes in its path and query, the
size of its body, and that it has one where its handler takes one.

A check here comes before the handler's dependencies, credentials included: a request
malformed in these ways is refused (400, 413) whoever sends it, as one with a body that
is not JSON already is (Litestar reads a body before the dependencies).
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request
from litestar.exceptions import ValidationException
from litestar.routes import HTTPRoute
from litestar.typing import FieldDefinition

from app import bounds
from app.errors import QUERY_NAMES
from app.json_bodies import no_body, takes_a_body

# The names of the query parameters a handler reads as whole numbers, in its `opt`.
WHOLE_NUMBERS = "guichet_whole_numbers"
# The names of all the query parameters a handler reads, each one value, in its `opt`.
QUERY_READ = "guichet_query_read"


async def checked_request(request: Request[Any, Any, Any]) -> None:
    """Refuse a request whose path or query writes a number otherwise than in plain
    digits, whose body is larger than the app's bound (`request_max_body_size`), or
    empty where its handler takes one."""
    plain_path_ids(request)
    query_given_once(request)
    plain_query_numbers(request)
    # A route that takes no body reads none, and Litestar checks the bound as it reads:
    # read it here for every route (413 for one declared larger, without reading it; at
    # most the bound of one that is not declared), so that no route takes a body over
    # the bound, and the handler then reads it from memory.
    if not await request.body() and takes_a_body(request):
        raise no_body()


def plain_path_ids(request: Request[Any, Any, Any]) -> None:
    """An id in the path is written in ASCII digits, as every number a client sends
    (`app.bounds`); else a 400 before the handler acts on the record it would read."""
    template, values = str(request.scope.get("path_template") or ""), request.path_params
    if values and not bounds.path_ids_plain(template, request.scope["path"], values):
        raise ValidationException("An id in the path is written with the digits 0 to 9 only.")


def query_given_once(request: Request[Any, Any, Any]) -> None:
    """A query parameter the handler reads as one value is given once: of `from=…&from=…`
    Litestar would read the last, where a proxy or a log may read the first. A list (the
    escalations' `status`) is given once per value, and is not among them; the API's
    other lists are written with commas (`needs=a,b`)."""
    names: frozenset[str] = request.route_handler.opt.get(QUERY_READ, frozenset())
    query = request.query_params
    twice = sorted(name for name in names if len(query.getall(name, [])) > 1)
    if twice:
        raise ValidationException(
            extra=[
                {"message": f"`{name}` is given more than once.", "key": name, "source": "query"}
                for name in twice
            ]
        )


def plain_query_numbers(request: Request[Any, Any, Any]) -> None:
    """A whole number in the query is written as JSON writes one (`bounds.json_whole`):
    Litestar reads it leniently, `limit=1e2` as 100 and `limit=1.0` as 1."""
    names: frozenset[str] = request.route_handler.opt.get(WHOLE_NUMBERS, frozenset())
    wrong = sorted(
        name
        for name in names
        if not all(bounds.json_whole(value) for value in request.query_params.getall(name, []))
    )
    if wrong:
        raise ValidationException(
            extra=[
                {
                    "message": f"`{name}` is a whole number written with the digits 0 to 9 "
                    "only: no sign but a leading minus, no leading zero, decimal point, "
                    "exponent or space.",
                    "key": name,
                    "source": "query",
                }
                for name in wrong
            ]
        )


def note_query(app: Litestar) -> None:
    """Tell each handler of `app` (in its `opt`) which query parameters it reads, its own
    and its dependencies', for `query_given_once`, and which as whole numbers, for
    `plain_query_numbers`; and the names its query's parameters have in the query where
    they differ from their names in Python (`from` read as `first`), for the errors to
    say the query's (`errors.QUERY_NAMES`)."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler, model in route.route_handler_map.values():
            query = {param.field_name: param.field_alias for param in model.expected_query_params}
            handler.opt[QUERY_NAMES] = {
                name: alias for name, alias in query.items() if name != alias
            }
            signatures = [
                handler.parsed_fn_signature,
                *(
                    dependency.provide.parsed_fn_signature
                    for level in model.dependency_batches
                    for dependency in level
                ),
            ]
            fields = {
                name: field
                for signature in signatures
                for name, field in signature.parameters.items()
                if name in query
            }
            handler.opt[QUERY_READ] = frozenset(
                query[name] for name, field in fields.items() if not _many(field)
            )
            handler.opt[WHOLE_NUMBERS] = frozenset(
                query[name] for name, field in fields.items() if _whole(field)
            )


def _many(field: FieldDefinition) -> bool:
    """Whether a parameter reads a list (`status=a&status=b`), alone or optional."""
    return field.is_non_string_sequence or (
        field.is_union and any(inner.is_non_string_sequence for inner in field.inner_types)
    )


def _whole(field: FieldDefinition) -> bool:
    """Whether a parameter reads whole numbers: `int`, alone, optional or in a list."""
    if field.is_subclass_of(bool):
        return False
    if field.is_subclass_of(int):
        return True
    return (field.is_union or field.is_non_string_sequence) and any(
        _whole(inner) for inner in field.inner_types
    )
