#!/usr/bin/env bash
# The benchmark in one command: installs dependencies, builds switchyard
# (Release), then runs pgbench -S against Postgres directly, PgBouncer and
# switchyard (1 and 2 workers), alternating, in session and in transaction
# pooling, and writes bench/results/latest.md. Arguments are passed to
# bench/pgbench_compare.py (e.g. --seconds 3 --rounds 1, --sections transaction).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh Release >/dev/null
./scripts/build.sh NoRouter >/dev/null  # the same proxy with routing skipped, to price the router
exec /usr/bin/python3 bench/pgbench_compare.py "$@"
