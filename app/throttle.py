"""Rate limits: how often a client may try something, answered with 429 and Retry-After.

The generic cell rate algorithm keeps one instant per key (the theoretical
arrival time), so memory stays small and bursts are allowed up to the limit.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from litestar import Request
from litestar.enums import ScopeType
from litestar.exceptions import WebSocketException
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from app.config import Settings
from app.errors import TooManyRequests
from app.web.middleware import send_problem

FINDING_TRIES_PER_HOUR = 6
IPV6_NETWORK_BITS = 64
UNKNOWN = "unknown"  # a client with no address one can count it by
UNKNOWN_LINK = 4404  # the close code of a socket whose site or ticket does not exist
UNKNOWN_KEY = 4403  # the close code of a display whose screen key is unknown or revoked
TOO_MANY = 4429  # the close code of a socket refused by a budget, before it is accepted
UNKNOWN_LINKS = "Too many unknown private links from your address: wait a moment."
UNKNOWN_KEYS = "Too many unknown keys from your address: wait a moment."
# A route's `opt`: a function of the scope that says whether the request presents a secret
# the handler looks up, besides a `{token}` in its path (a paired screen's key).
LOOKS_UP = "looks_up"


@dataclass
class RateLimit:
    """At most `count` events per `period` seconds for each key."""

    count: int
    period: float
    clock: Callable[[], float] = time.monotonic
    max_keys: int = 100_000
    _arrivals: dict[str, float] = field(default_factory=dict, repr=False)

    def hit(self, key: str) -> float:
        """Count one event for `key`; return 0 if allowed, else the seconds to wait."""
        now = self.clock()
        refused = self._wait(key, now)
        if refused:
            return refused
        if len(self._arrivals) >= self.max_keys:
            self._forget_idle(now)
        self._arrivals[key] = max(self._arrivals.get(key, now), now) + self.period / self.count
        return 0.0

    def wait(self, key: str) -> float:
        """The seconds `key` would wait for its next event, counting nothing (0: none)."""
        return self._wait(key, self.clock())

    def _wait(self, key: str, now: float) -> float:
        tat = max(self._arrivals.get(key, now), now)  # the theoretical arrival time
        return max(0.0, tat - self.period + self.period / self.count - now)

    def refund(self, key: str) -> None:
        """Give back one event counted for `key` (one that turned out not to be abuse)."""
        if key in self._arrivals:
            self._arrivals[key] -= self.period / self.count

    def check(self, key: str, detail: str) -> None:
        """Count one event for `key`, or raise 429 with the time to wait."""
        wait = self.hit(key)
        if wait:
            raise TooManyRequests(detail, retry_after=math.ceil(wait))

    def _forget_idle(self, now: float) -> None:
        self._arrivals = {key: tat for key, tat in self._arrivals.items() if tat > now}


class Limits:
    """Every rate limit of the process, from the settings."""

    def __init__(self, settings: Settings) -> None:
        per_minute = settings.login_attempts_per_minute
        self.login_per_account = RateLimit(count=per_minute, period=60)
        self.login_per_address = RateLimit(count=per_minute * 5, period=60)
        self.availability = RateLimit(count=settings.availability_requests_per_minute, period=60)
        self.booking = RateLimit(count=settings.booking_requests_per_minute, period=60)
        self.requests = RateLimit(count=settings.requests_per_minute, period=60)
        self.token_lookups = RateLimit(count=settings.token_lookups_per_minute, period=60)
        # Finding an appointment by its reference and contact: a few mistakes are normal, a
        # search through phone numbers is not. Per address, and per reference from anywhere.
        self.finding_per_address = RateLimit(count=FINDING_TRIES_PER_HOUR * 2, period=3600)
        self.finding_per_reference = RateLimit(count=FINDING_TRIES_PER_HOUR, period=3600)

    def finding_wait(self, address: str, reference: str) -> float:
        """Count one try at finding `reference`'s appointment from `address`; the seconds to
        wait before the next one is allowed (0: this one is): the longer of the two budgets'
        waits, so that a client that waits as told is not refused again by the other."""
        network = client_network(address)
        refused = self.finding_per_address.hit(network)
        if refused:
            return max(refused, self.finding_per_reference.wait(reference))
        refused = self.finding_per_reference.hit(reference)
        if refused:  # not a try, since it was not let through: the address's is given back
            self.finding_per_address.refund(network)
            return max(refused, self.finding_per_address.wait(network))
        return 0.0

    def found(self, address: str, reference: str) -> None:
        """The try just counted found its appointment: it is not held against anyone (a
        shared computer at a mairie or a CCAS finds many people's in an hour). Counted
        first and given back, so that tries sent at once are all counted while they run."""
        self.finding_per_address.refund(client_network(address))
        self.finding_per_reference.refund(reference)

    def check_login(self, address: str, email: str) -> None:
        detail = "Too many login attempts. Wait before trying again."
        network = client_network(address)
        self.login_per_address.check(network, detail)
        # Per account *from this address*: tries made elsewhere never hold an agent back.
        self.login_per_account.check(f"{email.strip().lower()} {network}", detail)


def client_address(request: Request[Any, Any, Any]) -> str:
    """The caller's address (behind a proxy, the ASGI server puts the forwarded one here)."""
    return request.client.host if request.client else UNKNOWN


def client_network(host: str) -> str:
    """Who the client is, for every per-address budget: an IPv4 address, or the /64
    network of an IPv6 one (a household or a phone holds a whole /64, and would otherwise
    have as many budgets as addresses it cares to use). Whatever is not an address (a
    proxy passing on text, a test transport) is one client, `unknown`: no one gets a
    budget of their own by sending another word."""
    try:
        address = ipaddress.ip_address(host.strip().split("%", 1)[0])
    except ValueError:
        return UNKNOWN
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        network = ipaddress.IPv6Network((address, IPV6_NETWORK_BITS), strict=False)
        return str(network)
    return str(address)


def client_key(request: Request[Any, Any, Any]) -> str:
    """What the caller's per-address budgets are counted by (`client_network`)."""
    return client_network(client_address(request))


# Files and probes are cheap and not worth counting.
UNCOUNTED = ("/static/", "/display/static/", "/health/")


def rate_limits(app: ASGIApp) -> ASGIApp:
    """Litestar middleware (after routing): every request and websocket counts against its
    address's budget, and 429 with Retry-After past it. A private link that leads nowhere
    (404, or a socket closed with 4404) or a screen key that opens nothing (its display
    closed with 4403) counts against a smaller one too, so that guessing tokens and keys
    is slow as well as hopeless; a link or key that leads somewhere is given back, so that
    the phones of a mairie's Wi-Fi, each following its own ticket, never spend it. Counted
    first and given back, as the tries of `Limits.finding_wait`, so that guesses sent at
    once are all counted while they run; so a device that spends the budget with unknown
    links holds back every link of its address for a moment, as one that spends the
    address's whole budget of requests does."""

    async def limited(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and not scope["path"].startswith(UNCOUNTED):
            limits: Limits = scope["litestar_app"].state.limits
            client = scope.get("client")
            address = client_network(str(client[0])) if client else UNKNOWN
            try:
                limits.requests.check(
                    address, "Too many requests from your address: wait a moment."
                )
                if _looks_up(scope):
                    limits.token_lookups.check(address, UNKNOWN_LINKS)
                    send = _given_back_unless_unknown(send, limits.token_lookups, address)
            except TooManyRequests as refused:
                if scope["type"] != ScopeType.WEBSOCKET:
                    raise
                await refuse_socket(scope, send, refused)
                return
        await app(scope, receive, send)

    return limited


async def refuse_socket(scope: Scope, send: Send, refused: TooManyRequests) -> None:
    """Refuse a socket past a budget before accepting it: where the ASGI server lets the
    handshake be answered (its extension `websocket.http.response`), with the 429 and
    `Retry-After` an HTTP request gets; elsewhere closed with 4429 and the reason, which
    a server that cannot answer the handshake turns into a bare 403."""
    if DENIAL in (scope.get("extensions") or {}):
        retry = [(b"retry-after", value.encode()) for value in refused.headers.values()]
        await send_problem(
            send, HTTPStatus.TOO_MANY_REQUESTS, refused.detail, tuple(retry), answer=DENIAL
        )
        return
    raise WebSocketException(detail=refused.detail, code=TOO_MANY)


# The ASGI extension that lets a websocket's handshake be answered as an HTTP request is.
DENIAL = "websocket.http.response"


def _looks_up(scope: Scope) -> bool:
    """Whether the request presents a private link's token in its path, or a secret its
    route says it looks up (`LOOKS_UP`)."""
    if "{token" in str(scope.get("path_template", "")):
        return True
    handler = scope.get("route_handler")
    presents: Callable[[Scope], bool] | None = handler.opt.get(LOOKS_UP) if handler else None
    return presents is not None and presents(scope)


def _given_back_unless_unknown(send: Send, budget: RateLimit, address: str) -> Send:
    """`send`, which gives `address` its lookup back once the answer shows the link or key
    was known: any status but 404, a socket sent a message or closed otherwise than with
    4404 or 4403. Its accepting says nothing yet: a display whose key opens nothing is
    accepted first, so that it learns why, then closed."""
    decided = False

    async def answering(message: Message) -> None:
        nonlocal decided
        if not decided and message["type"] in ANSWERS:
            decided = True
            if not _unknown(message):
                budget.refund(address)
        await send(message)

    return answering


# The first message of an answer that says whether the link or key was known.
ANSWERS = ("http.response.start", "websocket.send", "websocket.close")


def _unknown(message: Message) -> bool:
    if message["type"] == "http.response.start":
        return bool(message["status"] == HTTPStatus.NOT_FOUND)
    closed = message["type"] == "websocket.close"
    return closed and message.get("code") in (UNKNOWN_LINK, UNKNOWN_KEY)
