"""A bare TCP client for the abuse tests: it sends what no HTTP library would (a head a
byte at a time, a body that never ends) and notices when the server hangs up."""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Iterable


class Raw:
    """One non-blocking connection to a loopback server."""

    def __init__(self, port: int, *, receive_buffer: int | None = None) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if receive_buffer is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.sock.connect(("127.0.0.1", port))
        self.sock.setblocking(False)
        self.received = b""
        self.sent = 0
        self.closed = False

    def __enter__(self) -> Raw:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self.sock.close()

    def send(self, data: bytes) -> bool:
        """Send what the kernel takes of `data` now; False once the server hung up."""
        if self.closed:
            return False
        try:
            self.sent += self.sock.send(data)
        except BlockingIOError:
            pass
        except OSError:  # broken pipe, reset
            self.closed = True
        self.poll()
        return not self.closed

    def poll(self, wait: float = 0) -> None:
        """Read what has arrived; notice a hang-up."""
        while not self.closed:
            readable, _, _ = select.select([self.sock], [], [], wait)
            if not readable:
                return
            try:
                data = self.sock.recv(65536)
            except BlockingIOError:
                return
            except OSError:
                self.closed = True
                return
            if not data:
                self.closed = True
                return
            self.received += data
            wait = 0

    @property
    def status(self) -> int | None:
        """The status of the first answer, once its status line has arrived."""
        line, found, _ = self.received.partition(b"\r\n")
        return int(line.split()[1]) if found else None

    def stream(self, chunks: Iterable[bytes], *, within: float = 60) -> None:
        """Send `chunks` one after the other, as fast as the server reads them, until it
        answers or hangs up, they run out, or `within` seconds have passed."""
        deadline = time.monotonic() + within
        for chunk in chunks:
            view = memoryview(chunk)
            while view:
                if self.closed or self.status is not None or time.monotonic() > deadline:
                    return
                writable = select.select([self.sock], [self.sock], [], 1)[1]
                if writable:
                    before = self.sent
                    if not self.send(bytes(view[:65536])):
                        return
                    view = view[self.sent - before :]
                else:
                    self.poll()

    def wait_until_closed(self, within: float) -> bool:
        """Read until the server hangs up, for at most `within` seconds."""
        deadline = time.monotonic() + within
        while not self.closed and time.monotonic() < deadline:
            self.poll(wait=0.2)
        return self.closed
