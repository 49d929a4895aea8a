"""Alertmanager matchers on an alert: `name op value`, pure functions.

- `name` is one of the alert's fields `service`, `severity`, `message`, or a label: `labels.<key>`, or a
  plain label key (`team` is `labels.team`; write `labels.service` for a label named like a field).
- `op`: `=` equal, `!=` not equal, `=~` matches the regex, `!~` does not. A regex is fully anchored, as in
  Alertmanager (`pay.*` must match the whole value), in RE2 syntax (Go's, Alertmanager's): linear-time
  matching, so no pattern can stall the intake. Compiled once, when the matcher is built.
- A label the alert does not have has the value "" (as in Alertmanager: `team=""` matches no `team`).
- `severity` is compared normalised: `severity="P1"` is `severity="critical"`.
Written as text (`team=~"pay.*"`, the value quoted or not) or as `{name, op, value}`.
"""

import json
import re
from dataclasses import dataclass, field
from typing import Literal

import re2

from alert_ingestion.schemas import AlertIn
from platform_common.severity import normalise_severity

Operator = Literal["=", "!=", "=~", "!~"]
OPERATORS: tuple[Operator, ...] = ("=", "!=", "=~", "!~")
FIELDS = ("service", "severity", "message")
LABEL_PREFIX = "labels."
MAX_NAME = 100
MAX_VALUE = 1000
MAX_MATCHERS = 20
MEMO_SIZE = 1024
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.:/-]*")
_TEXT = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_.:/-]*)\s*(=~|!~|!=|=)\s*(.*?)\s*", re.DOTALL)
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False
_RE2_OPTIONS.never_capture = True


@dataclass(frozen=True)
class Matcher:
    name: str  # "service" | "severity" | "message" | "labels.<key>"
    op: Operator
    value: str
    regex: object | None = field(default=None, compare=False, repr=False)
    # Regex results of recent values: alerts repeat their label values, and a call into RE2 costs ~1.5 µs.
    seen: dict[str, bool] = field(default_factory=dict, compare=False, repr=False)

    def value_of(self, alert: AlertIn) -> str:
        if self.name.startswith(LABEL_PREFIX):
            return alert.labels.get(self.name.removeprefix(LABEL_PREFIX), "")
        return str(getattr(alert, self.name))

    def matches(self, alert: AlertIn) -> bool:
        return self.matches_value(self.value_of(alert))

    def matches_value(self, value: str) -> bool:
        if self.regex is None:
            return (value == self.value) == (self.op == "=")
        found = self.seen.get(value)
        if found is None:
            if len(self.seen) >= MEMO_SIZE:
                self.seen.clear()
            found = self.seen[value] = self.regex.fullmatch(value) is not None
        return found == (self.op == "=~")

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "op": self.op, "value": self.value}


def _name(name: str) -> str:
    if name in FIELDS or name.startswith(LABEL_PREFIX):
        canonical = name
    else:
        canonical = LABEL_PREFIX + name
    key = canonical.removeprefix(LABEL_PREFIX) if canonical.startswith(LABEL_PREFIX) else canonical
    if not key or len(key) > MAX_NAME or not _NAME.fullmatch(key):
        raise ValueError(f"matcher name {name!r}: a field (service, severity, message) or a label key (letters, digits, _.:/-)")
    return canonical


def build(name: str, op: str, value: str) -> Matcher:
    """A validated matcher; ValueError says what is wrong (an unknown operator, a bad regex…)."""
    if op not in OPERATORS:
        raise ValueError(f"matcher operator {op!r}: one of = != =~ !~")
    if len(value) > MAX_VALUE or "\x00" in value:
        raise ValueError(f"matcher value: at most {MAX_VALUE} characters, no NUL")
    canonical = _name(name)
    if op in ("=~", "!~"):
        try:
            return Matcher(canonical, op, value, re2.compile(f"^(?:{value})$", options=_RE2_OPTIONS))
        except re2.error as exc:
            reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
            raise ValueError(f"matcher {canonical}{op}: invalid regular expression ({reason})") from None
    if canonical == "severity":
        value = str(normalise_severity(value))
    return Matcher(canonical, op, value)


def parse(text: str) -> Matcher:
    """`team=~"pay.*"`, `service = checkout`, `labels.env!="prod"` → a matcher."""
    found = _TEXT.fullmatch(text)
    if found is None:
        raise ValueError(f'matcher {text[:100]!r}: write name op value, e.g. service="checkout" or team=~"pay.*"')
    name, op, value = found.groups()
    if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise ValueError(f"matcher {text[:100]!r}: badly quoted value") from None
    elif '"' in value:
        raise ValueError(f"matcher {text[:100]!r}: quote the whole value, or none of it")
    return build(name, op, value)


def matches_all(matchers: tuple[Matcher, ...], alert: AlertIn) -> bool:
    return all(matcher.matches(alert) for matcher in matchers)


def cheapest_first(matchers: tuple[Matcher, ...]) -> tuple[Matcher, ...]:
    """The same conjunction with the equality matchers tried before the regex ones."""
    return tuple(sorted(matchers, key=lambda matcher: matcher.regex is not None))


def matches_everything(matchers: tuple[Matcher, ...]) -> bool:
    """True when every matcher also matches an empty value: such a set would match every alert (as
    Alertmanager does, a silence must have at least one matcher that an empty value fails)."""
    return all(matcher.matches_value("") for matcher in matchers)
