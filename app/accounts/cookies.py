"""The cookies that hold a session or a sign-in under way, for the staff and the
residents alike."""

from __future__ import annotations

from typing import Literal

from litestar.datastructures import Cookie

from app.config import Settings


def private_cookie(
    key: str,
    value: str,
    settings: Settings,
    *,
    max_age: int,
    path: str = "/",
    samesite: Literal["lax", "strict"] = "lax",
) -> Cookie:
    """A cookie that scripts cannot read, sent over HTTPS only outside a developer's
    machine. `lax` (the default): not sent by other sites' forms, but by a plain link."""
    return Cookie(
        key=key,
        value=value,
        path=path,
        httponly=True,
        samesite=samesite,
        secure=settings.is_production,
        max_age=max_age,
    )
