#!/usr/bin/python3
"""Legacy reads: the same reads of the legacy customers table, served by MariaDB directly and
through switchyard, in one run.

Everything is started here, on loopback, in a temporary directory:

  MariaDB 10.11   the legacy MySQL (benchlib.start_mariadb): database crm from
                  bench/legacy/crm.sql with --rows customers, account crm_readonly (SELECT only)
  PostgreSQL 15   the Supabase stand-in (scripts/pg-supabase.sh), switchyard's upstream
  switchyard      build/switchyard (Release; $SWITCHYARD_BIN overrides), --workers workers, session pooling, a [mysql]
                  section pointing at the MariaDB as crm_readonly, [legacy] tables customers,
                  subscriptions, payments

Workloads (--workloads), one statement with its whole result per transaction:

  point   SELECT customer_id, name, email, status, balance, created_at FROM customers
          WHERE customer_id = <random id>
  range   the same columns WHERE customer_id BETWEEN <id> AND <id + 99> ORDER BY customer_id

Targets, alternated round by round (the order rotates each round) so that the machine's noise
spreads over all of them; each cell is the median over --rounds:

  mariadb-direct  build/mysql_direct (bench/mysql_direct.c, libmariadb): one thread and one
                  connection per client, text protocol with the id inlined (what a translating
                  proxy sends) and server-side prepared statements
  switchyard      pgbench -n -f bench/legacy/<workload>.sql -M extended and -M prepared
                  (pgbench -j min(clients, 2)), plaintext clients with SCRAM
  postgres-direct the same pgbench scripts against the Postgres copy of customers (seeded with
                  the same number of rows), for reference (--no-postgres skips it)

Per run: tps, latency average / p50 / p99 (mysql_direct measures every statement; pgbench's
per-transaction log, -l, gives the percentiles), CPU microseconds per transaction of switchyard
and of mariadbd (utime + stime from /proc/PID/stat) and of the client (pgbench or mysql_direct,
from getrusage of waited children). Target: switchyard >= 0.7x the direct MariaDB throughput at
8 clients (the better of text and prepared). If build/micro_translate exists its output is
included. The report replaces (or adds) the "legacy-reads" section of bench/results/latest.md
(benchlib.write_section); the rest of that file stays as it is.

Before measuring, one point and one range read go through switchyard with psql and are compared
with MariaDB's rows. When switchyard cannot serve legacy reads (its configuration loader refuses
the [mysql] section, or a read is refused with 0A000), the switchyard cells say why, the direct
cells are still measured and written, and the exit status is 3. The plumbing is then checked as
far as it goes: a 1 s pgbench run through that switchyard (or, when it did not start, through one
started without [mysql], which refuses legacy reads with 0A000) must report the refusal, and the
report quotes what it got.

Usage: bench/legacy_reads.py [--seconds 5] [--rounds 3] [--clients 8] [--rows 100000]
                             [--workloads point,range] [--workers 2] [--mysql-pool 16]
                             [--no-postgres] [--out FILE] [--keep]
Exit status: 0 all measured, 1 an error, 3 switchyard could not serve legacy reads.
"""
import argparse
import datetime
import glob
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import benchlib
from benchlib import ROOT, free_port

LEGACY_DIR = ROOT / "bench" / "legacy"
MYSQL_DIRECT_SRC = ROOT / "bench" / "mysql_direct.c"
MYSQL_DIRECT = ROOT / "build" / "mysql_direct"
MICRO_TRANSLATE = ROOT / "build" / "micro_translate"
MY_USER, MY_PASSWORD, MY_DB = "crm_readonly", "ro-secret", "crm"
LEGACY_TABLES = ["customers", "subscriptions", "payments"]
COLUMNS = "customer_id, name, email, status, balance, created_at"
CLIENT_DSN = (f"user={benchlib.APP_USER} password={benchlib.APP_PASSWORD} "
              f"dbname={benchlib.DB} sslmode=disable")
TARGET = 0.7  # switchyard tps / direct MariaDB tps at 8 clients
SECTION = "legacy-reads"
# The switchyard under test: the Release build, or $SWITCHYARD_BIN (as for the integration tests).
SWITCHYARD = Path(os.environ.get("SWITCHYARD_BIN") or benchlib.SWITCHYARD)


class Unavailable(Exception):
    """switchyard cannot serve legacy reads (yet); the message says why."""


class Target:
    def __init__(self, name, kind, mode, dsn=None, sy_pid=None):
        self.name, self.kind, self.mode, self.dsn, self.sy_pid = name, kind, mode, dsn, sy_pid
        self.unavailable = None  # reason, when this target cannot run

    @property
    def label(self):
        return f"{self.name} ({self.mode})"


# ---- setting up ----

def build_mysql_direct():
    if MYSQL_DIRECT.exists() and MYSQL_DIRECT.stat().st_mtime >= MYSQL_DIRECT_SRC.stat().st_mtime:
        return
    MYSQL_DIRECT.parent.mkdir(exist_ok=True)
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "libmariadb"], check=True,
                           capture_output=True, text=True).stdout.split()
    subprocess.run(["gcc", "-O2", "-Wall", "-Wextra", "-o", str(MYSQL_DIRECT),
                    str(MYSQL_DIRECT_SRC), *flags, "-lpthread"], check=True)


def seed_mariadb(my, rows):
    benchlib.mariadb_query(my, (LEGACY_DIR / "crm.sql").read_text().replace("@ROWS@", str(rows)))
    got = benchlib.mariadb_query(my, "SELECT count(*) FROM customers", MY_DB)
    if int(got) != rows:
        raise RuntimeError(f"crm.customers has {got} rows, expected {rows}")


def platform_sql(pg, sql):
    """sql as the postgres superuser in the platform database (the Supabase stand-in)."""
    out = subprocess.run(["runuser", "-u", "postgres", "--", "psql", "-h", str(pg["dir"]),
                          "-p", str(pg["port"]), "-d", benchlib.DB, "-v", "ON_ERROR_STOP=1",
                          "-qtAX"], input=sql, capture_output=True, text=True, cwd="/")
    if out.returncode != 0:
        raise RuntimeError(f"psql: {out.stderr.strip()}")
    return out.stdout.strip()


def seed_postgres_copy(pg, rows):
    """The migrated copy of customers in the Supabase stand-in gets MariaDB's columns and rows
    (values alike, not identical: it is only a reference for the pgbench scripts)."""
    platform_sql(pg, f"""
        ALTER TABLE customers ADD COLUMN IF NOT EXISTS balance numeric(12,2) NOT NULL DEFAULT 0;
        INSERT INTO customers (customer_id, name, phone, email, status, balance, created_at)
        SELECT i, '고객 ' || i, '010-0000-0000', 'c' || i || '@example.com',
               CASE WHEN i % 10 = 0 THEN 'inactive' ELSE 'active' END, (i * 7919) % 1000000 / 100.0,
               TIMESTAMPTZ '2020-01-01 00:00+00' + (i * 617 % 200000000) * interval '1 second'
        FROM generate_series((SELECT max(customer_id) + 1 FROM customers), {rows}) AS i;
        ANALYZE customers;""")


def mysql_section(my, pool):
    return benchlib.toml_table("mysql", {
        "host": "127.0.0.1", "port": my["port"], "database": MY_DB, "user": MY_USER,
        "password": MY_PASSWORD, "pool_size": pool, "connect_timeout_ms": 5000,
        "tls": "disable", "ssl_ca": "", "require_read_only": True, "tinyint1_as_bool": True})


LEGACY_SECTION = benchlib.toml_table("legacy", {"tables": LEGACY_TABLES})


def log_problem(work, label):
    """The lines of switchyard's log that say what went wrong (errors first)."""
    path = Path(work) / f"{label}.log"
    lines = path.read_text(errors="replace").splitlines() if path.exists() else []
    bad = [ln for ln in lines if re.search(r"level=(error|fatal)|error", ln, re.I)] or lines
    return " / ".join(ln.strip() for ln in bad[:4]) or "(empty log)"


def psql(dsn, sql):
    """One statement through psql with verbose errors: (ok, output or the error line)."""
    out = subprocess.run(["psql", dsn, "-X", "-qtA", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                          "-c", "\\set VERBOSITY verbose", "-c", sql],
                         capture_output=True, text=True, timeout=30, cwd="/")
    if out.returncode != 0:
        err = next((ln for ln in out.stderr.splitlines() if ln.startswith("ERROR:")),
                   out.stderr.strip())
        return False, err
    return True, out.stdout.strip()


def preflight(dsn, my):
    """A point and a range read through switchyard, compared with MariaDB's own rows. Raises
    Unavailable on a refusal; returns a list of warnings (rows that differ)."""
    warnings = []
    checks = [("point", f"SELECT {COLUMNS} FROM customers WHERE customer_id = 1"),
              ("range", f"SELECT {COLUMNS} FROM customers WHERE customer_id BETWEEN 1 AND 100 "
                        "ORDER BY customer_id")]
    for name, sql in checks:
        good, got = psql(dsn, sql)
        if not good:
            raise Unavailable(f"switchyard refused the {name} read: `{got}`")
        want = benchlib.mariadb_query(my, sql, MY_DB)
        if got != want:
            g, w = got.splitlines(), want.splitlines()
            first = next((i for i in range(min(len(g), len(w))) if g[i] != w[i]), min(len(g), len(w)))
            warnings.append(f"{name} read: switchyard's rows differ from MariaDB's "
                            f"({len(g)} rows vs {len(w)}; first difference: "
                            f"`{g[first] if first < len(g) else '(none)'}` vs "
                            f"`{w[first] if first < len(w) else '(none)'}`)")
    return warnings


# --cutover: the same switchyard with the cutover configured and every weight 0, so that what
# the cutover costs a legacy read that stays on MySQL (placement, accounting) is measured.
CUTOVER_SECTIONS = "\n".join([
    benchlib.toml_table("cutover", {"key": "user,application_name", "shadow_percent": 0}),
    'groups = [["customers", "subscriptions"]]',
    benchlib.toml_table("cutover.weights", {"customers": 0, "subscriptions": 0, "payments": 0}),
])


# --shadow: as --cutover, with shadow_percent = 5 and an admin port to read the shadow counts
# from, so that what shadow reads cost the client's latency is measured against --cutover's.
def shadow_sections(admin_port):
    return "\n".join([
        CUTOVER_SECTIONS.replace("shadow_percent = 0", "shadow_percent = 5"),
        benchlib.toml_table("admin", {"listen": f"127.0.0.1:{admin_port}"}),
    ])


def shadow_counts(admin_port):
    """switchyard_shadow_total by result, and the skipped count, from /metrics."""
    import urllib.request
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/metrics", timeout=10) as r:
            text = r.read().decode()
    except OSError as e:
        return f"/metrics unreachable: {e}"
    counts = {}
    for m in re.finditer(r'^switchyard_shadow_total\{table="[^"]+",result="(\w+)"\} (\d+)$',
                         text, re.M):
        counts[m.group(1)] = counts.get(m.group(1), 0) + int(m.group(2))
    m = re.search(r"^switchyard_shadow_skipped_total (\d+)$", text, re.M)
    counts["skipped"] = int(m.group(1)) if m else None
    return ", ".join(f"{k} {v}" for k, v in counts.items())


def start_switchyard(work, pg, my, args, label="switchyard", more=""):
    """switchyard with [mysql]: (process, dsn), or Unavailable when it does not start."""
    proxy = {"workers": args.workers, "pool_mode": "session"}
    try:
        proc, port = benchlib.start_switchyard(work, pg, label, SWITCHYARD, proxy=proxy,
                                               supabase={"pool_size": 20},
                                               extra=mysql_section(my, args.mysql_pool)
                                               + "\n" + LEGACY_SECTION + "\n" + more)
    except TimeoutError:
        raise Unavailable("switchyard did not start with a [mysql] section: "
                          f"`{log_problem(work, 'switchyard')}`") from None
    return proc, f"host=127.0.0.1 port={port} {CLIENT_DSN}"


def check_plumbing(work, pg, args, rows, dsn=None):
    """What a short pgbench run through switchyard gets when it refuses legacy reads: through
    <dsn>, or through a switchyard started without [mysql] (which must refuse with 0A000)."""
    proc = None
    if dsn is None:
        proc, port = benchlib.start_switchyard(work, pg, "switchyard-nomysql", SWITCHYARD,
                                               proxy={"workers": args.workers},
                                               extra=LEGACY_SECTION)
        dsn = f"host=127.0.0.1 port={port} {CLIENT_DSN}"
    try:
        said = ""
        if proc is not None:
            good, out = psql(dsn, f"SELECT {COLUMNS} FROM customers WHERE customer_id = 1")
            said = f"without [mysql], psql gets `{out if not good else 'rows: ' + out}`; "
        res = run_pgbench(Target("switchyard", "pgbench", "extended", dsn), "point", 2, 1, rows,
                          Path(work))
        return (said + f"a 1 s `pgbench -M extended` run through it: "
                f"`{res['error'] or 'no error'}` ({res['aborted']} of 2 clients aborted, "
                f"{res['txns']} transactions)")
    finally:
        if proc is not None:
            benchlib.stop(proc)


# ---- running ----

def child_cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_mysql_direct(t, workload, clients, seconds, rows, my):
    cmd = [str(MYSQL_DIRECT), "--host", "127.0.0.1", "--port", str(my["port"]), "--user", MY_USER,
           "--password", MY_PASSWORD, "--database", MY_DB, "--clients", str(clients),
           "--seconds", str(seconds), "--rows", str(rows), "--workload", workload,
           "--mode", t.mode]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    try:
        j = json.loads(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise RuntimeError(f"mysql_direct: unexpected output {out.stdout!r} {out.stderr!r}")
    return dict(tps=j["tps"] if j["txns"] else None, lat=j["lat_avg_ms"], p50=j["lat_p50_ms"],
                p99=j["lat_p99_ms"], txns=j["txns"], aborted=j["errors"], failed=0,
                error=j.get("error"))


def pgbench_percentiles(prefix):
    """p50 and p99 (ms) from pgbench's per-transaction logs <prefix>.*; removes them."""
    lat = []
    for f in glob.glob(f"{prefix}.*"):
        with open(f) as fh:
            for line in fh:
                parts = line.split()
                if len(parts) >= 3 and parts[2].isdigit():
                    lat.append(int(parts[2]))
        os.unlink(f)
    if not lat:
        return None, None
    lat.sort()
    return lat[(len(lat) - 1) // 2] / 1000, lat[int((len(lat) - 1) * 0.99)] / 1000


def run_pgbench(t, workload, clients, seconds, rows, work):
    logdir = work / "pgbench-logs"
    logdir.mkdir(exist_ok=True)
    prefix = logdir / "txn"
    cmd = ["pgbench", "-n", "-f", str(LEGACY_DIR / f"{workload}.sql"), "-D", f"rows={rows}",
           "-M", t.mode, "-c", str(clients), "-j", str(min(clients, 2)), "-T", str(seconds),
           "-l", f"--log-prefix={prefix}", t.dsn]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120, cwd=logdir)
    text = out.stdout

    def num(pattern, cast=float):
        m = re.search(pattern, text)
        return cast(m.group(1)) if m else None

    p50, p99 = pgbench_percentiles(prefix)
    errors = [re.sub(r"^(pgbench: )+", "pgbench: ", ln) for ln in out.stderr.splitlines()
              if "error" in ln.lower() and "Run was aborted" not in ln]
    res = dict(tps=num(r"tps = ([\d.]+) \(without initial"), lat=num(r"latency average = ([\d.]+) ms"),
               p50=p50, p99=p99, txns=num(r"number of transactions actually processed: (\d+)", int) or 0,
               failed=num(r"number of failed transactions: (\d+)", int) or 0,
               aborted=len(re.findall(r"client \d+ .*aborted", out.stderr)), error=None)
    if out.returncode != 0 or errors:
        res["error"] = errors[0] if errors else f"exit {out.returncode}: {out.stderr.strip()[:300]}"
    if not res["txns"]:
        res["tps"] = None
    return res


def run_one(t, workload, clients, args, my, work):
    pids = {} if t.name == "postgres-direct" else {"mariadbd": my["proc"].pid}
    if t.sy_pid:
        pids["switchyard"] = t.sy_pid
    before = {k: benchlib.cpu_seconds(p) for k, p in pids.items()}
    c0 = child_cpu()
    if t.kind == "mysql_direct":
        res = run_mysql_direct(t, workload, clients, args.seconds, args.rows, my)
    else:
        res = run_pgbench(t, workload, clients, args.seconds, args.rows, work)
    client = child_cpu() - c0
    for k in ("switchyard", "mariadbd", "client", "total"):
        res[f"cpu_{k}"] = None
    if res["txns"]:
        for k, p in pids.items():
            res[f"cpu_{k}"] = (benchlib.cpu_seconds(p) - before[k]) * 1e6 / res["txns"]
        res["cpu_client"] = client * 1e6 / res["txns"]
        if "mariadbd" in pids:  # the whole chain: what a machine of this size has to spend
            res["cpu_total"] = sum(res[f"cpu_{k}"] for k in ("switchyard", "mariadbd", "client")
                                   if res[f"cpu_{k}"] is not None)
    return res


def fmt(v, spec):
    return "—" if v is None else format(v, spec)


def measure(targets, args, my, work, results):
    for workload in args.workloads:
        for c in args.clients:
            for r in range(args.rounds):
                order = targets[r % len(targets):] + targets[:r % len(targets)]
                for t in order:
                    if t.unavailable:
                        continue
                    res = run_one(t, workload, c, args, my, work)
                    results.setdefault((workload, c, t.label), []).append(res)
                    print(f"{workload:5} c={c:<3} {t.label:30} tps={fmt(res['tps'], '9.0f')} "
                          f"lat={fmt(res['lat'], '.3f')}ms p99={fmt(res['p99'], '.3f')}ms "
                          f"cpu/txn sy={fmt(res['cpu_switchyard'], '.1f')} "
                          f"my={fmt(res['cpu_mariadbd'], '.1f')} "
                          f"client={fmt(res['cpu_client'], '.1f')}us"
                          + (f" error: {res['error']}" if res["error"] else ""), flush=True)


# ---- the report ----

def median(runs, key):
    vals = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(vals) if vals else None


def cell(runs):
    good = [r for r in runs if r["error"] is None and r["tps"] is not None] or runs
    m = {k: median(good, k) for k in ("tps", "lat", "p50", "p99", "cpu_switchyard",
                                       "cpu_mariadbd", "cpu_client", "cpu_total")}
    m["failed"] = sum(r["failed"] + r["aborted"] for r in runs)
    m["error"] = next((r["error"] for r in runs if r["error"]), None)
    m["ok"] = all(r["error"] is None and r["tps"] is not None for r in runs)
    return m


def micro_lines():
    if not MICRO_TRANSLATE.exists():
        return [f"`build/micro_translate` not built (scripts/build.sh Release builds it)."]
    out = subprocess.run([str(MICRO_TRANSLATE)], capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        return [f"`build/micro_translate` failed: `{out.stderr.strip()[:300]}`"]
    return ["```", *out.stdout.rstrip().splitlines(), "```"]


def report(args, targets, results, status, notes):
    now = datetime.datetime.now(datetime.timezone.utc)
    cmdline = " ".join(["bench/legacy_reads.py"] + sys.argv[1:])
    if os.environ.get("SWITCHYARD_BIN"):
        cmdline = f"SWITCHYARD_BIN={SWITCHYARD} " + cmdline
    lines = [
        "## Legacy reads: direct MariaDB vs switchyard",
        "",
        f"Measured {now:%Y-%m-%d %H:%M} UTC on {os.cpu_count()} CPUs by `{cmdline}`: "
        f"{args.seconds} s per run, median of {args.rounds} alternating rounds, "
        f"`customers` with {args.rows} rows in MariaDB {mariadb_version()} (InnoDB, "
        "utf8mb4_general_ci) on loopback. Workloads, one statement with its whole result per "
        "transaction: *point* = `SELECT customer_id, name, email, status, balance, created_at "
        "FROM customers WHERE customer_id = <random>`, *range* = the same columns `WHERE "
        "customer_id BETWEEN <id> AND <id + 99> ORDER BY customer_id` (100 rows). "
        "*mariadb-direct* = `bench/mysql_direct.c` on libmariadb, one thread and connection per "
        "client, *text* = the id inlined in a text-protocol query (what switchyard sends), "
        "*prepared* = server-side prepared statements. *switchyard* = "
        f"`pgbench -n -f bench/legacy/<workload>.sql -M extended|prepared -j min(clients, 2)`, "
        f"{args.workers} workers, session pooling, `[mysql] pool_size = {args.mysql_pool}`, "
        "plaintext SCRAM clients. *postgres-direct* = the same scripts against the Postgres copy "
        "of the table (TLS, SCRAM), for reference. CPU = utime+stime per transaction of "
        "switchyard, of mariadbd and of the client program (pgbench or mysql_direct); total = "
        "their sum, which bounds tps when they all share this machine's CPUs. "
        "p50/p99 from every transaction (mysql_direct's own timing, pgbench's `-l` log).",
        "",
        f"Target: switchyard ≥ {TARGET}× the direct MariaDB tps at 8 clients (the better of text "
        "and prepared).",
        "",
    ]
    if status:
        lines += [f"**switchyard: not measured.** {status}", ""]
    lines += ["| workload | clients | target | tps | avg ms | p50 ms | p99 ms | CPU µs/txn "
              "switchyard | CPU µs/txn mariadbd | CPU µs/txn client | CPU µs/txn total | vs direct text | "
              "vs direct prepared | ≥ 0.7× direct | failed | first error |",
              "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|"]
    verdicts = []
    for workload in args.workloads:
        for c in args.clients:
            direct = {m: cell(results.get((workload, c, f"mariadb-direct ({m})"), []) or
                              [dict(tps=None, error="not run", failed=0, aborted=0)])
                      for m in ("text", "prepared")}
            best = max((d["tps"] for d in direct.values() if d["tps"]), default=None)
            for t in targets:
                runs = results.get((workload, c, t.label))
                if not runs:
                    lines.append(f"| {workload} | {c} | {t.label} | — | — | — | — | — | — | — | "
                                 f"— | — | — | — | — | {t.unavailable or 'not run'} |")
                    continue
                m = cell(runs)
                ours = t.name == "switchyard"
                rt = m["tps"] / direct["text"]["tps"] if m["tps"] and direct["text"]["tps"] else None
                rp = (m["tps"] / direct["prepared"]["tps"]
                      if m["tps"] and direct["prepared"]["tps"] else None)
                good = None
                if ours and c == 8:
                    good = bool(m["ok"] and best and m["tps"] / best >= TARGET)
                    bd = max(direct.values(), key=lambda d: d["tps"] or 0)
                    cpu = (bd["cpu_total"] / m["cpu_total"]
                           if bd.get("cpu_total") and m["cpu_total"] else None)
                    verdicts.append((workload, t.mode, good,
                                     m["tps"] / best if best and m["tps"] else None, cpu))
                err = (f"`{m['error']}`" if m["error"] else "").replace("|", "\\|")
                lines.append(
                    f"| {workload} | {c} | {t.label} | {fmt(m['tps'], '.0f')} | {fmt(m['lat'], '.3f')} "
                    f"| {fmt(m['p50'], '.3f')} | {fmt(m['p99'], '.3f')} | "
                    f"{fmt(m['cpu_switchyard'], '.1f')} | {fmt(m['cpu_mariadbd'], '.1f')} | "
                    f"{fmt(m['cpu_client'], '.1f')} | {fmt(m['cpu_total'], '.1f')} | {fmt(rt, '.2f')} | {fmt(rp, '.2f')} | "
                    f"{'—' if good is None else ('**pass**' if good else '**FAIL**')} | "
                    f"{m['failed']} | {err} |")
    lines.append("")
    for workload in args.workloads:
        for c in args.clients:
            for mode in ("extended", "prepared"):
                base = results.get((workload, c, f"switchyard ({mode})"))
                with_cut = results.get((workload, c, f"switchyard-cutover ({mode})"))
                if not base or not with_cut:
                    continue
                b, w = cell(base), cell(with_cut)
                if b["tps"] and w["tps"]:
                    lines.append(f"Cutover at weight 0, {workload} -M {mode}, {c} clients: "
                                 f"{w['tps'] / b['tps']:.3f}x the tps without [cutover] "
                                 f"(target >= 0.97), CPU µs/txn of switchyard "
                                 f"{fmt(w['cpu_switchyard'], '.1f')} vs {fmt(b['cpu_switchyard'], '.1f')}.")
                with_shadow = results.get((workload, c, f"switchyard-shadow ({mode})"))
                if with_shadow:
                    sh = cell(with_shadow)
                    if sh["p99"] and w["p99"]:
                        lines.append(
                            f"Shadow reads at 5 %, {workload} -M {mode}, {c} clients: client p99 "
                            f"{sh['p99']:.3f} ms vs {w['p99']:.3f} ms without shadows "
                            f"({(sh['p99'] / w['p99'] - 1) * 100:+.1f} %, target <= +10 %), "
                            f"p50 {fmt(sh['p50'], '.3f')} vs {fmt(w['p50'], '.3f')} ms, tps "
                            f"{fmt(sh['tps'] / w['tps'] if sh['tps'] and w['tps'] else None, '.3f')}x.")
    lines.append("")
    if verdicts:
        passed = sum(1 for v in verdicts if v[2])
        lines.append(f"Targets met at 8 clients: {passed} of {len(verdicts)} ("
                     + ", ".join(f"{w} -M {mode}: {fmt(r, '.2f')}×" for w, mode, _, r, _ in verdicts)
                     + " of the better direct MariaDB mode).")
        lines.append("")
        lines.append(
            "Client, proxy and MariaDB share this machine's CPUs, so tps is about CPUs / total CPU "
            "per transaction, and the ratio to direct MariaDB is bounded by the ratio of the "
            "totals (direct / switchyard; 1.0 would be a free proxy on separate hardware): "
            + ", ".join(f"{w} -M {mode}: {fmt(cr, '.2f')}" for w, mode, _, _, cr in verdicts)
            + ". switchyard's own CPU per transaction is the column to watch; mariadbd's grows "
            "when its queries arrive less batched.")
    elif 8 in args.clients:
        lines.append("Targets at 8 clients: not evaluated (no switchyard numbers).")
    lines.append("Failed = aborted clients plus failed transactions, summed over rounds.")
    for n in notes:
        lines += ["", n]
    lines += ["", "### Translation cost per statement (`build/micro_translate`)", ""] + micro_lines()
    benchlib.write_section(Path(args.out), SECTION, lines)


def loadavg():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def mariadb_version():
    out = subprocess.run(["mariadbd", "--version"], capture_output=True, text=True)
    m = re.search(r"Ver ([\d.]+)", out.stdout)
    return m.group(1) if m else "?"


# ---- main ----

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--clients", default="8", help="comma-separated, e.g. 1,8,16")
    ap.add_argument("--rows", type=int, default=100000, help="customers rows (at least 100)")
    ap.add_argument("--workloads", default="point,range")
    ap.add_argument("--workers", type=int, default=2, help="switchyard workers")
    ap.add_argument("--mysql-pool", type=int, default=16, help="switchyard [mysql] pool_size")
    ap.add_argument("--no-postgres", action="store_true", help="skip the postgres-direct reference")
    ap.add_argument("--cutover", action="store_true",
                    help="also a switchyard with [cutover] at weight 0 (the cutover's cost)")
    ap.add_argument("--shadow", action="store_true",
                    help="also a switchyard with shadow_percent = 5 (implies --cutover): p99 cost")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "latest.md"))
    ap.add_argument("--keep", action="store_true",
                    help="keep the temporary directory (configurations, logs, data)")
    args = ap.parse_args()
    args.clients = [int(c) for c in args.clients.split(",")]
    args.workloads = args.workloads.split(",")
    if not set(args.workloads) <= {"point", "range"}:
        ap.error("--workloads takes point and/or range")
    if args.rows < 100:
        ap.error("--rows must be at least 100 (the range read takes 100)")
    if not SWITCHYARD.exists():
        sys.exit(f"{SWITCHYARD} is missing: scripts/build.sh Release")
    build_mysql_direct()

    work = Path(tempfile.mkdtemp(prefix="sy-legacy-"))
    work.chmod(0o755)  # the postgres and mysql users must reach their directories inside
    pg = {"dir": work / "supabase", "port": free_port()}
    my = {"dir": work / "mariadb", "port": free_port()}
    procs, status, notes = [], None, []
    try:
        benchlib.start_mariadb(my)
        seed_mariadb(my, args.rows)
        benchlib.start_postgres(pg)
        targets = [Target("mariadb-direct", "mysql_direct", "text"),
                   Target("mariadb-direct", "mysql_direct", "prepared")]
        sy = [Target("switchyard", "pgbench", "extended"), Target("switchyard", "pgbench", "prepared")]
        targets += sy
        cut, shd = [], []
        if args.shadow:
            args.cutover = True
            shd = [Target("switchyard-shadow", "pgbench", m) for m in ("extended", "prepared")]
        if args.cutover:
            cut = [Target("switchyard-cutover", "pgbench", m) for m in ("extended", "prepared")]
            targets += cut + shd
        try:
            dsn = None
            proc, dsn = start_switchyard(work, pg, my, args)
            procs.append(proc)
            notes += [f"Warning: {w}" for w in preflight(dsn, my)]
            for t in sy:
                t.dsn, t.sy_pid = dsn, proc.pid
            if cut:
                cproc, cdsn = start_switchyard(work, pg, my, args, "switchyard-cutover",
                                               CUTOVER_SECTIONS)
                procs.append(cproc)
                for t in cut:
                    t.dsn, t.sy_pid = cdsn, cproc.pid
            if shd:
                args.admin_port = free_port()
                sproc, sdsn = start_switchyard(work, pg, my, args, "switchyard-shadow",
                                               shadow_sections(args.admin_port))
                procs.append(sproc)
                for t in shd:
                    t.dsn, t.sy_pid = sdsn, sproc.pid
        except Unavailable as e:
            status = str(e)
            print(f"legacy_reads: switchyard cannot serve legacy reads: {status}", file=sys.stderr)
            plumbing = check_plumbing(work, pg, args, args.rows, dsn)
            status += f" Plumbing: {plumbing}."
            print(f"legacy_reads: plumbing: {plumbing}", file=sys.stderr)
            for t in sy:
                t.unavailable = "switchyard cannot serve legacy reads (see above)"
        if not args.no_postgres or shd:
            seed_postgres_copy(pg, args.rows)  # also the copy the shadow reads compare with
        if not args.no_postgres:
            dsn = (f"host=127.0.0.1 port={pg['port']} user={benchlib.OWNER} "
                   f"password={benchlib.OWNER_PASSWORD} dbname={benchlib.DB} sslmode=require")
            targets += [Target("postgres-direct", "pgbench", m, dsn) for m in ("extended", "prepared")]
        results = {}
        load0 = loadavg()
        measure(targets, args, my, work, results)
        if shd:
            notes.append(f"Shadow reads of switchyard-shadow over the whole run: "
                         f"{shadow_counts(args.admin_port)} (the Postgres copy's rows are alike, "
                         "not identical — see seed_postgres_copy — so compared reads count as "
                         "mismatches; what is measured is what comparing costs the clients).")
        notes.append(f"Load average (1 min) before / after the measurements: {load0} / "
                     f"{loadavg()} (this benchmark's own processes included; on {os.cpu_count()} "
                     "CPUs anything above that is other work competing for them).")
        report(args, targets, results, status, notes)
    finally:
        for p in procs:
            benchlib.stop(p)
        benchlib.stop_mariadb(my)
        benchlib.stop_postgres(pg)
        if args.keep:
            print(f"legacy_reads: kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 3 if status else 0


if __name__ == "__main__":
    sys.exit(main())
