"""Rows given as one array parameter per column.

A statement over them is the same SQL however many rows there are: SQLAlchemy compiles it once, the
driver converts it once and PostgreSQL prepares it once. A multi-row `VALUES` list is a new statement
for every row count, converted again by the driver (too long for its cache) and parsed and planned again
by the server, each time.
"""

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import String, Table, Text, bindparam, cast, func, select
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, Insert, insert
from sqlalchemy.sql.selectable import TableValuedAlias
from sqlalchemy.types import TypeEngine


def unnest(name: str, columns: Mapping[str, TypeEngine[Any]], *, ordinality: bool = False) -> TableValuedAlias:
    """`unnest(:<name>_<column>, …) AS <name>(columns…)`, with an `ordinality` column if asked."""
    # Strings as unbounded arrays: a value too long for its column is refused when assigned, never truncated.
    kinds = {column: String() if isinstance(kind, String) else kind for column, kind in columns.items()}
    arrays = [cast(bindparam(f"{name}_{column}", type_=ARRAY(kind)), ARRAY(kind)) for column, kind in kinds.items()]
    rows = func.unnest(*arrays).table_valued(*columns, with_ordinality="ordinality" if ordinality else None)
    return rows.render_derived(name=name)


def insert_from(table: Table, names: Sequence[str], *, name: str, json: Collection[str] = ()) -> Insert:
    """INSERT INTO table (names) SELECT … FROM `unnest` in the arrays' order (serial columns follow it).
    The `json` columns are given as JSON text and cast to jsonb."""
    kinds = {column: Text() if column in json else table.c[column].type for column in names}
    given = unnest(name, kinds, ordinality=True)
    values = [cast(given.c[column], JSONB) if column in json else given.c[column] for column in names]
    return insert(table).from_select(list(names), select(*values).order_by(given.c.ordinality))


def parameters(name: str, rows: Iterable[Mapping[str, Any]], names: Sequence[str]) -> dict[str, list[Any]]:
    """The array parameters of `unnest(name, …)` for rows given as mappings."""
    given = list(rows)
    return {f"{name}_{column}": [row[column] for row in given] for column in names}
