"""The Alertmanager configuration for the platform's own alerts (monitoring/alertmanager/): a template
filled from the environment, the same way by `make run` (platform_local.alertmanager) and by the compose
entrypoint (entrypoint.sh), valid for `amtool check-config`, mailing through its own SMTP relay."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from platform_local import alertmanager
from platform_local.templates import placeholders
from tests.monitoring import monitoring_checks as mc

ENTRYPOINT = mc.MONITORING / "alertmanager" / "entrypoint.sh"
PRODUCTION_LIKE = {
    "ALERTMANAGER_SMTP_SMARTHOST": "smtp.example.org:587",
    "ALERTMANAGER_EMAIL_FROM": "alerts|platform&co@example.org",  # sed's special characters survive
    "ALERTMANAGER_EMAIL_TO": "sre-team@example.org",
    "ALERTMANAGER_SMTP_REQUIRE_TLS": "true",
}


@pytest.fixture(scope="module")
def amtool() -> str:
    path = shutil.which("amtool")
    if path is None:
        pytest.skip("amtool is not installed (Debian prometheus-alertmanager, scripts/install-system-packages.sh)")
    return path


def test_template_uses_exactly_the_documented_variables():
    assert placeholders(alertmanager.TEMPLATE.read_text()) == set(alertmanager.LOCAL_DEFAULTS)
    (variables,) = re.findall(r'^VARIABLES="([^"]*)"$', ENTRYPOINT.read_text(), re.M)
    assert set(variables.split()) == set(alertmanager.LOCAL_DEFAULTS), "compose fills the same variables as make run"


def test_local_defaults_mail_a_local_inbox_without_tls(tmp_path: Path, amtool: str):
    config_path = alertmanager.write_config(tmp_path / "am.yml", {"ALERTMANAGER_EMAIL_TO": ""})  # empty means unset
    result = subprocess.run([amtool, "check-config", str(config_path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    config = yaml.safe_load(config_path.read_text())
    assert config["global"]["smtp_smarthost"] == "127.0.0.1:1025"
    assert config["global"]["smtp_require_tls"] is False
    receiver = next(r for r in config["receivers"] if r["name"] == config["route"]["receiver"])
    assert receiver["email_configs"] == [{"to": "platform-operators@localhost", "send_resolved": True}]
    assert "webhook_configs" not in receiver, "self-alerts must not depend on the platform's own delivery path"


def test_environment_overrides_every_setting(tmp_path: Path, amtool: str):
    config_path = alertmanager.write_config(tmp_path / "am.yml", PRODUCTION_LIKE)
    assert subprocess.run([amtool, "check-config", str(config_path)], capture_output=True).returncode == 0
    config = yaml.safe_load(config_path.read_text())
    assert config["global"]["smtp_smarthost"] == "smtp.example.org:587"
    assert config["global"]["smtp_from"] == "alerts|platform&co@example.org"
    assert config["global"]["smtp_require_tls"] is True
    assert config["receivers"][0]["email_configs"][0]["to"] == "sre-team@example.org"


def test_compose_entrypoint_renders_like_make_run_and_runs_alertmanager(tmp_path: Path):
    """entrypoint.sh with a stand-in `alertmanager` on PATH that prints its config file and arguments."""
    fake = tmp_path / "bin" / "alertmanager"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\nfor a; do case "$a" in --config.file=*) cat "${a#--config.file=}";; esac; done\necho "ARGS: $*"\n')
    fake.chmod(0o755)
    rendered = tmp_path / "rendered.yml"
    env = {
        **PRODUCTION_LIKE,
        "PATH": f"{fake.parent}:/usr/bin:/bin",
        "ALERTMANAGER_TEMPLATE": str(alertmanager.TEMPLATE),
        "ALERTMANAGER_RENDERED_CONFIG": str(rendered),
    }
    result = subprocess.run(["sh", ENTRYPOINT, "--storage.path=/alertmanager"], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == alertmanager.render(PRODUCTION_LIKE) + f"ARGS: --config.file={rendered} --storage.path=/alertmanager\n"


def test_compose_entrypoint_refuses_a_missing_setting(tmp_path: Path):
    env = {
        **PRODUCTION_LIKE,
        "ALERTMANAGER_EMAIL_TO": "",
        "PATH": "/usr/bin:/bin",
        "ALERTMANAGER_TEMPLATE": str(alertmanager.TEMPLATE),
        "ALERTMANAGER_RENDERED_CONFIG": str(tmp_path / "rendered.yml"),
    }
    result = subprocess.run(["sh", ENTRYPOINT], capture_output=True, text=True, env=env)
    assert result.returncode == 1
    assert "ALERTMANAGER_EMAIL_TO is not set" in result.stderr
    assert not (tmp_path / "rendered.yml").exists()


def test_alertmanager_command_is_a_single_instance_on_the_written_config(tmp_path: Path):
    argv = alertmanager.alertmanager_command(tmp_path / "am.yml", tmp_path / "data", "127.0.0.1:49093")
    assert argv[0] == "prometheus-alertmanager"
    assert f"--config.file={tmp_path / 'am.yml'}" in argv
    assert f"--storage.path={tmp_path / 'data'}" in argv
    assert "--web.listen-address=127.0.0.1:49093" in argv
    assert "--cluster.listen-address=" in argv, "no gossip port: one Alertmanager, nothing to cluster with"
