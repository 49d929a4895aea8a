"""Alerts from real monitoring tools: the Prometheus Alertmanager webhook (version 4) and the Grafana
unified-alerting webhook (version 1) share one shape, mapped here onto the platform's alert.

Where each field comes from (first present wins):
- service:  labels `service`, `app`, `job`, `namespace`; else "unknown"
- severity: labels `severity`, `priority`, normalised like any alert; missing or not recognised →
            `critical` (as Alertmanager's own PagerDuty integration does: never under-page)
- message:  annotations `summary`, `description`, `message`; else label `alertname`; else "alert"
- timestamp: `startsAt`; fingerprint: `fingerprint`, else a hash of the sorted labels
Unknown extra fields are ignored.
"""

import hashlib
import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from alert_ingestion.schemas import MAX_LABELS, AlertIn
from platform_common.severity import Severity, normalise_severity
from platform_common.validation import Text, Timestamp

SERVICE_LABELS = ("service", "app", "job", "namespace")
SEVERITY_LABELS = ("severity", "priority")
MESSAGE_ANNOTATIONS = ("summary", "description", "message")


class WebhookAlert(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: Literal["firing", "resolved"]
    labels: dict[Text, Text] = Field(default_factory=dict)
    annotations: dict[Text, Text] = Field(default_factory=dict)
    startsAt: Timestamp | None = None
    endsAt: Timestamp | None = None
    fingerprint: Text | None = Field(default=None, max_length=200)


class WebhookPayload(BaseModel):
    """Alertmanager webhook v4 / Grafana webhook v1 (several alerts per request)."""

    model_config = ConfigDict(extra="ignore")

    version: str | None = None
    status: str | None = None
    alerts: list[WebhookAlert] = Field(max_length=1000)


def _first(mapping: dict[str, str], keys: tuple[str, ...]) -> str | None:
    return next((mapping[key].strip() for key in keys if mapping.get(key, "").strip()), None)


def _severity(labels: dict[str, str]) -> Severity:
    try:
        return normalise_severity(_first(labels, SEVERITY_LABELS))
    except ValueError:
        return Severity.CRITICAL


def fingerprint(alert: WebhookAlert) -> str:
    if alert.fingerprint:
        return alert.fingerprint
    return hashlib.sha256(json.dumps(alert.labels, sort_keys=True).encode()).hexdigest()[:32]


def to_alert(alert: WebhookAlert) -> AlertIn:
    """The platform alert a webhook alert stands for."""
    message = _first(alert.annotations, MESSAGE_ANNOTATIONS) or _first(alert.labels, ("alertname",)) or "alert"
    # A platform label needs a key: tools may send an empty one, which is dropped rather than failing the batch.
    labels = dict(sorted((key, value) for key, value in alert.labels.items() if key)[:MAX_LABELS])
    return AlertIn(
        service=(_first(alert.labels, SERVICE_LABELS) or "unknown")[:200],
        severity=_severity(alert.labels),
        message=message[:4000],
        labels={key[:100]: value[:1000] for key, value in labels.items()},
        timestamp=alert.startsAt,
    )
