"""incident-management: incidents, their notes and timeline, MTTA / MTTR, and paging the on-call."""
