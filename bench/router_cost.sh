#!/usr/bin/env bash
# What the router costs per transaction, in instructions rather than noisy
# seconds: switchyard (Release) and the same proxy built with routing skipped
# (NoRouter) each run under valgrind's callgrind while pgbench -S sends a fixed
# number of transactions; the difference, and router_route's own inclusive
# count, are printed per transaction. Deterministic for a given binary and
# input, whatever else the machine is doing.
#   bench/router_cost.sh [transactions] [simple|extended|prepared]
set -euo pipefail
cd "$(dirname "$0")/.."
txns=${1:-3000}
mode=${2:-simple}
./scripts/install-deps.sh
command -v valgrind >/dev/null || apt-get install -y -q valgrind >/dev/null
./scripts/build.sh Release >/dev/null
./scripts/build.sh NoRouter >/dev/null

work=$(mktemp -d /tmp/sy-router-cost-XXXXXX)
chmod 755 "$work"
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pg_port=$(free_port)
trap './scripts/pg-supabase.sh stop "$work/supabase"; rm -rf "$work"' EXIT
./scripts/pg-supabase.sh start "$work/supabase" "$pg_port"
PGPASSWORD=owner-secret pgbench -i -q -s 1 \
	"host=127.0.0.1 port=$pg_port user=platform_owner dbname=platform sslmode=require" >/dev/null 2>&1

measure() { # build-dir [transactions] -> sets TOTAL and ROUTER (instruction counts); no subshell: the EXIT trap must stay ours
	local dir=$1 n=${2:-$txns} port
	port=$(free_port)
	cat >"$work/proxy.toml" <<CONF
[proxy]
listen = "127.0.0.1:$port"
workers = 1
client_tls = "disable"
log_level = "warn"
[[users]]
name = "app"
password = "app-secret"
[supabase]
host = "127.0.0.1"
port = $pg_port
database = "platform"
user = "platform_owner"
password = "owner-secret"
sslmode = "require"
[legacy]
tables = ["customers", "subscriptions", "payments"]
CONF
	valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" \
		"$dir/switchyard" -c "$work/proxy.toml" >"$work/cg.log" 2>&1 &
	local pid=$!
	for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
	PGPASSWORD=app-secret pgbench -n -S -M "$mode" -c 1 -t "$n" \
		"host=127.0.0.1 port=$port user=app dbname=platform sslmode=disable" >/dev/null
	kill -INT $pid
	wait $pid || true
	TOTAL=$(callgrind_annotate "$work/cg.out" | awk '/PROGRAM TOTALS/ {gsub(",","",$1); print $1}')
	ROUTER=$(callgrind_annotate --inclusive=yes "$work/cg.out" |
		awk '/router\.c:router_route/ && !seen++ {gsub(",","",$1); print $1}')
}

measure build
with=$TOTAL
router_incl=${ROUTER:-0}
measure build-norouter
without=$TOTAL
# A tenth of the transactions separates start-up from the per-transaction cost.
measure build $((txns / 10))
small=$TOTAL
echo "pgbench -S -M $mode, $txns transactions, instructions in the proxy process:"
echo "  with router:      $with"
echo "  routing skipped:  $without"
awk -v a="$with" -v b="$without" -v r="$router_incl" -v n="$txns" -v s="$small" 'BEGIN {
	per = (a - s) / (n - int(n / 10))
	printf "  proxy, per transaction:  %.0f instructions (start-up excluded)\n", per
	printf "  difference:              %.0f per transaction\n", (a - b) / n
	printf "  router_route:            %.0f per transaction (inclusive)\n", r / n
	printf "  router share:            %.1f%% of the proxy'"'"'s user-space instructions\n", 100 * (r / n) / per
}'
