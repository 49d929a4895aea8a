"""Handoff notifications: the incoming primary of a schedule is paged once when their turn begins."""
