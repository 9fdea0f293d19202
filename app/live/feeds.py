"""A live connection, written to by its own task, and the connections of one site on
one instance (its feed): what the hub hands messages to."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from litestar.channels import Subscriber
from litestar.exceptions import WebSocketDisconnect

from app.live import screens
from app.live.arrival import ArrivalQr
from app.live.bodies import display_body
from app.live.notices import Notice
from app.live.sockets import LiveSocket
from app.queue import views as queue
from app.sites.models import Site
from app.sites.opening import Opening, read_in_same_minute
from app.throttle import UNKNOWN_KEY, RateLimit

QUEUE_SIZE = 16
CLIENT_MESSAGES_PER_MINUTE = 30
TOO_MANY = 1008
TRY_AGAIN_LATER = 1013
NOT_PAIRED = UNKNOWN_KEY  # a revoked or unknown screen key: the display says so and stops
MODEL_FOR_SECONDS = 30.0  # how long the waiting model (stations, service times) is kept
STATE_FOR_SECONDS = 30.0  # how old a state a newly connected screen may be shown first
OPENING_KEPT = timedelta(seconds=75)  # a minute, and the clock's read of the next one late


class Connection:
    """One websocket, written to by its own task from a bounded queue."""

    def __init__(self, socket: LiveSocket, address: str, screen_id: int | None = None) -> None:
        self.socket = socket
        self.address = address
        self.screen_id = screen_id  # a paired screen's; None for a display without a key
        self.outbox: asyncio.Queue[str] = asyncio.Queue(maxsize=QUEUE_SIZE)
        self.writer: asyncio.Task[None] | None = None
        self.closer: asyncio.Task[None] | None = None
        self.closing = False
        self.last: str | None = None
        self.shown_qr: str | None = None  # the arrival QR code a paired screen was last sent
        # A display is sent nothing before its first snapshot, then only newer states.
        self.started = False
        self.seq = -1

    def first(self, body: dict[str, object]) -> None:
        """Queue the connection's first message, after which it is sent changes."""
        self.last = message = json.dumps(body)
        self.started = True
        self.offer(message)

    def offer(self, message: str) -> None:
        """Queue `message` without waiting; a client too slow to keep up is let go."""
        if self.closing:
            return
        try:
            self.outbox.put_nowait(message)
        except asyncio.QueueFull:
            self.close(TRY_AGAIN_LATER)

    def close(self, code: int) -> None:
        if self.closing:
            return
        self.closing = True
        if self.writer is not None:
            self.writer.cancel()
        self.closer = asyncio.get_running_loop().create_task(self._close(code))

    async def _close(self, code: int) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.socket.close(code=code), timeout=2)

    async def read_until_gone(self) -> None:
        """Clients have nothing to say; reading tells when they leave, and one that
        floods is let go."""
        flood = RateLimit(count=CLIENT_MESSAGES_PER_MINUTE, period=60)
        with contextlib.suppress(WebSocketDisconnect):
            while not self.closing:
                await self.socket.receive_data(mode="text")
                if flood.hit("client"):
                    self.close(TOO_MANY)
                    return

    async def write(self) -> None:
        while True:
            message = await self.outbox.get()
            try:
                # A client that stops reading pauses the transport and this send waits;
                # the outbox then fills and offer() lets the client go. A dead peer is
                # found by the server's pings.
                await self.socket.send_text(message)
            except (WebSocketDisconnect, RuntimeError, OSError):
                self.close(TRY_AGAIN_LATER)
                return


@dataclass(frozen=True)
class StateRead:
    """A site's display state read in the transaction of its queue's change, handed over
    with the change's notices once it has committed."""

    site_id: int
    state: queue.DisplayState
    model: queue.WaitingModel | None = None  # read with it, the one kept being due
    model_read_at: float = 0.0


@dataclass(eq=False)
class SiteFeed:
    """One site's live connections on this instance, and the listener for its channel
    (a feed is itself: compared by identity, as a network's thousand feeds are looked up
    in lists every few seconds)."""

    site_id: int
    slug: str
    timezone: ZoneInfo
    displays: set[Connection] = field(default_factory=set)
    tickets: dict[Connection, str] = field(default_factory=dict)
    subscriber: Subscriber | None = None
    listener: asyncio.Task[None] | None = None
    dirty: asyncio.Event = field(default_factory=asyncio.Event)
    kinds: list[str] = field(default_factory=list)
    refresher: asyncio.Task[None] | None = None
    sent_seq: int = -1
    model: queue.WaitingModel | None = None
    site: Site | None = None  # the site's row as last read
    model_read_at: float = 0.0
    opening: tuple[datetime, Opening] | None = None  # when read, and what
    arrival: ArrivalQr | None = None  # the QR code last drawn
    state: queue.DisplayState | None = None  # the display's newest state read, and when
    state_read_at: float = 0.0
    state_day: date | None = None  # the site's day the newest state is of
    reading: asyncio.Task[queue.DisplayState] | None = None  # a first state being read
    day: date | None = None  # the site's day of the state last sent to all the displays
    pushed: queue.DisplayState | None = None  # the newest state another instance sent
    needs_read: bool = False  # a notice came without its state
    outgoing: list[tuple[int, str]] = field(default_factory=list)  # changes made here: seq, kind
    hours_heard: int = 0  # changes of the site's hours heard, and those sent since
    hours_sent: int = 0

    def local_day(self, now: datetime) -> date:
        """The site's day at `now`: the day of the calls its screens show."""
        return now.astimezone(self.timezone).date()

    def remember(self, state: queue.DisplayState, now: datetime) -> None:
        """Keep `state`, read (or sent) at `now`, if it is the newest (reads may end out of
        order)."""
        if self.state is None or state.seq >= self.state.seq:
            self.state, self.state_read_at = state, time.monotonic()
            self.state_day = self.local_day(now)

    def hear(self, notice: Notice) -> None:
        """A queue change heard on the channel: its kind kept, its state if it came with
        one (else a read is due), and the refresher woken."""
        self.kinds.append(notice.kind)
        if notice.state is not None:
            self.push(notice.state)
        else:
            self.needs_read = True
        self.dirty.set()

    def hours_moved(self) -> None:
        """The site's hours, an exception or a closure changed: the opening is read again
        and every display and phone is sent what it now says."""
        self.opening = None
        self.hours_heard += 1
        self.dirty.set()

    def push(self, state: queue.DisplayState) -> None:
        """A state another instance sent with its notice: the newest is kept until sent."""
        if self.pushed is None or state.seq >= self.pushed.seq:
            self.pushed = state

    def newest(self, state: queue.DisplayState) -> queue.DisplayState:
        """`state`, or a newer one read meanwhile and perhaps already sent to the
        displays: a newcomer's first message is never older than what the others hold."""
        return self.state if self.state is not None and self.state.seq > state.seq else state

    def recent_state(self, now: datetime) -> queue.DisplayState | None:
        """The state last read, if a screen that comes now may be shown it: read a few
        seconds ago on the same day, no notice heard since, and the opening read this
        minute (a state of yesterday is not shown after midnight). A change
        committed after that read is heard on the channel and sent to every display,
        this one included, so a newcomer misses nothing by not reading again."""
        if (
            self.state is None
            or self.dirty.is_set()
            or time.monotonic() - self.state_read_at > STATE_FOR_SECONDS
            or self.state_day != self.local_day(now)
            or not self.opening_holds(now)
        ):
            return None
        return self.state

    def model_due(self) -> bool:
        return self.model is None or time.monotonic() - self.model_read_at > MODEL_FOR_SECONDS

    def keep_model(self, model: queue.WaitingModel, read_at: float) -> None:
        """Keep a waiting model read at `read_at` (monotonic), if none newer is kept."""
        if read_at >= self.model_read_at:
            self.model, self.model_read_at = model, read_at

    def site_due(self, now: datetime, reading: bool) -> bool:
        """Whether a refresh reads the site's row again: for the phones' tickets, for the
        opening once its minute is over, for the displays' state with the waiting model;
        else the row kept is enough (a display's state needs only its id and time zone)."""
        stale = self.site is None or self.model_due()
        return bool(self.tickets) or not self.opening_holds(now) or (reading and stale)

    def opening_holds(self, now: datetime) -> bool:
        """Whether the opening read holds at `now`: read in its minute, or in the minute
        before if the hours as read change nothing since (`Opening.until`) and the clock's
        read of this minute is not overdue (`Hub._turn`: a change of the hours shows then),
        so that a call as the minute turns does not wait for a read of two weeks of hours."""
        if self.opening is None:
            return False
        read_at, opening = self.opening
        if read_in_same_minute(read_at, now):
            return True
        until = opening.until
        return until is not None and read_at <= now < until and now - read_at < OPENING_KEPT

    def opening_read_this_minute(self, now: datetime) -> bool:
        return self.opening is not None and read_in_same_minute(self.opening[0], now)

    @property
    def empty(self) -> bool:
        return not self.displays and not self.tickets

    def screen_ids(self) -> set[int]:
        """The paired screens among the displays (a key opened twice is one screen)."""
        return {
            connection.screen_id
            for connection in self.displays
            if connection.screen_id is not None and not connection.closing
        }

    def paired(self) -> list[Connection]:
        return [connection for connection in self.displays if connection.screen_id is not None]

    def has_paired(self) -> bool:
        return any(connection.screen_id is not None for connection in self.displays)

    def send(
        self,
        state: queue.DisplayState,
        opening: Opening,
        kind: str,
        qr: str | None,
        *,
        moved: bool,
        turned: bool,
    ) -> None:
        """Hand `state` to the displays: to all of them if it `moved` (as `kind`) or if the
        day `turned` (as a snapshot: the seq is the same, the calls of the day before
        leave); to each paired screen with the arrival QR code `qr`, as a snapshot if that
        code is new to it (shown whatever seq it holds)."""
        shown = screens.shown_at(display_body(state, self.timezone), opening)
        public = json.dumps({"type": "snapshot" if turned else kind, **shown})
        paired = screens.with_arrival(shown, qr, self.arrival)
        as_kind, as_snapshot = (json.dumps({"type": k, **paired}) for k in (kind, "snapshot"))
        for connection in list(self.displays):
            # A newcomer's snapshot, still being read, will be at least this state.
            if not connection.started:
                continue
            newer = moved and state.seq > connection.seq
            if connection.screen_id is None:
                if newer or turned:
                    connection.offer(public)
            elif connection.shown_qr != qr or turned:
                connection.shown_qr = qr
                connection.offer(as_snapshot)
            elif newer:
                connection.offer(as_kind)
            else:
                continue
            connection.seq = max(connection.seq, state.seq)

    def let_go(self, screen_ids: set[int]) -> None:
        """Close the displays of these screens: their keys were revoked."""
        for connection in list(self.displays):
            if connection.screen_id in screen_ids:
                connection.close(NOT_PAIRED)
