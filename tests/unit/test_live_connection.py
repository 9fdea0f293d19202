"""A live connection's own queue: a client that does not keep up is let go."""

from __future__ import annotations

import asyncio

from app.live.feeds import QUEUE_SIZE, TRY_AGAIN_LATER, Connection


class StuckSocket:
    """A websocket whose client never reads: every send waits for ever."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.closed_with: int | None = None

    async def send_text(self, message: str) -> None:
        self.sent.append(message)
        await asyncio.Event().wait()

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        self.closed_with = code


class ReadingSocket(StuckSocket):
    async def send_text(self, message: str) -> None:
        self.sent.append(message)


async def test_a_connection_that_cannot_send_is_closed_once_its_queue_is_full() -> None:
    socket = StuckSocket()
    connection = Connection(socket, "192.0.2.1")  # type: ignore[arg-type]
    connection.writer = asyncio.create_task(connection.write())

    for number in range(QUEUE_SIZE + 1):
        connection.offer(f"message {number}")
        await asyncio.sleep(0)
    for number in range(QUEUE_SIZE + 1, QUEUE_SIZE + 5):
        connection.offer(f"message {number}")
    await asyncio.sleep(0.05)

    assert connection.closing
    assert socket.closed_with == TRY_AGAIN_LATER
    assert socket.sent == ["message 0"]
    assert connection.writer.cancelled() or connection.writer.done()


async def test_a_connection_that_keeps_up_gets_every_message_in_order() -> None:
    socket = ReadingSocket()
    connection = Connection(socket, "192.0.2.1")  # type: ignore[arg-type]
    connection.writer = asyncio.create_task(connection.write())

    for number in range(100):
        connection.offer(f"message {number}")
        await asyncio.sleep(0.001)
    await asyncio.sleep(0.05)
    connection.writer.cancel()

    assert not connection.closing
    assert socket.sent == [f"message {number}" for number in range(100)]


async def test_offers_to_a_closing_connection_are_ignored() -> None:
    socket = ReadingSocket()
    connection = Connection(socket, "192.0.2.1")  # type: ignore[arg-type]
    connection.close(TRY_AGAIN_LATER)

    connection.offer("late")
    await asyncio.sleep(0.01)

    assert connection.outbox.empty()
    assert socket.closed_with == TRY_AGAIN_LATER
