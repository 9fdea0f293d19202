"""The live notices the instances send one another on a site's channel, as bytes.

A queue change is `{site, seq, kind}`; the instance that made it, when it holds screens of
the site itself (and so reads its state anyway), adds that state as the display's GET
shows it (`state`, the body of `app.live.bodies.display_body`), so that the other
instances hand it to their screens without reading it again. A state too big for a
notice (PostgreSQL's NOTIFY takes fewer than 8,000 bytes) is left out: the others read
it, as they do for a notice without one. A revoked screen is `{site, kind: "revoked",
screen}`; a change of its hours `{site, kind: "hours"}`; `app.live.channels.RESYNC` (no
kind) asks for a read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.queue import views as queue

# PostgreSQL refuses a NOTIFY payload of 8,000 bytes or more; the channel's framing and a
# margin below that. A busy mairie's state is about 2.5 KB (`tests/unit/test_live_notices.py`).
LONGEST_NOTICE = 7_500
CALLING = frozenset({"called", "recall"})


@dataclass(frozen=True)
class Notice:
    """What a notice says: a queue change (`kind`, `seq`, with the new `state` when the
    sender gave it), or a revoked `screen`."""

    kind: str
    seq: int | None = None
    state: queue.DisplayState | None = None
    screen: int | None = None
    sender: str | None = None  # the instance that sent it with its state


def moved(site_id: int, seq: int, kind: str) -> bytes:
    return json.dumps({"site": site_id, "seq": seq, "kind": kind}).encode()


def moved_with_state(site_id: int, kind: str, body: dict[str, Any], sender: str) -> bytes | None:
    """A queue change with the state the screens are sent (`display_body`), from the
    instance `sender` (which sends it to its own screens too); None when it is too long for
    a notice."""
    notice = {"site": site_id, "seq": body["seq"], "kind": kind, "state": body, "from": sender}
    data = json.dumps(notice).encode()
    return data if len(data) <= LONGEST_NOTICE else None


def of_changes(
    site_id: int, outgoing: list[tuple[int, str]], body: dict[str, Any] | None, sender: str
) -> list[bytes]:
    """What tells the others of the changes `outgoing` (seq, kind) made by `sender`: one
    notice with the state `body`, read after them, if it covers them and fits; else the
    bare notices, and the others read the state."""
    if body is not None and body["seq"] >= max(seq for seq, _ in outgoing):
        kind = kind_of([kind for _, kind in outgoing])
        if data := moved_with_state(site_id, kind, body, sender):
            return [data]
    return [moved(site_id, seq, kind) for seq, kind in outgoing]


@dataclass(frozen=True)
class HoursChanged:
    """A site's hours, an exception or a closure changed (handed over once committed)."""

    site_id: int


def hours(site_id: int) -> bytes:
    return json.dumps({"site": site_id, "kind": "hours"}).encode()


def revoked(site_id: int, screen_id: int) -> bytes:
    return json.dumps({"site": site_id, "kind": "revoked", "screen": screen_id}).encode()


def kind_of(kinds: list[str]) -> str:
    """The message a burst of changes makes: a call if one of them called someone."""
    return "called" if CALLING & set(kinds) else "update"


def read(payload: bytes | str) -> Notice:
    """The notice in `payload`; anything unreadable asks for a read, as a change would."""
    try:
        found = json.loads(payload)
    except ValueError:
        return Notice("update")
    if not isinstance(found, dict):
        return Notice("update")
    kind = str(found.get("kind", "update"))
    screen = found.get("screen")
    seq = found.get("seq")
    sender = found.get("from")
    return Notice(
        kind,
        seq=seq if isinstance(seq, int) else None,
        state=state_of(found.get("state")),
        screen=screen if isinstance(screen, int) else None,
        sender=sender if isinstance(sender, str) else None,
    )


def state_of(body: object) -> queue.DisplayState | None:
    """The state behind a display body (`display_body`'s inverse); None if `body` is not
    one (then the receiver reads the state itself)."""
    if not isinstance(body, dict):
        return None
    try:
        waiting = body["waiting"]
        eta = waiting["eta_minutes"]
        return queue.DisplayState(
            seq=int(body["seq"]),
            called=[
                queue.CalledEntry(
                    number=str(entry["number"]),
                    station=str(entry["station"]),
                    station_id=int(entry["station_id"]),
                    service=str(entry["service"]),
                    called_at=datetime.fromisoformat(entry["called_at"]),
                    status=str(entry["status"]),
                )
                for entry in body["called"]
            ],
            waiting_count=int(waiting["count"]),
            waiting_by_service={str(k): int(v) for k, v in waiting["by_service"].items()},
            eta_minutes=(int(eta[0]), int(eta[1])) if eta else None,
        )
    except (KeyError, TypeError, ValueError, IndexError, AttributeError):
        return None
