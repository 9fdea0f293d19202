"""The figures of referrals: how many appointments each partner booked at some mairies over
some days, and what became of them (honoured, missed, cancelled), by the local day they
start, as the other figures count appointments."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.booking.models import Appointment, AppointmentStatus
from app.partners.models import Partner

HONOURED = (AppointmentStatus.CHECKED_IN, AppointmentStatus.SERVED)
CANCELLED = (AppointmentStatus.CANCELLED, AppointmentStatus.CALLED_OFF)


@dataclass(frozen=True)
class Referrals:
    """A partner's referrals over the period: `booked` counts them all, whatever became
    of them; `honoured` the people who came, `missed` those who did not, `cancelled`
    those cancelled by the person or called off by the mairie."""

    partner_id: int
    partner: str
    booked: int = 0
    honoured: int = 0
    missed: int = 0
    cancelled: int = 0


def _instant(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=zone)


async def referrals(
    session: AsyncSession,
    site_ids: Collection[int],
    first: date,
    last: date,
    zone: ZoneInfo,
) -> list[Referrals]:
    """Each partner's referrals to the mairies `site_ids` starting from `first` to `last`
    (local days of `zone`, the mairies'), by partner name; partners without any are left
    out."""
    if not site_ids or last < first:
        return []
    a = Appointment
    rows = await session.execute(
        select(Partner.id, Partner.name, a.status, func.count())
        .join(Partner, Partner.id == a.partner_id)
        .where(
            a.site_id.in_(site_ids),
            a.starts_at >= _instant(first, zone),
            a.starts_at < _instant(last + timedelta(days=1), zone),
        )
        .group_by(Partner.id, Partner.name, a.status)
    )
    names: dict[int, str] = {}
    counts: dict[int, Counter[str]] = {}
    for partner_id, name, status, count in rows:
        names[partner_id] = name
        tally = counts.setdefault(partner_id, Counter())
        tally["booked"] += count
        if status in HONOURED:
            tally["honoured"] += count
        elif status == AppointmentStatus.NO_SHOW:
            tally["missed"] += count
        elif status in CANCELLED:
            tally["cancelled"] += count
    found = [
        Referrals(
            partner_id=partner_id,
            partner=names[partner_id],
            booked=tally["booked"],
            honoured=tally["honoured"],
            missed=tally["missed"],
            cancelled=tally["cancelled"],
        )
        for partner_id, tally in counts.items()
    ]
    return sorted(found, key=lambda referral: (referral.partner.casefold(), referral.partner_id))
