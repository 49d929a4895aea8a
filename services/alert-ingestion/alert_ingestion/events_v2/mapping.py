"""An Events API trigger as the platform's alert (pure functions, unit-tested).

- service:  the integration's own service (as a PagerDuty routing key belongs to one service); else
            `payload.component`; else `payload.source`
- severity: critical → critical, error → high, warning → medium, info → low
- message:  `payload.summary`; timestamp: `payload.timestamp` (default now)
- labels:   `source`, `component`, `group`, `class` when given (what routing rules and silences match)
- details:  what else the event carried (`custom_details`, `links`, `images`, `client`, `client_url`),
            kept with the alert as sent
"""

from typing import Any

from alert_ingestion.events_v2.schemas import EventIn, Payload
from alert_ingestion.schemas import AlertIn
from platform_common.auth.principal import Principal
from platform_common.severity import Severity

SEVERITIES = {"critical": Severity.CRITICAL, "error": Severity.HIGH, "warning": Severity.MEDIUM, "info": Severity.LOW}
MAX_SERVICE_CHARS = 200
MAX_LABEL_CHARS = 1000


def service_of(payload: Payload, integration: Principal) -> str:
    return (integration.service or payload.component or payload.source)[:MAX_SERVICE_CHARS]


def labels_of(payload: Payload) -> dict[str, str]:
    fields = {"source": payload.source, "component": payload.component, "group": payload.group, "class": payload.class_}
    return {name: value[:MAX_LABEL_CHARS] for name, value in fields.items() if value}


def to_alert(payload: Payload, integration: Principal) -> AlertIn:
    return AlertIn(
        service=service_of(payload, integration),
        severity=SEVERITIES[payload.severity],
        message=payload.summary,
        labels=labels_of(payload),
        timestamp=payload.timestamp,
    )


def details_of(event: EventIn) -> dict[str, Any] | None:
    details = {
        "custom_details": event.payload.custom_details if event.payload else None,
        "links": [link.model_dump(exclude_none=True) for link in event.links],
        "images": [image.model_dump(exclude_none=True) for image in event.images],
        "client": event.client,
        "client_url": event.client_url,
    }
    return {name: value for name, value in details.items() if value} or None
