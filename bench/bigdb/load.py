"""Set-based load of a year of history straight into the services' tables (INSERT ... SELECT over
generate_series: minutes, not hours, for a million alerts).

Every value follows from the row number, so two loads of the same size are the same data. Incident `n`
has the id md5('bigdb-incident-n'); n = 1 is the newest. Incident `BIG` (in progress) has `BIG_ALERTS`
linked alerts; the other alerts are spread over all incidents (about ten each); 1 % of the alerts were
silenced and belong to no incident. Most incidents are resolved, about 4 % are open, acknowledged or in
progress. Every incident has its timeline (created, assigned, paged, acknowledged, resolved), one page
and one notification with one delivery attempt; every tenth a note.
"""

import hashlib
import uuid
from dataclasses import dataclass

import psycopg

SPAN_DAYS = 365
BIG = 3
BIG_ALERTS = 5_000
_INCIDENT_ID = "md5('bigdb-incident-' || n)::uuid"


@dataclass(frozen=True)
class Size:
    incidents: int
    alerts: int
    services: int

    @classmethod
    def scaled(cls, scale: float) -> "Size":
        return cls(incidents=int(100_000 * scale), alerts=int(1_000_000 * scale), services=max(20, int(500 * scale)))

    @property
    def silenced(self) -> int:
        return self.alerts // 100

    @property
    def ordinary(self) -> int:
        return self.alerts - BIG_ALERTS - self.silenced


def incident_id(n: int) -> str:
    """The id of incident `n`, as the load gives it (computed the same way in SQL)."""
    return str(uuid.UUID(hashlib.md5(f"bigdb-incident-{n}".encode(), usedforsecurity=False).hexdigest()))


def service_name(k: int) -> str:
    return f"svc-{k:03d}"


_PLAN = f"""
CREATE TEMP TABLE plan ON COMMIT DROP AS
SELECT n, {_INCIDENT_ID} AS id,
       'svc-' || lpad(((n * 7919) %% %(services)s)::text, 3, '0') AS service,
       (ARRAY['critical','high','high','high','medium','medium','medium','medium','low','low'])[1 + (n * 31) %% 10] AS severity,
       CASE WHEN n %% 100 < 2 THEN 'open' WHEN n %% 100 < 3 THEN 'acknowledged' WHEN n %% 100 < 4 THEN 'in_progress'
            ELSE 'resolved' END AS status,
       %(now)s::timestamptz - make_interval(secs => n * %(span)s::float8 / %(incidents)s) AS created_at,
       60 + (n * 13) %% 900 AS mtta,
       60 + (n * 13) %% 900 + 600 + (n * 17) %% 7200 AS mttr
FROM generate_series(1, %(incidents)s) n
"""

_INCIDENTS = """
INSERT INTO incident_management.incidents
  (id, title, service, severity, status, assigned_to, created_at, updated_at, acknowledged_at, resolved_at, mtta_seconds, mttr_seconds)
SELECT id, severity || ' ' || service || ': HTTP 5xx error rate above 10%% (#' || n || ')', service, severity, status,
       'person-' || n %% 40, created_at,
       created_at + make_interval(secs => CASE status WHEN 'open' THEN 0 WHEN 'resolved' THEN mttr ELSE mtta END),
       CASE WHEN status <> 'open' THEN created_at + make_interval(secs => mtta) END,
       CASE WHEN status = 'resolved' THEN created_at + make_interval(secs => mttr) END,
       CASE WHEN status <> 'open' THEN mtta END,
       CASE WHEN status = 'resolved' THEN mttr END
FROM plan ORDER BY n DESC
"""

_TIMELINE = """
INSERT INTO incident_management.timeline_events (incident_id, kind, actor, message, data, created_at)
SELECT id, e.kind, e.actor, e.message, '{}'::jsonb, e.at
FROM plan CROSS JOIN LATERAL (VALUES
    (1, 'created', 'incident-management', 'Incident opened', created_at),
    (2, 'assigned', 'incident-management', 'Assigned to person-' || n %% 40, created_at),
    (3, 'paged', 'incident-management', 'Paged person-' || n %% 40 || ' (mock)', created_at + interval '1 second'),
    (4, CASE WHEN status <> 'open' THEN 'acknowledged' END, 'person-' || n %% 40, 'Status open → acknowledged',
        created_at + make_interval(secs => mtta)),
    (5, CASE WHEN status = 'resolved' THEN 'resolved' END, 'person-' || n %% 40, 'Status acknowledged → resolved',
        created_at + make_interval(secs => mttr))
) AS e(step, kind, actor, message, at)
WHERE e.kind IS NOT NULL
ORDER BY n DESC, e.step
"""

_NOTES = """
INSERT INTO incident_management.incident_notes (incident_id, author, body, created_at)
SELECT id, 'person-' || n %% 40, 'Rolled back release ' || n, created_at + make_interval(secs => mtta)
FROM plan WHERE n %% 10 = 0
"""

_PAGES = """
INSERT INTO incident_management.pages (incident_id, recipient, reason, status, attempts, next_attempt_at, created_at, sent_at)
SELECT id, 'person-' || n %% 40 || '@example.org', 'new_incident', 'sent', 1, created_at, created_at, created_at + interval '1 second'
FROM plan
"""

_ALERT_COLUMNS = (
    "(service, severity, message, labels, timestamp, received_at, source, incident_id, status, action, correlated_at, resolved_at)"
)

_ALERTS = f"""
INSERT INTO alert_ingestion.alerts {_ALERT_COLUMNS}
SELECT p.service, p.severity, 'HTTP 5xx error rate > 10%% on ' || p.service,
       jsonb_build_object('env', 'prod', 'instance', 'host-' || a.k %% 300, 'alertname', 'HighErrorRate'),
       a.at, a.at, 'api', p.id, 'correlated',
       CASE WHEN a.first THEN 'new_incident' ELSE 'attached_to_existing_incident' END, a.at,
       CASE WHEN p.status = 'resolved' THEN p.created_at + make_interval(secs => p.mttr) END
FROM (
    SELECT 1 + (k - 1) %% %(incidents)s AS n, k, k <= %(incidents)s AS first, ((k - 1) / %(incidents)s) * 20 AS offset_s
    FROM generate_series(1, %(ordinary)s) k
    UNION ALL
    SELECT {BIG}, k, false, 60 + k * 0.5 FROM generate_series(1, {BIG_ALERTS}) k
) AS s
JOIN plan p USING (n)
CROSS JOIN LATERAL (SELECT s.k, s.first, p.created_at + make_interval(secs => s.offset_s) AS at) AS a
ORDER BY a.at
"""

_SILENCED = f"""
INSERT INTO alert_ingestion.alerts {_ALERT_COLUMNS}
SELECT 'svc-' || lpad(((k * 104729) %% %(services)s)::text, 3, '0'), 'low', 'Disk usage above 80%%',
       jsonb_build_object('env', 'staging', 'instance', 'host-' || k %% 300), at, at, 'api', NULL, 'silenced', 'silenced',
       NULL, NULL
FROM generate_series(1, %(silenced)s) k
CROSS JOIN LATERAL (SELECT %(now)s::timestamptz - make_interval(secs => k * %(span)s::float8 / %(silenced)s) AS at) AS t
ORDER BY at
"""

_NOTIFICATIONS = """
INSERT INTO notification.notifications (id, incident_id, channel, recipient, message, status, attempts, created_at, updated_at, sent_at)
SELECT md5('bigdb-notification-' || n)::uuid, id, 'mock', 'person-' || n %% 40 || '@example.org',
       '[' || upper(severity) || '] ' || service, 'sent', 1, created_at, created_at + interval '1 second',
       created_at + interval '1 second'
FROM plan ORDER BY n DESC
"""

_ATTEMPTS = """
INSERT INTO notification.notification_attempts (notification_id, attempt, outcome, duration_seconds, attempted_at)
SELECT md5('bigdb-notification-' || n)::uuid, 1, 'sent', 0.002, created_at + interval '1 second'
FROM plan ORDER BY n DESC
"""

STEPS = (
    ("incidents", _INCIDENTS),
    ("timeline events", _TIMELINE),
    ("notes", _NOTES),
    ("pages", _PAGES),
    ("alerts", _ALERTS),
    ("silenced alerts", _SILENCED),
    ("notifications", _NOTIFICATIONS),
    ("delivery attempts", _ATTEMPTS),
)


def is_loaded(conn: psycopg.Connection, size: Size) -> bool:
    return conn.execute("SELECT count(*) FROM incident_management.incidents").fetchone()[0] >= size.incidents


def load(conn: psycopg.Connection, size: Size, now: str, report) -> None:
    """Load everything in one transaction (the plan table lives as long as it), then VACUUM ANALYZE."""
    params = {
        "incidents": size.incidents,
        "ordinary": size.ordinary,
        "silenced": size.silenced,
        "services": size.services,
        "span": SPAN_DAYS * 86_400,
        "now": now,
    }
    with conn.transaction():
        conn.execute("SET LOCAL synchronous_commit = off")
        conn.execute(_PLAN, params)
        for name, sql in STEPS:
            rows = conn.execute(sql, params).rowcount
            report(f"{name}: {rows:,} rows")
    conn.execute("VACUUM ANALYZE")  # what autovacuum would have done over the year
