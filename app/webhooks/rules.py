"""The pure rules of webhooks: which events there are, what an endpoint's address may be,
what a delivery says (and only that), how it is signed, and when a refused one is tried
again. No I/O, no clock: `now` and the jitter are arguments."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, get_args
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import msgspec

from app.retry_backoff import retry_delay as retry_delay  # a delivery waits as a message does
from app.webhooks.models import DeliveryStatus

EventName = Literal[
    "appointment.created",
    "appointment.updated",
    "appointment.cancelled",
    "ticket.created",
    "ticket.called",
    "ticket.finished",
    "escalation.created",
    "escalation.updated",
]
EVENTS: tuple[str, ...] = get_args(EventName)
SIGNATURE_HEADER = "X-Guichet-Signature"
SIGNATURE_PREFIX = "sha256="
MAX_URL = 2000
MIN_SECRET = 16
MAX_SECRET = 256
# Visible ASCII only: the secret is the same bytes in every language a receiver is
# written in.
SECRET_PATTERN = r"^[!-~]+$"  # noqa: S105 (a pattern, not a secret)
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


def model_of(event: str) -> str:
    """`appointment` for `appointment.created`: what `meta.model` says."""
    return event.partition(".")[0]


# Signing


def signature(secret: str, body: bytes) -> str:
    """The `X-Guichet-Signature` value of `body` sent to an endpoint whose secret is
    `secret`: `sha256=` and the hex HMAC-SHA256 of the raw bytes."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_PREFIX}{digest}"


def signed_by(secret: str, body: bytes, header: str) -> bool:
    """Whether `header` is the signature of `body` with `secret`, compared in constant time."""
    return hmac.compare_digest(signature(secret, body).encode(), header.encode())


# Trying again


def schedule(attempts: int) -> list[timedelta]:
    """The delays between the attempts of a delivery refused every time (no jitter):
    one fewer than `attempts`, as the last refusal fails it for good."""
    return [retry_delay(attempt) for attempt in range(1, attempts)]


@dataclass(frozen=True)
class Result:
    """What an attempt leaves: delivered, pending again until `retry_at`, or failed."""

    status: DeliveryStatus
    error: str = ""
    retry_at: datetime | None = None


def after_attempt(
    answer: int | None, error: str, attempts: int, max_attempts: int, now: datetime, jitter: float
) -> Result:
    """The result of the `attempts`-th attempt, answered with the HTTP status `answer`
    (None: no answer, `error` says why): a 2xx delivers it; anything else is tried again
    after its backoff, until `max_attempts` have been made."""
    if answer is not None and 200 <= answer < 300:
        return Result(DeliveryStatus.DELIVERED)
    why = error or f"HTTP {answer}"
    if attempts >= max_attempts:
        return Result(DeliveryStatus.FAILED, f"gave up after {attempts} attempts: {why}"[:200])
    return Result(DeliveryStatus.PENDING, why[:200], now + retry_delay(attempts, jitter))


# Endpoints' addresses


def url_problem(url: str, *, production: bool) -> str | None:
    """Why `url` cannot receive webhooks, or None when it can: http or https, a host, no
    credentials or fragment, and https in production unless the host is this machine."""
    if url != url.strip() or not url.isprintable() or " " in url:
        return "The URL must be one line with no spaces."
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (refuses a port that is not a number)
    except ValueError:
        return "The URL is not valid."
    if parts.scheme not in ("http", "https"):
        return "The URL must start with https:// (or http:// for a local receiver)."
    if not parts.hostname:
        return "The URL must name a host."
    if parts.port == 0:
        return "The URL's port must be between 1 and 65535."
    if parts.username is not None or parts.password is not None:
        return "The URL must not hold a user name or a password: the signature proves who sends."
    if parts.fragment:
        return "The URL must not have a fragment (#…)."
    if parts.scheme == "http" and production and not is_loopback(parts.hostname):
        return "In production the URL must use https:// (http:// only to this machine)."
    if production and is_internal(parts.hostname):
        return (
            "The URL must not point at a private, link-local or reserved address (the "
            "network inside, or a cloud's metadata service)."
        )
    return None


def is_internal(host: str) -> bool:
    """Whether `host`, written as an address (in any of the forms a resolver takes, such as
    `0x7f000001` or `2130706433`), is one of the network inside: any address that is not
    global (private, shared as 100.64/10, link-local as 169.254.169.254, the cloud's
    metadata, reserved, unspecified), multicast, or an IPv6 address carrying such an IPv4
    one (mapped, 6to4, Teredo, NAT64); or is this machine written in such a form. This
    machine written plainly is not: a local receiver, as plain http allows. Names are not
    resolved here: the deliverer checks the addresses a name resolves to (`pinned`)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        try:  # the forms inet_aton reads: 0x7f000001, 2130706433, 127.1, 0177.0.0.1
            socket.inet_aton(host)
        except OSError:
            return False
        return True  # an address in a form no one writes on purpose
    if address.is_loopback:
        return False
    carried = carried_ipv4(address)
    if carried and any(not one.is_global for one in carried):
        return True
    return not address.is_global or address.is_multicast


NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def carried_ipv4(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (mapped, 6to4, Teredo, NAT64)."""
    if isinstance(address, ipaddress.IPv4Address):
        return []
    carried = [address.ipv4_mapped, address.sixtofour, *(address.teredo or ())]
    if address in NAT64:
        carried.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return [one for one in carried if one is not None]


def pinned(url: str, address: str) -> tuple[str, str, str]:
    """`url` sent to `address`, one its host resolved to and was checked at, rather than to
    whatever the name resolves to when connecting: the URL to connect to, the Host header
    and the name TLS checks the certificate against (those of the URL as written)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    literal = f"[{address}]" if ":" in address else address
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    host_header = parts.netloc.rsplit("@", 1)[-1]
    return parts._replace(netloc=netloc).geturl(), host_header, host


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_of(url: str) -> str:
    """The host an endpoint's URL points at, as the journal names it."""
    return urlsplit(url).hostname or url


# What a delivery says


def body(event: str, data: Mapping[str, Any], at: datetime, delivery_id: str) -> bytes:
    """The bytes sent, signed and kept for every attempt of one delivery."""
    meta = {
        "model": model_of(event),
        "event": event,
        "timestamp": at.isoformat(),
        "delivery_id": delivery_id,
    }
    return msgspec.json.encode({"data": dict(data), "meta": meta})


def local(instant: datetime | None, zone: ZoneInfo) -> str | None:
    return instant.astimezone(zone).isoformat() if instant is not None else None


def appointment_data(
    *,
    id: int,
    reference: str,
    status: str,
    site: str,
    service_code: str,
    service_name: str,
    starts_at: datetime,
    ends_at: datetime,
    channel: str,
    zone: ZoneInfo,
) -> dict[str, Any]:
    """An appointment as a receiver sees it: never its person's name, email or phone."""
    return {
        "id": id,
        "reference": reference,
        "status": status,
        "site": site,
        "service": {"code": service_code, "name": service_name},
        "starts_at": local(starts_at, zone),
        "ends_at": local(ends_at, zone),
        "channel": channel,
    }


def ticket_data(
    *, id: int, number: str, status: str, site: str, service_code: str, service_name: str
) -> dict[str, Any]:
    """A ticket as a receiver sees it: not its private link, nor its holder's phone."""
    return {
        "id": id,
        "number": number,
        "status": status,
        "site": site,
        "service": {"code": service_code, "name": service_name},
    }


def escalation_data(
    *, id: int, reference: str, status: str, department: str, site: str
) -> dict[str, Any]:
    """A request sent on to a department: not what the person or the mairie wrote."""
    return {
        "id": id,
        "reference": reference,
        "status": status,
        "department": department,
        "site": site,
    }


# What each queue move and appointment event is told as.
TICKET_EVENTS: Mapping[str, str] = {
    "issued": "ticket.created",
    "checked_in": "ticket.created",
    "checked_in_late": "ticket.created",
    "joined": "ticket.created",
    "called": "ticket.called",
    "recall": "ticket.called",
    # A ticket's end, whatever it is: its `status` says which (done, no_show, cancelled,
    # closed).
    "finish": "ticket.finished",
    "no_show": "ticket.finished",
    "cancel": "ticket.finished",
    "closed": "ticket.finished",
    "not_arrived": "ticket.finished",
}
