"""The Watchdog (an always-firing rule, the heartbeat of the Prometheus → Alertmanager chain) is routed
by the shipped Alertmanager config to its own receiver, never mailed to the operators; every other
platform alert still goes to them."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from platform_local import alertmanager
from tests.monitoring import monitoring_checks as mc


def _route(config: Path, *labels: str) -> str:
    amtool = shutil.which("amtool")
    if amtool is None:
        pytest.skip("amtool is not installed (Debian prometheus-alertmanager, scripts/install-system-packages.sh)")
    result = subprocess.run([amtool, "config", "routes", "test", f"--config.file={config}", *labels], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip()


def test_the_watchdog_rule_always_fires():
    rules = yaml.safe_load((mc.MONITORING / "rules" / "platform-alerts.yml").read_text())
    (watchdog,) = [rule for group in rules["groups"] for rule in group["rules"] if rule.get("alert") == "Watchdog"]
    assert watchdog["expr"].strip() == "vector(1)" and "for" not in watchdog


def test_the_watchdog_goes_to_its_own_receiver_and_everything_else_to_the_operators(tmp_path: Path):
    config = alertmanager.write_config(tmp_path / "am.yml", {})
    assert _route(config, "alertname=Watchdog", "severity=low", "component=incident-platform") == "watchdog"
    assert _route(config, "alertname=PlatformServiceDown", "severity=critical", "job=alert-ingestion") == "platform-operators"
    (route,) = yaml.safe_load(config.read_text())["route"]["routes"]
    assert route["repeat_interval"] == "1m", "shorter than the heartbeat interval the README suggests (2 min)"
