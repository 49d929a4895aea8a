"""Routing rules, grouping and the "test this alert" endpoint over real HTTP, with the real
incident-management and PostgreSQL."""

import uuid

import httpx
import pytest

RULES = "/api/v1/routing-rules"


def post_alert(base, **fields):
    body = {"service": "checkout", "severity": "high", "message": "card payments failing", **fields}
    response = httpx.post(f"{base}/api/v1/alerts", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def add_rule(base, **fields):
    response = httpx.post(f"{base}{RULES}", json={"name": "rule", **fields})
    assert response.status_code == 201, response.text
    return response.json()


def test_a_label_regex_rule_routes_a_generic_alert_to_payments(alerts_url, incidents_url):
    rule = add_rule(alerts_url, name="payments team", matchers=['team=~"pay.*"'], set_service="payments")
    assert rule["matchers"] == [{"name": "labels.team", "op": "=~", "value": "pay.*"}] and rule["position"] == 1
    routed = post_alert(alerts_url, labels={"team": "payments-core"})
    assert routed["status"] == "correlated" and routed["action"] == "new_incident"
    incident = httpx.get(f"{incidents_url}/api/v1/incidents/{routed['incident_id']}").json()
    assert incident["service"] == "payments"
    stored = httpx.get(f"{alerts_url}/api/v1/alerts/{routed['alert_id']}").json()
    assert stored["service"] == "payments" and stored["routing_rule_id"] == rule["id"]
    # anchored: "xpay" is not "pay.*"
    untouched = post_alert(alerts_url, labels={"team": "xpay"})
    assert httpx.get(f"{incidents_url}/api/v1/incidents/{untouched['incident_id']}").json()["service"] == "checkout"


def test_a_drop_rule_stores_the_alert_dropped_and_opens_nothing(alerts_url, incidents_url):
    add_rule(alerts_url, name="noise", matchers=['message=~".*flapping.*"'], drop=True)
    dropped = post_alert(alerts_url, message="disk flapping again")
    assert dropped == {**dropped, "status": "dropped", "action": "dropped", "incident_id": None}
    assert httpx.get(f"{alerts_url}/api/v1/alerts", params={"status": "dropped"}).json()[0]["alert_id"] == dropped["alert_id"]
    assert httpx.get(f"{incidents_url}/api/v1/incidents").json() == []
    assert post_alert(alerts_url)["status"] == "correlated"  # other alerts still open incidents


def test_rules_are_ordered_first_match_wins_and_can_be_moved(alerts_url):
    a = add_rule(alerts_url, name="a", matchers=['service="checkout"'], set_severity="low")
    b = add_rule(alerts_url, name="b", matchers=['service="checkout"'], set_severity="critical")
    c = add_rule(alerts_url, name="c", matchers=['service="other"'], drop=True, position=1)
    assert [r["name"] for r in httpx.get(f"{alerts_url}{RULES}").json()] == ["c", "a", "b"]
    tested = httpx.post(f"{alerts_url}{RULES}/test", json={"service": "checkout", "severity": "high", "message": "m"}).json()
    assert tested["rule"]["id"] == a["id"] and tested["alert"]["severity"] == "low" and tested["outcome"] == "correlate"
    moved = httpx.put(f"{alerts_url}{RULES}/{b['id']}", json={**_body(b), "position": 1})
    assert moved.status_code == 200, moved.text
    listed = httpx.get(f"{alerts_url}{RULES}").json()
    assert [(r["name"], r["position"]) for r in listed] == [("b", 1), ("c", 2), ("a", 3)]
    assert post_alert(alerts_url)["status"] == "correlated"
    assert httpx.get(f"{alerts_url}/api/v1/alerts").json()[0]["severity"] == "critical"
    assert httpx.delete(f"{alerts_url}{RULES}/{c['id']}").status_code == 204
    assert [(r["name"], r["position"]) for r in httpx.get(f"{alerts_url}{RULES}").json()] == [("b", 1), ("a", 2)]
    assert httpx.delete(f"{alerts_url}{RULES}/{c['id']}").status_code == 404


def _body(rule):
    return {key: rule[key] for key in ("name", "matchers", "integration_id", "set_service", "set_severity", "drop")}


def test_the_test_endpoint_stores_nothing(alerts_url, incidents_url):
    add_rule(alerts_url, name="drop checkout", matchers=['service="checkout"'], drop=True)
    tested = httpx.post(f"{alerts_url}{RULES}/test", json={"service": "checkout", "severity": "P1", "message": "m"})
    assert tested.status_code == 200, tested.text
    assert tested.json()["outcome"] == "dropped" and tested.json()["rule"]["name"] == "drop checkout"
    nothing = httpx.post(f"{alerts_url}{RULES}/test", json={"service": "billing", "severity": "low", "message": "m"}).json()
    assert nothing["rule"] is None and nothing["outcome"] == "correlate" and nothing["window_seconds"] == 300
    assert httpx.get(f"{alerts_url}/api/v1/alerts").json() == []


@pytest.mark.parametrize(
    "body",
    [
        {"matchers": ['team=~"("'], "set_service": "x"},  # invalid regex
        {"matchers": [], "set_service": "x"},  # no matcher
        {"matchers": ['team="a"']},  # no action
        {"matchers": ['team="a"'], "drop": True, "set_service": "x"},  # both
        {"matchers": ['team="a"'], "set_severity": "urgent"},
        {"matchers": [{"name": "team", "op": "==", "value": "a"}], "drop": True},
        {"matchers": ['team="a"'] * 21, "drop": True},
    ],
)
def test_invalid_rules_are_422_and_change_nothing(alerts_url, body):
    response = httpx.post(f"{alerts_url}{RULES}", json={"name": "bad", **body})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"
    assert httpx.get(f"{alerts_url}{RULES}").json() == []


def test_unknown_rule(alerts_url):
    missing = httpx.put(f"{alerts_url}{RULES}/{uuid.uuid4()}", json={"name": "x", "matchers": ['a="b"'], "drop": True})
    assert missing.status_code == 404


def test_grouping_by_a_label_splits_incidents_and_keeps_one_per_group(alerts_url, incidents_url):
    grouping = httpx.put(f"{alerts_url}/api/v1/grouping/checkout", json={"group_by": ["region"], "window_seconds": 600})
    assert grouping.status_code == 200, grouping.text
    eu = post_alert(alerts_url, labels={"region": "eu"})
    us = post_alert(alerts_url, labels={"region": "us"})
    eu_again = post_alert(alerts_url, labels={"region": "eu"}, message="still failing")
    assert eu["incident_id"] != us["incident_id"]
    assert eu_again["incident_id"] == eu["incident_id"] and eu_again["action"] == "attached_to_existing_incident"
    # other services keep the default grouping
    assert (
        post_alert(alerts_url, service="billing", labels={"region": "eu"})["incident_id"]
        == (post_alert(alerts_url, service="billing", labels={"region": "us"})["incident_id"])
    )
    assert httpx.get(f"{alerts_url}/api/v1/grouping").json()[0]["group_by"] == ["region"]
    assert httpx.delete(f"{alerts_url}/api/v1/grouping/checkout").status_code == 204
    assert httpx.delete(f"{alerts_url}/api/v1/grouping/checkout").status_code == 404
