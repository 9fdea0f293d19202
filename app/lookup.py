"""Reading the one row a request names, or saying it is not there."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import NotFound

T = TypeVar("T")


async def one_or_not_found(
    session: AsyncSession, statement: Select[T], values: Mapping[str, Any], missing: str
) -> T:
    """The row `statement` finds with `values`; NotFound, saying `missing`, if none."""
    found = await session.scalar(statement, values)
    if found is None:
        raise NotFound(missing)
    return found
