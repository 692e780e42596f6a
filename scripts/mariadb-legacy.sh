#!/usr/bin/env bash
# A local MariaDB 10.11 that stands in for the platform's legacy MySQL: loopback
# only, database crm seeded with scripts/sql/legacy-mysql.sql (customers,
# subscriptions, payments), and the accounts of the migration guide:
#
#   crm_readonly / ro-secret   GRANT SELECT ON crm.* only: the account switchyard uses
#   crm_writer   / rw-secret   SELECT, INSERT, UPDATE on crm.*: switchyard must refuse it
#   root                       over the socket (unix_socket as the OS root, or
#                              password root-secret for drivers that cannot do unix_socket)
#
#   scripts/mariadb-legacy.sh start DIR PORT   install the datadir (first time), start, seed
#   scripts/mariadb-legacy.sh stop DIR         shutdown over the socket, then wait (kill at last)
#
# DIR holds data/, mysqld.sock, mysqld.pid and mysqld.log. Start is idempotent: an
# existing datadir is reused and seeded only if crm is missing; the accounts are
# (re)created every time. Runs as root: the server itself runs as the mysql user.
# MARIADB_EXTRA_ARGS adds server options (the TLS tests pass --ssl-cert and friends).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cmd=${1:?usage: mariadb-legacy.sh start DIR PORT | stop DIR}
dir=${2:?missing DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
sock=$dir/mysqld.sock
pidf=$dir/mysqld.pid

client() { mariadb --no-defaults --protocol=socket --socket="$sock" -uroot "$@"; }

server_pid() {
	local pid
	[ -f "$pidf" ] || return 1
	pid=$(cat "$pidf" 2>/dev/null) || return 1
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

answers() { mariadb-admin --no-defaults --protocol=socket --socket="$sock" -uroot \
	--connect-timeout=2 ping >/dev/null 2>&1; }

start() {
	local port=${3:?missing PORT}
	if [ ! -d "$dir/data/mysql" ]; then
		rm -rf "$dir/data"
		mkdir -p "$dir/data"
		chown -R mysql:mysql "$dir"
		if ! runuser -u mysql -- test -x "$dir"; then
			echo "mariadb-legacy.sh: the mysql user cannot reach $dir (check its parents' permissions)" >&2
			exit 1
		fi
		mariadb-install-db --no-defaults --user=mysql --datadir="$dir/data" \
			--auth-root-authentication-method=socket --skip-test-db \
			>"$dir/install-db.log" 2>&1 || { cat "$dir/install-db.log" >&2; exit 1; }
	fi
	chown mysql:mysql "$dir"
	# Already running (a second start): fine on the same port, restarted on another.
	if server_pid >/dev/null && answers &&
		[ "$(client -N -e 'SELECT @@port' 2>/dev/null)" != "$port" ]; then
		stop
	fi
	local launched=""
	if ! server_pid >/dev/null; then
		rm -f "$sock" "$pidf"
		# Small and fast: a fixture, not a production server. Data is throw-away.
		(cd / && exec nohup mariadbd --no-defaults --user=mysql --datadir="$dir/data" \
			--socket="$sock" --port="$port" --bind-address=127.0.0.1 \
			--pid-file="$pidf" --log-error="$dir/mysqld.log" \
			--skip-name-resolve --skip-log-bin --max-connections=300 \
			--character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
			--innodb-buffer-pool-size=64M --innodb-flush-log-at-trx-commit=0 \
			--innodb-doublewrite=0 --skip-performance-schema \
			${MARIADB_EXTRA_ARGS:-} >/dev/null 2>&1) &
		launched=$!
	fi
	local i
	for i in $(seq 600); do
		answers && break
		if [ -n "$launched" ] && ! kill -0 "$launched" 2>/dev/null; then
			echo "mariadb-legacy.sh: mariadbd exited; log:" >&2
			tail -30 "$dir/mysqld.log" >&2
			exit 1
		fi
		sleep 0.1
	done
	if ! answers; then
		echo "mariadb-legacy.sh: mariadbd did not answer within 60 s; log:" >&2
		tail -30 "$dir/mysqld.log" >&2
		stop
		exit 1
	fi
	# A server that started but could not be seeded is not left running.
	trap 'stop' ERR
	if ! client -N -e "SHOW DATABASES LIKE 'crm'" | grep -q crm; then
		# Loaded into crm_load first, then renamed: a half-seeded crm never exists.
		client -e "DROP DATABASE IF EXISTS crm_load; CREATE DATABASE crm_load CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"
		client --default-character-set=utf8mb4 crm_load <"$here/sql/legacy-mysql.sql"
		client -e "CREATE DATABASE crm CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;
			RENAME TABLE crm_load.customers TO crm.customers, crm_load.subscriptions TO crm.subscriptions,
			             crm_load.payments TO crm.payments;
			DROP DATABASE crm_load"
	fi
	client <<-SQL
	ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('root-secret');
	CREATE USER IF NOT EXISTS 'crm_readonly'@'%' IDENTIFIED BY 'ro-secret';
	ALTER USER 'crm_readonly'@'%' IDENTIFIED BY 'ro-secret';
	REVOKE ALL PRIVILEGES, GRANT OPTION FROM 'crm_readonly'@'%';
	GRANT SELECT ON crm.* TO 'crm_readonly'@'%';
	CREATE USER IF NOT EXISTS 'crm_writer'@'%' IDENTIFIED BY 'rw-secret';
	ALTER USER 'crm_writer'@'%' IDENTIFIED BY 'rw-secret';
	REVOKE ALL PRIVILEGES, GRANT OPTION FROM 'crm_writer'@'%';
	GRANT SELECT, INSERT, UPDATE ON crm.* TO 'crm_writer'@'%';
	FLUSH PRIVILEGES;
	SQL
	trap - ERR
}

stop() {
	local pid
	pid=$(server_pid) || return 0
	mariadb-admin --no-defaults --protocol=socket --socket="$sock" -uroot \
		--connect-timeout=5 --shutdown-timeout=30 shutdown >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
	local i
	for i in $(seq 300); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null || true
}

case "$cmd" in
start) start "$@" ;;
stop) stop ;;
*) echo "usage: mariadb-legacy.sh start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
