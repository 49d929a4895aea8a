"""Input types every service shares: values PostgreSQL can store and Python can read back.

Pydantic accepts things the database cannot hold; without these types they reach a statement and turn
into a 500 (or, worse, are stored and break every later read):
- `Text`: a string without NUL characters (PostgreSQL `text` and `jsonb` reject U+0000).
- `NonEmptyText`: `Text`, stripped, not empty.
- `Timestamp`: an ISO 8601 string (what the OpenAPI `date-time` promises: pydantic would also read a
  number, or a string of digits, as seconds since 1970) whose UTC instant Python can represent
  (`0001-01-01T00:00:00+01:00` is year 0 in UTC: PostgreSQL stores it, reading it back fails).
- `TimeZoneName`: an IANA time zone name `zoneinfo` knows (`Europe/Berlin`).
- `JsonObject`: free-form JSON for a `jsonb` column: `Text` strings and keys, finite numbers only
  (Python's JSON parser accepts `NaN` and `Infinity`, `jsonb` does not).
Each failure is a ValueError, so the client gets the usual 422 with the offending field.
"""

import math
import re
from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BeforeValidator, StringConstraints

NUL = "\x00"
_NUMBER = re.compile(r"\s*[+-]?\d+(\.\d*)?\s*")


def not_a_number(value: Any) -> Any:
    """The value unchanged, unless it is a number or a string of one (pydantic reads those as Unix time)."""
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise ValueError("must be an ISO 8601 date-time string such as 2026-02-09T15:30:00Z, not a number")
    return value


def representable_instant(value: datetime) -> datetime:
    """The value unchanged, if its UTC instant is a datetime Python can hold (years 1 to 9999)."""
    if value.tzinfo is not None and value.utcoffset() is not None:
        try:
            value.astimezone(UTC)
        except OverflowError:
            raise ValueError("is outside the supported range (years 0001 to 9999 in UTC)") from None
    return value


def _check_json(value: Any, path: str) -> None:
    if isinstance(value, str):
        if NUL in value:
            raise ValueError(f"{path or 'value'} must not contain NUL (\\u0000) characters")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{path or 'value'} must be a finite number (not NaN or Infinity)")
    elif isinstance(value, dict):
        for key, item in value.items():
            if NUL in key:
                raise ValueError(f"key {key!r} under {path or 'the object'} must not contain NUL (\\u0000) characters")
            _check_json(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_json(item, f"{path}[{index}]")


def storable_json(value: dict[str, Any]) -> dict[str, Any]:
    _check_json(value, "")
    return value


# A pattern, not a validator function: it merges with further StringConstraints (lengths, stripping)
# the way pydantic applies them, and the OpenAPI schema tells clients (and fuzzers) about it.
NUL_FREE = r"^[^\x00]*$"

Text = Annotated[str, StringConstraints(pattern=NUL_FREE)]
"""A string PostgreSQL can store: no NUL characters. A further `pattern` replaces this one: exclude NUL in it."""

NonEmptyText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, pattern=NUL_FREE)]
"""`Text`, stripped, at least one character."""

Timestamp = Annotated[datetime, BeforeValidator(not_a_number), AfterValidator(representable_instant)]
"""An ISO 8601 datetime whose UTC instant is representable (naive values are left to the caller)."""

JsonObject = Annotated[dict[str, Any], AfterValidator(storable_json)]
"""A JSON object `jsonb` accepts: no NUL in strings or keys, no NaN / Infinity."""


def known_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone '{name}'") from exc
    return name


TimeZoneName = Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(known_zone)]
"""An IANA time zone name (`Europe/Berlin`, `UTC`)."""
