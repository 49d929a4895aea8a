"""My profile in the real headless Chromium against the real platform behind nginx, with identity on:
a responder follows "My profile" from the header, adds an email contact method and a notification rule,
sends themself a test page, deletes the rule, and the page passes axe-core (WCAG 2.1 AA)."""

import re
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.browser.axe import axe_violations, describe
from tests.browser.conftest import open_tab
from tests.browser.harness import Platform, running_platform, screenshot, secured_env

expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (requirements-dev.txt)").expect

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def platform(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with running_platform(database_url, tmp_path_factory.mktemp("web-profile"), env=secured_env()) as running:
        yield running


def new_responder(platform: Platform) -> dict:
    tag = uuid.uuid4().hex[:8]
    body = {"name": f"Rita {tag}", "email": f"rita-{tag}@example.org", "role": "responder", "password": f"pw-{uuid.uuid4().hex}"}
    created = httpx.post(f"{platform.url}/api/v1/users", json=body, headers=platform.admin_headers, timeout=10)
    assert created.status_code == 201, created.text
    return {**created.json(), "password": body["password"]}


def test_a_responder_adds_a_contact_method_and_a_rule_on_their_profile(browser, platform):
    rita = new_responder(platform)
    with open_tab(browser, platform, bypass_csp=True) as tab:
        tab.goto("/login.html")
        tab.get_by_label("Email").fill(rita["email"])
        tab.get_by_label("Password").fill(rita["password"])
        tab.get_by_role("button", name="Log in").click()
        expect(tab.locator("#who-name")).to_have_text(rita["name"])
        tab.get_by_role("link", name="My profile").click()
        expect(tab).to_have_url(re.compile(r"/profile\.html$"))
        expect(tab.locator("#methods tbody")).to_contain_text("No contact methods yet")

        tab.get_by_label("Type").select_option("email")
        tab.get_by_label("Address").fill("not an address")
        tab.get_by_role("button", name="Add contact method").click()
        expect(tab.locator("#method-message")).to_contain_text("plain address")
        tab.get_by_label("Address").fill("rita.pager@example.org")
        tab.get_by_role("button", name="Add contact method").click()
        expect(tab.locator("#methods tbody tr")).to_have_count(1)
        expect(tab.locator("#methods tbody tr").first).to_contain_text("rita.pager@example.org")

        tab.get_by_label("After (minutes)").fill("5")
        tab.get_by_role("button", name="Add rule").click()
        expect(tab.locator("#rules tbody tr").first).to_contain_text("Email: rita.pager@example.org")
        expect(tab.locator("#rules tbody tr").first).to_contain_text("5 min")

        tab.get_by_role("button", name="Send test page to Email: rita.pager@example.org").click()
        expect(tab.locator("#method-message")).to_contain_text("Test page sent to Email: rita.pager@example.org")
        screenshot(tab, "profile")
        violations = axe_violations(tab)
        assert not violations, describe(violations)

        tab.get_by_role("button", name=re.compile(r"^Delete the rule")).click()
        expect(tab.locator("#rules tbody")).to_contain_text("No rules: every contact method is notified at once.")

    stored = httpx.get(f"{platform.url}/api/v1/users/{rita['id']}/contact-methods", headers=platform.admin_headers, timeout=10).json()
    assert [(m["type"], m["address"]) for m in stored] == [("email", "rita.pager@example.org")]
