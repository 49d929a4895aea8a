#!/usr/bin/env bash
# `make test`: installs what is missing, then runs every test (unit, integration on a throwaway
# PostgreSQL, end-to-end over real processes) with the coverage gate. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
# The delivery checks use the pipeline's pinned tools (Compose v2, hadolint, detect-secrets) in .local/tools.
(source scripts/pipeline/lib.sh && ensure_tools)
rm -f .coverage .coverage.*
set +e
.venv/bin/python -m pytest --cov --cov-report=term --cov-fail-under="${COVERAGE_MIN:-90}" "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "test: pytest collected no tests (exit 5)${*:+ for: $*}" >&2
  [ "$#" -gt 0 ] && exit 0 || exit 1
fi
exit "$status"
