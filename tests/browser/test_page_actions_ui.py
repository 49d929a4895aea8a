"""A page link opened in a real browser through the gateway, under its strict Content-Security-Policy
(enforced: no bypass): the confirmation page needs no script, its button posts the form, the incident
is acknowledged as the paged person, and opening the link again says it was used."""

import uuid
from urllib.parse import urlsplit

import httpx
import pytest

from platform_common.pagelinks import PageLinker, Who
from tests.browser.conftest import open_tab
from tests.browser.harness import screenshot

expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (requirements-dev.txt)").expect

pytestmark = pytest.mark.browser


def test_acknowledge_from_the_page_link_in_a_browser(browser, platform):
    service = f"links-{uuid.uuid4().hex[:8]}"
    accepted = httpx.post(
        f"{platform.url}/api/v1/alerts", json={"service": service, "severity": "high", "message": "Queue backlog"}, timeout=10
    )
    incident_id = accepted.json()["incident_id"]
    # The link a page to Ada carries (the services and this test read the same PAGE_LINK_SECRET).
    link = urlsplit(PageLinker.from_environment().links(uuid.UUID(incident_id), Who("Ada", "ada@example.org"))["acknowledge"]).path
    with open_tab(browser, platform, java_script_enabled=False) as page:
        page.goto(link)
        expect(page.get_by_role("heading", name="Acknowledge this incident?")).to_be_visible()
        screenshot(page, "page-action-confirm")
        assert httpx.get(f"{platform.url}/api/v1/incidents/{incident_id}", timeout=10).json()["status"] == "open"
        page.get_by_role("button", name="Acknowledge as Ada").click()
        expect(page.get_by_role("heading", name="Acknowledged")).to_be_visible()
        expect(page.get_by_role("status")).to_contain_text("is now acknowledged by Ada")
        page.goto(link)
        expect(page.get_by_role("heading", name="This link was already used")).to_be_visible()
    incident = httpx.get(f"{platform.url}/api/v1/incidents/{incident_id}", timeout=10).json()
    assert incident["status"] == "acknowledged"
    assert (incident["timeline"][-1]["kind"], incident["timeline"][-1]["actor"]) == ("acknowledged", "Ada")
