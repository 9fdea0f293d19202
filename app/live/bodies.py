"""The bodies of the live messages, the same as their GETs': a lobby display's state and
a ticket's."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from app.queue import views as queue
from app.queue.models import TicketStatus


def display_body(state: queue.DisplayState, tz: ZoneInfo) -> dict[str, Any]:
    """The body of GET /api/v1/sites/{slug}/display, and of every display message."""
    return {
        "seq": state.seq,
        "called": [
            {
                "number": entry.number,
                "station": entry.station,
                "station_id": entry.station_id,
                "service": entry.service,
                "called_at": entry.called_at.astimezone(tz).isoformat(),
                "status": entry.status,
            }
            for entry in state.called
        ],
        "waiting": {
            "count": state.waiting_count,
            "eta_minutes": list(state.eta_minutes) if state.eta_minutes else None,
            "by_service": state.waiting_by_service,
        },
    }


def ticket_body(view: queue.TicketView) -> dict[str, Any]:
    """The body of GET /api/v1/tickets/{token}, and of every ticket message."""
    ticket = view.ticket
    showing_station = ticket.station is not None and ticket.status in (
        TicketStatus.CALLED,
        TicketStatus.SERVING,
    )
    return {
        "number": ticket.number,
        "status": ticket.status,
        "position": view.position,
        "eta_minutes": list(view.eta_minutes) if view.eta_minutes else None,
        "station": ticket.station.name if showing_station and ticket.station else None,
    }
