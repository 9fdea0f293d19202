"""The deliverer: claims due webhook deliveries, signs and POSTs them, records each result.

Claims are leases, as for the messages (app/notify/dispatcher.py): a claimed delivery is
`sending` until `claimed_until`, and on PostgreSQL a claim skips the rows another
instance holds (FOR UPDATE SKIP LOCKED), so two instances never send one delivery at
once. The lease is longer than a whole batch can take (each POST is cut at `timeout`),
so a live instance always records its results before another may claim them again; only
an instance that dies mid-batch leaves its deliveries to be sent again once their lease
ends, under the same `delivery_id`, for receivers to drop the repeat.

A 2xx delivers; anything else (another status, a redirect, which is not followed, no
answer in time, no connection) is tried again after a growing delay, and given up after
the last attempt: administrators see it among the endpoint's failed deliveries. Logs
name deliveries and endpoints by id: never an address, a body or a secret.
"""

from __future__ import annotations

import asyncio
import logging
import math
import socket
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import httpx
from sqlalchemy import case, delete, or_, select, update

from app import leases
from app.config import Settings
from app.db import Database, rowcount
from app.lease_sender import LeaseSender
from app.webhooks import rules, sealing
from app.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

log = logging.getLogger("guichet.webhooks")
SENDING_AT_ONCE = 8
# One endpoint's deliveries in flight at once: a slow or hanging receiver holds these, and
# never the places of the others'.
PER_ENDPOINT = 3
# Failing endpoints (the last attempt here failed or took longer than SLOW_SECONDS, an
# attempt in flight has, or the delivery is a retry) take one place each and, all
# together, at most half the places and half the senders: the others keep the rest,
# however many endpoints fail or answer slowly. The places are looked at each second.
AILING_SENDING = SENDING_AT_ONCE // 2
SLOW_SECONDS = 1.0
CLAIM_EVERY_SECONDS = 1.0
USER_AGENT = "guichet-webhooks/1"
# What the lease keeps beyond the longest a batch can take.
LEASE_MARGIN = timedelta(seconds=30)
FINISHED = (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED, DeliveryStatus.CANCELLED)


class Inside(Exception):
    """A host that resolves to an address inside the network."""


@dataclass(frozen=True)
class Claimed:
    """A delivery this instance holds: where it goes, its bytes, its attempt's number."""

    id: int
    delivery_id: str
    endpoint_id: int
    event: str
    url: str
    body: bytes
    attempts: int
    secret: str = field(repr=False)


@dataclass(frozen=True)
class Sent:
    """What one attempt got: an HTTP status, or none and why."""

    claimed: Claimed
    answer: int | None
    error: str = ""
    seconds: float = 0.0  # how long the attempt took


async def resolve_host(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to for a TCP connection to `port`."""
    found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(sockaddr[0]) for _family, _type, _proto, _name, sockaddr in found]


@dataclass(eq=False, repr=False, kw_only=True)
class Deliverer(LeaseSender):
    batch: int = 20
    attempts: int = 10
    timeout: float = 5.0
    lease: timedelta = timedelta(minutes=2)
    # The service's key, which opens the endpoints' sealed secrets (`app.webhooks.sealing`).
    service_key: str = field(default="", repr=False)
    # In production each attempt connects to an address its host resolves to, checked
    # not to be inside the network (`rules.is_internal`): a name cannot lead there.
    production: bool = False
    resolve: Callable[[str, int], Awaitable[list[str]]] = field(
        default_factory=lambda: resolve_host, repr=False
    )
    _client: httpx.AsyncClient | None = field(init=False, default=None)
    # The endpoints whose last attempt here failed or was slow, or whose attempt in flight
    # is (a success within SLOW_SECONDS takes one off).
    ailing: set[int] = field(init=False, default_factory=set)
    # The attempts in flight: their endpoint and when each started.
    trying: dict[int, tuple[int, float]] = field(init=False, default_factory=dict)

    @classmethod
    def of(
        cls, db: Database, clock: Callable[[], datetime], settings: Settings, instance: str
    ) -> Deliverer:
        return cls(
            db,
            clock,
            instance=instance,
            batch=settings.webhook_batch,
            attempts=settings.webhook_attempts,
            timeout=settings.webhook_timeout_seconds,
            lease=timedelta(seconds=settings.webhook_lease_seconds),
            service_key=settings.secret_key,
            production=settings.is_production,
        )

    @property
    def claim_lease(self) -> timedelta:
        """The lease of a claim: at least as long as a whole batch may take."""
        rounds = math.ceil(self.batch / SENDING_AT_ONCE)
        return max(self.lease, timedelta(seconds=rounds * self.timeout) + LEASE_MARGIN)

    async def run_until_idle(self, budget_seconds: float = 10.0) -> int:
        """Keep up to a batch of deliveries in flight until nothing is due or the time
        budget is spent (then let those in flight end); how many were taken. Each result is
        written as it comes and its place filled at once, and an endpoint has at most
        `PER_ENDPOINT` deliveries in flight: a slow or hanging receiver holds its own
        deliveries until its timeout, never the other endpoints'. Failing endpoints hold
        no more than their share (`AILING_SENDING`)."""
        taken, started = 0, time.monotonic()
        flying: dict[asyncio.Future[Sent], int] = {}  # each send, and its endpoint
        sending = asyncio.Semaphore(SENDING_AT_ONCE)
        ailing = asyncio.Semaphore(AILING_SENDING)
        more = True

        async def send_one(one: Claimed) -> Sent:
            while one.endpoint_id not in self.ailing:
                async with sending:
                    if one.endpoint_id not in self.ailing:
                        return await self.send(one)
                # its endpoint turned out slow while this one waited: the ailing's way
            async with ailing, sending:
                return await self.send(one)

        while True:
            self.note_slow(time.monotonic())
            places = self.batch - len(flying)
            within = time.monotonic() - started < budget_seconds
            # Past the budget, while failing endpoints' attempts run out their time, the
            # others' deliveries are still taken: the round's end holds up no one.
            tail = not within and any(e in self.ailing for e in flying.values())
            if more and places > 0 and (within or tail):
                busy = Counter(flying.values())
                claimed, count, more = await self.claim(places, busy, healthy_only=tail)
                taken += count
                for one in claimed:
                    flying[asyncio.ensure_future(send_one(one))] = one.endpoint_id
            if not flying:
                return taken
            done, _ = await asyncio.wait(
                flying, timeout=CLAIM_EVERY_SECONDS, return_when=asyncio.FIRST_COMPLETED
            )
            for future in done:
                del flying[future]
            if done:
                await self.record([future.result() for future in done])
            more = True  # a place is free, or new deliveries may be due: look again

    def note_slow(self, now: float) -> None:
        """Count as failing the endpoints an attempt has waited on for over SLOW_SECONDS:
        a receiver that has just gone silent, or answers slowly, is held to the failing
        endpoints' share before its first attempt ends."""
        self.ailing.update(e for e, since in self.trying.values() if now - since > SLOW_SECONDS)

    async def run_once(self) -> int:
        """One batch; how many due deliveries it took (sent, given up or dropped)."""
        claimed, taken, _ = await self.claim(self.batch)
        if claimed:
            await self.record(await self.send_all(claimed))
        return taken

    async def claim(
        self, places: int, busy: Counter[int] | None = None, *, healthy_only: bool = False
    ) -> tuple[list[Claimed], int, bool]:
        """Take up to `places` due deliveries for this instance, for the lease's time; with
        `busy` (the deliveries already in flight, by endpoint), at most `PER_ENDPOINT` of
        one endpoint in flight. How many due ones were taken, and whether more may be due.
        Those of a deleted endpoint are dropped, and those whose lease ran out after their
        last attempt, with no result recorded, given up."""
        cap = PER_ENDPOINT if busy is not None else places
        flying = Counter(busy or {})
        ailing_places = places
        if busy is not None:  # keeping a batch in flight: failing endpoints get their share
            ailing_places = self.batch // 2 - sum(flying[e] for e in self.ailing)
        full: Collection[int] = [
            e for e, count in flying.items() if count >= (1 if e in self.ailing else cap)
        ]
        limit = places * PER_ENDPOINT if busy is not None else places
        failing = or_(
            WebhookDelivery.attempts > 0, WebhookDelivery.endpoint_id.in_(sorted(self.ailing))
        )
        now = self.clock()
        async with self.db.writing() as session:
            query = (
                select(WebhookDelivery, WebhookEndpoint.url, WebhookEndpoint.sealed_secret)
                .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
                .add_columns(WebhookEndpoint.deleted_at)
                .where(leases.due(WebhookDelivery, now), WebhookDelivery.endpoint_id.not_in(full))
                # The endpoints that answer first, then the failing ones.
                .order_by(
                    case((failing, 1), else_=0), WebhookDelivery.send_after, WebhookDelivery.id
                )
                .limit(limit)  # enough for `places` whatever the endpoints
            )
            if ailing_places <= 0 or healthy_only:
                query = query.where(~failing)
            if not self.db.is_sqlite:
                query = query.with_for_update(skip_locked=True, of=WebhookDelivery)
            rows = (await session.execute(query)).all()
            claimed: list[Claimed] = []
            taken, left = 0, False
            for delivery, url, sealed, deleted_at in rows:
                endpoint = delivery.endpoint_id
                sick = delivery.attempts > 0 or endpoint in self.ailing
                if (
                    len(claimed) >= places
                    or flying[endpoint] >= (1 if sick and busy is not None else cap)
                    or (sick and (ailing_places <= 0 or healthy_only))
                ):
                    left = True  # not taken: stays due, for a free place
                    continue
                if sick:
                    self.ailing.add(endpoint)
                    ailing_places -= 1
                taken += 1
                if deleted_at is not None:
                    leases.end(delivery, DeliveryStatus.CANCELLED, "deleted")
                    continue
                secret = sealing.unseal(self.service_key, sealed)
                if secret is None:
                    log.warning(
                        "webhook delivery %s given up: its endpoint's secret was sealed with "
                        "another service key",
                        delivery.id,
                    )
                    leases.end(
                        delivery,
                        DeliveryStatus.FAILED,
                        "secret unreadable: the service's secret key changed; "
                        "register the endpoint again",
                    )
                    continue
                if leases.gave_up(delivery, self.attempts, log, "webhook delivery"):
                    continue
                leases.take(delivery, self.instance, now + self.claim_lease)
                flying[delivery.endpoint_id] += 1
                claimed.append(
                    Claimed(
                        id=delivery.id,
                        delivery_id=delivery.delivery_id,
                        endpoint_id=delivery.endpoint_id,
                        event=delivery.event,
                        url=url,
                        body=delivery.body,
                        attempts=delivery.attempts,
                        secret=secret,
                    )
                )
        return claimed, taken, left or len(rows) == limit

    async def send_all(self, claimed: list[Claimed]) -> list[Sent]:
        """POST each claimed delivery, several at once: sending is mostly waiting."""
        sending = asyncio.Semaphore(SENDING_AT_ONCE)

        async def send_one(one: Claimed) -> Sent:
            async with sending:
                return await self.send(one)

        return list(await asyncio.gather(*(send_one(one) for one in claimed)))

    async def send(self, claimed: Claimed) -> Sent:
        """One signed POST of the delivery's bytes, cut at `timeout` whatever the receiver
        does; the answer's body is not read."""
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            rules.SIGNATURE_HEADER: rules.signature(claimed.secret, claimed.body),
            "X-Guichet-Event": claimed.event,
            "X-Guichet-Delivery": claimed.delivery_id,
        }
        started = time.monotonic()
        self.trying[claimed.id] = (claimed.endpoint_id, started)
        answer, error = None, ""
        try:
            async with asyncio.timeout(self.timeout):
                url, sni = claimed.url, {}
                if self.production:
                    url, headers["Host"], name = await self.checked_address(claimed.url)
                    sni = {"sni_hostname": name}
                request = self.client.stream(
                    "POST", url, content=claimed.body, headers=headers, extensions=sni
                )
                async with request as response:
                    answer = response.status_code
        except Inside:
            error = "refused: the name points inside the network"
        except socket.gaierror:  # the name does not resolve
            error = "no answer: the name is not found"
        except TimeoutError:
            error = "no answer in time"
        except httpx.HTTPError as exc:  # its text may hold the address: its kind only
            error = f"no answer: {type(exc).__name__}"
        except Exception as exc:  # what nobody foresaw fails this attempt, and only it
            error = f"unexpected error: {type(exc).__name__}"
        finally:
            del self.trying[claimed.id]
        return Sent(claimed, answer, error, time.monotonic() - started)

    async def checked_address(self, url: str) -> tuple[str, str, str]:
        """`url` pinned to the first address its host resolves to (`rules.pinned`); raises
        Inside when any of them is inside the network."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = await self.resolve(host, port)
        if not addresses or any(rules.is_internal(one) for one in addresses):
            raise Inside(host)
        return rules.pinned(url, addresses[0])

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                follow_redirects=False,
                timeout=self.timeout,
                # Pinned to an address, connections to one host serve several names: in
                # production none is kept for another request, whose name it might not be.
                limits=httpx.Limits(
                    max_connections=SENDING_AT_ONCE * 2,
                    max_keepalive_connections=0 if self.production else None,
                ),
            )
        return self._client

    async def record(self, results: list[Sent]) -> None:
        """Write the batch's results in one transaction, each only while this instance
        still holds its delivery (an endpoint deleted meanwhile keeps its drop)."""
        now = self.clock()
        mine = leases.held_by(WebhookDelivery, self.instance)
        outcomes = [
            (
                sent.claimed,
                rules.after_attempt(
                    sent.answer,
                    sent.error,
                    sent.claimed.attempts,
                    self.attempts,
                    now,
                    self.random.uniform(0.5, 1.5),
                ),
            )
            for sent in results
        ]
        delivered = [c.id for c, result in outcomes if result.status == DeliveryStatus.DELIVERED]
        for sent, (claimed, result) in zip(results, outcomes, strict=True):
            if result.status == DeliveryStatus.DELIVERED and sent.seconds <= SLOW_SECONDS:
                self.ailing.discard(claimed.endpoint_id)
            else:
                self.ailing.add(claimed.endpoint_id)
        async with self.db.writing() as session:
            if delivered:
                await session.execute(
                    update(WebhookDelivery)
                    .where(WebhookDelivery.id.in_(delivered), mine)
                    .values(
                        status=DeliveryStatus.DELIVERED,
                        claimed_until=None,
                        last_attempt_at=now,
                        delivered_at=now,
                        last_error="",
                    )
                )
            for claimed, result in outcomes:
                if result.status == DeliveryStatus.DELIVERED:
                    continue
                log.warning(
                    "webhook delivery %s to endpoint %s, attempt %d: %s",
                    claimed.id,
                    claimed.endpoint_id,
                    claimed.attempts,
                    result.error,
                )
                values = leases.result(result.status, result.error, result.retry_at)
                values.update(last_attempt_at=now, refused_at=now)
                await session.execute(
                    update(WebhookDelivery)
                    .where(WebhookDelivery.id == claimed.id, mine)
                    .values(**values)
                )
                if result.retry_at is not None:
                    # The endpoint is down: its other deliveries wait for this one's
                    # next attempt rather than each spend a sender finding it out.
                    await session.execute(
                        update(WebhookDelivery)
                        .where(
                            WebhookDelivery.endpoint_id == claimed.endpoint_id,
                            WebhookDelivery.status == DeliveryStatus.PENDING,
                            WebhookDelivery.send_after < result.retry_at,
                        )
                        .values(send_after=result.retry_at)
                    )

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


async def purge(db: Database, now: datetime, keep_days: int) -> int:
    """Forget the deliveries finished more than `keep_days` ago; how many."""
    async with db.writing() as session:
        result = await session.execute(
            delete(WebhookDelivery).where(
                WebhookDelivery.status.in_(FINISHED),
                WebhookDelivery.created_at < now - timedelta(days=keep_days),
            )
        )
    return rowcount(result)
