"""The mock channel: a log line, always delivered (local runs and demos)."""

import logging

from notification.channels import Notification

logger = logging.getLogger(__name__)


class MockChannel:
    def recipient_problem(self, recipient: str) -> str | None:
        return None

    def destination(self, recipient: str) -> str:
        return "mock"

    def send(self, notification: Notification) -> None:
        logger.info(
            "mock notification %s to %s for incident %s: %s",
            notification.id,
            notification.recipient,
            notification.incident_id,
            notification.message,
        )

    def close(self) -> None:
        pass
