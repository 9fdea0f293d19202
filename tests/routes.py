"""The routes of the application as its router holds them: those of the pages that take a
posted form, what their handlers ask for, and a path made from a route's template."""

from __future__ import annotations

import re
from urllib.parse import quote

from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The JSON API; everything else that takes an unsafe method is a page's form.
API = "/api/"
PARAMETER = re.compile(r"\{(\w+)(?::\w+)?\}")


def unsafe_handlers(app: Litestar) -> dict[str, list[HTTPRouteHandler]]:
    """The handlers of unsafe methods of every HTTP route, by the route's path template
    (`/admin/sites/{slug:str}/postes`)."""
    found: dict[str, list[HTTPRouteHandler]] = {}
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if handler.http_methods & UNSAFE:
                found.setdefault(route.path, []).append(handler)
    return found


def page_forms(app: Litestar) -> dict[str, list[HTTPRouteHandler]]:
    """The routes outside the JSON API that take an unsafe method: the pages' forms."""
    return {
        path: handlers
        for path, handlers in unsafe_handlers(app).items()
        if not path.startswith(API)
    }


def asks_for(handler: HTTPRouteHandler) -> set[str]:
    """The names of the parameters and dependencies the handler's function takes."""
    return set(handler.parsed_fn_signature.parameters)


def fill(template: str, values: dict[str, object]) -> str:
    """The path of `template` with its parameters taken from `values`, each used once:
    `/poste/{station_id:int}` with {"station_id": 3} is `/poste/3`."""
    names = PARAMETER.findall(template)
    assert sorted(names) == sorted(values), f"{template} takes {names}, given {sorted(values)}"
    return PARAMETER.sub(lambda match: quote(str(values[match.group(1)]), safe=""), template)
