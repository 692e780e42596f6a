"""Operational behaviour of legacy reads served by MySQL (issue 7).

All of these run on a MariaDB of their own (ops_mdb, started by scripts/mariadb-legacy.sh like the
session fixture's) so that heavy queries, a restart, a million-row table and connection counting
disturb nothing else, and each test starts its own switchyard pointing at it.

- cancel and statement_timeout of a slow MySQL read: 57014 promptly, the MySQL query killed, the
  session usable;
- MariaDB stopped and started again under a running switchyard: 08006, then reads again;
- a million-row read to a slow client: switchyard's RSS stays bounded (the numbers are printed);
- multi-statement simple queries: replies in order, one ReadyForQuery, an error skips the rest;
- a failed legacy read aborts the transaction, Supabase's side included;
- [mysql] pool_size bounds MySQL connections under 20 concurrent clients.
"""
import contextlib
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

import psycopg
import pytest

import pgwire as pw
from conftest import APP_PASSWORD, APP_USER, MARIADB_SCRIPT, legacy_overrides, own_mariadb
from helpers import unique

# 200^4 = 1.6e9 joined rows: minutes of MariaDB work (200^3 takes about a second).
SLOW_READ = "SELECT count(*) FROM customers a, customers b, customers c, customers d"
# A few seconds of MariaDB work: long enough for a 300 ms timeout, short if the timeout is ignored.
TIMED_READ = ("SELECT count(*) FROM customers a, customers b, customers c, subscriptions d"
              " WHERE d.subscription_id <= 3")
BULK_ROWS = 1_000_000


@pytest.fixture(scope="module")
def ops_mdb():
    with own_mariadb("sy-mariadb-ops-") as server:
        yield server


@pytest.fixture
def ops_proxy(make_proxy, ops_mdb):
    """make_proxy with [mysql] pointing at ops_mdb: ops_proxy(mysql={...}, ...)."""
    def make(mysql=None, **overrides):
        return make_proxy(**legacy_overrides(ops_mdb, mysql, **overrides))
    return make


def readonly_queries(mdb, like="%"):
    """crm_readonly's threads on the server running a statement whose text matches <like>."""
    return mdb.query("SELECT ID, COMMAND, TIME, INFO FROM information_schema.PROCESSLIST"
                     " WHERE USER = 'crm_readonly' AND COMMAND = 'Query' AND INFO LIKE %s", like)


def readonly_threads(mdb) -> int:
    return mdb.query("SELECT count(*) FROM information_schema.PROCESSLIST WHERE USER = 'crm_readonly'")[0][0]


def wait_until(predicate, timeout, what, interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        v = predicate()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def mdb_stop(mdb):
    r = subprocess.run([str(MARIADB_SCRIPT), "stop", str(mdb.dir)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, f"mariadb-legacy.sh stop: {r.stdout}{r.stderr}"


def mdb_start(mdb):
    """Starts the (stopped) server again on its own port; its datadir is kept."""
    r = subprocess.run([str(MARIADB_SCRIPT), "start", str(mdb.dir), str(mdb.port)], capture_output=True,
                       text=True, timeout=180)
    log = (mdb.dir / "mysqld.log").read_text(errors="replace")[-3000:] if (mdb.dir / "mysqld.log").exists() else ""
    assert r.returncode == 0, f"mariadb-legacy.sh start: {r.stdout}{r.stderr}\nmysqld.log:\n{log}"


def stop_cleanly(p):
    """Stops a test's own switchyard and fails the test (not the fixture) unless it exits 0."""
    rc = p.stop()
    log = p.log()
    p.proc = None  # make_proxy's teardown has nothing left to check
    at = max(log.find("runtime error"), log.find("==ERROR: AddressSanitizer"))
    assert rc == 0, f"switchyard exited with {rc}: {log[at:at + 2500] if at >= 0 else log[-2500:]}"


def kill_leftovers(mdb):
    """Safety net: a slow read switchyard failed to kill must not run on for minutes."""
    for row in readonly_queries(mdb, "%customers%"):
        with contextlib.suppress(Exception):
            mdb.query(f"KILL QUERY {int(row[0])}")


# --- cancel and statement_timeout -----------------------------------------------------------------

def test_cancel_slow_mysql_read(ops_proxy, ops_mdb):
    """A CancelRequest during a slow MySQL read: 57014 promptly, KILL QUERY reaches MySQL, and
    the session (and its MySQL pool) goes on serving reads."""
    p = ops_proxy()
    try:
        with p.connect() as conn:
            assert conn.execute("SELECT count(*) FROM customers").fetchone() == (200,)
            result = {}

            def run():
                t0 = time.monotonic()
                try:
                    conn.execute(SLOW_READ).fetchall()
                    result["error"] = None
                except psycopg.Error as e:
                    result["error"] = e
                result["end"] = time.monotonic()
                result["took"] = result["end"] - t0
            th = threading.Thread(target=run)
            th.start()
            # The read is running on MariaDB before the cancel is sent.
            wait_until(lambda: readonly_queries(ops_mdb, "%customers%"), 10, "the slow read on MariaDB")
            sent = time.monotonic()
            conn.cancel()
            th.join(15)
            assert not th.is_alive(), "the cancelled read did not return"
            err = result["error"]
            assert err is not None, f"the read finished instead of being cancelled ({result['took']:.1f}s)"
            assert err.sqlstate == "57014", f"{err.sqlstate} {err}"
            assert result["end"] - sent < 3.0, f"cancel answered after {result['end'] - sent:.2f}s"
            print(f"cancel answered {result['end'] - sent:.3f}s after the CancelRequest")
            # MySQL stopped working on it (KILL QUERY), not only the client was answered.
            wait_until(lambda: not readonly_queries(ops_mdb, "%customers%"), 5,
                       "MariaDB to stop running the cancelled read")
            # The session is usable: reads, a transaction, Supabase.
            assert conn.execute("SELECT count(*) FROM payments").fetchone() == (1000,)
            with conn.transaction():
                assert conn.execute("SELECT count(*) FROM subscriptions").fetchone() == (300,)
            assert conn.execute("SELECT 1").fetchone() == (1,)
        # And a new session too.
        with p.connect() as conn:
            assert conn.execute("SELECT count(*) FROM customers").fetchone() == (200,)
    finally:
        kill_leftovers(ops_mdb)


def test_cancel_slow_mysql_read_in_transaction(ops_proxy, ops_mdb):
    """Cancelled inside a transaction block: the block is aborted (25P02), ROLLBACK ends it, and
    the next transaction reads again."""
    p = ops_proxy()
    try:
        with p.connect() as conn:
            conn.execute("BEGIN")
            assert conn.execute("SELECT count(*) FROM customers").fetchone() == (200,)
            timer = threading.Timer(0.1, lambda: (wait_until(
                lambda: readonly_queries(ops_mdb, "%customers%"), 10, "slow read"), conn.cancel()))
            timer.start()
            t0 = time.monotonic()
            with pytest.raises(psycopg.errors.QueryCanceled):
                conn.execute(SLOW_READ)
            timer.join()
            assert time.monotonic() - t0 < 12
            with pytest.raises(psycopg.errors.InFailedSqlTransaction):
                conn.execute("SELECT count(*) FROM customers")
            conn.execute("ROLLBACK")
            with conn.transaction():
                assert conn.execute("SELECT count(*) FROM customers").fetchone() == (200,)
    finally:
        kill_leftovers(ops_mdb)


@pytest.mark.parametrize("how", ["options", "set"])
def test_statement_timeout_slow_mysql_read(ops_proxy, ops_mdb, how):
    """statement_timeout applies to MySQL work: 57014 'canceling statement due to statement
    timeout' after about the timeout, the MySQL query killed, the session usable. Set through
    libpq's options (psycopg options='-c statement_timeout=300') or SET."""
    p = ops_proxy()
    try:
        if how == "options":
            conn = p.connect(options="-c statement_timeout=300")
        else:
            conn = p.connect()
            conn.execute("SET statement_timeout = 300")
        with conn:
            assert conn.execute("SHOW statement_timeout").fetchone() == ("300ms",)
            # a fast read is not affected
            assert conn.execute("SELECT count(*) FROM payments").fetchone() == (1000,)
            t0 = time.monotonic()
            with pytest.raises(psycopg.Error) as e:
                conn.execute(TIMED_READ).fetchall()
            took = time.monotonic() - t0
            print(f"statement_timeout=300ms ({how}): 57014 after {took:.3f}s")
            assert e.value.sqlstate == "57014", f"{e.value.sqlstate} {e.value}"
            assert "canceling statement due to statement timeout" in str(e.value)
            assert 0.25 <= took < 3.0, f"answered after {took:.2f}s"
            wait_until(lambda: not readonly_queries(ops_mdb, "%customers%"), 5,
                       "MariaDB to stop running the timed-out read")
            assert conn.execute("SELECT count(*) FROM customers").fetchone() == (200,)
            conn.execute("SET statement_timeout = 0")
            assert conn.execute("SELECT count(*) FROM customers a, customers b").fetchone() == (40000,)
    finally:
        kill_leftovers(ops_mdb)


def test_statement_timeout_startup_parameter(ops_proxy, ops_mdb):
    """statement_timeout as a startup parameter of its own (node-postgres' statement_timeout
    option sends it so): 57014 after about 300 ms, MySQL's query killed."""
    p = ops_proxy()
    c = pw.connect(p.port, APP_USER, APP_PASSWORD, extra={"statement_timeout": "300"}, timeout=30)
    try:
        assert c.query("SHOW statement_timeout") == [["300ms"]]
        t0 = time.monotonic()
        with pytest.raises(pw.WireError) as e:
            c.query(TIMED_READ)
        took = time.monotonic() - t0
        print(f"statement_timeout=300 (startup parameter): {e.value.sqlstate} after {took:.3f}s")
        assert e.value.sqlstate == "57014", str(e.value)
        assert e.value.message == "canceling statement due to statement timeout"
        assert 0.25 <= took < 2.0, f"answered after {took:.2f}s"
        wait_until(lambda: not readonly_queries(ops_mdb, "%customers%"), 5,
                   "MariaDB to stop running the timed-out read")
        assert c.query("SELECT count(*) FROM customers") == [["200"]]
    finally:
        c.terminate()
        kill_leftovers(ops_mdb)


# --- multi-statement simple queries -------------------------------------------------------------

def general_log(mdb, on: bool):
    mdb.query("SET GLOBAL log_output = 'TABLE'")
    mdb.query(f"SET GLOBAL general_log = {'ON' if on else 'OFF'}")
    if on:
        mdb.query("TRUNCATE TABLE mysql.general_log")


def logged(mdb, marker: str) -> int:
    return len(readonly_log(mdb, marker))


def readonly_log(mdb, marker: str):
    """Statements crm_readonly (switchyard) ran whose text contains <marker>."""
    return [r[0] for r in mdb.query(
        "SELECT CONVERT(argument USING utf8mb4) FROM mysql.general_log WHERE command_type = 'Query'"
        " AND user_host LIKE 'crm\\_readonly%%' AND CONVERT(argument USING utf8mb4) LIKE %s",
        f"%{marker}%")]


def test_multi_statement_transaction_simple_query(ops_proxy):
    """BEGIN; legacy read; COMMIT in one Query: CommandComplete BEGIN, the read's rows, COMMIT, in
    that order, and exactly one ReadyForQuery (idle)."""
    p = ops_proxy()
    c = pw.connect(p.port, APP_USER, APP_PASSWORD)
    try:
        c.send(pw.query_msg("BEGIN; SELECT count(*) AS n FROM customers; SELECT 2 AS two; COMMIT"))
        msgs = c.read_through_ready()
        kinds = [t for t, _ in msgs]
        assert kinds == [b"C", b"T", b"D", b"C", b"T", b"D", b"C", b"C", b"Z"], kinds
        tags = [b.rstrip(b"\0").decode() for t, b in msgs if t == b"C"]
        assert tags == ["BEGIN", "SELECT 1", "SELECT 1", "COMMIT"]
        rows = [pw.decode_data_row(b) for t, b in msgs if t == b"D"]
        assert rows == [["200"], ["2"]]
        assert c.txn_status == "I"
        # the connection is in step: the next Query gets its own answer
        assert c.query("SELECT count(*) FROM payments") == [["1000"]]
    finally:
        c.terminate()


def postgres_kinds(legacy_ref, sql):
    """The message types Postgres answers a simple Query <sql> with, on the reference copy."""
    sb = legacy_ref.supabase
    c = pw.connect(sb.port, "platform_owner", "owner-secret", dbname=legacy_ref.dbname, tls=True,
                   cafile=str(sb.ca))
    try:
        c.send(pw.query_msg(sql))
        return [t for t, _ in c.read_through_ready()]
    finally:
        c.terminate()


def test_multi_statement_error_skips_legacy_read(ops_proxy, ops_mdb, legacy_ref):
    """SELECT 1/0; legacy read: the error ends the Query, the read never reaches MySQL. Message
    sequences as Postgres answers them."""
    p = ops_proxy()
    marker = unique("mark")
    general_log(ops_mdb, True)
    c = pw.connect(p.port, APP_USER, APP_PASSWORD)
    try:
        # control: the marker read alone does reach MySQL's general log
        assert c.query(f"SELECT count(*) AS {marker}_ok FROM customers") == [["200"]]
        wait_until(lambda: logged(ops_mdb, f"{marker}_ok"), 3, "the control read in the general log")

        sql = f"SELECT 1/0; SELECT count(*) AS {marker} FROM customers"
        c.send(pw.query_msg(sql))
        msgs = c.read_through_ready()
        kinds = [t for t, _ in msgs]
        assert kinds == [b"E", b"Z"] == postgres_kinds(legacy_ref, sql), kinds
        assert pw.parse_error_fields(msgs[0][1])["C"] == "22012"

        # a legacy read that fails first: nothing after it runs either (Supabase or MySQL)
        sql = f"SELECT nosuchcol FROM customers; SELECT count(*) AS {marker}_b FROM payments; SELECT 3"
        c.send(pw.query_msg(sql))
        msgs = c.read_through_ready()
        assert [t for t, _ in msgs] == [b"E", b"Z"] == postgres_kinds(legacy_ref, sql), msgs
        # and a legacy read failing at run time in the middle (MySQL error 1242): the first
        # statement's result, the failing one's RowDescription and its error, nothing after
        sql = (f"SELECT count(*) FROM subscriptions; SELECT (SELECT customer_id FROM customers) FROM payments;"
               f" SELECT count(*) AS {marker}_c FROM payments")
        c.send(pw.query_msg(sql))
        msgs = c.read_through_ready()
        kinds = [t for t, _ in msgs]
        assert kinds == postgres_kinds(legacy_ref, sql) == [b"T", b"D", b"C", b"T", b"E", b"Z"], kinds
        assert pw.parse_error_fields(msgs[4][1])["C"] == "21000"
        assert c.txn_status == "I"
        assert c.query("SELECT 5") == [["5"]]
        time.sleep(0.3)  # the general log is written synchronously; a small margin for the skipped reads
        seen = readonly_log(ops_mdb, marker)
        assert len(seen) == 1 and f"{marker}_ok" in seen[0], f"statements after the error reached MySQL: {seen}"
    finally:
        c.terminate()
        general_log(ops_mdb, False)


# --- errors in a transaction block ----------------------------------------------------------------

@pytest.mark.parametrize("bad", ["SELECT nosuchcol FROM customers",
                                 "SELECT (SELECT customer_id FROM customers) FROM payments"],
                         ids=["unknown_column", "subquery_rows"])
@pytest.mark.parametrize("end", ["ROLLBACK", "COMMIT"])
def test_legacy_error_aborts_transaction(ops_proxy, supabase, table, bad, end):
    """BEGIN; a Supabase write; a failing legacy read → its error; the next statement → 25P02;
    ROLLBACK (or COMMIT, answered ROLLBACK) ends the block and the Supabase write is gone."""
    p = ops_proxy()
    with p.connect() as conn:
        conn.execute("BEGIN")
        conn.execute(f"INSERT INTO {table} VALUES (1, 'must be rolled back')")
        assert conn.execute("SELECT count(*) FROM customers").fetchone() == (200,)
        with pytest.raises(psycopg.Error) as e:
            conn.execute(bad).fetchall()
        assert e.value.sqlstate in ("42703", "21000"), f"{e.value.sqlstate} {e.value}"
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR
        for sql in ("SELECT count(*) FROM customers", f"SELECT count(*) FROM {table}", "SELECT 1"):
            with pytest.raises(psycopg.errors.InFailedSqlTransaction):
                conn.execute(sql)
        cur = conn.execute(end)
        assert cur.statusmessage == "ROLLBACK"
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        # the session goes on, on both sides
        assert conn.execute("SELECT count(*) FROM customers").fetchone() == (200,)
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)
    assert supabase.query(f"SELECT count(*) FROM {table}") == [(0,)]


def test_legacy_error_in_extended_transaction(ops_proxy, supabase, table):
    """The same with the extended protocol (psycopg's default) and a failing read in a pipeline:
    the messages after the error are skipped until Sync, the block is aborted."""
    p = ops_proxy()
    with p.connect(autocommit=False) as conn:
        conn.execute(f"INSERT INTO {table} VALUES (%s, %s)", (2, "rolled back"))
        with pytest.raises(psycopg.errors.UndefinedColumn):
            conn.execute("SELECT nosuchcol FROM customers WHERE customer_id = %s", (1,))
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            conn.execute("SELECT name FROM customers WHERE customer_id = %s", (1,))
        conn.rollback()
        assert conn.execute("SELECT count(*) FROM customers").fetchone() == (200,)
        conn.commit()
    assert supabase.query(f"SELECT count(*) FROM {table}") == [(0,)]


# --- the MySQL pool -----------------------------------------------------------------------------

def test_pool_size_bounds_mysql_connections(ops_proxy, ops_mdb):
    """20 concurrent clients reading legacy tables with [mysql] pool_size = 3: MariaDB never sees
    more than 3 crm_readonly connections (+1 for a KILL connection), and every read succeeds."""
    wait_until(lambda: readonly_threads(ops_mdb) == 0, 10, "earlier tests' MySQL connections to close")
    p = ops_proxy(mysql={"pool_size": 3}, proxy={"pool_timeout_ms": 20000})
    stop = threading.Event()
    samples = []

    def monitor():
        with ops_mdb.root() as conn, conn.cursor() as cur:
            while not stop.is_set():
                cur.execute("SELECT count(*) FROM information_schema.PROCESSLIST WHERE USER = 'crm_readonly'")
                samples.append(cur.fetchone()[0])
                time.sleep(0.01)
    errors, done = [], []

    def client(i):
        try:
            with p.connect() as conn:
                for j in range(8):
                    if j % 2:
                        n = conn.execute("SELECT count(*) FROM payments a, customers b WHERE b.customer_id <= %t",
                                         (20 + i,)).fetchone()[0]
                        assert n == 1000 * (20 + i)
                    else:
                        row = conn.execute("SELECT name FROM customers WHERE customer_id = %t",
                                           (i + 1,)).fetchone()
                        assert row is not None
                    done.append(1)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))
    mon = threading.Thread(target=monitor)
    mon.start()
    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(20)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    deadline = t0 + 30  # the reads take well under a second when they are served
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    took = time.monotonic() - t0
    hung = sum(t.is_alive() for t in threads)
    stop.set()
    mon.join()
    peak = max(samples)
    now = readonly_threads(ops_mdb)
    print(f"pool_size=3, 20 clients x 8 reads in {took:.2f}s: peak crm_readonly connections {peak}"
          f" ({len(samples)} samples), {hung} clients still waiting")
    assert hung == 0, (f"{hung} of 20 clients still wait for a legacy read after {took:.0f}s while MariaDB"
                       f" has {now} connections from switchyard ({len(done)} of 160 reads served)")
    assert not errors, errors[:3]
    assert len(done) == 160
    assert peak <= 3 + 1, f"MariaDB saw {peak} connections from switchyard with pool_size = 3"
    assert peak >= 2, f"peak {peak}: the clients never ran concurrently (is the monitor working?)"


# --- MariaDB restart ------------------------------------------------------------------------------

def read_error(conn, sql="SELECT count(*) FROM customers"):
    try:
        return None, conn.execute(sql).fetchone()
    except psycopg.Error as e:
        return e, None


def test_mariadb_restart(ops_proxy, ops_mdb):
    """Reads work; MariaDB stops: a read gets 08006 (and Supabase still answers); MariaDB starts
    again: reads work again within a few seconds, without restarting switchyard."""
    p = ops_proxy(mysql={"connect_timeout_ms": 1000})
    try:
        restart_reads(p, ops_mdb)
    finally:
        stop_cleanly(p)


def restart_reads(p, ops_mdb):
    with p.connect() as a, p.connect() as b:
        assert a.execute("SELECT count(*) FROM customers").fetchone() == (200,)
        assert b.execute("SELECT count(*) FROM payments").fetchone() == (1000,)
        mdb_stop(ops_mdb)
        try:
            t0 = time.monotonic()
            err, row = read_error(a)
            assert err is not None, f"a read answered {row} with MariaDB stopped"
            assert err.sqlstate == "08006", f"{err.sqlstate} {err}"
            assert time.monotonic() - t0 < 5, "the failed read took too long"
            err, _ = read_error(b, "SELECT name FROM customers WHERE customer_id = 1")
            assert err is not None and err.sqlstate == "08006", err
            # the sessions are alive: Supabase answers, and a new session can log in
            assert a.execute("SELECT 1").fetchone() == (1,)
            with p.connect() as c:
                assert c.execute("SELECT 2").fetchone() == (2,)
                err, _ = read_error(c)
                assert err is not None and err.sqlstate == "08006", err
        finally:
            mdb_start(ops_mdb)
        restarted = time.monotonic()

        def reads_again():
            return read_error(a)[1] == (200,)
        wait_until(reads_again, 15, "reads to work again after MariaDB restarted", interval=0.2)
        print(f"reads served again {time.monotonic() - restarted:.2f}s after MariaDB was back")
        assert b.execute("SELECT count(*) FROM payments").fetchone() == (1000,)
        with a.transaction():
            assert a.execute("SELECT count(*) FROM subscriptions").fetchone() == (300,)
    assert p.proc.poll() is None, "switchyard exited"


def test_mariadb_stops_during_read(ops_proxy, ops_mdb):
    """MariaDB goes away while a read runs on it: the in-flight read gets 08006 (not a hang)."""
    p = ops_proxy(mysql={"connect_timeout_ms": 1000})
    try:
        with p.connect() as conn:
            result = {}

            def run():
                err, row = read_error(conn, SLOW_READ)
                result["err"], result["row"] = err, row
            th = threading.Thread(target=run)
            th.start()
            wait_until(lambda: readonly_queries(ops_mdb, "%customers%"), 10, "the slow read on MariaDB")
            # a hard stop (SIGKILL): no orderly goodbye reaches switchyard's connection
            pid = int((ops_mdb.dir / "mysqld.pid").read_text())
            subprocess.run(["kill", "-9", str(pid)], check=True)
            # Nobody may reap it here (a zombie still answers kill -0): once it is dead, its pid
            # file goes, so that mariadb-legacy.sh start launches a new server.
            wait_until(lambda: process_dead(pid), 10, "mariadbd to die")
            (ops_mdb.dir / "mysqld.pid").unlink(missing_ok=True)
            th.join(20)
            assert not th.is_alive(), "the in-flight read hangs after MariaDB died"
            assert result["err"] is not None and result["err"].sqlstate == "08006", result
            assert conn.execute("SELECT 1").fetchone() == (1,)
        mdb_start(ops_mdb)
        with p.connect() as conn:
            wait_until(lambda: read_error(conn)[1] == (200,), 15, "reads to work again", interval=0.2)
    finally:
        if not (ops_mdb.dir / "mysqld.sock").exists() or readonly_threads_or_none(ops_mdb) is None:
            mdb_start(ops_mdb)
        stop_cleanly(p)


def process_dead(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def readonly_threads_or_none(mdb):
    try:
        return readonly_threads(mdb)
    except Exception:  # noqa: BLE001 - the server is down
        return None


# --- a million rows to a slow client --------------------------------------------------------------

def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.fixture
def bulk_table(ops_mdb):
    name = "bulk_rows"
    ops_mdb.query(f"DROP TABLE IF EXISTS {name}")
    ops_mdb.query(f"CREATE TABLE {name} (id BIGINT UNSIGNED NOT NULL PRIMARY KEY, n INT NOT NULL,"
                  " payload VARCHAR(100) NOT NULL) ENGINE=InnoDB")
    ops_mdb.query(f"INSERT INTO {name} SELECT seq, seq % 1000, CONCAT('row ', seq, ' ', REPEAT('x', 40))"
                  f" FROM seq_1_to_{BULK_ROWS}")
    yield name
    ops_mdb.query(f"DROP TABLE IF EXISTS {name}")


def test_million_row_read_memory_bounded(ops_proxy, ops_mdb, bulk_table, monkeypatch):
    """1,000,000 rows (~70 MB of DataRows) streamed to a client that first does not read at all,
    then reads slowly: switchyard's RSS grows by less than 64 MB and every row arrives."""
    # ASan keeps freed memory in quarantine (256 MB by default): that is not what is measured.
    monkeypatch.setenv("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0:exitcode=99:quarantine_size_mb=8")
    p = ops_proxy(legacy={"tables": ["customers", "subscriptions", "payments", bulk_table]},
                  proxy={"workers": 1})
    c = pw.connect(p.port, APP_USER, APP_PASSWORD, timeout=60)
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    try:
        # warm up: a first legacy read (MySQL pool, buffers), then the baseline
        assert c.query(f"SELECT count(*) FROM {bulk_table}") == [[str(BULK_ROWS)]]
        assert c.query(f"SELECT id, payload FROM {bulk_table} WHERE id <= 1000 ORDER BY id")[-1][0] == "1000"
        base = rss_kb(p.pid)
        peak = [base]
        stop = threading.Event()

        def sample():
            while not stop.is_set():
                with contextlib.suppress(OSError):
                    peak[0] = max(peak[0], rss_kb(p.pid))
                time.sleep(0.02)
        sampler = threading.Thread(target=sample)
        sampler.start()
        t0 = time.monotonic()
        c.send(pw.query_msg(f"SELECT id, n, payload FROM {bulk_table} ORDER BY id"))
        time.sleep(2.0)  # not reading at all: MySQL could have sent everything by now
        stalled_peak = peak[0]
        sock = c.sock
        sock.settimeout(60)
        buf = bytearray(c.buf)
        rows = 0
        nbytes = 0
        last_id = None
        done = False
        slow_until = time.monotonic() + 3.0  # then slowly: 64 KB every 20 ms (~3 MB/s)
        while not done:
            chunk = sock.recv(65536)
            if not chunk:
                raise AssertionError(f"connection closed after {rows} rows")
            nbytes += len(chunk)
            buf += chunk
            pos = 0
            while len(buf) - pos >= 5:
                mtype = buf[pos]
                (length,) = struct.unpack_from("!I", buf, pos + 1)
                if len(buf) - pos < 1 + length:
                    break
                if mtype == 0x44:  # DataRow
                    rows += 1
                    if rows == BULK_ROWS:
                        (ln,) = struct.unpack_from("!i", buf, pos + 7)
                        last_id = bytes(buf[pos + 11:pos + 11 + ln]).decode()
                elif mtype == 0x45:
                    raise AssertionError(pw.parse_error_fields(bytes(buf[pos + 5:pos + 1 + length])))
                elif mtype == 0x5A:
                    done = True
                pos += 1 + length
            del buf[:pos]
            if time.monotonic() < slow_until:
                time.sleep(0.02)
        took = time.monotonic() - t0
        stop.set()
        sampler.join()
        growth_mb = (peak[0] - base) / 1024
        print(f"million-row read: {rows} rows, {nbytes / 1e6:.1f} MB in {took:.1f}s; switchyard VmRSS"
              f" baseline {base / 1024:.1f} MB, peak while the client did not read"
              f" {stalled_peak / 1024:.1f} MB, peak overall {peak[0] / 1024:.1f} MB"
              f" (growth {growth_mb:.1f} MB)")
        assert rows == BULK_ROWS
        assert last_id == str(BULK_ROWS)
        assert nbytes > 50e6
        assert growth_mb < 64, f"RSS grew by {growth_mb:.1f} MB streaming {rows} rows"
        assert c.query("SELECT count(*) FROM customers") == [["200"]]
    finally:
        c.terminate()
