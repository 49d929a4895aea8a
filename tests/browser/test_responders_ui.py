"""The responder pages in the machine's real headless Chromium, against the real platform behind real nginx
in the secured profile (ANONYMOUS_ROLE=none): an admin creates, edits and deletes a schedule and an
escalation policy in the UI; a responder takes a shift through an override and the on-call page shows them
as primary, in "My shifts" too, then gives it back; the dashboard lists a person's own open incidents; a
viewer is offered none of the actions. Every state shown passes axe-core (WCAG 2.1 AA).
Users are created through the API with the bootstrap admin token."""

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.browser.axe import axe_violations, describe
from tests.browser.conftest import open_tab
from tests.browser.harness import Platform, running_platform, screenshot, secured_env
from tests.browser.test_identity_ui import as_admin, log_in, new_user

_sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (requirements-dev.txt)")
expect, PlaywrightTimeout = _sync_api.expect, _sync_api.TimeoutError

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def platform(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with running_platform(database_url, tmp_path_factory.mktemp("web-responders"), env=secured_env()) as running:
        yield running


def logged_in(page, user: dict, path: str) -> None:
    page.goto(f"/login.html?next={path}")
    log_in(page, user)
    expect(page).to_have_url(re.compile(rf"{re.escape(path)}$"))
    expect(page.locator("#who-name")).to_have_text(user["name"])


def new_schedule(platform: Platform, members: list[dict]) -> str:
    team = f"team-{uuid.uuid4().hex[:8]}"
    # The handoff an hour ago, so the next is 23 h away: the 8-hour windows the tests take never cross one,
    # whatever the time of day the tests run at.
    handoff = datetime.now(UTC) - timedelta(hours=1)
    body = {
        "team": team,
        "rotation_type": "daily",
        "start": handoff.date().isoformat(),
        "handoff_time": handoff.strftime("%H:%M"),
        "timezone": "UTC",
        "members": members,
    }
    created = as_admin(platform, "POST", "/api/v1/schedules", json=body)
    assert created.status_code == 201, created.text
    return team


def no_axe_violations(tab, found: dict, name: str) -> None:
    found[name] = axe_violations(tab)


def assert_accessible(found: dict) -> None:
    failing = {name: violations for name, violations in found.items() if violations}
    assert not failing, "axe-core violations:\n" + "\n".join(f"{name}:\n{describe(v)}" for name, v in failing.items())


def test_admin_creates_edits_and_deletes_a_schedule_and_a_policy(browser, platform):
    admin = new_user(platform, "admin")
    responder = new_user(platform, "responder")
    team = f"payments-{uuid.uuid4().hex[:8]}"
    old_team = new_schedule(platform, [{"name": "Old", "email": "old@example.org"}])
    found = {}
    with open_tab(browser, platform, bypass_csp=True) as page:
        logged_in(page, admin, "/schedules.html")

        # Create: one platform user picked from the list, one person typed, in that order.
        form = page.get_by_role("form", name="Add a schedule")
        form.get_by_label("Team (the incidents' service)").fill(team)
        form.get_by_label("Rotation").select_option("daily")
        form.get_by_label("Handoff time").fill("08:30")
        form.get_by_label("Time zone (IANA)").fill("Europe/Berlin")
        form.get_by_label("Escalate after (minutes)").fill("10")
        form.get_by_label("Platform user").select_option(responder["id"])
        form.get_by_role("button", name="Add user").click()
        form.get_by_label("Name", exact=True).fill("Zoe Typed")
        form.get_by_label("Email", exact=True).fill("zoe@example.org")
        form.get_by_label("Email", exact=True).press("Enter")  # adds the person, does not submit the schedule
        expect(page.locator("#members-list li")).to_have_count(2)
        no_axe_violations(page, found, "schedule form with members")
        form.get_by_role("button", name="Create schedule").click()
        expect(page.locator("#schedule-message")).to_have_text(f"Schedule of {team} created.")
        row = page.locator(f"#schedules tr[data-team='{team}']")
        expect(row).to_contain_text("daily, handoff 08:30 Europe/Berlin")
        stored = as_admin(platform, "GET", f"/api/v1/schedules/{team}").json()
        assert [m.get("user_id") for m in stored["members"]] == [responder["id"], None], stored
        assert [m["email"] for m in stored["members"]] == [responder["email"], "zoe@example.org"]
        assert (stored["escalation_minutes"], stored["timezone"]) == (10, "Europe/Berlin")

        # Edit: only what changed is sent (PATCH); the members stay exactly as they were.
        row.get_by_role("button", name=f"Edit schedule {team}").click()
        expect(page.locator("#schedule-form-title")).to_have_text(f"Edit the schedule of {team}")
        form = page.get_by_role("form", name=f"Edit the schedule of {team}")
        form.get_by_label("Escalate after (minutes)").fill("20")
        form.get_by_role("button", name="Move Zoe Typed up").click()
        no_axe_violations(page, found, "schedule form editing")
        with page.expect_request(lambda request: request.method == "PATCH") as patched:
            form.get_by_role("button", name="Save changes").click()
        expect(page.locator("#schedule-message")).to_have_text(f"Schedule of {team} saved.")
        assert set(patched.value.post_data_json) == {"escalation_minutes", "members"}, patched.value.post_data_json
        stored = as_admin(platform, "GET", f"/api/v1/schedules/{team}").json()
        assert stored["escalation_minutes"] == 20
        assert [m["email"] for m in stored["members"]] == ["zoe@example.org", responder["email"]]
        assert stored["members"][1]["user_id"] == responder["id"]
        screenshot(page, "schedules")

        # Delete, asked again in the page.
        old = page.locator(f"#schedules tr[data-team='{old_team}']")
        old.get_by_role("button", name=f"Delete schedule {old_team}").click()
        old.get_by_role("button", name=f"Confirm delete {old_team}").click()
        expect(page.locator(f"#schedules tr[data-team='{old_team}']")).to_have_count(0)
        assert as_admin(platform, "GET", f"/api/v1/schedules/{old_team}").status_code == 404

        # A policy: step 1 pages the responder, then step 2 the team's on-call primary; one more round.
        page.get_by_role("link", name="Escalation").click()
        expect(page).to_have_url(re.compile(r"/policies\.html$"))
        form = page.get_by_role("form", name="Add a policy")
        form.get_by_label("Name", exact=True).fill(f"policy {team}")
        form.get_by_label("Team it governs (optional)").fill(team)
        form.get_by_label("Repeat (more rounds)").fill("1")
        form.get_by_label("Who: target 1 of step 1").select_option(responder["id"])
        form.get_by_role("button", name="Add step").click()
        form.get_by_label("Then wait (minutes) before step 2").fill("1")
        form.get_by_label("Kind: target 1 of step 2").select_option("schedule")
        form.get_by_label("Who: target 1 of step 2").select_option(team)
        form.get_by_label("Then wait (minutes) before the next round").fill("1")
        no_axe_violations(page, found, "policy form with two steps")
        form.get_by_role("button", name="Create policy").click()
        expect(page.locator("#policy-message")).to_have_text(f"Policy “policy {team}” created.")
        policy_row = page.locator("#policies tbody tr", has_text=f"policy {team}")
        expect(policy_row).to_contain_text(f"{responder['name']} · then 1 min")
        expect(policy_row).to_contain_text(f"on call for {team} · then 1 min")
        expect(policy_row).to_contain_text("1 more round")
        policies = as_admin(platform, "GET", "/api/v1/escalation-policies", params={"team": team}).json()
        assert len(policies) == 1, policies
        assert policies[0]["repeat"] == 1
        assert policies[0]["steps"] == [
            {"delay_minutes": 1, "targets": [{"type": "user", "id": responder["id"]}]},
            {"delay_minutes": 1, "targets": [{"type": "schedule", "id": team}]},
        ]
        screenshot(page, "policies")

        # Edit (PUT): step 1 waits 3 minutes now, and pages the typed person's schedule too.
        policy_row.get_by_role("button", name=f"Edit policy policy {team}").click()
        form = page.get_by_role("form", name=f"Edit the policy policy {team}")
        form.get_by_label("Then wait (minutes) before step 2").fill("3")
        form.get_by_role("button", name="Add target to step 1").click()
        form.get_by_label("Kind: target 2 of step 1").select_option("schedule")
        form.get_by_label("Who: target 2 of step 1").select_option(team)
        form.get_by_role("button", name="Save policy").click()
        expect(page.locator("#policy-message")).to_contain_text(f"Policy “policy {team}” saved")
        steps = as_admin(platform, "GET", f"/api/v1/escalation-policies/{policies[0]['id']}").json()["steps"]
        assert steps[0] == {"delay_minutes": 3, "targets": [{"type": "user", "id": responder["id"]}, {"type": "schedule", "id": team}]}

        # A refusal is said plainly and changes nothing: a second policy for the same team is a 409.
        form = page.get_by_role("form", name="Add a policy")
        form.get_by_label("Name", exact=True).fill(f"second {team}")
        form.get_by_label("Team it governs (optional)").fill(team)
        form.get_by_role("button", name="Create policy").click()
        expect(page.locator("#policy-message")).to_have_class(re.compile(r"\berror\b"))
        assert len(as_admin(platform, "GET", "/api/v1/escalation-policies", params={"team": team}).json()) == 1

        policy_row.get_by_role("button", name=f"Delete policy policy {team}").click()
        policy_row.get_by_role("button", name=f"Confirm delete policy {team}").click()
        expect(page.locator("#policies tbody tr", has_text=f"policy {team}")).to_have_count(0)
        assert as_admin(platform, "GET", f"/api/v1/escalation-policies/{policies[0]['id']}").status_code == 404
    assert_accessible(found)


def test_editing_a_schedule_keeps_what_the_form_does_not_show(browser, platform):
    admin = new_user(platform, "admin")
    team = f"layered-{uuid.uuid4().hex[:8]}"
    business_hours = {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "18:00"}
    layer = {"name": "business hours", "rotation_type": "daily", "members": [{"name": "Day", "email": "day@example.org"}]}
    body = {
        "team": team,
        "members": [{"name": "Ann", "email": "ann@example.org"}],
        "escalation_levels": [{"name": "Erin", "email": "erin@example.org"}],
        "layers": [{**layer, "restrictions": [business_hours]}],
    }
    assert as_admin(platform, "POST", "/api/v1/schedules", json=body).status_code == 201
    before = as_admin(platform, "GET", f"/api/v1/schedules/{team}").json()
    with open_tab(browser, platform) as page:
        logged_in(page, admin, "/schedules.html")
        row = page.locator(f"#schedules tr[data-team='{team}']")
        expect(row).to_contain_text("layers on top: business hours")
        row.get_by_role("button", name=f"Edit schedule {team}").click()
        page.get_by_label("Escalate after (minutes)").fill("45")
        page.get_by_role("button", name="Save changes").click()
        expect(page.locator("#schedule-message")).to_have_text(f"Schedule of {team} saved.")
    after = as_admin(platform, "GET", f"/api/v1/schedules/{team}").json()
    assert after["escalation_minutes"] == 45
    for kept in ("layers", "escalation_levels", "members", "start", "handoff_time", "timezone", "rotation_type"):
        assert after[kept] == before[kept], kept


def confirm_delete(row) -> None:
    """Delete, then confirm. The card re-renders when a refresh lands (a confirmation in progress is reset
    with it), so ask again until the confirmation is clicked."""
    for _ in range(3):
        row.get_by_role("button", name=re.compile(r"^Delete override")).click()
        try:
            row.get_by_role("button", name=re.compile(r"^Confirm delete override")).click(timeout=5_000)
            return
        except PlaywrightTimeout:
            continue
    pytest.fail("the override's delete confirmation never stayed long enough to be clicked")


def test_responder_takes_a_shift_and_the_oncall_page_shows_them_as_primary(browser, platform):
    responder = new_user(platform, "responder")
    team = new_schedule(platform, [{"name": "Ann", "email": "ann@example.org"}, {"name": "Ben", "email": "ben@example.org"}])
    found = {}
    with open_tab(browser, platform, bypass_csp=True) as page:
        logged_in(page, responder, "/oncall.html")
        card = page.locator(f"section.team[data-team='{team}']")
        expect(card.locator(".person.primary .name")).to_have_text("Ann")
        expect(page.locator("#my-shifts-none")).to_be_visible()

        # Take it: the window the form proposes (now, for 8 hours), in the responder's own name.
        form = page.get_by_role("form", name="Take a shift")
        expect(form).to_contain_text(f"You ({responder['name']}, {responder['email']}) become the primary")
        form.get_by_label("Team").select_option(team)
        form.get_by_role("button", name="Take the shift").click()
        expect(page.locator("#take-message")).to_contain_text(f"{responder['name']} is primary for {team}")
        expect(card.locator(".person.primary .name")).to_have_text(responder["name"])
        expect(card.locator(".shift-window")).to_contain_text("primary covering by override")
        expect(card.locator("table.overrides tbody tr")).to_have_count(1)
        expect(card.locator("table.shifts tbody tr").first).to_contain_text(f"{responder['name']} (override)")
        mine = page.locator(f"#my-shifts-table tr[data-team='{team}']")
        expect(mine).to_contain_text("override")
        overrides = as_admin(platform, "GET", f"/api/v1/schedules/{team}/overrides").json()
        assert [(o["name"], o["email"]) for o in overrides] == [(responder["name"], responder["email"])]
        window = datetime.fromisoformat(overrides[0]["end"]) - datetime.fromisoformat(overrides[0]["start"])
        assert window.total_seconds() == 8 * 3600
        current = as_admin(platform, "GET", "/api/v1/oncall/current", params={"team": team}).json()
        assert current["primary"]["email"] == responder["email"] and current["overridden"] is True
        no_axe_violations(page, found, "on-call with an override and my shifts")
        screenshot(page, "oncall-shift-taken")

        # The next stretch that is not theirs, from its row: "Take" puts its window in the form.
        card.locator("table.shifts").get_by_role("button", name=re.compile(rf"^Take the shift of {team}")).first.click()
        expect(page.locator("#take-message")).to_contain_text(f"The shift of {team} from")
        form.get_by_role("button", name="Take the shift").click()
        expect(card.locator("table.overrides tbody tr")).to_have_count(2)
        expect(page.locator(f"#my-shifts-table tr[data-team='{team}']")).to_have_count(2)
        second = sorted(as_admin(platform, "GET", f"/api/v1/schedules/{team}/overrides").json(), key=lambda o: o["start"])[1]
        assert second["start"] == overrides[0]["end"], (second, overrides)

        # Overlapping the taken window: refused with the service's reason, nothing stored.
        form.get_by_role("button", name="Take the shift").click()
        expect(page.locator("#take-message")).to_have_class(re.compile(r"\berror\b"))
        assert len(as_admin(platform, "GET", f"/api/v1/schedules/{team}/overrides").json()) == 2

        # Give the first one back: Ann is primary again.
        first = card.locator(f"table.overrides tr[data-override-id='{overrides[0]['id']}']")
        confirm_delete(first)
        expect(card.locator(".person.primary .name")).to_have_text("Ann")
        expect(card.locator("table.overrides tbody tr")).to_have_count(1)
    assert_accessible(found)


def test_the_dashboard_lists_my_open_incidents(browser, platform):
    responder = new_user(platform, "responder")
    service = f"mine-{uuid.uuid4().hex[:8]}"

    def incident(title: str, assigned_to: str) -> str:
        body = {"title": title, "service": service, "severity": "high", "assigned_to": assigned_to}
        created = as_admin(platform, "POST", "/api/v1/incidents", json=body)
        assert created.status_code == 201, created.text
        return created.json()["id"]

    mine = incident("Checkout 5xx", responder["name"])
    acknowledged = incident("Queue backlog", responder["email"])
    as_admin(platform, "PATCH", f"/api/v1/incidents/{acknowledged}", json={"status": "acknowledged"}).raise_for_status()
    resolved = incident("Old disk alarm", responder["name"])
    as_admin(platform, "PATCH", f"/api/v1/incidents/{resolved}", json={"status": "resolved"}).raise_for_status()
    someone_else = incident("Not mine", "Somebody Else")
    found = {}
    with open_tab(browser, platform, bypass_csp=True) as page:
        logged_in(page, responder, "/index.html")
        table = page.locator("#mine-table")
        expect(table.locator(f"tr[data-incident-id='{mine}']")).to_contain_text("Open")
        expect(table.locator(f"tr[data-incident-id='{acknowledged}']")).to_contain_text("Acknowledged")
        expect(table.locator("tbody tr")).to_have_count(2)
        for other in (resolved, someone_else):
            expect(table.locator(f"tr[data-incident-id='{other}']")).to_have_count(0)
        expect(page.locator(f"#incidents tr[data-incident-id='{someone_else}']")).to_be_visible()
        no_axe_violations(page, found, "dashboard with my incidents")
        screenshot(page, "dashboard-my-incidents")
    assert_accessible(found)


def test_a_viewer_reads_schedules_and_policies_and_is_offered_no_action(browser, platform):
    viewer = new_user(platform, "viewer")
    team = new_schedule(platform, [{"name": "Ann", "email": "ann@example.org"}])
    policy = {"name": f"viewer {team}", "steps": [{"delay_minutes": 5, "targets": [{"type": "schedule", "id": team}]}]}
    assert as_admin(platform, "POST", "/api/v1/escalation-policies", json=policy).status_code == 201
    found = {}
    with open_tab(browser, platform, bypass_csp=True) as page:
        logged_in(page, viewer, "/schedules.html")
        expect(page.locator(f"#schedules tr[data-team='{team}']")).to_contain_text("Ann")
        expect(page.locator("#schedule-editor")).to_be_hidden()
        expect(page.locator("#schedules").get_by_role("button")).to_have_count(0)
        no_axe_violations(page, found, "schedules as viewer")

        page.goto("/policies.html")
        expect(page.locator("#policies tbody tr", has_text=f"viewer {team}")).to_contain_text(f"on call for {team}")
        expect(page.locator("#policy-editor")).to_be_hidden()
        expect(page.locator("#policies").get_by_role("button")).to_have_count(0)
        no_axe_violations(page, found, "policies as viewer")

        page.goto("/oncall.html")
        expect(page.locator(f"section.team[data-team='{team}']")).to_be_visible()
        expect(page.locator("#take-shift")).to_be_hidden()
        expect(page.locator("#teams").get_by_role("button")).to_have_count(0)
        expect(page.locator("#my-shifts")).to_be_visible()
        no_axe_violations(page, found, "on-call as viewer")
        # Not offered, and refused anyway.
        refused = page.request.post(
            f"/api/v1/schedules/{team}/overrides",
            data={"name": viewer["name"], "email": viewer["email"], "start": "2030-01-01T00:00:00Z", "end": "2030-01-02T00:00:00Z"},
        )
        assert refused.status == 403
    # The gateway sends the escalation routes to oncall-service (the policies page reads them through it).
    for path in ("/api/v1/escalation-policies", "/api/v1/escalations"):
        assert as_admin(platform, "GET", path).status_code == 200, path
    assert_accessible(found)
