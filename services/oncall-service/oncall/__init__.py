"""oncall-service: schedules, rotations, overrides and escalation of unacknowledged incidents."""
