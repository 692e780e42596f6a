#!/usr/bin/env bash
# A local PostgreSQL 15 that stands in for Supabase: loopback only, TLS with a
# generated CA (server certificate for localhost / 127.0.0.1), SCRAM-SHA-256
# only and only over TLS (like Supabase's hosts), a role platform_owner and a
# database platform seeded with scripts/sql/platform.sql.
#
#   scripts/pg-supabase.sh start DIR PORT   initdb (first time), start, seed
#   scripts/pg-supabase.sh stop DIR         fast shutdown
#
# DIR holds data/, certs (ca.crt is what sslrootcert should point at) and the
# log. Runs as root: the server itself runs as the postgres user.
set -euo pipefail

PGBIN=/usr/lib/postgresql/15/bin
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cmd=${1:?usage: pg-supabase.sh start DIR PORT | stop DIR}
dir=${2:?missing DIR}

# As the postgres user, from / (the caller's directory, e.g. under /root, may be closed to it).
as_pg() { (cd / && runuser -u postgres -- "$@"); }

make_certs() {
	local d=$1
	openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=switchyard test CA" \
		-keyout "$d/ca.key" -out "$d/ca.crt" 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
		-keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n' > "$d/san.ext"
	openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
		-days 3650 -extfile "$d/san.ext" -out "$d/server.crt" 2>/dev/null
	chmod 600 "$d/server.key"
}

start() {
	local port=${3:?missing PORT}
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		[ -f "$dir/ca.crt" ] || make_certs "$dir"
		chown -R postgres:postgres "$dir"
		if ! as_pg test -x "$dir"; then
			echo "pg-supabase.sh: the postgres user cannot reach $dir (check its parents' permissions)" >&2
			exit 1
		fi
		as_pg "$PGBIN/initdb" -D "$dir/data" -U postgres --auth-local=trust \
			--auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log"
		cat >>"$dir/data/postgresql.conf" <<-CONF
		listen_addresses = '127.0.0.1'
		unix_socket_directories = '$dir'
		ssl = on
		ssl_cert_file = '$dir/server.crt'
		ssl_key_file = '$dir/server.key'
		password_encryption = 'scram-sha-256'
		max_connections = 300
		shared_buffers = 128MB
		fsync = off
		synchronous_commit = off
		full_page_writes = off
		log_min_messages = warning
		CONF
		cat >"$dir/data/pg_hba.conf" <<-HBA
		local   all  postgres                trust
		hostssl all  all       127.0.0.1/32  scram-sha-256
		HBA
	fi
	as_pg "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -o "-p $port" -w -t 60 start >/dev/null
	# A server that started but could not be seeded is not left running.
	trap 'stop' ERR
	if ! as_pg psql -h "$dir" -p "$port" -U postgres -d postgres -tAc \
		"SELECT 1 FROM pg_database WHERE datname = 'platform'" | grep -q 1; then
		as_pg psql -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -q <<-SQL
		CREATE ROLE platform_owner LOGIN PASSWORD 'owner-secret';
		CREATE DATABASE platform OWNER platform_owner;
		SQL
		# Read by root and piped: the checkout may not be readable by postgres.
		as_pg psql -h "$dir" -p "$port" -U postgres -d platform -v ON_ERROR_STOP=1 -q \
			<"$here/sql/platform.sql"
	fi
	trap - ERR
}

stop() {
	if [ -f "$dir/data/postmaster.pid" ]; then
		as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null || true
	fi
}

case "$cmd" in
start) start "$@" ;;
stop) stop ;;
*) echo "usage: pg-supabase.sh start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
