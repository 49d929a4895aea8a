"""Wait for what real processes do: ask again and again until the answer comes or a deadline passes."""

import time
from collections.abc import Callable
from typing import Any


def wait_until(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    """`check()`'s first truthy answer, asked every 0.1 s; fails the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
