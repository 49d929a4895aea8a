"""The PagerDuty Events API v2 over real processes, as a team moving from PagerDuty would use it: only
the events URL changes. The services run with ANONYMOUS_ROLE=none behind the real nginx gateway; an
admin creates a `pagerduty` integration whose key is the routing key.

(a) PagerDuty's own Python client (`pagerduty` from PyPI; it insists on https, so a TLS-terminating
    nginx sits in front of the gateway) triggers, re-triggers the same dedup_key, acknowledges, resolves.
(b) A real Prometheus rule through a real Alertmanager `pagerduty_configs` receiver opens an incident
    when it fires and resolves it when it clears.
(c) Invalid events get PagerDuty's 400 and store nothing.
"""

import os
import secrets
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pagerduty
import pytest

from platform_local.nginx import LocalNginx, nginx_binary
from tests.e2e.test_alertmanager_e2e import RULES, exporter  # noqa: F401 - exporter: the scrape target fixture
from tests.support.alerting import LocalAlerting, spawn
from tests.support.servers import free_port
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
def platform(start_stack, tmp_path: Path) -> Iterator[dict]:
    admin_token = secrets.token_urlsafe(32)
    env = {
        "ANONYMOUS_ROLE": "none",
        "BOOTSTRAP_ADMIN_TOKEN": admin_token,
        "SERVICE_TOKEN": secrets.token_urlsafe(32),
        "PENDING_RETRY_SECONDS": "0.5",
    }
    stack = start_stack("alert-ingestion", "incident-management", "oncall-service", env=env)
    gateway = LocalNginx(tmp_path / "gateway", free_port(), {name: stack.url(name) for name in stack.processes})
    gateway.start()
    admin = {"Authorization": f"Bearer {admin_token}"}
    created = httpx.post(f"{gateway.url}/api/v1/integrations", json={"name": "pd-clients", "kind": "pagerduty"}, headers=admin)
    assert created.status_code == 201, created.text
    try:
        yield {"gateway": gateway.url, "admin": admin, "key": created.json()["key"]}
    finally:
        gateway.stop()


def _tls_proxy_config(prefix: Path, port: int, upstream: str) -> Path:
    temp = "\n".join(f"    {name}_temp_path {prefix / name};" for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    config = prefix / "nginx.conf"
    config.write_text(
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"worker_processes 1;\npid {prefix / 'nginx.pid'};\nerror_log {prefix / 'error.log'} warn;\ndaemon off;\n"
        + "events { worker_connections 64; }\n"
        + f"http {{\n    access_log off;\n{temp}\n"
        + f"    server {{\n        listen 127.0.0.1:{port} ssl;\n"
        + f"        ssl_certificate {prefix / 'cert.pem'};\n        ssl_certificate_key {prefix / 'key.pem'};\n"
        + f"        location / {{ proxy_pass {upstream}; proxy_set_header X-Forwarded-Proto https; }}\n    }}\n}}\n"
    )
    return config


@pytest.fixture
def https_gateway(platform, tmp_path: Path) -> Iterator[tuple[str, ssl.SSLContext]]:
    """A TLS-terminating nginx in front of the gateway, with a throwaway self-signed certificate."""
    prefix = tmp_path / "tls"
    prefix.mkdir()
    certificate = [
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
    ]
    files = ["-keyout", str(prefix / "key.pem"), "-out", str(prefix / "cert.pem")]
    subprocess.run(["openssl", "req", *certificate, *files], check=True, capture_output=True)
    port = free_port()
    config = _tls_proxy_config(prefix, port, platform["gateway"])
    process = spawn([nginx_binary(), "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(config)], prefix / "nginx.out")
    context = ssl.create_default_context(cafile=str(prefix / "cert.pem"))
    url = f"https://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return httpx.get(f"{url}/health", verify=context).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(healthy, "the TLS proxy", timeout=15)
        yield url, context
    finally:
        process.terminate()
        process.wait(timeout=15)


def alerts(platform: dict, **filters) -> list[dict]:
    return httpx.get(f"{platform['gateway']}/api/v1/alerts", params=filters, headers=platform["admin"]).json()


def incident(platform: dict, incident_id: str) -> dict:
    return httpx.get(f"{platform['gateway']}/api/v1/incidents/{incident_id}", headers=platform["admin"]).json()


def test_pagerduty_python_client_triggers_retriggers_acknowledges_and_resolves(platform, https_gateway):
    url, context = https_gateway
    client = pagerduty.EventsApiV2Client(platform["key"], base_url=url, verify=context)
    key = client.trigger("Checkout is failing payments", "web01", dedup_key="checkout/5xx", payload={"component": "checkout"})
    assert key == "checkout/5xx"
    [alert] = alerts(platform, service="checkout")
    assert (alert["source"], alert["severity"], alert["status"]) == ("events_v2", "critical", "correlated")
    opened = incident(platform, alert["incident_id"])
    assert (opened["service"], opened["status"]) == ("checkout", "open")

    assert client.trigger("Checkout is failing payments", "web01", dedup_key="checkout/5xx", payload={"component": "checkout"}) == key
    [alert] = alerts(platform, service="checkout")
    assert alert["repeat_count"] == 1
    listed = httpx.get(f"{platform['gateway']}/api/v1/incidents", headers=platform["admin"])
    assert listed.headers["x-total-count"] == "1", "a re-trigger never opens a second incident"

    assert client.acknowledge(key) == key
    acknowledged = incident(platform, alert["incident_id"])
    assert acknowledged["status"] == "acknowledged"
    assert any(e["kind"] == "acknowledged" and e["actor"] == "pd-clients" for e in acknowledged["timeline"])

    assert client.resolve(key) == key
    wait_until(lambda: incident(platform, alert["incident_id"])["status"] == "resolved", "the incident to resolve", timeout=30)
    generated = client.trigger("Queue backlog", "worker03", payload={"component": "checkout"})
    assert len(generated) == 32 and generated != key, "a trigger without a dedup_key gets one back"


def test_alertmanager_pagerduty_receiver_opens_and_resolves_an_incident(platform, exporter, tmp_path: Path):  # noqa: F811
    state, target = exporter
    receiver = f"""
route: {{receiver: platform, group_by: [alertname], group_wait: 1s, group_interval: 1s, repeat_interval: 1h}}
receivers:
  - name: platform
    pagerduty_configs:
      - url: {platform["gateway"]}/v2/enqueue
        routing_key: {platform["key"]}
        severity: '{{{{ .CommonLabels.severity }}}}'
        component: '{{{{ .CommonLabels.service }}}}'
"""
    with LocalAlerting(tmp_path, alertmanager_config=receiver, rules=RULES, scrape_target=target):
        state["value"] = 3
        alert = wait_until(
            lambda: (found := alerts(platform, service="checkout")) and found[0]["incident_id"] and found[0], "the trigger", timeout=90
        )
        assert (alert["source"], alert["severity"]) == ("events_v2", "critical")
        assert alert["message"].startswith("[FIRING:1] CheckoutErrors"), "Alertmanager's default description"
        assert alert["details"]["client"] == "Alertmanager"
        opened = incident(platform, alert["incident_id"])
        assert (opened["service"], opened["severity"], opened["status"]) == ("checkout", "critical", "open")

        state["value"] = 0
        wait_until(lambda: incident(platform, alert["incident_id"])["status"] == "resolved", "the incident to resolve", timeout=90)
        [resolved] = alerts(platform, service="checkout")
        assert resolved["alert_id"] == alert["alert_id"] and resolved["resolved_at"], "repeats were counted on the one alert"


def test_invalid_events_get_pagerduty_400s_and_store_nothing(platform):
    enqueue = f"{platform['gateway']}/v2/enqueue"
    payload = {"summary": "s", "source": "h", "severity": "critical"}
    cases = {
        "missing routing_key": ({"event_action": "trigger", "payload": payload}, "'routing_key' is missing"),
        "bad event_action": ({"routing_key": platform["key"], "event_action": "explode", "payload": payload}, "'event_action' is invalid"),
        "unknown key": (
            {"routing_key": "ipk_" + secrets.token_urlsafe(32), "event_action": "trigger", "payload": payload},
            "Invalid routing key",
        ),
        "missing summary": (
            {"routing_key": platform["key"], "event_action": "trigger", "payload": {"source": "h", "severity": "critical"}},
            "'payload.summary' is missing",
        ),
    }
    for name, (body, error) in cases.items():
        answer = httpx.post(enqueue, json=body)
        assert answer.status_code == 400, (name, answer.text)
        refused = answer.json()
        assert (refused["status"], refused["message"]) == ("invalid event", "Event object is invalid"), name
        assert any(error in message for message in refused["errors"]), (name, refused)
    assert alerts(platform) == []
