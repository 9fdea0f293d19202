"""Metrics for operations, in Prometheus's text format, with the official client.

Each app has its own registry. Request latency (by route template, never the raw path:
paths carry private tokens), scheduler runs and this instance's screens are counted as
they happen; the queue and the outbox are read from the database at each scrape, so every
instance reports the same truth about them.
"""

from __future__ import annotations

import hmac
from collections import Counter as Tally
from datetime import datetime
from zoneinfo import ZoneInfo

from litestar import Request, Response, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.booking.alerts import alerts_by_site
from app.errors import NotFound, Unauthorized
from app.live.hub import Hub
from app.notify.models import MessageStatus, OutboxMessage
from app.queue.models import Ticket, TicketStatus
from app.sites.models import Site
from app.web.context import Context

# Prometheus's text format without its charset: Litestar adds "; charset=utf-8" to text/*.
METRICS_MEDIA_TYPE = "; ".join(
    part for part in CONTENT_TYPE_LATEST.split("; ") if not part.lower().startswith("charset=")
)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
OUTBOX_STATUSES = (MessageStatus.PENDING, MessageStatus.SENDING, MessageStatus.FAILED)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Histogram(
            "guichet_http_request_duration_seconds",
            "Time to answer an HTTP request, by route",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.scheduler_runs = Counter(
            "guichet_scheduler_runs",
            "Runs of the periodic jobs (dispatch, missed, retention), by result",
            ["job", "result"],
            registry=self.registry,
        )
        self.waiting = self._site_gauge("guichet_queue_waiting", "Tickets waiting today")
        self.oldest = self._site_gauge(
            "guichet_queue_oldest_wait_seconds",
            "How long the longest-waiting ticket of today has waited",
        )
        self.screens = self._site_gauge(
            "guichet_screens_connected", "Lobby screens connected to this instance"
        )
        self.outbox = self._gauge(
            "guichet_outbox_messages",
            "Messages of the outbox not yet sent, by status (failed: given up on)",
            "status",
        )
        self.booking_alerts = self._site_gauge(
            "guichet_booking_alerts",
            "Days of a site that took more than GUICHET_BOOKING_ALERT_PER_HOUR online "
            "bookings within the last hour",
        )
        self.outbox_due = self._gauge(
            "guichet_outbox_due", "Pending messages whose time has come (the backlog)"
        )

    def _gauge(self, name: str, documentation: str, *labels: str) -> Gauge:
        """A gauge of this app's registry, by `labels`."""
        return Gauge(name, documentation, labels, registry=self.registry)

    def _site_gauge(self, name: str, what: str) -> Gauge:
        """A gauge of this app's registry by site (its slug): its help is `what` it measures,
        "by site"."""
        return self._gauge(name, f"{what}, by site", "site")

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).observe(seconds)

    def ran(self, job: str, result: str) -> None:
        self.scheduler_runs.labels(job, result).inc()

    async def refresh(
        self, session: AsyncSession, hub: Hub, now: datetime, alert_per_hour: int | None = None
    ) -> None:
        """Read the queue, the outbox and the booking alerts as they are now."""
        sites = list(await session.scalars(select(Site).order_by(Site.id)))
        today = {site.id: now.astimezone(ZoneInfo(site.timezone)).date() for site in sites}
        rows = await session.execute(
            select(Ticket.site_id, Ticket.day, func.count(), func.min(Ticket.arrived_at))
            .where(Ticket.status == TicketStatus.WAITING, Ticket.day.in_(set(today.values())))
            .group_by(Ticket.site_id, Ticket.day)
        )
        waiting = {site_id: (count, first) for site_id, day, count, first in rows
                   if today.get(site_id) == day}  # fmt: skip
        statuses: Tally[str] = Tally(
            dict(
                (status, count)
                for status, count in await session.execute(
                    select(OutboxMessage.status, func.count())
                    .where(OutboxMessage.status.in_(OUTBOX_STATUSES))
                    .group_by(OutboxMessage.status)
                )
            )
        )
        due = await session.scalar(
            select(func.count()).where(
                OutboxMessage.status == MessageStatus.PENDING, OutboxMessage.send_after <= now
            )
        )
        alerts = (
            await alerts_by_site(session, sites, now, alert_per_hour)
            if alert_per_hour is not None
            else {}
        )
        for site in sites:
            count, first = waiting.get(site.id, (0, None))
            self.waiting.labels(site.slug).set(count)
            self.oldest.labels(site.slug).set((now - first).total_seconds() if first else 0)
            self.screens.labels(site.slug).set(hub.screens(site.id))
            self.booking_alerts.labels(site.slug).set(len(alerts.get(site.id, [])))
        for status in OUTBOX_STATUSES:
            self.outbox.labels(status).set(statuses[status])
        self.outbox_due.set(due or 0)

    def render(self) -> bytes:
        return generate_latest(self.registry)


@get("/metrics", include_in_schema=False)
async def metrics_endpoint(
    request: Request[object, object, State], context: NamedDependency[Context]
) -> Response[bytes]:
    """For the monitoring's scraper; behind `GUICHET_METRICS_TOKEN` when it is set. In
    production there are no metrics without the token: they tell outsiders how busy each
    mairie is and which jobs fail."""
    settings = context.settings
    if settings.is_production and not settings.metrics_token:
        raise NotFound("No metrics here: set GUICHET_METRICS_TOKEN to serve them.")
    if settings.metrics_token:
        expected = f"Bearer {settings.metrics_token}"
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise Unauthorized("Give the metrics token.")
    metrics: Metrics = request.app.state.metrics
    await metrics.refresh(
        context.session, request.app.state.hub, context.now, settings.booking_alert_per_hour
    )
    return Response(metrics.render(), media_type=METRICS_MEDIA_TYPE)
