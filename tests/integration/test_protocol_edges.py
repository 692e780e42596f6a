"""Protocol corners drivers rely on, spoken on the wire (pgwire) or via libpq."""
import hashlib
import socket
import struct
import time

import psycopg
import psycopg2

from conftest import APP_PASSWORD, APP_USER
from helpers import wait_upstream_idle
import pgwire
from pgwire import (COPY_DONE, SYNC, bind_msg, copy_data, describe_msg, execute_msg, parse_msg,
                    query_msg)


def read_types_until_ready(conn):
    """Message types up to and including ReadyForQuery (errors included, not raised)."""
    types = []
    while True:
        mtype, body = conn.read_msg()
        types.append(mtype)
        if mtype == b"Z":
            conn.txn_status = body.decode()
            return types


def same_upstream_again(proxy, supabase, pid):
    """True if a new client gets upstream <pid> back (it was released clean and reset)."""
    try:
        wait_upstream_idle(supabase, pid, timeout=3)
    except AssertionError:
        return False
    c = pgwire.connect(proxy.port, APP_USER, APP_PASSWORD)
    got = c.backend_pid
    c.terminate()
    return got == pid


def test_extended_copy_in_with_pipelined_sync(make_proxy, supabase, table):
    """
    libpq's PQexecParams("COPY ... FROM STDIN") sends Parse/Bind/Execute/Sync
    at once; the server ignores that Sync in copy-in mode and the client sends
    another after CopyDone. The session must stay in step and be reusable.
    """
    proxy = make_proxy(proxy={"workers": 1})
    c = pgwire.connect(proxy.port, APP_USER, APP_PASSWORD)
    pid = c.backend_pid
    c.send(parse_msg(f"COPY {table} FROM STDIN") + bind_msg() + execute_msg() + SYNC)
    assert [c.read_msg()[0] for _ in range(3)] == [b"1", b"2", b"G"]
    c.send(copy_data(b"1\tone\n") + copy_data(b"2\ttwo\n") + COPY_DONE + SYNC)
    assert read_types_until_ready(c) == [b"C", b"Z"]
    assert c.txn_status == "I"
    assert c.query(f"SELECT count(*) FROM {table}") == [["2"]]
    # Extended COPY TO STDOUT, then a normal query in the same pipeline.
    c.send(parse_msg(f"COPY {table} TO STDOUT") + bind_msg() + execute_msg() + SYNC
           + query_msg("SELECT 'after copy out'"))
    types = read_types_until_ready(c)
    assert types == [b"1", b"2", b"H", b"d", b"d", b"c", b"C", b"Z"], types
    assert read_types_until_ready(c) == [b"T", b"D", b"C", b"Z"]
    c.terminate()
    assert supabase.query(f"SELECT count(*) FROM {table}") == [(2,)]
    assert same_upstream_again(proxy, supabase, pid), "upstream not reused after extended COPY: out of step?"


def test_extended_copy_fail(make_proxy, supabase, table):
    proxy = make_proxy(proxy={"workers": 1})
    c = pgwire.connect(proxy.port, APP_USER, APP_PASSWORD)
    pid = c.backend_pid
    c.send(parse_msg(f"COPY {table} FROM STDIN") + bind_msg() + execute_msg() + SYNC)
    assert [c.read_msg()[0] for _ in range(3)] == [b"1", b"2", b"G"]
    c.send(copy_data(b"1\tone\n") + pgwire.message(b"f", pgwire.cstr("client gave up")) + SYNC)
    types = read_types_until_ready(c)
    assert types == [b"E", b"Z"], types
    assert c.query(f"SELECT count(*) FROM {table}") == [["0"]]
    c.terminate()
    assert same_upstream_again(proxy, supabase, pid)


def test_pipeline_with_error_skips_to_sync(proxy):
    c = pgwire.connect(proxy.port, APP_USER, APP_PASSWORD)
    try:
        c.send(parse_msg("SELECT $1::int + 1", "s1") + bind_msg(["41"], stmt="s1") + execute_msg()
               + parse_msg("SELECT 1/0") + bind_msg() + execute_msg()
               + parse_msg("SELECT 'skipped'") + bind_msg() + execute_msg() + SYNC
               + bind_msg(["1"], stmt="s1") + describe_msg() + execute_msg() + SYNC)
        first = read_types_until_ready(c)
        assert first == [b"1", b"2", b"D", b"C", b"1", b"E", b"Z"], first  # 1/0 fails at Bind (planning)
        second = read_types_until_ready(c)
        assert second == [b"2", b"T", b"D", b"C", b"Z"], second
        assert c.txn_status == "I"
    finally:
        c.terminate()


def test_portal_suspended_and_resumed(proxy):
    c = pgwire.connect(proxy.port, APP_USER, APP_PASSWORD)
    try:
        c.query("BEGIN")
        c.send(parse_msg("SELECT generate_series(1, 10)") + bind_msg(portal="p1")
               + execute_msg("p1", 4) + execute_msg("p1", 4) + execute_msg("p1", 4) + SYNC)
        types = read_types_until_ready(c)
        assert types.count(b"D") == 10 and types.count(b"s") == 2 and types.count(b"C") == 1, types
        assert c.txn_status == "T"
        c.query("COMMIT")
    finally:
        c.terminate()


def scram_login_pipelining(conn, user, password, tail: bytes):
    """SCRAM login whose last message goes out in one write with <tail>."""
    conn.startup({"user": user, "database": "platform"})
    mtype, body = conn.read_msg()
    assert mtype == b"R" and body[:4] == b"\0\0\0\x0a"
    scram = pgwire.ScramClient(password)
    first = scram.first().encode()
    conn.send(pgwire.message(b"p", pgwire.cstr("SCRAM-SHA-256") + struct.pack("!i", len(first)) + first))
    mtype, body = conn.read_msg()
    assert mtype == b"R" and body[:4] == b"\0\0\0\x0b"
    conn.send(pgwire.message(b"p", scram.final(body[4:].decode()).encode()) + tail)


def test_query_pipelined_behind_authentication(make_proxy):
    """A client may send its first query without waiting for ReadyForQuery."""
    proxy = make_proxy(proxy={"workers": 1})
    for attempt in range(3):  # first a new upstream, then reused idle ones
        c = pgwire.RawConn(proxy.port)
        try:
            scram_login_pipelining(c, APP_USER, APP_PASSWORD,
                                   query_msg(f"SELECT 'early {attempt}'")
                                   + parse_msg("SELECT $1::text") + bind_msg(["ext"])
                                   + execute_msg() + SYNC)
            c.read_until_ready()  # SASLFinal, AuthOk, ParameterStatus..., BackendKeyData, Z
            rows = [pgwire.decode_data_row(b) for t, b in c.read_until_ready() if t == b"D"]
            assert rows == [[f"early {attempt}"]]
            rows = [pgwire.decode_data_row(b) for t, b in c.read_until_ready() if t == b"D"]
            assert rows == [["ext"]]
        finally:
            c.terminate()
        time.sleep(0.2)


def test_empty_and_multi_result_queries(proxy):
    c = pgwire.connect(proxy.port, APP_USER, APP_PASSWORD)
    try:
        c.send(query_msg(""))
        assert read_types_until_ready(c) == [b"I", b"Z"]
        c.send(query_msg(";"))
        assert read_types_until_ready(c) == [b"I", b"Z"]
        c.send(query_msg("-- only a comment"))
        assert read_types_until_ready(c) == [b"I", b"Z"]
        assert c.query("SELECT 1; SELECT 2, 3; SELECT 'x' WHERE false") == [["1"], ["2", "3"]]
    finally:
        c.terminate()
    with proxy.connect() as conn:
        cur = conn.execute("SELECT 1 AS a; SELECT 'two' AS b")
        assert cur.fetchall() == [(1,)]
        assert cur.nextset() and cur.fetchall() == [("two",)]


def test_function_call_large_objects(proxy):
    """libpq's large-object API uses the FunctionCall ('F') message."""
    conn = psycopg2.connect(proxy.dsn())
    try:
        data = bytes(range(256)) * 4000
        lo = conn.lobject(0, "wb")
        oid = lo.oid
        lo.write(data)
        lo.close()
        conn.commit()
        lo = conn.lobject(oid, "rb")
        assert lo.read() == data
        lo.close()
        lo = conn.lobject(oid)
        lo.unlink()
        conn.commit()
        cur = conn.cursor()
        cur.execute("SELECT count(*) FROM pg_largeobject_metadata WHERE oid = %s", (oid,))
        assert cur.fetchone() == (0,)
    finally:
        conn.close()


def test_ssl_request_followed_by_plaintext_refused(proxy):
    """Bytes after an SSLRequest in the same packet would be spliced into TLS (CVE-2021-23214)."""
    c = pgwire.RawConn(proxy.port)
    try:
        c.send(struct.pack("!II", 8, pgwire.SSL_REQUEST_CODE)
               + pgwire.startup_packet({"user": APP_USER, "database": "platform"}))
        c.sock.settimeout(5)
        data = b""
        try:
            while True:
                chunk = c.sock.recv(4096)
                if not chunk:
                    break
                data += chunk
        except (ConnectionResetError, socket.timeout):
            pass
        assert not data.startswith(b"S"), "TLS was started with plaintext pending"
        assert b"08P01" in data or data == b"", data
    finally:
        c.close()
    with proxy.connect() as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_gssenc_request_declined(proxy):
    c = pgwire.RawConn(proxy.port)
    try:
        c.send(struct.pack("!II", 8, 80877104))
        assert c.read_bytes(1) == b"N"
        c.startup({"user": APP_USER, "database": "platform"})
        c.authenticate(APP_USER, APP_PASSWORD)
        c.read_until_ready()
        assert c.query("SELECT 'after gss'") == [["after gss"]]
    finally:
        c.terminate()


def test_backpressure_holds_upstream(proxy, supabase):
    """
    A client that does not read must stall the upstream query (the backend
    waits in ClientWrite) instead of switchyard buffering the whole result.
    """
    total_mb = 64
    c = pgwire.connect(proxy.port, APP_USER, APP_PASSWORD)
    try:
        pid = c.backend_pid
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        c.send(query_msg(f"SELECT repeat('x', 1048576) FROM generate_series(1, {total_mb})"))
        time.sleep(2.0)
        with supabase.admin() as admin:
            state, wait = admin.execute("SELECT state, wait_event FROM pg_stat_activity WHERE pid = %s",
                                        (pid,)).fetchone()
        assert state == "active" and wait == "ClientWrite", (
            f"upstream is {state}/{wait}: switchyard buffered the result instead of pushing back")
        c.sock.settimeout(30)
        rows = 0
        while True:
            mtype, body = c.read_msg()
            if mtype == b"D":
                rows += 1
                assert len(body) == 2 + 4 + 1048576
            if mtype == b"Z":
                break
        assert rows == total_mb
    finally:
        c.terminate()


def test_tls_client_large_transfer(proxy, supabase):
    dsn = proxy.dsn(sslmode="verify-full", sslrootcert=str(supabase.ca))
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute("SELECT i, repeat(md5(i::text), 100) FROM generate_series(1, 5000) i").fetchall()
        assert len(rows) == 5000 and all(len(r[1]) == 3200 for r in rows)
        payload = "y" * 3_000_000
        assert conn.execute("SELECT md5(%s::text)", (payload,)).fetchone()[0] == \
            hashlib.md5(payload.encode()).hexdigest()
