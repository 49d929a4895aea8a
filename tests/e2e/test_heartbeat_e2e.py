"""Heartbeats over real processes, in real time (the acceptance bound of SPEC §11 / issue 11):

1. A heartbeat with a 5 s interval and 5 s grace: pinging stops → an incident opens for its service
   within 15 s of the last ping; a ping → the alert and the incident resolve.
2. The README's Watchdog: a real Prometheus evaluating an always-firing rule (`vector(1)`) and a real
   Alertmanager whose `webhook_configs` url is the ping URL (repeat_interval shorter than the heartbeat
   interval) keep the heartbeat up; Alertmanager dies → an incident opens; it comes back → resolved.
Elapsed times are printed; the 15 s bound is the acceptance criterion, polled with a deadline."""

import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.support.servers import free_port

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


def poll(check, what: str, within: float):
    """`check()`'s first truthy answer, asked every 0.2 s until `within` seconds have passed."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.2)
    raise AssertionError(f"no {what} within {within} s")


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
    incident_id = poll(incident_of(alerts, beat["id"]), "incident for the missed heartbeat", ACCEPTANCE_SECONDS)
    print(f"\nincident opened {time.monotonic() - last_ping:.1f} s after the last ping (interval 5 s + grace 5 s)")
    incident = httpx.get(f"{incidents}/api/v1/incidents/{incident_id}").json()
    assert (incident["service"], incident["severity"], incident["status"]) == ("nightly-jobs", "critical", "open")
    assert [a["message"] for a in incident["alerts"]] == ["Heartbeat backup-cron missed"]

    pinged = time.monotonic()
    assert httpx.get(beat["ping_url"]).json()["state"] == "up"
    poll(resolved(incidents, incident_id), "auto-resolve after the ping", ACCEPTANCE_SECONDS)
    print(f"incident resolved {time.monotonic() - pinged:.1f} s after the ping")
    metrics = httpx.get(f"{alerts}/metrics").text
    assert "heartbeats_missed_total 1.0" in metrics and "heartbeats_down 0.0" in metrics
    assert httpx.get(f"{incidents}/api/v1/incidents").headers["x-total-count"] == "1"


def spawn(argv: list[str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(argv, stdout=log.open("ab"), stderr=subprocess.STDOUT)


def test_watchdog_through_prometheus_and_alertmanager_keeps_the_heartbeat_up_until_the_chain_dies(start_stack, tmp_path: Path):
    for binary in ("prometheus", "prometheus-alertmanager"):
        assert shutil.which(binary), f"{binary} missing: scripts/install-system-packages.sh installs it"
    stack = start_stack("alert-ingestion", "incident-management")
    alerts, incidents = stack.url("alert-ingestion"), stack.url("incident-management")
    beat = heartbeat(alerts, "prometheus-watchdog")
    am_port, prom_port = free_port(), free_port()
    (tmp_path / "rules.yml").write_text(WATCHDOG_RULES)
    (tmp_path / "alertmanager.yml").write_text(f"""
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
""")
    (tmp_path / "prometheus.yml").write_text(f"""
global: {{evaluation_interval: 1s}}
rule_files: [{tmp_path / "rules.yml"}]
alerting:
  alertmanagers: [{{static_configs: [{{targets: ["127.0.0.1:{am_port}"]}}]}}]
""")
    alertmanager_argv = [
        "prometheus-alertmanager",
        f"--config.file={tmp_path / 'alertmanager.yml'}",
        f"--storage.path={tmp_path / 'am'}",
        f"--web.listen-address=127.0.0.1:{am_port}",
        "--cluster.listen-address=",
    ]
    processes = {
        "alertmanager": spawn(alertmanager_argv, tmp_path / "alertmanager.log"),
        "prometheus": spawn(
            [
                "prometheus",
                f"--config.file={tmp_path / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp_path / 'prom'}",
                f"--web.listen-address=127.0.0.1:{prom_port}",
                "--rules.alert.resend-delay=1s",
            ],
            tmp_path / "prometheus.log",
        ),
    }
    url = f"{alerts}/api/v1/heartbeats/{beat['id']}"
    try:
        poll(lambda: httpx.get(url).json()["last_ping_at"], "Watchdog ping through Alertmanager", 60)
        first = httpx.get(url).json()["last_ping_at"]
        poll(lambda: httpx.get(url).json()["last_ping_at"] != first, "a repeated Watchdog ping", 30)
        assert httpx.get(url).json()["state"] == "up"

        processes["alertmanager"].terminate()
        processes["alertmanager"].wait(timeout=30)
        stopped = time.monotonic()
        incident_id = poll(incident_of(alerts, beat["id"]), "incident once Alertmanager is gone", ACCEPTANCE_SECONDS)
        print(f"\nAlertmanager stopped → incident in {time.monotonic() - stopped:.1f} s")

        processes["alertmanager"] = spawn(alertmanager_argv, tmp_path / "alertmanager.log")
        restarted = time.monotonic()
        poll(resolved(incidents, incident_id), "auto-resolve once Alertmanager pings again", 60)
        print(f"Alertmanager restarted → incident resolved in {time.monotonic() - restarted:.1f} s")
    finally:
        for process in processes.values():
            process.terminate()
            process.wait(timeout=30)
