"""The ports the tests start servers on are free and outside those the system hands to
outgoing connections, which could take one before its server binds it."""

from __future__ import annotations

import socket

from tests.servers import _ephemeral_ports, free_port


def test_a_test_server_port_is_free_and_no_outgoing_connection_gets_it() -> None:
    ephemeral = _ephemeral_ports()
    ports = {free_port() for _ in range(20)}

    for port in ports:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", port))  # nothing there
        if ephemeral.start > 21_000:
            assert port not in ephemeral
            assert port >= 20_000
    assert len(ports) > 1  # not one port for every server of a run
