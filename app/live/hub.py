"""The live hub of one instance: its websocket connections, grouped by site.

A queue change reads the state it leaves in its transaction (on an instance holding the
site's screens, with the waiting model if the one kept is due), commits, and its notice
goes out on the site's channel with that state: every instance with screens there hands
the same message to each connection, which has a small queue and its own writer (a client
that stops reading fills its queue and is dropped; nobody else waits for it).

Only displays that came with the key of a paired screen count as screens (see
`app.live.screens`); a display without a key gets the same public feed, uncounted. A
revoked key is let go at once on every instance (a notice on the site's channel), and
at the latest at the next presence report (the keys are checked again then).

While the mairie is closed, screens and phones are given no waiting estimate, as the
GETs give none (`app.sites.opening`, read once a minute per site, and at once on every
instance when its hours, an exception or a closure change). Paired screens alone
also show the mairie's arrival QR code while it is open (`app.live.arrival`), read again
each minute of the clock: a new code (every five minutes), the opening, the closing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from litestar.channels import ChannelsPlugin
from litestar.exceptions import WebSocketDisconnect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from uvicorn.protocols.utils import ClientDisconnected

from app import events, loops
from app.db import Database, notify
from app.errors import NotFound
from app.live import notices, presence, screens
from app.live.arrival import ArrivalCodes, still_holds
from app.live.bodies import display_body as display_body  # the display's GET reads it here
from app.live.bodies import ticket_body
from app.live.feeds import NOT_PAIRED, TOO_MANY, Connection, SiteFeed, StateRead
from app.live.settling import QUIET_SECONDS, Settling
from app.live.sockets import LiveSocket
from app.queue import views as queue
from app.sites.models import Site
from app.sites.opening import Opening, opening_of
from app.throttle import UNKNOWN, UNKNOWN_LINK, client_network

log = logging.getLogger("guichet.live")
GOING_AWAY = 1001
INTERNAL_ERROR = 1011
TURN_AT_ONCE = 200  # sites a clock check reads and looks at between two turns of the loop
ARRIVAL_CHECK_SECONDS = 10.0  # how late a paired screen may learn that the minute turned
RETRY_FIRST, RETRY_LONGEST = 0.25, 10.0  # seconds between tries of a failed refresh


class Hub:
    """This instance's live connections and their fan-out."""

    def __init__(
        self,
        channels: ChannelsPlugin,
        db: Database,
        clock: Callable[[], datetime],
        *,
        namespace: str,
        per_address: int,
        arrival: ArrivalCodes | None = None,
    ) -> None:
        self.channels = channels
        self.arrival = arrival  # None: the screens show no arrival QR code
        self.db = db
        self.clock = clock
        self.namespace = namespace
        self.per_address = per_address
        self.feeds: dict[int, SiteFeed] = {}
        self.addresses: Counter[str] = Counter()
        self._joining = asyncio.Lock()
        self.instance = secrets.token_hex(8)
        self._reporter = self._minutes = self._settle = None  # type: asyncio.Task[None] | None
        self._screens_changed = asyncio.Event()
        self.settling = Settling()

    async def start(self) -> None:
        # Every few seconds, and soon after screens come or go (at most once a second,
        # however many connect at once).
        wake, fail = self._screens_changed, "screen presence not reported"
        report = self.report_presence
        every = loops.every(presence.REPORT_EVERY_SECONDS, report, log=log, failure=fail, wake=wake)
        self._reporter = asyncio.create_task(every)
        self._minutes = asyncio.create_task(self._keep_minutes())
        step, fail = self.settling.step, "no collection after screens connected"
        self._settle = asyncio.create_task(loops.every(QUIET_SECONDS, step, log=log, failure=fail))

    async def stop(self) -> None:
        for task in (self._reporter, self._minutes, self._settle):
            await loops.stop(task)
        for feed in list(self.feeds.values()):  # sockets still open: no read after the dispose
            for running in (feed.listener, feed.refresher, feed.reading):
                await loops.stop(running)
        with contextlib.suppress(Exception):
            await presence.forget(self.db, self.instance)

    async def report_presence(self) -> None:
        """Report this instance's paired screens per site, after checking their keys
        again: a screen whose key was revoked is let go, even if the notice was lost."""
        held = {site_id: feed.screen_ids() for site_id, feed in list(self.feeds.items())}
        revoked = await presence.report_held(self.db, self.instance, held, self.clock())
        for site_id, ids in revoked.items():
            if (feed := self.feeds.get(site_id)) is not None:
                feed.let_go(ids)
                self._screens_changed.set()

    def channel(self, site_id: int) -> str:
        return f"{self.namespace}.site.{site_id}"

    # Publishing

    async def read_before_commit(self, session: AsyncSession, notices: list[object]) -> None:
        """Read, under the queue's lock, the state a transaction's changes leave at sites
        shown here: at the commit it goes to the displays and to the other instances."""
        now = self.clock()
        for site_id in {n.site_id for n in notices if isinstance(n, events.QueueMoved)}:
            feed = self.feeds.get(site_id)
            if feed and feed.displays and feed.site:
                await session.flush()  # the change's own rows: their errors are the change's
                read_at, model = time.monotonic(), None if feed.model_due() else feed.model
                try:  # a waiting model due is read here too, kept once the change commits
                    fresh = model or await queue.waiting_model(session, feed.site, now)
                    state = await queue.display(session, feed.site, now, model=fresh)
                except DBAPIError:  # PostgreSQL would roll the change back at the commit
                    raise
                except Exception:  # the change goes on: the state is read after it, as before
                    log.exception("live state of site %s not read before the commit", site_id)
                    continue
                notify(session, StateRead(site_id, state, None if model else fresh, read_at))

    async def publish(self, committed: list[object]) -> None:
        """Hand committed queue changes to the channels (the one place that publishes). A
        change at a site with displays here goes to its feed, and at once to the others
        with the state read in its transaction, if any (else the refresher tells them)."""
        read: dict[SiteFeed, queue.DisplayState] = {}
        for notice in committed:
            if isinstance(notice, events.QueueMoved):
                feed = self.feeds.get(notice.site_id)
                if feed is not None and feed.displays:
                    feed.outgoing.append((notice.seq, notice.action))
                    feed.kinds.append(notice.action)
                    feed.dirty.set()
                else:
                    data = notices.moved(notice.site_id, notice.seq, notice.action)
                    self.channels.publish(data, self.channel(notice.site_id))
            elif isinstance(notice, StateRead) and (feed := self.feeds.get(notice.site_id)):
                if notice.model is not None:
                    feed.keep_model(notice.model, notice.model_read_at)
                feed.push(notice.state)
                read[feed] = notice.state
            elif isinstance(notice, events.ScreenRevoked):
                data = notices.revoked(notice.site_id, notice.screen_id)
                self.channels.publish(data, self.channel(notice.site_id))
            elif isinstance(notice, notices.HoursChanged):  # to every instance, this one too
                self.channels.publish(notices.hours(notice.site_id), self.channel(notice.site_id))
        for feed, state in read.items():
            if feed.outgoing and state.seq >= max(seq for seq, _ in feed.outgoing):
                self._tell_others(feed, feed.outgoing, state)
                feed.outgoing = []

    def _tell_others(
        self, feed: SiteFeed, outgoing: list[tuple[int, str]], state: queue.DisplayState | None
    ) -> None:
        """Publish this instance's changes at `feed`'s site (`notices.of_changes`)."""
        body = display_body(state, feed.timezone) if state is not None else None
        for message in notices.of_changes(feed.site_id, outgoing, body, self.instance):
            self.channels.publish(message, self.channel(feed.site_id))

    # Serving sockets

    def screens(self, site_id: int) -> int:
        """The paired screens this instance holds for `site_id`."""
        feed = self.feeds.get(site_id)
        return len(feed.screen_ids()) if feed else 0

    async def serve_display(self, socket: LiveSocket, slug: str, key: str | None = None) -> None:
        """A lobby display: with the key of a paired screen of the site it counts as a
        screen; without a key it gets the same public feed, uncounted; with a key that is
        revoked or unknown it is refused."""
        try:
            site, screen_id = await screens.display_of(self.db, slug, key)
        except NotFound:
            await socket.close(code=UNKNOWN_LINK, reason="unknown site")
            return
        if key is not None and screen_id is None:
            with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
                # Accepted first, so that the display learns why and stops trying.
                await socket.accept()
                await socket.close(code=NOT_PAIRED, reason="this screen is not paired")
            return
        await self._serve(socket, site, token=None, screen_id=screen_id)

    async def serve_ticket(self, socket: LiveSocket, token: str) -> None:
        try:
            site = await self._site_of_ticket(token)
        except NotFound:
            await socket.close(code=UNKNOWN_LINK, reason="unknown ticket")
            return
        await self._serve(socket, site, token=token)

    async def _site_of_ticket(self, token: str) -> Site:
        """Read apart, as `screens.display_of`: the session ends with this frame."""
        async with self.db.session() as session:
            ticket = await queue.ticket_by_token(session, token)
            return await queue.site_of(session, ticket.site_id)

    async def _serve(
        self, socket: LiveSocket, site: Site, token: str | None, screen_id: int | None = None
    ) -> None:
        address = client_network(socket.client.host) if socket.client else UNKNOWN
        if self.addresses[address] >= self.per_address:
            await socket.close(code=TOO_MANY, reason="too many connections from this address")
            return
        self.addresses[address] += 1
        connection = Connection(socket, address, screen_id)
        feed: SiteFeed | None = None
        try:
            await socket.accept()
            feed = await self._join(site, connection, token)
            connection.writer = asyncio.create_task(connection.write())
            await self._send_first(feed, connection, token)
            await connection.read_until_gone()
        except (WebSocketDisconnect, ClientDisconnected):
            pass  # the client went (or was let go) before its first state was sent
        except Exception:  # logged here: Litestar would close with 4500 and say nothing
            log.exception("live connection to %s failed", site.slug)
            connection.close(INTERNAL_ERROR)
        finally:
            if connection.closer is not None:
                # The close frame goes out before the handler returns and the server
                # drops the connection, so that the client learns why.
                await connection.closer
            self.addresses[address] -= 1
            if self.addresses[address] <= 0:
                del self.addresses[address]
            if connection.writer is not None:
                connection.writer.cancel()
            if feed is not None:
                await self._leave(feed, connection)

    async def _send_first(self, feed: SiteFeed, connection: Connection, token: str | None) -> None:
        now = self.clock()
        if token is not None:
            async with self.db.session() as session:
                site = await queue.site_of(session, feed.site_id)
                opening = await self._opening(feed, session, site, now)
                view = await queue.by_token(session, token, now, opening=opening)
            connection.first({"type": "ticket", **ticket_body(view)})
            return
        state = await self._first_state(feed, now)
        assert feed.opening is not None
        opening = feed.opening[1]
        if connection.screen_id is not None:  # the clock again: the read may have straddled a turn
            connection.shown_qr = await self._arrival_qr(feed, opening, self.clock())
        newest = feed.newest(state)  # and nothing waits from here to the offer
        shown = screens.shown_at(display_body(newest, feed.timezone), opening)
        if connection.screen_id is not None:
            shown = screens.with_arrival(shown, connection.shown_qr, feed.arrival)
        connection.seq = newest.seq
        connection.first({"type": "snapshot", **shown})

    async def _first_state(self, feed: SiteFeed, now: datetime) -> queue.DisplayState:
        """The state a display is shown first: the one read moments ago, or one read now,
        once for all the screens of the site that come meanwhile."""
        state = feed.recent_state(now)
        if state is not None:
            return state
        if feed.reading is None or feed.reading.done():
            feed.reading = asyncio.create_task(self._read_first(feed, now))
        return await asyncio.shield(feed.reading)

    async def _read_first(self, feed: SiteFeed, now: datetime) -> queue.DisplayState:
        async with self.db.session() as session:
            site = feed.site = await queue.site_of(session, feed.site_id)
            await self._opening(feed, session, site, now)
            return await self._read_state(feed, session, site, now)

    async def _read_state(
        self, feed: SiteFeed, session: AsyncSession, site: Site, now: datetime
    ) -> queue.DisplayState:
        if feed.model_due():
            read_at = time.monotonic()
            feed.keep_model(await queue.waiting_model(session, site, now), read_at)
        state = await queue.display(session, site, now, model=feed.model)
        feed.remember(state, now)
        return state

    # Feeds

    async def _join(self, site: Site, connection: Connection, token: str | None) -> SiteFeed:
        async with self._joining:
            feed = self.feeds.get(site.id)
            if feed is None:
                feed = SiteFeed(site.id, site.slug, ZoneInfo(site.timezone))
                feed.day = feed.local_day(self.clock())
                feed.subscriber = await self.channels.subscribe([self.channel(site.id)])
                feed.listener = asyncio.create_task(self._listen(feed))
                feed.refresher = asyncio.create_task(self._refresh_forever(feed))
                self.feeds[site.id] = feed
            if token is None:
                feed.displays.add(connection)
                self._screens_changed.set()
                self.settling.joined()
            else:
                feed.tickets[connection] = token
            return feed

    async def _leave(self, feed: SiteFeed, connection: Connection) -> None:
        async with self._joining:
            if connection in feed.displays:
                feed.displays.discard(connection)
                self._screens_changed.set()
                self.settling.left()
            feed.tickets.pop(connection, None)
            if not feed.empty or self.feeds.get(feed.site_id) is not feed:
                return
            del self.feeds[feed.site_id]
            if feed.outgoing:  # changes made here that its refresher will not tell
                self._tell_others(feed, feed.outgoing, None)
            for task in (feed.listener, feed.refresher):
                if task is not None:
                    task.cancel()
            if feed.subscriber is not None:
                with contextlib.suppress(Exception):
                    await self.channels.unsubscribe(feed.subscriber)

    async def _listen(self, feed: SiteFeed) -> None:
        assert feed.subscriber is not None
        async for payload in feed.subscriber.iter_events():
            notice = notices.read(payload)
            if notice.sender == self.instance:  # its state is sent here already
                continue
            if notice.kind == "hours":
                feed.hours_moved()
                continue
            if notice.kind == "revoked":
                if notice.screen is not None:
                    feed.let_go({notice.screen})
                    self._screens_changed.set()
                continue
            feed.hear(notice)

    async def _refresh_forever(self, feed: SiteFeed) -> None:
        """Hand each burst of notices' newest state to the screens here: the one that came
        with them (read in their transactions, here or elsewhere) if it covers the changes
        made here, else one read now, which goes to the others with the changes made here
        that `publish` did not tell them of. A read that fails is tried again after a
        growing pause, with no other notice needed."""
        failures = 0
        while True:
            await feed.dirty.wait()
            feed.dirty.clear()
            kinds, feed.kinds = feed.kinds, []
            outgoing, feed.outgoing = feed.outgoing, []
            pushed, feed.pushed = feed.pushed, None
            needs_read, feed.needs_read = feed.needs_read, False
            given = None if needs_read else pushed  # this instance's changes read with it?
            if given and outgoing and given.seq < max(seq for seq, _ in outgoing):
                given = None
            try:
                read = await self._refresh(feed, notices.kind_of(kinds), given)
            except asyncio.CancelledError:  # the last display left, or the app stops
                if outgoing:  # (then the channels may be closed already: nothing to tell)
                    with contextlib.suppress(RuntimeError):
                        self._tell_others(feed, outgoing, None)
                raise
            except Exception:
                log.exception("live refresh of site %s failed", feed.slug)
                if outgoing:  # the others read it themselves
                    self._tell_others(feed, outgoing, None)
                feed.kinds = kinds + feed.kinds
                feed.needs_read = True
                feed.dirty.set()
                await asyncio.sleep(min(RETRY_LONGEST, RETRY_FIRST * 2**failures))
                failures += 1
            else:
                failures = 0
                if outgoing:
                    self._tell_others(feed, outgoing, read or given)

    async def _refresh(
        self, feed: SiteFeed, kind: str, pushed: queue.DisplayState | None = None
    ) -> queue.DisplayState | None:
        """Send the displays the site's state, `pushed` by another instance or read here
        (always read once the site's day has turned), if it moved, or their QR code
        changed, or the day turned or the hours changed (every display is sent it, keyless
        ones too); and the phones their tickets. The state read, if one was."""
        read = None
        async with self.db.session() as session:
            now = self.clock()
            heard = feed.hours_heard  # hours changed since the last refresh: every display
            reopened = heard != feed.hours_sent  # is sent the state again
            turned = reopened or (feed.day is not None and feed.day != feed.local_day(now))
            reading = bool(feed.displays) and (pushed is None or turned)
            site = feed.site
            if feed.site_due(now, reading):
                site = feed.site = await queue.site_of(session, feed.site_id)
            opening = await self._opening(feed, session, site, now)
            if feed.displays:
                if reading:
                    assert site is not None
                    state = read = await self._read_state(feed, session, site, now)
                else:
                    assert pushed is not None
                    feed.remember(state := pushed, now)
                state = feed.newest(state)
                qr = await self._arrival_qr(feed, opening, now) if feed.has_paired() else None
                moved = state.seq > feed.sent_seq
                if moved or turned or any(c.shown_qr != qr for c in feed.paired()):
                    feed.sent_seq = max(state.seq, feed.sent_seq)
                    feed.send(state, opening, kind, qr, moved=moved, turned=turned)
                    if moved or turned:
                        feed.day = feed.local_day(now)
            feed.hours_sent = heard  # (a notice heard meanwhile is the next refresh's)
            if feed.tickets:
                assert site is not None  # read above for the tickets
                tokens = set(feed.tickets.values())
                views = await queue.views_by_token(session, site, tokens, now, opening=opening)
                for connection, token in list(feed.tickets.items()):
                    view = views.get(token)
                    if view is None:
                        continue
                    message = json.dumps({"type": "ticket", **ticket_body(view)})
                    if message != connection.last:
                        connection.last = message
                        connection.offer(message)
        return read

    async def _arrival_qr(self, feed: SiteFeed, opening: Opening, now: datetime) -> str | None:
        """The arrival QR code the site's paired screens show at `now`: none while the
        mairie is closed; drawn again (off the event loop) once the code changes."""
        if self.arrival is None or not opening.open:
            return None
        if not still_holds(feed.arrival, now):
            feed.arrival = await asyncio.to_thread(self.arrival.at, feed.site_id, feed.slug, now)
        return feed.arrival.qr if feed.arrival else None

    async def _keep_minutes(self) -> None:
        """Every few seconds, what the screens show as the clock runs: at each site's
        midnight, its state of the new day, to every display; once the minute turns, whether
        each site with displays is open (read for 200 at once: a call finds it read) and,
        for paired screens, the arrival code (turning every five minutes at the site's own
        second). A site whose day or code so changes has its state read and sent."""
        while True:
            await asyncio.sleep(ARRIVAL_CHECK_SECONDS)
            try:
                await self._turn(self.clock())
            except Exception as exc:  # tried again in a few seconds
                log.warning("the screens' clock check failed (%s)", type(exc).__name__)

    async def _turn(self, now: datetime) -> None:
        for feed in list(self.feeds.values()):  # the clock alone: no read
            if feed.displays and feed.day is not None and feed.day != feed.local_day(now):
                feed.dirty.set()
        shown = [feed for feed in list(self.feeds.values()) if feed.displays]
        for first in range(0, len(shown), TURN_AT_ONCE):  # the screens served in between
            await self._turn_some(shown[first : first + TURN_AT_ONCE], now)
            await asyncio.sleep(0)

    async def _turn_some(self, shown: list[SiteFeed], now: datetime) -> None:
        stale = [feed for feed in shown if not feed.opening_read_this_minute(now)]
        if stale:
            openings = await screens.openings_by_id(self.db, [feed.site_id for feed in stale], now)
            for feed in stale:
                if feed.site_id in openings:
                    feed.opening = (now, openings[feed.site_id])
        read = set(stale)
        for feed in shown:
            unchanged = feed not in read and still_holds(feed.arrival, now)
            if not feed.has_paired() or feed.opening is None or unchanged:
                continue
            qr = await self._arrival_qr(feed, feed.opening[1], now)
            if any(c.shown_qr != qr for c in feed.paired()):
                feed.dirty.set()

    async def _opening(
        self, feed: SiteFeed, session: AsyncSession, site: Site | None, now: datetime
    ) -> Opening:
        """Whether the site is open at `now`, as read at most once a minute per site (by
        the clock's check; here when none holds): a busy morning's every change would
        otherwise read its two weeks of hours again (`site` is needed only then)."""
        read = feed.opening
        if read is None or not feed.opening_holds(now):
            assert site is not None
            read = feed.opening = (now, await opening_of(session, site, now))
        return read[1]
