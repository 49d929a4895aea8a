"""The platform clock as the fault suite sees it: wall time plus the offset every service reads from
PLATFORM_CLOCK_OFFSET_FILE (platform_common.clock). Moving it forward fast-forwards the whole platform.

Jumps are remembered so delays are fair: a deadline the clock jumped over fell due at the moment of the
jump, not at the (skipped) instant it names.
"""

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path


class PlatformClock:
    def __init__(self, offset_file: Path) -> None:
        self.offset_file = offset_file
        self._offset = 0.0
        self._jumps: list[tuple[datetime, datetime]] = []
        self._lock = threading.Lock()
        self.offset_file.write_text("0", encoding="utf-8")

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self._offset)

    def advance(self, seconds: float) -> None:
        with self._lock:
            before = self.now()
            self._offset += seconds
            self.offset_file.write_text(str(self._offset), encoding="utf-8")
            self._jumps.append((before, before + timedelta(seconds=seconds)))

    def became_due(self, deadline: datetime) -> datetime:
        """The platform time at which `deadline` was actually reached."""
        for before, after in self._jumps:
            if before < deadline <= after:
                return after
        return deadline
