"""incident counts kept as they change, so the summary and the state gauges never scan every incident

`incident_counts` holds signed deltas per (status, severity): how many incidents, and the sums and
counts of their MTTA and MTTR. Triggers on `incidents` append them in the writing transaction (an
insert adds its rows, a delete takes them away, an update that moves a row's status, severity, MTTA or
MTTR takes its old values away and adds the new), so the table's sums always equal a GROUP BY over the
incidents, in every transaction's snapshot. Appending never waits for a lock, as a shared counter row
would in a flood of new incidents. Sums are `numeric`: adding and taking away the same value is exact.
`incident_management.counts` folds the deltas into one row per group every few seconds. The existing
incidents are counted here, in the transaction that adds the triggers (creating a trigger locks out
writers until it commits). An independent branch of this schema's history (label `counts`).

Revision ID: counts_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "counts_0001"
down_revision = None
branch_labels = ("counts",)
depends_on = "0001"
S = "incident_management"
_COLUMNS = "status, severity, incidents, mtta_sum, mtta_count, mttr_sum, mttr_count"


def _deltas(rows: str, sign: str) -> str:
    """`SELECT` of the grouped deltas of the incidents in `rows`, each counted with `sign` (+ or -)."""
    return (
        f"SELECT status, severity, {sign}count(*), {sign}coalesce(sum(mtta_seconds::numeric), 0), {sign}count(mtta_seconds), "
        f"{sign}coalesce(sum(mttr_seconds::numeric), 0), {sign}count(mttr_seconds) FROM {rows} GROUP BY status, severity"
    )


def upgrade() -> None:
    op.create_table(
        "incident_counts",
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("incidents", sa.BigInteger, nullable=False),
        sa.Column("mtta_sum", sa.Numeric, nullable=False),
        sa.Column("mtta_count", sa.BigInteger, nullable=False),
        sa.Column("mttr_sum", sa.Numeric, nullable=False),
        sa.Column("mttr_count", sa.BigInteger, nullable=False),
        schema=S,
    )
    # One statement's inserts or deletes are counted together: a bulk load appends one row per group.
    for operation, rows, sign in (("INSERT", "NEW TABLE AS changed", "+"), ("DELETE", "OLD TABLE AS changed", "-")):
        op.execute(
            f"CREATE FUNCTION {S}.count_incidents_{operation.lower()}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"INSERT INTO {S}.incident_counts ({_COLUMNS}) {_deltas('changed', sign)}; RETURN NULL; END $$"
        )
        op.execute(
            f"CREATE TRIGGER count_incidents_{operation.lower()} AFTER {operation} ON {S}.incidents "
            f"REFERENCING {rows} FOR EACH STATEMENT EXECUTE FUNCTION {S}.count_incidents_{operation.lower()}()"
        )
    # An update is counted row by row, and only when it moves a counted column (an assignment does not).
    op.execute(
        f"CREATE FUNCTION {S}.count_incidents_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"INSERT INTO {S}.incident_counts ({_COLUMNS}) VALUES "
        "(OLD.status, OLD.severity, -1, -coalesce(OLD.mtta_seconds::numeric, 0), -(OLD.mtta_seconds IS NOT NULL)::int, "
        "-coalesce(OLD.mttr_seconds::numeric, 0), -(OLD.mttr_seconds IS NOT NULL)::int), "
        "(NEW.status, NEW.severity, 1, coalesce(NEW.mtta_seconds::numeric, 0), (NEW.mtta_seconds IS NOT NULL)::int, "
        "coalesce(NEW.mttr_seconds::numeric, 0), (NEW.mttr_seconds IS NOT NULL)::int); RETURN NULL; END $$"
    )
    moved = " OR ".join(f"OLD.{column} IS DISTINCT FROM NEW.{column}" for column in ("status", "severity", "mtta_seconds", "mttr_seconds"))
    op.execute(
        f"CREATE TRIGGER count_incidents_update AFTER UPDATE ON {S}.incidents FOR EACH ROW WHEN ({moved}) "
        f"EXECUTE FUNCTION {S}.count_incidents_update()"
    )
    op.execute(f"INSERT INTO {S}.incident_counts ({_COLUMNS}) {_deltas(f'{S}.incidents', '+')}")


def downgrade() -> None:
    for operation in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER count_incidents_{operation} ON {S}.incidents")
        op.execute(f"DROP FUNCTION {S}.count_incidents_{operation}()")
    op.drop_table("incident_counts", schema=S)
