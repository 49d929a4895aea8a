"""Routing and noise control (SPEC §11): routing rules, per-service grouping, silences and maintenance
windows, decided once per alert on its internal form, whatever its source."""
