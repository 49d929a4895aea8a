"""Escalation policies (SPEC §12): steps with a delay and targets, repeated; a policy with a team governs its incidents."""
