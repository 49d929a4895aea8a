"""The heartbeat monitor: a background cycle (every `HEARTBEAT_CHECK_SECONDS`, on every replica) that
turns each missed heartbeat into one alert, through the normal intake.

One transaction claims the heartbeats that are up and overdue (`FOR UPDATE SKIP LOCKED`: a replica
never waits for, or claims, a row another replica or a ping holds), stores each one's alert
`Heartbeat <name> missed` (source `heartbeat`, fingerprint = the heartbeat's id, so the
firing-fingerprint unique index allows exactly one firing alert per heartbeat) and marks it down. Only
after that commit is each alert correlated, with no connection held while incident-management is asked;
if it cannot be reached the alert stays pending and the pending-alerts cycle correlates it later.
Routing rules, silences and maintenance windows decide what the alert becomes, as for any other alert:
a miss during its service's maintenance window is stored `silenced` and pages nobody.
"""

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.dialects.postgresql import insert

from alert_ingestion.correlation import Correlator
from alert_ingestion.heartbeats.metrics import HEARTBEATS_MISSED
from alert_ingestion.heartbeats.service import SOURCE
from alert_ingestion.heartbeats.tables import heartbeats
from alert_ingestion.metrics import count_received, count_suppressed
from alert_ingestion.routing.decide import Decision, Snapshot, decide
from alert_ingestion.schemas import AlertIn
from alert_ingestion.tables import alerts
from platform_common.clock import utcnow

logger = logging.getLogger(__name__)
BATCH = 100


def missed_alert(heartbeat) -> AlertIn:
    return AlertIn(
        service=heartbeat.service,
        severity=heartbeat.severity,
        message=f"Heartbeat {heartbeat.name} missed",
        labels={"alertname": "HeartbeatMissed", "heartbeat": heartbeat.name},
        timestamp=heartbeat.due_at,
    )


class HeartbeatMonitor:
    def __init__(
        self,
        engine: Engine,
        correlator: Correlator,
        *,
        clock: Callable[[], datetime] = utcnow,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.engine = engine
        self.correlator = correlator
        self.clock = clock
        self.loop = loop  # the app's event loop, where the routing state is loaded

    def _routing(self) -> Snapshot:
        """The routing state the intake uses, refreshed on the app's loop; if that fails, the last one
        loaded (a miss then pages rather than being lost to a silence nobody could read)."""
        if self.loop is not None and self.loop.is_running():
            try:
                return asyncio.run_coroutine_threadsafe(self.correlator.routing.snapshot(), self.loop).result(timeout=5)
            except Exception as exc:  # noqa: BLE001 - any failure to read the state falls back to the last one
                logger.warning("heartbeat monitor: routing state not refreshed (%s); using the last one", type(exc).__name__)
        return self.correlator.routing.latest

    def check(self) -> int:
        """One cycle: claim every missed heartbeat (batch after batch), then correlate their alerts.
        Returns how many misses this cycle claimed."""
        claimed = 0
        while True:
            alert_ids = self._claim_batch(self.clock())
            claimed += len(alert_ids)
            for alert_id in alert_ids:
                self.correlator.correlate(alert_id)
            if len(alert_ids) < BATCH:
                return claimed

    def _claim_batch(self, now: datetime) -> list:
        routing = self._routing()  # read before the transaction: nothing waits while rows are locked
        with self.engine.begin() as connection:
            missed = connection.execute(
                select(heartbeats)
                .where(heartbeats.c.down_since.is_(None), heartbeats.c.due_at <= now)
                .order_by(heartbeats.c.due_at)
                .limit(BATCH)
                .with_for_update(skip_locked=True)
            ).all()
            decisions = [decide(routing, missed_alert(heartbeat), integration_id=None, at=now) for heartbeat in missed]
            alert_ids = [
                self._store_miss(connection, heartbeat, decision, now) for heartbeat, decision in zip(missed, decisions, strict=True)
            ]
        for heartbeat, decision in zip(missed, decisions, strict=True):
            HEARTBEATS_MISSED.inc()
            count_received(missed_alert(heartbeat))
            if decision.status != "pending":
                count_suppressed(
                    decision.status, rule=decision.rule.name if decision.rule else None, maintenance=decision.silence_id is None
                )
            logger.warning("heartbeat %s (%s) missed: no ping since %s", heartbeat.name, heartbeat.id, heartbeat.last_ping_at)
        return alert_ids

    def _store_miss(self, connection: Connection, heartbeat, decision: Decision, now: datetime):
        """Store the miss's alert as routing decided (or find the one still firing) and mark the heartbeat down."""
        alert = decision.alert
        fingerprint = str(heartbeat.id)
        alert_id = connection.execute(
            insert(alerts)
            .values(
                service=alert.service,
                severity=str(alert.severity),
                message=alert.message,
                labels=alert.labels,
                timestamp=alert.timestamp,
                received_at=now,
                source=SOURCE,
                fingerprint=fingerprint,
                status=decision.status,
                routing_rule_id=decision.rule.id if decision.rule else None,
                group_key=decision.group_key,
                silence_id=decision.silence_id,
                maintenance_window_id=decision.maintenance_window_id,
            )
            .on_conflict_do_nothing()
            .returning(alerts.c.id)
        ).scalar()
        if alert_id is None:  # a miss whose alert was never resolved (a ping interrupted): that one stays
            alert_id = connection.execute(
                select(alerts.c.id).where(alerts.c.source == SOURCE, alerts.c.fingerprint == fingerprint, alerts.c.resolved_at.is_(None))
            ).scalar_one()
        connection.execute(update(heartbeats).where(heartbeats.c.id == heartbeat.id).values(down_since=now, alert_id=alert_id))
        return alert_id
