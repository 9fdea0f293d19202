"""The expert departments requests are sent on to, as administrators change them: adding
one, and renaming it, changing its usual delay or its email, retiring it or offering it
again. Each change is written in the audit log, with what changed but never the email."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import events
from app.accounts.actors import Actor
from app.accounts.service import authorize
from app.booking.contacts import deliverable_email
from app.db import writing
from app.errors import Conflict, NotFound
from app.sites.catalog import LINE_PATTERN
from app.visits.models import Department

Code = Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=r"^(?!.*\n)[a-z0-9-]+$")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=120, pattern=LINE_PATTERN)]
AnswerDays = Annotated[int, msgspec.Meta(ge=1, le=365)]
DepartmentEmail = Annotated[
    str,
    msgspec.Meta(
        max_length=254,
        description="Where the department receives the requests sent on to it, each with a "
        "private link to answer; an empty string removes it.",
    ),
]


class DepartmentIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    code: Code
    name: Name
    answer_days: AnswerDays = 15
    email: DepartmentEmail | None = None


class DepartmentChange(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Name | None = None
    answer_days: AnswerDays | None = None
    active: bool | None = None
    email: DepartmentEmail | None = None


def department_email(value: str | None) -> str | None:
    """The address as stored (BadRequest when no mail could reach it), None for none."""
    if value is None or not value.strip():
        return None
    return deliverable_email(value)


async def add_department(
    session: AsyncSession, data: DepartmentIn, *, actor: Actor, now: datetime
) -> Department:
    """A new department, last in the list (administrators only)."""
    authorize(actor, roles=())
    email = department_email(data.email)
    async with writing(session):
        if await session.scalar(select(Department).where(Department.code == data.code)):
            raise Conflict(f"A department already has the code {data.code!r}.")
        department = Department(
            code=data.code,
            name=data.name.strip(),
            answer_days=data.answer_days,
            position=100,
            email=email,
        )
        session.add(department)
        await events.administered(
            session,
            actor.agent_id,
            now,
            "department.created",
            f"department:{data.code}",
            answer_days=data.answer_days,
            email=email is not None or None,
        )
    return department


async def change_department(
    session: AsyncSession, code: str, data: DepartmentChange, *, actor: Actor, now: datetime
) -> Department:
    """Rename the department at `code`, change its delay or its email, retire it or offer
    it again (administrators only); what `data` leaves out stays as it is."""
    authorize(actor, roles=())
    email = department_email(data.email)
    async with writing(session):
        department = await session.scalar(select(Department).where(Department.code == code))
        if department is None:
            raise NotFound(f"No department has the code {code!r}.")
        if data.name is not None:
            department.name = data.name.strip()
        if data.answer_days is not None:
            department.answer_days = data.answer_days
        if data.active is not None:
            department.active = data.active
        if data.email is not None:
            department.email = email
        changed = {
            "renamed": data.name is not None or None,
            "answer_days": data.answer_days,
            "active": data.active,
            "email": None if data.email is None else email is not None,
        }
        target = f"department:{code}"
        await events.administered(
            session, actor.agent_id, now, "department.changed", target, **changed
        )
    return department
