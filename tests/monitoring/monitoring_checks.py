"""Helpers shared by the monitoring checks (tests/monitoring) and the dashboard end-to-end test.

- loading the dashboards and listing every panel query;
- replacing Grafana variables by concrete values so that a query is plain PromQL;
- finding the metric names, label matchers and grouping labels a PromQL expression uses;
- the metrics the platform exports: docs/conventions.md, plus the names agreed between engineers.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
MONITORING = REPO_ROOT / "monitoring"
DASHBOARD_DIR = MONITORING / "grafana-dashboards"
DASHBOARD_FILES = ("incident-overview.json", "sre-performance.json", "system-health.json")
CONVENTIONS = REPO_ROOT / "docs" / "conventions.md"
INSTALL_SCRIPT = REPO_ROOT / "scripts" / "install-system-packages.sh"
PLATFORM_JOBS = {
    "alert-ingestion": 8001,
    "incident-management": 8002,
    "oncall-service": 8003,
    "notification-service": 8004,
}

# Names agreed with the service engineers beyond docs/conventions.md (metric -> labels).
AGREED_METRICS: dict[str, set[str]] = {
    "incidents_open": {"severity"},  # gauge: unresolved incidents, per severity (from the database)
    "incidents_unacknowledged": {"severity"},  # gauge: incidents still in status open, per severity
    "incidents_created_total": {"service", "severity"},  # counter, incident-management
    "alerts_by_service_total": {"service"},  # counter, alert-ingestion
    "alerts_silenced_total": {"reason"},  # counter, alert-ingestion: reason silence | maintenance
    "alerts_dropped_total": {"rule"},  # counter, alert-ingestion: by routing rule name
    "notifications_failing": {"channel"},  # gauge, notification-service: pages pending past their first retry budget
    "heartbeats_down": set(),  # gauge, alert-ingestion: heartbeats missed and not pinged since (from the database)
    "heartbeats_missed_total": set(),  # counter, alert-ingestion
}
# Series every Prometheus target has, and the default process collector of prometheus_client.
STANDARD_METRICS: dict[str, set[str]] = {
    "up": set(),
    "scrape_duration_seconds": set(),
    "scrape_samples_scraped": set(),
    "scrape_series_added": set(),
    "process_cpu_seconds_total": set(),
    "process_resident_memory_bytes": set(),
    "process_virtual_memory_bytes": set(),
    "process_open_fds": set(),
    "process_max_fds": set(),
    "process_start_time_seconds": set(),
}
TARGET_LABELS = {"job", "instance"}

# Grafana's built-in interval variables, replaced by durations long enough for the static checks.
BUILTIN_VALUES = {"__rate_interval": "1m", "__interval": "1m", "__range": "1h"}


# ------------------------------------------------------------------------------------ dashboards
@dataclass(frozen=True)
class PanelQuery:
    dashboard: str
    panel_id: int
    panel: str
    ref_id: str
    expr: str
    instant: bool

    @property
    def name(self) -> str:
        return f"{self.dashboard} / {self.panel} [{self.ref_id}]"


def load_dashboards() -> dict[str, dict]:
    return {name: json.loads((DASHBOARD_DIR / name).read_text()) for name in DASHBOARD_FILES}


def iter_panels(dashboard: dict):
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def panel_queries(dashboard: dict) -> list[PanelQuery]:
    return [
        PanelQuery(dashboard["uid"], panel["id"], panel["title"], t["refId"], t["expr"], bool(t.get("instant")))
        for panel in iter_panels(dashboard)
        if panel["type"] != "row"
        for t in panel.get("targets", [])
        if not t.get("hide")
    ]


def variable_values(dashboard: dict, overrides: dict[str, str] | None = None) -> dict[str, str]:
    """A concrete value for every variable: `All` for query variables, the current one otherwise."""
    values = dict(BUILTIN_VALUES)
    for var in dashboard.get("templating", {}).get("list", []):
        if var["type"] == "query":
            values[var["name"]] = var.get("allValue") or ".*"
        else:
            values[var["name"]] = var["current"]["value"]
    values.update(overrides or {})
    return values


_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]")


def variables_used(expr: str) -> set[str]:
    return {next(g for g in m.groups() if g) for m in _VARIABLE.finditer(expr)}


def substitute(expr: str, values: dict[str, str]) -> str:
    """Replace `$name`, `${name}` and `[[name]]`; a variable without value raises KeyError."""
    return _VARIABLE.sub(lambda m: values[next(g for g in m.groups() if g)], expr)


# ------------------------------------------------------------------------------------ PromQL scan
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_SELECTOR = re.compile(r"([A-Za-z_:][A-Za-z0-9_:]*)?\s*\{([^{}]*)\}")
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^()]*)\)")
_NUMBER = re.compile(r"(?<![A-Za-z0-9_:.])\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?:ms|[smhdwy])?")
_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_KEYWORDS = {
    "and",
    "or",
    "unless",
    "bool",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "offset",
    "inf",
    "nan",
    "atan2",
}


def _strip_strings(expr: str) -> str:
    return _STRING.sub('""', expr)


def metric_names(expr: str) -> set[str]:
    """Metric names selected by a PromQL expression (functions, keywords and labels excluded)."""
    text = _strip_strings(expr)
    text = _SELECTOR.sub(lambda m: f" {m.group(1) or ''} ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = _GROUPING.sub(" ", text)
    text = re.sub(r"\b(group_left|group_right)\b", " ", text)
    text = _NUMBER.sub(" ", text)
    names = set()
    for m in _IDENT.finditer(text):
        following = text[m.end() :].lstrip()
        if following.startswith("(") or m.group(0).lower() in _KEYWORDS:
            continue
        names.add(m.group(0))
    return names


def label_matchers(expr: str) -> dict[str, set[str]]:
    """Metric name -> label names used in its `{...}` matchers (name '' for a bare selector)."""
    out: dict[str, set[str]] = {}
    for m in _SELECTOR.finditer(_strip_strings(expr)):
        labels = set(re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)", m.group(2)))
        out.setdefault(m.group(1) or "", set()).update(labels)
    return out


def grouping_labels(expr: str) -> set[str]:
    """Labels named in by / without / on / ignoring / group_left / group_right clauses."""
    labels: set[str] = set()
    for m in _GROUPING.finditer(_strip_strings(expr)):
        labels.update(x.strip() for x in m.group(2).split(",") if x.strip())
    return labels


# ------------------------------------------------------------------------------------ known metrics
def conventions_metrics(path: Path = CONVENTIONS) -> dict[str, set[str]]:
    """The metrics (and their labels) listed under 'Metrics every service exports'."""
    text = path.read_text()
    section = text.split("## Metrics every service exports", 1)[1].split("\n## ", 1)[0]
    metrics: dict[str, set[str]] = {}
    for token in re.findall(r"`([^`]+)`", section):
        m = re.fullmatch(r"([a-z_:][a-z0-9_:]*)(?:\{([^}]*)\})?", token.strip())
        if not m or "_" not in m.group(1):
            continue
        labels = {part.split("=")[0].strip() for part in (m.group(2) or "").split(",") if part.strip()}
        metrics.setdefault(m.group(1), set()).update(labels)
    return metrics


def known_metrics() -> dict[str, set[str]]:
    """Every series name a dashboard may use -> the labels it carries (target labels included)."""
    base = {**STANDARD_METRICS, **conventions_metrics(), **AGREED_METRICS}
    known: dict[str, set[str]] = {}
    for name, labels in base.items():
        if name.endswith("_seconds") and name not in STANDARD_METRICS:
            # a histogram family (the conventions list them as such): only the suffixed series exist
            known[f"{name}_bucket"] = labels | TARGET_LABELS | {"le"}
            known[f"{name}_sum"] = labels | TARGET_LABELS
            known[f"{name}_count"] = labels | TARGET_LABELS
        else:
            known[name] = labels | TARGET_LABELS
    return known


# ------------------------------------------------------------------------------------ promtool
def ensure_promtool() -> str | None:
    """Path of promtool, installing the Debian package through the project's script when absent."""
    found = shutil.which("promtool")
    if found:
        return found
    if INSTALL_SCRIPT.exists():
        subprocess.run(["bash", str(INSTALL_SCRIPT)], check=False, capture_output=True, text=True, timeout=900)
    return shutil.which("promtool")


def promtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    exe = shutil.which("promtool")
    assert exe, "promtool is not installed"
    return subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True, timeout=120)
