"""SIGTERM: drain (refuse new clients, let open transactions finish), then exit 0."""
import signal
import socket
import struct
import subprocess
import threading
import time

import psycopg
import pytest

from conftest import APP_PASSWORD, APP_USER
from helpers import wait_for_log
import pgwire


def new_connection_refused(proxy):
    """True if a new client cannot get a session (refused outright or told 57P03)."""
    try:
        conn = pgwire.connect(proxy.port, APP_USER, APP_PASSWORD, timeout=3)
    except (ConnectionRefusedError, pgwire.ConnectionClosed, ConnectionResetError):
        return True
    except pgwire.WireError as e:
        return e.sqlstate == "57P03"
    conn.terminate()
    return False


def test_sigterm_drains_open_transaction(make_proxy, supabase, table):
    proxy = make_proxy(proxy={"shutdown_timeout_ms": 5000})
    idle = proxy.connect()
    busy = proxy.connect(autocommit=False)
    busy.execute(f"INSERT INTO {table} VALUES (1, 'committed during drain')")
    t0 = time.monotonic()
    proxy.proc.send_signal(signal.SIGTERM)
    wait_for_log(proxy, "shutdown requested: draining")
    time.sleep(0.2)
    assert new_connection_refused(proxy), "a new client got a session during the drain"
    # The idle session is closed at once.
    with pytest.raises(psycopg.OperationalError):
        idle.execute("SELECT 1")
    # The in-transaction session can still work and COMMIT.
    assert busy.execute(f"SELECT count(*) FROM {table}").fetchone() == (1,)
    busy.commit()
    assert supabase.query(f"SELECT v FROM {table}") == [("committed during drain",)]
    # ...and is closed once it is idle.
    with pytest.raises(psycopg.OperationalError):
        busy.execute("SELECT 1")
    rc = proxy.proc.wait(timeout=5)
    took = time.monotonic() - t0
    assert rc == 0, proxy.log()[-4000:]
    assert took < 5.0, f"exit took {took:.2f}s (shutdown_timeout_ms=5000)"
    idle.close()
    busy.close()


def test_sigterm_deadline_closes_stuck_transaction(make_proxy, supabase, table):
    proxy = make_proxy(proxy={"shutdown_timeout_ms": 1500})
    stuck = pgwire.connect(proxy.port, APP_USER, APP_PASSWORD)
    stuck.query("BEGIN")
    stuck.query(f"INSERT INTO {table} VALUES (2, 'never committed')")
    t0 = time.monotonic()
    proxy.proc.send_signal(signal.SIGTERM)
    rc = proxy.proc.wait(timeout=10)
    took = time.monotonic() - t0
    assert rc == 0, proxy.log()[-4000:]
    assert 1.3 < took < 3.0, f"exit after {took:.2f}s, shutdown_timeout_ms=1500"
    # The client was told why (57P01), and the transaction did not commit.
    stuck.sock.settimeout(2)
    err = None
    try:
        while True:
            mtype, body = stuck.read_msg()
            if mtype == b"E":
                err = pgwire.parse_error_fields(body)
    except (pgwire.ConnectionClosed, ConnectionResetError, socket.timeout):
        pass
    stuck.close()
    assert err is not None and err["C"] == "57P01", err
    assert supabase.query(f"SELECT count(*) FROM {table}") == [(0,)]


def test_sigterm_idle_proxy_exits_quickly(make_proxy):
    proxy = make_proxy(proxy={"shutdown_timeout_ms": 30000})
    with proxy.connect() as conn:
        conn.execute("SELECT 1")
    t0 = time.monotonic()
    proxy.proc.send_signal(signal.SIGTERM)
    assert proxy.proc.wait(timeout=10) == 0
    assert time.monotonic() - t0 < 2.0
    # Nothing listens any more.
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", proxy.port), timeout=1).close()


def test_sigterm_with_client_waiting_for_pool_slot(make_proxy, supabase, table):
    proxy = make_proxy(supabase={"pool_size": 1},
                        proxy={"shutdown_timeout_ms": 5000, "pool_timeout_ms": 20000})
    holder = proxy.connect(autocommit=False)
    holder.execute(f"INSERT INTO {table} VALUES (3, 'holder')")
    result = {}

    def waiter():
        try:
            result["conn"] = pgwire.connect(proxy.port, APP_USER, APP_PASSWORD, timeout=15)
        except Exception as e:
            result["error"] = e

    t = threading.Thread(target=waiter)
    t.start()
    time.sleep(0.5)
    assert t.is_alive()
    t0 = time.monotonic()
    proxy.proc.send_signal(signal.SIGTERM)
    t.join(5)
    assert not t.is_alive(), "the waiting client was left hanging by the drain"
    assert isinstance(result.get("error"), pgwire.WireError), result
    assert result["error"].sqlstate == "57P01", result["error"]
    holder.commit()
    assert supabase.query(f"SELECT v FROM {table}") == [("holder",)]
    assert proxy.proc.wait(timeout=6) == 0
    assert time.monotonic() - t0 < 5.0
    holder.close()


def test_sigterm_while_upstream_connect_hangs(make_proxy):
    """An upstream connection attempt in progress must not hold the exit past shutdown_timeout_ms."""
    from test_errors import BlackHole
    hole = BlackHole()
    try:
        proxy = make_proxy(supabase={"port": hole.port, "connect_timeout_ms": 20000},
                            proxy={"shutdown_timeout_ms": 1000, "pool_timeout_ms": 30000})
        c = pgwire.RawConn(proxy.port)
        c.startup({"user": APP_USER, "database": "platform"})
        c.authenticate(APP_USER, APP_PASSWORD)
        time.sleep(0.5)
        assert hole.conns, "switchyard did not start connecting upstream"
        t0 = time.monotonic()
        proxy.proc.send_signal(signal.SIGTERM)
        try:
            rc = proxy.proc.wait(timeout=8)
        except subprocess.TimeoutExpired:
            rc = None
        took = time.monotonic() - t0
        c.close()
        assert rc == 0, f"rc={rc} after {took:.1f}s; log:\n{proxy.log()[-3000:]}"
        assert took < 2.5, f"exit took {took:.2f}s with shutdown_timeout_ms=1000"
    finally:
        hole.close()


def test_second_sigterm_exits_at_once(make_proxy):
    proxy = make_proxy(proxy={"shutdown_timeout_ms": 30000})
    stuck = pgwire.connect(proxy.port, APP_USER, APP_PASSWORD)
    stuck.query("BEGIN")
    proxy.proc.send_signal(signal.SIGTERM)
    wait_for_log(proxy, "shutdown requested: draining")
    time.sleep(0.3)
    assert proxy.proc.poll() is None, "exited before the in-transaction client finished"
    t0 = time.monotonic()
    proxy.proc.send_signal(signal.SIGTERM)
    rc = proxy.proc.wait(timeout=10)
    assert rc == 0, proxy.log()[-3000:]
    assert time.monotonic() - t0 < 2.0
    stuck.close()


def test_sigterm_right_after_cancel(make_proxy):
    """
    CancelRequests switchyard is still forwarding upstream when SIGTERM
    arrives must not be leaked or outlive the exit (exit code 0, no LSan report).
    Several are sent at once so that one is surely still open at the signal.
    """
    proxy = make_proxy(proxy={"workers": 1})
    c = pgwire.connect(proxy.port, APP_USER, APP_PASSWORD)
    c.send(pgwire.query_msg("SELECT pg_sleep(30)"))
    time.sleep(0.3)
    request = struct.pack("!iiii", 16, pgwire.CANCEL_REQUEST_CODE, c.backend_pid, c.backend_secret)
    socks = [socket.create_connection(("127.0.0.1", proxy.port)) for _ in range(10)]
    for s in socks:
        s.sendall(request)
    for s in socks:  # switchyard closes each as soon as it has started forwarding it
        s.settimeout(3)
        assert s.recv(1) == b""
        s.close()
    proxy.proc.send_signal(signal.SIGTERM)
    with pytest.raises(pgwire.WireError) as ei:
        c.read_until_ready()
    assert ei.value.sqlstate in ("57014", "57P01")
    c.close()
    rc = proxy.proc.wait(timeout=10)
    assert rc == 0, f"exit code {rc}:\n{proxy.log()[-5000:]}"
