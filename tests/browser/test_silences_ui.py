"""Silences and routing rules in the real headless Chromium, against the real platform behind nginx: a
responder silences a service, its next alert shows as silenced by that silence, they expire it; an admin
adds a routing rule and tests an alert against it."""

import uuid

import httpx
import pytest

from tests.browser.harness import screenshot

expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (requirements-dev.txt)").expect

pytestmark = pytest.mark.browser


def test_silence_a_service_see_what_it_caught_then_expire_it(page, platform):
    service = f"quiet-{uuid.uuid4().hex[:8]}"
    page.goto("/silences.html")
    page.get_by_label("Matchers, one per line").fill(f'service="{service}"')
    page.get_by_label("Comment").fill("deploying")
    page.get_by_role("button", name="Add silence").click()
    expect(page.locator("#silence-message")).to_have_text("Silence added.")
    row = page.locator("#silences tbody tr", has_text=service)
    expect(row).to_contain_text("active")

    alert = httpx.post(f"{platform.url}/api/v1/alerts", json={"service": service, "severity": "high", "message": "5xx"}, timeout=10)
    assert alert.json()["status"] == "silenced", alert.text
    caught = page.locator(f"#silenced tr[data-alert-id='{alert.json()['alert_id']}']")
    # The page refreshes every 5 s: allow a few refreshes on a loaded machine.
    expect(caught).to_contain_text(f'Silence: service="{service}" (deploying)', timeout=15_000)
    screenshot(page, "silences")

    row.get_by_role("button", name="Expire").click()
    expect(row).to_contain_text("expired")
    again = httpx.post(f"{platform.url}/api/v1/alerts", json={"service": service, "severity": "high", "message": "5xx"}, timeout=10)
    assert again.json()["status"] == "correlated", again.text


def test_add_a_routing_rule_and_test_an_alert(page, platform):
    team = f"pay{uuid.uuid4().hex[:8]}"
    page.goto("/routing.html")
    page.get_by_label("Name").fill(f"route {team}")
    page.get_by_label("Matchers, one per line").fill(f'team="{team}"')
    page.locator("#rule-service").fill("payments")
    page.get_by_role("button", name="Add rule").click()
    expect(page.locator("#rules tbody tr", has_text=f"route {team}")).to_contain_text("service → payments")

    page.locator("#test-service").fill("checkout")
    page.get_by_label("Labels, one key=value per line").fill(f"team={team}")
    page.get_by_role("button", name="Test").click()
    expect(page.locator("#test-result")).to_have_text(
        f"Rule “route {team}” applies. It would be correlated as service payments, severity high."
    )
    screenshot(page, "routing")
