"""Serve an ASGI app over real HTTP on a free loopback port, in a thread of the test process."""

import random
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

# Below the kernel's ephemeral range (32768-60999 on Linux unless configured otherwise), from which the
# local ports of outgoing connections are taken.
_LOWEST_PORT = 20000
_handed_out: set[int] = set()


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_port() -> int:
    """A loopback port free now, for a server started next. Taken outside the ephemeral range: a port
    the kernel gave out as free (port 0) could become some client connection's local port before the
    server binds it ("address already in use", seen once in a full test run); a port below the range is
    only ever taken by a server binding it. Not one this process handed out before."""
    low, high = _ephemeral_range()
    for _ in range(1000):
        port = random.randrange(_LOWEST_PORT, 65536)
        if low <= port <= high or port in _handed_out:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError("no free loopback port outside the ephemeral range")


@contextmanager
def serve_in_thread(app, port: int | None = None) -> Iterator[str]:
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
