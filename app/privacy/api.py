"""One person's data, for managers (their mairies) and administrators (all): look it up by
email or phone, and erase it on request."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

from litestar import get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, QueryParameter

from app.accounts.guards import Caller
from app.privacy import service
from app.privacy.schemas import ErasedOut, EraseIn, PersonOut, person_out
from app.problems import problem_responses
from app.web.api import SiteQuery, StaffApi, managed_sites

EmailQuery = Annotated[str | None, QueryParameter(max_length=254, description="Their email")]
PhoneQuery = Annotated[str | None, QueryParameter(max_length=40, description="Their phone")]


class PeopleController(StaffApi):
    path = "/api/v1/admin/people"
    tags = ["admin"]

    @get(
        "/",
        summary="What is held of one person (by email or phone) at the agent's mairies",
        description="Found by the email or phone given, and by the phones given with that "
        "email on the person's appointments (or the emails given with that phone): one step "
        "of this widening, no further. What is reached only through the widening and carries "
        "another contact of its own (an appointment with that phone and another email, or "
        "that email and another phone, with its ticket and messages) is not surely the "
        "person's: it is left out, here and from the erasure. Each appointment and ticket "
        "shows its contact.",
        responses=problem_responses(400, 404),
    )
    async def find_person(
        self,
        caller: NamedDependency[Caller],
        email: EmailQuery = None,
        phone: PhoneQuery = None,
        site: SiteQuery = None,
    ) -> PersonOut:
        sites = await managed_sites(caller, site)
        contact = service.contact_of(email, phone)
        found = await service.find(caller.session, contact, list(sites))
        return person_out(found, sites)

    @post(
        "/erase",
        status_code=200,
        summary="Erase one person's data at the agent's mairies (right to erasure)",
        description="Erases what the search by the same email or phone finds (its widening "
        "included, what it leaves out left alone): blanks names, contacts, needs, free texts "
        "and messages as the retention sweep does, cancels messages not sent yet, and "
        "cancels the appointments still to come (counted in `appointments`; their slots are "
        "free again, the webhooks hear `appointment.cancelled`, the person is sent nothing). "
        "The anonymous figures stay the same. Written in the journal of each mairie "
        "concerned, with counts only.",
        responses=problem_responses(400, 404),
    )
    async def erase_person(
        self,
        data: JSONBody[EraseIn],
        caller: NamedDependency[Caller],
    ) -> ErasedOut:
        sites = await managed_sites(caller, data.site)
        contact = service.contact_of(data.email, data.phone)
        erased = await service.erase(
            caller.session,
            contact,
            list(sites),
            agent_id=caller.actor.agent_id,
            now=caller.now,
            outbox=Path(caller.settings.outbox_dir),
        )
        return ErasedOut(
            sites=[site.slug for site in sites.values()], **dataclasses.asdict(erased.blanked)
        )
