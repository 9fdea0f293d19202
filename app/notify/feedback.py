"""The follow-up's one question: how satisfied the usager was, and a word if they like."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from app.db import Database
from app.errors import BadRequest, Conflict
from app.notify.models import FollowUpAnswer
from app.queue import service as queue

MAX_COMMENT = 1000


async def answer_of(db: Database, token: str, now: datetime) -> FollowUpAnswer | None:
    async with db.session() as session:
        view = await queue.by_token(session, token, now)
        found: FollowUpAnswer | None = await session.scalar(
            select(FollowUpAnswer).where(FollowUpAnswer.ticket_id == view.ticket.id)
        )
        return found


async def record(db: Database, token: str, score: int, comment: str, now: datetime) -> None:
    """Record the answer of the visit behind `token`; a second answer replaces the first."""
    if not 1 <= score <= 5:
        raise BadRequest("The score is from 1 to 5.", code="score_invalid")
    comment = " ".join(comment.split())[:MAX_COMMENT]
    async with db.writing() as session:
        view = await queue.by_token(session, token, now)
        ticket = view.ticket
        if ticket.status != "done":
            raise Conflict("The visit is not over yet.", code="visit_not_over")
        answer = await session.scalar(
            select(FollowUpAnswer).where(FollowUpAnswer.ticket_id == ticket.id)
        )
        if answer is None:
            session.add(
                FollowUpAnswer(
                    ticket_id=ticket.id,
                    site_id=ticket.site_id,
                    score=score,
                    comment=comment,
                    answered_at=now,
                )
            )
        else:
            answer.score, answer.comment, answer.answered_at = score, comment, now
