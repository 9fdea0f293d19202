"""The HTTP and websocket protocols `guichet serve` runs uvicorn with: uvicorn's own, with
limits on what one client can make the server wait for or hold in memory.

uvicorn times out idle keep-alive connections only: a connection that sends nothing,
or sends its request head or body a byte at a time, stays open for ever, and with
httptools a head of any size is read into memory. A websocket client that sends pings
and does not read the pongs makes the server buffer them without bound; one that reads
them can send hundreds of thousands a second, each answered before anything else runs.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import CloseCode, Frame
from websockets.protocol import State

HEAD_BYTES = 32 * 1024
HEAD_SECONDS = 10.0
BODY_SECONDS = 30.0
LINGER_SECONDS = 2.0
LINGER_BYTES = 1024 * 1024
KEEP_ALIVE_SECONDS = 5
# Pings and pongs one websocket client may send in CONTROL_SECONDS: browsers send none,
# and a client library pings every 20 s or so and answers the server's ping of each 20 s.
CONTROL_FRAMES = 30
CONTROL_SECONDS = 10.0
# Continuation frames in CONTROL_SECONDS: the screens' and phones' messages are short and
# whole; a message in many fragments is a flood (each one is kept until the last).
FRAGMENTS = 100


class GuardedHttpProtocol(HttpToolsProtocol):
    """A request's head must arrive within HEAD_SECONDS of its first byte (or of the
    connection opening) and be at most HEAD_BYTES, else 431; its body must arrive within
    BODY_SECONDS of the head. A client too slow is disconnected. One still sending a body
    after its answer has gone (a 413) has LINGER_SECONDS to read the answer, while the
    server reads and drops at most LINGER_BYTES more of what it sends, then is
    disconnected."""

    deadline: asyncio.TimerHandle | None = None
    head_size = 0
    parsed = 0
    reading_head = False
    lingering = False
    dropped = 0
    refused = False
    upgraded = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(HEAD_SECONDS)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.refused:
            return
        if self.lingering:
            self.dropped += len(data)
            if self.dropped > LINGER_BYTES:
                self.transport.pause_reading()
        super().data_received(data)
        if self.upgraded or self.transport.is_closing():
            return
        # httptools keeps an unfinished header to itself: count what it was given.
        if self.reading_head:
            self.head_size += len(data)
            if self.head_size > HEAD_BYTES:
                self._refuse_head()
        elif self.deadline is None and (self.cycle is None or self.cycle.response_complete):
            self._arm(HEAD_SECONDS)  # bytes between requests that begin none

    def on_message_begin(self) -> None:
        if self.refused:
            return
        super().on_message_begin()
        self.reading_head = True
        self.head_size = 0
        self.parsed = 0
        self.lingering = False
        self._arm(HEAD_SECONDS)

    # A head that came whole in one read never counts as unfinished: what the parser
    # read of it is counted too.
    def on_url(self, url: bytes) -> None:
        if self.refused:
            return
        self.parsed += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.refused:
            return
        self.parsed += len(name) + len(value) + 4  # ": " and the line's end
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self.refused:
            return
        self.reading_head = False
        if self.parsed > HEAD_BYTES:
            self._refuse_head()
            return
        self._arm(BODY_SECONDS)
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self.refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self.refused:
            return
        answered = self.cycle is not None and self.cycle.response_complete
        self.lingering = False
        if answered:
            self._arm(KEEP_ALIVE_SECONDS)
        else:
            self._disarm()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        body_unread = self.cycle is not None and self.cycle.more_body
        super().on_response_complete()
        if body_unread and not self.transport.is_closing():
            self.lingering = True
            self.dropped = 0
            self._arm(LINGER_SECONDS)

    def handle_websocket_upgrade(self) -> None:
        self._disarm()
        self.upgraded = True
        super().handle_websocket_upgrade()

    def _refuse_head(self) -> None:
        """Answer 431 and stop reading; close a moment later, so that the client reads
        the answer rather than a reset."""
        self.refused = True
        body = b"Request header fields too large."
        self.transport.write(
            b"".join(
                [
                    STATUS_LINE[431],
                    b"content-type: text/plain; charset=utf-8\r\n",
                    b"content-length: %d\r\n" % len(body),
                    b"connection: close\r\n\r\n",
                    body,
                ]
            )
        )
        self.transport.pause_reading()
        self._arm(LINGER_SECONDS)

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self.deadline = self.loop.call_later(seconds, self._too_slow)

    def _disarm(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    def _too_slow(self) -> None:
        self.deadline = None
        if not self.transport.is_closing():
            self.transport.close()


class Budget:
    """At most `count` events in any `seconds`, a burst of `count` included: a bucket of
    `count` tokens refilled at `count / seconds` a second."""

    def __init__(self, count: int, seconds: float) -> None:
        self.count, self.rate = count, count / seconds
        self.left, self.at = float(count), float("-inf")

    def take(self, now: float) -> bool:
        """Spend a token at `now`; False when none is left."""
        self.left = min(self.count, self.left + (now - self.at) * self.rate)
        self.at = now
        if self.left < 1:
            return False
        self.left -= 1
        return True


class GuardedWebSocketProtocol(WebSocketsSansIOProtocol):
    """Stops reading from a client while it does not read what it is sent, so that what
    it sends meanwhile (pings, whose pongs would pile up) waits in its own buffers; and
    closes one (1008) that sends more than CONTROL_FRAMES pings or pongs in any
    CONTROL_SECONDS, or more than FRAGMENTS continuation frames, without answering the
    pings past them: a flood of pings whose pongs were read, or of empty fragments of a
    message that never ends, would otherwise hold the server for as long as it lasted.
    No pong goes out before the handshake's answer."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The pongs the protocol queued, one for each ping read (a read may hold
        # thousands), sent one a ping while they are within the budget.
        self.pongs: deque[bytes] = deque()
        self.control = Budget(CONTROL_FRAMES, CONTROL_SECONDS)
        self.fragments = Budget(FRAGMENTS, CONTROL_SECONDS)

    def handle_ping(self) -> None:
        self.pongs.extend(self.conn.data_to_send())
        if self._flooding(self.control) or not self.pongs:
            return
        pong = self.pongs.popleft()
        if self.handshake_complete:  # before the 101, a ping is counted, not answered
            self.transport.write(pong)

    def handle_pong(self, event: Frame) -> None:
        if not self._flooding(self.control):
            super().handle_pong(event)

    def handle_cont(self, event: Frame) -> None:
        if not self._flooding(self.fragments):
            super().handle_cont(event)

    def handle_close(self, event: Frame) -> None:
        if self.pongs and not self.transport.is_closing():  # those before the close frame
            self.transport.write(b"".join(self.pongs))
        self.pongs.clear()
        super().handle_close(event)

    def _flooding(self, budget: Budget) -> bool:
        """Count one frame against `budget`; past it, close the connection (once)."""
        if self.transport.is_closing():
            return True
        if budget.take(self.loop.time()):
            return False
        self.pongs.clear()  # the flood's: not sent
        self.conn.data_to_send()
        if self.conn.state is State.OPEN and self.handshake_complete:
            self.conn.send_close(CloseCode.POLICY_VIOLATION, "Too many frames.")
            self.transport.write(b"".join(self.conn.data_to_send()))
        self.transport.close()  # the application hears of it from connection_lost
        return True
