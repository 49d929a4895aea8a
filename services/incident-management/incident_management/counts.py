"""How many incidents there are per (status, severity), with the sums of their MTTA and MTTR, read from
`incident_counts` rather than from every incident: the summary and the state gauges cost the same with a
hundred incidents or a hundred thousand.

The triggers of migration `counts_0001` append signed deltas to `incident_counts` in the transaction
that changes an incident, so the sums are exact in any snapshot. `fold` replaces the deltas with one row
per group every `FOLD_SECONDS`; several replicas may fold at once: a delta folded by one is skipped by
the other (it deletes only rows it still finds), and a delta appended meanwhile waits for the next fold.
"""

from dataclasses import dataclass

from sqlalchemy import Connection, Engine, func, select, text
from sqlalchemy.orm import Session

from incident_management.tables import incident_counts

FOLD_SECONDS = 5.0

_COLUMNS = "status, severity, incidents, mtta_sum, mtta_count, mttr_sum, mttr_count"
_FOLD = text(
    f"WITH folded AS (DELETE FROM incident_management.incident_counts RETURNING {_COLUMNS}) "
    f"INSERT INTO incident_management.incident_counts ({_COLUMNS}) "
    "SELECT status, severity, sum(incidents), sum(mtta_sum), sum(mtta_count), sum(mttr_sum), sum(mttr_count) "
    "FROM folded GROUP BY status, severity "
    # A group's sums can move while its counts do not (an acknowledged incident's MTTA corrected): kept.
    "HAVING sum(incidents) <> 0 OR sum(mtta_count) <> 0 OR sum(mttr_count) <> 0 OR sum(mtta_sum) <> 0 OR sum(mttr_sum) <> 0"
)


@dataclass(frozen=True)
class Group:
    status: str
    severity: str
    incidents: int
    mtta_sum: float
    mtta_count: int
    mttr_sum: float
    mttr_count: int


def groups(connection: Connection | Session) -> list[Group]:
    """Every (status, severity) that has incidents, with their count and MTTA / MTTR sums and counts."""
    c = incident_counts.c
    sums = [func.sum(column) for column in (c.incidents, c.mtta_sum, c.mtta_count, c.mttr_sum, c.mttr_count)]
    rows = connection.execute(select(c.status, c.severity, *sums).group_by(c.status, c.severity)).all()
    return [
        Group(status, severity, int(count), float(mtta_sum), int(mtta_count), float(mttr_sum), int(mttr_count))
        for status, severity, count, mtta_sum, mtta_count, mttr_sum, mttr_count in rows
        if count
    ]


def fold(engine: Engine) -> None:
    """Replace the deltas with one row per (status, severity): the sums stay the same, the rows few."""
    with engine.begin() as connection:
        connection.execute(_FOLD)
