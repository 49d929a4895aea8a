"""The kept incident counts (migration counts_0001, `counts.py`) equal a GROUP BY over every incident,
through inserts, updates, reopens and deletes, folds from several replicas at once, and the migration's
count of the incidents that existed before it."""

import random
import threading

from sqlalchemy import Engine, text

from incident_management import counts
from platform_common import migrations

INSERT = (
    "INSERT INTO incident_management.incidents (title, service, severity, status, created_at, updated_at, mtta_seconds, mttr_seconds) "
    "VALUES ('t', 'svc', :severity, :status, now(), now(), :mtta, :mttr)"
)
SEVERITIES = ("critical", "high", "medium", "low")


def scanned(engine: Engine) -> dict[tuple[str, str], tuple]:
    """What the counts must say: a GROUP BY over every incident."""
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT status, severity, count(*), coalesce(sum(mtta_seconds), 0), count(mtta_seconds), "
                "coalesce(sum(mttr_seconds), 0), count(mttr_seconds) FROM incident_management.incidents GROUP BY 1, 2"
            )
        ).all()
    return {(status, severity): (n, round(a, 6), an, round(r, 6), rn) for status, severity, n, a, an, r, rn in rows}


def kept(engine: Engine) -> dict[tuple[str, str], tuple]:
    with engine.connect() as connection:
        groups = counts.groups(connection)
    return {(g.status, g.severity): (g.incidents, round(g.mtta_sum, 6), g.mtta_count, round(g.mttr_sum, 6), g.mttr_count) for g in groups}


def delta_rows(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT count(*) FROM incident_management.incident_counts")).scalar_one()


def run(engine: Engine, statement: str, **parameters) -> None:
    with engine.begin() as connection:
        connection.execute(text(statement), parameters)


def test_counts_follow_inserts_updates_reopens_and_deletes_exactly(clean_db):
    assert kept(clean_db) == {}
    with clean_db.begin() as connection:  # several statements in one transaction, one of them a bulk insert
        connection.execute(
            text(INSERT),
            [{"severity": severity, "status": "open", "mtta": None, "mttr": None} for severity in SEVERITIES * 3],
        )
        connection.execute(text(INSERT), {"severity": "high", "status": "resolved", "mtta": 60.5, "mttr": 600.25})
    assert kept(clean_db) == scanned(clean_db) and kept(clean_db)[("open", "high")][0] == 3
    steps = [
        "UPDATE incident_management.incidents SET status = 'acknowledged', mtta_seconds = 12.125 WHERE severity = 'critical'",
        "UPDATE incident_management.incidents SET severity = 'low' WHERE severity = 'medium'",
        "UPDATE incident_management.incidents SET status = 'resolved', mttr_seconds = 3600.75 WHERE status = 'acknowledged'",
        # a reopen: resolved -> open, MTTR cleared
        "UPDATE incident_management.incidents SET status = 'open', mttr_seconds = NULL WHERE status = 'resolved' AND severity = 'high'",
        "DELETE FROM incident_management.incidents WHERE severity = 'low' AND status = 'open' AND ctid IN "
        "(SELECT ctid FROM incident_management.incidents WHERE severity = 'low' LIMIT 2)",
    ]
    for step in steps:
        run(clean_db, step)
        assert kept(clean_db) == scanned(clean_db), step
    before = delta_rows(clean_db)
    run(clean_db, "UPDATE incident_management.incidents SET assigned_to = 'alice', updated_at = now()")
    assert delta_rows(clean_db) == before  # an update that moves nothing counted appends nothing
    counts.fold(clean_db)
    assert kept(clean_db) == scanned(clean_db)
    assert delta_rows(clean_db) == len(scanned(clean_db)) < before  # one row per group that has incidents
    run(clean_db, "UPDATE incident_management.incidents SET mtta_seconds = mtta_seconds + 1 WHERE mtta_seconds IS NOT NULL")
    counts.fold(clean_db)  # the sums moved, the counts did not: the fold keeps the new sums
    assert kept(clean_db) == scanned(clean_db)
    run(clean_db, "DELETE FROM incident_management.incidents")
    counts.fold(clean_db)
    assert kept(clean_db) == {} and delta_rows(clean_db) == 0


def test_folds_from_several_replicas_while_incidents_change_keep_the_sums(clean_db):
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(150):
                severity = rng.choice(SEVERITIES)
                run(clean_db, INSERT, severity=severity, status="open", mtta=None, mttr=None)
                run(
                    clean_db,
                    "UPDATE incident_management.incidents SET status = :status, mtta_seconds = :mtta WHERE id = "
                    "(SELECT id FROM incident_management.incidents WHERE status = 'open' ORDER BY random() LIMIT 1)",
                    status=rng.choice(("acknowledged", "resolved")),
                    mtta=rng.uniform(1, 900),
                )
        except BaseException as error:  # noqa: BLE001 - reported by the test below
            errors.append(error)

    def folder() -> None:
        try:
            while not stop.is_set():
                counts.fold(clean_db)
        except BaseException as error:  # noqa: BLE001 - reported by the test below
            errors.append(error)

    writers = [threading.Thread(target=writer, args=(seed,)) for seed in range(3)]
    folders = [threading.Thread(target=folder) for _ in range(2)]  # two replicas fold at the same time
    for thread in writers + folders:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    for thread in folders:
        thread.join()
    assert errors == []
    assert sum(n for n, *_ in scanned(clean_db).values()) == 450
    assert kept(clean_db) == scanned(clean_db)
    counts.fold(clean_db)
    assert kept(clean_db) == scanned(clean_db)


def test_the_migration_counts_the_incidents_that_were_there_before_it(scratch_engine):
    migrations.upgrade(scratch_engine, "incident_management")
    migrations.downgrade(scratch_engine, "incident_management", "counts@base")
    with scratch_engine.begin() as connection:
        connection.execute(text(INSERT), {"severity": "high", "status": "resolved", "mtta": 30.0, "mttr": 90.0})
        connection.execute(text(INSERT), {"severity": "low", "status": "open", "mtta": None, "mttr": None})
    migrations.upgrade(scratch_engine, "incident_management")
    assert (
        kept(scratch_engine) == scanned(scratch_engine) == {("resolved", "high"): (1, 30.0, 1, 90.0, 1), ("open", "low"): (1, 0, 0, 0, 0)}
    )
