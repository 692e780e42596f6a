#!/usr/bin/python3
"""pgbench -S through: Postgres directly, PgBouncer, switchyard (1 and 2 workers).

One local PostgreSQL 15 configured like Supabase (TLS, SCRAM; started by
scripts/pg-supabase.sh) is the upstream for everyone. Both proxies use the
same TLS upstream (verify-full) and the same forced upstream user; clients
reach them in plaintext with SCRAM. Targets are run alternately, round after
round, so that the machine's noise spreads over all of them; each cell reports
the median over rounds.

Two sections, each with its own freshly started proxies:

  session      pgbench -S -M simple|extended|prepared, 1/8/32 clients; PgBouncer
               pool_mode = session, switchyard pool_mode = "session" (pool 64),
               plus switchyard built with routing skipped (what the router costs).
               Compared with the committed bench/results/latest.md as well.
  transaction  64 clients over a pool of 16, PgBouncer pool_mode = transaction,
               switchyard pool_mode = "transaction": -M extended, -M prepared and
               a connection storm (-C, a new connection per transaction, -M extended).

For each run the proxy's CPU time is read from /proc/PID/stat before and after,
giving CPU microseconds per transaction, and pg_stat_database.sessions of the
platform database before and after, giving the upstream logins during the run.

Usage: bench/pgbench_compare.py [--sections session,transaction] [--seconds N] [--rounds N]
                                [--clients 1,8,32] [--modes simple,extended,prepared]
                                [--txn-tests extended,prepared,connect] [--txn-clients 64]
                                [--txn-pool 16] [--out FILE]
"""
import argparse
import datetime
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import benchlib
from benchlib import ROOT, SWITCHYARD, SWITCHYARD_NOROUTER, free_port

CLK_TCK = os.sysconf("SC_CLK_TCK")
LEGACY = '[legacy]\ntables = ["customers", "subscriptions", "payments"]\n'
CLIENT_DSN = (f"user={benchlib.APP_USER} password={benchlib.APP_PASSWORD} "
              f"dbname={benchlib.DB} sslmode=disable")
# The transaction-mode tests: label -> (pgbench -M mode, new connection per transaction).
TXN_TESTS = {"extended": ("extended", False), "prepared": ("prepared", False),
             "connect": ("extended", True)}
PROXIES = ("direct", "pgbouncer")  # targets that are not switchyard


def cpu_ticks(pid):
    """utime + stime of a process (all threads), in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


class Target:
    def __init__(self, name, dsn, proc=None):
        self.name = name
        self.dsn = dsn
        self.proc = proc
        self.pid = proc.pid if proc else None


def direct_target(pg):
    return Target("direct", f"host=127.0.0.1 port={pg['port']} user={benchlib.OWNER} "
                  f"password={benchlib.OWNER_PASSWORD} dbname={benchlib.DB} sslmode=require")


def switchyard(work, pg, name, workers, pool_mode, pool_size, binary=SWITCHYARD):
    proc, port = benchlib.start_switchyard(
        work, pg, name, binary, proxy={"workers": workers, "pool_mode": pool_mode},
        supabase={"pool_size": pool_size}, extra=LEGACY)
    return Target(name, f"host=127.0.0.1 port={port} {CLIENT_DSN}", proc)


def pgbouncer(work, pg, name, pool_mode, pool_size):
    # auth_file holds the clear-text password, so PgBouncer derives a SCRAM verifier (4096
    # PBKDF2 rounds) at every client login, where switchyard derives it once at start-up. A
    # verifier in auth_file would avoid that, but PgBouncer 1.18 then fails the upstream login
    # of the forced user ("password authentication failed for user platform_owner").
    proc, port = benchlib.start_pgbouncer(work, pg, name, {
        "auth_type": "scram-sha-256", "pool_mode": pool_mode, "default_pool_size": pool_size,
        "max_client_conn": 1000, "client_tls_sslmode": "disable"})
    return Target("pgbouncer", f"host=127.0.0.1 port={port} {CLIENT_DSN}", proc)


def session_targets(work, pg, args):
    targets = [direct_target(pg), pgbouncer(work, pg, "pgbouncer-session", "session", 64),
               switchyard(work, pg, "switchyard-1w", 1, "session", 64),
               switchyard(work, pg, "switchyard-2w", 2, "session", 64)]
    if SWITCHYARD_NOROUTER.exists() and not args.no_router_baseline:
        # Same proxy, routing skipped: what the router costs (target: under 5% tps).
        targets.append(switchyard(work, pg, "norouter-1w", 1, "session", 64, SWITCHYARD_NOROUTER))
    return targets


def transaction_targets(work, pg, args):
    return [direct_target(pg),
            pgbouncer(work, pg, "pgbouncer-transaction", "transaction", args.txn_pool),
            switchyard(work, pg, "switchyard-1w", 1, "transaction", args.txn_pool),
            switchyard(work, pg, "switchyard-2w", 2, "transaction", args.txn_pool)]


def pgbench(target, pg, mode, clients, threads, seconds, connect=False):
    """One pgbench -S run. A run whose clients abort (pgbench exits 2) is recorded, not raised:
    PgBouncer 1.18 cannot run -M prepared in transaction mode, and that is a result."""
    cmd = ["pgbench", "-n", "-S", "-M", mode, "-c", str(clients), "-j", str(threads),
           "-T", str(seconds)] + (["-C"] if connect else []) + [target.dsn]
    logins = benchlib.upstream_logins(pg)
    before = cpu_ticks(target.pid) if target.pid else None
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
    after = cpu_ticks(target.pid) if target.pid else None
    logins = benchlib.upstream_logins(pg) - logins
    text = out.stdout

    def num(pattern, cast=float):
        m = re.search(pattern, text)
        return cast(m.group(1)) if m else None

    txns = num(r"number of transactions actually processed: (\d+)", int) or 0
    res = dict(tps=num(r"tps = ([\d.]+) \((?:without initial|including reconnection)"),
               lat=num(r"latency average = ([\d.]+) ms"),
               failed=num(r"number of failed transactions: (\d+)", int) or 0,
               aborted=len(re.findall(r"client \d+ .*aborted", out.stderr)),
               txns=txns, logins=logins, rc=out.returncode, error=None, cpu_us=None)
    # pgbench's closing "Run was aborted" line says nothing about the cause.
    errors = [line for line in out.stderr.splitlines()
              if "error" in line.lower() and "Run was aborted" not in line]
    if out.returncode != 0 or errors:
        res["error"] = errors[0] if errors else f"exit {out.returncode}: {out.stderr.strip()[:200]}"
    # Which errors, how often: client numbers and statement names aside, a handful of kinds.
    res["kinds"] = {}
    for line in errors:
        kind = re.sub(r'\d+', 'N', line.split("ERROR:", 1)[-1].strip())
        res["kinds"][kind] = res["kinds"].get(kind, 0) + 1
    if res["tps"] is None and out.returncode == 0:
        raise RuntimeError(f"unexpected pgbench output from {target.name}:\n{text}\n{out.stderr}")
    if before is not None and txns:
        res["cpu_us"] = (after - before) * 1e6 / CLK_TCK / txns
    return res


def ok(res):
    return res["error"] is None and res["aborted"] == 0 and res["tps"] is not None


def fmt(v, spec):
    return "—" if v is None else format(v, spec)


def median(runs, key):
    vals = [r[key] for r in runs if r[key] is not None]
    return statistics.median(vals) if vals else None


def run_cells(cells, targets, args, pg, results):
    """cells: [(section, test label, pgbench mode, clients, threads, connect)]."""
    for section, label, mode, c, threads, connect in cells:
        for r in range(args.rounds):
            # Rotate the order each round so no target always runs first.
            order = targets[r % len(targets):] + targets[:r % len(targets)]
            for t in order:
                res = pgbench(t, pg, mode, c, threads, args.seconds, connect)
                results.setdefault((section, label, c, t.name), []).append(res)
                print(f"{section:11} {label:9} c={c:<3} {t.name:14} tps={fmt(res['tps'], '9.0f')} "
                      f"lat={fmt(res['lat'], '.3f')}ms cpu/txn={fmt(res['cpu_us'], '.1f')}us "
                      f"logins={res['logins']} failed={res['failed']} aborted={res['aborted']}"
                      + (f" error: {res['error']}" if res["error"] else ""), flush=True)


def stop_targets(targets):
    for t in targets:
        if t.proc is not None:
            benchlib.stop(t.proc)


def committed_baseline(spec):
    """Session-mode cells of earlier results, spec = a file or git's REV:PATH:
    (mode, clients, target) -> {column: text}."""
    if Path(spec).exists():
        text = Path(spec).read_text()
    else:
        text = subprocess.run(["git", "-C", str(ROOT), "show", spec], capture_output=True,
                              text=True, check=True).stdout
    rows, header = {}, None
    for line in text.splitlines():
        if line.startswith("| mode | clients | target |"):
            header = [c.strip() for c in line.strip("|").split("|")]
        elif header and line.startswith("|"):
            cols = [c.strip() for c in line.strip("|").split("|")]
            if len(cols) == len(header) and cols[1].isdigit():
                row = dict(zip(header, cols))
                rows[(row["mode"], int(row["clients"]), row["target"])] = row
        elif header:
            break  # the first table is the session-mode one
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sections", default="session,transaction",
                    help="which sections to run: session, transaction or both")
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--clients", default="1,8,32", help="session section")
    ap.add_argument("--modes", default="simple,extended,prepared", help="session section")
    ap.add_argument("--txn-tests", default=",".join(TXN_TESTS),
                    help="transaction section: extended, prepared, connect (-C -M extended)")
    ap.add_argument("--txn-clients", type=int, default=64)
    ap.add_argument("--txn-pool", type=int, default=16,
                    help="switchyard pool_size and PgBouncer default_pool_size")
    ap.add_argument("--scale", type=int, default=10)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "latest.md"))
    ap.add_argument("--baseline", default="HEAD:bench/results/latest.md",
                    help="session-mode results to compare with: a file or git's REV:PATH")
    ap.add_argument("--tolerance", type=float, default=0.05,
                    help="session target: tps vs PgBouncer may be this much below the baseline's")
    ap.add_argument("--no-router-baseline", action="store_true",
                    help="skip the build-norouter target")
    args = ap.parse_args()
    sections = args.sections.split(",")
    if not set(sections) <= {"session", "transaction"}:
        ap.error("--sections takes session and/or transaction")
    clients = [int(c) for c in args.clients.split(",")]
    modes = args.modes.split(",")
    txn_tests = args.txn_tests.split(",")
    if not set(txn_tests) <= set(TXN_TESTS):
        ap.error(f"--txn-tests takes {', '.join(TXN_TESTS)}")
    baseline = committed_baseline(args.baseline)

    work = Path(tempfile.mkdtemp(prefix="sy-bench-"))
    work.chmod(0o755)  # the postgres user must reach the data directory inside
    pg = {"dir": work / "supabase", "port": free_port()}
    results, names = {}, {}
    targets = []
    try:
        benchlib.start_postgres(pg)
        subprocess.run(["pgbench", "-i", "-q", "-s", str(args.scale), direct_target(pg).dsn],
                       check=True, capture_output=True)
        if "session" in sections:
            targets = session_targets(work, pg, args)
            names["session"] = [t.name for t in targets]
            run_cells([("session", m, m, c, min(c, 2), False) for m in modes for c in clients],
                      targets, args, pg, results)
            stop_targets(targets)
            targets = []
        if "transaction" in sections:
            targets = transaction_targets(work, pg, args)
            names["transaction"] = [t.name for t in targets]
            # -j 2 (one pgbench thread per core), not one thread per client: -S has no explicit
            # transaction, so every pgbench transaction is one segment ending in Sync and both
            # poolers give the upstream back when they relay its ReadyForQuery, whether or not
            # pgbench has read it. A thread blocked in a synchronous call (PQprepare the first
            # time a client runs the statement under -M prepared, PQconnectdb under -C) thus
            # never keeps another client of that thread holding an upstream that the blocked
            # call waits for: the deadlock of test_pgbench_many_clients needs a client that
            # holds an upstream across statements (BEGIN ... COMMIT), which -S never does.
            # More threads than cores would only add pgbench's own scheduling noise.
            run_cells([("transaction", name, TXN_TESTS[name][0], args.txn_clients, 2,
                        TXN_TESTS[name][1]) for name in txn_tests], targets, args, pg, results)
        write_report(args, results, names, modes, clients, txn_tests, baseline)
    finally:
        stop_targets(targets)
        benchlib.stop_postgres(pg)
        shutil.rmtree(work, ignore_errors=True)


# ---- the report ----

def cell(runs):
    """The medians of one (section, test, clients, target) and what went wrong in it."""
    good = [r for r in runs if ok(r)] or runs
    return dict(tps=median(good, "tps"), lat=median(good, "lat"), cpu=median(good, "cpu_us"),
                logins=median(runs, "logins"), failed=sum(r["failed"] for r in runs),
                aborted=sum(r["aborted"] for r in runs), ok=all(ok(r) for r in runs),
                error=next((r["error"] for r in runs if r["error"]), None),
                kinds={k: sum(r["kinds"].get(k, 0) for r in runs)
                       for r0 in runs for k in r0["kinds"]})


def ratio(a, b):
    return a / b if a is not None and b else None


def verdict(good):
    return "—" if good is None else ("**pass**" if good else "**FAIL**")


def header(args):
    return [
        "# pgbench -S: direct vs PgBouncer vs switchyard",
        "",
        f"Measured {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC on "
        f"{os.cpu_count()} CPUs by `bench/pgbench_compare.py --sections {args.sections} "
        f"--seconds {args.seconds} --rounds {args.rounds}`; scale {args.scale}, median of "
        f"{args.rounds} alternating rounds. Upstream: local PostgreSQL 15 over TLS (verify-full), "
        "SCRAM. Proxies: plaintext clients with SCRAM, PgBouncer 1.18. CPU = proxy process "
        "utime+stime per transaction. Upstream logins = growth of `pg_stat_database.sessions` "
        "of the platform database during one run (median over rounds; for direct, pgbench's own "
        "connections).",
    ]


def session_report(args, results, targets, modes, clients, baseline):
    lines = [
        "", "## Session pooling", "",
        "PgBouncer `pool_mode = session`, `default_pool_size = 64`; switchyard "
        "`pool_mode = \"session\"`, `pool_size = 64`; `pgbench -j` = min(clients, 2).", "",
        "| mode | clients | target | tps | avg latency ms | CPU µs/txn | tps vs PgBouncer | "
        "CPU vs PgBouncer | failed | upstream logins/run |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    cmp_lines = []
    for mode in modes:
        for c in clients:
            base = cell(results[("session", mode, c, "pgbouncer")])
            for t in targets:
                m = cell(results[("session", mode, c, t)])
                ours = t not in PROXIES
                tr = ratio(m["tps"], base["tps"]) if ours else None
                cr = ratio(m["cpu"], base["cpu"]) if ours else None
                lines.append(f"| {mode} | {c} | {t} | {fmt(m['tps'], '.0f')} | "
                             f"{fmt(m['lat'], '.3f')} | {fmt(m['cpu'], '.1f')} | {fmt(tr, '.2f')} | "
                             f"{fmt(cr, '.2f')} | {m['failed'] + m['aborted']} | "
                             f"{fmt(m['logins'], '.0f')} |")
                old = baseline.get((mode, c, t))
                if not ours or old is None:
                    continue
                old_tps = float(old["tps"])
                old_ratio = float(old["tps vs PgBouncer"])
                good = tr is not None and tr >= old_ratio - args.tolerance
                cmp_lines.append(f"| {mode} | {c} | {t} | {old_tps:.0f} | {fmt(m['tps'], '.0f')} | "
                                 f"{fmt(ratio(m['tps'], old_tps), '.2f')} | {old_ratio:.2f} | "
                                 f"{fmt(tr, '.2f')} | {verdict(good)} |")
    if "norouter-1w" in targets:
        lines += ["", "Router cost: switchyard-1w against the same build with routing skipped "
                  "(norouter-1w). Target: at most 5% fewer tps.", "",
                  "| mode | clients | tps with router / without | CPU µs/txn with / without |",
                  "|---|---:|---:|---:|"]
        for mode in modes:
            for c in clients:
                on = cell(results[("session", mode, c, "switchyard-1w")])
                off = cell(results[("session", mode, c, "norouter-1w")])
                lines.append(f"| {mode} | {c} | {fmt(ratio(on['tps'], off['tps']), '.3f')} | "
                             f"{fmt(on['cpu'], '.1f')} / {fmt(off['cpu'], '.1f')} |")
    if cmp_lines:
        lines += ["", "### Session mode against the committed results", "",
                  f"Target: no slower than `{args.baseline}`. Absolute tps "
                  "move with whatever else the machine runs, so the verdict is on the ratio to "
                  "PgBouncer measured in the same rounds: **pass** when it is at least the "
                  f"committed ratio minus {args.tolerance:.2f}.", "",
                  "| mode | clients | target | tps before | tps now | now / before | "
                  "tps vs PgBouncer before | now | no slower |",
                  "|---|---:|---|---:|---:|---:|---:|---:|---|"] + cmp_lines
    return lines


def transaction_report(args, results, targets, tests):
    n, pool = args.txn_clients, args.txn_pool
    lines = [
        "", "## Transaction pooling", "",
        f"{n} clients over a pool of {pool}: PgBouncer `pool_mode = transaction`, "
        f"`default_pool_size = {pool}`; switchyard `pool_mode = \"transaction\"`, "
        f"`pool_size = {pool}`, workers = 1 and 2. Tests: `-M extended`, `-M prepared`, and "
        "*connect* = `-C -M extended` (a new client connection per transaction). `pgbench -j 2`: "
        "with -S no client holds an upstream between statements, so a pgbench thread blocked in "
        "PQprepare or PQconnectdb cannot deadlock the pool and one thread per client is not "
        "needed. direct = Postgres itself with as many connections as clients, for reference. "
        "In *connect*, PgBouncer's CPU includes a PBKDF2 derivation (4096 rounds) per client "
        "login: its auth_file holds the clear-text password, and with a SCRAM verifier there "
        "PgBouncer 1.18 fails the forced user's upstream login; switchyard derives the verifier "
        "once at start-up. tps in *connect* is bounded by pgbench's own SCRAM per connection.",
        "",
        "Targets per switchyard cell: tps ≥ PgBouncer's and CPU µs/txn ≤ PgBouncer's.",
        "",
        "| test | clients | target | tps | avg latency ms | CPU µs/txn | upstream logins/run | "
        "tps vs PgBouncer | CPU vs PgBouncer | tps ≥ PgBouncer | CPU ≤ PgBouncer | failed | "
        "first error |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---|---|---:|---|",
    ]
    notes, verdicts = [], []
    for test in tests:
        base = cell(results[("transaction", test, n, "pgbouncer")])
        against = ""
        if not base["ok"] and test == "prepared" and "extended" in tests:
            # PgBouncer before 1.21 cannot keep prepared statements in transaction mode.
            base = cell(results[("transaction", "extended", n, "pgbouncer")])
            against = " (vs PgBouncer extended)"
            notes.append("PgBouncer 1.18 cannot run `-M prepared` in transaction mode (protocol-"
                         "level prepared statements came in 1.21): its clients abort, as the "
                         "*first error* column shows. switchyard's `-M prepared` cells are "
                         "therefore compared with PgBouncer's `-M extended` numbers — the "
                         "protocol PgBouncer users fall back to.")
        for t in targets:
            m = cell(results[("transaction", test, n, t)])
            ours = t not in PROXIES
            tr = ratio(m["tps"], base["tps"]) if ours and base["ok"] else None
            cr = ratio(m["cpu"], base["cpu"]) if ours and base["ok"] else None
            tps_ok = (m["ok"] and tr is not None and tr >= 1.0) if ours else None
            cpu_ok = (m["ok"] and cr is not None and cr <= 1.0) if ours else None
            if ours:
                verdicts += [(test, t, "tps", tps_ok), (test, t, "CPU", cpu_ok)]
            err = f"`{m['error']}`" if m["error"] else ""
            if len(m["kinds"]) > 1:
                err += " — error lines by kind: " + "; ".join(
                    f"{k} ×{v}" for k, v in sorted(m["kinds"].items(), key=lambda kv: -kv[1]))
            err = err.replace("|", "\\|")
            lines.append(f"| {test} | {n} | {t} | {fmt(m['tps'], '.0f')} | {fmt(m['lat'], '.3f')} "
                         f"| {fmt(m['cpu'], '.1f')} | {fmt(m['logins'], '.0f')} | "
                         f"{fmt(tr, '.2f')}{against if ours else ''} | "
                         f"{fmt(cr, '.2f')}{against if ours else ''} | {verdict(tps_ok)} | "
                         f"{verdict(cpu_ok)} | {m['failed'] + m['aborted']} | "
                         f"{err} |")
    passed = sum(1 for v in verdicts if v[3])
    lines += [""] + notes + (["", ""] if notes else []) + [
        f"Transaction-mode targets met: {passed} of {len(verdicts)}."
        + ("" if passed == len(verdicts) else " Failing: " + ", ".join(
            f"{t} {test} {what}" for test, t, what, good in verdicts if not good) + ".")]
    lines.append("Failed = aborted clients plus failed transactions, summed over rounds.")
    return lines


def write_report(args, results, names, modes, clients, txn_tests, baseline):
    lines = header(args)
    if "session" in names:
        lines += session_report(args, results, names["session"], modes, clients, baseline)
    if "transaction" in names:
        lines += transaction_report(args, results, names["transaction"], txn_tests)
    benchlib.write_results(Path(args.out), lines)


if __name__ == "__main__":
    sys.exit(main())
