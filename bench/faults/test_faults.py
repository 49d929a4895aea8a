"""Checks of the fault suite's own instruments: the webhook receiver over real HTTP, and the ledger's
accounting (lost, duplicated, delays) on deliveries it is handed.

Not collected by `make test` (bench/ is outside testpaths); run with
`.venv/bin/python -m pytest bench/faults/test_faults.py -q -p no:cacheprovider`.
"""

import socket
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from faults.clock import PlatformClock
from faults.ledger import EscalationDue, Ledger
from faults.load import LoadResult
from faults.receiver import Delivery, Receiver
from tests.support.servers import free_port

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def receiver():
    receiver = Receiver(free_port(), lambda: T0)
    receiver.start()
    yield receiver
    receiver.stop()


def page(incident: str, notification: str, message: str = "[HIGH] down") -> dict:
    return {"incident_id": incident, "notification_id": notification, "recipient": "p@example.org", "message": message}


def test_receiver_records_pages_refuses_while_down_and_comes_back_on_its_port(receiver: Receiver):
    assert httpx.post(receiver.url, json=page("i1", "n1")).json() == {"ok": True}
    receiver.down()
    with pytest.raises(httpx.ConnectError):
        httpx.post(receiver.url, json=page("i1", "n2"))
    receiver.up()
    with httpx.Client() as client:  # keep-alive: two pages on one connection
        assert client.post(receiver.url, json=page("i2", "n3")).status_code == 200
        assert client.post(receiver.url, json=page("i3", "n4")).status_code == 200
    assert [d.body["notification_id"] for d in receiver.snapshot()] == ["n1", "n3", "n4"]


def test_a_page_whose_sender_left_before_the_answer_is_not_delivered(receiver: Receiver):
    receiver.latency = 0.5
    with socket.create_connection(("127.0.0.1", receiver.port)) as sock:
        body = b'{"incident_id": "i1", "message": "x"}'
        sock.sendall(b"POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    deadline = time.monotonic() + 5
    while receiver.requests == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1)  # past the latency: the receiver has decided
    assert receiver.requests == 1
    assert receiver.snapshot() == []


def test_the_slow_receiver_never_finishes_an_answer():
    slow = Receiver(free_port(), lambda: T0, slow=True)
    slow.start()
    try:
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(slow.url, json=page("i1", "n1"), timeout=0.5)  # bytes come 1 s apart
        assert slow.requests == 1 and slow.snapshot() == []
    finally:
        slow.stop()


def test_ledger_counts_lost_duplicated_and_delays(tmp_path: Path):
    clock = PlatformClock(tmp_path / "offset")
    incidents = [("inc-a", "api", "high"), ("inc-b", "db", "high")]

    def query(sql: str, params: tuple = ()) -> list[tuple]:
        if "alert_ingestion.alerts" in sql:
            return [("correlated", 2)]  # of three accepted alerts, two were stored
        return incidents

    load = LoadResult(sent=4, accepted={"a1": ("api", "high"), "a2": ("db", "high"), "a3": ("db", "high")})
    load.first_accepted = {("api", "high"): T0, ("db", "high"): T0}
    load.other["HTTP 500"] = 1
    ledger = Ledger("unit", clock, query, load=load)
    ledger.escalations.append(EscalationDue("inc-a", 1, T0 + timedelta(minutes=15)))
    deliveries = [
        Delivery(T0 + timedelta(seconds=2), page("inc-a", "n1")),
        Delivery(T0 + timedelta(seconds=9), page("inc-a", "n1")),  # the same page again
        Delivery(T0 + timedelta(minutes=15, seconds=4), page("inc-a", "n2", "[ESCALATED level 1] [HIGH] down")),
    ]

    row = ledger.account(deliveries)

    assert (row.sent, row.accepted, row.other, row.stored) == (4, 3, 1, 2)
    assert (row.pages_expected, row.delivered, row.duplicated) == (3, 2, 1)
    assert row.lost == 1 + 1  # one alert not stored, db's page never delivered
    assert row.escalation_delay.seconds == pytest.approx(4)
    assert row.page_delay.still_missing  # db's page: its delay is still growing
    assert not row.passed


def test_a_deadline_the_clock_jumped_over_falls_due_at_the_jump(tmp_path: Path):
    clock = PlatformClock(tmp_path / "offset")
    before = clock.now()
    clock.advance(600)
    assert (tmp_path / "offset").read_text() == "600.0"
    skipped = before + timedelta(seconds=300)
    assert clock.became_due(skipped) >= before + timedelta(seconds=600)
    later = clock.now() + timedelta(seconds=60)
    assert clock.became_due(later) == later
