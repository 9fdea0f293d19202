"""What the app checks of every request before its route's handler (Litestar's
`before_request`, the app's only one): the ids it writes in its path, and the size of
its body.

A check here comes before the handler's dependencies, credentials included: a request
malformed in these ways is refused (400, 413) whoever sends it, as one with a body that
is not JSON already is (Litestar reads a body before the dependencies).
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.exceptions import ValidationException

from app import bounds


async def checked_request(request: Request[Any, Any, Any]) -> None:
    """Refuse a request whose path writes an id otherwise than in plain digits, or whose
    body is larger than the app's bound (`request_max_body_size`)."""
    plain_path_ids(request)
    # A route that takes no body reads none, and Litestar checks the bound as it reads:
    # read it here for every route (413 for one declared larger, without reading it; at
    # most the bound of one that is not declared), so that no route takes a body over
    # the bound, and the handler then reads it from memory.
    await request.body()


def plain_path_ids(request: Request[Any, Any, Any]) -> None:
    """An id in the path is written in ASCII digits, as every number a client sends
    (`app.bounds`); else a 400 before the handler acts on the record it would read."""
    template, values = str(request.scope.get("path_template") or ""), request.path_params
    if values and not bounds.path_ids_plain(template, request.scope["path"], values):
        raise ValidationException("An id in the path is written with the digits 0 to 9 only.")
