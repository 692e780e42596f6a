"""Transaction pooling: [proxy] pool_mode = "transaction".

A client holds an upstream from its first message after ReadyForQuery 'I'
until the next ReadyForQuery 'I' with nothing outstanding, so many clients
share pool_size upstreams. What must survive the moves between upstreams:

- protocol-level prepared statements (tracked per client, prepared on the
  upstream the client gets under switchyard's own names; Describe, Close,
  re-Parse and the 26000/34000 errors as Postgres has them);
- SET/RESET made outside a transaction (re-applied on the next upstream; SHOW
  and ParameterStatus stay the client's own);
- everything else (LISTEN, session advisory locks, temporary tables, WITH HOLD
  cursors, SET SESSION AUTHORIZATION, set_config(..., false), SQL PREPARE)
  pins the client to its upstream until it disconnects, logged once per client
  (msg="client pinned to its upstream" reason=...).

BackendKeyData is switchyard's own in this mode; a CancelRequest reaches the
upstream running that client's query, and nothing when the client is idle.

The deterministic tests use workers = 1 and pool_size = 2 and steer a client
onto "the other" upstream by making two helper clients hold upstreams (see
elsewhere()); the driver tests run hundreds to a thousand clients over
pool_size = 10 through psycopg 3, psycopg2, node-postgres, pgjdbc, pgx and pgbench.
"""
import asyncio
import concurrent.futures
import contextlib
import json
import os
import random
import resource
import select
import shutil
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

import psycopg
import psycopg2
import pytest
from psycopg import errors

import pgwire
from conftest import APP_PASSWORD, APP_USER
from helpers import log_lines, sb_exec, unique, wait_for_log

HERE = Path(__file__).resolve().parent
JAVA_SOURCE = HERE / "java" / "JdbcTxnPool.java"
JDBC_JAR = Path("/usr/share/java/postgresql.jar")

PIN_MSG = "client pinned to its upstream"
POOL = 10  # pool_size of the driver tests
# Generous: a thousand clients queue for ten upstreams on a 2-core machine with an ASan build.
POOL_TIMEOUT_MS = 20000

# Driver tests: clients (all connected at once) x transactions per client.
PSYCOPG3_CLIENTS, PSYCOPG3_TXNS = 1000, 2
PSYCOPG2_CLIENTS, PSYCOPG2_TXNS = 300, 3
NODE_CLIENTS, NODE_TXNS = 1000, 2
JDBC_CLIENTS, JDBC_TXNS = 300, 3
PGX_CLIENTS, PGX_TXNS = 1000, 2
PGBENCH_CLIENTS, PGBENCH_TXNS = 300, 3
IDLE_CLIENTS, IDLE_POOL = 5000, 20
# Of the connected clients, how many run a transaction at the same moment (the rest sit idle
# in between): ten times the pool, so the pool's queue is always long but bounded.
ACTIVE = 100


# ---------------------------------------------------------------------------
# helpers

def raise_nofile(n):
    """Raises this process's open-file limit to n (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= n:
        return
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (n, max(n, hard)))
    except (ValueError, OSError):  # not allowed to raise the hard limit
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(n, hard), hard))


@pytest.fixture(scope="module", autouse=True)
def open_files():
    raise_nofile(8192)  # a thousand clients here, their sessions in switchyard


def txn_proxy(make_proxy, pool_size, workers=2, start=True, **proxy_kw):
    # connect_timeout_ms: hundreds of logins at once keep an ASan build's loops busy
    # while it opens upstreams.
    return make_proxy(start=start,
                      proxy={"pool_mode": "transaction", "workers": workers,
                             "pool_timeout_ms": POOL_TIMEOUT_MS, **proxy_kw},
                      supabase={"pool_size": pool_size, "connect_timeout_ms": 15000})


def raw(proxy, **kw) -> pgwire.RawConn:
    return pgwire.connect(proxy.port, APP_USER, APP_PASSWORD, **kw)


def upstream_pid(conn) -> int:
    return int(conn.query("SELECT pg_backend_pid()")[0][0])


def simple(conn, sql):
    """Simple query on a RawConn: (rows, ParameterStatus pairs received, WireError or None)."""
    conn.send(pgwire.query_msg(sql))
    rows, statuses, err = [], [], None
    for mtype, body in conn.read_through_ready():
        if mtype == b"D":
            rows.append(pgwire.decode_data_row(body))
        elif mtype == b"S":
            name, value, _ = body.split(b"\0", 2)
            statuses.append((name.decode(), value.decode()))
            conn.params[name.decode()] = value.decode()
        elif mtype == b"E" and err is None:
            err = pgwire.WireError(pgwire.parse_error_fields(body))
    return rows, statuses, err


def check_statuses(statuses, before, mine):
    """
    ParameterStatus a client received: the settings it made itself (<mine>) carry
    its values; anything else must repeat what it already had (<before>).
    """
    for name, value in statuses:
        want = mine.get(name, before.get(name))
        assert value == want, f"ParameterStatus {name}={value!r}, the client's is {want!r}"


def readable(conn, timeout) -> bool:
    """True if the server sent <conn> something within <timeout> seconds."""
    if conn.buf:
        return True
    r, _, _ = select.select([conn.sock], [], [], timeout)
    return bool(r)


def owner_pids(supabase):
    with supabase.admin() as admin:
        return {r[0] for r in admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE usename = 'platform_owner'"
            " AND backend_type = 'client backend'").fetchall()}


class UpstreamWatch:
    """
    Samples how many upstream connections (platform_owner backends that were not
    there when the watch was made) exist, every 50 ms, in a thread. Make it
    before the proxy starts; do not connect to Supabase as platform_owner while
    it runs (those connections would count).
    """

    def __init__(self, supabase):
        self.supabase = supabase
        self.baseline = list(owner_pids(supabase))
        self.max = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        with self.supabase.admin() as admin:
            while True:
                n = admin.execute("SELECT count(*) FROM pg_stat_activity WHERE usename ="
                                  " 'platform_owner' AND backend_type = 'client backend'"
                                  " AND pid <> ALL(%s)", (self.baseline,)).fetchone()[0]
                self.max = max(self.max, n)
                self.samples += 1
                if self._stop.wait(0.05):
                    return

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(10)


@contextlib.contextmanager
def elsewhere(proxy, pid):
    """
    For a proxy with workers = 1 and pool_size = 2: while inside, the only
    upstream free is not <pid>, so the next transaction of an idle client lands
    on another upstream than the one it last used. Two helper clients hold the
    other upstreams in open transactions (they log in first, while upstreams
    are free).
    """
    b, c = raw(proxy), raw(proxy)
    try:
        b.query("BEGIN")
        pb = upstream_pid(b)
        if pb != pid:
            c.query("BEGIN")
            pc = upstream_pid(c)
            assert pc != pb, "two open transactions share one upstream"
            b.query("COMMIT")  # pb is now the only free upstream
        yield
    finally:
        for h in (b, c):
            with contextlib.suppress(Exception):
                if h.txn_status in ("T", "E"):
                    h.query("ROLLBACK")
            h.terminate()


def transcript(msgs):
    """Server messages, comparable across servers: errors by (SQLSTATE, message), rows decoded."""
    out = []
    for mtype, body in msgs:
        t = mtype.decode()
        if mtype == b"E":
            f = pgwire.parse_error_fields(body)
            out.append((t, f.get("C"), f.get("M")))
        elif mtype == b"D":
            out.append((t, tuple(pgwire.decode_data_row(body))))
        elif mtype == b"C":
            out.append((t, body.rstrip(b"\0").decode()))
        elif mtype == b"Z":
            out.append((t, body.decode()))
        elif mtype in (b"T", b"t"):  # RowDescription, ParameterDescription: byte-exact
            out.append((t, body.hex()))
        elif mtype == b"S":
            out.append((t, body.decode(errors="replace")))
        elif mtype == b"N":
            out.append((t, pgwire.parse_error_fields(body).get("C")))
        else:
            out.append((t,))
    return out


def settle_cancels():
    """As in test_cancel.py: let switchyard's cancel connections close before SIGTERM."""
    time.sleep(0.5)


def first_pin(proxy):
    if PIN_MSG not in proxy.log():  # cheap test first: the log of a thousand clients is long
        return None
    return log_lines(proxy, PIN_MSG)[0]


async def run_until_pinned(proxy, work, timeout):
    """Awaits <work>; a pin stops it at once (see run_driver)."""
    work = asyncio.ensure_future(work)
    deadline = time.monotonic() + timeout
    try:
        while True:
            done, _ = await asyncio.wait({work}, timeout=0.5)
            if done:
                return work.result()
            pin = first_pin(proxy)
            if pin:
                raise AssertionError(f"a driver's ordinary use pinned a client: {pin}")
            if time.monotonic() > deadline:
                raise AssertionError(f"clients still running after {timeout}s")
    finally:
        if not work.done():
            work.cancel()
            with contextlib.suppress(BaseException):
                await work


def run_driver(proxy, cmd, timeout, **kw):
    """
    Runs a driver program to completion. A pin stops it at once: the driver
    tests must not pin, and pinned clients would only make the rest starve
    for pool_timeout_ms after pool_timeout_ms.
    """
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                out, err = p.communicate(timeout=0.5)
                return subprocess.CompletedProcess(cmd, p.returncode, out, err)
            except subprocess.TimeoutExpired:
                pass
            pin = first_pin(proxy)
            if pin:
                raise AssertionError(f"a driver's ordinary use pinned a client: {pin}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{cmd[0]} still running after {timeout}s")
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()



# ---------------------------------------------------------------------------
# the upstream is held from the first message to ReadyForQuery 'I'

@pytest.mark.parametrize("held_by", ["open_transaction", "failed_transaction",
                                     "extended_without_sync"])
def test_upstream_held_until_ready_for_query_idle(make_proxy, held_by):
    """pool_size = 1: while A holds the upstream, B's query waits; it runs once A is idle."""
    proxy = txn_proxy(make_proxy, pool_size=1, workers=1)
    a, b = raw(proxy), raw(proxy)
    try:
        # Idle A holds nothing: B is served at once.
        a.query("SELECT 1")
        assert b.query("SELECT 'b'") == [["b"]]
        if held_by == "open_transaction":
            a.query("BEGIN")
            assert a.txn_status == "T"

            def release():
                a.query("COMMIT")
        elif held_by == "failed_transaction":
            a.query("BEGIN")
            with pytest.raises(pgwire.WireError) as ei:
                a.query("SELECT 1/0")
            assert ei.value.sqlstate == "22012" and a.txn_status == "E"

            def release():
                a.query("ROLLBACK")
        else:
            # Every reply received, but no Sync yet: the implicit transaction is open.
            a.send(pgwire.parse_msg("SELECT pg_backend_pid()") + pgwire.bind_msg()
                   + pgwire.execute_msg() + pgwire.FLUSH)
            got = [a.read_msg()[0] for _ in range(4)]
            assert got == [b"1", b"2", b"D", b"C"], got

            def release():
                a.send(pgwire.SYNC)
                assert a.read_msg() == (b"Z", b"I")
        b.send(pgwire.query_msg("SELECT 'b'"))
        assert not readable(b, 0.5), "B was served while A held the only upstream"
        release()
        assert [pgwire.decode_data_row(x) for t, x in b.read_until_ready() if t == b"D"] == [["b"]]
        assert b.txn_status == "I"
        # And A gets the upstream back as soon as B is done.
        assert a.query("SELECT 'a again'") == [["a again"]]
    finally:
        a.terminate()
        b.terminate()


def test_clients_share_one_upstream(make_proxy):
    """Three connected clients, one upstream: each is served in turn (session mode would refuse)."""
    proxy = txn_proxy(make_proxy, pool_size=1, workers=1)
    conns = [raw(proxy) for _ in range(3)]
    try:
        pids = set()
        for rnd in range(3):
            for i, c in enumerate(conns):
                assert c.query(f"SELECT {rnd * 10 + i}") == [[str(rnd * 10 + i)]]
                pids.add(upstream_pid(c))
        assert len(pids) == 1, pids
    finally:
        for c in conns:
            c.terminate()


def test_unpinned_client_moves_between_upstreams(make_proxy):
    proxy = txn_proxy(make_proxy, pool_size=2, workers=1)
    a = raw(proxy)
    try:
        p = upstream_pid(a)
        with elsewhere(proxy, p):
            q = upstream_pid(a)
            assert q != p, "the client's next transaction did not move to the free upstream"
            # Several transactions inside: all on the one free upstream.
            for _ in range(3):
                a.query("BEGIN")
                assert upstream_pid(a) == q
                a.query("COMMIT")
        assert not log_lines(proxy, PIN_MSG)
    finally:
        a.terminate()


def test_transaction_statements_on_one_upstream(make_proxy, supabase):
    """
    40 clients over 3 upstreams: every statement of a transaction (BEGIN..COMMIT,
    a multi-statement simple query, an extended-protocol batch before one Sync,
    one spanning several Syncs) runs on one upstream; across transactions the
    upstream changes.
    """
    watch = UpstreamWatch(supabase)
    proxy = txn_proxy(make_proxy, pool_size=3, workers=2)
    n_clients, n_rounds = 40, 6
    problems = []
    seen = {}

    def client(i):
        c = raw(proxy)
        pids = set()
        try:
            for rnd in range(n_rounds):
                # BEGIN .. COMMIT with simple queries.
                c.query("BEGIN")
                inside = [upstream_pid(c) for _ in range(3)]
                c.query(f"SELECT pg_sleep(0.00{random.randint(1, 5)})")
                inside.append(upstream_pid(c))
                c.query("COMMIT")
                if len(set(inside)) != 1:
                    problems.append(f"client {i}: BEGIN..COMMIT on {inside}")
                pids.add(inside[0])
                # One simple query with three statements: one implicit transaction.
                rows = c.query("SELECT pg_backend_pid(); SELECT pg_sleep(0.002); "
                               "SELECT pg_backend_pid()")
                if rows[0] != rows[2]:
                    problems.append(f"client {i}: multi-statement query on {rows}")
                pids.add(int(rows[0][0]))
                # Extended protocol: three executions before one Sync.
                c.send((pgwire.parse_msg("SELECT pg_backend_pid()") + pgwire.bind_msg()
                        + pgwire.execute_msg()) * 3 + pgwire.SYNC)
                ext = [pgwire.decode_data_row(b)[0] for t, b in c.read_until_ready() if t == b"D"]
                if len(ext) != 3 or len(set(ext)) != 1:
                    problems.append(f"client {i}: extended batch on {ext}")
                # A transaction spanning several Syncs (RFQ 'T' between them).
                c.send(pgwire.query_msg("BEGIN"))
                c.read_until_ready()
                span = []
                for _ in range(3):
                    c.send(pgwire.parse_msg("SELECT pg_backend_pid()") + pgwire.bind_msg()
                           + pgwire.execute_msg() + pgwire.SYNC)
                    span += [pgwire.decode_data_row(b)[0] for t, b in c.read_until_ready()
                             if t == b"D"]
                    if c.txn_status != "T":
                        problems.append(f"client {i}: status {c.txn_status} inside BEGIN")
                c.query("COMMIT")
                if len(set(span)) != 1:
                    problems.append(f"client {i}: Syncs of one transaction on {span}")
            seen[i] = pids
        except Exception as e:  # reported below
            problems.append(f"client {i}: {e!r}")
        finally:
            c.terminate()

    with watch, concurrent.futures.ThreadPoolExecutor(n_clients) as ex:
        for f in [ex.submit(client, i) for i in range(n_clients)]:
            f.result(timeout=120)
    assert not problems, problems[:10]
    assert len(seen) == n_clients
    assert watch.max <= 3, f"{watch.max} upstreams for pool_size 3"
    movers = [i for i, p in seen.items() if len(p) > 1]
    assert movers, "no client ever changed upstream between transactions"


# ---------------------------------------------------------------------------
# protocol-level prepared statements across upstreams, compared with Postgres itself

def prepared_steps():
    """(name, move before?, messages to send) — each ends with Sync (or is a simple query)."""
    P, B, D, E, C, S = (pgwire.parse_msg, pgwire.bind_msg, pgwire.describe_msg,
                        pgwire.execute_msg, pgwire.close_msg, pgwire.SYNC)
    return [
        ("parse s1", False, P("SELECT $1::int * 2 AS doubled", "s1") + S),
        ("bind s1 elsewhere", True, B(["21"], stmt="s1") + E() + S),
        ("describe s1 elsewhere", True, D(b"S", "s1") + S),
        ("parse s1 again: 42P05", True, P("SELECT 2", "s1") + S),
        ("parse s2 and s3", False,
         P("SELECT $1 || '!' AS bang", "s2", types=(25,))
         + P("SELECT count(*) FROM workflows WHERE status = $1", "s3") + S),
        ("use all three elsewhere, one batch", True,
         B(["x"], stmt="s2") + D(b"P") + E() + B(["active"], stmt="s3") + E()
         + B(["5"], stmt="s1") + E() + S),
        ("close s1", False, C(b"S", "s1") + S),
        ("bind closed s1: 26000", True, B(["1"], stmt="s1") + E() + S),
        ("describe unknown statement: 26000", True, D(b"S", "nope") + S),
        ("re-parse s1 with another text", False, P("SELECT 'new'::text AS v", "s1") + S),
        ("describe and run the new s1 elsewhere", True, D(b"S", "s1") + B(stmt="s1") + E() + S),
        ("close what does not exist", False, C(b"S", "never_prepared") + C(b"P", "no_portal") + S),
        ("portal p1 in its own implicit transaction", False,
         B(["y"], portal="p1", stmt="s2") + E("p1") + S),
        ("execute p1 after its transaction ended: 34000", True, E("p1") + S),
        ("describe unknown portal: 34000", True, D(b"P", "nope") + S),
        ("error mid-batch skips to Sync", False,
         P("SELECT 10 / $1::int AS q", "s4") + B(["0"], stmt="s4") + E()
         + B(["z"], stmt="s2") + E() + S),
        ("s4 survives the failed batch", True, B(["5"], stmt="s4") + E() + S),
        ("failed parse leaves no statement", False, P("SELEC 1", "s5") + S),
        ("bind the failed s5: 26000", True, B(stmt="s5") + E() + S),
        ("unnamed statement", True,
         P("SELECT $1::int + 1 AS n") + B(["41"]) + E() + B(["1"]) + E() + S),
        ("begin", True, pgwire.query_msg("BEGIN")),
        ("named portal across Syncs in a transaction", False,
         B(["active"], portal="p2", stmt="s3") + D(b"P", "p2") + E("p2", 1) + S),
        ("rest of p2", False, E("p2") + B(["in txn"], stmt="s2") + E() + S),
        ("commit", False, pgwire.query_msg("COMMIT")),
        ("p2 is gone after COMMIT: 34000", True, E("p2") + S),
        ("everything still there", True,
         B(["3"], stmt="s4") + E() + B(stmt="s1") + E() + B(["draft"], stmt="s3") + E() + S),
    ]


def run_prepared_steps(conn, move=None):
    out = []
    for name, moves, data in prepared_steps():
        if moves and move is not None:
            with move():
                conn.send(data)
                got = transcript(conn.read_through_ready())
        else:
            conn.send(data)
            got = transcript(conn.read_through_ready())
        out.append((name, got))
    return out


def test_prepared_statements_follow_the_client(make_proxy, supabase):
    direct = pgwire.connect(supabase.port, "platform_owner", "owner-secret", tls=True,
                            cafile=str(supabase.ca))
    try:
        expected = run_prepared_steps(direct)
    finally:
        direct.terminate()
    # Sanity of the reference itself (what Postgres answers).
    exp = dict(expected)
    assert exp["bind s1 elsewhere"][1] == ("D", ("42",))
    assert exp["parse s1 again: 42P05"][0][:2] == ("E", "42P05")
    assert exp["bind closed s1: 26000"][0][:2] == ("E", "26000")
    assert exp["describe unknown statement: 26000"][0][:2] == ("E", "26000")
    assert exp["execute p1 after its transaction ended: 34000"][0][:2] == ("E", "34000")
    assert exp["describe unknown portal: 34000"][0][:2] == ("E", "34000")
    assert exp["s4 survives the failed batch"][1] == ("D", ("2",))
    assert exp["bind the failed s5: 26000"][0][:2] == ("E", "26000")

    proxy = txn_proxy(make_proxy, pool_size=2, workers=1)
    a = raw(proxy)
    moves = []

    @contextlib.contextmanager
    def move():
        p = upstream_pid(a)
        with elsewhere(proxy, p):
            yield
            q = upstream_pid(a)
            moves.append((p, q))
            assert q != p, "the step did not run on another upstream"

    try:
        got = run_prepared_steps(a, move)
    finally:
        a.terminate()
    for (name, want), (_, have) in zip(expected, got):
        assert have == want, f"step {name!r}:\n switchyard {have}\n postgres   {want}"
    assert len(moves) == sum(1 for _, m, _ in prepared_steps() if m)
    assert not log_lines(proxy, PIN_MSG), "protocol-level prepared statements must not pin"


def test_same_statement_names_in_many_clients(make_proxy):
    """Every client names its statements s0, s1, ... with its own texts; 3 upstreams shared."""
    proxy = txn_proxy(make_proxy, pool_size=3, workers=2)
    n_clients, n_rounds = 30, 5
    problems = []

    def client(i):
        c = raw(proxy)
        try:
            c.send(pgwire.parse_msg(f"SELECT {i}::int AS me, $1::int AS arg", "s0")
                   + pgwire.parse_msg(f"SELECT 'client {i}'::text || $1", "s1", types=(25,))
                   + pgwire.SYNC)
            c.read_until_ready()
            for rnd in range(n_rounds):
                c.send(pgwire.bind_msg([str(rnd)], stmt="s0") + pgwire.execute_msg()
                       + pgwire.bind_msg([f" r{rnd}"], stmt="s1") + pgwire.execute_msg()
                       + pgwire.SYNC)
                rows = [pgwire.decode_data_row(b) for t, b in c.read_until_ready() if t == b"D"]
                want = [[str(i), str(rnd)], [f"client {i} r{rnd}"]]
                if rows != want:
                    problems.append(f"client {i} round {rnd}: {rows} != {want}")
                c.query(f"SELECT pg_sleep(0.00{random.randint(1, 5)})")
        except Exception as e:
            problems.append(f"client {i}: {e!r}")
        finally:
            c.terminate()

    with concurrent.futures.ThreadPoolExecutor(n_clients) as ex:
        for f in [ex.submit(client, i) for i in range(n_clients)]:
            f.result(timeout=120)
    assert not problems, problems[:10]


def test_psycopg_deallocate(make_proxy):
    """
    psycopg 3 drops protocol-level statements with SQL: "DEALLOCATE _pg3_N" when its
    cache passes prepared_max, "DEALLOCATE ALL" after any DROP (or when asked). Those
    name the client's own statements: they act on them and on nothing of another
    client sharing the upstream.
    """
    proxy = txn_proxy(make_proxy, pool_size=1, workers=1)
    with proxy.connect(prepare_threshold=0) as a, proxy.connect(prepare_threshold=0) as b:
        def b_works():
            for k in range(3):
                assert b.execute(f"SELECT %s::int - {k}", (10,)).fetchone() == (10 - k,)

        b_works()
        a.prepared_max = 3
        for rnd in range(3):
            for k in range(6):
                assert a.execute(f"SELECT %s::int + {k}", (rnd,)).fetchone() == (rnd + k,)
        b_works()
        a.execute(f"DROP TABLE IF EXISTS {unique('sy_absent')}")  # psycopg queues DEALLOCATE ALL
        for k in range(3):
            assert a.execute(f"SELECT %s::int * {k + 1}", (2,)).fetchone() == (2 * (k + 1),)
        b_works()
        for k in range(6):
            assert a.execute(f"SELECT %s::int + {k}", (7,)).fetchone() == (7 + k,)
        b_works()


# ---------------------------------------------------------------------------
# SET / RESET replay and ParameterStatus

def test_set_replayed_on_the_next_upstream(make_proxy, supabase):
    schema = unique("sy_path")
    sb_exec(supabase, f"CREATE SCHEMA {schema}")
    sb_exec(supabase, f"CREATE TABLE {schema}.sy_marker (v text)")
    sb_exec(supabase, f"INSERT INTO {schema}.sy_marker VALUES ('found via search_path')")
    try:
        proxy = txn_proxy(make_proxy, pool_size=2, workers=1)
        a = raw(proxy)
        try:
            tz = "Asia/Kathmandu"  # +05:45 all year
            assert a.params["TimeZone"] != tz
            _, st, err = simple(a, "SET application_name = 'sy-client-a'")
            assert err is None and ("application_name", "sy-client-a") in st, st
            a.query(f"SET search_path = {schema}, public")
            a.query("SET statement_timeout = '800ms'")
            a.query(f"SET TimeZone = '{tz}'")
            a.query("SET work_mem = '12MB'")
            a.query("RESET work_mem")
            a.query("SET lock_timeout = '3s'")
            a.query("RESET lock_timeout")
            mine = [schema + ", public", "sy-client-a", "800ms", tz, "4MB", "0"]
            check = ("SELECT current_setting('search_path'), current_setting('application_name'),"
                     " current_setting('statement_timeout'), current_setting('TimeZone'),"
                     " current_setting('work_mem'), current_setting('lock_timeout')")
            assert a.query(check) == [mine]
            p = upstream_pid(a)
            for _ in range(2):
                with elsewhere(proxy, p):
                    before = dict(a.params)
                    rows, statuses, err = simple(a, check + ", pg_backend_pid()")
                    assert err is None, err
                    assert rows[0][:-1] == mine
                    # ParameterStatus the client gets (if any) is its own values.
                    check_statuses(statuses, before, {"application_name": "sy-client-a",
                                                      "TimeZone": tz})
                    q = int(rows[0][-1])
                    assert q != p, "the client did not move: nothing was replayed"
                    assert a.query("SHOW search_path") == [[schema + ", public"]]
                    assert a.query("SHOW statement_timeout") == [["800ms"]]
                    # Applied, not just shown: name resolution and the timeout act.
                    assert a.query("SELECT v FROM sy_marker") == [["found via search_path"]]
                    t0 = time.monotonic()
                    with pytest.raises(pgwire.WireError) as ei:
                        a.query("SELECT pg_sleep(5)")
                    assert ei.value.sqlstate == "57014", ei.value
                    assert time.monotonic() - t0 < 3.5
                    assert a.query("SELECT extract(timezone FROM now())::int") == [["20700"]]
                p = q
            assert a.params["application_name"] == "sy-client-a"
            assert a.params["TimeZone"] == tz
            # No other client sees A's settings, on whichever upstream it lands.
            b, c = raw(proxy), raw(proxy)
            try:
                b.query("BEGIN")
                c.query("BEGIN")
                defaults = ['"$user", public', "", "0", b.params["TimeZone"], "4MB", "0"]
                for x in (b, c):
                    assert x.query(check) == [defaults]
                    assert x.params.get("application_name", "") == ""
                assert upstream_pid(b) != upstream_pid(c)
            finally:
                b.terminate()
                c.terminate()
            # RESET after the moves: back to the default wherever A lands next.
            a.query("RESET statement_timeout")
            a.query("RESET search_path")
            p = upstream_pid(a)
            with elsewhere(proxy, p):
                assert a.query("SELECT current_setting('statement_timeout'),"
                               " current_setting('search_path')") == [["0", '"$user", public']]
                assert upstream_pid(a) != p
            assert a.query("SHOW application_name") == [["sy-client-a"]]
            assert not log_lines(proxy, PIN_MSG), "SET/RESET must not pin"
        finally:
            a.terminate()
    finally:
        sb_exec(supabase, f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def test_parameter_status_stays_per_client(make_proxy):
    """Two clients with different application_name/TimeZone hopping over two upstreams."""
    proxy = txn_proxy(make_proxy, pool_size=2, workers=1)
    a, b = raw(proxy), raw(proxy)
    try:
        want = {a: ("sy-a", "Asia/Seoul"), b: ("sy-b", "America/New_York")}
        received = {a: [], b: []}
        for conn, (app, tz) in want.items():
            for sql in (f"SET application_name = '{app}'", f"SET TimeZone = '{tz}'"):
                _, st, err = simple(conn, sql)
                assert err is None
                received[conn] += st
        assert ("application_name", "sy-a") in received[a] and ("TimeZone", "Asia/Seoul") in received[a]
        assert ("application_name", "sy-b") in received[b]
        for rnd in range(6):
            for conn in ((a, b) if rnd % 2 else (b, a)):
                with elsewhere(proxy, upstream_pid(conn)):
                    before = dict(conn.params)
                    rows, st, err = simple(conn, "SELECT current_setting('application_name'),"
                                                 " current_setting('TimeZone')")
                    assert err is None and rows == [list(want[conn])], (rnd, rows)
                    app, tz = want[conn]
                    check_statuses(st, before, {"application_name": app, "TimeZone": tz})
        for conn, (app, tz) in want.items():
            assert conn.params["application_name"] == app
            assert conn.params["TimeZone"] == tz
    finally:
        a.terminate()
        b.terminate()


def test_startup_parameters_follow_the_client(make_proxy):
    """application_name / TimeZone from the startup packet are each client's own on any upstream."""
    proxy = txn_proxy(make_proxy, pool_size=2, workers=1)
    a = raw(proxy, extra={"application_name": "sy-start-a", "TimeZone": "Asia/Seoul"})
    b = raw(proxy, extra={"application_name": "sy-start-b", "TimeZone": "America/New_York"})
    try:
        assert a.params["application_name"] == "sy-start-a" and a.params["TimeZone"] == "Asia/Seoul"
        for rnd in range(4):
            for conn, want in ((a, ["sy-start-a", "Asia/Seoul"]), (b, ["sy-start-b", "America/New_York"])):
                with elsewhere(proxy, upstream_pid(conn)):
                    assert conn.query("SELECT current_setting('application_name'),"
                                      " current_setting('TimeZone')") == [want], rnd
    finally:
        a.terminate()
        b.terminate()


def test_set_replay_many_clients(make_proxy):
    """100 psycopg clients, each with its own settings, over 3 upstreams."""
    proxy = txn_proxy(make_proxy, pool_size=3, workers=2)
    n_clients, n_txns = 100, 4
    problems = []

    async def client(i):
        try:
            async with await psycopg.AsyncConnection.connect(proxy.dsn(), autocommit=True,
                                                             prepare_threshold=0) as conn:
                await conn.execute(f"SET application_name = 'sy-many-{i}'")
                await conn.execute(f"SET statement_timeout = '{20001 + i}ms'")
                await conn.execute(f"SET search_path = sy_schema_{i}, public")
                for t in range(n_txns):
                    async with conn.transaction():
                        cur = await conn.execute(
                            "SELECT current_setting('application_name'),"
                            " current_setting('statement_timeout'), current_setting('search_path'),"
                            " %s::int", (t,))
                        row = await cur.fetchone()
                    want = (f"sy-many-{i}", f"{20001 + i}ms", f"sy_schema_{i}, public", t)
                    if row != want:
                        problems.append(f"client {i} txn {t}: {row} != {want}")
                    cur = await conn.execute("SHOW application_name")
                    if (await cur.fetchone())[0] != f"sy-many-{i}":
                        problems.append(f"client {i}: SHOW application_name wrong")
                    if conn.info.parameter_status("application_name") != f"sy-many-{i}":
                        problems.append(f"client {i}: ParameterStatus application_name = "
                                        f"{conn.info.parameter_status('application_name')}")
                    await asyncio.sleep(random.random() * 0.02)
        except Exception as e:
            problems.append(f"client {i}: {e!r}")

    async def main():
        await asyncio.wait_for(asyncio.gather(*(client(i) for i in range(n_clients))), 120)

    asyncio.run(main())
    assert not problems, problems[:10]
    assert not log_lines(proxy, PIN_MSG)


# ---------------------------------------------------------------------------
# pins: each cause, its state kept, logged once per client

def _listen_check(a, other):
    other.query("NOTIFY sy_pin_ch, 'hello'")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        a.send(pgwire.query_msg("SELECT 1"))
        msgs = a.read_until_ready()
        notes = [b for t, b in msgs if t == b"A"]
        if notes:
            assert b"sy_pin_ch\0hello\0" in notes[0]
            return
        time.sleep(0.05)
    raise AssertionError("the pinned LISTEN got no notification")


def _lock_check(a, other):
    assert a.query("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 8801"
                   " AND granted AND pid = pg_backend_pid()") == [["1"]]
    # (A transaction-level try: a session-level one would pin <other> too.)
    other.query("BEGIN")
    assert other.query("SELECT pg_try_advisory_xact_lock(8801)") == [["f"]]
    other.query("COMMIT")


def _temp_check(a, other):
    a.query("INSERT INTO sy_pin_tmp VALUES (1)")
    assert int(a.query("SELECT count(*) FROM sy_pin_tmp")[0][0]) >= 1


_cursor_pos = {}


def _cursor_check(a, other):
    n = _cursor_pos.get(id(a), 0)
    assert a.query("FETCH 2 FROM sy_pin_cur") == [[str(n + 1)], [str(n + 2)]]
    _cursor_pos[id(a)] = n + 2


def _authz_check(a, other):
    assert a.query("SELECT session_user, current_user") == [["platform_owner", "platform_owner"]]


def _set_config_check(a, other):
    assert a.query("SELECT current_setting('sy.pin', true)") == [["kept"]]
    assert other.query("SELECT current_setting('sy.pin', true)") in ([[None]], [[""]])


def _prepare_check(a, other):
    assert a.query("EXECUTE sy_pin_stmt(21)") == [["42"]]


PIN_CAUSES = {
    # cause: (first statement, outside a transaction; second, inside BEGIN..COMMIT; check)
    "listen": ("LISTEN sy_pin_ch", "LISTEN sy_pin_other", _listen_check),
    "advisory_lock": ("SELECT pg_advisory_lock(8801)", "SELECT pg_advisory_lock(8802)", _lock_check),
    "temp_table": ("CREATE TEMP TABLE sy_pin_tmp (v int)", "CREATE TEMP TABLE sy_pin_tmp2 (v int)",
                   _temp_check),
    "with_hold_cursor": ("DECLARE sy_pin_cur CURSOR WITH HOLD FOR SELECT generate_series(1, 100)",
                         "DECLARE sy_pin_cur2 CURSOR WITH HOLD FOR SELECT 1", _cursor_check),
    "session_authorization": ("SET SESSION AUTHORIZATION platform_owner",
                              "SET SESSION AUTHORIZATION DEFAULT", _authz_check),
    "set_config": ("SELECT set_config('sy.pin', 'kept', false)",
                   "SELECT set_config('sy.pin2', 'also', false)", _set_config_check),
    "sql_prepare": ("PREPARE sy_pin_stmt (int) AS SELECT $1 * 2", "PREPARE sy_pin_stmt2 AS SELECT 1",
                    _prepare_check),
}


@pytest.mark.parametrize("cause", list(PIN_CAUSES))
def test_pin(make_proxy, cause):
    first, second, check = PIN_CAUSES[cause]
    proxy = txn_proxy(make_proxy, pool_size=2, workers=1)
    # Everyone logs in while upstreams are free.
    a, b, c = raw(proxy), raw(proxy), raw(proxy)
    try:
        a.query("SELECT 1")
        assert not log_lines(proxy, PIN_MSG), "pinned before the pinning statement"
        a.query(first)
        pin = wait_for_log(proxy, PIN_MSG)
        assert pin.get("reason"), f"pin logged without a reason: {pin}"
        p = upstream_pid(a)
        a.query("BEGIN")
        a.query(second)
        assert upstream_pid(a) == p
        a.query("COMMIT")
        # B takes the other upstream; C must wait, since A's is reserved for A.
        b.send(pgwire.query_msg("BEGIN; SELECT pg_backend_pid()"))
        rows = [pgwire.decode_data_row(x) for t, x in b.read_until_ready() if t == b"D"]
        pb = int(rows[0][0])
        assert pb != p, "another client got the pinned upstream"
        c.send(pgwire.query_msg("BEGIN; SELECT pg_backend_pid()"))
        for _ in range(3):
            a.query("BEGIN")
            assert upstream_pid(a) == p
            a.query("COMMIT")
            assert upstream_pid(a) == p
        assert not readable(c, 0.3), "C got an upstream although B holds the only unpinned one"
        b.query("COMMIT")
        rows = [pgwire.decode_data_row(x) for t, x in c.read_until_ready() if t == b"D"]
        assert int(rows[0][0]) == pb
        c.query("COMMIT")
        # The pinned state is there in A's later transactions (and only for A).
        for other in (b, c):
            check(a, other)
            assert upstream_pid(a) == p
        pins = log_lines(proxy, PIN_MSG)
        assert len(pins) == 1, f"pin logged {len(pins)} times for one client: {pins}"
    finally:
        for x in (a, b, c):
            x.terminate()


def test_pin_logged_once_per_client(make_proxy):
    proxy = txn_proxy(make_proxy, pool_size=3, workers=1)
    a, b = raw(proxy), raw(proxy)
    try:
        a.query("CREATE TEMP TABLE sy_once (v int)")
        a.query("LISTEN sy_once")
        a.query("SELECT pg_advisory_lock(9901)")
        b.query("PREPARE sy_once AS SELECT 1")
        b.query("SELECT set_config('sy.once', 'x', false)")
        wait_for_log(proxy, PIN_MSG)
        deadline = time.monotonic() + 5
        while len(log_lines(proxy, PIN_MSG)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        pins = log_lines(proxy, PIN_MSG)
        assert len(pins) == 2, pins
        assert pins[0].get("session") != pins[1].get("session"), pins
        assert upstream_pid(a) != upstream_pid(b)
    finally:
        a.terminate()
        b.terminate()
    # The pinned upstreams' state goes with their clients: a new client sees none of it.
    deadline = time.monotonic() + 5
    while sb_exec(proxy.supabase, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                                  " AND objid = 9901")[0][0]:
        assert time.monotonic() < deadline, "the pinned client's advisory lock outlived it"
        time.sleep(0.05)
    with proxy.connect() as conn:
        for _ in range(3):
            with conn.transaction():
                assert conn.execute("SELECT to_regclass('pg_temp.sy_once'), "
                                    "(SELECT count(*) FROM pg_listening_channels()),"
                                    "(SELECT count(*) FROM pg_prepared_statements WHERE name = 'sy_once'),"
                                    "current_setting('sy.once', true),"
                                    "(SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                                    " AND objid = 9901)").fetchone() in (
                    (None, 0, 0, None, 0), (None, 0, 0, "", 0))


def test_transaction_scoped_state_does_not_pin(make_proxy):
    proxy = txn_proxy(make_proxy, pool_size=2, workers=1)
    a = raw(proxy)
    try:
        a.query("BEGIN")
        a.query("SET LOCAL statement_timeout = '5s'")
        a.query("SELECT set_config('sy.local', 'x', true)")
        a.query("SELECT pg_advisory_xact_lock(7701)")
        a.query("COMMIT")
        a.query("SELECT 1")
        p = upstream_pid(a)
        with elsewhere(proxy, p):
            assert upstream_pid(a) != p, "transaction-scoped state pinned the client"
        assert not log_lines(proxy, PIN_MSG)
    finally:
        a.terminate()


def test_pin_through_extended_protocol(make_proxy):
    """psycopg 3 (extended protocol, parameters) takes a session advisory lock: pinned."""
    proxy = txn_proxy(make_proxy, pool_size=2, workers=1)
    with proxy.connect() as a:
        a.execute("SELECT pg_advisory_lock(%s)", (6601,))
        wait_for_log(proxy, PIN_MSG)
        p = a.execute("SELECT pg_backend_pid()").fetchone()[0]
        stop = threading.Event()
        problems = []

        def churn():
            try:
                with proxy.connect() as c:
                    while not stop.is_set():
                        with c.transaction():
                            c.execute("SELECT pg_backend_pid(), %s::int", (1,))
            except Exception as e:
                problems.append(repr(e))

        threads = [threading.Thread(target=churn) for _ in range(3)]
        for t in threads:
            t.start()
        try:
            for _ in range(20):
                with a.transaction():
                    assert a.execute("SELECT pg_backend_pid()").fetchone()[0] == p
                assert a.execute("SELECT pg_backend_pid(), %s::int", (2,)).fetchone() == (p, 2)
                time.sleep(0.01)
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        assert not problems, problems


# ---------------------------------------------------------------------------
# cancel

def test_cancel_reaches_the_running_query(make_proxy):
    """Four clients sleep at once over four upstreams, two workers; each cancel hits its own."""
    proxy = txn_proxy(make_proxy, pool_size=4, workers=2)
    conns = [proxy.connect() for _ in range(4)]
    results = {}
    try:
        for c in conns:  # four upstreams exist before the sleeps start
            c.execute("BEGIN")
        for c in conns:
            c.execute("COMMIT")

        def sleeper(i):
            t0 = time.monotonic()
            try:
                conns[i].execute("SELECT pg_sleep(10)")
                results[i] = ("finished", time.monotonic() - t0)
            except psycopg.Error as e:
                results[i] = (e.sqlstate, time.monotonic() - t0)

        threads = [threading.Thread(target=sleeper, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        time.sleep(0.6)
        conns[0].cancel()
        conns[2].cancel()
        time.sleep(0.9)
        conns[1].cancel()
        conns[3].cancel()
        for t in threads:
            t.join(15)
        assert results[0][0] == results[2][0] == "57014", results
        assert results[1][0] == results[3][0] == "57014", results
        assert results[0][1] < 2.0 and results[2][1] < 2.0, results
        assert 1.4 < results[1][1] < 3.5 and 1.4 < results[3][1] < 3.5, \
            f"a cancel hit another client's query: {results}"
        for i, c in enumerate(conns):
            assert c.execute("SELECT %s::int", (i,)).fetchone() == (i,)
    finally:
        for c in conns:
            c.close()
    settle_cancels()


def test_cancel_of_idle_client_does_nothing(make_proxy, supabase):
    """A's cancel key, sent while A is idle, must not cancel B's query on A's former upstream."""
    proxy = txn_proxy(make_proxy, pool_size=1, workers=1)
    a, b = raw(proxy), raw(proxy)
    try:
        a.query("SELECT 1")  # A used the one upstream and is idle now
        b.send(pgwire.query_msg("SELECT pg_sleep(1.5), 'finished'"))
        deadline = time.monotonic() + 5
        with supabase.admin() as admin:
            while admin.execute("SELECT count(*) FROM pg_stat_activity WHERE state = 'active'"
                                " AND query LIKE 'SELECT pg_sleep(1.5)%%'").fetchone()[0] == 0:
                assert time.monotonic() < deadline, "B's query never started"
                time.sleep(0.02)
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as s:
            s.sendall(struct.pack("!iiii", 16, pgwire.CANCEL_REQUEST_CODE, a.backend_pid,
                                  a.backend_secret))
            assert s.recv(1) == b""
        rows = [pgwire.decode_data_row(x) for t, x in b.read_until_ready() if t == b"D"]
        assert rows == [["", "finished"]]
        # A's own query, on the same single upstream, is cancelled by the same key.
        a.send(pgwire.query_msg("SELECT pg_sleep(10)"))
        time.sleep(0.5)
        t0 = time.monotonic()
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as s:
            s.sendall(struct.pack("!iiii", 16, pgwire.CANCEL_REQUEST_CODE, a.backend_pid,
                                  a.backend_secret))
        with pytest.raises(pgwire.WireError) as ei:
            a.read_until_ready()
        assert ei.value.sqlstate == "57014"
        assert time.monotonic() - t0 < 2.0
        assert a.query("SELECT 'a alive'") == [["a alive"]]
        assert b.query("SELECT 'b alive'") == [["b alive"]]
    finally:
        a.terminate()
        b.terminate()
    settle_cancels()


def test_session_mode_unchanged(make_proxy):
    proxy = make_proxy(proxy={"pool_mode": "session", "workers": 1, "pool_timeout_ms": 500},
                       supabase={"pool_size": 1})
    a = raw(proxy)
    try:
        pid = upstream_pid(a)
        assert a.backend_pid == pid, "session mode: BackendKeyData carries the upstream pid"
        for _ in range(3):
            a.query("BEGIN")
            assert upstream_pid(a) == pid
            a.query("COMMIT")
        a.query("LISTEN sy_session_mode")
        e = pgwire.connect_error(proxy.port, APP_USER, APP_PASSWORD)
        assert e.sqlstate == "53300", e  # the only upstream is A's while A is connected
        assert not log_lines(proxy, PIN_MSG)
    finally:
        a.terminate()


# ---------------------------------------------------------------------------
# drivers: many clients over pool_size = 10, prepared statements, zero errors

def expected_rows(n_clients, n_txns, label):
    return {(i * 100 + t, f"{label}-{i}") for i in range(n_clients) for t in range(n_txns)}


def check_driver_run(proxy, watch, supabase, table, expected):
    assert watch.samples > 0
    assert watch.max <= POOL, f"{watch.max} upstreams for pool_size {POOL}"
    rows = set(supabase.query(f"SELECT id, v FROM {table}"))
    assert len(rows) == len(expected) and rows == expected, (
        f"{len(rows)} rows, {len(expected)} expected; missing {sorted(expected - rows)[:5]},"
        f" unexpected {sorted(rows - expected)[:5]}")
    count = supabase.query(f"SELECT count(*) FROM {table}")[0][0]
    assert count == len(expected), "duplicate rows"
    assert not log_lines(proxy, PIN_MSG), "a driver's ordinary use pinned a client"


def test_psycopg3_many_clients(make_proxy, supabase, table):
    watch = UpstreamWatch(supabase)
    proxy = txn_proxy(make_proxy, pool_size=POOL, log_level="info")
    n, txns = PSYCOPG3_CLIENTS, PSYCOPG3_TXNS
    problems, upstreams, expected_errors = [], {}, []
    state = {"ready": 0}

    async def one(conn, sql, args=None):
        cur = await conn.execute(sql, args)
        return await cur.fetchone()

    async def main():
        all_ready = asyncio.Event()
        connecting = asyncio.Semaphore(50)
        active = asyncio.Semaphore(ACTIVE)

        def arrived():
            state["ready"] += 1
            if state["ready"] == n:
                all_ready.set()

        async def client(i):
            conn = None
            try:
                async with connecting:
                    conn = await psycopg.AsyncConnection.connect(proxy.dsn(), prepare_threshold=0,
                                                                 connect_timeout=30)
            except Exception as e:
                problems.append(f"connect {i}: {e!r}")
            arrived()
            if conn is None:
                return
            try:
                await all_ready.wait()
                seen = set()
                for t in range(txns):
                    rid = i * 100 + t
                    async with active, conn.transaction():
                        p1 = (await one(conn, "SELECT pg_backend_pid()"))[0]
                        mine = await one(conn, f"SELECT {i}::int + %s", (t,))
                        await conn.execute(f"INSERT INTO {table} (id, v) VALUES (%s, %s)",
                                           (rid, f"pg3-{i}"))
                        echo = await one(conn, "SELECT %s::int, %s::text", (rid, f"e{i}"))
                        p2 = (await one(conn, "SELECT pg_backend_pid()"))[0]
                    if mine != (i + t,) or echo != (rid, f"e{i}") or p1 != p2:
                        problems.append(f"client {i} txn {t}: {mine} {echo} pids {p1} {p2}")
                    seen.add(p1)
                upstreams[i] = seen
                async with active:
                    try:
                        async with conn.transaction():
                            await conn.execute(f"INSERT INTO {table} (id, v) VALUES (%s, %s)",
                                               (i * 100 + 99, "rolled back"))
                            await conn.execute("SELECT 1 / %s::int", (0,))
                        problems.append(f"client {i}: no error for 1/0")
                    except errors.DivisionByZero:
                        expected_errors.append(i)
                    after = await one(conn, "SELECT %s::int, %s::text", (i, "after"))
                    if after != (i, "after"):
                        problems.append(f"client {i}: after the error {after}")
                    await conn.commit()
            except Exception as e:
                problems.append(f"client {i}: {e!r}")
            finally:
                await conn.close()

        await run_until_pinned(proxy, asyncio.gather(*(client(i) for i in range(n))), 150)

    with watch:
        asyncio.run(main())
    assert not problems, f"{len(problems)} problems: {problems[:10]}"
    assert len(upstreams) == n and len(expected_errors) == n
    check_driver_run(proxy, watch, supabase, table, expected_rows(n, txns, "pg3"))
    assert any(len(s) > 1 for s in upstreams.values()), "no client changed upstream"


def test_psycopg2_many_clients(make_proxy, supabase, table):
    """psycopg2 (simple protocol): SET kept across transactions, transactions on one upstream."""
    watch = UpstreamWatch(supabase)
    proxy = txn_proxy(make_proxy, pool_size=POOL, log_level="info")
    n, txns = PSYCOPG2_CLIENTS, PSYCOPG2_TXNS
    problems, upstreams = [], {}
    dsn = proxy.dsn(connect_timeout=30)

    def connect(i):
        conn = psycopg2.connect(dsn)
        conn.autocommit = True
        conn.cursor().execute(f"SET application_name = 'pg2-{i}'")
        conn.autocommit = False
        return conn

    def transaction(i, conn, t):
        rid = i * 100 + t
        try:
            cur = conn.cursor()
            cur.execute("SELECT pg_backend_pid(), current_setting('application_name')")
            p1, app = cur.fetchone()
            cur.execute(f"INSERT INTO {table} (id, v) VALUES (%s, %s)", (rid, f"pg2-{i}"))
            cur.execute("SELECT %s::int, %s::text", (rid, f"e{i}"))
            echo = cur.fetchone()
            cur.execute("SELECT pg_backend_pid()")
            p2 = cur.fetchone()[0]
            conn.commit()
            if app != f"pg2-{i}" or echo != (rid, f"e{i}") or p1 != p2:
                problems.append(f"client {i} txn {t}: {app} {echo} pids {p1} {p2}")
            upstreams.setdefault(i, set()).add(p1)
            # And one rolled back.
            cur.execute(f"INSERT INTO {table} (id, v) VALUES (%s, %s)", (i * 100 + 50 + t, "no"))
            conn.rollback()
        except Exception as e:
            problems.append(f"client {i} txn {t}: {e!r}")
            with contextlib.suppress(Exception):
                conn.rollback()

    conns = []
    with watch:
        try:
            with concurrent.futures.ThreadPoolExecutor(32) as ex:
                futs = [ex.submit(connect, i) for i in range(n)]
                for i, f in enumerate(futs):
                    try:
                        conns.append(f.result(timeout=120))
                    except Exception as e:
                        problems.append(f"connect {i}: {e!r}")
                assert not problems, problems[:10]
                for t in range(txns):  # rounds: each client's next transaction after everyone's
                    for f in [ex.submit(transaction, i, c, t) for i, c in enumerate(conns)]:
                        f.result(timeout=120)
        finally:
            for c in conns:
                c.close()
    assert not problems, f"{len(problems)} problems: {problems[:10]}"
    check_driver_run(proxy, watch, supabase, table, expected_rows(n, txns, "pg2"))
    assert any(len(s) > 1 for s in upstreams.values()), "no client changed upstream"


def check_program_output(out, n, txns):
    assert out["errors"] == 0 and out["connected"] == n, out
    assert out["transactions"] == n * txns, out
    assert out["expectedErrors"] == n and out["afterErrorOk"] == n, out
    assert out["pidMismatches"] == 0, out
    assert out["echoMismatches"] == 0 and out["mineMismatches"] == 0, out


def test_node_pg_many_clients(node_modules, make_proxy, supabase, table):
    watch = UpstreamWatch(supabase)
    proxy = txn_proxy(make_proxy, pool_size=POOL, log_level="info")
    n, txns = NODE_CLIENTS, NODE_TXNS
    with watch:
        r = run_driver(proxy, ["node", "txn_pool.js", proxy.url(), table, str(n), str(txns),
                               str(ACTIVE)], 150, cwd=node_modules)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    check_program_output(out, n, txns)
    check_driver_run(proxy, watch, supabase, table, expected_rows(n, txns, "node"))
    assert out["clientsOnSeveralUpstreams"] > 0, "no client changed upstream"


def test_pgjdbc_many_clients(make_proxy, supabase, table):
    if not JDBC_JAR.exists():
        pytest.fail(f"{JDBC_JAR} missing: install libpostgresql-jdbc-java")
    watch = UpstreamWatch(supabase)
    proxy = txn_proxy(make_proxy, pool_size=POOL, log_level="info")
    n, txns = JDBC_CLIENTS, JDBC_TXNS
    url = f"jdbc:postgresql://127.0.0.1:{proxy.port}/platform"
    with watch:
        r = run_driver(proxy, ["java", "-cp", str(JDBC_JAR), str(JAVA_SOURCE), url, APP_USER,
                               APP_PASSWORD, table, str(n), str(txns), "32"], 170)
    assert r.returncode == 0, f"stdout:\n{r.stdout[-3000:]}\nstderr:\n{r.stderr[-3000:]}"
    out = json.loads(r.stdout.strip().splitlines()[-1])
    check_program_output(out, n, txns)
    check_driver_run(proxy, watch, supabase, table, expected_rows(n, txns, "jdbc"))
    assert out["clientsOnSeveralUpstreams"] > 0, "no client changed upstream"


GO_SOURCE = HERE / "go" / "txn_pool.go"
GO_PATH = Path("/usr/share/gocode")  # Debian's Go packages: golang-github-jackc-pgx-v4-dev


@pytest.fixture(scope="module")
def pgx_program(tmp_path_factory):
    """The pgx program, built from Debian's packaged sources (GOPATH mode: no module download)."""
    if shutil.which("go") is None or not (GO_PATH / "src/github.com/jackc/pgx/v4").is_dir():
        pytest.fail("go or pgx v4 missing: install golang-go golang-github-jackc-pgx-v4-dev")
    out = tmp_path_factory.mktemp("pgx") / "txn_pool"
    env = dict(os.environ, GO111MODULE="off", GOPATH=str(GO_PATH),
               GOCACHE=str(out.parent / "cache"), GOFLAGS="")
    r = subprocess.run(["go", "build", "-o", str(out), str(GO_SOURCE)], env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return out


def test_pgx_many_clients(pgx_program, make_proxy, supabase, table):
    """pgx's statement cache: each text prepared once per client under pgx's own name."""
    watch = UpstreamWatch(supabase)
    proxy = txn_proxy(make_proxy, pool_size=POOL, log_level="info")
    n, txns = PGX_CLIENTS, PGX_TXNS
    dsn = f"postgres://{APP_USER}:{APP_PASSWORD}@127.0.0.1:{proxy.port}/platform?sslmode=disable"
    with watch:
        r = run_driver(proxy, [str(pgx_program), dsn, table, str(n), str(txns), str(ACTIVE)], 150)
    assert r.returncode == 0, f"stdout:\n{r.stdout[-3000:]}\nstderr:\n{r.stderr[-3000:]}"
    out = json.loads(r.stdout.strip().splitlines()[-1])
    check_program_output(out, n, txns)
    check_driver_run(proxy, watch, supabase, table, expected_rows(n, txns, "pgx"))
    assert out["clientsOnSeveralUpstreams"] > 0, "no client changed upstream"


PGBENCH_SCRIPT = """\
BEGIN;
SELECT pg_backend_pid() AS p1 \\gset
SELECT :client_id::int + 0 AS echo \\gset
INSERT INTO {table} (id, v) VALUES (:echo, 'tx:' || :p1::text);
UPDATE {table} SET v = v WHERE id = -1;
SELECT count(*) AS mine FROM {table} WHERE id = :client_id \\gset
INSERT INTO {table} (id, v) SELECT :client_id, CASE WHEN pg_backend_pid() = :p1 THEN 'same' ELSE 'moved' END;
COMMIT;
"""


@pytest.mark.parametrize("mode", ["prepared", "extended"])
def test_pgbench_many_clients(make_proxy, supabase, table, tmp_path, mode):
    script = tmp_path / "txn.sql"
    script.write_text(PGBENCH_SCRIPT.format(table=table))
    watch = UpstreamWatch(supabase)
    proxy = txn_proxy(make_proxy, pool_size=POOL, log_level="info")
    n, txns = PGBENCH_CLIENTS, PGBENCH_TXNS
    env = dict(os.environ, PGPASSWORD=APP_PASSWORD, PGCONNECT_TIMEOUT="30")
    # -M prepared prepares each command with a synchronous PQprepare the first time a client
    # runs it: a client waiting there for an upstream blocks its whole pgbench thread, and
    # so the other clients of that thread that hold upstreams mid-transaction (a deadlock
    # on any transaction pooler). One thread per client, then.
    threads = n if mode == "prepared" else 4
    cmd = ["pgbench", "-h", "127.0.0.1", "-p", str(proxy.port), "-U", APP_USER, "-n", "-M", mode,
           "-c", str(n), "-j", str(threads), "-t", str(txns), "-f", str(script), "platform"]
    with watch:
        r = run_driver(proxy, cmd, 150, env=env)
    assert r.returncode == 0, f"pgbench -M {mode} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    assert f"number of transactions actually processed: {n * txns}/{n * txns}" in r.stdout, r.stdout
    assert "number of failed transactions: 0 " in r.stdout, r.stdout
    assert "error" not in r.stderr.lower(), r.stderr[-3000:]
    assert watch.max <= POOL, f"{watch.max} upstreams for pool_size {POOL}"
    got = {kind: (c, d) for kind, c, d in supabase.query(
        f"SELECT split_part(v, ':', 1), count(*), count(DISTINCT id) FROM {table} GROUP BY 1")}
    # 'same': the transaction's last statement ran on the upstream of its first.
    assert got == {"tx": (n * txns, n), "same": (n * txns, n)}, got
    assert supabase.query(f"SELECT count(*) FROM (SELECT id FROM {table} GROUP BY id"
                          f" HAVING count(*) <> {2 * txns}) x") == [(0,)]
    assert not log_lines(proxy, PIN_MSG)
    movers = supabase.query(f"SELECT count(*) FROM (SELECT id FROM {table} WHERE v LIKE 'tx:%'"
                            f" GROUP BY id HAVING count(DISTINCT v) > 1) x")[0][0]
    assert movers > 0, "no pgbench client changed upstream between transactions"


def stats_connection(supabase):
    """Superuser in the postgres database, so that it adds no session to platform's count."""
    return psycopg.connect(host=str(supabase.dir), port=supabase.port, dbname="postgres",
                           user="postgres", autocommit=True)


def wait_upstreams_reported(stats):
    """Until every upstream backend has exited (a backend reports its session as it exits)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and stats.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE usename = 'platform_owner'"
            " AND backend_type = 'client backend'").fetchone()[0] > 0:
        time.sleep(0.05)
    time.sleep(0.2)


def platform_sessions(conn):
    """Sessions Postgres has counted in the platform database (pg_stat_database.sessions)."""
    conn.execute("SELECT pg_stat_clear_snapshot()")
    return conn.execute("SELECT sessions FROM pg_stat_database"
                        " WHERE datname = 'platform'").fetchone()[0]


def test_busy_pool_keeps_its_upstreams(make_proxy, supabase, tmp_path):
    # Two workers, more clients than upstreams, every client always busy: waiters on both
    # workers all the time. Upstreams move between the workers' loops as clients need
    # them, logged in: closing one to log in again on the other worker would cost a login
    # per handover (once a login per transaction).
    script = tmp_path / "select.sql"
    script.write_text("SELECT 1;\n")
    pool, clients = 8, 48
    proxy = txn_proxy(make_proxy, pool_size=pool, workers=2)
    stats = stats_connection(supabase)
    before = platform_sessions(stats)
    env = dict(os.environ, PGPASSWORD=APP_PASSWORD, PGCONNECT_TIMEOUT="30")
    cmd = ["pgbench", "-h", "127.0.0.1", "-p", str(proxy.port), "-U", APP_USER, "-n",
           "-M", "extended", "-c", str(clients), "-j", "4", "-T", "4", "-f", str(script),
           "platform"]
    r = run_driver(proxy, cmd, 60, env=env)
    assert r.returncode == 0, f"pgbench failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    txns = int(r.stdout.split("number of transactions actually processed: ")[1].split()[0])
    assert txns > 1000, r.stdout
    # Backends report their session to the statistics when they exit.
    proxy.assert_clean_exit()
    wait_upstreams_reported(stats)
    logins = platform_sessions(stats) - before
    stats.close()
    assert logins <= pool, f"{logins} upstream logins for {txns} transactions"


def worker_of(proxy, sock):
    """The worker that accepted <sock> (debug log: "client connected" addr=...)."""
    addr = "127.0.0.1:%d" % sock.getsockname()[1]
    return wait_for_log(proxy, "client connected", addr=addr)["worker"]


def test_upstream_moves_to_the_worker_that_needs_it(make_proxy, supabase):
    # pool_size = 1 over two workers: the one upstream serves clients of both, moving
    # between the workers' event loops as a logged-in connection: one login in all.
    proxy = txn_proxy(make_proxy, pool_size=1, workers=2, log_level="debug")
    stats = stats_connection(supabase)
    before = platform_sessions(stats)
    a = raw(proxy)
    a_worker = worker_of(proxy, a.sock)
    a.query("BEGIN")
    pid = upstream_pid(a)
    pids, errors = [], []

    def waiter(conn):
        try:
            conn.startup({"user": APP_USER, "database": "platform"})
            conn.authenticate(APP_USER, APP_PASSWORD)
            conn.read_until_ready()
            pids.append(upstream_pid(conn))
            conn.terminate()
        except Exception as e:  # reported below, with the others
            errors.append(e)
        finally:
            conn.close()

    # Clients until one lands on the other worker (the kernel picks the worker).
    threads, workers = [], set()
    for _ in range(24):
        conn = pgwire.RawConn(proxy.port, timeout=30)
        workers.add(worker_of(proxy, conn.sock))
        t = threading.Thread(target=waiter, args=(conn,))
        t.start()
        threads.append(t)
        if len(workers - {a_worker}) > 0 and len(threads) >= 2:
            break
    assert workers - {a_worker}, "every client landed on the first client's worker"
    time.sleep(0.3)  # they wait for the one upstream
    assert not pids
    a.query("COMMIT")
    for t in threads:
        t.join(30)
    assert not errors, errors
    assert pids == [pid] * len(threads), (pid, pids)
    a.terminate()
    a.close()
    assert log_lines(proxy, "upstream moved"), "the upstream never changed workers"
    proxy.assert_clean_exit()
    wait_upstreams_reported(stats)
    assert platform_sessions(stats) - before == 1
    stats.close()


# ---------------------------------------------------------------------------
# thousands of idle clients

def test_5000_idle_clients(make_proxy, supabase):
    raise_nofile(20000)
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert soft >= IDLE_CLIENTS + 500, f"open-file limit {soft} too low for {IDLE_CLIENTS} clients"
    watch = UpstreamWatch(supabase)
    proxy = txn_proxy(make_proxy, pool_size=IDLE_POOL, start=False, log_level="info")
    proxy.command_prefix = ["prlimit", "--nofile=20000:20000"]
    proxy.start()
    conns, problems = [], []
    # Opened before the clients: psycopg waits with select(), which takes no fd above 1023.
    admin = supabase.admin()
    try:
        with watch:
            with concurrent.futures.ThreadPoolExecutor(16) as ex:
                futs = [ex.submit(raw, proxy, timeout=60) for _ in range(IDLE_CLIENTS)]
                for f in futs:
                    try:
                        conns.append(f.result(timeout=300))
                    except Exception as e:
                        problems.append(repr(e))
            assert not problems, f"{len(problems)} logins failed: {problems[:5]}"
            assert len(conns) == IDLE_CLIENTS
            assert all(c.txn_status == "I" for c in conns)
            keys = {(c.backend_pid, c.backend_secret) for c in conns}
            assert len(keys) == IDLE_CLIENTS, "two clients got the same cancel key"
            # A sample answers, all asking at once (they queue for the upstreams).
            sample = conns[::10]
            for i, c in enumerate(sample):
                c.send(pgwire.query_msg(f"SELECT 1, {i}"))
            for i, c in enumerate(sample):
                rows = [pgwire.decode_data_row(b) for t, b in c.read_until_ready() if t == b"D"]
                assert rows == [["1", str(i)]], (i, rows)
            # Another sample runs a transaction each, ten at a time: all open at once, each on
            # its own upstream.
            step = IDLE_POOL // 2
            for start in range(0, 200, step):
                batch = conns[start * 10 + 5:(start + step) * 10 + 5:10]
                for c in batch:
                    c.send(pgwire.query_msg("BEGIN; SELECT pg_backend_pid()"))
                pids = [int([pgwire.decode_data_row(b) for t, b in c.read_until_ready()
                             if t == b"D"][0][0]) for c in batch]
                assert len(set(pids)) == len(batch) == step, "two open transactions on one upstream"
                for c, pid in zip(batch, pids):
                    assert c.txn_status == "T"
                    assert upstream_pid(c) == pid
                    c.query("COMMIT")
            now = admin.execute("SELECT count(*) FROM pg_stat_activity WHERE usename ="
                                " 'platform_owner' AND backend_type = 'client backend'"
                                " AND pid <> ALL(%s)", (watch.baseline,)).fetchone()[0]
        assert now <= IDLE_POOL and watch.max <= IDLE_POOL, \
            f"{max(now, watch.max)} upstreams for pool_size {IDLE_POOL}"
        assert watch.samples > 0
        assert all(c.txn_status == "I" for c in conns)
    finally:
        for c in conns:
            c.terminate()
        admin.close()


@pytest.mark.parametrize("tls", [False, True])
def test_idle_client_gets_its_buffers_back_for_a_burst(make_proxy, supabase, tls):
    """
    A client idle between transactions for a second gives its empty buffers
    back (conn_trim); the next burst (extended and simple queries in one
    write, over TLS too) makes them again and is answered in order. The
    first round comes back at once, before the trim.
    """
    proxy = txn_proxy(make_proxy, pool_size=1, workers=1)
    c = raw(proxy, **({"tls": True, "cafile": str(supabase.ca)} if tls else {}))
    other = raw(proxy)
    burst = (pgwire.parse_msg("SELECT $1::int + 1", types=(23,)) + pgwire.bind_msg(("41",))
             + pgwire.execute_msg() + pgwire.SYNC + pgwire.query_msg("SELECT 'after'"))
    try:
        for i in range(3):
            assert c.query(f"SELECT {i}") == [[str(i)]]
            # c is idle between transactions: the one upstream serves another client meanwhile.
            assert other.query("SELECT 'other'") == [["other"]]
            time.sleep(1.3 if i else 0)  # IDLE_TRIM_MS is 1000
            c.send(burst)
            extended, simple = c.read_through_ready(), c.read_through_ready()
            assert [pgwire.decode_data_row(b) for t, b in extended if t == b"D"] == [["42"]]
            assert [pgwire.decode_data_row(b) for t, b in simple if t == b"D"] == [["after"]]
            assert c.txn_status == "I"
    finally:
        c.terminate()
        other.terminate()
