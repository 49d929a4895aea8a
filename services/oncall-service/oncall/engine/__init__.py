"""Automatic escalation, run in cycles by every replica and coordinated through PostgreSQL.

A cycle has two idempotent steps, in the spirit of goalert's engine:

1. claim (`due`, `claims`): one query per batch over the view of unacknowledged incidents that
   incident-management publishes finds each incident whose next level is due (level L falls due
   `L * escalation_minutes` after creation), earliest deadline first, batch after batch until none is
   left. Each is claimed under a per-incident advisory transaction lock: one row in `escalations`,
   UNIQUE(incident_id, level). The first claim freezes the team's policy (secondary at that moment,
   further levels, minutes) in `escalation_policies`, so later schedule edits do not change a running
   escalation.
2. `delivery`: pending rows are taken with `FOR UPDATE SKIP LOCKED` and leased, the lease committed,
   then the new assignee is paged on every page channel (idempotency key
   `escalation:<incident>:<level>:<channel>`), "escalated" is recorded on the incident's timeline
   (`escalation-event:<incident>:<level>`), and the outcome written; no transaction is open during a
   peer call. A peer that is down leaves the row pending with a backoff; an incident acknowledged
   meanwhile cancels it.

State lives only in the database, so a restarted or second replica carries on where the first stopped.
"""

from oncall.engine.cycle import EscalationEngine

__all__ = ["EscalationEngine"]
