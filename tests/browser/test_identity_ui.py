"""The web UI with identity on (the secured profile: ANONYMOUS_ROLE=none, a bootstrap admin token), in
the machine's real headless Chromium against the real platform behind real nginx.

Stories: a responder follows a link, is asked to log in, lands back on the incident, acknowledges it and
is named on the timeline, then logs out and the API refuses the browser again; a viewer is offered no
action; wrong passwords and too many of them get clear messages; an admin manages users, tokens and
integrations (each secret shown once) and reads the audit log; every page passes axe-core (WCAG 2.1 AA).
Users are created through the API with the bootstrap admin token.
"""

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
    with running_platform(database_url, tmp_path_factory.mktemp("web-secured"), env=secured_env()) as running:
        yield running


def as_admin(platform: Platform, method: str, path: str, **kwargs) -> httpx.Response:
    return httpx.request(method, f"{platform.url}{path}", headers=platform.admin_headers, timeout=10, **kwargs)


def new_user(platform: Platform, role: str) -> dict:
    tag = uuid.uuid4().hex[:8]
    password = f"pw-{uuid.uuid4().hex}"
    created = as_admin(
        platform,
        "POST",
        "/api/v1/users",
        json={"name": f"{role.title()} {tag}", "email": f"{role}-{tag}@example.org", "role": role, "password": password},
    )
    assert created.status_code == 201, created.text
    return {**created.json(), "password": password}


def new_incident(platform: Platform, message: str) -> str:
    accepted = as_admin(
        platform, "POST", "/api/v1/alerts", json={"service": f"web-{uuid.uuid4().hex[:8]}", "severity": "high", "message": message}
    )
    assert accepted.status_code == 201, accepted.text
    return accepted.json()["incident_id"]


def log_in(page, user: dict) -> None:
    page.get_by_label("Email").fill(user["email"])
    page.get_by_label("Password").fill(user["password"])
    page.get_by_role("button", name="Log in").click()


def test_responder_logs_in_acknowledges_is_named_and_logs_out(page, platform):
    responder = new_user(platform, "responder")
    incident_id = new_incident(platform, "Payments latency above 2 s")

    page.goto(f"/incident.html?id={incident_id}")
    expect(page).to_have_url(re.compile(rf"/login\.html\?next=%2Fincident\.html%3Fid%3D{incident_id}$"))
    expect(page.locator("#login-note")).to_have_text("Log in to continue.")
    screenshot(page, "login")
    log_in(page, responder)

    expect(page).to_have_url(re.compile(rf"/incident\.html\?id={incident_id}$"))
    expect(page.locator("#who-name")).to_have_text(responder["name"])
    expect(page.locator("#who-role")).to_have_text("responder")
    expect(page.get_by_role("link", name="Administration")).to_have_count(0)
    expect(page.locator("#acting-as")).to_have_text(f"Acting as {responder['name']} (responder).")
    expect(page.get_by_label("Your name", exact=True)).to_be_hidden()

    cookies = {cookie["name"]: cookie for cookie in page.context.cookies()}
    session = cookies["incident_session"]
    assert session["httpOnly"] is True and session["sameSite"] == "Strict", session
    assert page.evaluate("document.cookie") == "", "the session cookie is readable by scripts"

    page.get_by_role("button", name="Acknowledge").click()
    expect(page.locator("#status")).to_have_attribute("data-status", "acknowledged")
    acknowledged = page.locator("#timeline li[data-kind='acknowledged'] .event-meta")
    expect(acknowledged).to_contain_text(f"by {responder['name']}")
    page.get_by_label("Note", exact=True).fill("Failed over to the replica")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("#timeline li[data-kind='note'] .event-meta")).to_contain_text(f"by {responder['name']}")
    screenshot(page, "incident-acknowledged-by-responder")

    stored = as_admin(platform, "GET", f"/api/v1/incidents/{incident_id}").json()
    actors = {event["kind"]: event["actor"] for event in stored["timeline"]}
    assert actors["acknowledged"] == responder["name"], stored["timeline"]
    assert [note["author"] for note in stored["notes"]] == [responder["name"]]

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login\.html\?logged_out=1$"))
    expect(page.locator("#login-note")).to_have_text("You are logged out.")
    assert "incident_session" not in {cookie["name"] for cookie in page.context.cookies()}
    refused = page.request.get("/api/v1/auth/me")
    assert refused.status == 401 and refused.json()["error"]["code"] == "unauthenticated"
    # The old session is ended on the server too, not only forgotten by the browser.
    replayed = httpx.get(f"{platform.url}/api/v1/auth/me", cookies={"incident_session": session["value"]}, timeout=10)
    assert replayed.status_code == 401
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\.html\?next=%2F$"))


def test_a_viewer_is_offered_no_action(page, platform):
    viewer = new_user(platform, "viewer")
    incident_id = new_incident(platform, "Disk 91% full")
    page.goto("/login.html")
    log_in(page, viewer)
    expect(page).to_have_url(re.compile(r"/index\.html$"))
    expect(page.locator(f"tr[data-incident-id='{incident_id}']")).to_be_visible()
    expect(page.locator("#who-role")).to_have_text("viewer")
    expect(page.get_by_role("link", name="Administration")).to_have_count(0)

    page.goto(f"/incident.html?id={incident_id}")
    expect(page.locator("#title")).to_have_text("Disk 91% full")
    expect(page.locator("#read-only")).to_be_visible()
    for name in ("Acknowledge", "Start work", "Resolve", "Add note"):
        expect(page.get_by_role("button", name=name)).to_have_count(0)
    expect(page.locator("#note-form")).to_be_hidden()
    screenshot(page, "incident-viewer")
    # Not offered, and refused anyway: the service is the gate, not the page.
    refused = page.request.patch(f"/api/v1/incidents/{incident_id}", data={"status": "acknowledged"})
    assert refused.status == 403 and refused.json()["error"]["code"] == "forbidden"

    page.goto("/admin.html")
    expect(page.locator("#admin-state")).to_contain_text("This page is for administrators")
    expect(page.locator("#admin")).to_be_hidden()


def test_wrong_passwords_get_clear_messages(page, platform):
    user = new_user(platform, "viewer")
    page.goto("/login.html")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#login-error")).to_have_text("Enter your email and password.")
    wrong = {**user, "password": "not-the-password"}
    log_in(page, wrong)
    expect(page.locator("#login-error")).to_have_text("Wrong email or password.")
    expect(page).to_have_url(re.compile(r"/login\.html$"))
    for _ in range(4):  # five failures in all for this email
        log_in(page, wrong)
        expect(page.locator("#login-error")).to_have_text("Wrong email or password.")
        expect(page.get_by_role("button", name="Log in")).to_be_enabled()
    log_in(page, user)  # even the right password, now: the service refuses before checking it
    expect(page.locator("#login-error")).to_contain_text("Too many failed attempts for this account. Wait 15 minutes")
    screenshot(page, "login-too-many-attempts")


def test_admin_manages_users_tokens_integrations_and_reads_the_audit(page, platform):
    admin = new_user(platform, "admin")
    page.goto("/login.html?next=/admin.html")
    log_in(page, admin)
    expect(page).to_have_url(re.compile(r"/admin\.html$"))
    expect(page.get_by_role("link", name="Administration")).to_be_visible()

    # A user, created in the page, then their role changed.
    tag = uuid.uuid4().hex[:8]
    email = f"dana-{tag}@example.org"
    add_user = page.get_by_role("form", name="Add a user")
    add_user.get_by_label("Name").fill(f"Dana {tag}")
    add_user.get_by_label("Email").fill(email)
    add_user.get_by_label("Role").select_option("responder")
    add_user.get_by_role("button", name="Add user").click()
    row = page.locator(f"#users tr[data-email='{email}']")
    expect(row).to_contain_text(f"Dana {tag}")
    expect(row).to_contain_text("none (tokens only)")
    row.get_by_label(f"Role of Dana {tag}").select_option("viewer")
    expect(page.locator("#user-message")).to_have_text(f"Dana {tag} is now viewer.")
    user_id = row.get_attribute("data-user-id")
    assert as_admin(platform, "GET", f"/api/v1/users/{user_id}").json()["role"] == "viewer"

    # Their API token: shown once, works, then revoked.
    row.get_by_role("button", name=f"Tokens of Dana {tag}").click()
    page.get_by_label("Token name").fill("deploy script")
    page.get_by_role("button", name="Create token").click()
    box = page.locator("#token-secret")
    expect(box).to_contain_text("Copy it now")
    expect(box).to_contain_text("shown only this once")
    token = page.get_by_role("textbox", name="API token").input_value()
    assert token.startswith("ipt_"), token
    screenshot(page, "admin-token-shown-once")
    me = httpx.get(f"{platform.url}/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert me.status_code == 200 and me.json()["email"] == email
    box.get_by_role("button", name="Done").click()
    expect(box).to_be_hidden()
    page.locator("#tokens").get_by_role("button", name="Revoke token deploy script").click()
    expect(page.locator("#tokens tbody")).to_contain_text("revoked")
    assert as_admin(platform, "GET", f"/api/v1/users/{user_id}/tokens").json()[0]["revoked_at"] is not None
    assert httpx.get(f"{platform.url}/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 401

    # An integration: its key shown once with the receiver configuration, and it sends alerts.
    add_integration = page.get_by_role("form", name="Add an integration")
    add_integration.get_by_label("Name").fill("prod Alertmanager")
    add_integration.get_by_label("Kind").select_option("alertmanager")
    add_integration.get_by_role("button", name="Create integration").click()
    secret = page.locator("#integration-secret")
    expect(secret).to_contain_text("Copy it now")
    key = page.get_by_role("textbox", name="Integration key").input_value()
    assert key.startswith("ipk_"), key
    expect(secret.locator("pre")).to_contain_text(f"{platform.url}/api/v1/alerts/alertmanager")
    expect(secret.locator("pre")).to_contain_text(f"credentials: {key}")
    screenshot(page, "admin-integration-key-shown-once")
    sent = httpx.post(
        f"{platform.url}/api/v1/alerts",
        json={"service": "from-integration", "severity": "low", "message": "hello"},
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert sent.status_code == 201, sent.text
    page.reload()
    expect(page.locator("#integrations tbody")).to_contain_text("prod Alertmanager")
    assert key not in page.content() and token not in page.content(), "a secret was shown twice"
    page.locator("#integrations").get_by_role("button", name="Revoke integration prod Alertmanager").click()
    expect(page.locator("#integrations tr", has_text="prod Alertmanager")).to_contain_text("revoked")
    refused = httpx.post(
        f"{platform.url}/api/v1/alerts",
        json={"service": "from-integration", "severity": "low", "message": "after revocation"},
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert refused.status_code == 401, refused.text

    # Delete the user (asked twice, in the page).
    row = page.locator(f"#users tr[data-email='{email}']")
    row.get_by_role("button", name=f"Delete Dana {tag}").click()
    row.get_by_role("button", name=f"Confirm delete Dana {tag}").click()
    expect(page.locator(f"#users tr[data-email='{email}']")).to_have_count(0)
    assert as_admin(platform, "GET", f"/api/v1/users/{user_id}").status_code == 404

    # The audit log names the admin for each of those changes.
    page.get_by_label("Actor (exact name)").fill(admin["name"])
    page.get_by_role("button", name="Filter").click()
    audit = page.locator("#audit tbody")
    expect(audit).to_contain_text("DELETE /api/v1/users/")
    expect(audit).to_contain_text("POST /api/v1/integrations")
    expect(audit).to_contain_text("PATCH /api/v1/users/")
    actors = page.locator("#audit tbody tr").evaluate_all("rows => [...new Set(rows.map(r => r.dataset.actor))]")
    assert actors == [admin["name"]], actors
    screenshot(page, "admin-audit")


def test_every_page_has_no_axe_violations(browser, platform):
    admin = new_user(platform, "admin")
    viewer = new_user(platform, "viewer")
    incident_id = new_incident(platform, "Queue depth rising")
    schedule = {
        "team": f"team-{uuid.uuid4().hex[:6]}",
        "rotation_type": "daily",
        "handoff_time": "09:00",
        "timezone": "UTC",
        "members": [{"name": "Ann", "email": "ann@example.org"}, {"name": "Ben", "email": "ben@example.org"}],
    }
    assert as_admin(platform, "POST", "/api/v1/schedules", json=schedule).status_code == 201
    pages = {
        "login": ("/login.html", "#login-form"),
        "dashboard": ("/index.html", f"tr[data-incident-id='{incident_id}']"),
        "incident": (f"/incident.html?id={incident_id}", "#respond"),
        "oncall": ("/oncall.html", f"section.team[data-team='{schedule['team']}']"),
        "metrics": ("/metrics.html", "#charts"),
        "admin": ("/admin.html", "#integrations tbody tr"),
    }
    found = {}
    with open_tab(browser, platform, bypass_csp=True) as tab:
        for name, (path, ready) in pages.items():
            if name == "dashboard":
                log_in(tab, admin)
                expect(tab).to_have_url(re.compile(r"/index\.html$"))
            tab.goto(path)
            expect(tab.locator(ready).first).to_be_visible()
            found[name] = axe_violations(tab)
        # The states that only show after an action: a key shown once, a failed login.
        tab.get_by_role("form", name="Add an integration").get_by_label("Name").fill("axe check")
        tab.get_by_role("button", name="Create integration").click()
        expect(tab.locator("#integration-secret")).to_be_visible()
        found["admin with a key shown"] = axe_violations(tab)
    with open_tab(browser, platform, bypass_csp=True) as tab:
        tab.goto("/login.html")
        log_in(tab, {**viewer, "password": "wrong-password"})
        expect(tab.locator("#login-error")).not_to_be_empty()
        found["login error"] = axe_violations(tab)
        log_in(tab, viewer)
        expect(tab).to_have_url(re.compile(r"/index\.html$"))
        tab.goto(f"/incident.html?id={incident_id}")
        expect(tab.locator("#read-only")).to_be_visible()
        found["incident as viewer"] = axe_violations(tab)
        # The check itself is live: a control without a label is reported.
        tab.evaluate("document.querySelector('main').append(document.createElement('input'))")
        assert "label" in {violation["id"] for violation in axe_violations(tab)}
    failing = {name: violations for name, violations in found.items() if violations}
    for name, violations in failing.items():
        print(f"--- {name}\n{describe(violations)}")
    assert not failing, "axe-core violations:\n" + "\n".join(f"{name}:\n{describe(v)}" for name, v in failing.items())


def test_gateway_routes_identity_to_the_oncall_service(platform):
    for path in ("/api/v1/auth/me", "/api/v1/users", "/api/v1/integrations", "/api/v1/teams", "/api/v1/audit"):
        refused = httpx.get(f"{platform.url}{path}", timeout=10)
        assert refused.status_code == 401, (path, refused.text)
        assert refused.json()["error"]["code"] == "unauthenticated"
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
        assert as_admin(platform, "GET", path).status_code == 200, path
    # Routes only services call are passed through, and the service refuses anybody else.
    viewer = new_user(platform, "viewer")
    token = as_admin(platform, "POST", f"/api/v1/users/{viewer['id']}/tokens", json={"name": "probe"}).json()["token"]
    incident_id = new_incident(platform, "internal routes")
    for path, body in (
        ("/api/v1/notify", {"incident_id": incident_id, "channel": "mock", "recipient": "x", "message": "y"}),
        (f"/api/v1/incidents/{incident_id}/timeline", {"kind": "note", "actor": "x", "message": "y"}),
    ):
        assert httpx.post(f"{platform.url}{path}", json=body, timeout=10).status_code == 401, path
        forbidden = httpx.post(f"{platform.url}{path}", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert forbidden.status_code == 403, (path, forbidden.text)
