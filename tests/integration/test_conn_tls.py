"""TLS connections under back-pressure (proxy/conn.c).

When a client stops reading, switchyard stops reading from the upstream
(s2c) and, once the client's own output is above the high-water mark, from
the client too (conn_read_enable(..., false)); both are TLS connections here.
When the client drains, reads are enabled again, and bytes OpenSSL had
already decrypted (read-ahead) must be delivered although the socket will not
signal them again.

The bug these tests guard against: conn_read_enable(c, false) used to remove
the read event even when an SSL_write was waiting for the socket to become
readable (SSL_ERROR_WANT_READ on write), so that write never resumed and the
client stalled forever; the symmetric case (an SSL_read waiting for
writability) could deliver input to an owner that had turned reads off.
Neither can be provoked on purpose through the proxy: SSL_write wants to read
only during a renegotiation, which TLS 1.3 does not have and switchyard
disables for TLS 1.2 (SSL_OP_NO_RENEGOTIATION on both sides), and OpenSSL 3
answers a peer's KeyUpdate on the next write rather than inside SSL_read. The
fix is checked by reading conn.c; these tests drive the code around it —
every pause and resume of TLS reads on both sides, with large records in
flight and data buffered inside OpenSSL — and assert that every byte arrives,
in order, and that nothing stalls.
"""
import hashlib
import selectors
import socket
import ssl
import struct
import time

import pgwire
from conftest import APP_PASSWORD, APP_USER
from pgwire import decode_data_row, query_msg

ROWS = 2000
REPEAT = 50  # each row carries 50 md5 hex strings: 1.6 KB


def expected_payload(q, g):
    return hashlib.md5(f"{g}-{q}".encode()).hexdigest() * REPEAT


def big_query(q):
    return query_msg(f"SELECT {q}, g, repeat(md5(g::text || '-{q}'), {REPEAT}) "
                     f"FROM generate_series(1, {ROWS}) g")


def tls_client(proxy, supabase):
    c = pgwire.connect(proxy.port, APP_USER, APP_PASSWORD, tls=True, cafile=str(supabase.ca))
    assert isinstance(c.sock, ssl.SSLSocket)
    return c


class Checker:
    """Consumes the replies of the pipeline in order and checks every row."""

    def __init__(self, queries):
        self.queries = queries
        self.q = 0
        self.rows = 0
        self.buf = b""
        self.received = 0

    def feed(self, data):
        self.received += len(data)
        self.buf += data
        while len(self.buf) >= 5:
            (length,) = struct.unpack("!I", self.buf[1:5])
            if len(self.buf) < 1 + length:
                return
            mtype, body = self.buf[:1], self.buf[5:1 + length]
            self.buf = self.buf[1 + length:]
            self.message(mtype, body)

    def message(self, mtype, body):
        assert mtype != b"E", pgwire.parse_error_fields(body)
        if mtype == b"D":
            q, g, payload = decode_data_row(body)
            self.rows += 1
            assert (int(q), int(g)) == (self.q, self.rows), "rows out of order"
            assert payload == expected_payload(self.q, self.rows), f"row {q}/{g} corrupted"
        elif mtype == b"Z":
            assert self.rows == ROWS, f"query {self.q}: {self.rows} rows"
            self.q += 1
            self.rows = 0

    @property
    def done(self):
        return self.q == self.queries


def run_pipeline(c, queries, stall_s, slow_bytes, send_every=0.0, timeout=120):
    """
    Sends <queries> big queries (all at once, or one every <send_every>
    seconds) without reading for <stall_s> seconds, then reads: in small
    bursts with pauses for the first <slow_bytes> (each pause lets
    switchyard's output climb over the high-water mark again), then as fast as
    possible. One thread, non-blocking: an SSL object must not be used from
    two threads at once.
    """
    sock = c.sock
    sock.setblocking(False)
    msgs = [big_query(q) for q in range(queries)]
    out = b"".join(msgs)
    sent = 0
    chunk = 16384  # a blocked SSL write is repeated with the same bytes
    check = Checker(queries)
    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
    start = time.monotonic()
    reading_from = start + stall_s
    deadline = start + timeout

    def send_some():
        nonlocal sent
        due = len(msgs) if send_every == 0 else int((time.monotonic() - start) / send_every) + 1
        end = len(b"".join(msgs[:due]))
        while sent < end:
            try:
                sent += sock.send(out[sent:min(sent + chunk, end)])
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
                return

    def read_some(limit):
        got = 0
        while got < limit:
            try:
                data = sock.recv(65536)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                return got
            assert data, "switchyard closed the connection"
            check.feed(data)
            got += len(data)
        return got

    while not check.done:
        now = time.monotonic()
        assert now < deadline, (f"stalled: {check.q}/{queries} results, {sent}/{len(out)} bytes "
                                f"sent, {check.received} received")
        send_some()
        if now < reading_from:
            time.sleep(0.05)
            continue
        if check.received < slow_bytes:
            read_some(256 * 1024)
            time.sleep(0.01)
        else:
            read_some(1 << 30)
        sel.select(timeout=0.05)
    assert sent == len(out)
    # Nothing extra after the last ReadyForQuery.
    assert check.buf == b""
    sock.settimeout(30)


def test_tls_pipeline_with_paused_reads_arrives_whole(proxy, supabase):
    """
    A TLS client pipelines ~40 MB of results and reads nothing for two
    seconds: switchyard turns off reads on the upstream and on the client;
    then the client reads slowly (pausing the proxy again and again) and
    finally fast. Every row must arrive intact and in order, and the session
    must still work afterwards.
    """
    c = tls_client(proxy, supabase)
    try:
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        run_pipeline(c, queries=12, stall_s=2.0, slow_bytes=8 << 20)
        assert c.query("SELECT 'still here'") == [["still here"]]
    finally:
        c.terminate()


def test_tls_client_sends_while_its_reads_are_off(proxy, supabase):
    """
    The client keeps sending queries, one every 150 ms, while switchyard's
    output to it is above the high-water mark and its reads are off: the
    queries wait in the kernel (and, once a read starts, inside OpenSSL).
    When the client drains, every queued query must be read and answered.
    """
    c = tls_client(proxy, supabase)
    try:
        run_pipeline(c, queries=16, stall_s=3.0, slow_bytes=0, send_every=0.15)
        assert c.query("SELECT 1") == [["1"]]
    finally:
        c.terminate()


def test_tls_sessions_in_turn_do_not_stall(proxy, supabase):
    """
    The same back-pressure on several TLS sessions in a row (the pooled
    upstream is reused), each pausing and resuming: no upstream connection may
    be left with a read or a write that never resumes.
    """
    for _ in range(3):
        c = tls_client(proxy, supabase)
        try:
            run_pipeline(c, queries=4, stall_s=0.5, slow_bytes=2 << 20)
        finally:
            c.terminate()
    with proxy.connect(sslmode="verify-full", sslrootcert=str(supabase.ca)) as conn:
        assert conn.execute("SELECT 42").fetchone()[0] == 42
