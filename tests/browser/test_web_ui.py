"""The web UI in the machine's real headless Chromium, against the real platform behind real nginx.

Stories a responder would live through: an alert arrives and its incident shows up on the open
dashboard by itself; they open it, acknowledge, write a note, start work, resolve, and see MTTA / MTTR;
the on-call page names the right primary; whatever anyone typed stays text; a service that is down
gives a message instead of a blank page. Each page is saved under test-artifacts/screenshots/.
"""

import re
import uuid
from datetime import UTC, datetime

import httpx
import pytest

from tests.browser.harness import screenshot

expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (requirements-dev.txt)").expect

pytestmark = pytest.mark.browser

SCRIPT_NOTE = "<script>alert(1)</script><img src=x onerror=alert(2)> rollback & retry"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def post_alert(platform, **fields) -> dict:
    response = httpx.post(f"{platform.url}/api/v1/alerts", json=fields, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


def test_alert_appears_by_itself_then_is_worked_to_resolution(page, platform):
    service = unique("checkout")
    page.goto("/")
    expect(page.locator("#updated")).to_contain_text("Updated")
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads or navigates

    accepted = post_alert(platform, service=service, severity="critical", message="Checkout 5xx above 10%", labels={"region": "eu-west-1"})
    incident_id = accepted["incident_id"]
    row = page.locator(f"tr[data-incident-id='{incident_id}']")
    expect(row).to_be_visible(timeout=15_000)
    assert page.evaluate("window.__sameDocument") is True, "the incident appeared only after a reload"
    expect(row).to_contain_text(service)
    expect(row).to_contain_text("critical")
    expect(row).to_contain_text("Open")
    expect(page.locator("#by-severity [data-severity='critical'] dd")).not_to_have_text("0")

    page.fill("#filter-service", service)
    page.click("#filters button[type=submit]")
    expect(page.locator("#incidents tbody tr")).to_have_count(1)
    screenshot(page, "dashboard")

    row.get_by_role("link").click()
    expect(page).to_have_url(re.compile(rf"incident\.html\?id={incident_id}$"))
    expect(page.locator("#title")).to_have_text("Checkout 5xx above 10%")
    expect(page.locator("#status")).to_have_attribute("data-status", "open")
    expect(page.locator("#alerts tbody")).to_contain_text("Checkout 5xx above 10%")
    expect(page.locator("#alerts tbody")).to_contain_text("region=eu-west-1")
    expect(page.get_by_role("button", name="Acknowledge")).to_be_enabled()
    expect(page.get_by_role("button", name="Reopen")).to_be_hidden()
    expect(page.locator("#mtta")).to_have_text("—")

    page.get_by_label("Your name", exact=True).fill("alice")
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.locator("#status")).to_have_attribute("data-status", "acknowledged")
    expect(page.get_by_role("button", name="Acknowledge")).to_be_disabled()
    expect(page.get_by_role("button", name="Start work")).to_be_enabled()
    expect(page.locator("#mtta")).not_to_have_text("—")

    page.get_by_label("Note", exact=True).fill("Rolled back release 42")
    page.get_by_label("Author", exact=True).fill("alice")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("#timeline li[data-kind='note']")).to_contain_text("Rolled back release 42")
    expect(page.locator("#note-body")).to_have_value("")

    page.get_by_role("button", name="Start work").click()
    expect(page.locator("#status")).to_have_attribute("data-status", "in_progress")
    page.get_by_role("button", name="Resolve").click()
    expect(page.locator("#status")).to_have_attribute("data-status", "resolved")
    for name in ("Acknowledge", "Start work", "Resolve"):
        expect(page.get_by_role("button", name=name)).to_be_disabled()
    expect(page.get_by_role("button", name="Reopen")).to_be_enabled()
    expect(page.locator("#mttr")).not_to_have_text("—")
    kinds = page.locator("#timeline li").evaluate_all("items => items.map(li => li.dataset.kind)")
    for kind in ("created", "acknowledged", "note", "in_progress", "resolved"):
        assert kind in kinds, kinds
    screenshot(page, "incident-resolved")

    stored = httpx.get(f"{platform.url}/api/v1/incidents/{incident_id}").json()
    assert stored["status"] == "resolved" and stored["mttr_seconds"] is not None
    assert [(n["author"], n["body"]) for n in stored["notes"]] == [("alice", "Rolled back release 42")]
    assert page.locator("#mtta").inner_text() != "—"

    page.get_by_role("link", name="Incidents", exact=True).click()
    expect(page.locator("#mtta")).not_to_have_text("—")
    expect(page.locator("#mttr")).not_to_have_text("—")
    expect(page.locator(f"tr[data-incident-id='{incident_id}']")).to_have_count(0)  # resolved: not in the unresolved list
    screenshot(page, "dashboard-after-resolve")

    page.get_by_role("link", name="SRE metrics").click()
    expect(page.locator("#charts")).to_be_visible()
    expect(page.locator("#mttr-stats")).not_to_contain_text("Incidents0")
    expect(page.locator("#mtta-time svg rect")).not_to_have_count(0)
    expect(page.locator("#mttr-dist svg rect")).not_to_have_count(0)
    screenshot(page, "metrics")


def test_typed_markup_is_shown_as_text(page, platform):
    service = unique("xss")
    incident_id = post_alert(platform, service=service, severity="low", message="<b>bold</b> <img src=x onerror=alert(3)>")["incident_id"]
    page.goto(f"/incident.html?id={incident_id}")
    expect(page.locator("#alerts tbody")).to_contain_text("<b>bold</b> <img src=x onerror=alert(3)>")

    page.get_by_label("Note", exact=True).fill(SCRIPT_NOTE)
    page.get_by_label("Author", exact=True).fill("<i>mallory</i>")
    page.get_by_role("button", name="Add note").click()
    note = page.locator("#timeline li[data-kind='note']")
    expect(note.locator(".event-text")).to_have_text(SCRIPT_NOTE)
    expect(note.locator(".event-meta")).to_contain_text("by <i>mallory</i>")
    assert page.locator("main script, main img, main b, main i").count() == 0
    page.wait_for_timeout(500)  # give an injected handler the chance to fire
    assert page.watch.dialogs == []
    screenshot(page, "incident-markup-as-text")

    page.goto("/")
    expect(page.locator(f"tr[data-incident-id='{incident_id}']")).to_be_visible()
    assert page.locator("#incidents img, #incidents b").count() == 0
    assert page.watch.dialogs == []


def test_oncall_page_names_the_primary_of_a_new_schedule(page, platform):
    if not platform.has("oncall-service"):
        pytest.skip("oncall-service (services/oncall-service/oncall/main.py) is not in the tree yet")
    team = unique("payments")
    schedule = {
        "team": team,
        "rotation_type": "weekly",
        "start": datetime.now(UTC).isoformat(),
        "handoff_time": "09:00",
        "timezone": "UTC",
        "escalation_minutes": 10,
        "members": [{"name": "Alice Primary", "email": "alice@example.org"}, {"name": "Bob Second", "email": "bob@example.org"}],
    }
    created = httpx.post(f"{platform.url}/api/v1/schedules", json=schedule, timeout=10)
    assert created.status_code == 201, created.text
    current = httpx.get(f"{platform.url}/api/v1/oncall/current", params={"team": team}).json()
    assert current["primary"]["name"] == "Alice Primary"

    page.goto("/oncall.html")
    card = page.locator(f"section.team[data-team='{team}']")
    expect(card.locator("[data-role='Primary'] .name")).to_have_text("Alice Primary")
    expect(card.locator("[data-role='Secondary'] .name")).to_have_text("Bob Second")
    expect(card.locator("table.shifts tbody tr")).not_to_have_count(0)
    expect(card.locator("table.shifts tbody tr").first).to_contain_text("Alice Primary")
    card.scroll_into_view_if_needed()
    screenshot(page, "oncall")


def test_controls_are_labelled_and_reachable_by_keyboard(page):
    for path in ("/", "/incident.html?id=00000000-0000-0000-0000-000000000000", "/oncall.html", "/metrics.html"):
        page.goto(path)
        page.wait_for_load_state("networkidle")
        unnamed = page.evaluate("""() => [...document.querySelectorAll('input, select, textarea, button')]
            .filter(el => !el.closest('[hidden]'))
            .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.textContent.trim())
            .map(el => el.outerHTML)""")
        assert unnamed == [], f"{path}: controls without a label: {unnamed}"
    expect(page.locator("#state, #load-state").first).to_be_attached()

    page.goto("/")
    expect(page.locator("#updated")).to_contain_text("Updated")
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    focused = []
    for _ in range(15):  # the skip link, the main navigation, the account, then the filters
        page.keyboard.press("Tab")
        focused.append(page.evaluate("document.activeElement.id || document.activeElement.textContent.trim()"))
    assert "filter-status" in focused, focused
    page.focus("#filter-status")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", ""), "no visible focus indicator"


def test_unknown_incident_says_so(page):
    page.goto("/incident.html?id=00000000-0000-0000-0000-000000000000")
    expect(page.locator("#load-state")).to_contain_text("No incident with id")
    expect(page.locator("#incident")).to_be_hidden()


def test_a_stopped_service_shows_a_message_not_a_blank_page(page, platform):
    incident_id = post_alert(platform, service=unique("down"), severity="high", message="before the outage")["incident_id"]
    platform.stack.stop("incident-management")
    try:
        page.goto("/")
        expect(page.locator("#page-error")).to_contain_text("Incident management is unavailable")
        expect(page.locator("#list-state")).to_contain_text("Incidents cannot be shown")
        expect(page.locator("#updated")).to_contain_text("failed")
        screenshot(page, "dashboard-service-down")

        page.goto(f"/incident.html?id={incident_id}")
        expect(page.locator("#page-error")).to_contain_text("Incident management is unavailable")
        expect(page.locator("#load-state")).to_contain_text("cannot be shown")
        screenshot(page, "incident-service-down")

        page.goto("/metrics.html")
        expect(page.locator("#page-error")).to_contain_text("Incident management is unavailable")
        expect(page.locator("#state")).to_contain_text("cannot be computed")
    finally:
        platform.stack.start("incident-management")
    # The open page recovers by itself once the service is back.
    page.goto("/")
    expect(page.locator(f"tr[data-incident-id='{incident_id}']")).to_be_visible()
    expect(page.locator("#page-error")).to_be_hidden()


def test_oncall_page_explains_when_the_oncall_service_is_down(page, platform):
    if platform.has("oncall-service"):
        platform.stack.stop("oncall-service")
    try:
        page.goto("/oncall.html")
        expect(page.locator("#page-error")).to_contain_text("The on-call service is unavailable")
        expect(page.locator("#state")).to_contain_text("cannot be shown")
        screenshot(page, "oncall-service-down")
    finally:
        if platform.has("oncall-service"):
            platform.stack.start("oncall-service")
