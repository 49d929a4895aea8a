"""Monitoring checks that need no Grafana server: dashboards, Prometheus configuration, rules."""
