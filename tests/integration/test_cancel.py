"""CancelRequest through switchyard, including across workers, and BackendKeyData."""
import os
import signal
import subprocess
import threading
import time

import psycopg
import pytest
from psycopg import errors

from conftest import APP_PASSWORD
from helpers import log_lines


def cancel_sleep(conn, delay=0.5):
    """Runs pg_sleep(30) on <conn>, cancels it from another thread; returns (error, seconds)."""
    timer = threading.Timer(delay, conn.cancel)
    t0 = time.monotonic()
    timer.start()
    try:
        conn.execute("SELECT pg_sleep(30)")
    except psycopg.Error as e:
        return e, time.monotonic() - t0 - delay
    finally:
        timer.cancel()
    return None, time.monotonic() - t0


def settle_cancels():
    """
    Gives switchyard's own upstream connection for a forwarded CancelRequest
    time to close before the fixture's SIGTERM, so that only
    test_shutdown.py::test_sigterm_right_after_cancel covers a cancel still in
    flight at exit.
    """
    time.sleep(0.5)


def test_backend_pid_matches_backend_key_data(proxy):
    with proxy.connect() as a, proxy.connect() as b:
        for conn in (a, b):
            pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
            assert conn.info.backend_pid == pid
        assert a.info.backend_pid != b.info.backend_pid


def test_cancel_pg_sleep(proxy):
    with proxy.connect() as conn:
        err, took = cancel_sleep(conn)
        assert isinstance(err, errors.QueryCanceled), err
        assert err.sqlstate == "57014"
        assert took < 2.0, f"cancel took {took:.2f}s"
        # The session is usable after the cancel (and nothing else was cancelled).
        assert conn.execute("SELECT 'alive'").fetchone() == ("alive",)
    settle_cancels()


def test_cancel_in_transaction_and_extended(proxy):
    with proxy.connect(autocommit=False) as conn:
        conn.execute("SELECT 1")
        timer = threading.Timer(0.5, conn.cancel)
        timer.start()
        t0 = time.monotonic()
        with pytest.raises(errors.QueryCanceled):
            conn.execute("SELECT pg_sleep(%s)", (30,))
        assert time.monotonic() - t0 < 2.5
        conn.rollback()
        assert conn.execute("SELECT 2").fetchone() == (2,)
    settle_cancels()


def test_cancel_with_psql(proxy):
    """psql's SIGINT handler sends the CancelRequest through libpq."""
    env = dict(os.environ, PGPASSWORD=APP_PASSWORD)
    p = subprocess.Popen(["psql", "-X", "-At", "-v", "VERBOSITY=verbose", "-d", proxy.dsn(),
                          "-c", "SELECT pg_sleep(30)"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env)
    try:
        time.sleep(1.0)
        t0 = time.monotonic()
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=5)
        assert time.monotonic() - t0 < 2.0
        assert "57014" in err, err
        settle_cancels()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_cancel_with_wrong_key_does_nothing(proxy):
    """A CancelRequest must carry the right secret: a guessed one cancels nothing."""
    import socket
    import struct
    with proxy.connect() as conn:
        pid = conn.info.backend_pid
        result = {}

        def run():
            try:
                result["row"] = conn.execute("SELECT pg_sleep(1.5), 'done'").fetchone()
            except psycopg.Error as e:
                result["err"] = e
        t = threading.Thread(target=run)
        t.start()
        time.sleep(0.3)
        for secret in (0, 1, -1, 12345):
            with socket.create_connection(("127.0.0.1", proxy.port)) as s:
                s.sendall(struct.pack("!iiii", 16, 80877102, pid, secret))
                s.settimeout(3)
                assert s.recv(1) == b""  # no reply, just a close
        t.join(5)
        assert result.get("row") == ("", "done"), result


def test_cancel_across_workers(make_proxy):
    """
    With two workers the CancelRequest's connection often lands on the other
    worker than the session's: routing must go through the shared registry.
    Repeats until a cross-worker cancel has been seen (or 20 tries).
    """
    proxy = make_proxy(proxy={"workers": 2})
    tries = cross = 0
    while tries < 20 and (tries < 10 or cross == 0):
        tries += 1
        with proxy.connect() as conn:
            err, took = cancel_sleep(conn, delay=0.3)
            assert isinstance(err, errors.QueryCanceled), f"try {tries}: {err!r}"
            assert took < 2.0, f"try {tries}: cancel took {took:.2f}s"
            pid = conn.info.backend_pid
        time.sleep(0.05)
        session_worker = {f["upstream_pid"]: f["worker"] for f in log_lines(proxy, "session ready")}
        forwarded = [f for f in log_lines(proxy, "cancel request forwarded") if f["pid"] == str(pid)]
        assert forwarded, f"no 'cancel request forwarded' log line for pid {pid}"
        if forwarded[-1]["worker"] != session_worker[str(pid)]:
            cross += 1
    assert cross > 0, f"no cancel crossed workers in {tries} tries (SO_REUSEPORT spreading?)"
    settle_cancels()


def test_cancel_when_tls_required(make_proxy, supabase):
    """libpq sends CancelRequest in plaintext even for TLS sessions: client_tls=require must accept it."""
    proxy = make_proxy(proxy={"client_tls": "require"})
    with psycopg.connect(proxy.dsn(sslmode="verify-full", sslrootcert=str(supabase.ca)),
                         autocommit=True) as conn:
        assert conn.pgconn.ssl_in_use
        err, took = cancel_sleep(conn)
        assert isinstance(err, errors.QueryCanceled), err
        assert took < 2.0
        assert conn.execute("SELECT 'alive'").fetchone() == ("alive",)
    settle_cancels()
