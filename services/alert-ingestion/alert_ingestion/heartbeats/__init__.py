"""Heartbeats: something that should ping regularly (a cron job, the Prometheus → Alertmanager chain).

No ping for `interval_seconds + grace_seconds` → the monitor stores one alert `Heartbeat <name> missed`
for the heartbeat's service, correlated and paged like any other; the next ping resolves that alert and
reports the resolution to its incident (auto-resolve), as resolved webhook alerts are.
"""
