"""Matchers (Alertmanager semantics), maintenance-window time math and the routing decision: pure functions."""

from datetime import UTC, datetime, time, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest

from alert_ingestion.routing.decide import Grouping, MaintenanceWindow, Rule, Silence, Snapshot, decide, group_key
from alert_ingestion.routing.matchers import MEMO_SIZE, build, cheapest_first, matches_all, matches_everything, parse
from alert_ingestion.routing.schedule import weekly_active
from alert_ingestion.schemas import AlertIn

ALERT = AlertIn(service="checkout", severity="high", message="5xx > 10%", labels={"team": "payments", "env": "prod"})
NOW = datetime(2026, 6, 3, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('service="checkout"', True),
        ("service=checkout", True),
        ('service!="checkout"', False),
        ('team=~"pay.*"', True),
        ('labels.team=~"pay"', False),  # anchored: the whole value must match
        ('team!~"pay.*"', False),
        ('message=~".*5xx.*"', True),
        ('severity="P2"', True),  # normalised: P2 is high
        ('severity=~"high|critical"', True),
        ('owner=""', True),  # a missing label has the value ""
        ('owner!=""', False),
        ('env=~"prod|staging"', True),
        ('labels.env = "prod"', True),
    ],
)
def test_matcher_semantics(text, expected):
    assert parse(text).matches(ALERT) is expected


def test_plain_names_are_labels_and_fields_are_fields():
    assert parse('team="payments"').name == "labels.team"
    assert parse('service="x"').name == "service"
    assert parse('labels.service="x"').name == "labels.service"


@pytest.mark.parametrize(
    "text",
    ['team=~"("', 'team=~"(?=x)"', "team", '="x"', 'team=>"x"', 'severity="urgent"', f'team="{"x" * 1001}"', 'te am="x"'],
)
def test_invalid_matchers_are_refused(text):
    with pytest.raises(ValueError):
        parse(text)


def test_regex_is_linear_time_re2():
    """A pattern that makes a backtracking engine explode is harmless here."""
    matcher = build("message", "=~", "(a+)+$")
    assert matcher.matches_value("a" * 10_000 + "b") is False


def test_matches_everything():
    assert matches_everything((parse('team=~".*"'),))
    assert matches_everything((parse('owner=""'),))
    assert not matches_everything((parse('team=~".*"'), parse('service="checkout"')))


BERLIN = ZoneInfo("Europe/Berlin")


def test_weekly_window_at_its_local_time():
    # Wednesdays 02:00 Berlin for 2 h; 2026-06-03 is a Wednesday, Berlin is UTC+2 in summer.
    def on(at):
        return weekly_active(at, weekdays=[2], start=time(2, 0), duration=timedelta(hours=2), tz=BERLIN)

    assert on(datetime(2026, 6, 3, 0, 0, tzinfo=UTC))  # 02:00 local
    assert on(datetime(2026, 6, 3, 1, 59, tzinfo=UTC))
    assert not on(datetime(2026, 6, 3, 2, 0, tzinfo=UTC))  # 04:00 local: over
    assert not on(datetime(2026, 6, 2, 23, 59, tzinfo=UTC))  # 01:59 local
    assert not on(datetime(2026, 6, 10, 2, 0, tzinfo=UTC))
    assert on(datetime(2026, 6, 10, 0, 30, tzinfo=UTC))  # next week


def test_weekly_window_across_midnight_and_dst():
    # Saturdays 23:00 for 3 h: still on early Sunday.
    def on(at):
        return weekly_active(at, weekdays=[5], start=time(23, 0), duration=timedelta(hours=3), tz=BERLIN)

    assert on(datetime(2026, 6, 6, 23, 30, tzinfo=UTC))  # Sunday 01:30 local
    # 2026-03-28 is the Saturday before the spring change (Sunday 02:00 → 03:00): 23:00 CET = 22:00 UTC,
    # lasting 3 h of real time, to 01:00 UTC (03:00 CEST).
    assert on(datetime(2026, 3, 29, 0, 59, tzinfo=UTC))
    assert not on(datetime(2026, 3, 29, 1, 0, tzinfo=UTC))


def _rule(*matchers, **actions):
    return Rule(id=uuid4(), name="r", matchers=tuple(parse(m) for m in matchers), **actions)


def test_first_matching_rule_routes_the_alert():
    first = _rule('team=~"pay.*"', set_service="payments")
    later = _rule('service="checkout"', drop=True)
    decision = decide(Snapshot(rules=(first, later)), ALERT, integration_id=None, at=NOW)
    assert decision.status == "pending" and decision.rule is first
    assert decision.alert.service == "payments" and decision.alert.severity == "high"


def test_drop_and_integration_scope():
    integration = uuid4()
    scoped = _rule('service="checkout"', integration_id=integration, drop=True)
    snapshot = Snapshot(rules=(scoped,))
    assert decide(snapshot, ALERT, integration_id=None, at=NOW).status == "pending"
    assert decide(snapshot, ALERT, integration_id=integration, at=NOW).status == "dropped"


def test_silence_applies_to_the_routed_alert_and_only_while_active():
    silence = Silence(uuid4(), (parse('service="payments"'),), NOW - timedelta(minutes=1), NOW + timedelta(hours=1))
    snapshot = Snapshot(rules=(_rule('team="payments"', set_service="payments"),), silences=(silence,))
    decision = decide(snapshot, ALERT, integration_id=None, at=NOW)
    assert decision.status == "silenced" and decision.silence_id == silence.id
    assert decide(snapshot, ALERT, integration_id=None, at=NOW + timedelta(hours=1)).status == "pending"
    assert decide(snapshot, ALERT, integration_id=None, at=NOW - timedelta(minutes=2)).status == "pending"


def test_maintenance_window_of_the_service():
    window = MaintenanceWindow(id=uuid4(), service="checkout", starts_at=NOW, ends_at=NOW + timedelta(hours=1))
    snapshot = Snapshot(windows={"checkout": (window,)})
    decision = decide(snapshot, ALERT, integration_id=None, at=NOW)
    assert decision.status == "silenced" and decision.maintenance_window_id == window.id
    assert decide(snapshot, ALERT.model_copy(update={"service": "billing"}), integration_id=None, at=NOW).status == "pending"
    ended = MaintenanceWindow(id=uuid4(), service="checkout", starts_at=NOW, ends_at=NOW + timedelta(hours=1), ended_at=NOW)
    assert decide(Snapshot(windows={"checkout": (ended,)}), ALERT, integration_id=None, at=NOW).status == "pending"


def test_grouping_key_and_window():
    snapshot = Snapshot(grouping={"checkout": Grouping(("env",), 600)}, default_window_seconds=300)
    decision = decide(snapshot, ALERT, integration_id=None, at=NOW)
    assert decision.window_seconds == 600 and decision.group_key == group_key(("env",), {"env": "prod"})
    other_env = ALERT.model_copy(update={"labels": {"env": "staging"}})
    assert decide(snapshot, other_env, integration_id=None, at=NOW).group_key != decision.group_key
    default = decide(snapshot, ALERT.model_copy(update={"service": "billing"}), integration_id=None, at=NOW)
    assert default.group_key is None and default.window_seconds == 300


def test_remembered_regex_results_stay_right_and_bounded():
    matcher = build("labels.team", "!~", "pay.*")
    for _ in range(2):
        assert matcher.matches_value("payments") is False and matcher.matches_value("search") is True
    for n in range(MEMO_SIZE + 10):
        matcher.matches_value(f"team-{n}")
    assert len(matcher.seen) <= MEMO_SIZE
    assert matcher.matches_value("payments") is False


def test_cheapest_first_keeps_the_conjunction():
    matchers = (parse('team=~"pay.*"'), parse('service="checkout"'))
    ordered = cheapest_first(matchers)
    assert [m.op for m in ordered] == ["=", "=~"] and set(ordered) == set(matchers)
    assert matches_all(ordered, ALERT) is matches_all(matchers, ALERT) is True
