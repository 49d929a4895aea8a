"""One slow or hostile receiver cannot delay anyone else's page (SPEC §13): every attempt has one
overall deadline, the answer's body is read only up to 64 KiB, and several workers deliver side by side.

The hostile receivers are real TCP servers in threads: one that answers one byte per second, one that
answers an endless body. Nothing here compares wall-clock durations: the tests assert what state the
receivers and the notifications are in relative to each other.
"""

import select
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

SLOW_ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"  # 62 bytes: a minute at 1 byte/s
# Four delivery workers running in the background, each attempt allowed to hang on for 30 s.
RUNNING_WORKERS = {
    "background_workers": True,
    "delivery_workers": 4,
    "delivery_interval_seconds": 0.05,
    "delivery_attempt_timeout_seconds": 30,
    "delivery_lease_seconds": 60,
}


class HostileReceiver:
    """Accepts webhook POSTs, each answered with `feed(connection)` until the client hangs up or the test stops it."""

    def __init__(self, feed: Callable[["HostileReceiver", socket.socket], None]) -> None:
        self._feed = feed
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}/hook"
        self.connected = threading.Event()
        self.connections = 0  # requests received so far
        self.hung_up = threading.Event()  # the client closed the connection before the answer was complete
        self.finished = threading.Event()  # the whole answer was sent
        self.stopped = threading.Event()
        self.sent = 0
        self._threads: list[threading.Thread] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                connection, _ = self._server.accept()
            except TimeoutError:
                continue
            self._threads.append(threading.Thread(target=self._serve, args=(connection,), daemon=True))
            self._threads[-1].start()

    def _serve(self, connection: socket.socket) -> None:
        with connection:
            request = b""
            while b"\r\n\r\n" not in request:
                request += connection.recv(65536)
            self.connections += 1
            self.connected.set()
            self._feed(self, connection)

    def client_gone(self, connection: socket.socket, wait: float) -> bool:
        """Wait up to `wait` seconds; True when the client closed its end (or the test stopped us)."""
        readable, _, _ = select.select([connection], [], [], wait)
        if readable and connection.recv(65536) == b"":
            self.hung_up.set()
            return True
        return self.stopped.is_set()

    def stop(self) -> None:
        self.stopped.set()
        for thread in [self._thread, *self._threads]:
            thread.join(timeout=10)
        self._server.close()


def trickle(receiver: HostileReceiver, connection: socket.socket) -> None:
    """One byte per second: a per-read timeout never fires, only an overall deadline ends it."""
    for byte in SLOW_ANSWER:
        if receiver.client_gone(connection, 1.0):
            return
        connection.sendall(bytes([byte]))
        receiver.sent += 1
    receiver.finished.set()


def endless_body(receiver: HostileReceiver, connection: socket.socket) -> None:
    """A 2xx status at once, then a body far larger than anyone should read (32 MiB)."""
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 33554432\r\n\r\n")
    chunk = b"x" * 65536
    try:
        for _ in range(512):
            connection.sendall(chunk)
            receiver.sent += len(chunk)
    except OSError:
        receiver.hung_up.set()
        return
    receiver.finished.set()


@pytest.fixture
def hostile() -> Iterator[Callable[..., HostileReceiver]]:
    started: list[HostileReceiver] = []

    def start(feed) -> HostileReceiver:
        started.append(HostileReceiver(feed))
        return started[-1]

    yield start
    for receiver in started:
        receiver.stop()


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Poll for something background threads do (a failure message names it; not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen"
        time.sleep(0.02)


def test_the_attempt_deadline_cuts_off_a_receiver_that_trickles_its_answer(make_client, hostile, notify, deliver):
    slow = hostile(trickle)
    client = make_client(delivery_attempt_timeout_seconds=1.5)
    created = notify(client, channel="webhook", recipient=slow.url)
    assert deliver(client) == 1  # returns once the deadline has passed, not when the receiver is done
    _wait_for(slow.hung_up.is_set, "the client hanging up on the slow receiver")
    assert not slow.finished.is_set()
    assert slow.sent < len(SLOW_ANSWER)
    detail = client.get(f"/api/v1/notifications/{created['id']}").json()
    assert (detail["status"], detail["attempts"]) == ("pending", 1)
    assert detail["last_error"] == "ReadTimeout: no answer within the 1.5 s attempt deadline"


def test_a_slow_receiver_does_not_delay_pages_to_others(make_client, hostile, receiver, notify):
    slow = hostile(trickle)
    client = make_client(**RUNNING_WORKERS)
    stuck = notify(client, channel="webhook", recipient=slow.url, message="to the slow receiver")
    _wait_for(slow.connected.is_set, "the attempt at the slow receiver")

    healthy = [notify(client, channel="webhook", recipient=receiver.url, message=f"page {i}")["id"] for i in range(5)]

    def all_sent() -> bool:
        rows = client.get("/api/v1/notifications", params={"status": "sent"}).json()
        return {row["id"] for row in rows} == set(healthy)

    _wait_for(all_sent, "delivery of the pages to the healthy receiver")
    assert not slow.finished.is_set() and not slow.hung_up.is_set(), "the slow receiver is still being fed"
    still = client.get(f"/api/v1/notifications/{stuck['id']}").json()
    assert (still["status"], still["attempts"]) == ("pending", 0)
    assert sorted(r["json"]["notification_id"] for r in receiver.requests) == sorted(healthy)
    slow.stop()  # the slow attempt ends (connection closed), so the app can stop its workers


def test_a_slow_receiver_holds_only_its_own_lane(make_client, hostile, receiver, notify):
    """Four pages to one slow receiver and two workers per destination: two attempts reach it, the
    other two wait their turn (not attempted), and the pages to the healthy receiver go out meanwhile."""
    slow = hostile(trickle)
    client = make_client(**RUNNING_WORKERS, delivery_max_per_destination=2, delivery_stall_seconds=60)
    stuck = [notify(client, channel="webhook", recipient=slow.url, message=f"slow {i}")["id"] for i in range(4)]
    _wait_for(lambda: slow.connections == 2, "two attempts at the slow receiver")

    healthy = [notify(client, channel="webhook", recipient=receiver.url, message=f"page {i}")["id"] for i in range(5)]
    _wait_for(lambda: len(receiver.requests) == 5, "delivery of the pages to the healthy receiver")

    assert slow.connections == 2, "the slow receiver's lane let a third attempt in"
    waiting = [client.get(f"/api/v1/notifications/{id_}").json() for id_ in stuck]
    assert [(row["status"], row["attempts"]) for row in waiting] == [("pending", 0)] * 4
    assert sorted(r["json"]["notification_id"] for r in receiver.requests) == sorted(healthy)
    lanes = client.app.state.dispatcher.lanes
    assert lanes.in_flight(f"webhook {slow.url.removesuffix('/hook')}") == 2
    slow.stop()


def test_an_endless_answer_is_read_only_up_to_the_cap_and_the_status_counts(make_client, hostile, notify, deliver):
    flood = hostile(endless_body)
    client = make_client(delivery_attempt_timeout_seconds=10)
    created = notify(client, channel="webhook", recipient=flood.url)
    assert deliver(client) == 1
    assert client.get(f"/api/v1/notifications/{created['id']}").json()["status"] == "sent"
    _wait_for(flood.hung_up.is_set, "the client hanging up on the endless body")
    assert not flood.finished.is_set(), "the body was not read to its end"
