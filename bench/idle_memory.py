#!/usr/bin/python3
"""Memory per idle client: switchyard against PgBouncer, side by side.

Opens N client sockets (default 5000) to each proxy and reads how much the
proxy process grew, in these states:

  pre-startup    TCP connected, nothing sent (the proxy has accepted it).
  authenticated  startup + md5 password exchange done, then idle.
  tls-auth       the same over TLS (SSLRequest, handshake, startup, md5); only
                 with --tls.
  linked         authenticated and one "SELECT 1" run, so each client holds an
                 upstream connection (session pooling); M clients (--linked M,
                 default 0 = skipped; Postgres allows 300 connections).

What "authenticated" means depends on the pooling. PgBouncer (session
pooling) answers the login from its cached server parameters and attaches a
server only for the first query, so its client is idle with ReadyForQuery
received and no server. switchyard with pool_mode = "transaction" (the
default here) borrows an upstream for the login's ParameterStatus and gives it
back at ReadyForQuery: the same state. With --pool-mode session, switchyard
attaches an upstream before ReadyForQuery, so with pool_size = 1 every client
after the first is measured waiting for one after AuthenticationOk
(authenticated, holding no upstream). "linked" uses session pooling on both.

Each (proxy, state) runs in a freshly started process: W warm-up clients
(default 20) are opened first and kept, so that one-time costs (the first
upstream connection, the welcome cache, lazily grown tables) are in the
baseline; then N more, and the growth / N is the cost per client. Memory is
read from /proc/PID/smaps_rollup: Rss (what VmRSS shows) and Private
(Private_Clean + Private_Dirty, the process's own pages).

Both proxies get one event loop (switchyard workers = 1), md5 client auth and
the same local PostgreSQL 15 upstream (scripts/pg-supabase.sh, TLS verify-full).

Usage: bench/idle_memory.py [--clients N] [--warmup W] [--tls] [--linked M]
                            [--switchyard BIN] [--also BIN:LABEL ...] [--out FILE]
"""
import argparse
import datetime
import hashlib
import os
import resource
import shutil
import socket
import ssl
import struct
import sys
import tempfile
import time
from pathlib import Path

import benchlib
from benchlib import ROOT, SWITCHYARD, free_port, stop

USER, PASSWORD, DB = benchlib.APP_USER, benchlib.APP_PASSWORD, benchlib.DB


def raise_fd_limit(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= need:
        return
    if hard < need:
        # Only root can raise the hard limit; children (the proxies) inherit both.
        hard = need
    resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))


# ---- memory of a process ----

def smaps(pid):
    vals = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[2] == "kB":
                vals[parts[0].rstrip(":")] = int(parts[1])
    return {"rss": vals["Rss"], "private": vals["Private_Clean"] + vals["Private_Dirty"]}


def accepted(pid, port):
    """Client connections the proxy has accepted: its sockets whose local port is <port>."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    n = 0
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            # 01 = ESTABLISHED: not the probe wait_port() opened and closed.
            if (int(fields[1].split(":")[1], 16) == port and fields[3] == "01"
                    and fields[9] in inodes):
                n += 1
    return n


def settle(pid, port, want, timeout=120):
    """Waits until the proxy has accepted <want> clients and its memory stops moving."""
    deadline = time.monotonic() + timeout
    while (got := accepted(pid, port)) < want:
        if time.monotonic() > deadline:
            raise TimeoutError(f"pid {pid}: {got} clients accepted, expected {want}")
        time.sleep(0.1)
    last = None
    for _ in range(50):
        time.sleep(0.3)
        cur = smaps(pid)
        if cur == last:
            break
        last = cur
    return last


# ---- a minimal Postgres client, enough to log in thousands of times quickly ----

def startup_packet():
    body = struct.pack("!I", 196608)
    for k, v in (("user", USER), ("database", DB), ("application_name", "idle_memory")):
        body += k.encode() + b"\0" + v.encode() + b"\0"
    body += b"\0"
    return struct.pack("!I", len(body) + 4) + body


def md5_password(salt):
    inner = hashlib.md5((PASSWORD + USER).encode()).hexdigest()
    return "md5" + hashlib.md5(inner.encode() + salt).hexdigest()


def read_message(sock, buf):
    while len(buf) < 5 or len(buf) < 1 + struct.unpack("!I", buf[1:5])[0]:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("proxy closed the connection")
        buf += chunk
    n = 1 + struct.unpack("!I", buf[1:5])[0]
    return buf[0:1], buf[5:n], buf[n:]


def login(port, until, tls_ctx=None, query=False):
    """Logs in; returns the socket once <until> ('authok' or 'ready') is reached."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    if tls_ctx is not None:
        sock.sendall(struct.pack("!II", 8, 80877103))
        if sock.recv(1) != b"S":
            raise RuntimeError("proxy refused TLS")
        sock = tls_ctx.wrap_socket(sock, server_hostname="localhost")
    sock.sendall(startup_packet())
    buf = b""
    while True:
        kind, body, buf = read_message(sock, buf)
        if kind == b"E":
            raise RuntimeError(f"login failed: {body!r}")
        if kind == b"R":
            code = struct.unpack("!I", body[:4])[0]
            if code == 5:
                pw = md5_password(body[4:8]).encode() + b"\0"
                sock.sendall(b"p" + struct.pack("!I", len(pw) + 4) + pw)
            elif code == 0 and until == "authok":
                return sock
            elif code != 0:
                raise RuntimeError(f"unexpected authentication request {code}")
        elif kind == b"Z":
            break
    if query:
        q = b"SELECT 1\0"
        sock.sendall(b"Q" + struct.pack("!I", len(q) + 4) + q)
        while True:
            kind, body, buf = read_message(sock, buf)
            if kind == b"E":
                raise RuntimeError(f"query failed: {body!r}")
            if kind == b"Z":
                break
    return sock


def open_clients(port, state, n, proxy, tls_ctx):
    if state == "pre-startup":
        return [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(n)]
    # switchyard in session mode answers ReadyForQuery only with an upstream attached.
    until = "authok" if proxy == "switchyard-session" and state != "linked" else "ready"
    return [login(port, until, tls_ctx if state == "tls-auth" else None, state == "linked")
            for _ in range(n)]


# ---- the proxies ----

def start_switchyard(work, pg, binary, label, args, state):
    total = args.clients + args.warmup
    mode = "session" if state == "linked" else args.pool_mode
    # Session pooling: everyone after the first waits for an upstream, unless the state wants one each.
    pool = total + 5 if state == "linked" else (1 if mode == "session" else 4)
    tls = ({"tls_cert": f"{pg['dir']}/server.crt", "tls_key": f"{pg['dir']}/server.key",
            "client_tls": "allow"} if state == "tls-auth" else {"client_tls": "disable"})
    proxy = {"workers": args.workers, "max_client_conn": total + 100, **tls,
             "auth_method": "md5", "pool_mode": mode, "log_level": "error",
             "login_timeout_ms": 86400000, "pool_timeout_ms": 86400000}
    return benchlib.start_switchyard(work, pg, f"{label}-{state}", binary, proxy=proxy,
                                     supabase={"pool_size": pool})


def start_pgbouncer(work, pg, args, state):
    total = args.clients + args.warmup
    pool = total + 5 if state == "linked" else 1
    tls = ({"client_tls_sslmode": "allow", "client_tls_cert_file": "{dir}/server.crt",
            "client_tls_key_file": "{dir}/server.key"} if state == "tls-auth"
           else {"client_tls_sslmode": "disable"})
    settings = {"auth_type": "md5", "pool_mode": "session", "default_pool_size": pool,
                "max_client_conn": total + 100, "client_login_timeout": 0,
                "query_wait_timeout": 0, **tls}
    return benchlib.start_pgbouncer(work, pg, f"pgbouncer-{state}", settings,
                                    files=("ca.crt", "server.crt", "server.key"))


def measure(work, pg, args, target, state):
    """Bytes per client of one (proxy, state), in a fresh process."""
    label, binary = target
    n = args.linked if state == "linked" else args.clients
    if label == "pgbouncer":
        proc, port = start_pgbouncer(work, pg, args, state)
    else:
        proc, port = start_switchyard(work, pg, binary, label, args, state)
    kind = "pgbouncer" if label == "pgbouncer" else f"switchyard-{args.pool_mode}"
    tls_ctx = None
    if state == "tls-auth":
        tls_ctx = ssl.create_default_context(cafile=f"{pg['dir']}/ca.crt")
    clients = []
    try:
        clients += open_clients(port, state, args.warmup, kind, tls_ctx)
        before = settle(proc.pid, port, args.warmup)
        t0 = time.monotonic()
        clients += open_clients(port, state, n, kind, tls_ctx)
        after = settle(proc.pid, port, args.warmup + n)
        took = time.monotonic() - t0
        res = {k: (after[k] - before[k]) * 1024 / n for k in after}
        print(f"{state:12} {label:22} n={n:<5} rss {res['rss'] / 1024:6.2f} KiB/client  "
              f"private {res['private'] / 1024:6.2f} KiB/client  ({took:.1f} s to open)",
              flush=True)
        return res
    finally:
        for c in clients:
            c.close()
        stop(proc)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=5000)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--pool-mode", choices=("transaction", "session"), default="transaction",
                    help="switchyard's pool_mode for the idle states (linked: session)")
    ap.add_argument("--tls", action="store_true", help="also measure authenticated over TLS")
    ap.add_argument("--linked", type=int, default=0,
                    help="also measure M clients that each hold an upstream (M <= ~250)")
    ap.add_argument("--switchyard", default=str(SWITCHYARD), help="the binary (Release build)")
    ap.add_argument("--also", action="append", default=[],
                    help="another switchyard binary to measure, as PATH:LABEL (e.g. a baseline)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "idle_memory.md"))
    args = ap.parse_args()

    states = ["pre-startup", "authenticated"] + (["tls-auth"] if args.tls else []) + \
             (["linked"] if args.linked else [])
    targets = [("pgbouncer", None), ("switchyard", Path(args.switchyard))]
    for spec in args.also:
        path, _, label = spec.partition(":")
        targets.append((label or path, Path(path)))
    raise_fd_limit(2 * (args.clients + args.warmup) + 1024)

    work = Path(tempfile.mkdtemp(prefix="sy-idle-mem-"))
    work.chmod(0o755)  # the postgres user must reach the data directory inside
    pg = {"dir": work / "supabase", "port": free_port()}
    results = {}
    try:
        benchlib.start_postgres(pg)
        for state in states:
            for t in targets:
                results[(state, t[0])] = measure(work, pg, args, t, state)
        write_report(args, states, targets, results)
    finally:
        benchlib.stop_postgres(pg)
        shutil.rmtree(work, ignore_errors=True)


def write_report(args, states, targets, results):
    lines = [
        "# Memory per idle client: switchyard vs PgBouncer",
        "",
        f"Measured {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC by "
        f"`bench/idle_memory.py`: {args.clients} clients per proxy ({args.linked} for "
        f"\"linked\") after {args.warmup} warm-up clients, each (proxy, state) in a fresh "
        "process; growth of /proc/PID/smaps_rollup divided by the number of clients. "
        f"PgBouncer 1.18 session pooling; switchyard Release build, workers = {args.workers}, "
        f"pool_mode = \"{args.pool_mode}\" (\"session\" for linked); md5 client auth, "
        "plaintext clients unless the state says TLS; upstream: local PostgreSQL 15 over TLS "
        "(verify-full).",
        "",
        "States: *pre-startup* = TCP connected, nothing sent. *authenticated* = md5 login done, "
        "idle after ReadyForQuery, no upstream held" + (
            "" if args.pool_mode == "transaction" else
            " (switchyard, session pooling: after AuthenticationOk, waiting for an upstream with "
            "pool_size = 1)") + ". *tls-auth* = the same over TLS. *linked* = logged in and one "
        "query run, each client holding a TLS upstream connection.",
        "",
        "| state | proxy | KiB/client (Rss) | KiB/client (Private) | Rss vs PgBouncer |",
        "|---|---|---:|---:|---:|",
    ]
    for state in states:
        base = results[(state, "pgbouncer")]["rss"]
        for label, _ in targets:
            r = results[(state, label)]
            ratio = "—" if label == "pgbouncer" else f"{r['rss'] / base:.2f}×"
            lines.append(f"| {state} | {label} | {r['rss'] / 1024:.2f} | "
                         f"{r['private'] / 1024:.2f} | {ratio} |")
    benchlib.write_results(Path(args.out), lines)


if __name__ == "__main__":
    sys.exit(main())
