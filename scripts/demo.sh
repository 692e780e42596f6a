#!/usr/bin/env bash
# Starts the switchyard demo on this machine (Debian 12, as root):
#   - installs dependencies and builds switchyard (Release)
#   - starts a local PostgreSQL 15 standing in for Supabase (TLS, SCRAM),
#     seeded with the platform's sample tables
#   - starts a local MariaDB standing in for the legacy MySQL (database crm:
#     customers, subscriptions, payments; the read-only account crm_readonly
#     of the migration guide), see scripts/mariadb-legacy.sh
#   - copies customers and subscriptions from it into the local Supabase with
#     pgloader (scripts/copy-legacy-table.sh), so `switchyard verify` has real copies
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
	[ -d "$state/mysql" ] && ./scripts/mariadb-legacy.sh stop "$state/mysql"
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

# The local legacy MySQL: 3306 like the real thing, unless something else has it.
my_port=3306
if [ -f "$state/mysql_port" ]; then
	my_port=$(cat "$state/mysql_port")
elif port_busy 3306; then
	my_port=33306
	while port_busy "$my_port"; do my_port=$((my_port + 1)); done
fi
echo "$my_port" >"$state/mysql_port"
./scripts/mariadb-legacy.sh start "$state/mysql" "$my_port"

# The walkthrough's first step (README, "Migrating a table"): customers, and
# subscriptions, which moves with it (proxy.toml's [cutover] groups), copied by
# pgloader into the local Supabase's public schema, so `switchyard verify`
# compares real rows. The sample copies they replace are referenced by the
# sample subscriptions and payments; those foreign keys go first.
pg_url="postgresql://platform_owner:owner-secret@127.0.0.1:$pg_port/platform?sslmode=require"
PGSSLROOTCERT="$state/supabase/ca.crt" psql "$pg_url" -X -q -v ON_ERROR_STOP=1 \
	-c "ALTER TABLE subscriptions DROP CONSTRAINT IF EXISTS subscriptions_customer_id_fkey" \
	-c "ALTER TABLE payments DROP CONSTRAINT IF EXISTS payments_subscription_id_fkey"
: >"$state/copy.log"
for t in customers subscriptions; do
	MYSQL_URL="mysql://crm_readonly:ro-secret@127.0.0.1:$my_port/crm" SUPABASE_URL="$pg_url" \
		SUPABASE_CA="$state/supabase/ca.crt" ./scripts/copy-legacy-table.sh "$t" \
		>>"$state/copy.log" 2>&1 || {
		cat "$state/copy.log" >&2
		echo "copying $t with pgloader failed" >&2
		exit 1
	}
done

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
    -e "/^\[mysql\]/,/^\[/ s|^port = [0-9]*|port = $my_port|" \
    proxy.toml >"$state/proxy.toml"
# The MariaDB above with the guide's read-only account (when proxy.toml has no [mysql] section yet).
if ! grep -q '^\[mysql\]' "$state/proxy.toml"; then
	cat >>"$state/proxy.toml" <<-TOML

	[mysql]
	host = "127.0.0.1"
	port = $my_port
	database = "crm"
	user = "crm_readonly"
	password = "ro-secret"
	pool_size = 8
	connect_timeout_ms = 5000
	tls = "disable"
	ssl_ca = ""
	require_read_only = true
	tinyint1_as_bool = true
	TOML
fi
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

switchyard is running on 127.0.0.1:6432 in front of a local Postgres (127.0.0.1:$pg_port)
and a local MariaDB standing in for the legacy MySQL (127.0.0.1:$my_port, database crm).

  connect:   psql "postgres://app:app-secret@127.0.0.1:6432/platform"

  as anon:   psql "postgres://web:web-secret@127.0.0.1:6432/platform"   (upstream_role anon:
             row-level security applies, SELECT * FROM workflows shows only the active ones)

  try:       SELECT id, name, status FROM workflows;
             SELECT customer_id, name, phone, email FROM customers WHERE status = 'active' LIMIT 10;
             DELETE FROM customers;          -- refused: legacy table, SQLSTATE 25006

  MySQL:     mariadb -h 127.0.0.1 -P $my_port -u crm_readonly -pro-secret crm

  copies:    customers and subscriptions, copied into the local Supabase by pgloader ($state/copy.log);
             compare them with MySQL: build/switchyard verify -c $state/proxy.toml customers subscriptions

  logs:      $state/switchyard.log
  config:    $state/proxy.toml   (edit, then: kill -HUP \$(cat $state/switchyard.pid))
  stop:      scripts/demo.sh stop
MSG
