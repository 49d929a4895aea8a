"""Heartbeats over real processes, in real time (the acceptance bound of SPEC §11 / issue 11):

1. A heartbeat with a 5 s interval and 5 s grace: pinging stops → an incident opens for its service
   within 15 s of the last ping; a ping → the alert and the incident resolve.
2. The README's Watchdog: a real Prometheus evaluating an always-firing rule (`vector(1)`) and a real
   Alertmanager whose `webhook_configs` url is the ping URL (repeat_interval shorter than the heartbeat
   interval) keep the heartbeat up; Alertmanager dies → an incident opens; it comes back → resolved.
Elapsed times are printed; the 15 s bound is the acceptance criterion, polled with a deadline."""

import time
from pathlib import Path

import httpx
import pytest

from tests.support.alerting import LocalAlerting, require_binaries
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

ACCEPTANCE_SECONDS = 15
WATCHDOG_RULES = """
groups:
  - name: watchdog
    interval: 1s
    rules:
      - alert: Watchdog
        expr: vector(1)
        labels: {severity: none}
"""


def heartbeat(alerts: str, name: str) -> dict:
    created = httpx.post(
        f"{alerts}/api/v1/heartbeats", json={"name": name, "service": "nightly-jobs", "interval_seconds": 5, "grace_seconds": 5}
    )
    assert created.status_code == 201, created.text
    return created.json()


def incident_of(alerts: str, heartbeat_id: str):
    def check():
        state = httpx.get(f"{alerts}/api/v1/heartbeats/{heartbeat_id}").json()
        return state["incident_id"] if state["state"] == "down" and state["incident_id"] else None

    return check


def resolved(incidents: str, incident_id: str):
    return lambda: httpx.get(f"{incidents}/api/v1/incidents/{incident_id}").json()["status"] == "resolved"


def test_stopped_pings_open_an_incident_within_15_s_and_a_ping_resolves_it(start_stack):
    stack = start_stack("alert-ingestion", "incident-management")
    alerts, incidents = stack.url("alert-ingestion"), stack.url("incident-management")
    beat = heartbeat(alerts, "backup-cron")
    for _ in range(3):  # pinging: up
        assert httpx.post(beat["ping_url"]).json()["state"] == "up"
    last_ping = time.monotonic()
    incident_id = wait_until(incident_of(alerts, beat["id"]), "incident for the missed heartbeat", ACCEPTANCE_SECONDS)
    print(f"\nincident opened {time.monotonic() - last_ping:.1f} s after the last ping (interval 5 s + grace 5 s)")
    incident = httpx.get(f"{incidents}/api/v1/incidents/{incident_id}").json()
    assert (incident["service"], incident["severity"], incident["status"]) == ("nightly-jobs", "critical", "open")
    assert [a["message"] for a in incident["alerts"]] == ["Heartbeat backup-cron missed"]

    pinged = time.monotonic()
    assert httpx.get(beat["ping_url"]).json()["state"] == "up"
    wait_until(resolved(incidents, incident_id), "auto-resolve after the ping", ACCEPTANCE_SECONDS)
    print(f"incident resolved {time.monotonic() - pinged:.1f} s after the ping")
    metrics = httpx.get(f"{alerts}/metrics").text
    assert "heartbeats_missed_total 1.0" in metrics and "heartbeats_down 0.0" in metrics
    assert httpx.get(f"{incidents}/api/v1/incidents").headers["x-total-count"] == "1"


def test_watchdog_through_prometheus_and_alertmanager_keeps_the_heartbeat_up_until_the_chain_dies(start_stack, tmp_path: Path):
    require_binaries()
    stack = start_stack("alert-ingestion", "incident-management")
    alerts, incidents = stack.url("alert-ingestion"), stack.url("incident-management")
    beat = heartbeat(alerts, "prometheus-watchdog")
    receiver = f"""
route:
  receiver: heartbeat
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 2s
receivers:
  - name: heartbeat
    webhook_configs:
      - url: "{beat["ping_url"]}"
        send_resolved: false
"""
    url = f"{alerts}/api/v1/heartbeats/{beat['id']}"
    with LocalAlerting(tmp_path, alertmanager_config=receiver, rules=WATCHDOG_RULES) as alerting:
        wait_until(lambda: httpx.get(url).json()["last_ping_at"], "Watchdog ping through Alertmanager", 60)
        first = httpx.get(url).json()["last_ping_at"]
        wait_until(lambda: httpx.get(url).json()["last_ping_at"] != first, "a repeated Watchdog ping", 30)
        assert httpx.get(url).json()["state"] == "up"

        alerting.stop_alertmanager()
        stopped = time.monotonic()
        incident_id = wait_until(incident_of(alerts, beat["id"]), "incident once Alertmanager is gone", ACCEPTANCE_SECONDS)
        print(f"\nAlertmanager stopped → incident in {time.monotonic() - stopped:.1f} s")

        alerting.start_alertmanager()
        restarted = time.monotonic()
        wait_until(resolved(incidents, incident_id), "auto-resolve once Alertmanager pings again", 60)
        print(f"Alertmanager restarted → incident resolved in {time.monotonic() - restarted:.1f} s")
