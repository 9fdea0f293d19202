"""An actor is authorized by role and mairie, whoever they are and however they came in."""

from __future__ import annotations

import pytest

from app.accounts.actors import MANAGERS, STAFF, Actor, Role
from app.accounts.models import Agent
from app.errors import Forbidden
from app.sites.models import Site

PARIS_15 = Site(id=15, slug="paris-15", name="Mairie du 15e")
PARIS_19 = Site(id=19, slug="paris-19", name="Mairie du 19e")


def test_an_agent_acts_with_their_role_and_their_mairies() -> None:
    agent = Agent(id=7, email="m@example.org", role="manager", sites=[PARIS_15])

    actor = Actor.of(agent)

    assert actor == Actor(
        role=Role.MANAGER, site_ids=frozenset({15}), site_slugs=frozenset({"paris-15"}), agent_id=7
    )
    actor.authorize(roles=MANAGERS, site=PARIS_15)
    with pytest.raises(Forbidden, match="Mairie du 19e"):
        actor.authorize(roles=MANAGERS, site=PARIS_19)


def test_a_role_below_the_one_asked_is_refused_even_at_home() -> None:
    desk = Actor(role=Role.RECEPTION, site_ids=frozenset({15}), agent_id=3)

    desk.authorize(roles=STAFF, site=PARIS_15)
    with pytest.raises(Forbidden, match="role"):
        desk.authorize(roles=MANAGERS, site=PARIS_15)


def test_an_administrator_may_do_everything_everywhere() -> None:
    admin = Actor(role=Role.ADMIN, site_ids=frozenset(), agent_id=1)

    admin.authorize(roles=MANAGERS, site=PARIS_19)
    assert admin.works_at(19)
    assert admin.may({Role.RECEPTION})
