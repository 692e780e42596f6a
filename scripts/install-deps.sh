#!/usr/bin/env bash
# Installs everything switchyard needs to build, run its demo, its tests and its
# benchmark, from Debian 12's apt (and npm for the node-postgres test driver).
# Idempotent and quiet when everything is already there. Run as root.
set -euo pipefail

packages=(
	# build
	build-essential cmake pkg-config clang-14 libclang-rt-14-dev
	libevent-dev libssl-dev libpg-query-dev libprotobuf-c-dev libtomlplusplus-dev libcmocka-dev
	libjansson-dev libpq-dev
	# servers and tools the demo, tests and benchmark start
	postgresql-15 postgresql-client-15 pgbouncer openssl procps iproute2
	mariadb-server mariadb-client libmariadb-dev
	# the README's migration walkthrough and the demo: copies a MySQL table into Postgres
	pgloader
	# test drivers
	# admin tests: promtool (checks /metrics and deploy/prometheus), headless chromium (the status page)
	prometheus chromium
	python3 python3-pytest python3-pytest-timeout python3-psycopg python3-psycopg2 python3-pymysql python3-yaml
	default-jdk-headless libpostgresql-jdbc-java golang-go golang-github-jackc-pgx-v4-dev
)
# Node.js may come from elsewhere (nodesource); only install Debian's when absent.
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
