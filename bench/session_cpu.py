#!/usr/bin/python3
"""Where a session-mode proxy's CPU goes: switchyard with 1 and 2 workers against PgBouncer.

pgbench -S -M extended -c 16 (session pooling, TLS + SCRAM upstream, plaintext
SCRAM clients, as in bench/pgbench_compare.py) through each target, alternating
round by round. For every run, perf stat on the proxy process (per thread)
counts task-clock, context switches, migrations and system calls, and
/proc/PID/stat gives user and system time; a second pass records each
epoll_wait's return value (events per call); with --profile a third samples
where the time goes, kernel included (perf record -e cpu-clock: a software
timer, since this VM has no hardware counters). Printed per transaction,
medians over rounds. Variants (--variants) are extra switchyard targets that
need no code change: "2w-pinned" = both workers on one CPU (taskset),
"2w-split" = worker i on CPU i, "1w-pinned".

--callgrind N runs switchyard with 1 and 2 workers under valgrind's callgrind
for 16 clients x N transactions and prints user-space instructions per
transaction (start-up removed by a second run with N/5) and the functions
whose inclusive counts differ most. Under valgrind the proxy is the slowest
part, so it is saturated and batches events; --callgrind-rate R (pgbench -R)
keeps it below saturation, one event per wake-up, as on real hardware.

Usage: bench/session_cpu.py [--seconds N] [--rounds N] [--clients 16] [--mode extended]
                            [--variants 2w-pinned,2w-split,1w-pinned] [--profile]
                            [--callgrind N [--callgrind-rate R]] [--no-perf]
"""
import argparse
import collections
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import benchlib
from benchlib import free_port

SYSCALLS = ["epoll_wait", "epoll_ctl", "read", "write", "readv", "writev", "recvfrom", "sendto",
            "recvmsg", "sendmsg", "futex", "clock_gettime", "gettimeofday"]
EVENTS = (["task-clock", "context-switches", "cpu-migrations", "raw_syscalls:sys_enter"]
          + [f"syscalls:sys_enter_{s}" for s in SYSCALLS])
CLK_TCK = os.sysconf("SC_CLK_TCK")
CLIENT_DSN = "user=app password=app-secret dbname=platform sslmode=disable"


class Target:
    def __init__(self, name, port, proc, cpus=None):
        self.name, self.port, self.proc, self.cpus = name, port, proc, cpus
        self.dsn = f"host=127.0.0.1 port={port} {CLIENT_DSN}"


def start_targets(work, pg, variants):
    targets = []
    proc, port = benchlib.start_pgbouncer(work, pg, "pgbouncer", {
        "auth_type": "scram-sha-256", "pool_mode": "session", "default_pool_size": 64,
        "max_client_conn": 1000, "client_tls_sslmode": "disable"})
    targets.append(Target("pgbouncer", port, proc))
    for name, workers in (("switchyard-1w", 1), ("switchyard-2w", 2)):
        proc, port = benchlib.start_switchyard(work, pg, name, proxy={"workers": workers},
                                               supabase={"pool_size": 64})
        targets.append(Target(name, port, proc))
    for v in variants:
        # "<workers>w-pinned[<cpu>]": the whole proxy process on one CPU (taskset);
        # "<workers>w-split": worker thread i on CPU i % 2 (the main thread only waits).
        m = re.fullmatch(r"(\d)w-(pinned|split)(\d?)", v)
        if not m:
            raise SystemExit(f"unknown variant {v}")
        proc, port = benchlib.start_switchyard(work, pg, f"switchyard-{v}",
                                               proxy={"workers": int(m.group(1))},
                                               supabase={"pool_size": 64})
        if m.group(2) == "pinned":
            cpu = m.group(3) or "1"
            subprocess.run(["taskset", "-a", "-p", "-c", cpu, str(proc.pid)], check=True,
                           capture_output=True)
        else:
            workers = sorted(t for t in threads_of(proc.pid) if t != proc.pid)
            for i, tid in enumerate(workers):
                subprocess.run(["taskset", "-p", "-c", str(i % 2), str(tid)], check=True,
                               capture_output=True)
        targets.append(Target(f"switchyard-{v}", port, proc))
    return targets


def cpu_split(pid):
    """(utime, stime) of a process, all threads, in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]), int(fields[12])


def threads_of(pid):
    return {int(t): Path(f"/proc/{pid}/task/{t}/comm").read_text().strip()
            for t in os.listdir(f"/proc/{pid}/task")}


def run_pgbench(target, args, wrap):
    """pgbench with a measuring process (wrap: a command attached to the proxy) around it."""
    meas = subprocess.Popen(wrap, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.3)  # perf attaches
    out = subprocess.run(["pgbench", "-n", "-S", "-M", args.mode, "-c", str(args.clients),
                          "-j", "2", "-T", str(args.seconds), target.dsn],
                         capture_output=True, text=True, timeout=args.seconds + 60)
    meas.send_signal(2)
    mout, merr = meas.communicate(timeout=60)
    if out.returncode != 0:
        raise RuntimeError(out.stdout + out.stderr)
    txns = int(re.search(r"actually processed: (\d+)", out.stdout).group(1))
    tps = float(re.search(r"tps = ([\d.]+)", out.stdout).group(1))
    return txns, tps, mout, merr


def perf_stat(target, args, work):
    csv = work / "perf.csv"
    t0 = cpu_split(target.proc.pid)
    txns, tps, _, _ = run_pgbench(target, args, ["perf", "stat", "--per-thread", "-x", ",",
                                                 "-o", str(csv), "-e", ",".join(EVENTS),
                                                 "-p", str(target.proc.pid)])
    per = collections.Counter()
    threads = collections.Counter()
    for line in csv.read_text().splitlines():
        f = line.split(",")
        if len(f) < 4 or not f[1].replace(".", "").isdigit():
            continue
        thread, value, event = f[0], float(f[1]), f[3]
        per[event] += value
        if event == "task-clock":
            threads[thread] += value
    t1 = cpu_split(target.proc.pid)
    res = {"tps": tps, "txns": txns, "utime": (t1[0] - t0[0]) * 1e6 / CLK_TCK / txns,
           "stime": (t1[1] - t0[1]) * 1e6 / CLK_TCK / txns}
    for e in EVENTS:
        short = e.replace("syscalls:sys_enter_", "").replace("raw_syscalls:sys_enter", "syscalls")
        res[short] = per[e] / txns * (1000 if e == "task-clock" else 1)  # task-clock: ms -> µs
    res["threads"] = {t: v / txns * 1000 for t, v in threads.items() if v / txns * 1000 > 0.05}
    return res


def epoll_events(target, args, work):
    """Events returned per epoll_wait call, from the sys_exit tracepoint."""
    data = work / "epoll.data"
    txns, _, _, _ = run_pgbench(target, args, ["perf", "record", "-q", "-o", str(data), "-e",
                                               "syscalls:sys_exit_epoll_wait",
                                               "-p", str(target.proc.pid)])
    script = subprocess.run(["perf", "script", "-i", str(data), "-F", "tid,trace"],
                            capture_output=True, text=True).stdout
    rets = collections.defaultdict(list)
    for line in script.splitlines():
        # "<tid> <ret>", the return value in hex (older perf: "ret: <n>")
        m = re.match(r"\s*(\d+)\s+(?:.*ret:\s*)?(-?(?:0x)?[0-9a-f]+)\s*$", line)
        if m:
            rets[int(m.group(1))].append(int(m.group(2), 0))
    calls = sum(len(v) for v in rets.values())
    events = sum(r for v in rets.values() for r in v if r > 0)
    zero = sum(1 for v in rets.values() for r in v if r == 0)
    return {"calls/txn": calls / txns, "events/call": events / calls if calls else 0,
            "empty calls %": 100 * zero / calls if calls else 0}


def profile(target, args, work):
    """Where the proxy's CPU time goes, user and kernel: cpu-clock samples (a software timer,
    so it works without hardware counters), as µs per transaction for each symbol."""
    data = work / "profile.data"
    t0 = sum(cpu_split(target.proc.pid))
    txns, _, _, _ = run_pgbench(target, args, ["perf", "record", "-q", "-o", str(data), "-e",
                                               "cpu-clock", "-F", "4000",
                                               "-p", str(target.proc.pid)])
    cpu_us = (sum(cpu_split(target.proc.pid)) - t0) * 1e6 / CLK_TCK / txns
    rep = subprocess.run(["perf", "report", "-i", str(data), "--stdio", "--no-children",
                          "--sort", "sym", "--percent-limit", "0.3"],
                         capture_output=True, text=True).stdout
    syms = {}
    for line in rep.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+\[([k.])\]\s+(.+?)\s*$", line)
        if m:
            syms[("[k] " if m.group(2) == "k" else "") + m.group(3)] = \
                float(m.group(1)) / 100 * cpu_us
    return syms


def callgrind(work, pg, args):
    """Instructions per transaction under callgrind, 1 vs 2 workers (threads serialised)."""
    results = {}
    for workers in (1, 2):
        totals = {}
        for n in (args.callgrind // 5, args.callgrind):
            label = f"cg-{workers}w-{n}"
            out = work / f"{label}.out"
            vg, port = benchlib.start_switchyard(
                work, pg, label, proxy={"workers": workers}, supabase={"pool_size": 64},
                prefix=["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"],
                timeout=60)
            rate = ["-R", str(args.callgrind_rate)] if args.callgrind_rate else []
            subprocess.run(["pgbench", "-n", "-S", "-M", args.mode, "-c", str(args.clients),
                            "-j", "2", "-t", str(n), *rate,
                            f"host=127.0.0.1 port={port} {CLIENT_DSN}"],
                           check=True, capture_output=True, timeout=1200)
            vg.send_signal(2)
            vg.wait(timeout=120)
            ann = subprocess.run(["callgrind_annotate", "--inclusive=yes", str(out)],
                                 capture_output=True, text=True).stdout
            totals[n] = ann
        small, big = args.callgrind // 5, args.callgrind
        per = (total(totals[big]) - total(totals[small])) / (args.clients * (big - small))
        results[workers] = (per, functions(totals[big]), functions(totals[small]))
        print(f"callgrind {workers}w: {per:.0f} instructions per transaction", flush=True)
    return results


def print_profiles(targets, profiles):
    """Median µs/txn per symbol, the 30 largest, and the sum of kernel symbols."""
    names = [t.name for t in targets]
    med = {}
    for n in names:
        syms = set().union(*profiles[n])
        med[n] = {s: statistics.median(p.get(s, 0) for p in profiles[n]) for s in syms}
    allsyms = sorted(set().union(*med.values()), key=lambda s: -max(m.get(s, 0) for m in med.values()))
    print("\nCPU µs per transaction by symbol (cpu-clock samples, medians):")
    print("| symbol | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    for s in allsyms[:30]:
        print(f"| {s} | " + " | ".join(f"{med[n].get(s, 0):.2f}" for n in names) + " |")
    print("| all kernel symbols shown | " + " | ".join(
        f"{sum(v for k, v in med[n].items() if k.startswith('[k]')):.2f}" for n in names) + " |")
    print("| all user symbols shown | " + " | ".join(
        f"{sum(v for k, v in med[n].items() if not k.startswith('[k]')):.2f}" for n in names) + " |")


def total(ann):
    m = re.search(r"([\d,]+) \(100\.0%\)\s+PROGRAM TOTALS", ann) or \
        re.search(r"([\d,]+)\s+PROGRAM TOTALS", ann)
    return int(m.group(1).replace(",", ""))


def functions(ann):
    funcs = {}
    for line in ann.splitlines():
        m = re.match(r"\s*([\d,]+) \([\s\d.]+%\)\s+\*?\s*(\S+)", line)
        if m and ":" in m.group(2):
            funcs.setdefault(m.group(2).split(":", 1)[1].split(" ")[0], int(m.group(1).replace(",", "")))
    return funcs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--mode", default="extended")
    ap.add_argument("--variants", default="", help="e.g. 2w-pinned,1w-pinned")
    ap.add_argument("--callgrind", type=int, default=0,
                    help="transactions per client under callgrind (0: skip)")
    ap.add_argument("--callgrind-rate", type=int, default=0,
                    help="pgbench -R under callgrind: a proxy that is not saturated (0: flat out)")
    ap.add_argument("--no-perf", action="store_true")
    ap.add_argument("--profile", action="store_true",
                    help="also sample where the CPU goes (perf record -e cpu-clock)")
    args = ap.parse_args()
    variants = [v for v in args.variants.split(",") if v]

    work = Path(tempfile.mkdtemp(prefix="sy-cpu-"))
    work.chmod(0o755)
    pg = {"dir": work / "supabase", "port": free_port()}
    targets = []
    try:
        benchlib.start_postgres(pg)
        subprocess.run(["pgbench", "-i", "-q", "-s", "10",
                        f"host=127.0.0.1 port={pg['port']} user=platform_owner "
                        "password=owner-secret dbname=platform sslmode=require"],
                       check=True, capture_output=True)
        if not args.no_perf:
            targets = start_targets(work, pg, variants)
            stats = collections.defaultdict(list)
            profiles = collections.defaultdict(list)
            for r in range(args.rounds):
                order = targets[r % len(targets):] + targets[:r % len(targets)]
                for t in order:
                    res = perf_stat(t, args, work)
                    res.update(epoll_events(t, args, work))
                    stats[t.name].append(res)
                    if args.profile:
                        profiles[t.name].append(profile(t, args, work))
                    names = threads_of(t.proc.pid)
                    thr = ", ".join(f"{names.get(int(k.rsplit('-', 1)[-1]), k)}={v:.1f}"
                                    for k, v in sorted(res.pop("threads").items()))
                    print(f"round {r} {t.name:22} tps={res['tps']:7.0f} "
                          f"cpu={res['task-clock']:.1f}us/txn threads[{thr}] "
                          + " ".join(f"{k}={v:.2f}" for k, v in res.items()
                                     if k not in ("tps", "txns", "task-clock")), flush=True)
            keys = [k for k in stats[targets[0].name][0] if k != "txns"]
            print("\nmedians per transaction:")
            print("| metric | " + " | ".join(t.name for t in targets) + " |")
            print("|---|" + "---:|" * len(targets))
            for k in keys:
                print(f"| {k} | " + " | ".join(
                    f"{statistics.median(r[k] for r in stats[t.name]):.2f}" for t in targets) + " |")
            if args.profile:
                print_profiles(targets, profiles)
            for t in targets:
                benchlib.stop(t.proc)
            targets = []
        if args.callgrind:
            res = callgrind(work, pg, args)
            (p1, f1, s1), (p2, f2, s2) = res[1], res[2]
            print(f"\ncallgrind: 1w {p1:.0f}, 2w {p2:.0f} instructions/txn ({p2 / p1:.3f}x)")
            n = args.clients * (args.callgrind - args.callgrind // 5)
            diffs = []
            for fn in set(f1) | set(f2):
                d1 = (f1.get(fn, 0) - s1.get(fn, 0)) / n
                d2 = (f2.get(fn, 0) - s2.get(fn, 0)) / n
                diffs.append((d2 - d1, fn, d1, d2))
            print("| function (inclusive) | 1w instr/txn | 2w instr/txn | 2w - 1w |")
            print("|---|---:|---:|---:|")
            for d, fn, d1, d2 in sorted(diffs, key=lambda x: -abs(x[0]))[:25]:
                print(f"| {fn} | {d1:.0f} | {d2:.0f} | {d:+.0f} |")
    finally:
        for t in targets:
            benchlib.stop(t.proc)
        benchlib.stop_postgres(pg)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
