"""Errors the domains raise, and their one translation into RFC 9457 problem details."""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, InternalServerException, ValidationException
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

PROBLEM_JSON = "application/problem+json"
RETRY_AFTER_OUTAGE_SECONDS = 5
# SQLSTATEs of a database that is away rather than of a request at fault: 08 connection
# exception, 53 insufficient resources (too many connections…); the server shutting down,
# crashing or starting up (57P01-57P05); a lock not granted within the lock timeout.
OUTAGE_SQLSTATE_CLASSES = ("08", "53")
OUTAGE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "57P04", "57P05", "55P03"})
DATABASE_MODULES = ("asyncpg", "sqlalchemy", "aiosqlite")
log = logging.getLogger("guichet.errors")


class DomainError(Exception):
    """A request that cannot be carried out, in plain words for the person who made it."""

    status = 400

    def __init__(
        self,
        detail: str,
        *,
        code: str = "",
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code
        self.extra = extra or {}
        self.headers = headers or {}


class BadRequest(DomainError):
    status = 400


class Unauthorized(DomainError):
    status = 401

    def __init__(self, detail: str = "Missing or invalid credentials.") -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="guichet"'})


class Forbidden(DomainError):
    status = 403


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    status = 409


class Gone(DomainError):
    """What was offered for a time is no longer (an offered slot whose hold ran out)."""

    status = 410


class Unprocessable(DomainError):
    """Well formed, but not something the service can act on (a number that takes no
    texts)."""

    status = 422


class TooManyRequests(DomainError):
    status = 429

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after))})


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a request: the field, what to say to an API client (English),
    and what to say on a page (`text`, already in the page's language)."""

    field: str
    detail: str
    text: str


class Invalid(BadRequest):
    """A change refused before anything was written; `problems` say why, field by field."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__(
            " ".join(problem.detail for problem in problems),
            code="invalid",
            extra={"errors": [{"key": p.field, "message": p.detail} for p in problems]},
        )
        self.problems = list(problems)

    @classmethod
    def one(cls, field_name: str, detail: str, text: str) -> Invalid:
        return cls([Problem(field_name, detail, text)])


def refuse(problems: Sequence[Problem]) -> None:
    """Refuse the change if anything is wrong with it, saying all that is."""
    if problems:
        raise Invalid(problems)


def problem_body(status: int, detail: str) -> dict[str, Any]:
    """A problem document (RFC 9457): its type, title, status and what went wrong."""
    return {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }


def problem(
    status: int,
    detail: str,
    *,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    body = problem_body(status, detail)
    if extra:
        body.update({key: value for key, value in extra.items() if key not in body})
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


# Litestar's words when a client goes away before its request's body has all come.
CLIENT_GONE = "client disconnected prematurely"


def client_gone(exc: Exception) -> bool:
    """Whether the client went away before its request's body had come (a phone losing
    its network, a client giving up): not a server error, and nobody reads the answer."""
    return isinstance(exc, InternalServerException) and exc.detail == CLIENT_GONE


def status_of(exc: Exception) -> int:
    """The status a page answers `exc` with: 400 for a request whose body never came."""
    if client_gone(exc):
        return 400
    return exc.status if isinstance(exc, DomainError) else getattr(exc, "status_code", 500)


def on_domain_error(_request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    extra = {"code": exc.code, **exc.extra} if exc.code else exc.extra
    return problem(exc.status, exc.detail, extra=extra, headers=exc.headers)


# In a handler's `opt`: the names of its query's parameters in the query, by their names
# in Python where they differ (`app.web.before.note_query`). Litestar's errors
# name a parameter it could not read by its name in Python.
QUERY_NAMES = "guichet_query_names"


def on_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if client_gone(exc):
        log.info("client gone before its request's body came")
        return problem(400, "The request's body never came: the client went away.")
    if status >= 500:
        log.error("server error %s: %s", status, type(exc).__name__)
        return problem(status, "The server could not handle this request.")
    exc = _named_missing(exc)
    extra: dict[str, Any] = {}
    if isinstance(exc.extra, list) and exc.extra:
        handler = request.scope.get("route_handler")
        names: dict[str, str] = handler.opt.get(QUERY_NAMES, {}) if handler else {}
        extra["errors"] = [_public_error(item, names) for item in exc.extra]
    detail = _plain_detail(exc)
    return problem(status, detail, extra=extra, headers=exc.headers)


def on_recursion_error(_request: Request[Any, Any, Any], _exc: RecursionError) -> Response[Any]:
    """Only a body nested thousands deep makes the JSON decoder recurse this far."""
    return problem(400, "The JSON body is nested too deeply.")


def on_database_unavailable(_request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.error("database unavailable: %s", type(exc).__name__)
    return problem(
        503,
        "The service is briefly unavailable. Please try again in a few seconds.",
        headers={"Retry-After": str(RETRY_AFTER_OUTAGE_SECONDS)},
    )


def on_unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if _is_database_outage(exc):
        return on_database_unavailable(request, exc)
    refusal = as_refusal(exc)
    if refusal is not None:
        cause = getattr(getattr(exc, "orig", None), "__cause__", None)
        log.warning(
            "a unique key taken at the same moment: %s",
            getattr(cause, "constraint_name", None) or "(SQLite)",
        )
        return on_domain_error(request, refusal)
    if _is_bad_value(exc):
        return problem(
            400, "The request holds a value that cannot be stored (a control character?)."
        )
    route = request.scope.get("path_template") or "?"
    log.exception("unexpected error on %s %s", request.method, route, exc_info=exc)
    return problem(500, "The server could not handle this request. The error was recorded.")


def as_refusal(exc: BaseException) -> DomainError | None:
    """A unique key another transaction took at the same moment, after this one had
    checked it free (two clicks, two agents, two instances), as a 409 saying so: the
    commands check what they add, and catch that race where they know the key, but none
    of these races is a server error. None for any other error."""
    if not isinstance(exc, IntegrityError):
        return None
    cause = getattr(exc.orig, "__cause__", None)
    sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(cause, "sqlstate", None)
    if sqlstate != "23505" and "UNIQUE constraint failed" not in str(exc.orig):
        return None
    return Conflict(
        "The same change was made by another request at the same moment: read it again.",
        code="changed_meanwhile",
    )


def _is_bad_value(exc: BaseException) -> bool:
    """PostgreSQL's class 22, "data exception": a value the client sent, not a fault of ours."""
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return isinstance(exc, DBAPIError) and isinstance(sqlstate, str) and sqlstate.startswith("22")


def _is_database_outage(exc: BaseException) -> bool:
    """The database cannot be reached, is restarting or is out of connections: a fault
    that passes, unlike a bad query. asyncpg's own errors come wrapped in SQLAlchemy's
    generic DBAPIError, so the SQLSTATE tells them apart; a refused or timed-out socket
    comes raw from the driver."""
    if isinstance(exc, (OperationalError, InterfaceError, PoolTimeoutError, ConnectionError)):
        return True
    if isinstance(exc, DBAPIError):
        return exc.connection_invalidated or _is_outage_state(getattr(exc.orig, "sqlstate", None))
    if _is_outage_state(getattr(exc, "sqlstate", None)):
        return True
    return isinstance(exc, OSError) and _raised_by_the_database_driver(exc)


def _is_outage_state(sqlstate: object) -> bool:
    return isinstance(sqlstate, str) and (
        sqlstate.startswith(OUTAGE_SQLSTATE_CLASSES) or sqlstate in OUTAGE_SQLSTATES
    )


def _raised_by_the_database_driver(exc: BaseException) -> bool:
    """Whether `exc` came out of the database driver or pool (an OSError from elsewhere,
    a missing file say, is a bug of ours, not an outage)."""
    return any(
        str(frame.f_globals.get("__name__", "")).startswith(DATABASE_MODULES)
        for frame, _line in traceback.walk_tb(exc.__traceback__)
    )


# Litestar's words for a parameter left out, which end with the request's whole address.
MISSING = re.compile(r"^Missing required (\w+) parameter '([^']+)' for path ")


def _named_missing(exc: HTTPException) -> HTTPException:
    """A parameter left out, named in `errors` as any other at fault, without the
    request's address that Litestar's words repeat (its query may hold an email)."""
    missing = MISSING.match(str(exc.detail))
    if missing is None:
        return exc
    where, name = missing.groups()
    return ValidationException(
        extra=[{"message": f"`{name}` is required.", "key": name, "source": where}]
    )


def _plain_detail(exc: HTTPException) -> str:
    status = exc.status_code
    if status == 404:
        return "Nothing here: check the address."
    if status == 405:
        return "This method is not allowed at this address."
    if status == 400 and isinstance(exc.extra, list):
        return "The request is not valid: see `errors` for each field."
    detail = str(exc.detail)
    return detail if detail else HTTPStatus(status).phrase


def _public_error(item: Any, query_names: dict[str, str]) -> dict[str, Any]:
    """What a client is told of one field at fault: its message, its name as the client
    wrote it, and where it was (`query`, `body`, …)."""
    if not isinstance(item, dict):
        return {"message": str(item)}
    error = {key: item[key] for key in ("message", "key", "source") if key in item}
    if error.get("source") == "query" and error.get("key") in query_names:
        error["key"] = query_names[error["key"]]
    return error


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    DomainError: on_domain_error,
    HTTPException: on_http_exception,
    RecursionError: on_recursion_error,
    Exception: on_unexpected_error,
}
