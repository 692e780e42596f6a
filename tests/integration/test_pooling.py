"""The upstream pool: reuse with a reset, pool_size as a cap, pool_timeout_ms, no leaks."""
import socket
import struct
import threading
import time

import psycopg
import pytest

from conftest import APP_PASSWORD, APP_USER
from helpers import unique, wait_upstream_idle
import pgwire


def upstream_count(supabase, app_name):
    """Upstream connections switchyard holds for clients named <app_name>."""
    with supabase.admin() as conn:
        return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE usename = 'platform_owner'"
                            " AND application_name = %s", (app_name,)).fetchone()[0]


def connect_after_reset(proxy, supabase, pid, **kw):
    """Connects once upstream <pid>, left by the previous client, is reset and idle."""
    wait_upstream_idle(supabase, pid)
    return proxy.connect(**kw)


def test_reuse_with_reset_session(make_proxy, supabase):
    proxy = make_proxy(proxy={"workers": 1})
    with proxy.connect() as a:
        pid = a.info.backend_pid
        a.execute("SET work_mem = '12MB'")
        a.execute("SELECT set_config('sy.custom', 'leaked', false)")
        a.execute("CREATE TEMP TABLE sy_temp (x int)")
        a.execute("PREPARE sy_stmt AS SELECT 1")
        a.execute("SELECT pg_advisory_lock(424242)")
        a.execute("LISTEN sy_pool_channel")
        assert a.execute("SHOW work_mem").fetchone() == ("12MB",)
    with connect_after_reset(proxy, supabase, pid) as b:
        assert b.info.backend_pid == pid, "second client did not reuse the idle upstream"
        assert b.execute("SELECT pg_backend_pid()").fetchone() == (pid,)
        assert b.execute("SHOW work_mem").fetchone() == ("4MB",)
        assert b.execute("SELECT current_setting('sy.custom', true)").fetchone()[0] in (None, "")
        assert b.execute("SELECT to_regclass('pg_temp.sy_temp')").fetchone() == (None,)
        assert b.execute("SELECT count(*) FROM pg_prepared_statements").fetchone() == (0,)
        assert b.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = %s",
                         (pid,)).fetchone() == (0,)
        assert b.execute("SELECT count(*) FROM pg_listening_channels()").fetchone() == (0,)
        # The name is free again: PREPARE of the same name works.
        b.execute("PREPARE sy_stmt AS SELECT 2")
        assert b.execute("EXECUTE sy_stmt").fetchone() == (2,)


def test_reuse_after_extended_protocol_prepared(make_proxy, supabase):
    """psycopg's server-side prepared statements (_pg3_N) must not survive into the next client."""
    proxy = make_proxy(proxy={"workers": 1})
    with proxy.connect(prepare_threshold=0) as a:
        pid = a.info.backend_pid
        for i in range(3):
            a.execute("SELECT %s::int", (i,))
        assert a.execute("SELECT count(*) FROM pg_prepared_statements").fetchone()[0] >= 1
    with connect_after_reset(proxy, supabase, pid, prepare_threshold=0) as b:
        assert b.info.backend_pid == pid
        assert b.execute("SELECT count(*) FROM pg_prepared_statements").fetchone()[0] <= 1
        # psycopg numbers its statements from _pg3_0 again: no clash with the old ones.
        for i in range(3):
            assert b.execute("SELECT %s::int + 1", (i,)).fetchone() == (i + 1,)


def test_pool_size_is_a_cap(make_proxy, supabase):
    app = unique("cap")
    proxy = make_proxy(supabase={"pool_size": 2}, proxy={"pool_timeout_ms": 10000})
    a = proxy.connect(application_name=app)
    b = proxy.connect(application_name=app)
    result = {}

    def third():
        t0 = time.monotonic()
        try:
            c = proxy.connect(application_name=app)
            result["waited"] = time.monotonic() - t0
            result["row"] = c.execute("SELECT 'third'").fetchone()
            c.close()
        except Exception as e:  # reported by the assertions below
            result["error"] = e

    try:
        t = threading.Thread(target=third)
        t.start()
        time.sleep(1.0)
        assert t.is_alive() and not result, f"third client was not made to wait: {result}"
        assert upstream_count(supabase, app) == 2
        a.close()
        t.join(5)
        assert not t.is_alive(), "third client still waiting after a slot was freed"
        assert result.get("row") == ("third",), result
        assert 0.9 < result["waited"] < 4, result
        assert upstream_count(supabase, app) <= 2
        assert b.execute("SELECT 'b still fine'").fetchone() == ("b still fine",)
    finally:
        a.close()
        b.close()


def test_pool_timeout_53300(make_proxy):
    proxy = make_proxy(supabase={"pool_size": 1}, proxy={"pool_timeout_ms": 400})
    holder = proxy.connect()
    try:
        t0 = time.monotonic()
        e = pgwire.connect_error(proxy.port, APP_USER, APP_PASSWORD)
        took = time.monotonic() - t0
        assert e.sqlstate == "53300", e
        assert 0.3 < took < 2.0, f"pool timeout after {took:.2f}s, configured 0.4s"
        with pytest.raises(psycopg.OperationalError, match="no upstream connection available"):
            proxy.connect()
        assert holder.execute("SELECT 'holder fine'").fetchone() == ("holder fine",)
    finally:
        holder.close()
    # Once the slot is free, clients get in again.
    with proxy.connect() as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def raw_session(proxy):
    return pgwire.connect(proxy.port, APP_USER, APP_PASSWORD)


def abrupt_close(conn):
    """Closes the TCP connection without a Terminate message (a crashed client)."""
    conn.sock.close()


def check_next_client_clean(proxy, supabase, table):
    with proxy.connect() as b:
        assert b.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        assert b.execute(f"SELECT count(*) FROM {table} WHERE v = 'a'").fetchone() == (0,)
        b.execute(f"INSERT INTO {table} VALUES (2, 'b')")
        # b's autocommit insert is really committed (it did not land in a's open transaction).
        assert supabase.query(f"SELECT id, v FROM {table}") == [(2, "b")]
        assert b.execute("SELECT now() = statement_timestamp()").fetchone() == (True,)


@pytest.mark.parametrize("how", ["in_transaction", "failed_transaction", "mid_copy", "mid_extended"])
def test_disconnect_mid_transaction_does_not_leak(make_proxy, supabase, table, how):
    proxy = make_proxy(proxy={"workers": 1}, supabase={"pool_size": 1})
    a = raw_session(proxy)
    a.query("BEGIN")
    a.query(f"INSERT INTO {table} VALUES (1, 'a')")
    assert a.txn_status == "T"
    if how == "failed_transaction":
        with pytest.raises(pgwire.WireError):
            a.query("SELECT 1/0")
        assert a.txn_status == "E"
    elif how == "mid_copy":
        a.send(pgwire.message(b"Q", pgwire.cstr(f"COPY {table} FROM STDIN")))
        mtype, _ = a.read_msg()
        assert mtype == b"G"
        a.send(pgwire.message(b"d", b"3\ta\n"))
    elif how == "mid_extended":
        a.send(pgwire.message(b"P", pgwire.cstr("") + pgwire.cstr(
            f"INSERT INTO {table} VALUES (4, 'a')") + struct.pack("!H", 0)))
        a.send(pgwire.message(b"B", b"\0\0" + struct.pack("!HHH", 0, 0, 0)))
        a.send(pgwire.message(b"E", b"\0" + struct.pack("!i", 0)))
        a.send(pgwire.message(b"H"))  # Flush, no Sync
        mtype, _ = a.read_msg()
        assert mtype == b"1"  # ParseComplete
    time.sleep(0.1)
    abrupt_close(a)
    check_next_client_clean(proxy, supabase, table)
    assert supabase.query(f"SELECT count(*) FROM {table} WHERE v = 'a'") == [(0,)]


def test_waiting_client_gets_clean_upstream_after_holder_drops(make_proxy, supabase, table):
    """The waiter is served by whatever replaces the dropped in-transaction upstream."""
    proxy = make_proxy(supabase={"pool_size": 1}, proxy={"pool_timeout_ms": 10000})
    a = raw_session(proxy)
    a.query("BEGIN")
    a.query(f"INSERT INTO {table} VALUES (1, 'a')")
    result = {}

    def waiter():
        try:
            with proxy.connect() as b:
                result["status"] = b.info.transaction_status
                result["seen"] = b.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                b.execute(f"INSERT INTO {table} VALUES (2, 'b')")
        except Exception as e:
            result["error"] = e

    t = threading.Thread(target=waiter)
    t.start()
    time.sleep(0.5)
    assert t.is_alive()
    abrupt_close(a)
    t.join(5)
    assert result.get("status") == psycopg.pq.TransactionStatus.IDLE, result
    assert result.get("seen") == 0, result
    assert supabase.query(f"SELECT id, v FROM {table}") == [(2, "b")]


def test_upstream_terminated_under_active_session(proxy, supabase):
    with proxy.connect() as victim:
        pid = victim.info.backend_pid
        with supabase.admin() as admin:
            assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)
        with pytest.raises(psycopg.OperationalError) as ei:
            for _ in range(20):  # the termination arrives asynchronously
                victim.execute("SELECT 1")
                time.sleep(0.05)
        # Postgres' own FATAL (57P01) or switchyard's lost-upstream error (08006).
        assert "terminating connection" in str(ei.value) or "upstream" in str(ei.value), ei.value
    with proxy.connect() as conn:
        assert conn.info.backend_pid != pid
        assert conn.execute("SELECT 'fresh'").fetchone() == ("fresh",)


def test_idle_pooled_upstream_terminated(make_proxy, supabase):
    """A pooled upstream that dies while idle is dropped, never handed to a client."""
    proxy = make_proxy(proxy={"workers": 1})
    with proxy.connect() as a:
        pid = a.info.backend_pid
    wait_upstream_idle(supabase, pid)
    with supabase.admin() as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)
    time.sleep(0.3)
    for _ in range(3):
        with proxy.connect() as b:
            assert b.info.backend_pid != pid
            assert b.execute("SELECT 'works'").fetchone() == ("works",)


def test_stale_cancel_key_cannot_cancel_next_client(make_proxy, supabase):
    """
    After a client leaves, its (pid, secret) must stop working: the next
    client on the same upstream gets a new secret.
    """
    proxy = make_proxy(proxy={"workers": 1})
    a = pgwire.connect(proxy.port, APP_USER, APP_PASSWORD)
    old_pid, old_secret = a.backend_pid, a.backend_secret
    a.terminate()
    wait_upstream_idle(supabase, old_pid)
    b = pgwire.connect(proxy.port, APP_USER, APP_PASSWORD)
    try:
        assert b.backend_pid == old_pid, "upstream not reused; test needs the same pid"
        assert b.backend_secret != old_secret
        b.send(pgwire.query_msg("SELECT pg_sleep(1.5), 'finished'"))
        time.sleep(0.3)
        with socket.create_connection(("127.0.0.1", proxy.port)) as s:
            s.sendall(struct.pack("!iiii", 16, pgwire.CANCEL_REQUEST_CODE, old_pid, old_secret))
            s.settimeout(3)
            assert s.recv(1) == b""
        rows = [pgwire.decode_data_row(body) for t, body in b.read_until_ready() if t == b"D"]
        assert rows == [["", "finished"]]
        # The current key does cancel.
        b.send(pgwire.query_msg("SELECT pg_sleep(30)"))
        time.sleep(0.3)
        with socket.create_connection(("127.0.0.1", proxy.port)) as s:
            s.sendall(struct.pack("!iiii", 16, pgwire.CANCEL_REQUEST_CODE, b.backend_pid,
                                  b.backend_secret))
        with pytest.raises(pgwire.WireError) as ei:
            b.read_until_ready()
        assert ei.value.sqlstate == "57014"
    finally:
        b.terminate()
    time.sleep(0.5)  # see test_cancel.settle_cancels


def test_max_client_conn(make_proxy):
    proxy = make_proxy(proxy={"max_client_conn": 2})
    a = proxy.connect()
    b = proxy.connect()
    try:
        e = pgwire.connect_error(proxy.port, APP_USER, APP_PASSWORD)
        assert e.sqlstate == "53300", e
        assert a.execute("SELECT 1").fetchone() == (1,)
    finally:
        a.close()
        b.close()
    time.sleep(0.2)
    with proxy.connect() as c:
        assert c.execute("SELECT 2").fetchone() == (2,)
