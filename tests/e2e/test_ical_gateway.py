"""iCal feeds through the real nginx gateway with the web UI's own template: the feed URL made through
the gateway names the gateway (host and port), a calendar client fetches it with no credential, and the
secret in the URL never reaches the gateway's access log."""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from icalendar import Calendar

from oncall.config import Settings
from oncall.main import create_app
from platform_local.nginx import LocalNginx
from tests.support.apps import unreachable_url
from tests.support.servers import free_port, serve_in_thread

pytestmark = pytest.mark.e2e

ADMIN = {"Authorization": "Bearer ical-gateway-admin-token-0123456789"}


@pytest.fixture
def gateway(database_url: str, clean_db, tmp_path: Path) -> Iterator[LocalNginx]:
    settings = Settings(
        database_url=database_url,
        environment="test",
        background_workers=False,
        anonymous_role="none",
        bootstrap_admin_token=ADMIN["Authorization"].removeprefix("Bearer "),
        incident_management_url=unreachable_url(),
        notification_service_url=unreachable_url(),
    )
    with serve_in_thread(create_app(settings)) as oncall:
        nginx = LocalNginx(tmp_path / "nginx", free_port(), {"oncall-service": oncall})
        nginx.start()
        try:
            yield nginx
        finally:
            nginx.stop()


def test_feed_urls_made_through_the_gateway_work_there_and_stay_out_of_its_log(gateway: LocalNginx) -> None:
    base = gateway.url
    user = httpx.post(f"{base}/api/v1/users", json={"name": "Ann", "email": "ann@example.org", "role": "responder"}, headers=ADMIN)
    assert user.status_code == 201, user.text
    schedule = {"team": "ops", "rotation_type": "daily", "members": [{"user_id": user.json()["id"]}]}
    assert httpx.post(f"{base}/api/v1/schedules", json=schedule, headers=ADMIN).status_code == 201

    urls = []
    for path in ("/api/v1/schedules/ops/ical-token", f"/api/v1/users/{user.json()['id']}/ical-token"):
        made = httpx.post(f"{base}{path}", headers=ADMIN)
        assert made.status_code == 201, made.text
        urls.append(made.json()["url"])
    for url in urls:
        assert url.startswith(f"{base}/api/v1/")
        feed = httpx.get(url)
        assert feed.status_code == 200, feed.text
        assert feed.headers["content-type"] == "text/calendar; charset=utf-8"
        assert len(Calendar.from_ical(feed.content).walk("VEVENT")) >= 60  # daily, 7 days back to 60 ahead
    assert httpx.get(urls[0].replace("token=ipc_", "token=ipc_x")).status_code == 404

    log = (gateway.prefix / "access.log").read_text()
    assert "POST /api/v1/schedules " in log  # the gateway does log requests ...
    assert "ical" not in log and "ipc_" not in log  # ... but never a feed's URL or secret
