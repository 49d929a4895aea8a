"""Which escalation levels are due, decided by PostgreSQL in one query per batch.

incident-management publishes `incident_management.escalation_candidates`: its unacknowledged (`open`)
incidents, backed by a partial index. One query joins them with the policy frozen for incidents already
escalating (otherwise the team's schedule) and with the highest level claimed so far, and returns each
incident's next level whose deadline (`created_at + level × escalation_minutes`) has passed, earliest
deadline first. Batches follow each other by keyset (deadline, incident id) until none is left, so no
number of newer incidents can push an older one out of a cycle.
"""

import logging
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from psycopg.errors import UndefinedTable
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.orm import Session

from oncall.engine.claims import Candidate

logger = logging.getLogger(__name__)
BATCH_SIZE = 200

_DUE_LEVELS = text("""
WITH next_levels AS (
    SELECT c.id, c.service, c.created_at,
           coalesce(claimed.level, 0) + 1 AS level,
           coalesce((p.snapshot ->> 'escalation_minutes')::int, s.escalation_minutes) AS minutes,
           coalesce(jsonb_array_length(p.snapshot -> 'levels'), 1 + jsonb_array_length(s.escalation_levels)) AS level_count
    FROM incident_management.escalation_candidates AS c
    LEFT JOIN oncall.escalation_policies AS p ON p.incident_id = c.id
    LEFT JOIN oncall.schedules AS s ON s.team = c.service
    LEFT JOIN LATERAL (
        SELECT max(e.level) AS level FROM oncall.escalations AS e WHERE e.incident_id = p.incident_id
    ) AS claimed ON true
    WHERE p.incident_id IS NOT NULL OR s.id IS NOT NULL
), due AS (
    SELECT id, service, created_at, level, created_at + make_interval(mins => minutes * level) AS due_at
    FROM next_levels
    WHERE level <= level_count
)
SELECT id, service, created_at, level, due_at
FROM due
WHERE due_at <= :now
  AND (CAST(:after_due_at AS timestamptz) IS NULL OR (due_at, id) > (:after_due_at, CAST(:after_id AS uuid)))
ORDER BY due_at, id
LIMIT :limit
""")


@dataclass(frozen=True)
class DueLevel:
    incident: Candidate
    level: int
    due_at: datetime

    @property
    def cursor(self) -> tuple[datetime, UUID]:
        """Where the next batch starts: after this (deadline, incident)."""
        return self.due_at, self.incident.id


def due_levels(session: Session, *, now: datetime, after: tuple[datetime, UUID] | None, limit: int = BATCH_SIZE) -> list[DueLevel]:
    """Up to `limit` due (incident, next level) pairs after the `after` cursor, earliest deadline first.

    Empty while incident-management has not published its view yet (it migrates its own schema).
    """
    after_due_at, after_id = after or (None, None)
    try:
        rows = session.execute(_DUE_LEVELS, {"now": now, "after_due_at": after_due_at, "after_id": after_id, "limit": limit}).all()
    except ProgrammingError as exc:
        if not isinstance(exc.orig, UndefinedTable):
            raise
        logger.warning("escalation scan skipped: incident_management.escalation_candidates does not exist yet")
        return []
    return [DueLevel(Candidate(row.id, row.service, row.created_at), row.level, row.due_at) for row in rows]
