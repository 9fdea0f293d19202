"""Administrators create partners and their keys."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from litestar import delete, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter

from app.accounts.guards import Caller
from app.partners import commands
from app.partners.commands import PartnerIn
from app.partners.models import Partner
from app.problems import problem_responses
from app.shapes import from_model
from app.web.api import AdministrationApi
from app.web.context import Context

PartnerId = Annotated[int, PathParameter(ge=1, le=2**31 - 1, description="The partner's id")]


class PartnerOut(msgspec.Struct, kw_only=True):
    """A partner as administrators see it: never its key, which was shown once."""

    id: int
    name: str
    email: str
    sites: list[str]
    active: bool
    created_at: datetime
    revoked_at: datetime | None


class CreatedOut(PartnerOut, kw_only=True):
    """The partner just created and its key, shown this once: only its digest is kept.
    Lost, revoke the partner and create it again."""

    key: str


def partner_out(partner: Partner, context: Context) -> PartnerOut:
    zone = context.zone
    return from_model(
        partner,
        PartnerOut,
        sites=partner.site_slugs,
        created_at=partner.created_at.astimezone(zone),
        revoked_at=partner.revoked_at.astimezone(zone) if partner.revoked_at else None,
    )


class PartnersAdminController(AdministrationApi):
    path = "/api/v1/admin/partners"

    @get("/", summary="The partners who refer people, without their keys (administrator)")
    async def list_partners(self, caller: NamedDependency[Caller]) -> list[PartnerOut]:
        found = await commands.partners(caller.session, caller.actor)
        return [partner_out(partner, caller.context) for partner in found]

    @post(
        "/",
        summary="Create a partner bound to mairies: its key is shown this once (administrator)",
        description="The partner books with `Authorization: Bearer <key>` and "
        '`channel: "partner"` at these mairies only; each booking sends the person the '
        "confirmation and the partner a copy. Written to the audit log.",
        responses=problem_responses(400),
    )
    async def create_partner(
        self, data: JSONBody[PartnerIn], caller: NamedDependency[Caller]
    ) -> CreatedOut:
        created = await commands.create(caller.session, caller.actor, data, now=caller.now)
        shown = partner_out(created.partner, caller.context)
        return CreatedOut(**msgspec.structs.asdict(shown), key=created.key)

    @delete(
        "/{partner_id:int}",
        summary="Revoke a partner's key: refused at once, its page's sessions end (administrator)",
    )
    async def revoke_partner(self, partner_id: PartnerId, caller: NamedDependency[Caller]) -> None:
        await commands.revoke(caller.session, caller.actor, partner_id, now=caller.now)
