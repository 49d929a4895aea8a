"""Fixtures for the monitoring checks: promtool (installed on demand) and the dashboards."""

import pytest

from tests.monitoring import monitoring_checks


@pytest.fixture(scope="session")
def promtool_path() -> str:
    """promtool from the Debian `prometheus` package, installed by scripts/install-system-packages.sh."""
    path = monitoring_checks.ensure_promtool()
    if path is None:
        pytest.skip(
            "promtool is not installed and scripts/install-system-packages.sh could not install it "
            "(needs root and the Debian package `prometheus`)"
        )
    return path


@pytest.fixture(scope="session")
def dashboards() -> dict[str, dict]:
    return monitoring_checks.load_dashboards()
