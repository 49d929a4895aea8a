"""End-to-end fixtures: the services as real processes on free loopback ports, on the test database."""

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from platform_local.stack import SERVICES, Stack
from tests.support.servers import free_port

StartStack = Callable[..., Stack]


@pytest.fixture
def start_stack(database_url: str, clean_db, tmp_path: Path) -> Iterator[StartStack]:
    """Start the named services (all available by default) with extra environment; stopped afterwards."""
    stacks: list[Stack] = []

    def start(*names: str, env: dict[str, str] | None = None) -> Stack:
        ports = {spec.name: free_port() for spec in SERVICES}
        stack = Stack(
            database_url=database_url, ports=ports, log_dir=tmp_path / f"logs{len(stacks)}", env={"ENVIRONMENT": "test", **(env or {})}
        )
        stacks.append(stack)
        stack.start(*names)
        return stack

    yield start
    for stack in stacks:
        stack.stop()
