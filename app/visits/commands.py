"""The expert departments requests are sent on to, as administrators change them: adding
one, and renaming it, changing its usual delay or its email, making it a partner's
account, retiring it or offering it again. Each change is written in the audit log, with
what changed but never the email."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app import events
from app.accounts.actors import Actor
from app.accounts.service import authorize
from app.booking.contacts import deliverable_email
from app.db import writing
from app.errors import BadRequest, Conflict, NotFound
from app.partners.models import Partner
from app.sites.catalog import LINE_PATTERN
from app.visits.activity_rules import (
    MAX_MINUTES,
    ActivityReport,
    AgeBand,
    Autonomy,
    Equipment,
    Referral,
    SocialStatus,
    Theme,
)
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


PartnerId = Annotated[
    int,
    msgspec.Meta(
        ge=1,
        le=2**31 - 1,
        description="The partner whose account this department is (a CCAS, a France "
        "Services): the requests sent on to it are listed on the partner's page, where it "
        "answers them. null: no partner.",
    ),
]


class DepartmentIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    code: Code
    name: Name
    answer_days: AnswerDays = 15
    email: DepartmentEmail | None = None
    partner: PartnerId | None = None


class ActivityIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The activity record of a visit, in La Coop de la médiation numérique's values; what
    is left out takes its default: the themes and equipment of the démarches done, the
    length measured from start to finish, partly autonomous, a referral to the body in
    charge when the request is sent on, age band and social status not told."""

    themes: Annotated[list[Theme], msgspec.Meta(min_length=1, max_length=30)] | None = None
    minutes: Annotated[int, msgspec.Meta(ge=1, le=MAX_MINUTES)] | None = None
    equipment: Annotated[list[Equipment], msgspec.Meta(max_length=5)] | None = None
    autonomy: Autonomy | None = None
    referral: Referral | None = None
    aidants_connect: Annotated[
        bool, msgspec.Meta(description="Help given under an Aidants Connect mandate")
    ] = False
    age_band: AgeBand | None = None
    social_status: SocialStatus | None = None

    def report(self) -> ActivityReport:
        return ActivityReport(
            themes=tuple(self.themes) if self.themes is not None else None,
            minutes=self.minutes,
            equipment=tuple(self.equipment) if self.equipment is not None else None,
            autonomy=self.autonomy,
            referral=self.referral,
            aidants_connect=self.aidants_connect,
            age_band=self.age_band,
            social_status=self.social_status,
        )


class DepartmentChange(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Name | None = None
    answer_days: AnswerDays | None = None
    active: bool | None = None
    email: DepartmentEmail | None = None
    partner: PartnerId | msgspec.UnsetType | None = msgspec.UNSET


async def partner_of(session: AsyncSession, partner_id: int | None) -> int | None:
    """`partner_id` if a partner whose key is not revoked has it (400 otherwise)."""
    if partner_id is None:
        return None
    partner = await session.get(Partner, partner_id)
    if partner is None or partner.revoked_at is not None:
        raise BadRequest(f"No partner has the id {partner_id}.", code="partner_unknown")
    return partner_id


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
    taken = Conflict(f"A department already has the code {data.code!r}.")
    async with writing(session):
        if await session.scalar(select(Department).where(Department.code == data.code)):
            raise taken
        department = Department(
            code=data.code,
            name=data.name.strip(),
            answer_days=data.answer_days,
            position=100,
            email=email,
            partner_id=await partner_of(session, data.partner),
        )
        session.add(department)
        try:
            await session.flush()
        except IntegrityError as exc:  # the same code, added at the same instant
            raise taken from exc
        await events.administered(
            session,
            actor.agent_id,
            now,
            "department.created",
            f"department:{data.code}",
            answer_days=data.answer_days,
            email=email is not None or None,
            partner_id=data.partner,
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
        if not isinstance(data.partner, msgspec.UnsetType):
            department.partner_id = await partner_of(session, data.partner)
        changed = {
            "renamed": data.name is not None or None,
            "answer_days": data.answer_days,
            "active": data.active,
            "email": None if data.email is None else email is not None,
            # 0: no longer a partner's account (None would say "unchanged").
            "partner_id": None
            if isinstance(data.partner, msgspec.UnsetType)
            else data.partner or 0,
        }
        target = f"department:{code}"
        await events.administered(
            session, actor.agent_id, now, "department.changed", target, **changed
        )
    return department
