"""The platform's clock: UTC now, shiftable in tests.

Every timestamp the services write comes from `utcnow()`. End-to-end tests move time forward by
writing a number of seconds into the file named by `PLATFORM_CLOCK_OFFSET_FILE`; production refuses
that variable (see settings).
"""

import os
from datetime import UTC, datetime, timedelta

OFFSET_FILE_ENV = "PLATFORM_CLOCK_OFFSET_FILE"


def _offset_seconds() -> float:
    path = os.environ.get(OFFSET_FILE_ENV)
    if not path:
        return 0.0
    try:
        with open(path, encoding="utf-8") as handle:
            return float(handle.read().strip() or 0)
    except (OSError, ValueError):
        return 0.0


def utcnow() -> datetime:
    """Timezone-aware current time in UTC, plus the test offset when one is configured."""
    now = datetime.now(UTC)
    offset = _offset_seconds()
    return now + timedelta(seconds=offset) if offset else now
