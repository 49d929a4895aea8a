"""Fuzz tests: every service's OpenAPI against the app on the real test database (schemathesis)."""

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fuzz: schemathesis property tests over a service's OpenAPI (bounded, deterministic)")
