"""Who asks for a command: an `Actor`, the same shape whoever they are.

A command authorizes its actor by role and mairie, not by how they came in: an agent
through a staff token or their console's session, a partner (a CCAS, a France Services)
through its key or its page's session. Actors are plain values, read once per request
from the account: a command never changes them, and they stay valid past a commit.

A partner has no staff role: it may only book for the people it refers, at its mairies
(`refers_at`); every staff rule refuses it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from app.errors import Forbidden

if TYPE_CHECKING:
    from app.accounts.models import Agent
    from app.partners.models import Partner
    from app.sites.models import Site


class Role(StrEnum):
    """What an agent may do, from the desk up; an administrator may do everything
    everywhere."""

    RECEPTION = "reception"
    FACILITATOR = "facilitator"
    MANAGER = "manager"
    ADMIN = "admin"


STAFF = frozenset({Role.RECEPTION, Role.FACILITATOR, Role.MANAGER, Role.ADMIN})
MANAGERS = frozenset({Role.MANAGER})  # and administrators, who may do everything


@dataclass(frozen=True)
class Actor:
    """Who asks: their `role` (None: no staff role, a partner), the mairies they act for
    (`site_ids`; every one for an administrator), and the agent's id when an agent asks
    (for the audit log), or the partner's when a partner does."""

    role: Role | None
    site_ids: frozenset[int]
    site_slugs: frozenset[str] = frozenset()
    agent_id: int | None = None
    partner_id: int | None = None

    @classmethod
    def of(cls, agent: Agent) -> Actor:
        """An agent, as their account stands (role and mairies loaded with it)."""
        return cls(
            role=Role(agent.role),
            site_ids=frozenset(site.id for site in agent.sites),
            site_slugs=frozenset(site.slug for site in agent.sites),
            agent_id=agent.id,
        )

    @classmethod
    def of_partner(cls, partner: Partner) -> Actor:
        """A partner, as its account stands (its mairies loaded with it)."""
        return cls(
            role=None,
            site_ids=frozenset(site.id for site in partner.sites),
            site_slugs=frozenset(site.slug for site in partner.sites),
            partner_id=partner.id,
        )

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_partner(self) -> bool:
        return self.partner_id is not None

    def works_at(self, site_id: int) -> bool:
        return self.is_admin or site_id in self.site_ids

    def may(self, roles: Collection[str]) -> bool:
        """Whether one of `roles` is theirs (an administrator's always is)."""
        return self.is_admin or (self.role is not None and self.role in roles)

    def authorize(self, *, roles: Collection[str], site: Site | None = None) -> None:
        """403 unless they have one of `roles` and, when `site` is given, act for it."""
        if not self.may(roles):
            raise Forbidden("Your role does not allow this action.")
        if site is not None and not self.works_at(site.id):
            raise Forbidden(f"You do not work at {site.name}.")

    def refers_at(self, site: Site) -> None:
        """403 unless a partner asks, and books at one of its mairies."""
        if not self.is_partner:
            raise Forbidden("Only a partner's key books for a partner.", code="not_a_partner")
        if site.id not in self.site_ids:
            raise Forbidden(
                f"Your partner key does not book at {site.name}.", code="partner_elsewhere"
            )
