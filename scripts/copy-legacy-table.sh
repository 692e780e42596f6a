#!/usr/bin/env bash
# Copies one legacy table from MySQL into Supabase, where switchyard's cutover
# reads it (README, "Migrating a table"):
#
#   MYSQL_URL='mysql://crm_readonly:ro-secret@127.0.0.1:3306/crm' \
#   SUPABASE_URL='postgresql://platform_owner:owner-secret@127.0.0.1:5432/platform?sslmode=require' \
#   SUPABASE_CA=ca.crt scripts/copy-legacy-table.sh customers
#
#   1. pgloader scripts/pgloader/legacy-table.load: the table into the staging
#      schema switchyard_load, with switchyard's type map (its CAST rules);
#   2. FLOAT columns read again as DOUBLE: MariaDB prints FLOAT with 6
#      significant digits, so pgloader gets 16777216 as 1.67772e7;
#   3. psql -f scripts/pgloader/swap.sql: the staged table replaces public.<table>
#      in one transaction.
#
# MYSQL_URL: a read-only account is enough (SELECT on the table and its
# information_schema rows). SUPABASE_URL: switchyard's [supabase] user, who
# then owns the copy. SUPABASE_CA (optional): the CA that signed Supabase's
# certificate, checked by pgloader and psql. Run it again to refresh the copy:
# the old copy serves reads until the new one replaces it. Exits non-zero, with
# public.<table> untouched, when any step fails.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
table=${1:?usage: copy-legacy-table.sh TABLE   (with MYSQL_URL and SUPABASE_URL set)}
: "${MYSQL_URL:?set MYSQL_URL=mysql://user:password@host:port/database}"
: "${SUPABASE_URL:?set SUPABASE_URL=postgresql://user:password@host:port/database?sslmode=require}"
if [[ ! $table =~ ^[a-z_][a-z0-9_]*$ ]]; then
	echo "copy-legacy-table.sh: $table: expected a lower-case table name" >&2
	exit 2
fi
if [ -n "${SUPABASE_CA:-}" ]; then
	export SSL_CERT_FILE=$SUPABASE_CA PGSSLROOTCERT=$SUPABASE_CA
fi
# pgloader's summary and logs, and its reject files if any
if [ -n "${PGLOADER_DIR:-}" ]; then
	work=$PGLOADER_DIR
	mkdir -p "$work"
else
	work=$(mktemp -d "${TMPDIR:-/tmp}/pgloader-$table.XXXXXX")
fi

# The MySQL client for step 2, from the same URL pgloader reads.
re='^mysql://([^:@/]+)(:([^@]*))?@([^:/]+)(:([0-9]+))?/([^?/]+)'
if [[ ! $MYSQL_URL =~ $re ]]; then
	echo "copy-legacy-table.sh: MYSQL_URL is not mysql://user:password@host:port/database" >&2
	exit 2
fi
my_user=${BASH_REMATCH[1]} my_host=${BASH_REMATCH[4]} my_port=${BASH_REMATCH[6]:-3306}
my_db=${BASH_REMATCH[7]}
export MYSQL_PWD=${BASH_REMATCH[3]}
mysql_q() {
	mariadb --no-defaults --protocol=tcp -h "$my_host" -P "$my_port" -u "$my_user" \
		--default-character-set=utf8mb4 --batch --skip-column-names "$my_db" -e "$1"
}
pg() { psql "$SUPABASE_URL" -X -q -v ON_ERROR_STOP=1 "$@"; }

echo "1/3 pgloader: crm.$table -> switchyard_load.$table (log: $work)"
TABLE=$table pgloader --root-dir "$work" --logfile "$work/pgloader.log" \
	"$here/pgloader/legacy-table.load" >"$work/summary.txt" 2>&1 || failed=1
# pgloader exits 0 when it cannot reach MySQL, so its log and the staged table count too.
if [ -n "${failed:-}" ] || grep -q ' ERROR ' "$work/summary.txt" ||
	[ "$(pg -Atc "SELECT to_regclass('switchyard_load.$table') IS NOT NULL")" != t ]; then
	cat "$work/summary.txt" >&2
	echo "copy-legacy-table.sh: pgloader failed (log: $work); public.$table is left as it was" >&2
	exit 1
fi
grep -E 'errors|switchyard_load\.|Total import' "$work/summary.txt" || true

floats=$(mysql_q "SELECT COLUMN_NAME FROM information_schema.COLUMNS
	WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '$table' AND DATA_TYPE = 'float'
	ORDER BY ORDINAL_POSITION")
keys=$(mysql_q "SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE
	WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '$table' AND CONSTRAINT_NAME = 'PRIMARY'
	ORDER BY ORDINAL_POSITION")
if [ -n "$floats" ] && [ -z "$keys" ]; then
	echo "copy-legacy-table.sh: $table has FLOAT columns but no primary key to correct them by" >&2
	exit 1
fi
for f in $floats; do
	echo "2/3 FLOAT column $f: read again as DOUBLE"
	my_keys=$(for k in $keys; do printf '`%s`, ' "$k"; done)
	# pgloader downcases identifiers (downcase identifiers), so does Postgres' side here
	pg_keys=$(echo ${keys,,} | sed 's/ /", "/g')
	join=$(for k in ${keys,,}; do printf 's."%s" = x."%s" AND ' "$k" "$k"; done)
	pf=${f,,}
	mysql_q "SELECT $my_keys CAST(\`$f\` AS DOUBLE) FROM \`$table\` WHERE \`$f\` IS NOT NULL" |
		pg -c "CREATE TEMP TABLE x AS SELECT \"$pg_keys\", \"$pf\" FROM switchyard_load.$table LIMIT 0" \
		   -c "\\copy x FROM pstdin" \
		   -c "UPDATE switchyard_load.$table s SET \"$pf\" = x.\"$pf\" FROM x
		       WHERE $join s.\"$pf\" IS DISTINCT FROM x.\"$pf\""
done

echo "3/3 swap: switchyard_load.$table -> public.$table"
pg -v table="$table" -f "$here/pgloader/swap.sql"
[ -n "${PGLOADER_DIR:-}" ] || rm -rf "$work"  # kept when a step failed
echo "copied $table; now: switchyard verify -c proxy.toml $table"
