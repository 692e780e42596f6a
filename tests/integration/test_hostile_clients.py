"""Clients that misbehave on purpose: floods, repeated negotiation, silence.

Each test ends with the proxy still serving others; the fixture's clean exit
under ASan/LSan proves no memory error or leak happened on the way.
"""
import socket
import struct
import time

import pytest

import pgwire
from conftest import APP_PASSWORD, APP_USER
from helpers import log_lines, wait_for_log


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def still_serving(proxy):
    with proxy.connect() as conn:
        assert conn.execute("SELECT 1").fetchone()[0] == 1


@pytest.mark.parametrize("kind", ["query", "parse"])
def test_long_pipeline_of_refusals(proxy, kind):
    """Thousands of refused statements in one write: every one answered, in order."""
    n = 3000
    c = pgwire.connect(proxy.port, APP_USER, APP_PASSWORD)
    if kind == "query":
        one = pgwire.query_msg("DELETE FROM customers")
    else:
        one = pgwire.parse_msg("DELETE FROM customers") + pgwire.bind_msg() + \
            pgwire.execute_msg() + pgwire.SYNC
    c.send(one * n + pgwire.query_msg("SELECT 42"))
    for _ in range(n):
        out = c.read_through_ready()
        assert [t for t, _ in out] == [b"E", b"Z"]
        assert pgwire.parse_error_fields(out[0][1])["C"] == "25006"
    msgs = c.read_until_ready()
    assert [pgwire.decode_data_row(b) for t, b in msgs if t == b"D"] == [["42"]]
    c.terminate()
    still_serving(proxy)


def test_refusal_flood_without_reading_is_bounded(proxy):
    """A client that sends refusals and never reads must not grow the proxy's memory."""
    before = rss_kib(proxy.pid)
    c = pgwire.connect(proxy.port, APP_USER, APP_PASSWORD)
    chunk = pgwire.query_msg("DELETE FROM customers") * 2000
    c.sock.setblocking(False)
    sent = 0
    deadline = time.monotonic() + 5
    while sent < 64 << 20 and time.monotonic() < deadline:
        try:
            sent += c.sock.send(chunk)
        except BlockingIOError:
            time.sleep(0.01)
    time.sleep(0.5)
    grown = rss_kib(proxy.pid) - before
    # Answers are ~4x the requests; without backpressure this grows by gigabytes.
    assert grown < 96 * 1024, f"RSS grew by {grown} KiB after {sent} bytes sent unread"
    c.close()
    still_serving(proxy)


def raw_socket(proxy):
    s = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
    return s


def test_second_gssenc_request_is_refused(proxy):
    s = raw_socket(proxy)
    gss = struct.pack("!II", 8, 80877104)
    s.sendall(gss)
    assert s.recv(1) == b"N"
    s.sendall(gss)
    data = s.recv(4096)
    assert data[:1] == b"E" and b"08P01" in data
    s.close()
    still_serving(proxy)


def test_startup_pipelined_behind_gssenc_is_answered(proxy):
    """libpq-style negotiation bytes and the startup packet in one write."""
    s = raw_socket(proxy)
    body = struct.pack("!I", 196608) + b"user\0" + APP_USER.encode() + b"\0database\0platform\0\0"
    startup = struct.pack("!I", len(body) + 4) + body
    s.sendall(struct.pack("!II", 8, 80877104) + startup)
    assert s.recv(1) == b"N"
    data = s.recv(4096)
    # AuthenticationSASL: the startup packet was read without a further nudge.
    assert data[:1] == b"R" and struct.unpack("!I", data[5:9])[0] == 10
    s.close()


def send_until_cut_off(s, data) -> bool:
    """sendall(); True if the peer reset the connection (or it broke) before all was sent."""
    try:
        s.sendall(data)
    except (ConnectionResetError, BrokenPipeError):
        return True
    return False


def read_until_closed(s, timeout=5.0) -> bytes:
    """Everything the peer sent before it closed or reset the connection.

    Bytes that arrived before a reset stay readable (the kernel hands out its
    receive queue before the error), so a reset loses nothing that was sent.
    A peer that keeps the connection open past <timeout> fails the test.
    """
    got = b""
    s.settimeout(timeout)
    while True:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            return got
        except socket.timeout:
            raise AssertionError(f"connection still open after {timeout}s; got {got[:64]!r}")
        if not chunk:
            return got
        got += chunk


@pytest.mark.parametrize("requests", [100000, 4000000], ids=["800KB", "32MB"])
def test_gssenc_flood_is_cut_off(proxy, requests):
    """The second GSSENCRequest is a protocol violation: answered 08P01, connection closed.

    The proxy closes with most of the flood unread, so the kernel resets the
    connection, often while sendall() is still pushing the flood: a reset or
    EPIPE on send is the proxy cutting the flood off, the expected outcome.
    800 KB may fit in the socket buffers before the proxy reacts (either
    outcome); 32 MB cannot, so that one is always cut off mid-send.
    """
    s = raw_socket(proxy)
    cut = send_until_cut_off(s, struct.pack("!II", 8, 80877104) * requests)
    got = read_until_closed(s)
    s.close()
    if requests > 1000000:
        assert cut, "the proxy took a 32 MB flood of GSSENCRequests without closing"
    # One 'N' for the first request, then one ErrorResponse, then nothing: not 100000 answers.
    assert got[:2] == b"NE", got[:64]
    (length,) = struct.unpack("!I", got[2:6])
    assert len(got) == 2 + length, f"{len(got)} bytes answered: {got[:64]!r}"
    assert pgwire.parse_error_fields(got[6:])["C"] == "08P01"
    still_serving(proxy)


def test_silent_sockets_are_dropped_after_login_timeout(make_proxy):
    proxy = make_proxy(proxy={"login_timeout_ms": 500, "max_client_conn": 3})
    idle = [raw_socket(proxy) for _ in range(3)]
    time.sleep(0.2)
    with pytest.raises(Exception) as e:  # all slots held by silent sockets
        proxy.connect().close()
    assert "too many clients" in str(e.value)
    for s in idle:
        s.settimeout(3)
        data = s.recv(4096)
        assert data == b"" or (data[:1] == b"E" and b"57014" in data)
        s.close()
    time.sleep(0.2)
    still_serving(proxy)


def silent_until(s, seconds) -> bool:
    """True if <s> stays open and says nothing for <seconds>."""
    s.settimeout(seconds)
    try:
        s.recv(4096)
    except socket.timeout:
        return True
    return False


def test_login_timeout_shortened_by_reload_applies_to_new_sockets(make_proxy):
    """Deadlines share one timer per worker: a shorter one must not wait behind a longer one."""
    proxy = make_proxy(proxy={"login_timeout_ms": 4000})
    early = raw_socket(proxy)
    before = len(log_lines(proxy))
    proxy.reload(proxy={"login_timeout_ms": 300})
    wait_for_log(proxy, "configuration reloaded", since=before)
    time.sleep(0.3)  # the workers take the new snapshot after the main thread logs it
    late = raw_socket(proxy)
    start = time.monotonic()
    late.settimeout(3)
    data = late.recv(4096)
    assert data == b"" or (data[:1] == b"E" and b"57014" in data)
    assert time.monotonic() - start < 2.5
    # The earlier socket keeps the deadline it was given (4 s from its connect).
    assert silent_until(early, 0.5)
    early.settimeout(6)
    data = early.recv(4096)
    assert data == b"" or (data[:1] == b"E" and b"57014" in data)
    early.close()
    late.close()
    still_serving(proxy)


def test_fatal_to_a_client_that_does_not_read_is_bounded(make_proxy):
    """A FATAL that cannot be written is waited for a few seconds, not until the shutdown deadline."""
    proxy = make_proxy(proxy={"shutdown_timeout_ms": 30000})
    c = pgwire.connect(proxy.port, APP_USER, APP_PASSWORD)
    chunk = pgwire.query_msg("DELETE FROM customers") * 2000
    c.sock.setblocking(False)
    deadline = time.monotonic() + 5
    stalled_since = None
    while time.monotonic() < deadline:
        try:
            c.sock.send(chunk)
            stalled_since = None
        except BlockingIOError:
            stalled_since = stalled_since or time.monotonic()
            if time.monotonic() - stalled_since > 0.5:
                break  # the proxy stopped reading: its answers to us are backed up
            time.sleep(0.01)
    assert stalled_since is not None, "the proxy never stopped reading"
    time.sleep(0.3)  # every refusal read so far is answered (queued): the session is idle
    start = time.monotonic()
    proxy.assert_clean_exit(timeout=25)
    # Drain sends it 57P01 at once; the unread FATAL holds the exit up for ~5 s at most.
    assert time.monotonic() - start < 15, proxy.log()[-3000:]
    c.close()


def test_half_finished_authentication_times_out(make_proxy):
    proxy = make_proxy(proxy={"login_timeout_ms": 500})
    c = pgwire.RawConn(proxy.port)
    c.startup({"user": APP_USER, "database": "platform"})
    mtype, _ = c.read_msg()
    assert mtype == b"R"
    start = time.monotonic()
    mtype, body = c.read_msg()  # never answered: the proxy gives up
    assert mtype == b"E" and pgwire.parse_error_fields(body)["C"] == "57014"
    assert time.monotonic() - start < 3
    assert c.is_closed()
    c.close()
