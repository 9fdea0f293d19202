"""The dispatcher: claims due messages, checks they still apply, renders, sends, records.

Claims are leases: a claimed message is `sending` until `claimed_until`; an instance that
dies mid-batch leaves its messages to be claimed again when the lease ends. On
PostgreSQL claims skip rows that another instance holds (FOR UPDATE SKIP LOCKED); on
SQLite writers take turns. Results are recorded once per batch, so a crash can repeat at
most the batch in flight — and each email keeps its Message-ID, for receivers to drop
the repeat.

Each message is written in its resident's language (the one of the appointment or the
ticket it is about; French for the rest), whatever the language of the change that caused
it.

Each message succeeds or fails on its own: an error nobody foresaw while checking,
rendering or sending one message fails that message for good (managers see it among the
failed ones, with the kind of error and no personal data), and the results of the others
are recorded all the same. A message whose content was purged (retention, erasure) is
cancelled, never rendered. A message whose lease ran out as many times as it may be
tried, with no result ever recorded, is given up rather than claimed again.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import PurePath
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from app import i18n, leases
from app.events import load_subscribers
from app.lease_sender import LeaseSender
from app.notify import render
from app.notify.models import MessageStatus, OutboxMessage
from app.notify.planner import EMAIL
from app.notify.subjects import SUBJECTS, subject_of
from app.notify.transports import (
    Email,
    EmailTransport,
    PermanentError,
    Sms,
    SmsTransport,
    TransientError,
    message_id,
)
from app.retry_backoff import retry_delay as retry_delay  # a message waits as a delivery does

log = logging.getLogger("guichet.notify")
LEASE = timedelta(minutes=2)
SENDING_AT_ONCE = 8
# Messages to the mairie's partners rather than to a resident: in the service's language.
IN_FRENCH = frozenset(render.TO_PARTNERS)
# Why a message is cancelled rather than sent.
NO_LONGER_APPLIES = "no longer applies"
PURGED = "content purged: nothing left to send"
# What a batch's messages are about, by (kind of subject, id), as they are now.
Subjects = dict[tuple[str, int], Any]


@dataclass(frozen=True)
class Outcome:
    id: int
    status: MessageStatus
    error: str = ""
    retry_at: datetime | None = None


def voice_of(message: OutboxMessage, subjects: Subjects) -> tuple[str, ZoneInfo | None]:
    """The language `message` is written in (its appointment's or ticket's, as it is now)
    and the time zone its appointment's times are read in (None: not about one)."""
    about = subject_of(message)
    thing = subjects.get(about) if about is not None else None
    if thing is None or message.kind in IN_FRENCH:
        return i18n.DEFAULT_LANGUAGE, None
    site = getattr(thing, "site", None)  # an appointment's, loaded with it
    zone = ZoneInfo(site.timezone) if site is not None else None
    return i18n.known(getattr(thing, "language", None)), zone


def where(exc: BaseException) -> str:
    """Where an exception was raised, as `file.py:line`: the code, never the values."""
    frames = traceback.extract_tb(exc.__traceback__)
    return f"{PurePath(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"


@dataclass(eq=False, repr=False, kw_only=True)
class Dispatcher(LeaseSender):
    base_url: str
    email: EmailTransport
    sms: SmsTransport
    batch: int = 50
    attempts: int = 8
    lease: timedelta = LEASE

    def __post_init__(self) -> None:
        load_subscribers()  # the domains' subjects register with their subscribers

    async def run_until_idle(self, budget_seconds: float = 10.0) -> int:
        """Send batches until nothing is due or the time budget is spent."""
        sent, started = 0, time.monotonic()
        while time.monotonic() - started < budget_seconds:
            handled = await self.run_once()
            sent += handled
            if handled < self.batch:
                break
        return sent

    async def run_once(self) -> int:
        """One batch; how many due messages it took (sent, failed or given up)."""
        messages, taken = await self._claim()
        await self.deliver(messages)
        return taken

    async def deliver(self, messages: list[OutboxMessage]) -> None:
        """Check, send and record claimed messages, each on its own: the results of those
        that went are recorded even if something escapes while others are sent."""
        if not messages:
            return
        subjects = await self._subjects(messages)
        # Several at once: sending is mostly waiting for the mail server or the gateway.
        sending = asyncio.Semaphore(SENDING_AT_ONCE)
        outcomes: list[Outcome] = []

        async def deliver_one(message: OutboxMessage) -> None:
            async with sending:
                outcomes.append(await self._deliver(message, subjects))

        try:
            await asyncio.gather(
                *(deliver_one(message) for message in messages), return_exceptions=True
            )
        finally:
            await self._record(outcomes)

    async def claim(self) -> list[OutboxMessage]:
        """Take up to a batch of due messages for this instance, for the lease's time."""
        messages, _ = await self._claim()
        return messages

    async def _claim(self) -> tuple[list[OutboxMessage], int]:
        """The messages to deliver, and how many due ones were taken: those whose lease ran
        out after their last allowed attempt are failed here instead of claimed again."""
        now = self.clock()
        async with self.db.writing() as session:
            query = (
                select(OutboxMessage)
                .where(leases.due(OutboxMessage, now))
                .order_by(OutboxMessage.send_after, OutboxMessage.id)
                .limit(self.batch)
            )
            if not self.db.is_sqlite:
                query = query.with_for_update(skip_locked=True)
            taken = list(await session.scalars(query))
            messages = []
            for message in taken:
                if leases.gave_up(message, self.attempts, log, "message"):
                    continue
                leases.take(message, self.instance, now + self.lease)
                messages.append(message)
        return messages, len(taken)

    async def _subjects(self, messages: list[OutboxMessage]) -> Subjects:
        """What the messages are about, read once for the batch."""
        wanted: dict[str, set[int]] = {}
        for message in messages:
            subject = subject_of(message)
            if subject is not None:
                wanted.setdefault(subject[0], set()).add(subject[1])
        if not wanted:
            return {}
        found: Subjects = {}
        async with self.db.session() as session:
            for kind, ids in wanted.items():
                things = await SUBJECTS[kind].load(session, ids)
                found.update({(kind, thing_id): thing for thing_id, thing in things.items()})
        return found

    def applies(self, message: OutboxMessage, subjects: Subjects, now: datetime) -> bool:
        """Whether the message still says something true and useful at `now`."""
        subject = subject_of(message)
        if subject is None:
            return True
        return SUBJECTS[subject[0]].applies(message, subjects.get(subject), now)

    async def _deliver(
        self,
        message: OutboxMessage,
        subjects: Subjects,
    ) -> Outcome:
        """The outcome of one message, whatever happens while it is checked, rendered or
        sent: what nobody foresaw fails this message for good, and only this one."""
        try:
            return await self._attempt(message, subjects)
        except Exception as exc:
            # Neither the exception's text nor its traceback's values: either may hold
            # the address, the number or what the message says.
            log.error(
                "message %s failed unexpectedly: %s at %s",
                message.id,
                type(exc).__name__,
                where(exc),
            )
            return Outcome(
                message.id, MessageStatus.FAILED, f"unexpected error: {type(exc).__name__}"[:200]
            )

    async def _attempt(
        self,
        message: OutboxMessage,
        subjects: Subjects,
    ) -> Outcome:
        now = self.clock()
        if message.purged_at is not None:
            # Its content was blanked (retention, erasure): nothing is left to render.
            log.warning("message %s cancelled: its content was purged", message.id)
            return Outcome(message.id, MessageStatus.CANCELLED, PURGED)
        if not self.applies(message, subjects, now):
            return Outcome(message.id, MessageStatus.CANCELLED, NO_LONGER_APPLIES)
        outgoing = self._rendered(message, subjects)
        try:
            if isinstance(outgoing, Email):
                await self.email.send(outgoing)
            else:
                await self.sms.send(outgoing)
        except PermanentError as exc:
            log.warning("message %s refused for good: %s", message.id, exc)
            return Outcome(message.id, MessageStatus.FAILED, str(exc)[:200])
        except TransientError as exc:
            if message.attempts >= self.attempts:
                log.warning("message %s given up after %d attempts", message.id, message.attempts)
                return Outcome(message.id, MessageStatus.FAILED, f"gave up: {exc}"[:200])
            delay = retry_delay(message.attempts, self.random.uniform(0.5, 1.5))
            return Outcome(message.id, MessageStatus.PENDING, str(exc)[:200], now + delay)
        return Outcome(message.id, MessageStatus.SENT)

    def _rendered(self, message: OutboxMessage, subjects: Subjects) -> Email | Sms:
        """The email or the text `message` sends, in its resident's language."""
        lang, zone = voice_of(message, subjects)
        with i18n.speaking(lang):
            data = render.localized(message.data, zone)
            if message.channel == EMAIL:
                return self._email(message, data, subjects)
            text = render.sms(message.kind, data, self.base_url)
        return Sms(
            message.recipient,
            text.text,
            message.idempotency_key,
            encoding=text.encoding,
            segments=text.segments,
        )

    def _email(self, message: OutboxMessage, data: dict[str, Any], subjects: Subjects) -> Email:
        subject, text, html = render.email(message.kind, data, self.base_url)
        about = subject_of(message)
        attachments = (
            SUBJECTS[about[0]].attachments(
                message, subjects.get(about), self.base_url, self.email.sender
            )
            if about is not None
            else []
        )
        return Email(
            to=message.recipient,
            subject=subject,
            text=text,
            html=html,
            message_id=message_id(message.idempotency_key),
            attachments=attachments,
        )

    async def _record(self, outcomes: list[Outcome]) -> None:
        """Write the batch's results in one transaction: one statement for all the sent
        and one for all the cancelled for the same reason, one per message to retry or
        given up."""
        if not outcomes:
            return
        now = self.clock()
        mine = leases.held_by(OutboxMessage, self.instance)
        together: dict[tuple[MessageStatus, str], list[int]] = {}
        for outcome in outcomes:
            if outcome.status in (MessageStatus.SENT, MessageStatus.CANCELLED):
                together.setdefault((outcome.status, outcome.error), []).append(outcome.id)
        async with self.db.writing() as session:
            for (status, error), ids in together.items():
                values: dict[str, object] = {
                    "status": status,
                    "claimed_until": None,
                    "last_error": error,
                }
                if status == MessageStatus.SENT:
                    values["sent_at"] = now
                await session.execute(
                    update(OutboxMessage).where(OutboxMessage.id.in_(ids), mine).values(**values)
                )
            for outcome in outcomes:
                if outcome.status in (MessageStatus.SENT, MessageStatus.CANCELLED):
                    continue
                values = leases.result(outcome.status, outcome.error, outcome.retry_at)
                await session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == outcome.id, mine)
                    .values(**values)
                )
