"""The few SQL expressions the figures need that SQLite and PostgreSQL spell differently:
durations, local wall-clock time, the start of a week or a month, and exact percentiles
with window functions (which both have)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Sequence
from datetime import date, datetime
from fractions import Fraction
from math import floor
from typing import Any, Literal

from sqlalchemy import (
    Date,
    Integer,
    SQLColumnExpression,
    cast,
    func,
    literal,
    literal_column,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import UTCDateTime

By = Literal["day", "week", "month"]
Expr = SQLColumnExpression[Any]


class Dialect:
    """SQL spelled for one database."""

    def __init__(self, name: str) -> None:
        self.postgres = name == "postgresql"

    def seconds(self, later: Expr, earlier: Expr) -> Expr:
        """How many seconds from `earlier` to `later` (two stored instants)."""
        if self.postgres:
            return func.extract("epoch", later - earlier)
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0

    def instant(self, value: datetime) -> Expr:
        """A Python instant as a bound value stored like the columns."""
        return literal(value, UTCDateTime())

    def _local(self, instant: Expr, zone: Expr) -> Expr:
        if self.postgres:
            return func.timezone(zone, instant)
        return func.guichet_local_time(instant, zone)

    def local_date(self, instant: Expr, zone: Expr) -> Expr:
        if self.postgres:
            return cast(self._local(instant, zone), Date)
        return func.substr(self._local(instant, zone), 1, 10)

    def local_hour(self, instant: Expr, zone: Expr) -> Expr:
        if self.postgres:
            return cast(func.extract("hour", self._local(instant, zone)), Integer)
        return cast(func.substr(self._local(instant, zone), 12, 2), Integer)

    def period(self, day: Expr, by: By) -> Expr:
        """The first day of the day's week (Monday) or month, or the day itself."""
        if by == "day":
            return day
        if self.postgres:
            return cast(func.date_trunc(by, day), Date)
        if by == "week":
            return func.date(day, "weekday 0", "-6 days")
        return func.strftime("%Y-%m-01", day)


def as_date(value: Any) -> date:
    """A period key read back: a date on PostgreSQL, a string on SQLite."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def quantile(values: dict[int, float], count: int, fraction: Fraction) -> float:
    """The `fraction` quantile of `count` sorted values of which `values` holds the
    1-based ranks needed: linear interpolation between the closest ranks (the median of
    an even count is the mean of the two middle values)."""
    position = (count - 1) * fraction
    low = floor(position)
    below = values[low + 1]
    if low + 2 > count:
        return below
    return below + float(position - low) * (values[low + 2] - below)


async def quantiles(
    session: AsyncSession,
    value: Expr,
    key: Expr | None,
    where: Sequence[Expr],
    fractions: Sequence[Fraction],
    *,
    join: Any = None,
) -> dict[Hashable, dict[Fraction, float]]:
    """Exact quantiles of `value` for each `key` (or over all rows, under the key "all"),
    computed in the database: every row is ranked within its key by a window function,
    and only the ranks the quantiles need are read back."""
    rank = func.row_number().over(partition_by=key, order_by=value)
    count = func.count().over(partition_by=key)
    label = key if key is not None else literal_column("'all'")
    inner = select(label.label("k"), value.label("v"), rank.label("r"), count.label("n"))
    if join is not None:
        inner = inner.select_from(join)
    ranked = inner.where(*where).subquery()
    wanted = []
    for fraction in fractions:
        # floor((n - 1) × p) in integer arithmetic, the same on both databases.
        low = ((ranked.c.n - 1) * fraction.numerator) // fraction.denominator
        wanted += [ranked.c.r == low + 1, ranked.c.r == low + 2]
    rows = await session.execute(
        select(ranked.c.k, ranked.c.v, ranked.c.r, ranked.c.n).where(or_(*wanted))
    )
    found: dict[Hashable, dict[int, float]] = defaultdict(dict)
    counts: dict[Hashable, int] = {}
    for k, v, r, n in rows:
        found[k][int(r)] = float(v)
        counts[k] = int(n)
    return {
        k: {fraction: quantile(values, counts[k], fraction) for fraction in fractions}
        for k, values in found.items()
    }
