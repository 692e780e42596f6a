"""Reply order in pipelines, measured against Postgres itself.

Every client message that earns a reply must be answered in the order it was
sent, whoever answers it (Supabase, or switchyard itself for a refusal), and a
refusal must land exactly where Postgres would have put the error of the
refused statement, with Postgres' later semantics (skip to Sync in the
extended protocol, 25P02 until ROLLBACK inside a transaction).

Most tests here are differential: the same frontend bytes are sent straight
to the Postgres the harness starts (TLS + SCRAM as platform_owner) and through
switchyard, every backend message is read, and the two transcripts must be
equal. On the direct side a refused statement is replaced by a stand-in that
fails to parse (`refused_stand_in_<table>`): its syntax error is raised at the
very point where the refusal is raised (Parse, or the parse of a simple
query), so the direct transcript, with that error read as "refused, naming
<table>", is what switchyard must produce.
"""
import re
import signal
import socket
import struct
import time

import pytest

import pgwire
from conftest import APP_PASSWORD, APP_USER
from helpers import unique, wait_for_log
from pgwire import (COPY_DONE, FLUSH, SYNC, bind_msg, copy_data, describe_msg, execute_msg,
                    parse_msg, query_msg)

READ_TIMEOUT = 10.0
STAND_IN = "refused_stand_in_"
STAND_IN_RE = re.compile(r'"%s(\w+)"' % STAND_IN)
QUOTED_RE = re.compile(r'"([^"]+)"')


# ---- connections ----

def connect_direct(supabase, timeout=READ_TIMEOUT):
    """A raw connection straight to Postgres, as switchyard itself logs in there."""
    return pgwire.connect(supabase.port, "platform_owner", "owner-secret", tls=True,
                          cafile=str(supabase.ca), timeout=timeout)


def connect_proxy(proxy, timeout=READ_TIMEOUT):
    return pgwire.connect(proxy.port, APP_USER, APP_PASSWORD, timeout=timeout)


# ---- transcripts ----

class Stop(Exception):
    """The scenario cannot go on on this side (EOF or a read timed out)."""


def token(mtype: bytes, body: bytes) -> str:
    """One backend message as a comparable string."""
    t = mtype.decode()
    if mtype in (b"E", b"N"):
        f = pgwire.parse_error_fields(body)
        sev = f.get("V") or f.get("S")
        if mtype == b"N":
            return f"N:{sev}:{f.get('C')}"
        m = STAND_IN_RE.search(f.get("M", ""))
        if f.get("C") == "42601" and m:
            return f"E:ERROR:25006:refused:{m.group(1)}"  # the direct side's stand-in
        if f.get("C") == "25006":
            q = QUOTED_RE.search(f.get("M", ""))
            return f"E:{sev}:25006:refused:{q.group(1) if q else f.get('M')}"
        out = f"E:{sev}:{f.get('C')}:{f.get('M')}"
        if "P" in f:
            out += f":P={f['P']}"
        return out
    if mtype == b"Z":
        return f"Z:{body.decode()}"
    if mtype == b"C":
        return "C:" + body.rstrip(b"\0").decode()
    if mtype == b"D":
        return "D:" + ",".join("NULL" if v is None else v for v in pgwire.decode_data_row(body))
    if mtype == b"T":
        (n,) = struct.unpack("!H", body[:2])
        names, off = [], 2
        for _ in range(n):
            end = body.index(b"\0", off)
            names.append(body[off:end].decode())
            off = end + 1 + 18
        return "T:" + ",".join(names)
    if mtype == b"d":
        return "d:" + body.decode(errors="replace").replace("\n", "\\n")
    if mtype == b"S":
        name, value, _ = body.split(b"\0", 2)
        return f"S:{name.decode()}={value.decode()}"
    return t


class Side:
    """One connection (direct or through switchyard) and the transcript of what it received."""

    def __init__(self, name, conn, table=None, proxy=None):
        self.name = name
        self.conn = conn
        self.table = table
        self.proxy = proxy
        self.tokens = []
        self.raw = []  # (type, body) of every message, in order

    @property
    def direct(self):
        return self.name == "direct"

    def refused(self, sql: str, table: str) -> str:
        """<sql> through switchyard; on the direct side a stand-in that fails where it would."""
        return f"{STAND_IN}{table}" if self.direct else sql

    def send(self, *parts: bytes):
        try:
            self.conn.send(b"".join(parts))
        except (BrokenPipeError, ConnectionResetError) as e:
            self.tokens.append(f"SEND-FAILED:{type(e).__name__}")
            raise Stop() from e

    def _one(self, timeout):
        self.conn.sock.settimeout(timeout)
        try:
            mtype, body = self.conn.read_msg()
        except (pgwire.ConnectionClosed, ConnectionResetError, BrokenPipeError):
            self.tokens.append("EOF")
            raise Stop()
        except socket.timeout:
            self.tokens.append("TIMEOUT")
            raise Stop()
        self.raw.append((mtype, body))
        self.tokens.append(token(mtype, body))
        return mtype, body

    def ready(self, n=1, timeout=READ_TIMEOUT):
        """Reads through the n-th ReadyForQuery."""
        for _ in range(n):
            while self._one(timeout)[0] != b"Z":
                pass

    def upto(self, mtype: bytes, timeout=READ_TIMEOUT):
        """Reads through the next message of type <mtype>."""
        while self._one(timeout)[0] != mtype:
            pass

    def count(self, n, timeout=READ_TIMEOUT):
        """Reads exactly n messages (no Sync needed for them to come)."""
        for _ in range(n):
            self._one(timeout)

    def eof(self, timeout=READ_TIMEOUT):
        """Reads until the peer closes (the "EOF" token ends the transcript)."""
        while True:
            self._one(timeout)

    def sentinel(self, tag):
        """A plain query whose exact answer shows the session is in step."""
        self.send(query_msg(f"SELECT 'sentinel {tag}' AS s"))
        self.ready()

    def close(self):
        self.conn.terminate()


END_OF_SCENARIO = ["T:end", "D:end of scenario", "C:SELECT 1", "Z:I"]


def run_side(side, scenario):
    """Runs <scenario>, then one last query whose answer must come next (nothing left unread)."""
    side.unread = None
    try:
        scenario(side)
        mark = len(side.tokens)
        side.send(query_msg("SELECT 'end of scenario' AS end"))
        side.ready()
        side.unread = side.tokens[mark:-len(END_OF_SCENARIO)]
    except Stop:
        pass
    finally:
        side.close()
    return side.tokens


def fmt(tokens):
    return "\n".join(f"  {i:3} {t}" for i, t in enumerate(tokens))


def assert_same(direct, via_proxy):
    if direct != via_proxy:
        n = next((i for i, (a, b) in enumerate(zip(direct, via_proxy)) if a != b),
                 min(len(direct), len(via_proxy)))
        raise AssertionError(
            f"switchyard's replies differ from Postgres' at message {n}\n"
            f"Postgres (direct):\n{fmt(direct)}\nswitchyard:\n{fmt(via_proxy)}")


def differential(supabase, proxy, scenario, tables=(None, None)):
    """Runs <scenario> directly and through switchyard; the transcripts must be equal."""
    side = Side("direct", connect_direct(supabase), tables[0])
    direct = run_side(side, scenario)
    assert "TIMEOUT" not in direct and "SEND-FAILED" not in " ".join(direct), \
        f"the scenario itself is wrong: Postgres did not answer it\n{fmt(direct)}"
    assert not side.unread, \
        f"the scenario itself is wrong: it left Postgres' replies {side.unread} unread\n{fmt(direct)}"
    print(f"Postgres (direct):\n{fmt(direct)}")
    via = run_side(Side("proxy", connect_proxy(proxy), tables[1], proxy), scenario)
    assert_same(direct, via)
    return direct


def extended(sql, params=(), portal="", stmt_name="", max_rows=0, describe=False):
    """Parse/Bind/(Describe portal)/Execute of one statement (no Sync)."""
    out = parse_msg(sql, stmt_name) + bind_msg(params, portal=portal, stmt=stmt_name)
    if describe:
        out += describe_msg(b"P", portal)
    return out + execute_msg(portal, max_rows)


def scratch_tables(supabase, n=2, trigger_sleep=None):
    names = [unique("po") for _ in range(n)]
    with supabase.connect() as conn:
        for name in names:
            conn.execute(f"CREATE TABLE {name} (id int, v text)")
            if trigger_sleep is not None:
                conn.execute(f"CREATE FUNCTION {name}_slow() RETURNS trigger LANGUAGE plpgsql AS "
                             f"$$BEGIN PERFORM pg_sleep({trigger_sleep}); RETURN NEW; END$$")
                conn.execute(f"CREATE TRIGGER {name}_slow BEFORE INSERT ON {name} "
                             f"FOR EACH ROW EXECUTE FUNCTION {name}_slow()")
    return names


def drop_tables(supabase, names):
    with supabase.admin() as conn:
        conn.execute("SET lock_timeout = '10s'")  # never hang on a session a failed test left open
        for name in names:
            conn.execute(f"DROP TABLE IF EXISTS {name}")
            conn.execute(f"DROP FUNCTION IF EXISTS {name}_slow()")


@pytest.fixture
def two_tables(supabase):
    """One fresh scratch table for the direct side, one for the proxy side."""
    names = scratch_tables(supabase)
    yield names
    drop_tables(supabase, names)


@pytest.fixture
def slow_tables(supabase):
    """Scratch tables whose BEFORE INSERT trigger sleeps 1 s per row."""
    names = scratch_tables(supabase, trigger_sleep=1)
    yield names
    drop_tables(supabase, names)


# ---- 1. a refusal after a pipeline that Postgres partly ignored ----

@pytest.mark.parametrize("when", ["same_write", "after_ready"])
def test_refusals_after_ignored_query_in_failed_segment(supabase, proxy, when):
    """
    P("SELECT 1/0") B E Q("SELECT 2") S: the Bind fails, and Postgres ignores
    everything up to Sync, the Query included, so the whole batch earns
    "1 E Z" — one ReadyForQuery. Two refused queries after it must each get
    their own 25006 naming their own table, then the session is in step.
    """
    def scenario(s):
        first = (parse_msg("SELECT 1/0") + bind_msg() + execute_msg() + query_msg("SELECT 2")
                 + SYNC)
        refusals = (query_msg(s.refused("DELETE FROM customers", "customers"))
                    + query_msg(s.refused("UPDATE payments SET amount = 0", "payments")))
        if when == "same_write":
            s.send(first + refusals)
            s.ready(3)
        else:
            s.send(first)
            s.ready()
            s.send(refusals)
            s.ready(2)
        s.send(query_msg("SELECT 1"))
        s.ready()
        # Idle again: a refusal now is answered by switchyard alone.
        s.send(query_msg(s.refused("DELETE FROM subscriptions", "subscriptions")))
        s.ready()
        s.send(parse_msg(s.refused("INSERT INTO customers (customer_id, name) VALUES (1, 'x')",
                                   "customers")) + bind_msg() + execute_msg() + SYNC)
        s.ready()
        s.sentinel("after refusals")

    out = differential(supabase, proxy, scenario)
    assert out[:3] == ["1", "E:ERROR:22012:division by zero", "Z:I"], out


# ---- 2./3. a refusal queued behind slow upstream work ----

def queue_behind_slow_work(s, send_refusal=True):
    """
    Q(COPY t FROM STDIN) d c Q(SELECT 1) at once (the row's trigger sleeps 1 s);
    once CopyInResponse is here, an extended batch running pg_sleep(1.5); once
    the SELECT 1 is answered (the batch still running), a refused Query.
    """
    s.send(query_msg(f"COPY {s.table} FROM STDIN") + copy_data(b"1\tone\n") + COPY_DONE
           + query_msg("SELECT 1"))
    s.upto(b"G")
    s.send(parse_msg("SELECT pg_sleep(1.5)") + bind_msg() + execute_msg() + SYNC)
    s.ready(2)  # COPY's C Z, then SELECT 1's T D C Z
    if send_refusal:
        s.send(query_msg(s.refused("DELETE FROM customers", "customers")))


def test_local_refusal_does_not_overtake_upstream_replies(supabase, proxy, slow_tables):
    """The issue's case: the refusal's E Z must come last, after the pg_sleep batch."""
    def scenario(s):
        queue_behind_slow_work(s)
        s.ready(2)  # the batch's 1 2 D C Z, then the refusal's E Z
        s.sentinel("after queued refusal")

    out = differential(supabase, proxy, scenario, tables=slow_tables)
    assert out[:7] == ["G", "C:COPY 1", "Z:I", "T:?column?", "D:1", "C:SELECT 1", "Z:I"], out
    assert out[7:14] == ["1", "2", "D:", "C:SELECT 1", "Z:I",
                         "E:ERROR:25006:refused:customers", "Z:I"], out


@pytest.mark.parametrize("work", ["simple", "extended", "extended_flush"])
def test_refusal_queued_behind_slow_query(supabase, proxy, work):
    """A refused Query sent while a slow statement is still running is answered after it."""
    def scenario(s):
        if work == "simple":
            s.send(query_msg("SELECT pg_sleep(0.5)"))
        elif work == "extended":
            s.send(extended("SELECT pg_sleep(0.5)") + SYNC)
        else:  # the refusal arrives mid-segment, behind a Flush
            s.send(extended("SELECT pg_sleep(0.5)") + FLUSH)
        s.send(query_msg(s.refused("DELETE FROM customers", "customers")))
        if work == "extended_flush":
            s.send(SYNC)
        s.ready(2)
        s.sentinel("after slow query")

    out = differential(supabase, proxy, scenario)
    assert "E:ERROR:25006:refused:customers" in out, out


@pytest.mark.parametrize("refusal_sent", [True, False], ids=["refusal_queued", "batch_only"])
def test_sigterm_drain_delivers_every_owed_reply(supabase, make_proxy, slow_tables, refusal_sent):
    """
    SIGTERM while the pg_sleep batch (and possibly a refused query behind it)
    is outstanding: the drain waits for the session to be idle, so the client
    gets every reply it is owed, then a FATAL 57P01 (or just the close).
    """
    proxy = make_proxy(proxy={"shutdown_timeout_ms": 8000})
    s = Side("proxy", connect_proxy(proxy), slow_tables[1], proxy)
    try:
        queue_behind_slow_work(s, send_refusal=refusal_sent)
        if refusal_sent:
            # The refusal is logged when switchyard reads it (or, at the latest, answers it).
            wait_for_log(proxy, "statement refused", timeout=8, table="customers")
        proxy.proc.send_signal(signal.SIGTERM)
        s.eof(timeout=8)
    except Stop:
        pass
    finally:
        s.conn.close()
    owed = ["1", "2", "D:", "C:SELECT 1", "Z:I"]
    if refusal_sent:
        owed += ["E:ERROR:25006:refused:customers", "Z:I"]
    assert s.tokens[:7] == ["G", "C:COPY 1", "Z:I", "T:?column?", "D:1", "C:SELECT 1", "Z:I"], \
        fmt(s.tokens)
    got = s.tokens[7:]
    assert got[:len(owed)] == owed, f"owed replies lost or out of order:\n{fmt(s.tokens)}"
    rest = got[len(owed):]
    assert rest == ["EOF"] or (len(rest) == 2 and rest[0].startswith("E:FATAL:57P01:")
                               and rest[1] == "EOF"), \
        f"after the owed replies: {rest}\n{fmt(s.tokens)}"
    rc = proxy.proc.wait(timeout=10)
    assert rc == 0, proxy.log()[-4000:]


# ---- 4. the upstream's own FATAL reaches the client unchanged ----

def wait_active(supabase, pid, timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:
        with supabase.admin() as admin:
            row = admin.execute("SELECT state, query FROM pg_stat_activity WHERE pid = %s",
                                (pid,)).fetchone()
        if row is not None and row[0] == "active" and "pg_sleep" in (row[1] or ""):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"backend {pid} never got busy: {row}")
        time.sleep(0.05)


@pytest.mark.parametrize("state", ["idle", "busy", "busy_pipeline"])
def test_upstream_fatal_passed_through(supabase, proxy, state):
    """
    pg_terminate_backend on the upstream backend: the client gets exactly
    what a direct client gets (Postgres' FATAL 57P01 "terminating connection
    due to administrator command", byte for byte), then EOF — no second,
    switchyard-made 08006.
    """
    def scenario(s):
        s.send(query_msg("SELECT pg_backend_pid()"))
        s.ready()
        pid = int(pgwire.decode_data_row(next(b for t, b in s.raw if t == b"D"))[0])
        if not s.direct:
            assert pid == s.conn.backend_pid, "BackendKeyData does not carry the upstream pid"
        s.tokens.clear()  # the pid differs between the sides
        s.raw.clear()
        if state == "busy":
            s.send(query_msg("SELECT pg_sleep(30)"))
        elif state == "busy_pipeline":
            s.send(query_msg("SELECT pg_sleep(30)") + query_msg("SELECT 1")
                   + extended("SELECT 2") + SYNC)
        if state != "idle":
            wait_active(supabase, pid)
        with supabase.admin() as admin:
            assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)
        s.eof()

    direct = Side("direct", connect_direct(supabase))
    run_side(direct, scenario)
    via = Side("proxy", connect_proxy(proxy), proxy=proxy)
    run_side(via, scenario)
    assert direct.tokens[-2:] == ["E:FATAL:57P01:terminating connection due to administrator command",
                                  "EOF"], direct.tokens
    assert_same(direct.tokens, via.tokens)
    fatal = lambda side: [pgwire.parse_error_fields(b) for t, b in side.raw if t == b"E"]
    assert fatal(via) == fatal(direct), "the FATAL was not passed through unchanged"
    # The proxy goes on serving.
    c = connect_proxy(proxy)
    assert c.query("SELECT 'after fatal'") == [["after fatal"]]
    c.terminate()


# ---- 5. pipelines compared with Postgres ----

def test_error_mid_segment_then_next_segment(supabase, proxy):
    def scenario(s):
        s.send(parse_msg("SELECT 10 / $1::int", "div")
               + bind_msg(["2"], stmt="div") + execute_msg()
               + bind_msg(["0"], stmt="div") + execute_msg()
               + bind_msg(["5"], stmt="div") + execute_msg()
               + extended("SELECT 'skipped'") + SYNC
               + extended("SELECT 'next segment'") + SYNC
               + bind_msg(["5"], stmt="div") + execute_msg() + SYNC
               + extended(s.refused("UPDATE payments SET amount = 0", "payments")) + SYNC
               + bind_msg(["1"], stmt="div") + execute_msg() + SYNC)
        s.ready(5)
        s.sentinel("after error segment")

    out = differential(supabase, proxy, scenario)
    assert "E:ERROR:22012:division by zero" in out, out


def test_refusal_mid_pipeline_extended(supabase, proxy):
    def scenario(s):
        s.send(extended("SELECT 1")
               + extended(s.refused("DELETE FROM customers", "customers")) + SYNC
               + extended("SELECT 2") + SYNC
               # a refused named statement, described before the Sync
               + parse_msg(s.refused("UPDATE subscriptions SET plan = 'x'", "subscriptions"), "r1")
               + describe_msg(b"S", "r1") + SYNC
               + extended("SELECT 3") + SYNC)
        s.ready(4)
        s.sentinel("after mid-pipeline refusals")

    out = differential(supabase, proxy, scenario)
    assert out[:6] == ["1", "2", "D:1", "C:SELECT 1", "E:ERROR:25006:refused:customers", "Z:I"], out


def test_refusal_mid_pipeline_simple(supabase, proxy):
    def scenario(s):
        s.send(query_msg("SELECT 1")
               + query_msg(s.refused("DELETE FROM customers", "customers"))
               + query_msg("SELECT 2; SELECT 3")
               + query_msg(s.refused("TRUNCATE payments", "payments"))
               + extended("SELECT 4") + SYNC
               + query_msg(s.refused("UPDATE subscriptions SET plan = 'x'", "subscriptions")))
        s.ready(6)
        s.sentinel("after simple refusals")

    differential(supabase, proxy, scenario)


def test_refusal_in_transaction_pipeline_extended(supabase, proxy, two_tables):
    def scenario(s):
        s.send(extended("BEGIN")
               + extended(f"INSERT INTO {s.table} VALUES (1, 'lost')")
               + extended(s.refused("DELETE FROM customers", "customers"))
               + extended("SELECT 'skipped'")
               + extended("COMMIT") + SYNC
               + extended("SELECT 1") + SYNC
               + extended("COMMIT") + SYNC
               + extended(f"SELECT count(*) FROM {s.table}") + SYNC)
        s.ready(4)
        s.sentinel("after aborted pipeline transaction")

    out = differential(supabase, proxy, scenario, tables=two_tables)
    assert "C:ROLLBACK" in out and "Z:E" in out, out
    for t in two_tables:
        assert supabase.query(f"SELECT count(*) FROM {t}") == [(0,)]


def test_refusal_in_transaction_pipeline_simple(supabase, proxy, two_tables):
    def scenario(s):
        s.send(query_msg("BEGIN")
               + query_msg(f"INSERT INTO {s.table} VALUES (1, 'lost')")
               + query_msg(s.refused("DELETE FROM customers", "customers"))
               + query_msg("SELECT 1")
               + query_msg("COMMIT")
               + query_msg(f"SELECT count(*) FROM {s.table}"))
        s.ready(6)
        s.sentinel("after aborted transaction")

    out = differential(supabase, proxy, scenario, tables=two_tables)
    assert out[:10] == ["C:BEGIN", "Z:T", "C:INSERT 0 1", "Z:T",
                        "E:ERROR:25006:refused:customers", "Z:E",
                        "E:ERROR:25P02:current transaction is aborted, commands ignored until end "
                        "of transaction block", "Z:E", "C:ROLLBACK", "Z:I"], out


def test_refusals_between_savepoints_and_own_marker_error(supabase, proxy):
    """
    Refusals and the client's own syntax error naming switchyard_refused_statement,
    interleaved with savepoints in one write: each error is the right one, and
    the client's own error reaches it unchanged (42601 with its own message).
    """
    def scenario(s):
        s.send(query_msg("BEGIN") + query_msg("SAVEPOINT a")
               + query_msg(s.refused("DELETE FROM customers", "customers"))
               + query_msg("ROLLBACK TO SAVEPOINT a")
               + query_msg("switchyard_refused_statement")
               + query_msg("ROLLBACK TO SAVEPOINT a")
               + query_msg(s.refused("UPDATE payments SET amount = 0", "payments"))
               + query_msg("ROLLBACK TO SAVEPOINT a")
               + query_msg("SELECT 1")
               + query_msg("COMMIT"))
        s.ready(10)
        s.sentinel("after savepoints")

    out = differential(supabase, proxy, scenario)
    assert 'E:ERROR:42601:syntax error at or near "switchyard_refused_statement":P=1' in out, out
    assert out[out.index("C:COMMIT") + 1] == "Z:I", out


def test_own_syntax_error_with_marker_text_unchanged(supabase, proxy):
    """A client's own statement that looks like switchyard's stand-in is the client's error."""
    def scenario(s):
        # Idle, simple and extended.
        s.send(query_msg("switchyard_refused_statement"))
        s.ready()
        s.send(extended("switchyard_refused_statement") + SYNC)
        s.ready()
        # The same, in a transaction and mid-pipeline, next to a real refusal.
        s.send(query_msg("BEGIN"))
        s.ready()
        s.send(extended("SELECT 1")
               + parse_msg("SELECT switchyard_refused_statement FROM", "") + bind_msg()
               + execute_msg() + SYNC
               + query_msg("ROLLBACK")
               + query_msg("BEGIN")
               + extended(s.refused("DELETE FROM customers", "customers")) + SYNC
               + query_msg("switchyard_refused_statement")
               + query_msg("ROLLBACK"))
        s.ready(6)
        # A prepared statement of the client's that carries switchyard's stand-in name.
        s.send(parse_msg("SELECT 'mine'", "switchyard_refused_statement") + SYNC)
        s.ready()
        s.send(query_msg("BEGIN")
               + extended(s.refused("DELETE FROM payments", "payments")) + SYNC
               + query_msg("ROLLBACK")
               + bind_msg(stmt="switchyard_refused_statement") + execute_msg() + SYNC)
        s.ready(4)
        s.sentinel("after marker look-alikes")

    out = differential(supabase, proxy, scenario)
    assert out[:2] == ['E:ERROR:42601:syntax error at or near "switchyard_refused_statement":P=1',
                       "Z:I"], out
    assert "D:mine" in out, out


def test_copy_in_inside_extended_pipeline(supabase, proxy, two_tables):
    """P/B/E(COPY FROM STDIN) S as libpq sends it: the Sync is ignored in copy-in mode."""
    def scenario(s):
        s.send(extended("SELECT 1") + extended(f"COPY {s.table} FROM STDIN") + SYNC)
        s.upto(b"G")
        s.send(copy_data(b"1\tone\n") + copy_data(b"2\ttwo\n") + COPY_DONE + SYNC
               + extended(f"SELECT count(*) FROM {s.table}") + SYNC)
        s.ready(2)
        # Simple-protocol COPY with its data in the same write, then a query.
        s.send(query_msg(f"COPY {s.table} FROM STDIN") + copy_data(b"3\tthree\n") + COPY_DONE
               + query_msg(f"SELECT count(*) FROM {s.table}"))
        s.ready(2)
        s.sentinel("after copy in")

    out = differential(supabase, proxy, scenario, tables=two_tables)
    assert out[:9] == ["1", "2", "D:1", "C:SELECT 1", "1", "2", "G", "C:COPY 2", "Z:I"], out


def test_refusal_behind_extended_copy_in(supabase, proxy, two_tables):
    """A refused statement right behind an extended COPY (and its ignored Sync)."""
    def scenario(s):
        for i, (sql, table) in enumerate([("DELETE FROM customers", "customers"),
                                          ("UPDATE subscriptions SET plan = 'x'", "subscriptions")]):
            s.send(extended("SELECT 1") + extended(f"COPY {s.table} FROM STDIN") + SYNC)
            s.upto(b"G")
            s.send(copy_data(f"{i}\tone\n".encode()) + COPY_DONE + SYNC
                   + extended(s.refused(sql, table)) + SYNC
                   + extended(f"SELECT count(*) FROM {s.table}") + SYNC)
            s.ready(3)
        s.send(query_msg(s.refused("DELETE FROM payments", "payments")))
        s.ready()
        s.sentinel("after copy in and refusal")

    out = differential(supabase, proxy, scenario, tables=two_tables)
    assert out[:11] == ["1", "2", "D:1", "C:SELECT 1", "1", "2", "G", "C:COPY 1", "Z:I",
                        "E:ERROR:25006:refused:customers", "Z:I"], out


def test_copy_out_in_pipeline(supabase, proxy):
    def scenario(s):
        s.send(extended("COPY (SELECT g FROM generate_series(1, 3) g) TO STDOUT")
               + extended("SELECT 1") + SYNC
               + query_msg("COPY (VALUES ('a'), ('b')) TO STDOUT")
               + query_msg(s.refused("DELETE FROM customers", "customers"))
               + query_msg("SELECT 2")
               + extended("COPY (SELECT 'x') TO STDOUT") + SYNC)
        s.ready(5)
        s.sentinel("after copy out")

    out = differential(supabase, proxy, scenario)
    assert out[:13] == ["1", "2", "H", "d:1\\n", "d:2\\n", "d:3\\n", "c", "C:COPY 3",
                        "1", "2", "D:1", "C:SELECT 1", "Z:I"], out


def test_flush_without_sync(supabase, proxy):
    """Flush makes the replies come before any Sync; a refusal's error comes with them."""
    def scenario(s):
        s.send(extended("SELECT 41 + 1 AS answer", describe=True) + FLUSH)
        s.count(5, timeout=5)  # 1 2 T D C, no Sync sent
        s.send(extended("SELECT 'second'") + FLUSH)
        s.count(4, timeout=5)  # 1 2 D C
        s.send(extended(s.refused("DELETE FROM customers", "customers")) + FLUSH)
        s.count(1, timeout=5)  # the error, before the Sync
        s.send(extended("SELECT 'skipped'") + FLUSH + SYNC)
        s.ready()
        s.send(parse_msg(s.refused("UPDATE payments SET amount = 0", "payments")) + FLUSH)
        s.count(1, timeout=5)  # idle: the error at once, still no Sync
        s.send(SYNC)
        s.ready()
        s.sentinel("after flush")

    out = differential(supabase, proxy, scenario)
    assert out[:5] == ["1", "2", "T:answer", "D:42", "C:SELECT 1"], out


def test_abandoned_portal(supabase, proxy):
    """Execute with max rows: PortalSuspended; the Sync ends it outside a transaction."""
    def scenario(s):
        s.send(parse_msg("SELECT generate_series(1, 5)", "gen")
               + bind_msg(portal="p1", stmt="gen") + execute_msg("p1", 1) + SYNC)
        s.ready()  # 1 2 D s Z
        s.send(execute_msg("p1", 1) + SYNC)  # the portal is gone
        s.ready()
        s.send(bind_msg(stmt="gen") + execute_msg("", 2)
               + query_msg(s.refused("DELETE FROM customers", "customers")) + SYNC)
        # The Query in mid-segment runs (its error ends the implicit transaction and the
        # portal) and earns its own ReadyForQuery; the Sync then earns another: 2 D D s E Z Z.
        s.ready(2)
        s.send(query_msg("BEGIN")
               + bind_msg(portal="p2", stmt="gen") + execute_msg("p2", 2) + SYNC
               + execute_msg("p2", 0) + SYNC
               + query_msg("COMMIT"))
        s.ready(4)
        s.sentinel("after portals")

    out = differential(supabase, proxy, scenario)
    assert out[:5] == ["1", "2", "D:1", "s", "Z:I"], out
    assert out[5].startswith("E:ERROR:34000:"), out


# ---- a client that leaves mid-pipeline ----

def upstream_released(supabase, pid, timeout=15.0):
    """Waits until upstream <pid> is gone or reset and idle; returns which."""
    deadline = time.monotonic() + timeout
    row = None
    while time.monotonic() < deadline:
        with supabase.admin() as admin:
            row = admin.execute("SELECT state, query FROM pg_stat_activity WHERE pid = %s",
                                (pid,)).fetchone()
        if row is None:
            return "closed"
        if row[0] == "idle" and row[1] == "DISCARD ALL":
            time.sleep(0.1)  # its ReadyForQuery reaches switchyard
            return "reset"
        time.sleep(0.05)
    raise AssertionError(f"upstream {pid} still busy {row} after its client left")


def send_without_reading(conn, data, timeout=3.0):
    """Sends as much of <data> as the peer takes without the client ever reading."""
    conn.sock.settimeout(timeout)
    sent = 0
    try:
        while sent < len(data):
            sent += conn.sock.send(data[sent:sent + 65536])
    except (socket.timeout, BrokenPipeError, ConnectionResetError):
        pass
    return sent


@pytest.mark.parametrize("shape", ["pipeline", "transaction_with_refusal", "mid_copy"])
def test_client_disconnects_mid_pipeline(supabase, make_proxy, two_tables, shape):
    proxy = make_proxy(proxy={"workers": 1})
    table = two_tables[1]
    c = connect_proxy(proxy)
    pid = c.backend_pid
    row = extended("SELECT repeat('x', 1000), g FROM generate_series(1, 20) g")
    if shape == "pipeline":
        data = row * 300 + query_msg("DELETE FROM customers") + row * 300 + SYNC
    elif shape == "transaction_with_refusal":
        data = (query_msg("BEGIN") + extended(f"INSERT INTO {table} VALUES (1, 'lost')") + SYNC
                + row * 200 + extended("DELETE FROM customers") + SYNC
                + query_msg("SELECT 1") + row * 200 + SYNC)
    else:
        data = (query_msg(f"COPY {table} FROM STDIN")
                + b"".join(copy_data(f"{i}\trow {i}\n".encode()) for i in range(2000)))
    send_without_reading(c, data)
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()  # reset, replies unread
    how = upstream_released(supabase, pid)
    assert proxy.proc.poll() is None, proxy.log()[-4000:]
    assert supabase.query(f"SELECT count(*) FROM {table}") == [(0,)], \
        "the abandoned transaction or COPY committed"

    s = Side("proxy", connect_proxy(proxy), table, proxy)
    try:
        reused = s.conn.backend_pid == pid
        print(f"old upstream {pid} {how}; the new session got it back: {reused}")
        assert s.conn.txn_status == "I"
        s.sentinel("fresh 1")
        s.send(extended("SELECT 'extended'") + SYNC)
        s.ready()
        s.send(query_msg("DELETE FROM customers"))
        s.ready()
        s.send(extended("SELECT 2") + SYNC + query_msg("SELECT 3"))
        s.ready(2)
        s.sentinel("fresh 2")
        # Nothing stray follows.
        s.conn.sock.settimeout(0.3)
        with pytest.raises(socket.timeout):
            s.conn.sock.recv(1)
    except Stop:
        pass
    finally:
        s.close()
    assert s.tokens == [
        "T:s", "D:sentinel fresh 1", "C:SELECT 1", "Z:I",
        "1", "2", "D:extended", "C:SELECT 1", "Z:I",
        "E:ERROR:25006:refused:customers", "Z:I",
        "1", "2", "D:2", "C:SELECT 1", "Z:I", "T:?column?", "D:3", "C:SELECT 1", "Z:I",
        "T:s", "D:sentinel fresh 2", "C:SELECT 1", "Z:I",
    ], f"upstream {how}, reused={reused}:\n{fmt(s.tokens)}"
