"""Bad input gets a 422 in the platform's error shape and stores nothing (SPEC §2): NUL characters
PostgreSQL cannot hold, timestamps outside what can be read back, bodies that are not JSON, offsets
beyond a bigint; webhook payloads with odd labels are accepted. Real HTTP, real database."""

import httpx
import pytest

ALERT = {"service": "frontend-api", "severity": "high", "message": "HTTP 5xx error rate > 10%"}


def field_errors(response: httpx.Response) -> set[str]:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"]["code"] == "validation_error"
    return {detail["field"] for detail in body["error"]["details"]}


def total_alerts(base: str) -> int:
    response = httpx.get(f"{base}/api/v1/alerts")
    assert response.status_code == 200, response.text
    return int(response.headers["X-Total-Count"])


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"message": "disk\x00full"}, "message"),
        ({"service": "api\x00"}, "service"),
        ({"labels": {"region": "eu\x00west"}}, "labels.region"),
        ({"labels": {"re\x00gion": "eu"}}, "labels.re\x00gion.[key]"),
    ],
)
def test_nul_characters_are_refused_and_nothing_is_stored(alerts_url, change, field):
    response = httpx.post(f"{alerts_url}/api/v1/alerts", json={**ALERT, **change})
    assert field_errors(response) == {field}
    assert total_alerts(alerts_url) == 0


@pytest.mark.parametrize("timestamp", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-01:00"])
def test_a_timestamp_outside_the_utc_range_is_refused_and_listing_still_works(alerts_url, timestamp):
    response = httpx.post(f"{alerts_url}/api/v1/alerts", json={**ALERT, "timestamp": timestamp})
    assert field_errors(response) == {"timestamp"}
    assert total_alerts(alerts_url) == 0


def test_odd_but_valid_timestamps_and_unicode_are_kept(alerts_url):
    labels = {"équipe": "サービス", "🔥": "ß" * 1000}
    for timestamp, stored in [("2025-01-01T00:00:00+23:59", "2024-12-31T00:01:00Z"), ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z")]:
        created = httpx.post(
            f"{alerts_url}/api/v1/alerts", json={**ALERT, "service": "checkout-ü", "labels": labels, "timestamp": timestamp}
        )
        assert created.status_code == 201, created.text
        alert = httpx.get(f"{alerts_url}/api/v1/alerts/{created.json()['alert_id']}").json()
        assert alert["timestamp"] == stored and alert["labels"] == labels and alert["service"] == "checkout-ü"


@pytest.mark.parametrize(
    "body",
    [b'{"service": "\xff\xfe"}', b"[" * 100_000 + b"]" * 100_000, b'{"severity": 1' + b"0" * 5000 + b"}"],
    ids=["not-utf8", "nested-too-deep", "integer-too-long"],
)
def test_a_body_that_cannot_be_decoded_is_a_422(alerts_url, body):
    response = httpx.post(f"{alerts_url}/api/v1/alerts", content=body, headers={"content-type": "application/json"})
    assert field_errors(response) == {"body"}
    assert response.json()["error"]["details"][0]["type"] == "json_invalid"


def test_an_offset_beyond_a_bigint_is_a_422(alerts_url):
    assert field_errors(httpx.get(f"{alerts_url}/api/v1/alerts", params={"offset": 10**20})) == {"offset"}
    assert field_errors(httpx.get(f"{alerts_url}/api/v1/alerts", params={"service": "a\x00"})) == {"service"}


def webhook(base: str, *alerts: dict) -> httpx.Response:
    return httpx.post(f"{base}/api/v1/alerts/alertmanager", json={"version": "4", "alerts": list(alerts)})


def test_webhook_labels_without_a_key_or_a_blank_alertname_are_accepted(alerts_url):
    response = webhook(
        alerts_url,
        {"status": "firing", "labels": {"": "x", "service": "db"}},
        {"status": "firing", "labels": {"alertname": "   ", "service": "cache"}},
    )
    assert response.status_code == 200, response.text
    assert len(response.json()["accepted"]) == 2
    stored = httpx.get(f"{alerts_url}/api/v1/alerts").json()
    assert {(alert["service"], alert["message"]) for alert in stored} == {("db", "alert"), ("cache", "alert")}
    assert all("" not in alert["labels"] for alert in stored)


def test_a_webhook_batch_with_a_nul_is_refused_whole(alerts_url):
    response = webhook(
        alerts_url,
        {"status": "firing", "labels": {"alertname": "fine", "service": "db"}},
        {"status": "firing", "labels": {"alertname": "bad\x00", "service": "db"}},
    )
    assert field_errors(response) == {"alerts.1.labels.alertname"}
    assert total_alerts(alerts_url) == 0
