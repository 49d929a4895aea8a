"""axe-core (WCAG 2.1 A and AA) on every page of the local profile, where the caller is anonymous and an
admin: the header offers "Log in", the incident page asks for a name, the admin page is open. The
secured profile's pages (logged in, viewer, login errors) are checked in test_identity_ui.py."""

import uuid
from urllib.parse import urlsplit

import httpx
import pytest

from platform_common.pagelinks import PageLinker, Who
from tests.browser.axe import axe_violations, describe
from tests.browser.conftest import open_tab

expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (requirements-dev.txt)").expect

pytestmark = pytest.mark.browser


def test_every_page_has_no_axe_violations_for_the_anonymous_admin(browser, platform):
    service = f"a11y-{uuid.uuid4().hex[:8]}"
    accepted = httpx.post(
        f"{platform.url}/api/v1/alerts", json={"service": service, "severity": "medium", "message": "Cache hit ratio low"}, timeout=10
    )
    assert accepted.status_code == 201, accepted.text
    incident_id = accepted.json()["incident_id"]
    heartbeat = httpx.post(
        f"{platform.url}/api/v1/heartbeats",
        json={"name": f"a11y-{uuid.uuid4().hex[:8]}", "service": service, "interval_seconds": 60, "grace_seconds": 60},
        timeout=10,
    )
    assert heartbeat.status_code == 201, heartbeat.text
    quiet = f"{service}-quiet"  # a silence and a rule that touch only this test's own services
    silence = {"matchers": [f'service="{quiet}"'], "ends_at": "2099-01-01T00:00:00Z", "comment": "a11y"}
    assert httpx.post(f"{platform.url}/api/v1/silences", json=silence, timeout=10).status_code == 201
    silenced = httpx.post(f"{platform.url}/api/v1/alerts", json={"service": quiet, "severity": "low", "message": "m"}, timeout=10)
    assert silenced.json()["status"] == "silenced", silenced.text
    rule = {"name": "a11y", "matchers": [f'service="{service}-routed"'], "set_severity": "low"}
    rule_id = httpx.post(f"{platform.url}/api/v1/routing-rules", json=rule, timeout=10).json()["id"]
    # A page link as a page carries it (the services and this test read the same PAGE_LINK_SECRET).
    page_action = urlsplit(PageLinker.from_environment().links(uuid.UUID(incident_id), Who("Ada", "ada@example.org"))["acknowledge"]).path
    pages = {
        "dashboard": ("/", f"tr[data-incident-id='{incident_id}']"),
        "incident": (f"/incident.html?id={incident_id}", "#respond"),
        "unknown incident": ("/incident.html?id=00000000-0000-0000-0000-000000000000", "#load-state.error"),
        "oncall": ("/oncall.html", "#take-shift"),
        "schedules": ("/schedules.html", "#schedules tbody tr"),
        "policies": ("/policies.html", "#policies tbody tr"),
        "metrics": ("/metrics.html", "#charts"),
        "admin": ("/admin.html", "#users tbody tr"),
        "heartbeats": ("/heartbeats.html", f"tr[data-heartbeat-id='{heartbeat.json()['id']}']"),
        "silences": ("/silences.html", f"tr[data-alert-id='{silenced.json()['alert_id']}']"),
        "routing": ("/routing.html", f"tr[data-rule-id='{rule_id}']"),
        "profile (anonymous: nothing to manage)": ("/profile.html", "#profile-state.error"),
        "login": ("/login.html", "#login-form"),
        "page action": (page_action, "form button"),
        "page action refused": ("/api/v1/page-actions/not-a-link", "main h1"),
    }
    found = {}
    with open_tab(browser, platform, bypass_csp=True) as tab:
        for name, (path, ready) in pages.items():
            tab.goto(path)
            expect(tab.locator(ready).first).to_be_visible()
            found[name] = axe_violations(tab)
        tab.goto("/")
        expect(tab.get_by_role("link", name="Log in")).to_be_visible()
    failing = {name: violations for name, violations in found.items() if violations}
    for name, violations in failing.items():
        print(f"--- {name}\n{describe(violations)}")
    assert not failing, "axe-core violations on: " + ", ".join(failing)
