"""The handoff worker: claim the turns to announce, then page each incoming person (on every
`PAGE_CHANNELS` channel) through notification-service.

Each cycle claims in one short transaction, then delivers the pending notices with the shared lease
outbox (`platform_common.outbox`): no transaction is open while notification-service is called, and a
replica that dies mid-delivery leaves the notice to be taken again when its lease runs out. Each page
carries the Idempotency-Key `handoff:<team>:<turn start>:<channel>`, so a retried page is a no-op.

A notice is not about an incident, but notification-service files every notification under one: it
gets a stable id derived from the key, which incident-management does not know, so notification-service
delivers it as a plain notification. Retries back off up to `max_backoff_seconds`; a notice still
undelivered when its turn ends is `expired`, one notification-service refuses is `failed`.
"""

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid5
from zoneinfo import ZoneInfo

from sqlalchemy import RowMapping
from sqlalchemy.orm import Session, sessionmaker

from oncall import peers
from oncall.handoffs import service
from oncall.handoffs.tables import notices
from platform_common import outbox
from platform_common.http import PeerUnavailable, ServiceClient

logger = logging.getLogger(__name__)
MAX_PER_CYCLE = 50
LEASE_SECONDS = 60.0  # longer than a whole delivery: every channel's call with its timeout and retries
MAX_KEY_LENGTH = 200  # notification-service's limit on Idempotency-Key
_NOTICE_NAMESPACE = UUID("5b0c1c51-93a4-4c36-8f0e-6f4a3c7d2e10")


def page_key(row: RowMapping, channel: str) -> str:
    key = f"handoff:{row['team']}:{row['shift_start'].isoformat()}:{channel}"
    if len(key) <= MAX_KEY_LENGTH:
        return key
    return f"handoff:{hashlib.sha256(key.encode()).hexdigest()}"  # a very long team name


def notice_id(row: RowMapping) -> UUID:
    """The stand-in incident id the notice's notifications are filed under."""
    return uuid5(_NOTICE_NAMESPACE, f"handoff:{row['team']}:{row['shift_start'].isoformat()}")


def message(row: RowMapping) -> str:
    def local(at: datetime) -> str:
        return at.astimezone(ZoneInfo(row["timezone"])).strftime("%a %Y-%m-%d %H:%M %Z")

    return f"You are on call for {row['team']} from {local(row['shift_start'])} to {local(row['shift_end'])}"


@dataclass
class HandoffNotifier:
    session_factory: sessionmaker[Session]
    notifier: ServiceClient
    channels: list[str]
    clock: Callable[[], datetime]
    max_backoff_seconds: float = 60.0

    def run_cycle(self) -> int:
        """Claim due handoffs, then deliver pending notices; returns how many notices were handled."""
        with self.session_factory() as session:
            service.claim(session, now=self.clock())
            session.commit()
        return outbox.drain(
            self.session_factory, notices, self._deliver, clock=self.clock, lease_seconds=LEASE_SECONDS, limit=MAX_PER_CYCLE
        )

    def _deliver(self, row: RowMapping) -> None:
        values: dict[str, Any]
        if self.clock() >= row["shift_end"]:
            values = {"status": "expired"}
        else:
            try:
                for channel in self.channels:
                    peers.page(
                        self.notifier,
                        incident_id=notice_id(row),
                        channel=channel,
                        recipient=row["email"],
                        message=message(row),
                        key=page_key(row, channel),
                    )
                values = {"status": "sent", "sent_at": self.clock(), "last_error": None}
            except PeerUnavailable as exc:
                delay = min(self.max_backoff_seconds, 2.0 ** (row["attempts"] + 1))
                values = {"next_attempt_at": self.clock() + timedelta(seconds=delay), "last_error": str(exc)}
            except peers.PeerRejected as exc:
                values = {"status": "failed", "last_error": str(exc)}
        with self.session_factory() as session:
            recorded = outbox.record(session, notices, row, **values, attempts=row["attempts"] + 1)
            session.commit()
        status = values.get("status", "pending")
        if not recorded:
            logger.warning("handoff notice %s for %s: lease lost, outcome %s not recorded", row["id"], row["team"], status)
        elif status != "sent":
            logger.warning("handoff notice for %s (%s) %s: %s", row["team"], row["name"], status, values.get("last_error"))
        else:
            logger.info("handoff of %s to %s announced", row["team"], row["name"])
