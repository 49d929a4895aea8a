"""Indexes for a newest-first list (`platform_common.pagination.newest_first`), for migrations.

A list ordered by (`at` DESC, id) and filtered by one column at a time reads an index range when each
filter has an index in that order: `ix_<table>_newest` on (`at` DESC, id), and `ix_<table>_<filter>_newest`
on (filter, `at` DESC, id) for each filter.
"""

from typing import Any

import sqlalchemy as sa


def _newest(at: str) -> list[Any]:
    return [sa.text(f"{at} DESC"), "id"]


def create_newest_first(op: Any, *, schema: str, table: str, at: str, filters: tuple[str, ...]) -> None:
    op.create_index(f"ix_{table}_newest", table, _newest(at), schema=schema)
    for column in filters:
        op.create_index(f"ix_{table}_{column}_newest", table, [column, *_newest(at)], schema=schema)


def drop_newest_first(op: Any, *, schema: str, table: str, filters: tuple[str, ...]) -> None:
    for column in filters:
        op.drop_index(f"ix_{table}_{column}_newest", table_name=table, schema=schema)
    op.drop_index(f"ix_{table}_newest", table_name=table, schema=schema)
