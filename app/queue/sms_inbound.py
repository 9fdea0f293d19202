"""The SMS gateway's inbound webhook: a holder answers a keyword (QUITTER, ANNULER, STOP)
to a text about their ticket, and leaves the queue (`app.queue.remote.leave_by_phone`);
STOP also ends the offers of earlier slots to the number (`app.waitlist`).

The gateway posts `{"id": "…", "sent_at": "2026-12-03T09:15:00Z", "from":
"+33612345678", "text": "Quitter"}` (its own id of the text; the number as it writes it:
+33…, 33… or 06…) to `POST /api/v1/sms/inbound`, signed with the shared secret
`GUICHET_SMS_INBOUND_SECRET`: the header `X-Guichet-Signature: sha256=<hex>` holds the
HMAC-SHA256 of the raw body. Without the setting, the webhook is off (404).

A signed body caught on its way could be posted again, days later, to make the same
number leave a new ticket: a text sent more than `TEXT_WINDOW` from now is refused, and one
whose id was already taken is answered without acting again (the gateway re-sending it
after a lost answer gets the same nothing).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from typing import Annotated

import msgspec
from litestar import Controller, Request, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlalchemy.dialects import postgresql, sqlite

from app.db import writing
from app.errors import BadRequest, NotFound, Unauthorized
from app.plain_text import plain
from app.problems import problem_responses
from app.queue import remote
from app.queue.models import ReceivedText
from app.waitlist import commands as waitlist
from app.web.context import Context

SIGNATURE_HEADER = "X-Guichet-Signature"
SIGNATURE_PREFIX = "sha256="
STOP = "stop"  # also the word that ends every text of a kind, as in any SMS service
LEAVING_WORDS = frozenset({"quitter", "annuler", STOP})
# How far from now a text's `sent_at` may be: a gateway forwards within seconds; a clock a
# little off is forgiven.
TEXT_WINDOW = timedelta(minutes=10)


class InboundText(msgspec.Struct, kw_only=True):
    """A text someone sent to the service's number, as the gateway forwards it: its id at
    the gateway, when it was sent, by whom, what it says."""

    id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    sent_at: datetime
    sender: Annotated[str, msgspec.Meta(max_length=32)] = msgspec.field(name="from")
    text: Annotated[str, msgspec.Meta(max_length=2000)]


class InboundOut(msgspec.Struct, kw_only=True):
    """The ticket its holder left by this text (its number), or None: none was left; and
    how many requests for an earlier slot it stopped."""

    left: str | None
    offers_stopped: int = 0
    already_taken: bool = False


def signature(secret: str, body: bytes) -> str:
    """The signature header's value for `body`."""
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signed(secret: str, body: bytes, given: str | None) -> bool:
    """Whether `given` is the signature of `body` with `secret` (compared in constant time)."""
    return given is not None and hmac.compare_digest(
        given.strip().encode(), signature(secret, body).encode()
    )


def in_window(sent_at: datetime, now: datetime) -> bool:
    """Whether a text sent at `sent_at` may be taken `now` (a time without offset is not)."""
    return sent_at.tzinfo is not None and abs(now - sent_at) <= TEXT_WINDOW


def keyword(text: str) -> str:
    """The text as a keyword: surrounding spaces and a final full stop or exclamation mark
    dropped, accents taken off, lower case ("  Annulér. " is "annuler")."""
    return plain(text.strip().rstrip(".!").strip())


def wants_to_leave(text: str) -> bool:
    """Whether the text is one of the keywords that leave the queue."""
    return keyword(text) in LEAVING_WORDS


async def first_time(context: Context, message_id: str) -> bool:
    """Remember the gateway's id of a text, in the caller's writing transaction; False if
    it was already taken (by this instance or another: the row is the lock)."""
    session = context.session
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    result = await session.execute(
        insert(ReceivedText)
        .values(message_id=message_id, received_at=context.now)
        .on_conflict_do_nothing(index_elements=[ReceivedText.message_id])
        .returning(ReceivedText.message_id)
    )
    return result.first() is not None


class SmsInboundController(Controller):
    path = "/api/v1/sms"
    tags = ["queue from a phone"]

    @post(
        "/inbound",
        status_code=200,
        summary="A text sent to the service's number, forwarded by the SMS gateway",
        description="JSON `{id, sent_at, from, text}`, signed: header "
        "`X-Guichet-Signature: sha256=<hex>`, the HMAC-SHA256 of the raw body with "
        "GUICHET_SMS_INBOUND_SECRET (401 without it or with a wrong one; 404 while the "
        "setting is empty). A text sent more than ten minutes from now is refused (400 "
        "`stale_text`), a `sent_at` without its offset from UTC too (400 `sent_at_offset`); "
        "one whose `id` was already taken is not acted on again "
        "(`already_taken`). QUITTER, ANNULER or STOP (any case, with or without accents) "
        'cancels the live ticket of the number (`{"left": "A012"}`); STOP also stops the '
        "offers of earlier slots to the number (`offers_stopped`); anything else is ignored "
        '(`{"left": null}`).',
        responses=problem_responses(400, 401, 404),
    )
    async def inbound(
        self, request: Request[object, object, State], context: NamedDependency[Context]
    ) -> InboundOut:
        secret = context.settings.sms_inbound_secret
        if not secret:
            raise NotFound("No inbound texts are taken here.")
        body = await request.body()
        if not signed(secret, body, request.headers.get(SIGNATURE_HEADER)):
            raise Unauthorized("Missing or wrong signature of the body.")
        try:
            received = msgspec.json.decode(body, type=InboundText)
        except msgspec.ValidationError as exc:
            raise BadRequest(f"Not an inbound text: {exc}") from exc
        except msgspec.DecodeError as exc:
            raise BadRequest("The body is not JSON.") from exc
        if received.sent_at.tzinfo is None:
            raise BadRequest(
                "`sent_at` must say its offset from UTC (for example 2026-12-05T10:00:00Z).",
                code="sent_at_offset",
            )
        if not in_window(received.sent_at, context.now):
            raise BadRequest(
                "The text was not sent within ten minutes of now: it is not taken.",
                code="stale_text",
            )
        # The text is taken with what it does, or not at all (the gateway sends it again).
        async with writing(context.session):
            if not await first_time(context, received.id):
                return InboundOut(left=None, already_taken=True)
            if not wants_to_leave(received.text):
                return InboundOut(left=None)
            ticket = await remote.leave_by_phone(context.session, received.sender, now=context.now)
            stopped = 0
            if keyword(received.text) == STOP:
                stopped = await waitlist.stop_by_phone(
                    context.session, received.sender, context.now
                )
        return InboundOut(
            left=ticket.number if ticket is not None else None, offers_stopped=stopped
        )
