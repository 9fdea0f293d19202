"""`guichet demo`: the Paris demo data, and on a developer's machine, demo staff accounts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select

from app.accounts.models import Agent
from app.accounts.service import create_agent
from app.db import Database, utcnow
from app.live.screens import display_path, pair_demo_screen
from app.sites.demo import DemoReport, load_demo
from app.sites.models import Site

DEMO_SCREEN_SITE = "paris-15"
DEMO_PASSWORD = "demo-guichet-paris"  # noqa: S105 (demo accounts exist only in local mode)
DEMO_AGENTS = [
    ("admin@guichet.example.org", "Administratrice Ville", "admin", []),
    ("responsable.paris15@guichet.example.org", "Responsable 15e", "manager", ["paris-15"]),
    ("accueil.paris15@guichet.example.org", "Accueil 15e", "reception", ["paris-15"]),
    ("facilitateur.paris15@guichet.example.org", "Facilitateur 15e", "facilitator", ["paris-15"]),
    ("facilitateur.paris20@guichet.example.org", "Facilitatrice 20e", "facilitator", ["paris-20"]),
]


@dataclass
class DemoLoaded:
    data: DemoReport
    agents: list[str] = field(default_factory=list)
    screen_path: str | None = None  # a paired lobby screen of paris-15, with its key


async def load(db: Database, *, today: date, with_agents: bool, secret: str = "") -> DemoLoaded:
    """Load what is missing of the demo; `with_agents` only where passwords may be known,
    and then, with `secret`, a paired lobby screen of paris-15 (its key derived from it)."""
    async with db.writing() as session:
        report = DemoLoaded(await load_demo(session, today=today))
        if with_agents:
            existing = set(await session.scalars(select(Agent.email)))
            for email, name, role, sites in DEMO_AGENTS:
                if email not in existing:
                    await create_agent(
                        session,
                        email=email,
                        password=DEMO_PASSWORD,
                        role=role,
                        site_slugs=sites,
                        name=name,
                    )
                    report.agents.append(email)
            site = await session.scalar(select(Site).where(Site.slug == DEMO_SCREEN_SITE))
            if site is not None and secret:
                key = await pair_demo_screen(session, site.id, site.slug, secret, utcnow())
                report.screen_path = display_path(site.slug, key) if key else None
    return report
