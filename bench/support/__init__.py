"""What the benchmarks share: the platform under load (bench/faults' harness, product timings), wrk,
an SMTP inbox, page matching and figures, and the resource report every benchmark prints at its end.

Importing the package puts the repository, scripts/ and bench/ on sys.path, so a script in bench/ needs
nothing else to reach platform_local, tests.support and bench/faults.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for _path in (ROOT, ROOT / "scripts", ROOT / "bench"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))
