"""The web UI's nginx gateway, checked like `curl` would: real nginx with the web UI's own template in
front of the real services (tests/browser/harness.py). Liveness, routing to each service, security
headers, JSON errors when a service cannot be reached, and that the template renders the same with
our renderer as with the envsubst of the official nginx image."""

import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from platform_local.nginx import TEMPLATE, LocalNginx, render_template, upstream_values
from tests.browser.harness import running_platform
from tests.support.servers import free_port

pytestmark = pytest.mark.e2e

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


@pytest.fixture(scope="module")
def platform(database_url: str, tmp_path_factory: pytest.TempPathFactory):
    with running_platform(database_url, tmp_path_factory.mktemp("gateway")) as running:
        yield running


def assert_secure(response: httpx.Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (name, dict(response.headers))
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp


def test_health_answers_200(platform):
    response = httpx.get(f"{platform.url}/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "service": "web-ui"}
    assert_secure(response)


def test_pages_are_served_with_security_headers(platform):
    for path, marker in (
        ("/", "js/dashboard.js"),
        ("/incident.html", "js/incident.js"),
        ("/oncall.html", "js/oncall.js"),
        ("/metrics.html", "js/metrics.js"),
    ):
        response = httpx.get(f"{platform.url}{path}")
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/html")
        assert marker in response.text
        assert "<script>" not in response.text and "style=" not in response.text  # nothing inline: CSP allows none
        assert_secure(response)
    script = httpx.get(f"{platform.url}/js/api.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]


def test_incident_api_answers_through_the_proxy(platform):
    alert = {"service": "gateway-check", "severity": "medium", "message": "through nginx"}
    accepted = httpx.post(f"{platform.url}/api/v1/alerts", json=alert)
    assert accepted.status_code == 201, accepted.text
    listed = httpx.get(f"{platform.url}/api/v1/incidents", params={"service": "gateway-check"})
    assert listed.status_code == 200
    assert int(listed.headers["x-total-count"]) >= 1
    assert accepted.json()["incident_id"] in [i["id"] for i in listed.json()]
    assert_secure(listed)
    assert httpx.get(f"{platform.url}/api/v1/incidents/summary").json()["by_status"]["open"] >= 1


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/api/v1/schedules", "oncall-service"),
        ("/api/v1/oncall", "oncall-service"),
        ("/api/v1/notifications", "notification-service"),
    ],
)
def test_other_services_are_routed(platform, path, service):
    if not platform.has(service):
        pytest.skip(f"{service} is not in the tree yet")
    response = httpx.get(f"{platform.url}{path}")
    assert response.status_code == 200, response.text
    assert isinstance(response.json(), list)


def test_service_errors_pass_through_in_the_platform_shape(platform):
    response = httpx.get(f"{platform.url}/api/v1/incidents/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    unknown = httpx.get(f"{platform.url}/api/v1/nothing-here")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"


def test_a_stopped_service_answers_a_json_503(platform):
    platform.stack.stop("incident-management")
    try:
        response = httpx.get(f"{platform.url}/api/v1/incidents")
        assert response.status_code == 503
        assert response.headers["content-type"].startswith("application/json")
        assert response.json()["error"]["code"] == "service_unavailable"
        assert_secure(response)
        assert httpx.get(f"{platform.url}/health").status_code == 200  # the gateway itself stays up
    finally:
        platform.stack.start("incident-management")
    assert httpx.get(f"{platform.url}/api/v1/incidents").status_code == 200


def test_gateway_without_upstreams_still_serves_pages(tmp_path: Path):
    gateway = LocalNginx(tmp_path / "nginx", free_port(), {})
    gateway.start()
    try:
        assert httpx.get(f"{gateway.url}/").status_code == 200
        assert httpx.get(f"{gateway.url}/api/v1/alerts").status_code == 503
    finally:
        gateway.stop()
    assert gateway.process is None


def test_template_needs_every_variable():
    with pytest.raises(ValueError, match="WEB_UI_PORT"):
        render_template(TEMPLATE.read_text(), upstream_values({}))


@pytest.mark.skipif(shutil.which("envsubst") is None, reason="envsubst (gettext-base) is not installed")
def test_template_renders_like_the_nginx_image_envsubst():
    values = {
        **upstream_values(
            {
                "alert-ingestion": "http://alert-ingestion:8001",
                "incident-management": "http://incident-management:8002",
                "oncall-service": "http://oncall-service:8003",
                "notification-service": "http://notification-service:8004",
            }
        ),
        "WEB_UI_PORT": "8080",
        "WEB_UI_ROOT": "/usr/share/nginx/html",
    }
    # The image's entrypoint substitutes every defined environment variable, so pass a few unrelated ones too.
    env = {**values, "HOSTNAME": "web-ui", "HOME": "/root", "PATH": "/usr/bin:/bin"}
    shell_format = " ".join(f"${{{name}}}" for name in env)
    rendered = subprocess.run(["envsubst", shell_format], input=TEMPLATE.read_text(), capture_output=True, text=True, env=env, check=True)
    assert rendered.stdout == render_template(TEMPLATE.read_text(), values)
    assert "proxy_pass http://incident-management:8002;" in rendered.stdout
    assert "$host" in rendered.stdout and "${" not in rendered.stdout
