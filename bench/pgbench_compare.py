#!/usr/bin/python3
"""pgbench -S through: Postgres directly, PgBouncer, switchyard (1 and 2 workers).

One local PostgreSQL 15 configured like Supabase (TLS, SCRAM; started by
scripts/pg-supabase.sh) is the upstream for everyone. PgBouncer runs in session
mode with the same TLS upstream (verify-full) and the same forced upstream user
as switchyard; clients reach both proxies in plaintext with SCRAM. Targets are
run alternately, round after round, so that the machine's noise spreads over
all of them; each cell reports the median over rounds.

For each run the proxy's CPU time is read from /proc/PID/stat before and after,
giving CPU microseconds per transaction.

Usage: bench/pgbench_compare.py [--seconds N] [--rounds N] [--clients 1,8,32]
                                [--modes simple,extended,prepared] [--out FILE]
"""
import argparse
import datetime
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG_SCRIPT = ROOT / "scripts" / "pg-supabase.sh"
SWITCHYARD = ROOT / "build" / "switchyard"
SWITCHYARD_NOROUTER = ROOT / "build-norouter" / "switchyard"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"port {port} not listening")


def cpu_ticks(pid):
    """utime + stime of a process (all threads), in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


class Target:
    def __init__(self, name, dsn, pid=None):
        self.name = name
        self.dsn = dsn
        self.pid = pid


def start_switchyard(work, pg, workers, binary=SWITCHYARD, label=None):
    port = free_port()
    label = label or f"switchyard-{workers}w"
    cfg = work / f"{label}.toml"
    cfg.write_text(f"""
[proxy]
listen = "127.0.0.1:{port}"
workers = {workers}
client_tls = "disable"
log_level = "warn"

[[users]]
name = "app"
password = "app-secret"

[supabase]
host = "127.0.0.1"
port = {pg['port']}
database = "platform"
user = "platform_owner"
password = "owner-secret"
sslmode = "verify-full"
sslrootcert = "{pg['dir']}/ca.crt"
pool_size = 64

[legacy]
tables = ["customers", "subscriptions", "payments"]
""")
    log = open(work / f"{label}.log", "wb")
    proc = subprocess.Popen([str(binary), "-c", str(cfg)], stdout=log, stderr=log)
    wait_port(port)
    return proc, Target(label, f"host=127.0.0.1 port={port} user=app "
                        f"password=app-secret dbname=platform sslmode=disable", proc.pid)


def start_pgbouncer(work, pg):
    port = free_port()
    pgb = work / "pgbouncer"
    pgb.mkdir()
    shutil.copy(f"{pg['dir']}/ca.crt", pgb / "ca.crt")
    (pgb / "userlist.txt").write_text('"app" "app-secret"\n')
    (pgb / "pgbouncer.ini").write_text(f"""
[databases]
platform = host=127.0.0.1 port={pg['port']} dbname=platform user=platform_owner password=owner-secret

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = {pgb}/userlist.txt
pool_mode = session
default_pool_size = 64
max_client_conn = 1000
server_tls_sslmode = verify-full
server_tls_ca_file = {pgb}/ca.crt
client_tls_sslmode = disable
log_connections = 0
log_disconnections = 0
logfile = {pgb}/pgbouncer.log
pidfile = {pgb}/pgbouncer.pid
""")
    subprocess.run(["chown", "-R", "postgres:postgres", str(pgb)], check=True)
    proc = subprocess.Popen(["pgbouncer", "-u", "postgres", str(pgb / "pgbouncer.ini")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    return proc, Target("pgbouncer", f"host=127.0.0.1 port={port} user=app password=app-secret "
                        f"dbname=platform sslmode=disable", proc.pid)


def pgbench(target, mode, clients, seconds):
    threads = min(clients, 2)
    cmd = ["pgbench", "-n", "-S", "-M", mode, "-c", str(clients), "-j", str(threads),
           "-T", str(seconds), target.dsn]
    before = cpu_ticks(target.pid) if target.pid else None
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    after = cpu_ticks(target.pid) if target.pid else None
    if out.returncode != 0:
        raise RuntimeError(f"pgbench against {target.name} failed:\n{out.stdout}\n{out.stderr}")
    text = out.stdout
    tps = float(re.search(r"tps = ([\d.]+) \(without initial", text).group(1))
    lat = float(re.search(r"latency average = ([\d.]+) ms", text).group(1))
    txns = int(re.search(r"number of transactions actually processed: (\d+)", text).group(1))
    failed = int(re.search(r"number of failed transactions: (\d+)", text).group(1))
    cpu_us = None
    if before is not None and txns:
        cpu_us = (after - before) * 1e6 / CLK_TCK / txns
    return dict(tps=tps, lat=lat, cpu_us=cpu_us, failed=failed)


def fmt(v, spec):
    return "—" if v is None else format(v, spec)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--clients", default="1,8,32")
    ap.add_argument("--modes", default="simple,extended,prepared")
    ap.add_argument("--scale", type=int, default=10)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "latest.md"))
    ap.add_argument("--no-router-baseline", action="store_true",
                    help="skip the build-norouter target")
    args = ap.parse_args()
    clients = [int(c) for c in args.clients.split(",")]
    modes = args.modes.split(",")

    work = Path(tempfile.mkdtemp(prefix="sy-bench-"))
    work.chmod(0o755)  # the postgres user must reach the data directory inside
    pg = {"dir": work / "supabase", "port": free_port()}
    procs = []
    try:
        subprocess.run([str(PG_SCRIPT), "start", str(pg["dir"]), str(pg["port"])], check=True)
        direct = Target("direct", f"host=127.0.0.1 port={pg['port']} user=platform_owner "
                        f"password=owner-secret dbname=platform sslmode=require")
        subprocess.run(["pgbench", "-i", "-q", "-s", str(args.scale), direct.dsn], check=True,
                       capture_output=True)
        p, bouncer = start_pgbouncer(work, pg)
        procs.append(p)
        p, sy1 = start_switchyard(work, pg, 1)
        procs.append(p)
        p, sy2 = start_switchyard(work, pg, 2)
        procs.append(p)
        targets = [direct, bouncer, sy1, sy2]
        if SWITCHYARD_NOROUTER.exists() and not args.no_router_baseline:
            # Same proxy, routing skipped: what the router costs (target: under 5% tps).
            p, nr = start_switchyard(work, pg, 1, SWITCHYARD_NOROUTER, "norouter-1w")
            procs.append(p)
            targets.append(nr)

        results = {}  # (mode, clients, target) -> [runs]
        for mode in modes:
            for c in clients:
                for r in range(args.rounds):
                    # Rotate the order each round so no target always runs first.
                    order = targets[r % len(targets):] + targets[:r % len(targets)]
                    for t in order:
                        res = pgbench(t, mode, c, args.seconds)
                        results.setdefault((mode, c, t.name), []).append(res)
                        print(f"{mode:9} c={c:<3} {t.name:14} tps={res['tps']:9.0f} "
                              f"lat={res['lat']:.3f}ms cpu/txn={fmt(res['cpu_us'], '.1f')}us "
                              f"failed={res['failed']}", flush=True)
        write_report(args, results, modes, clients, targets)
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        subprocess.run([str(PG_SCRIPT), "stop", str(pg["dir"])], check=False)
        shutil.rmtree(work, ignore_errors=True)


def median(runs, key):
    vals = [r[key] for r in runs if r[key] is not None]
    return statistics.median(vals) if vals else None


def write_report(args, results, modes, clients, targets):
    lines = [
        "# pgbench -S: direct vs PgBouncer vs switchyard",
        "",
        f"Measured {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC on "
        f"{os.cpu_count()} CPUs; scale {args.scale}, {args.seconds} s per run, median of "
        f"{args.rounds} alternating rounds. Upstream: local PostgreSQL 15 over TLS (verify-full), "
        "SCRAM. Proxies: session pooling, plaintext clients with SCRAM. "
        "CPU = proxy process utime+stime per transaction.",
        "",
        "| mode | clients | target | tps | avg latency ms | CPU µs/txn | tps vs PgBouncer | CPU vs PgBouncer | failed |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for mode in modes:
        for c in clients:
            base = results[(mode, c, "pgbouncer")]
            base_tps, base_cpu = median(base, "tps"), median(base, "cpu_us")
            for t in targets:
                runs = results[(mode, c, t.name)]
                tps, lat, cpu = median(runs, "tps"), median(runs, "lat"), median(runs, "cpu_us")
                failed = sum(r["failed"] for r in runs)
                ours = t.name not in ("direct", "pgbouncer")
                tps_ratio = tps / base_tps if ours else None
                cpu_ratio = cpu / base_cpu if ours and cpu and base_cpu else None
                lines.append(f"| {mode} | {c} | {t.name} | {tps:.0f} | {lat:.3f} | "
                             f"{fmt(cpu, '.1f')} | {fmt(tps_ratio, '.2f')} | "
                             f"{fmt(cpu_ratio, '.2f')} | {failed} |")
    if any(t.name == "norouter-1w" for t in targets):
        lines += ["", "Router cost: switchyard-1w against the same build with routing skipped "
                  "(norouter-1w). Target: at most 5% fewer tps.", "",
                  "| mode | clients | tps with router / without | CPU µs/txn with / without |",
                  "|---|---:|---:|---:|"]
        for mode in modes:
            for c in clients:
                on, off = results[(mode, c, "switchyard-1w")], results[(mode, c, "norouter-1w")]
                cpu_on, cpu_off = median(on, "cpu_us"), median(off, "cpu_us")
                lines.append(f"| {mode} | {c} | {median(on, 'tps') / median(off, 'tps'):.3f} | "
                             f"{fmt(cpu_on, '.1f')} / {fmt(cpu_off, '.1f')} |")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    sys.exit(main())
