"""The three Grafana dashboards, checked without a Grafana server (SPEC.md §8, issue 5):
they follow Grafana's dashboard model, every panel query is valid PromQL (promtool), and every
metric and label a panel uses is one the platform exports."""

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.monitoring import monitoring_checks as mc

SCHEMA = json.loads((Path(__file__).parent / "grafana-dashboard.schema.json").read_text())
DATASOURCES = mc.MONITORING / "grafana-provisioning" / "datasources"
PROVIDERS = mc.MONITORING / "grafana-provisioning" / "dashboards"


def all_queries(dashboards):
    return [q for d in dashboards.values() for q in mc.panel_queries(d)]


# ------------------------------------------------------------------------------------ the model
@pytest.mark.parametrize("name", mc.DASHBOARD_FILES)
def test_dashboard_matches_grafana_model_schema(name):
    dashboard = json.loads((mc.DASHBOARD_DIR / name).read_text())
    jsonschema.validate(dashboard, SCHEMA, cls=jsonschema.Draft202012Validator)


def test_schema_rejects_a_panel_without_grid_position_or_query(dashboards):
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    broken = json.loads(json.dumps(dashboards["system-health.json"]))
    del broken["panels"][0]["gridPos"]
    with pytest.raises(jsonschema.ValidationError, match="gridPos"):
        jsonschema.validate(broken, SCHEMA)
    broken = json.loads(json.dumps(dashboards["system-health.json"]))
    broken["panels"][1]["targets"][0]["expr"] = ""
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, SCHEMA)


def test_dashboards_are_the_three_of_the_spec_with_unique_uids(dashboards):
    titles = {d["title"] for d in dashboards.values()}
    assert titles == {"Incident overview", "SRE performance", "System health"}
    uids = [d["uid"] for d in dashboards.values()]
    assert sorted(uids) == sorted({Path(n).stem for n in mc.DASHBOARD_FILES})
    assert sorted(p.name for p in mc.DASHBOARD_DIR.glob("*.json")) == sorted(mc.DASHBOARD_FILES)


@pytest.mark.parametrize("name", mc.DASHBOARD_FILES)
def test_panels_fit_the_24_column_grid_without_overlapping(name, dashboards):
    boxes = []
    ids = []
    for panel in mc.iter_panels(dashboards[name]):
        g = panel["gridPos"]
        assert g["x"] + g["w"] <= 24, f"{panel['title']!r} runs past column 24"
        ids.append(panel["id"])
        for other_title, o in boxes:
            overlap = g["x"] < o["x"] + o["w"] and o["x"] < g["x"] + g["w"] and g["y"] < o["y"] + o["h"] and o["y"] < g["y"] + g["h"]
            assert not overlap, f"{panel['title']!r} overlaps {other_title!r}"
        boxes.append((panel["title"], g))
    assert len(ids) == len(set(ids)), "panel ids must be unique"


# ------------------------------------------------------------------------------------ SPEC §8 panels
PANEL_TYPES_REQUIRED = {
    # SPEC.md §8 / issue 5: gauges, time series, bar chart, histograms / heatmaps
    "incident-overview.json": {"gauge", "timeseries", "barchart", "stat"},
    "sre-performance.json": {"timeseries", "heatmap", "bargauge"},
    "system-health.json": {"stat", "timeseries"},
}
REQUIRED_METRICS = {
    # what each dashboard must show (SPEC.md §8), by the series its queries read
    "incident-overview.json": {
        "incidents_open",  # open incidents by severity
        "incident_mtta_seconds_sum",
        "incident_mtta_seconds_count",  # MTTA gauge
        "incident_mttr_seconds_sum",
        "incident_mttr_seconds_count",  # MTTR gauge
        "incidents_created_total",  # incidents created over time
        "alerts_by_service_total",  # top noisy services
    },
    "sre-performance.json": {
        "incident_mtta_seconds_sum",
        "incident_mttr_seconds_sum",  # trends
        "incidents_created_total",  # volume by service
        "incident_mtta_seconds_bucket",
        "incident_mttr_seconds_bucket",  # distributions
    },
    "system-health.json": {
        "up",
        "http_requests_total",
        "http_request_duration_seconds_bucket",
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
    },
}


@pytest.mark.parametrize("name", mc.DASHBOARD_FILES)
def test_dashboard_has_the_panels_the_spec_lists(name, dashboards):
    d = dashboards[name]
    types = {p["type"] for p in mc.iter_panels(d)}
    assert PANEL_TYPES_REQUIRED[name] <= types
    used = set().union(*(mc.metric_names(q.expr) for q in mc.panel_queries(d)))
    missing = REQUIRED_METRICS[name] - used
    assert not missing, f"{name} shows nothing from {sorted(missing)}"


def test_mtta_and_mttr_gauges_and_trends_come_from_the_histograms(dashboards):
    exprs = {q.panel: q.expr for q in all_queries(dashboards)}
    for kind in ("mtta", "mttr"):
        gauge = exprs[kind.upper()]
        assert f"increase(incident_{kind}_seconds_sum[$__range])" in gauge
        assert f"incident_{kind}_seconds_count" in gauge
    assert "rate(incident_mtta_seconds_sum[$window])" in exprs["MTTA trend (moving average over $window)"]
    assert "rate(incident_mttr_seconds_sum[$window])" in exprs["MTTR trend (moving average over $window)"]
    quantiles = [q.expr for q in all_queries(dashboards) if "histogram_quantile" in q.expr]
    for kind in ("mtta", "mttr"):
        assert any(f"histogram_quantile(0.9, sum by (le) (rate(incident_{kind}_seconds_bucket" in e for e in quantiles)


def test_service_variable_filters_the_per_service_panels(dashboards):
    for name in ("incident-overview.json", "sre-performance.json"):
        d = dashboards[name]
        names = {v["name"] for v in d["templating"]["list"]}
        assert "service" in names
        assert any('service=~"$service"' in q.expr for q in mc.panel_queries(d))


# ------------------------------------------------------------------------------------ datasource
def test_every_panel_and_variable_uses_the_provisioned_datasource(dashboards):
    provisioned = yaml.safe_load(next(DATASOURCES.glob("*.yml")).read_text())["datasources"]
    uids = {ds["uid"] for ds in provisioned if ds["type"] == "prometheus"}
    assert uids == {"prometheus"}
    for d in dashboards.values():
        for panel in mc.iter_panels(d):
            if panel["type"] == "row":
                continue
            assert panel["datasource"]["uid"] in uids, panel["title"]
            for t in panel["targets"]:
                assert t["datasource"]["uid"] in uids, panel["title"]
        for var in d["templating"]["list"]:
            if var["type"] == "query":
                assert var["datasource"]["uid"] in uids, var["name"]


def test_dashboard_provider_reads_the_documented_folder():
    provider = yaml.safe_load(next(PROVIDERS.glob("*.yml")).read_text())
    assert provider["apiVersion"] == 1
    (entry,) = provider["providers"]
    assert entry["type"] == "file"
    assert entry["options"]["path"] == "/var/lib/grafana/dashboards"


# ------------------------------------------------------------------------------------ variables
@pytest.mark.parametrize("name", mc.DASHBOARD_FILES)
def test_every_variable_a_query_uses_is_defined(name, dashboards):
    d = dashboards[name]
    defined = {v["name"] for v in d["templating"]["list"]} | set(mc.BUILTIN_VALUES)
    for q in mc.panel_queries(d):
        unknown = mc.variables_used(q.expr) - defined
        assert not unknown, f"{q.name} uses undefined variable(s) {sorted(unknown)}"
    for var in d["templating"]["list"]:
        if var["type"] == "query":
            definition = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
            m = re.fullmatch(r"label_values\((\w+),\s*(\w+)\)", definition)
            assert m, f"variable {var['name']}: expected label_values(metric, label), got {definition!r}"
            metric, label = m.groups()
            known = mc.known_metrics()
            assert metric in known, f"variable {var['name']} reads unknown metric {metric}"
            assert label in known[metric], f"variable {var['name']}: {metric} has no label {label}"


# ------------------------------------------------------------------------------------ metric names
def test_known_metrics_come_from_the_conventions():
    known = mc.conventions_metrics()
    # the names SPEC.md fixes must all be read from docs/conventions.md, with their labels
    assert known["alerts_received_total"] == {"severity"}
    assert known["incidents_total"] == {"status"}
    assert known["http_requests_total"] == {"method", "route", "status"}
    assert {
        "incident_mtta_seconds",
        "incident_mttr_seconds",
        "escalations_total",
        "oncall_current",
        "notifications_sent_total",
        "oncall_notifications_sent_total",
        "alerts_correlated_total",
        "http_request_duration_seconds",
    } <= set(known)
    assert "route" not in known and "service" not in known


@pytest.mark.parametrize(
    ("expr", "names", "matchers", "grouping"),
    [
        (
            'sum by (severity) (rate(alerts_received_total{severity=~"crit.*"}[5m]))',
            {"alerts_received_total"},
            {"alerts_received_total": {"severity"}},
            {"severity"},
        ),
        (
            'histogram_quantile(0.95, sum by (job, le) (rate(http_request_duration_seconds_bucket{job=~".+"}[1m])))',
            {"http_request_duration_seconds_bucket"},
            {"http_request_duration_seconds_bucket": {"job"}},
            {"job", "le"},
        ),
        (
            "(sum(up) or vector(0)) / on() group_left count(scrape_duration_seconds offset 5m) > 1e-3",
            {"up", "scrape_duration_seconds"},
            {},
            set(),
        ),
        ('label_replace(incidents_total, "x", "$1", "status", "(.*)")', {"incidents_total"}, {}, set()),
    ],
)
def test_promql_scanner_finds_metrics_labels_and_grouping(expr, names, matchers, grouping):
    assert mc.metric_names(expr) == names
    assert mc.label_matchers(expr) == matchers
    assert mc.grouping_labels(expr) == grouping


def test_every_panel_metric_is_exported_by_the_platform(dashboards):
    known = mc.known_metrics()
    unknown = {
        q.name: sorted(mc.metric_names(q.expr) - set(known)) for q in all_queries(dashboards) if mc.metric_names(q.expr) - set(known)
    }
    assert not unknown, f"metrics no service exports: {unknown}"


def test_every_label_a_panel_filters_or_groups_by_exists_on_its_metrics(dashboards):
    known = mc.known_metrics()
    problems = []
    for q in all_queries(dashboards):
        for metric, labels in mc.label_matchers(q.expr).items():
            if metric in known and labels - known[metric]:
                problems.append(f"{q.name}: {metric} has no label {sorted(labels - known[metric])}")
        available = set().union(*(known.get(m, set()) for m in mc.metric_names(q.expr)))
        if mc.grouping_labels(q.expr) - available:
            problems.append(
                f"{q.name}: groups by {sorted(mc.grouping_labels(q.expr) - available)}, "
                f"which none of {sorted(mc.metric_names(q.expr))} carries"
            )
    assert not problems, "\n".join(problems)


def test_the_label_check_catches_incidents_total_by_severity():
    known = mc.known_metrics()
    expr = 'max by (severity) (incidents_total{severity="critical"})'
    assert mc.label_matchers(expr)["incidents_total"] - known["incidents_total"] == {"severity"}
    assert mc.grouping_labels(expr) - known["incidents_total"] == {"severity"}


# ------------------------------------------------------------------------------------ promtool
def _queries_as_rule_file(queries, path: Path) -> dict[str, mc.PanelQuery]:
    """Every query as a recording rule, so that `promtool check rules` parses it."""
    by_record, groups = {}, {}
    dashboards = mc.load_dashboards()
    values = {d["uid"]: mc.variable_values(d) for d in dashboards.values()}
    for i, q in enumerate(queries):
        record = f"dashboard_query:{i}"
        by_record[record] = q
        expr = mc.substitute(q.expr, values.get(q.dashboard, mc.BUILTIN_VALUES))
        assert "$" not in expr, f"{q.name}: unreplaced variable in {expr!r}"
        groups.setdefault(q.dashboard, []).append({"record": record, "expr": expr})
    path.write_text(yaml.safe_dump({"groups": [{"name": g, "rules": r} for g, r in groups.items()]}))
    return by_record


def test_every_panel_query_parses_as_promql(promtool_path, dashboards, tmp_path):
    queries = all_queries(dashboards)
    assert len(queries) >= 30
    rule_file = tmp_path / "dashboard-queries.yml"
    _queries_as_rule_file(queries, rule_file)
    result = mc.promtool("check", "rules", str(rule_file))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(queries)} rules found" in result.stdout


def test_promtool_check_fails_on_a_broken_query(promtool_path, tmp_path):
    broken = mc.PanelQuery("system-health", 1, "broken", "A", "sum(rate(up[$__rate_interval])", False)
    rule_file = tmp_path / "broken.yml"
    _queries_as_rule_file([broken], rule_file)
    result = mc.promtool("check", "rules", str(rule_file))
    assert result.returncode != 0
    assert "dashboard_query:0" in result.stdout + result.stderr


def test_variable_substitution():
    values = {"service": ".*", "window": "1h", **mc.BUILTIN_VALUES}
    assert (
        mc.substitute('rate(x{service=~"$service"}[$__rate_interval]) [[window]] ${window}', values) == 'rate(x{service=~".*"}[1m]) 1h 1h'
    )
    with pytest.raises(KeyError):
        mc.substitute("$nope", values)
