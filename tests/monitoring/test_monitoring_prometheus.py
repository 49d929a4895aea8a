"""Prometheus configuration and the platform's alerting rules (SPEC.md §8, issue 5):
`promtool check config`, `promtool check rules`, `promtool test rules`, and the generator of the
native run's configuration."""

from pathlib import Path

import pytest
import yaml

from platform_local import prometheus_config
from tests.monitoring import monitoring_checks as mc

COMPOSE_CONFIG = mc.MONITORING / "prometheus.yml"
LOCAL_CONFIG = mc.MONITORING / "prometheus.local.yml"
RULES_DIR = mc.MONITORING / "rules"


def jobs(config: dict) -> dict[str, dict]:
    return {job["job_name"]: job for job in config["scrape_configs"]}


# ------------------------------------------------------------------------------------ compose config
def test_compose_config_passes_promtool_check_config(promtool_path):
    result = mc.promtool("check", "config", COMPOSE_CONFIG.name, cwd=mc.MONITORING)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 2 rule files found" in result.stdout  # rules/*.yml resolved beside the config


def test_compose_config_scrapes_every_service_by_name_and_itself():
    config = yaml.safe_load(COMPOSE_CONFIG.read_text())
    by_job = jobs(config)
    assert set(by_job) == set(mc.PLATFORM_JOBS) | {"prometheus"}
    for job, port in mc.PLATFORM_JOBS.items():
        (sd,) = by_job[job]["dns_sd_configs"]
        assert sd["names"] == [job] and sd["port"] == port and sd["type"] == "A"
        assert by_job[job].get("metrics_path", "/metrics") == "/metrics"
    assert by_job["prometheus"]["static_configs"][0]["targets"] == ["localhost:9090"]
    assert config["rule_files"] == ["rules/*.yml"]


def alertmanager_targets(config: dict) -> list[str]:
    return [target for am in config.get("alerting", {}).get("alertmanagers", []) for sc in am["static_configs"] for target in sc["targets"]]


def test_both_configs_send_alerts_to_the_platforms_alertmanager():
    """Compose: the `alertmanager` service by name; the native run: its Alertmanager on loopback."""
    assert alertmanager_targets(yaml.safe_load(COMPOSE_CONFIG.read_text())) == ["alertmanager:9093"]
    assert alertmanager_targets(yaml.safe_load(LOCAL_CONFIG.read_text())) == ["127.0.0.1:9093"]


@pytest.mark.parametrize("path", [COMPOSE_CONFIG, LOCAL_CONFIG])
def test_no_target_carries_a_service_label(path):
    """A target label `service` would rename the metrics' own `service` label to exported_service."""
    config = yaml.safe_load(path.read_text())
    for job in config["scrape_configs"]:
        for static in job.get("static_configs", []):
            assert "service" not in static.get("labels", {}), job["job_name"]
        for relabel in job.get("relabel_configs", []) + job.get("metric_relabel_configs", []):
            assert relabel.get("target_label") != "service", job["job_name"]
    assert "service" not in config["global"].get("external_labels", {})


# ------------------------------------------------------------------------------------ native config
def test_local_config_is_the_generator_output_with_default_ports(monkeypatch):
    gen = prometheus_config
    for variable, _ in gen.SERVICES.values():
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.delenv("PROMETHEUS_URL", raising=False)
    monkeypatch.delenv("ALERTMANAGER_URL", raising=False)
    expected = gen.render(
        gen.targets_from_env({}), rule_files=[gen.rule_glob_for(LOCAL_CONFIG)], alertmanagers=[gen.alertmanager_from_env({})]
    )
    assert LOCAL_CONFIG.read_text() == expected, (
        "monitoring/prometheus.local.yml is stale: run python scripts/platform_local/prometheus_config.py "
        "-o monitoring/prometheus.local.yml"
    )
    targets = {j["job_name"]: j["static_configs"][0]["targets"] for j in yaml.safe_load(expected)["scrape_configs"]}
    assert targets == {"prometheus": ["127.0.0.1:9090"], **{job: [f"127.0.0.1:{port}"] for job, port in mc.PLATFORM_JOBS.items()}}


def test_local_config_passes_promtool_check_config(promtool_path):
    result = mc.promtool("check", "config", str(LOCAL_CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 2 rule files found" in result.stdout


def test_generator_follows_the_service_url_variables():
    gen = prometheus_config
    targets = gen.targets_from_env(
        {
            "ALERT_INGESTION_URL": "http://127.0.0.1:41001",
            "INCIDENT_MANAGEMENT_URL": "http://localhost:41002/",
            "PROMETHEUS_URL": "http://127.0.0.1:49090",
        }
    )
    assert targets == {
        "prometheus": "127.0.0.1:49090",
        "alert-ingestion": "127.0.0.1:41001",
        "incident-management": "localhost:41002",
        "oncall-service": "127.0.0.1:8003",
        "notification-service": "127.0.0.1:8004",
    }
    assert gen.host_port("https://example.org") == "example.org:443"


def test_generated_config_elsewhere_points_at_the_repository_rules(promtool_path, tmp_path):
    gen = prometheus_config
    out = gen.write_config(
        tmp_path / "p" / "prometheus.yml", targets={"prometheus": "127.0.0.1:1", "alert-ingestion": "127.0.0.1:2"}, scrape_interval="1s"
    )
    config = yaml.safe_load(out.read_text())
    assert "alerting" not in config, "no Alertmanager asked for: rules are evaluated, alerts go nowhere"
    assert config["global"]["scrape_interval"] == "1s"
    assert config["global"]["scrape_timeout"] == "1s"
    assert config["rule_files"] == [str(RULES_DIR.resolve() / "*.yml")]
    result = mc.promtool("check", "config", str(out))
    assert result.returncode == 0, result.stdout + result.stderr


def test_generator_command_line_overrides_one_target(tmp_path, capsys, monkeypatch):
    gen = prometheus_config
    monkeypatch.setenv("ALERTMANAGER_URL", "http://127.0.0.1:49093/")
    assert gen.main(["--target", "oncall-service=http://127.0.0.1:45003", "--scrape-interval", "5s"]) == 0
    config = yaml.safe_load(capsys.readouterr().out)
    assert jobs(config)["oncall-service"]["static_configs"][0]["targets"] == ["127.0.0.1:45003"]
    assert alertmanager_targets(config) == ["127.0.0.1:49093"]
    with pytest.raises(SystemExit):
        gen.main(["--target", "nonsense=1.2.3.4:5"])
    with pytest.raises(ValueError):
        gen.main(["--scrape-interval", "soon"])


# ------------------------------------------------------------------------------------ rules
def test_rules_pass_promtool_check_rules(promtool_path):
    files = sorted(str(p) for p in RULES_DIR.glob("*.yml"))
    assert len(files) == 2
    result = mc.promtool("check", "rules", *files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_rule_unit_tests_pass(promtool_path):
    tests = sorted(str(p) for p in (RULES_DIR / "tests").glob("*.yml"))
    assert tests
    result = mc.promtool("test", "rules", *tests)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_rule_unit_tests_can_fail(promtool_path, tmp_path):
    """A wrong expectation makes `promtool test rules` fail, so the passing run above means something."""
    test_file = yaml.safe_load((RULES_DIR / "tests" / "platform-alerts_test.yml").read_text())
    test_file["rule_files"] = [str(RULES_DIR / Path(f).name) for f in test_file["rule_files"]]
    first = test_file["tests"][0]["alert_rule_test"][1]
    first["exp_alerts"][0]["exp_labels"]["severity"] = "low"
    path = tmp_path / "wrong_test.yml"
    path.write_text(yaml.safe_dump(test_file))
    result = mc.promtool("test", "rules", str(path))
    assert result.returncode != 0
    assert "PlatformServiceDown" in result.stdout + result.stderr


def _rules():
    for path in sorted(RULES_DIR.glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            yield from group["rules"]


def test_alerts_cover_the_platform_failure_modes_the_issue_lists():
    alerts = {r["alert"]: r for r in _rules() if "alert" in r}
    # a service down, 5xx error rate, notification failures, unacknowledged critical incidents
    assert {
        "PlatformServiceDown",
        "PlatformServiceMissing",
        "PlatformHigh5xxRate",
        "PlatformNotificationFailures",
        "PlatformPagesFailing",
        "PlatformCriticalIncidentUnacknowledged",
    } <= set(alerts)
    pages = alerts["PlatformPagesFailing"]
    assert (pages["for"], pages["labels"]["severity"]) == ("2m", "critical")
    assert mc.metric_names(pages["expr"]) == {"notifications_failing"}
    for name, rule in alerts.items():
        assert rule["labels"]["severity"] in {"critical", "high", "medium", "low"}, name
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], name


def test_rules_only_use_metrics_the_platform_exports():
    known = mc.known_metrics()
    recorded = {r["record"] for r in _rules() if "record" in r}
    for rule in _rules():
        unknown = mc.metric_names(rule["expr"]) - set(known) - recorded
        assert not unknown, f"{rule.get('alert') or rule.get('record')} uses {sorted(unknown)}"
        for metric, labels in mc.label_matchers(rule["expr"]).items():
            if metric in known:
                assert labels <= known[metric], f"{metric} has no label {sorted(labels - known[metric])}"


def test_prometheus_command_runs_the_written_config(tmp_path):
    command = prometheus_config.prometheus_command(tmp_path / "p.yml", tmp_path / "data", "127.0.0.1:49090")
    assert command[0] == "prometheus"
    assert f"--config.file={tmp_path / 'p.yml'}" in command
    assert f"--storage.tsdb.path={tmp_path / 'data'}" in command
    assert "--web.listen-address=127.0.0.1:49090" in command
