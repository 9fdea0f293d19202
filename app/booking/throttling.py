"""The limits on requests from one client address that the booking's pages and API apply
alike: searches for free slots, and changes (booking, cancelling, moving, taking again)."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State

from app.throttle import Limits, client_key


def _limits(request: Request[Any, Any, State]) -> Limits:
    found: Limits = request.app.state.limits
    return found


def throttle_search(request: Request[Any, Any, State]) -> None:
    _limits(request).availability.check(
        client_key(request), "Too many availability searches: wait a minute."
    )


def throttle_booking(request: Request[Any, Any, State]) -> None:
    _limits(request).booking.check(
        client_key(request), "Too many booking requests from your address: wait a minute."
    )
