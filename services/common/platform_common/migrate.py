"""One-shot migrations: `python -m platform_common.migrate <package> [upgrade|downgrade] [revision]`."""

import argparse

from platform_common import migrations
from platform_common.db import create_db_engine
from platform_common.settings import ServiceSettings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("package", help="service package whose schema to migrate, e.g. alert_ingestion")
    parser.add_argument("action", nargs="?", choices=("upgrade", "downgrade"), default="upgrade")
    parser.add_argument("revision", nargs="?", help="target revision (head / base by default)")
    args = parser.parse_args(argv)
    engine = create_db_engine(ServiceSettings().database_url, pool_size=1)
    try:
        if args.action == "upgrade":
            migrations.upgrade(engine, args.package, args.revision or "heads")
        else:
            migrations.downgrade(engine, args.package, args.revision or "base")
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
