#!/usr/bin/python3
"""switchyard verify: rows per second and peak memory on a 1,000,000-row legacy table, with
pgloader's copy of the same table timed in the same run for comparison.

Everything is started here, on loopback, in a temporary directory:

  MariaDB 10.11   the legacy MySQL: database crm from bench/legacy/crm.sql with --rows customers
                  (the shape of the legacy-reads benchmark: unsigned ids, ENUM, DECIMAL, DATETIME,
                  Korean names)
  PostgreSQL 15   the Supabase stand-in; database verify_copy gets the copy of customers
  switchyard      build/switchyard (Release; $SWITCHYARD_BIN overrides) in front of both; the copy
                  is made with `COPY customers TO STDOUT` through it (so it is the text switchyard
                  serves) into `COPY ... FROM STDIN` on Postgres

Measured: `switchyard verify -c <config> customers` wall time (median of --rounds), its peak
RSS (getrusage of the child), the rows per second that makes, and, when pgloader is installed,
`pgloader` copying the same table from MariaDB into a scratch database (wall time).
Target (issue 9): >= 100,000 rows/s with memory under 64 MiB.
"""
import argparse
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import benchlib
from benchlib import ROOT, free_port

SWITCHYARD = Path(os.environ.get("SWITCHYARD_BIN", benchlib.SWITCHYARD))
LEGACY_DIR = ROOT / "bench" / "legacy"
MY_USER, MY_PASSWORD, MY_DB = "crm_readonly", "ro-secret", "crm"
COPY_DB = "verify_copy"
TARGET_ROWS_S, TARGET_MIB = 100_000, 64

COPY_DDL = """
CREATE TABLE customers (customer_id bigint PRIMARY KEY, name varchar(100) NOT NULL,
  phone varchar(20), email varchar(255), status text NOT NULL, balance numeric(12,2) NOT NULL,
  created_at timestamp NOT NULL);
CREATE TABLE subscriptions (subscription_id bigint PRIMARY KEY, customer_id bigint NOT NULL,
  plan varchar(20) NOT NULL, status text NOT NULL, started_at date NOT NULL, ends_at date);
CREATE TABLE payments (payment_id bigint PRIMARY KEY, subscription_id bigint NOT NULL,
  amount numeric(12,2) NOT NULL, currency bpchar(3) NOT NULL, paid_at timestamp NOT NULL);
"""


def pg_admin(pg, sql, db="postgres"):
    out = subprocess.run(["runuser", "-u", "postgres", "--", "psql", "-h", str(pg["dir"]),
                          "-p", str(pg["port"]), "-d", db, "-v", "ON_ERROR_STOP=1", "-qtAX"],
                         input=sql, capture_output=True, text=True, cwd="/")
    if out.returncode != 0:
        raise RuntimeError(f"psql: {out.stderr.strip()}")
    return out.stdout.strip()


def mysql_section(my):
    return benchlib.toml_table("mysql", {
        "host": "127.0.0.1", "port": my["port"], "database": MY_DB, "user": MY_USER,
        "password": MY_PASSWORD, "pool_size": 4})


def copy_through_switchyard(pg, port, table):
    """COPY <table> TO STDOUT through switchyard (served from MariaDB) into the copy database."""
    src = subprocess.Popen(["psql", f"host=127.0.0.1 port={port} user={benchlib.APP_USER} "
                            f"password={benchlib.APP_PASSWORD} dbname={benchlib.DB}",
                            "-v", "ON_ERROR_STOP=1", "-c", f"COPY {table} TO STDOUT"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    dst = subprocess.run(["runuser", "-u", "postgres", "--", "psql", "-h", str(pg["dir"]),
                          "-p", str(pg["port"]), "-d", COPY_DB, "-v", "ON_ERROR_STOP=1",
                          "-c", f"COPY {table} FROM STDIN"], stdin=src.stdout,
                         capture_output=True, text=True, cwd="/")
    src.stdout.close()
    err = src.stderr.read().decode()
    if src.wait() != 0 or dst.returncode != 0:
        raise RuntimeError(f"copy of {table} failed: {err} {dst.stderr}")


def run_verify_rss(config, table, extra=()):
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        devnull = os.open(os.devnull, os.O_WRONLY)
        out = os.open(str(Path(config).with_suffix(".verify.out")), os.O_WRONLY | os.O_CREAT |
                      os.O_TRUNC, 0o644)
        os.dup2(out, 1)
        os.dup2(devnull, 2)
        os.execv(str(SWITCHYARD), [str(SWITCHYARD), "verify", "-c", str(config), table, "--json",
                                   *extra])
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    text = Path(config).with_suffix(".verify.out").read_text()
    doc = json.loads(text) if text.strip() else None
    return wall, usage.ru_maxrss / 1024.0, doc, os.waitstatus_to_exitcode(status)


def run_pgloader(my, pg, work):
    """The README's copy (scripts/copy-legacy-table.sh: pgloader with switchyard's type map,
    FLOAT columns re-read, the swap) of customers into a scratch database: (seconds, note)."""
    if shutil.which("pgloader") is None:
        return None, "pgloader is not installed (scripts/install-deps.sh installs it)"
    pg_admin(pg, "DROP DATABASE IF EXISTS pgloader_copy")
    pg_admin(pg, f"CREATE DATABASE pgloader_copy OWNER {benchlib.OWNER}")
    env = dict(os.environ,
               MYSQL_URL=f"mysql://{MY_USER}:{MY_PASSWORD}@127.0.0.1:{my['port']}/{MY_DB}",
               SUPABASE_URL=f"postgresql://{benchlib.OWNER}:{benchlib.OWNER_PASSWORD}@127.0.0.1:"
                            f"{pg['port']}/pgloader_copy?sslmode=require",
               SUPABASE_CA=f"{pg['dir']}/ca.crt", PGLOADER_DIR=str(work / "pgloader"))
    t0 = time.perf_counter()
    out = subprocess.run([str(ROOT / "scripts" / "copy-legacy-table.sh"), "customers"],
                         capture_output=True, text=True, timeout=1800, cwd=str(work), env=env)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        return None, f"the copy failed: {(out.stderr or out.stdout).strip()[-400:]}"
    # pgloader can exit 0 having copied nothing: count what arrived.
    got = pg_admin(pg, "SELECT count(*) FROM public.customers", db="pgloader_copy")
    return wall, f"scripts/copy-legacy-table.sh (pgloader) copied {got} rows"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--chunk-rows", type=int, default=1000)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "verify.md"))
    args = ap.parse_args()
    if not SWITCHYARD.exists():
        sys.exit(f"{SWITCHYARD} is not built (scripts/build.sh Release)")
    work = Path(tempfile.mkdtemp(prefix="sy-verify-"))
    work.chmod(0o755)
    pg = {"dir": work / "supabase", "port": free_port()}
    my = {"dir": work / "mariadb", "port": free_port()}
    proc = None
    lines = []
    try:
        benchlib.start_mariadb(my)
        benchlib.mariadb_query(my, (LEGACY_DIR / "crm.sql").read_text()
                               .replace("@ROWS@", str(args.rows)))
        benchlib.start_postgres(pg)
        pg_admin(pg, f"CREATE DATABASE {COPY_DB} OWNER {benchlib.OWNER}")
        pg_admin(pg, COPY_DDL + f"ALTER TABLE customers OWNER TO {benchlib.OWNER};"
                 f"ALTER TABLE subscriptions OWNER TO {benchlib.OWNER};"
                 f"ALTER TABLE payments OWNER TO {benchlib.OWNER};", db=COPY_DB)
        proc, port = benchlib.start_switchyard(
            work, pg, "switchyard", SWITCHYARD, proxy={"workers": 2},
            extra=mysql_section(my) + "\n" + benchlib.toml_table(
                "legacy", {"tables": ["customers", "subscriptions", "payments"]}))
        t0 = time.perf_counter()
        copy_through_switchyard(pg, port, "customers")
        copy_s = time.perf_counter() - t0
        pg_admin(pg, "ANALYZE customers", db=COPY_DB)
        config = work / "switchyard.toml"
        text = config.read_text().replace(f'database = "{benchlib.DB}"', f'database = "{COPY_DB}"', 1)
        vconfig = work / "verify.toml"
        vconfig.write_text(text)
        runs = []
        for _ in range(args.rounds):
            wall, rss, doc, code = run_verify_rss(vconfig, "customers",
                                                  ("--chunk-rows", str(args.chunk_rows)))
            t = doc["tables"][0] if doc else {}
            runs.append(dict(wall=wall, rss=rss, code=code, status=t.get("status"),
                             rows=t.get("rows_mysql", 0)))
            print(f"verify: {wall:.2f} s, {t.get('rows_mysql', 0) / wall:,.0f} rows/s, "
                  f"peak RSS {rss:.1f} MiB, exit {code}, {t.get('status')}", flush=True)
        pgl_s, pgl_note = run_pgloader(my, pg, work)
        if pgl_s is not None:
            print(f"pgloader: {pgl_s:.1f} s", flush=True)
        wall = statistics.median(r["wall"] for r in runs)
        rss = max(r["rss"] for r in runs)
        rows = runs[0]["rows"]
        rate = rows / wall if wall else 0
        ok = all(r["code"] == 0 and r["status"] == "match" for r in runs)
        now = datetime.datetime.now(datetime.timezone.utc)
        lines = [
            "## switchyard verify: a 1,000,000-row table",
            "",
            f"Measured {now:%Y-%m-%d %H:%M} UTC on {os.cpu_count()} CPUs by "
            f"`bench/verify_rate.py --rows {args.rows} --rounds {args.rounds} --chunk-rows "
            f"{args.chunk_rows}`: `customers` of bench/legacy/crm.sql in MariaDB, its copy in "
            "Postgres 15 made by `COPY ... TO STDOUT` through switchyard; MariaDB, Postgres and "
            "switchyard verify on this machine's loopback. Median of the rounds; peak RSS is "
            "the largest of them (getrusage of the verify process).",
            "",
            "| rows | verify wall s | rows/s | target rows/s | peak RSS MiB | target MiB | result | "
            "copy through switchyard s | pgloader s |",
            "|---:|---:|---:|---:|---:|---:|---|---:|---:|",
            f"| {rows} | {wall:.2f} | {rate:,.0f} | {TARGET_ROWS_S:,} | {rss:.1f} | {TARGET_MIB} | "
            f"{'match' if ok else 'NOT a match: ' + str([r['status'] for r in runs])} | "
            f"{copy_s:.1f} | {f'{pgl_s:.1f}' if pgl_s is not None else '—'} |",
            "",
            f"Targets: rows/s {'**met**' if rate >= TARGET_ROWS_S else '**not met**'}, memory "
            f"{'**met**' if rss < TARGET_MIB else '**not met**'}."
            + (f" {pgl_note}." if pgl_note else ""),
            f"Load average (1 min) at the end: {os.getloadavg()[0]:.2f}.",
            "",
        ]
        benchlib.write_section(Path(args.out), "verify", lines)
        print("\n".join(lines))
    finally:
        if proc is not None:
            benchlib.stop(proc)
        benchlib.stop_mariadb(my)
        benchlib.stop_postgres(pg)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
