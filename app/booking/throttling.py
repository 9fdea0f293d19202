"""The limits on requests from one client address that the booking's pages and API apply
alike: searches for free slots, and changes (booking, cancelling, moving, taking again)."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.handlers import BaseRouteHandler

from app.throttle import Limits, client_key


def _limits(request: Request[Any, Any, State]) -> Limits:
    found: Limits = request.app.state.limits
    return found


def throttle_search(request: Request[Any, Any, State]) -> None:
    _limits(request).availability.check(
        client_key(request), "Too many availability searches from your address: wait a moment."
    )


def throttle_booking(request: Request[Any, Any, State]) -> None:
    _limits(request).booking.check(
        client_key(request), "Too many booking requests from your address: wait a moment."
    )


def search_budget(connection: ASGIConnection[Any, Any, Any, State], _: BaseRouteHandler) -> None:
    """Guard of the API's searches for free slots: each counts against the address's
    budget (`throttle_search`) as soon as it is routed, before it is read."""
    assert isinstance(connection, Request)  # guards of HTTP routes only
    throttle_search(connection)


def booking_budget(connection: ASGIConnection[Any, Any, Any, State], _: BaseRouteHandler) -> None:
    """Guard of the API's changes made without credentials: each counts against the
    address's budget (`throttle_booking`) as soon as it is routed, before it is read."""
    assert isinstance(connection, Request)  # guards of HTTP routes only
    throttle_booking(connection)
