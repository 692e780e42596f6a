"""Failures: upstream down or hung, hostile byte streams, oversized messages."""
import os
import socket
import struct
import threading
import time

import psycopg
import pytest

from conftest import APP_PASSWORD, APP_USER, free_port
import pgwire


def assert_still_serving(proxy):
    assert proxy.proc.poll() is None, f"switchyard died:\n{proxy.log()[-4000:]}"
    with proxy.connect() as conn:
        assert conn.execute("SELECT 'still serving'").fetchone() == ("still serving",)


# ---- upstream down ----

def test_upstream_down_08006(make_proxy):
    closed = free_port()
    proxy = make_proxy(supabase={"port": closed, "connect_timeout_ms": 2000})
    t0 = time.monotonic()
    e = pgwire.connect_error(proxy.port, APP_USER, APP_PASSWORD)
    took = time.monotonic() - t0
    assert e.sqlstate == "08006", e
    assert f"127.0.0.1:{closed}" in e.message, e.message
    assert took < 2.0, f"refused upstream reported after {took:.2f}s (connect_timeout_ms=2000)"
    with pytest.raises(psycopg.OperationalError, match=f"127.0.0.1:{closed}"):
        proxy.connect()
    assert proxy.proc.poll() is None


class BlackHole:
    """Accepts TCP connections and never answers: an upstream that hangs."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        self.sock.settimeout(0.2)
        while not self.stop:
            try:
                c, _ = self.sock.accept()
                self.conns.append(c)
            except (socket.timeout, OSError):
                pass

    def close(self):
        self.stop = True
        self.thread.join(2)
        for c in self.conns:
            c.close()
        self.sock.close()


def test_upstream_hangs_times_out_within_connect_timeout(make_proxy):
    hole = BlackHole()
    try:
        proxy = make_proxy(supabase={"port": hole.port, "connect_timeout_ms": 1000},
                            proxy={"pool_timeout_ms": 10000})
        t0 = time.monotonic()
        e = pgwire.connect_error(proxy.port, APP_USER, APP_PASSWORD)
        took = time.monotonic() - t0
        assert e.sqlstate == "08006", e
        assert f"127.0.0.1:{hole.port}" in e.message, e.message
        assert 0.9 < took < 2.0, f"hung upstream reported after {took:.2f}s (connect_timeout_ms=1000)"
        assert hole.conns, "switchyard never connected to the upstream"
        assert proxy.proc.poll() is None
    finally:
        hole.close()


def test_upstream_failure_frees_pool_slot(make_proxy):
    """Failed connection attempts must give their pool slot back (pool_size=1 here)."""
    closed = free_port()
    proxy = make_proxy(supabase={"port": closed, "pool_size": 1},
                        proxy={"pool_timeout_ms": 500})
    for _ in range(5):
        assert pgwire.connect_error(proxy.port, APP_USER, APP_PASSWORD).sqlstate == "08006"


# ---- hostile clients ----

def send_and_expect_error_or_close(proxy, data: bytes, expect_sqlstate=None, after_auth=False):
    conn = pgwire.connect(proxy.port, APP_USER, APP_PASSWORD) if after_auth else pgwire.RawConn(proxy.port)
    try:
        try:
            conn.send(data)
        except OSError:
            return None
        conn.sock.settimeout(5)
        err = None
        try:
            while True:
                mtype, body = conn.read_msg()
                if mtype == b"E":
                    err = pgwire.WireError(pgwire.parse_error_fields(body))
                    break
        except (pgwire.ConnectionClosed, ConnectionResetError):
            pass
        except socket.timeout:
            raise AssertionError("switchyard neither answered nor closed within 5s")
        if expect_sqlstate is not None:
            assert err is not None and err.sqlstate == expect_sqlstate, err
        if err is not None:
            assert conn.is_closed(5), "connection left open after a FATAL"
        return err
    finally:
        conn.close()


def test_random_bytes_before_startup(proxy):
    rnd = __import__("random").Random(1234)
    for i in range(20):
        n = rnd.randint(1, 4096)
        send_and_expect_error_or_close(proxy, bytes(rnd.getrandbits(8) for _ in range(n)))
    assert_still_serving(proxy)


def test_huge_declared_startup_length(proxy):
    e = send_and_expect_error_or_close(proxy, struct.pack("!I", 0x7FFFFFF0) + b"\x00\x03\x00\x00")
    assert e is not None and e.sqlstate == "08P01"
    e = send_and_expect_error_or_close(proxy, struct.pack("!I", 4) + b"\x00\x03\x00\x00")
    assert e is not None and e.sqlstate == "08P01"
    assert_still_serving(proxy)


def test_truncated_startup_packet(proxy):
    pkt = pgwire.startup_packet({"user": APP_USER, "database": "platform"})
    # Half a packet then a close, and half a packet left hanging while others work.
    c = pgwire.RawConn(proxy.port)
    c.send(pkt[: len(pkt) // 2])
    c.close()
    hanging = pgwire.RawConn(proxy.port)
    hanging.send(pkt[:6])
    try:
        assert_still_serving(proxy)
    finally:
        hanging.close()
    assert_still_serving(proxy)


def test_unsupported_protocol_version(proxy):
    pkt = pgwire.startup_packet({"user": APP_USER}, protocol=(2 << 16))
    e = send_and_expect_error_or_close(proxy, pkt)
    assert e is not None and e.sqlstate == "0A000"
    assert_still_serving(proxy)


def test_unknown_message_type_after_auth(proxy):
    e = send_and_expect_error_or_close(proxy, pgwire.message(b"\x01", b"junk"), after_auth=True)
    assert e is not None and e.sqlstate == "08P01"
    e = send_and_expect_error_or_close(proxy, pgwire.message(b"z", b""), after_auth=True)
    assert e is not None and e.sqlstate == "08P01"
    assert_still_serving(proxy)


def test_huge_declared_length_after_auth(proxy):
    e = send_and_expect_error_or_close(proxy, b"Q" + struct.pack("!I", 0x7FFFFFF0) + b"SELECT",
                                       after_auth=True)
    assert e is not None and e.sqlstate == "08P01"
    e = send_and_expect_error_or_close(proxy, b"Q" + struct.pack("!I", 2), after_auth=True)
    assert e is not None and e.sqlstate == "08P01"
    assert_still_serving(proxy)


def test_random_bytes_after_auth(proxy):
    rnd = __import__("random").Random(99)
    for _ in range(10):
        send_and_expect_error_or_close(proxy, bytes(rnd.getrandbits(8) for _ in range(512)),
                                       after_auth=True)
    assert_still_serving(proxy)


def test_garbage_during_auth(proxy):
    c = pgwire.RawConn(proxy.port)
    try:
        c.startup({"user": APP_USER, "database": "platform"})
        mtype, _ = c.read_msg()
        assert mtype == b"R"
        c.send(pgwire.message(b"p", os.urandom(200)))
        c.sock.settimeout(5)
        mtype, body = c.read_msg()
        assert mtype == b"E"
        assert pgwire.parse_error_fields(body)["C"] in ("08P01", "28000", "28P01")
        assert c.is_closed(5)
    finally:
        c.close()
    assert_still_serving(proxy)


def test_many_clients_vanishing_midway(proxy):
    """Clients that disappear at every step of startup leave nothing behind."""
    pkt = pgwire.startup_packet({"user": APP_USER, "database": "platform"})
    for cut in range(0, len(pkt), 3):
        c = pgwire.RawConn(proxy.port)
        c.send(pkt[:cut])
        c.close()
    for _ in range(5):
        c = pgwire.RawConn(proxy.port)
        c.startup({"user": APP_USER, "database": "platform"})
        c.read_msg()
        c.close()
    assert_still_serving(proxy)


# ---- oversized messages ----

def test_oversized_message_08P01(make_proxy):
    proxy = make_proxy(proxy={"max_message_bytes": 1024})
    big = "SELECT '" + "x" * 2000 + "'"
    # The SQLSTATE, read on the wire: a FATAL 08P01 naming the limit, then a close.
    e = send_and_expect_error_or_close(proxy, pgwire.message(b"Q", pgwire.cstr(big)),
                                       expect_sqlstate="08P01", after_auth=True)
    assert "max_message_bytes" in e.message
    # What a driver sees. (libpq may report the FATAL as a lost connection when the
    # close arrives with it, so only the message text is checked here.)
    with proxy.connect() as conn:
        assert conn.execute("SELECT %s::text", ("x" * 500,)).fetchone() == ("x" * 500,)
        with pytest.raises(psycopg.Error, match="max_message_bytes"):
            conn.execute(big)
        with pytest.raises(psycopg.OperationalError):
            conn.execute("SELECT 1")
    # Parse is held whole too.
    parse = pgwire.message(b"P", pgwire.cstr("") + pgwire.cstr(big) + struct.pack("!H", 0))
    send_and_expect_error_or_close(proxy, parse + pgwire.message(b"S"), expect_sqlstate="08P01",
                                   after_auth=True)
    with proxy.connect(prepare_threshold=0) as conn:
        with pytest.raises(psycopg.Error, match="max_message_bytes"):
            conn.execute("SELECT %s::text, '" + "y" * 2000 + "'", ("a",))
    # Bind and CopyData are streamed, not held: big parameters and COPY rows pass.
    with proxy.connect() as conn:
        assert conn.execute("SELECT length(%s::text)", ("z" * 100000,)).fetchone() == (100000,)
        with conn.cursor().copy("COPY (SELECT repeat('w', 50000)) TO STDOUT") as copy:
            assert [len(r[0]) for r in copy.rows()] == [50000]
    assert_still_serving(proxy)


def test_replication_connection_refused(proxy):
    c = pgwire.RawConn(proxy.port)
    try:
        c.startup({"user": APP_USER, "database": "platform", "replication": "database"})
        mtype, body = c.read_msg()
        assert mtype == b"E"
        assert pgwire.parse_error_fields(body)["C"] == "0A000"
    finally:
        c.close()
    assert_still_serving(proxy)


def test_client_leaves_while_upstream_connect_in_progress(make_proxy):
    """
    A client that gives up while its upstream connection is still being
    opened (slow or hung upstream) must be forgotten by that connection: when
    the attempt later fails, nothing may touch the freed session.
    """
    hole = BlackHole()
    try:
        proxy = make_proxy(supabase={"port": hole.port, "connect_timeout_ms": 800},
                            proxy={"pool_timeout_ms": 10000})
        for _ in range(3):
            c = pgwire.RawConn(proxy.port)
            c.startup({"user": APP_USER, "database": "platform"})
            c.authenticate(APP_USER, APP_PASSWORD)
            time.sleep(0.1)
            c.close()  # gone before the upstream answered
        time.sleep(1.5)  # every attempt has reached connect_timeout_ms by now
        assert proxy.proc.poll() is None, f"switchyard died:\n{proxy.log()[-5000:]}"
        e = pgwire.connect_error(proxy.port, APP_USER, APP_PASSWORD)
        assert e.sqlstate == "08006"
        assert proxy.proc.poll() is None, f"switchyard died:\n{proxy.log()[-5000:]}"
    finally:
        hole.close()


def test_client_leaves_right_after_auth(proxy):
    """
    The same with a healthy upstream: clients that hang up just after
    sending their last authentication message, while switchyard opens an
    upstream for them (a new application_name each time, so none is idle).
    """
    for i in range(8):
        c = pgwire.RawConn(proxy.port)
        c.startup({"user": APP_USER, "database": "platform", "application_name": f"hangup-{i}"})
        mtype, body = c.read_msg()
        scram = pgwire.ScramClient(APP_PASSWORD)
        first = scram.first().encode()
        c.send(pgwire.message(b"p", pgwire.cstr("SCRAM-SHA-256") + struct.pack("!i", len(first))
                              + first))
        mtype, body = c.read_msg()
        c.send(pgwire.message(b"p", scram.final(body[4:].decode()).encode()))
        c.close()
    time.sleep(1.0)
    assert_still_serving(proxy)


def test_garbage_inside_tls_handshake(proxy):
    for payload in (os.urandom(300), b"\x16\x03\x01\xff\xff" + os.urandom(50), b""):
        c = pgwire.RawConn(proxy.port)
        try:
            c.send(struct.pack("!II", 8, pgwire.SSL_REQUEST_CODE))
            assert c.read_bytes(1) == b"S"
            if payload:
                c.send(payload)
        finally:
            c.close()
    assert_still_serving(proxy)


def test_second_ssl_request_inside_tls(proxy, supabase):
    c = pgwire.RawConn(proxy.port)
    try:
        assert c.start_tls(cafile=str(supabase.ca)) == b"S"
        c.send(struct.pack("!II", 8, pgwire.SSL_REQUEST_CODE))
        c.sock.settimeout(5)
        mtype, body = c.read_msg()
        assert mtype == b"E" and pgwire.parse_error_fields(body)["C"] == "08P01"
    finally:
        c.close()
    assert_still_serving(proxy)


def test_startup_with_many_or_long_parameters(proxy):
    many = {f"p{i}": "v" for i in range(600)}  # ~4 KB, under the 10000-byte startup limit
    c = pgwire.RawConn(proxy.port)
    try:
        c.startup({"user": APP_USER, "database": "platform", **many})
        c.sock.settimeout(5)
        mtype, body = c.read_msg()
        # Refused (too many) or offered authentication: either way no crash.
        assert mtype in (b"E", b"R"), mtype
    finally:
        c.close()
    long_app = "a" * 5000
    try:
        conn = pgwire.connect(proxy.port, APP_USER, APP_PASSWORD,
                              extra={"application_name": long_app})
        try:
            # Postgres truncates application_name to NAMEDATALEN - 1.
            assert conn.query("SHOW application_name") == [["a" * 63]]
        finally:
            conn.terminate()
    except pgwire.WireError as e:
        assert e.sqlstate in ("08P01", "22023", "54000"), e
    assert pgwire.connect_error(proxy.port, "u" * 3000, "pw").sqlstate == "28P01"
    assert_still_serving(proxy)
