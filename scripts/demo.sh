#!/usr/bin/env bash
# Starts the switchyard demo on this machine (Debian 12, as root):
#   - installs dependencies and builds switchyard (Release)
#   - starts a local PostgreSQL 15 standing in for Supabase (TLS, SCRAM),
#     seeded with the platform's sample tables
#   - starts switchyard in front of it on 127.0.0.1:6432
# Everything runs in the background; state and logs live in $SWITCHYARD_DEMO_DIR
# (default /tmp/switchyard-demo).   Stop it with: scripts/demo.sh stop
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
state=${SWITCHYARD_DEMO_DIR:-/tmp/switchyard-demo}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

stop_demo() {
	if [ -f "$state/switchyard.pid" ]; then
		kill "$(cat "$state/switchyard.pid")" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$(cat "$state/switchyard.pid")" 2>/dev/null || break
			sleep 0.1
		done
		rm -f "$state/switchyard.pid"
	fi
	[ -d "$state/supabase" ] && ./scripts/pg-supabase.sh stop "$state/supabase"
	return 0
}

if [ "${1:-}" = stop ]; then
	stop_demo
	echo "demo stopped"
	exit 0
fi

./scripts/install-deps.sh
./scripts/build.sh Release
stop_demo
mkdir -p "$state"

# The local "Supabase": 5432 like the real thing, unless something else has it.
pg_port=5432
if [ -f "$state/pg_port" ]; then
	pg_port=$(cat "$state/pg_port")
elif port_busy 5432; then
	pg_port=55432
fi
echo "$pg_port" >"$state/pg_port"
./scripts/pg-supabase.sh start "$state/supabase" "$pg_port"

if port_busy 6432; then
	echo "127.0.0.1:6432 is already in use (a pgbouncer service?); stop it and run again" >&2
	exit 1
fi

# The demo config is proxy.toml with this machine's port and certificate paths.
cp "$state/supabase/server.crt" "$state/proxy.crt"
cp "$state/supabase/server.key" "$state/proxy.key"
chmod 600 "$state/proxy.key"
sed -e "s|^port = 5432|port = $pg_port|" \
    -e "s|^sslmode = .*|sslmode = \"verify-full\"|" \
    -e "s|^sslrootcert = .*|sslrootcert = \"$state/supabase/ca.crt\"|" \
    -e "s|^tls_cert = .*|tls_cert = \"$state/proxy.crt\"|" \
    -e "s|^tls_key = .*|tls_key = \"$state/proxy.key\"|" \
    proxy.toml >"$state/proxy.toml"
build/switchyard --check -c "$state/proxy.toml" >/dev/null

nohup build/switchyard -c "$state/proxy.toml" >>"$state/switchyard.log" 2>&1 &
echo $! >"$state/switchyard.pid"
for _ in $(seq 100); do
	port_busy 6432 && break
	sleep 0.1
done
if ! port_busy 6432; then
	tail -20 "$state/switchyard.log" >&2
	echo "switchyard did not start" >&2
	exit 1
fi

cat <<MSG

switchyard is running on 127.0.0.1:6432 in front of a local Postgres (127.0.0.1:$pg_port).

  connect:   psql "postgres://app:app-secret@127.0.0.1:6432/platform"

  try:       SELECT id, name, status FROM workflows;
             DELETE FROM customers;          -- refused: legacy table, SQLSTATE 25006

  logs:      $state/switchyard.log
  config:    $state/proxy.toml   (edit, then: kill -HUP \$(cat $state/switchyard.pid))
  stop:      scripts/demo.sh stop
MSG
