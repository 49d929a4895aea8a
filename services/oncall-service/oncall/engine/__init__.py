"""Automatic escalation, run in cycles by every replica and coordinated through PostgreSQL.

A cycle has two idempotent steps, in the spirit of goalert's engine:

1. `claims`: for each open (unacknowledged) incident whose team has a schedule and whose age has passed
   the next level's deadline (level L is due `L * escalation_minutes` after creation), claim that level
   under a per-incident advisory transaction lock: one row in `escalations`, UNIQUE(incident_id, level).
   The first claim freezes the team's policy (secondary at that moment, further levels, minutes) in
   `escalation_policies`, so later schedule edits do not change a running escalation.
2. `delivery`: claimed levels are delivered from the database (`FOR UPDATE SKIP LOCKED`): page the new
   assignee on every page channel (idempotency key `escalation:<incident>:<level>:<channel>`), record
   "escalated" on the incident's timeline with the new assignee, count `escalations_total{team}`. A
   peer that is down leaves the row pending with a backoff; an incident acknowledged meanwhile cancels it.

State lives only in the database, so a restarted or second replica carries on where the first stopped.
"""

from oncall.engine.cycle import EscalationEngine

__all__ = ["EscalationEngine"]
