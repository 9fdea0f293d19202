"""The periodic work of an instance: APScheduler 3, in memory, started and stopped with
the app. The database decides what runs once: messages and webhook deliveries are
claimed, and a daily sweep runs on the instance that first records it for the day."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.dialects import postgresql, sqlite

from app import retention
from app.booking import commands as booking
from app.booking import free_time
from app.config import Settings
from app.db import Database
from app.notify.dispatcher import Dispatcher
from app.notify.models import SweepRun
from app.notify.transports import EmailTransport, SmsTransport
from app.notify.transports.files import EmailFiles, SmsFiles
from app.notify.transports.sms import HttpSmsGateway
from app.notify.transports.smtp import SmtpTransport
from app.queue import closing as queue
from app.queue import remote
from app.waitlist import engine as waitlist
from app.webhooks import deliver as webhooks
from app.webhooks.deliver import Deliverer

log = logging.getLogger("guichet.scheduler")
T = TypeVar("T")


def transports(settings: Settings) -> tuple[EmailTransport, SmsTransport]:
    """SMTP and the SMS gateway when configured; otherwise files under `outbox_dir`."""
    folder = Path(settings.outbox_dir)
    email: EmailTransport = (
        SmtpTransport(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.mail_from,
            username=settings.smtp_username,
            password=settings.smtp_password,
            security=settings.smtp_security,
        )
        if settings.smtp_host
        else EmailFiles(folder / "email", settings.mail_from)
    )
    sms: SmsTransport = (
        HttpSmsGateway(url=settings.sms_url, key=settings.sms_key, sender=settings.sms_sender)
        if settings.sms_url
        else SmsFiles(folder / "sms")
    )
    return email, sms


async def first_to_run(db: Database, name: str, period: str, instance: str, now: datetime) -> bool:
    """Record that `name` runs for `period`; True only for the first instance to do so."""
    insert = postgresql.insert if not db.is_sqlite else sqlite.insert
    async with db.writing() as session:
        result = await session.execute(
            insert(SweepRun)
            .values(name=name, period=period, instance=instance, started_at=now)
            .on_conflict_do_nothing()
            .returning(SweepRun.name)
        )
        return result.first() is not None


@dataclass(eq=False, repr=False)
class Scheduler:
    db: Database
    settings: Settings
    clock: Callable[[], datetime]
    dispatcher: Dispatcher
    instance: str
    on_run: Callable[[str, str], None] | None = None

    def __post_init__(self) -> None:
        self._scheduler = AsyncIOScheduler(timezone=ZoneInfo(self.settings.timezone))
        self.deliverer = Deliverer.of(self.db, self.clock, self.settings, self.instance)

    def start(self) -> None:
        self._add(
            self.dispatch, "dispatch", "interval", seconds=self.settings.dispatch_every_seconds
        )
        self._add(
            self.deliver_webhooks,
            "webhooks",
            "interval",
            seconds=self.settings.webhook_every_seconds,
        )
        self._add(
            self.free_time_roll, "free_time", "interval", minutes=60, next_run_time=self.clock()
        )
        self._add(self.daily_sweep, "sweep", "cron", hour=3, minute=30)
        self._add(self.missed_sweep, "missed", "interval", minutes=5)
        self._add(self.closing_sweep, "closing", "interval", minutes=1)
        self._add(self.remote_sweep, "remote", "interval", minutes=1)
        self._add(self.offer_round, "offers", "interval", seconds=self.settings.offer_every_seconds)
        self._add(self.offer_sweep, "offer_sweep", "interval", minutes=10)
        self._scheduler.start()

    def _add(
        self, job: Callable[[], Awaitable[None]], name: str, trigger: str, **when: Any
    ) -> None:
        """Run `job` on `trigger`: never two of its rounds at once on an instance, and the
        rounds it missed (a busy or sleeping instance) run once, not one after another.
        A round the instance's stop cuts short (its transaction rolled back) is said in
        one line, not as a job that failed."""

        async def round_of_job() -> None:
            try:
                await job()
            except asyncio.CancelledError:
                log.info("%s: the round in progress stopped with the instance", name)

        self._scheduler.add_job(
            round_of_job, trigger, max_instances=1, coalesce=True, id=name, **when
        )

    async def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        await self.dispatcher.email.close()
        await self.dispatcher.sms.close()
        await self.deliverer.close()

    def _ran(self, job: str, result: str) -> None:
        if self.on_run is not None:
            self.on_run(job, result)

    async def _round(self, job: str, failure: str, work: Callable[[], Awaitable[T]]) -> T | None:
        """One round of `job`: a failure is logged and reported, and the next round tries
        again (or catches up); None then."""
        try:
            result = await work()
        except Exception:
            log.exception(failure)
            self._ran(job, "failed")
            return None
        self._ran(job, "ok")
        return result

    async def dispatch(self) -> None:
        budget = self.settings.dispatch_every_seconds * 5
        await self._round(
            "dispatch", "dispatch round failed", lambda: self.dispatcher.run_until_idle(budget)
        )

    async def deliver_webhooks(self) -> None:
        """The webhook deliveries due, each sent once across instances (claimed with a
        lease, like the messages)."""
        budget = self.settings.webhook_every_seconds * 5
        await self._round(
            "webhooks",
            "webhook deliveries round failed",
            lambda: self.deliverer.run_until_idle(budget),
        )

    async def missed_sweep(self) -> None:
        """Appointments nobody checked in for, past the check-in window, become no-shows.
        Idempotent, so every instance may run it."""
        missed = await self._round(
            "missed",
            "missed appointments sweep failed",
            lambda: booking.mark_missed(self.db, self.clock()),
        )
        if missed:
            log.info("appointments missed", extra={"count": missed})

    async def closing_sweep(self) -> None:
        """At each mairie's closing time, the tickets still waiting are closed and their
        holders told. Every instance may run it: the rows are claimed under the site's queue
        lock, skipping those another instance holds."""
        closed = await self._round(
            "closing", "closing sweep failed", lambda: queue.close_waiting(self.db, self.clock())
        )
        if closed:
            log.info("tickets closed at closing time", extra={"count": closed})

    async def remote_sweep(self) -> None:
        """Tickets taken from phones: a text to those whose turn comes within their travel
        time, and those whose holders never came (or never confirmed their number) closed.
        Every instance may run it: rows are claimed under each site's queue lock."""
        now = self.clock()
        told = await self._round(
            "leave", "leave-home texts failed", lambda: remote.tell_to_leave(self.db, now)
        )
        closed = await self._round(
            "not_arrived",
            "remote tickets sweep failed",
            lambda: remote.close_unanswered(self.db, now),
        )
        if told or closed:
            log.info("remote tickets swept", extra={"told": told or 0, "closed": closed or 0})

    async def offer_round(self) -> None:
        """Earlier slots: offers whose hold ran out lapse, and the slots freed since the
        last round (cancellations, moves, lapsed offers) are held for the first people
        waiting for them. Every instance may run it: each day is looked at under its
        booking lock, and the caps on offers hold in the tables."""
        now = self.clock()
        await self._round("offers", "offers lapse failed", lambda: waitlist.lapse_due(self.db, now))
        made = await self._round("offers", "offer round failed", lambda: waitlist.run(self.db, now))
        if made:
            log.info("earlier slots offered", extra={"count": made})

    async def offer_sweep(self) -> None:
        """Earlier slots freed otherwise (a station added, longer hours, a closure lifted):
        every day somebody waits for is looked at again."""
        now = self.clock()
        made = await self._round(
            "offer_sweep", "offer sweep failed", lambda: waitlist.sweep(self.db, now)
        )
        if made:
            log.info("earlier slots offered", extra={"count": made})

    async def free_time_roll(self) -> None:
        """The summary of free time moved on to each site's today and horizon (at start,
        then every hour, by the first instance to record it)."""
        now = self.clock()
        period = f"{now:%Y-%m-%dT%H}"

        async def roll() -> int:
            if not await first_to_run(self.db, "free_time", period, self.instance, now):
                return 0
            return await free_time.roll_all(self.db, now)

        worked = await self._round("free_time", "free time roll failed", roll)
        if worked:
            log.info("free time summary moved on", extra={"days": worked})

    async def daily_sweep(self) -> None:
        """Retention, once a day, on the first instance to record it; tomorrow's sweep
        catches up after a failure. The message files of its own folder, on every
        instance."""
        now = self.clock()
        day = now.astimezone(ZoneInfo(self.settings.timezone)).date().isoformat()

        async def retain() -> None:
            if await first_to_run(self.db, "retention", day, self.instance, now):
                await retention.sweep(self.db, self.settings, now)

        async def forget_deliveries() -> None:
            if await first_to_run(self.db, "webhooks", day, self.instance, now):
                await webhooks.purge(self.db, now, self.settings.webhook_keep_days)

        async def forget_files() -> None:
            await retention.forget_message_files(self.settings, now)

        await self._round("retention", "retention sweep failed", retain)
        await self._round("message_files", "message files sweep failed", forget_files)
        await self._round("webhooks_purge", "webhook deliveries purge failed", forget_deliveries)
