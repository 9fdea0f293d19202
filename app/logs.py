"""Structured logs, one request id per request, and the access log.

Log lines never carry personal data: the access log names the route
template (`/api/v1/appointments/{token}`), never the path that holds a
token, and no body, query string or header is logged. What other loggers
write (uvicorn's websocket handshake names the path, at DEBUG its headers;
an exception's message may hold an address) goes through `RedactPrivate`,
which every handler of ours carries: private path segments, query strings,
credentials, email addresses, phone numbers and SQL parameters are replaced
by `[private]`.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import secrets
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
# The caller's address, for the audit log only (never written to the logs).
client_address_var: contextvars.ContextVar[str] = contextvars.ContextVar("client", default="")
access_log = logging.getLogger("guichet.access")
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_STANDARD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "color_message",
}


PRIVATE = "[private]"
# The path segment after these holds a private token (a booking's, a ticket's, a feedback
# link's, a department's), or may (the API's appointments and tickets).
_TOKEN_PATH = re.compile(
    r"(/(?:rendez-vous|r|ticket|t|a|ws/tickets|appointments|tickets|ecrans?|demande-transmise)/)"
    r"(?!\{)[^/\s\"'?#]+"
)
# Any other long segment that looks random (letters with digits or capitals).
_RANDOM_SEGMENT = re.compile(
    r"(?<=/)(?=[A-Za-z0-9_-]{20,})(?=[^/\s]*[A-Z0-9_])[A-Za-z0-9_-]+(?=[/?#\s\"']|$)"
)
_QUERY = re.compile(r"(/[^\s\"'?]*)\?[^\s\"']+")
_CREDENTIAL_HEADER = re.compile(
    r"^([<>]?\s*(?:cookie|set-cookie|authorization|x-csrf-token|x-api-key)\s*:\s*).*$",
    re.IGNORECASE | re.MULTILINE,
)
_BEARER = re.compile(r"\b(bearer|basic)\s+[^\s\"',]+", re.IGNORECASE)
_JWT = re.compile(r"\beyJ[\w-]+\.[\w-]+(?:\.[\w-]+)?")
# A partner's key (`app.partners.rules`), wherever a client put it by mistake.
_PARTNER_KEY = re.compile(r"\bgp_[A-Za-z0-9_-]{8,}")
_EMAIL = re.compile(r"[^\s@\"'<>()\[\],;:/]+@+[^\s@\"'<>()\[\],;:/]*")
_PHONE = re.compile(
    r"(?<![\w+])(?:(?:\+|00)[0-9]{1,3}[\s.-]?)?(?:\(0\)[\s.-]?)?0?[1-9](?:[\s.-]?[0-9]{2}){4}(?!\w)"
)
_SQL_PARAMETERS = re.compile(r"\[parameters: .*?\](?=\s*(?:\n|\(Background|$))", re.DOTALL)
_KEY_DETAIL = re.compile(r"(Key \([^)]*\)=\().*?(\))")


def redact(text: str) -> str:
    """`text` without private tokens, query strings, credentials, email addresses, phone
    numbers or the values of SQL statements."""
    text = _CREDENTIAL_HEADER.sub(rf"\g<1>{PRIVATE}", text)
    text = _BEARER.sub(rf"\g<1> {PRIVATE}", text)
    text = _JWT.sub(PRIVATE, text)
    text = _PARTNER_KEY.sub(PRIVATE, text)
    text = _SQL_PARAMETERS.sub(f"[parameters: {PRIVATE}]", text)
    text = _KEY_DETAIL.sub(rf"\g<1>{PRIVATE}\g<2>", text)
    text = _QUERY.sub(rf"\g<1>?{PRIVATE}", text)
    text = _TOKEN_PATH.sub(rf"\g<1>{PRIVATE}", text)
    text = _RANDOM_SEGMENT.sub(PRIVATE, text)
    text = _EMAIL.sub(PRIVATE, text)
    return _PHONE.sub(PRIVATE, text)


class RedactPrivate(logging.Filter):
    """Rewrites each record that reaches our handlers, whoever logged it: its message, its
    exception, its stack and its extra string fields, redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what can be shown
            message = str(record.msg)
        record.msg, record.args = redact(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for key, value in list(vars(record).items()):
            if key not in _STANDARD_ATTRS and isinstance(value, str):
                setattr(record, key, redact(value))
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id_var.get(),
        }
        entry.update(
            {key: value for key, value in vars(record).items() if key not in _STANDARD_ATTRS}
        )
        if record.exc_text:
            entry["exception"] = record.exc_text
        elif record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        record.request_id = request_id_var.get()
        extras = {key: value for key, value in vars(record).items() if key not in _STANDARD_ATTRS}
        extras.pop("request_id", None)
        line = super().format(record)
        if extras:
            line += " " + " ".join(f"{key}={value}" for key, value in extras.items())
        return line


def configure_logging(level: str, fmt: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RedactPrivate())
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, "_guichet", False):
            root.removeHandler(existing)
    handler._guichet = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in (
        "uvicorn.access",
        "sqlalchemy.engine",
        "aiosqlite",
        "asyncio",
        "httpx",
        "apscheduler",
    ):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("uvicorn.access").disabled = True


class RequestIdMiddleware:
    """Gives each request an id (kept from `X-Request-ID` when sane), returns it in
    the response, and writes one access-log line when the response is sent."""

    def __init__(
        self, app: ASGIApp, observe: Callable[[str, str, int, float], None] | None = None
    ) -> None:
        self.app = app
        self.observe = observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or secrets.token_hex(8)
        token = request_id_var.set(request_id)
        client = scope.get("client")
        address_token = client_address_var.set(str(client[0]) if client else "")
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            # A websocket's messages go straight out: a lobby screen's site may have a
            # thousand of them per call, and they carry no headers to add.
            await self.app(
                scope, receive, send_with_id if scope["type"] == ScopeType.HTTP else send
            )
        finally:
            seconds = time.perf_counter() - started
            method = str(scope.get("method", "WS"))
            route = str(scope.get("path_template") or "(no route)")
            access_log.info(
                "%s %s %s", method, route, status, extra={"duration_ms": round(seconds * 1000, 1)}
            )
            if self.observe is not None and scope["type"] == ScopeType.HTTP:
                self.observe(method, route, status, seconds)
            request_id_var.reset(token)
            client_address_var.reset(address_token)


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            return candidate if _VALID_REQUEST_ID.match(candidate) else None
    return None
