"""The follow-up's one question: how satisfied the usager was, and a word if they like.

Answering again (the link is in a text and an email, and may be opened twice) changes the
score — the latest is what the person thinks — but never erases what they wrote: a new
comment is added after the earlier one (unless it says the same), and an empty one leaves
it as it was. The page shows the comment already given and asks only for what to add."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import writing
from app.errors import BadRequest, Conflict
from app.queue import views as queue
from app.queue.models import TicketStatus
from app.visits.models import FollowUpAnswer

MAX_COMMENT = 1000


async def answer_of(session: AsyncSession, token: str, now: datetime) -> FollowUpAnswer | None:
    view = await queue.by_token(session, token, now)
    return await _answer_to(session, view.ticket.id)


async def _answer_to(session: AsyncSession, ticket_id: int) -> FollowUpAnswer | None:
    found: FollowUpAnswer | None = await session.scalar(
        select(FollowUpAnswer).where(FollowUpAnswer.ticket_id == ticket_id)
    )
    return found


def joined(earlier: str, added: str) -> str:
    """The comment once `added` is given after `earlier`: both, unless one holds the other
    (the same words sent twice, or the earlier ones sent back with more), within
    MAX_COMMENT characters (what comes first is kept)."""
    if not added or added in earlier:
        return earlier
    if not earlier or earlier in added:
        return added[:MAX_COMMENT]
    return f"{earlier} / {added}"[:MAX_COMMENT]


async def record(
    session: AsyncSession, token: str, score: int, comment: str, now: datetime
) -> None:
    """Record the answer of the visit behind `token`. A second answer's score replaces the
    first's; its comment is added to the first's, never put in its place."""
    if not 1 <= score <= 5:
        raise BadRequest("The score is from 1 to 5.", code="score_invalid")
    comment = " ".join(comment.split())[:MAX_COMMENT]
    async with writing(session):
        view = await queue.by_token(session, token, now)
        ticket = view.ticket
        if ticket.status != TicketStatus.DONE:
            raise Conflict("The visit is not over yet.", code="visit_not_over")
        answer = await _answer_to(session, ticket.id)
        if answer is None:
            answer = FollowUpAnswer(ticket_id=ticket.id, site_id=ticket.site_id, comment="")
            session.add(answer)
        answer.score, answer.answered_at = score, now
        answer.comment = joined(answer.comment, comment)
