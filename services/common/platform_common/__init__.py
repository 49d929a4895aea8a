"""Shared building blocks of the incident platform services.

Only code that is identical in every service lives here: settings base, database engine and session
dependency, error model, JSON logging with request ids, HTTP metrics, the resilient HTTP client, health
routes, migrations and background workers. Domain code stays in the services.
"""
