"""A PostgreSQL cluster in a folder of ours, from the machine's PostgreSQL binaries.

`initdb` and `postgres` refuse to run as root, so as root they run as the `postgres` user.
"""

import glob
import os
import shutil
import subprocess
import time
from pathlib import Path

import psycopg

from platform_common.settings import LOCAL_DATABASE_PASSWORD

# The outbox tables (pages, notifications) are rewritten several times per row and can grow from empty
# by thousands of rows in seconds (a flood). Their statistics must follow, or the plans prepared while
# they were small keep scanning them whole; autovacuum's default of one visit a minute is too late.
AUTOVACUUM_NAPTIME = "5s"


def _bin_dir() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
    if not candidates:
        raise RuntimeError("PostgreSQL server binaries not found: run scripts/bootstrap.sh (apt-get install postgresql)")
    return Path(candidates[-1])


def _run(argv: list[str]) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({result.returncode}):\n{result.stdout}{result.stderr}")


class LocalPostgres:
    def __init__(
        self, root: Path, port: int, *, durable: bool = True, user: str = "incident", password: str = LOCAL_DATABASE_PASSWORD
    ) -> None:
        self.root = root.resolve()
        self.data = self.root / "data"
        self.port = port
        self.durable = durable
        self.user = user
        self.password = password
        self.bin = _bin_dir()

    def _as_owner(self, *argv: str) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *argv]
        return list(argv)

    def _prepare_root(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            for parent in self.root.parents:  # the postgres user must be able to reach the folder
                if parent == Path("/"):
                    break
                parent.chmod(parent.stat().st_mode | 0o001)

    def initialize(self) -> None:
        """Create the cluster once; an existing cluster (and its data) is kept."""
        if (self.data / "PG_VERSION").exists():
            return
        self._prepare_root()
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password)
        if os.geteuid() == 0:
            shutil.chown(pwfile, "postgres", "postgres")
        try:
            _run(
                self._as_owner(
                    str(self.bin / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    self.user,
                    f"--pwfile={pwfile}",
                    "--auth=scram-sha-256",
                    "--auth-local=trust",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ),
            )
        finally:
            pwfile.unlink()

    def _server_options(self) -> list[str]:
        options = ["-p", str(self.port), "-k", str(self.root), "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=300"]
        options += ["-c", f"autovacuum_naptime={AUTOVACUUM_NAPTIME}"]
        if not self.durable:
            options += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        return options

    def start(self) -> None:
        """Start the server in the background (`pg_ctl start`) and wait until it accepts connections."""
        self.initialize()
        _run(
            self._as_owner(
                str(self.bin / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.root / "server.log"),
                "-w",
                "-t",
                "60",
                "-o",
                " ".join(self._server_options()),
                "start",
            )
        )

    def launch(self) -> subprocess.Popen:
        """Run the server as our child in the foreground (its own process group, so its backends go with
        it), logging to server.log; `make run` supervises and restarts it. Use `wait_ready` after."""
        self.initialize()
        owner = {"user": "postgres", "group": "postgres", "extra_groups": []} if os.geteuid() == 0 else {}
        with open(self.root / "server.log", "ab") as log:  # the child keeps its own copy of the descriptor
            return subprocess.Popen(
                [str(self.bin / "postgres"), "-D", str(self.data), *self._server_options()],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                **owner,
            )

    def wait_ready(self, process: subprocess.Popen, timeout: float = 60) -> None:
        """Wait until the server accepts connections; raises if `process` exits first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"PostgreSQL exited with {process.returncode}; see {self.root / 'server.log'}")
            try:
                psycopg.connect(self.url("postgres", "postgresql"), connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                time.sleep(0.1)
        raise RuntimeError(f"PostgreSQL did not accept connections in {timeout}s; see {self.root / 'server.log'}")

    def stop(self) -> None:
        subprocess.run(
            self._as_owner(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"),
            check=False,
            capture_output=True,
        )

    def url(self, database: str, driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://{self.user}:{self.password}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str, *, init_sql: Path | None = None) -> str:
        """Create `name` if missing, apply `database/init.sql` to it, and return its SQLAlchemy URL."""
        with psycopg.connect(self.url("postgres", "postgresql"), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')
        if init_sql is not None:
            with psycopg.connect(self.url(name, "postgresql"), autocommit=True) as conn:
                conn.execute(init_sql.read_text())
        return self.url(name)
