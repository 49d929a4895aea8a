"""Which escalation levels are due, decided by PostgreSQL in one query per batch.

incident-management publishes `incident_management.escalation_candidates`: its unacknowledged (`open`)
incidents, backed by a partial index. One query joins them with the policy frozen for incidents already
escalating (otherwise the escalation policy governing the team, else the team's schedule) and with the
highest level claimed so far, and returns each incident's next level whose deadline has passed, earliest
deadline first: a frozen policy names each level's `after_minutes`, a schedule's level L falls due
`L × escalation_minutes` after creation, and a governing policy's step 1 at once. Batches follow each
other by keyset (deadline, incident id) until none is left, so no number of newer incidents can push
an older one out of a cycle.
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
    SELECT c.id, c.service, c.created_at, p.snapshot, g.id AS governed_by, s.escalation_minutes, s.escalation_levels,
           coalesce(claimed.level, 0) + 1 AS level
    FROM incident_management.escalation_candidates AS c
    LEFT JOIN oncall.escalation_policies AS p ON p.incident_id = c.id
    LEFT JOIN oncall.policies AS g ON g.team = c.service
    LEFT JOIN oncall.schedules AS s ON s.team = c.service
    LEFT JOIN LATERAL (
        SELECT max(e.level) AS level FROM oncall.escalations AS e WHERE e.incident_id = p.incident_id
    ) AS claimed ON true
    WHERE p.incident_id IS NOT NULL OR g.id IS NOT NULL OR s.id IS NOT NULL
), due AS (
    SELECT id, service, created_at, level,
           created_at + make_interval(mins => CASE
               WHEN snapshot IS NOT NULL THEN coalesce(
                   (snapshot -> 'levels' -> (level - 1) ->> 'after_minutes')::int, (snapshot ->> 'escalation_minutes')::int * level)
               WHEN governed_by IS NOT NULL THEN 0  -- a policy's step 1 pages at once
               ELSE escalation_minutes * level
           END) AS due_at
    FROM next_levels
    WHERE level <= CASE
        WHEN snapshot IS NOT NULL THEN jsonb_array_length(snapshot -> 'levels')
        WHEN governed_by IS NOT NULL THEN 1
        ELSE 1 + jsonb_array_length(escalation_levels)
    END
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
