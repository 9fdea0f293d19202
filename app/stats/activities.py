"""The figures the ecosystem reads: the finished visits' activity records (La Coop de la
médiation numérique's values: how many visits for each autonomy, and for each theme), and
the referrals of partners (how many appointments each booked, and what became of them),
over the range of the figures."""

from __future__ import annotations

from collections import Counter
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.partners.figures import referrals
from app.shapes import from_model
from app.sites.models import Site
from app.stats.schemas import ReferralFigures, Stats
from app.visits.activity_rules import AUTONOMY, THEMES
from app.visits.models import Activity, Visit


async def activity_counts(
    session: AsyncSession, site_ids: list[int], first: date, last: date
) -> tuple[dict[str, int], dict[str, int]]:
    """For the visits of `site_ids` from `first` to `last` (local days): the count of each
    autonomy and of each theme, every value of La Coop's lists given, in their order.
    Themes are stored in one order, so the rows come grouped by the set of themes."""
    rows = await session.execute(
        select(Activity.autonomy, Activity.themes, func.count())
        .join(Visit, Visit.id == Activity.visit_id)
        .where(Visit.site_id.in_(site_ids), Visit.day >= first, Visit.day <= last)
        .group_by(Activity.autonomy, Activity.themes)
    )
    autonomy: Counter[str] = Counter()
    themes: Counter[str] = Counter()
    for level, chosen, count in rows:
        autonomy[level] += count
        for theme in chosen:
            themes[theme] += count
    return (
        {level: autonomy[level] for level in AUTONOMY},
        {theme: themes[theme] for theme in THEMES},
    )


async def with_activities(
    session: AsyncSession, stats: Stats, sites: list[Site], first: date, last: date
) -> Stats:
    """`stats` with the autonomy and the themes of its visits, and the partners'
    referrals to its mairies."""
    site_ids = [site.id for site in sites]
    stats.autonomy, stats.themes = await activity_counts(session, site_ids, first, last)
    zone = ZoneInfo(sites[0].timezone if sites else "Europe/Paris")
    found = await referrals(session, site_ids, first, last, zone)
    stats.referrals = [from_model(partner, ReferralFigures) for partner in found]
    return stats
