"""Legacy reads at the protocol level: the same bytes to Postgres and through switchyard.

The differential corpus (test_legacy_diff.py) compares values through psycopg.
These tests compare the message sequences themselves, for what the extended
protocol does around a read that switchyard answers from MySQL: descriptions
before execution, row limits and PortalSuspended, an error skipping the rest
of the segment, a legacy read between Supabase statements of one pipeline,
and the MySQL side of it (the generated SQL keeps an index usable).
"""
import re
import struct

import pgwire
from pgwire import SYNC, FLUSH, bind_msg, describe_msg, execute_msg, parse_msg, close_msg


def reference(legacy_ref) -> pgwire.RawConn:
    """A raw connection to the Postgres copy of the legacy tables (what Supabase would say)."""
    sb = legacy_ref.supabase
    return pgwire.connect(sb.port, "platform_owner", "owner-secret", dbname="legacy_ref",
                          tls=True, cafile=str(sb.ca))


def through(proxy) -> pgwire.RawConn:
    return pgwire.connect(proxy.port, "app", "app-secret")


def exchange(conn, data: bytes, syncs: int = 1):
    """Sends <data>, reads every message through <syncs> ReadyForQuery."""
    conn.send(data)
    out = []
    for _ in range(syncs):
        out += conn.read_through_ready()
    return out


def shape(msgs):
    """Message types, with what must match exactly: descriptions, rows, tags, SQLSTATEs, status."""
    out = []
    for mtype, body in msgs:
        t = mtype.decode()
        if t == "T":
            (n,) = struct.unpack("!H", body[:2])
            fields, at = [], 2
            for _ in range(n):
                end = body.index(b"\0", at)
                name = body[at:end].decode()
                _table, _att, oid, _len, typmod, fmt = struct.unpack("!IHIhiH", body[end + 1:end + 19])
                fields.append((name, oid, typmod, fmt))
                at = end + 19
            out.append(("T", tuple(fields)))
        elif t == "t":
            (n,) = struct.unpack("!H", body[:2])
            out.append(("t", struct.unpack(f"!{n}I", body[2:2 + 4 * n])))
        elif t == "D":
            out.append(("D", tuple(pgwire.decode_data_row(body))))
        elif t == "C":
            out.append(("C", body.rstrip(b"\0").decode()))
        elif t == "E":
            out.append(("E", pgwire.parse_error_fields(body).get("C")))
        elif t == "Z":
            out.append(("Z", body.decode()))
        else:
            out.append((t,))
    return out


def both(legacy_proxy, legacy_ref, data: bytes, syncs: int = 1, setup: str = None):
    ref, sy = reference(legacy_ref), through(legacy_proxy)
    try:
        if setup:
            ref.query(setup)
            sy.query(setup)
        return shape(exchange(ref, data, syncs)), shape(exchange(sy, data, syncs))
    finally:
        ref.terminate()
        sy.terminate()


POINT = "SELECT customer_id, name, status, is_vip FROM customers WHERE customer_id = $1"


def test_describe_before_execute(legacy_proxy, legacy_ref):
    """ParameterDescription takes the column's type; RowDescription the mapped types."""
    data = parse_msg(POINT, "s1") + describe_msg(b"S", "s1") + SYNC
    want, got = both(legacy_proxy, legacy_ref, data)
    assert got == want
    assert want[1] == ("t", (20,)) or want[1][0] == "t"


def test_row_limit_suspends_and_resumes(legacy_proxy, legacy_ref):
    """Execute with a row limit: PortalSuspended, the next Execute goes on where it stopped."""
    sql = "SELECT customer_id, name FROM customers WHERE customer_id <= 7 ORDER BY customer_id"
    data = (parse_msg(sql) + bind_msg() + describe_msg(b"P") + execute_msg(max_rows=3)
            + execute_msg(max_rows=3) + execute_msg(max_rows=3) + execute_msg(max_rows=3) + SYNC)
    want, got = both(legacy_proxy, legacy_ref, data, setup="BEGIN")
    assert got == want
    assert [m[0] for m in got].count("s") == 2


def test_parameters_bound_and_described(legacy_proxy, legacy_ref):
    data = (parse_msg(POINT, "p") + bind_msg(["3"], stmt="p") + describe_msg(b"P")
            + execute_msg() + bind_msg(["5"], stmt="p") + execute_msg() + SYNC)
    want, got = both(legacy_proxy, legacy_ref, data)
    assert got == want
    assert [m[0] for m in got].count("D") == 2


def test_error_skips_the_rest_of_the_segment(legacy_proxy, legacy_ref):
    """A failed legacy Parse: Postgres skips everything up to Sync, also a Supabase statement."""
    data = (parse_msg("SELECT nosuch FROM customers") + bind_msg() + execute_msg()
            + parse_msg("SELECT 1") + bind_msg() + execute_msg() + SYNC
            + parse_msg("SELECT 2") + bind_msg() + execute_msg() + SYNC)
    want, got = both(legacy_proxy, legacy_ref, data, syncs=2)
    assert got == want
    assert ("E", "42703") in got


def test_runtime_error_in_a_block_aborts_it(legacy_proxy, legacy_ref):
    """A read that fails while running (division by zero) aborts the block: 25P02 after it."""
    data = (parse_msg("SELECT customer_id / (customer_id - customer_id) FROM customers")
            + bind_msg() + execute_msg() + SYNC
            + parse_msg("SELECT 1") + bind_msg() + execute_msg() + SYNC)
    want, got = both(legacy_proxy, legacy_ref, data, syncs=2, setup="BEGIN")
    # Postgres fails at the first row; MySQL only says so after the rows: compare what follows.
    def strip_rows(msgs):
        return [m for m in msgs if m[0] != "D"]
    assert strip_rows(got) == strip_rows(want)
    assert ("E", "22012") in got and ("E", "25P02") in got and got[-1] == ("Z", "E")


def test_legacy_read_between_supabase_statements(legacy_proxy, legacy_ref, supabase):
    """One pipeline, no Sync between: Supabase, MySQL, Supabase statements answer in order."""
    data = (parse_msg("SELECT 1 AS a") + bind_msg() + execute_msg()
            + parse_msg("SELECT count(*) FROM customers") + bind_msg() + execute_msg()
            + parse_msg("SELECT 2 AS b") + bind_msg() + execute_msg() + SYNC)
    want, got = both(legacy_proxy, legacy_ref, data)
    assert got == want
    assert [m for m in got if m[0] == "D"] == [("D", ("1",)), ("D", ("200",)), ("D", ("2",))]


def test_flush_answers_a_pipeline_before_sync(legacy_proxy, legacy_ref):
    """With Flush and no Sync yet the client may wait for replies: they come, in order."""
    sql = "SELECT name FROM customers WHERE customer_id = 1"
    for conn in (reference(legacy_ref), through(legacy_proxy)):
        try:
            conn.send(parse_msg("SELECT 1") + bind_msg() + execute_msg()
                      + parse_msg(sql) + bind_msg() + execute_msg() + FLUSH)
            types = [conn.read_msg()[0] for _ in range(7)]
            assert types == [b"1", b"2", b"D", b"C", b"1", b"2", b"D"], types
            conn.send(SYNC)
            rest = conn.read_through_ready()
            assert [m[0] for m in rest] == [b"C", b"Z"]
        finally:
            conn.terminate()


def test_close_and_reuse_names(legacy_proxy, legacy_ref):
    """Close of a legacy statement, then the name is free again; closing twice is no error."""
    data = (parse_msg(POINT, "n") + close_msg(b"S", "n") + close_msg(b"S", "n")
            + parse_msg("SELECT 7 AS seven", "n") + bind_msg(stmt="n") + execute_msg() + SYNC)
    want, got = both(legacy_proxy, legacy_ref, data)
    assert got == want


def test_duplicate_statement_name(legacy_proxy, legacy_ref):
    data = parse_msg(POINT, "dup") + parse_msg(POINT, "dup") + SYNC
    want, got = both(legacy_proxy, legacy_ref, data)
    assert got == want
    assert ("E", "42P05") in got


def test_equality_on_a_ci_column_uses_its_index(make_legacy_proxy, mariadb):
    """The byte-wise comparison keeps a plain one beside it: MySQL still uses the index."""
    proxy = make_legacy_proxy(proxy={"log_level": "debug"})
    with proxy.connect() as conn:
        rows = conn.execute("SELECT customer_id FROM customers WHERE name = 'Kim'").fetchall()
        upper = conn.execute("SELECT customer_id FROM customers WHERE name = 'KIM'").fetchall()
    assert rows and upper and rows != upper  # case-sensitive, as on Supabase
    sent = re.findall(r'msg="legacy read sent to MySQL" \S+ sql="(.*)"$', proxy.log(), re.M)
    sql = next(s for s in sent if "'Kim'" in s).replace('\\"', '"')
    plan = mariadb.query("EXPLAIN " + sql.replace("`crm`.", f"`{mariadb.database}`."))
    keys = [r[5] for r in plan]  # EXPLAIN's `key` column
    assert any(k and "name" in k for k in keys), plan


def test_two_cursors_open_in_one_transaction(legacy_proxy, legacy_ref):
    """MySQL reads one result at a time per connection: the open one is kept, both serve on."""
    script = ["BEGIN",
              "DECLARE a CURSOR FOR SELECT customer_id, name FROM customers ORDER BY customer_id",
              "DECLARE b CURSOR FOR SELECT payment_id, amount FROM payments ORDER BY payment_id",
              "FETCH 3 FROM a", "FETCH 2 FROM b", "FETCH 4 FROM a", "MOVE 10 IN b",
              "FETCH 2 FROM b", "SELECT count(*) FROM subscriptions", "FETCH 2 FROM a",
              "CLOSE a", "FETCH ALL FROM b", "COMMIT"]
    ref, sy = reference(legacy_ref), through(legacy_proxy)
    try:
        for sql in script:
            data = pgwire.message(b"Q", pgwire.cstr(sql))
            assert shape(exchange(sy, data)) == shape(exchange(ref, data)), sql
    finally:
        ref.terminate()
        sy.terminate()


def test_sql_prepare_execute_deallocate(legacy_proxy, legacy_ref):
    """SQL-level PREPARE of a legacy read: EXECUTE reaches it, errors and names as in Postgres."""
    script = ["PREPARE p AS SELECT customer_id, name FROM customers WHERE customer_id = $1",
              "EXECUTE p(2)", "EXECUTE p(-1)", "EXECUTE p('x')", "EXECUTE p(1, 2)",
              "PREPARE p AS SELECT 1",
              "PREPARE q (int) AS SELECT name FROM customers WHERE customer_id > $1 ORDER BY 1 LIMIT 3",
              "EXECUTE q(3)", "DEALLOCATE p", "EXECUTE p(1)",
              "BEGIN", "EXECUTE q(1)", "EXECUTE q(5)", "COMMIT",
              "DEALLOCATE ALL", "EXECUTE q(1)"]
    ref, sy = reference(legacy_ref), through(legacy_proxy)
    try:
        for sql in script:
            data = pgwire.message(b"Q", pgwire.cstr(sql))
            got, want = shape(exchange(sy, data)), shape(exchange(ref, data))
            assert got == want, sql
    finally:
        ref.terminate()
        sy.terminate()
