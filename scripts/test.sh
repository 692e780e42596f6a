#!/usr/bin/env bash
# Runs every test switchyard has, from a fresh Debian 12 machine as root:
#   1. installs dependencies (apt; npm for node-postgres)
#   2. builds with ASan + UBSan and runs the C unit tests (ctest)
#   3. builds the libFuzzer targets with clang and runs each for a bounded time
#   4. runs the integration tests (pytest) against a real PostgreSQL 15 that the
#      harness starts on loopback, through psql, pgbench, psycopg 3, psycopg2,
#      node-postgres and pgjdbc
# Exits non-zero if any stage fails. FUZZ_SECONDS (default 30) bounds each fuzzer.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
fuzz_seconds=${FUZZ_SECONDS:-30}
stage() { printf '\n=== %s ===\n' "$*"; }

stage "dependencies"
./scripts/install-deps.sh

stage "build (Debug: ASan + UBSan)"
./scripts/build.sh Debug

stage "unit tests (ctest)"
# --no-tests=error: a build that lost its tests must not pass as green.
ctest --test-dir build-debug --output-on-failure --no-tests=error -j 2

stage "fuzz targets (clang-14 libFuzzer, ${fuzz_seconds}s each)"
./scripts/build.sh Fuzz
fuzzers=(build-fuzz/fuzz_*)
if [ ! -x "${fuzzers[0]}" ]; then
	echo "no fuzz targets were built" >&2
	exit 1
fi
for f in "${fuzzers[@]}"; do
	name=$(basename "$f")
	corpus="$root/tests/fuzz/corpus_${name#fuzz_}"
	work=$(mktemp -d)
	seeds=()
	[ -d "$corpus" ] && seeds=("$corpus")
	echo "running $name"
	ASAN_OPTIONS=detect_leaks=1 "$f" -max_total_time="$fuzz_seconds" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 "$work" "${seeds[@]}" >"$work.log" 2>&1 || {
		tail -60 "$work.log"
		echo "$name found a crash or leak" >&2
		exit 1
	}
	grep -E "^stat::number_of_executed_units|^Done" "$work.log" | tail -2
	rm -rf "$work" "$work.log"
done

stage "integration tests (pytest, real PostgreSQL 15)"
if [ -f tests/integration/node/package.json ] && [ ! -d tests/integration/node/node_modules ]; then
	(cd tests/integration/node && npm install --no-audit --no-fund --loglevel=error)
fi
export SWITCHYARD_BIN="$root/build-debug/switchyard"
set +e
/usr/bin/python3 -m pytest tests/integration -p no:cacheprovider -ra --timeout=300 "$@"
rc=$?
set -e
# pytest exits 5 when it collected nothing: that is a broken suite, not a pass.
if [ $rc -eq 5 ]; then
	echo "pytest collected no tests" >&2
	exit 1
fi
exit $rc
