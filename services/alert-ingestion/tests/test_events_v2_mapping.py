"""Events API v2: what a valid event is, and how a trigger becomes the platform's alert (pure, no I/O)."""

import uuid

import pytest
from pydantic import ValidationError

from alert_ingestion.events_v2.mapping import details_of, to_alert
from alert_ingestion.events_v2.schemas import EventIn
from platform_common.auth.principal import Principal, Role


def integration(service: str | None = None) -> Principal:
    return Principal(kind="integration", role=Role.none, name="pd", id=uuid.uuid4(), integration_kind="pagerduty", service=service)


def event(**changes) -> dict:
    payload = {"summary": "Disk 99% full", "source": "db01.example.org", "severity": "critical"}
    return {"routing_key": "ipk_x", "event_action": "trigger", "payload": payload, **changes}


@pytest.mark.parametrize(("theirs", "ours"), [("critical", "critical"), ("error", "high"), ("warning", "medium"), ("info", "low")])
def test_pagerduty_severities_map_onto_ours(theirs, ours):
    body = EventIn.model_validate(event(payload={"summary": "s", "source": "h", "severity": theirs}))
    assert to_alert(body.payload, integration()).severity == ours


def test_the_integration_service_wins_then_component_then_source():
    payload = EventIn.model_validate(event(payload={"summary": "s", "source": "db01", "severity": "info", "component": "postgres"})).payload
    assert to_alert(payload, integration("payments")).service == "payments"
    assert to_alert(payload, integration()).service == "postgres"
    payload = EventIn.model_validate(event(payload={"summary": "s", "source": "db01", "severity": "info", "component": "  "})).payload
    assert to_alert(payload, integration()).service == "db01", "a blank component names nothing"


def test_alert_fields_labels_and_details():
    body = EventIn.model_validate(
        event(
            payload={
                "summary": "Disk 99% full",
                "source": "db01",
                "severity": "warning",
                "timestamp": "2015-07-17T08:42:58.315+0000",
                "component": "postgres",
                "group": "prod-datapipe",
                "class": "disk",
                "custom_details": {"free space": "1%", "load avg": 0.75},
            },
            links=[{"href": "https://runbooks.example.org/disk", "text": "Runbook"}],
            images=[{"src": "https://grafana.example.org/disk.png"}],
            client="Sample Monitoring Service",
            unknown_field="ignored",
        )
    )
    alert = to_alert(body.payload, integration())
    assert (alert.message, alert.timestamp.isoformat()) == ("Disk 99% full", "2015-07-17T08:42:58.315000+00:00")
    assert alert.labels == {"source": "db01", "component": "postgres", "group": "prod-datapipe", "class": "disk"}
    assert details_of(body) == {
        "custom_details": {"free space": "1%", "load avg": 0.75},
        "links": [{"href": "https://runbooks.example.org/disk", "text": "Runbook"}],
        "images": [{"src": "https://grafana.example.org/disk.png"}],
        "client": "Sample Monitoring Service",
    }
    assert details_of(EventIn.model_validate(event())) is None


def test_acknowledge_and_resolve_need_only_the_key_and_ignore_any_payload():
    resolve = EventIn.model_validate({"routing_key": "k", "event_action": "resolve", "dedup_key": "d", "payload": {"junk": True}})
    assert (resolve.event_action, resolve.dedup_key, resolve.payload) == ("resolve", "d", None)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({k: v for k, v in event().items() if k != "routing_key"}, "routing_key"),
        (event(event_action="escalate"), "event_action"),
        (event(payload={"source": "h", "severity": "info"}), "summary"),
        (event(payload={"summary": "  ", "source": "h", "severity": "info"}), "summary"),
        (event(payload={"summary": "s", "source": "h", "severity": "high"}), "severity"),
        (event(payload={"summary": "s" * 1025, "source": "h", "severity": "info"}), "summary"),
        (event(payload={"summary": "s", "source": "h", "severity": "info", "timestamp": "yesterday"}), "timestamp"),
        (event(payload=None), "payload"),
        (event(dedup_key="k" * 256), "dedup_key"),
        ({"routing_key": "k", "event_action": "acknowledge"}, "dedup_key"),
        (event(payload={"summary": "s\x00", "source": "h", "severity": "info"}), "summary"),
    ],
)
def test_invalid_events_are_refused_naming_the_problem(body, problem):
    with pytest.raises(ValidationError) as refused:
        EventIn.model_validate(body)
    assert problem in str(refused.value)
