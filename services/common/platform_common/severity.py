"""The platform's severity vocabulary and how incoming severities are normalised.

Monitoring tools speak many dialects (`warning`, `P2`, `CRIT`); the platform speaks four levels.
"""

from enum import StrEnum


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


_ALIASES = {
    "critical": Severity.CRITICAL,
    "crit": Severity.CRITICAL,
    "fatal": Severity.CRITICAL,
    "emergency": Severity.CRITICAL,
    "disaster": Severity.CRITICAL,
    "page": Severity.CRITICAL,
    "sev1": Severity.CRITICAL,
    "p1": Severity.CRITICAL,
    "high": Severity.HIGH,
    "error": Severity.HIGH,
    "err": Severity.HIGH,
    "major": Severity.HIGH,
    "sev2": Severity.HIGH,
    "p2": Severity.HIGH,
    "medium": Severity.MEDIUM,
    "warning": Severity.MEDIUM,
    "warn": Severity.MEDIUM,
    "moderate": Severity.MEDIUM,
    "minor": Severity.MEDIUM,
    "sev3": Severity.MEDIUM,
    "p3": Severity.MEDIUM,
    "low": Severity.LOW,
    "info": Severity.LOW,
    "informational": Severity.LOW,
    "notice": Severity.LOW,
    "sev4": Severity.LOW,
    "p4": Severity.LOW,
    "p5": Severity.LOW,
}


def normalise_severity(value: object) -> Severity:
    """Map a severity in any common dialect to the platform's four levels; ValueError otherwise."""
    if isinstance(value, str):
        found = _ALIASES.get(value.strip().lower())
        if found is not None:
            return found
    allowed = ", ".join(s.value for s in Severity)
    raise ValueError(f"unknown severity {value!r}; use one of {allowed} (or an alias such as warning, error, info, P1-P4)")
