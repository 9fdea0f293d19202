"""Partners administered by the City's administrators: created with a key shown once,
listed without it, revoked at once. Each change is written with its audit line in one
transaction, in the journal of every mairie the partner books at.

Also what the guards ask: the partner a key belongs to, unless it was revoked."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

import msgspec
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app import events
from app.accounts.actors import Actor
from app.booking.contacts import deliverable_email
from app.db import writing
from app.errors import DomainError, Forbidden, Invalid, NotFound, Problem
from app.i18n import gettext
from app.partners import rules
from app.partners.models import Partner, PartnerSession
from app.sites.models import Site

# Administrators only: nobody else hands out keys that book at any mairie.
ADMINISTRATORS: frozenset[str] = frozenset()

SiteSlug = Annotated[str, msgspec.Meta(max_length=40)]


class PartnerIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A new partner: its name, the email its copies go to, the mairies it books at."""

    name: Annotated[str, msgspec.Meta(max_length=rules.MAX_NAME, examples=["CCAS du 15e"])]
    email: Annotated[str, msgspec.Meta(max_length=254)]
    sites: Annotated[list[SiteSlug], msgspec.Meta(max_length=rules.MAX_SITES)]


@dataclass(frozen=True)
class Created:
    """A partner just created, and its key: shown once, never kept."""

    partner: Partner
    key: str


def _authorize(actor: Actor) -> None:
    if not actor.may(ADMINISTRATORS):
        raise Forbidden("Only an administrator runs the partners.", code="admin_only")


async def _sites_named(session: AsyncSession, slugs: Sequence[str]) -> list[Site] | None:
    """The sites at `slugs`, every one of them; None if one is no mairie's."""
    wanted = set(slugs)
    found = list(await session.scalars(select(Site).where(Site.slug.in_(wanted))))
    return found if len(found) == len(wanted) else None


async def _checked(session: AsyncSession, data: PartnerIn) -> tuple[str, str, list[Site]]:
    """The name, email and sites of `data`, or every reason they are refused (400)."""
    problems = []
    name = rules.clean_name(data.name)
    if name is None:
        problems.append(
            Problem(
                "name",
                f"Name the partner in one line of at most {rules.MAX_NAME} characters.",
                gettext("Indiquez le nom du partenaire, sur une ligne."),
            )
        )
    email = ""
    try:
        email = deliverable_email(data.email)
    except DomainError as error:
        problems.append(Problem("email", error.detail, gettext("Adresse e-mail invalide.")))
    sites = await _sites_named(session, data.sites) if data.sites else None
    if sites is None:
        problems.append(
            Problem(
                "sites",
                "Give the slugs of the mairies the partner books at, each a mairie's.",
                gettext("Choisissez les mairies où le partenaire prend rendez-vous."),
            )
        )
    if problems or name is None or sites is None:
        raise Invalid(problems)
    return name, email, sites


async def _audit(
    session: AsyncSession,
    actor: Actor,
    now: datetime,
    action: str,
    partner: Partner,
    **details: object,
) -> None:
    """The audit line of `action` done to `partner`, named in it, in the journal of every
    mairie it books at."""
    site_ids = [site.id for site in partner.sites]
    target = f"partner:{partner.id}"
    await events.administered(
        session, actor.agent_id, now, action, target, site_ids, name=partner.name, **details
    )


async def create(session: AsyncSession, actor: Actor, data: PartnerIn, *, now: datetime) -> Created:
    """A new partner bound to its mairies, with a new key."""
    _authorize(actor)
    name, email, sites = await _checked(session, data)
    made = rules.new_key()
    async with writing(session):
        partner = Partner(
            name=name,
            email=email,
            key_lookup=made.lookup,
            key_digest=made.digest,
            created_at=now,
            sites=sites,
        )
        session.add(partner)
        await session.flush()
        slugs = sorted(site.slug for site in sites)
        await _audit(session, actor, now, "partner.created", partner, sites=slugs)
        partner_id = partner.id
    return Created(await get(session, partner_id), made.key)


async def get(session: AsyncSession, partner_id: int) -> Partner:
    partner = await session.scalar(
        select(Partner).where(Partner.id == partner_id).options(selectinload(Partner.sites))
    )
    if partner is None:
        raise NotFound(f"No partner has the id {partner_id}.")
    return partner


async def partners(session: AsyncSession, actor: Actor) -> list[Partner]:
    """Every partner, revoked ones too, in the order they were created."""
    _authorize(actor)
    query = select(Partner).options(selectinload(Partner.sites)).order_by(Partner.id)
    return list(await session.scalars(query))


async def revoke(session: AsyncSession, actor: Actor, partner_id: int, *, now: datetime) -> None:
    """The partner's key no longer works, from this instant, and its page's sessions end.
    Revoking a revoked partner changes nothing."""
    _authorize(actor)
    async with writing(session):
        partner = await get(session, partner_id)
        if partner.revoked_at is not None:
            return
        partner.revoked_at = now
        await session.execute(delete(PartnerSession).where(PartnerSession.partner_id == partner.id))
        await _audit(session, actor, now, "partner.revoked", partner)


async def partner_of_key(session: AsyncSession, key: str) -> Partner | None:
    """The partner whose key is `key`, with its mairies, unless it was revoked."""
    lookup = rules.lookup_of(key)
    if lookup is None:
        return None
    partner = await session.scalar(
        select(Partner).where(Partner.key_lookup == lookup).options(selectinload(Partner.sites))
    )
    if partner is None or not rules.key_matches(key, partner.key_digest):
        return None
    return partner if partner.revoked_at is None else None
