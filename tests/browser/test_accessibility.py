"""axe-core (WCAG 2.1 A and AA) on every page of the local profile, where the caller is anonymous and an
admin: the header offers "Log in", the incident page asks for a name, the admin page is open. The
secured profile's pages (logged in, viewer, login errors) are checked in test_identity_ui.py."""

import uuid

import httpx
import pytest

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
    pages = {
        "dashboard": ("/", f"tr[data-incident-id='{incident_id}']"),
        "incident": (f"/incident.html?id={incident_id}", "#respond"),
        "unknown incident": ("/incident.html?id=00000000-0000-0000-0000-000000000000", "#load-state.error"),
        "oncall": ("/oncall.html", "#updated"),
        "metrics": ("/metrics.html", "#charts"),
        "admin": ("/admin.html", "#users tbody tr"),
        "login": ("/login.html", "#login-form"),
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
