"""The heartbeats page through the gateway: an admin creates a heartbeat and sees its ping URL once (with
the cron and Alertmanager Watchdog set-up), the URL works, the list shows state and last ping, delete
asks twice. A missed heartbeat shows `Down` with a link to its incident."""

import uuid
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import text

from tests.browser.conftest import open_tab

expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (requirements-dev.txt)").expect

pytestmark = pytest.mark.browser


def test_create_ping_and_delete_a_heartbeat(browser, platform, db_engine):
    name = f"ui-{uuid.uuid4().hex[:8]}"
    with open_tab(browser, platform) as page:
        page.goto("/heartbeats.html")
        form = page.get_by_role("form", name="Add a heartbeat")
        form.get_by_label("Name").fill(name)
        form.get_by_label("Service (whose incident opens)").fill("nightly-jobs")
        form.get_by_label("Interval (seconds)").fill("300")
        form.get_by_label("Grace (seconds)").fill("60")
        form.get_by_role("button", name="Create heartbeat").click()

        box = page.locator("#heartbeat-secret")
        expect(box).to_contain_text("Copy it now")
        ping_url = page.get_by_role("textbox", name="Ping URL").input_value()
        assert ping_url.startswith(f"{platform.url}/api/v1/heartbeats/") and "?token=iph_" in ping_url, ping_url
        expect(box.locator("pre")).to_contain_text(f"url: '{ping_url}'")
        expect(box.locator("pre")).to_contain_text("repeat_interval: 150s")
        row = page.locator("#heartbeats tr", has_text=name)
        expect(row).to_contain_text("Up")
        expect(row).to_contain_text("never")

        assert httpx.post(ping_url, timeout=10).status_code == 200, "the ping URL shown works through the gateway"
        expect(row).not_to_contain_text("never", timeout=15_000)  # the page refreshes every 5 s
        heartbeat_id = row.get_attribute("data-heartbeat-id")
        page.reload()
        assert ping_url not in page.content(), "the ping URL is shown only once"

        with db_engine.begin() as connection:  # missed long ago: the monitor (1 s cycle) opens its incident
            connection.execute(
                text("UPDATE alert_ingestion.heartbeats SET due_at = due_at - :shift WHERE id = :id"),
                {"shift": timedelta(hours=1), "id": heartbeat_id},
            )
        expect(row).to_contain_text("Down", timeout=20_000)
        expect(row.get_by_role("link", name="Open incident")).to_be_visible(timeout=20_000)

        row.get_by_role("button", name=f"Delete heartbeat {name}").click()
        row.get_by_role("button", name=f"Confirm delete {name}").click()
        expect(page.locator("#heartbeat-message")).to_contain_text("deleted")
        expect(page.locator("#heartbeats tr", has_text=name)).to_have_count(0)
