"""Fault suite: proves, with figures, that an accepted alert is stored and a page is never lost.

    .venv/bin/python bench/faults            every scenario at full size
    .venv/bin/python bench/faults --quick    smaller loads and shorter outages (a few minutes in all)
    .venv/bin/python bench/faults --quick -k kill -k storm     only scenarios whose name contains one of these
    .venv/bin/python bench/faults --list

Each scenario runs the four services as real processes on a fresh database of one durable PostgreSQL,
with a real webhook receiver, injects its fault, drains for a bounded time and prints one table row.
Exit status 1 when any scenario lost an alert or a page, duplicated a page, got an answer other than
2xx or 503 + Retry-After, or could not run.
"""

import argparse
import asyncio
import dataclasses
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "bench"), str(ROOT / "scripts"), str(ROOT)]

from faults.harness import Cluster, Platform  # noqa: E402
from faults.ledger import Row  # noqa: E402
from faults.scenarios import FULL, QUICK, SCENARIOS, Profile, Scenario  # noqa: E402

COLUMNS = (
    ("scenario", 14),
    ("alerts sent", 11),
    ("2xx", 6),
    ("503", 5),
    ("other", 5),
    ("stored", 6),
    ("lost", 5),
    ("pages expected", 14),
    ("delivered", 9),
    ("duplicated", 10),
    ("worst page delay", 16),
    ("result", 6),
)


def run_scenario(cluster: Cluster, scenario: Scenario, profile: Profile, workdir: Path) -> Row:
    workdir.mkdir(parents=True)
    platform = None
    try:
        platform = Platform(scenario.name, cluster, workdir)
        platform.start()
        row = asyncio.run(scenario.run(platform, profile))
        if platform.healthy.resent:
            row.notes.append(
                f"{platform.healthy.resent} requests repeated an Idempotency-Key already answered 200 (a notification sent again "
                "after a crash before its outcome was recorded): the receiver honours the key and showed each page once"
            )
        return row
    except Exception as exc:  # noqa: BLE001 - a scenario that cannot run is reported as a failed row, the others still run
        return Row(scenario.name, error=f"{type(exc).__name__}: {exc}")
    finally:
        if platform is not None:
            platform.close()
        cluster.ensure_running()  # a scenario that failed mid-restart must not take the next one down


def cells(row: Row) -> list[str]:
    if row.error:
        return [row.scenario, *["-"] * 10, "ERROR"]
    values = [row.sent, row.accepted, row.refused_503, row.other, row.stored, row.lost, row.pages_expected, row.delivered, row.duplicated]
    return [row.scenario, *map(str, values), str(row.worst_delay), "ok" if row.passed else "FAIL"]


def print_table(rows: list[Row], scenarios: list[Scenario]) -> None:
    print(" | ".join(f"{name:>{width}}" if i else f"{name:<{width}}" for i, (name, width) in enumerate(COLUMNS)))
    print("-+-".join("-" * width for _, width in COLUMNS))
    for row in rows:
        print(" | ".join(f"{cell:>{w}}" if i else f"{cell:<{w}}" for i, (cell, (_, w)) in enumerate(zip(cells(row), COLUMNS, strict=True))))
    print()
    titles = {scenario.name: scenario.title for scenario in scenarios}
    for row in rows:
        print(f"{row.scenario}: {titles[row.scenario]}")
        for note in [row.error] if row.error else row.notes:
            print(f"    {note}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller loads, shorter outages and drains")
    parser.add_argument("-k", dest="only", action="append", default=[], help="run scenarios whose name contains this (repeatable)")
    parser.add_argument("--drain", type=float, help="seconds owed pages may take after each fault (quick 15, full 60)")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    parser.add_argument("--keep-logs", action="store_true", help="keep the services' logs (the folder is printed)")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    chosen = [s for s in SCENARIOS if not args.only or any(word in s.name for word in args.only)]
    if args.list or not chosen:
        for scenario in SCENARIOS:
            print(f"  {scenario.name:<14} {scenario.title}")
        return 0 if args.list else 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the cleanup below on `kill` too
    profile = QUICK if args.quick else FULL
    if args.drain is not None:
        profile = dataclasses.replace(profile, drain_seconds=args.drain)
    root = Path(tempfile.mkdtemp(prefix="bench-faults-"))
    cluster = Cluster(root)
    rows: list[Row] = []
    try:
        cluster.start()
        for number, scenario in enumerate(chosen, 1):
            started = time.monotonic()
            print(f"[{number}/{len(chosen)}] {scenario.name}: {scenario.title} ...", file=sys.stderr, flush=True)
            rows.append(run_scenario(cluster, scenario, profile, root / scenario.name))
            print(f"[{number}/{len(chosen)}] {scenario.name}: done in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    finally:
        cluster.stop()
        shutil.rmtree(root / "pg", ignore_errors=True)
        if args.keep_logs:
            print(f"logs kept in {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)
    mode = "quick" if args.quick else "full"
    print(f"fault suite ({mode}, drain {profile.drain_seconds:.0f} s): real processes, durable PostgreSQL, real webhook receivers")
    print_table(rows, chosen)
    failed = [row.scenario for row in rows if not row.passed]
    print(f"\n{'FAILED: ' + ', '.join(failed) if failed else 'all scenarios: nothing lost, nothing duplicated'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
