"""The test harness's loopback ports (`free_port`): free, never from the kernel's ephemeral range (where
client connections take their local ports), never the same one twice."""

import socket

from tests.support.servers import _ephemeral_range, free_port


def test_ports_are_free_outside_the_ephemeral_range_and_never_handed_out_twice():
    low, high = _ephemeral_range()
    ports = [free_port() for _ in range(50)]
    assert len(set(ports)) == len(ports)
    assert not any(low <= port <= high for port in ports)
    for port in ports:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))  # each is free to bind
