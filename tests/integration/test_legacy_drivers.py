"""Legacy reads (customers, subscriptions, payments: served by MariaDB) through real drivers (issue 7).

Every test reads through switchyard (legacy_proxy, [mysql] pointing at the fixture MariaDB) and,
where values are involved, runs the same thing directly on the Postgres copy (legacy_ref) and
demands the same answer: what an application would have seen had the tables lived in Postgres.

- psycopg 3: text and binary results, server-prepared statements, parameters of many types, named
  cursors (DECLARE/FETCH/CLOSE), COPY TO STDOUT (text, CSV), pipelined executemany, one snapshot
  per transaction block.
- psycopg2: plain query, parameters, named cursor, copy_expert.
- node-postgres (node/legacy.js), pgjdbc (java/JdbcLegacy.java), knex (node/knex_legacy.js): each
  program runs once against switchyard and once against legacy_ref; the outputs must be equal.

Values of types router/pgvalue.c does not yet print in Postgres' text form (bool, timestamptz,
bytea, ...) make some of these fail until it lands; the expectations are Postgres' true output.
"""
import datetime
import decimal
import json
import subprocess
from pathlib import Path

import pytest

from conftest import APP_PASSWORD, APP_USER

HERE = Path(__file__).resolve().parent
JAR = Path("/usr/share/java/postgresql.jar")
JAVA_SOURCE = HERE / "java" / "JdbcLegacy.java"

# Columns with no ambiguity of type mapping: most of the customers table.
CUSTOMER_COLS = ("customer_id, name, phone, email, status, is_vip, grade, points, visits, balance,"
                 " score, ratio, country, birth_year, birthday, created_at, updated_at, memo, tags")


def both(legacy_proxy, legacy_ref, fn, **kw):
    """fn(conn) on switchyard and on the reference copy: (got, want)."""
    with legacy_proxy.connect(**kw) as conn:
        got = fn(conn)
    with legacy_ref.connect(**kw) as conn:
        want = fn(conn)
    return got, want


def describe(cur):
    return [(d.name, d.type_code) for d in cur.description]


# --- psycopg 3 ---------------------------------------------------------------------------------

@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_psycopg_results(legacy_proxy, legacy_ref, binary):
    """Text and binary result formats: same columns, type OIDs, tag and values as Postgres."""
    sql = f"SELECT {CUSTOMER_COLS} FROM customers WHERE customer_id <= 40 ORDER BY customer_id"

    def run(conn):
        conn.execute("SET TimeZone = 'UTC'")
        with conn.cursor(binary=binary) as cur:
            cur.execute(sql)
            return describe(cur), cur.statusmessage, cur.fetchall()
    got, want = both(legacy_proxy, legacy_ref, run)
    assert got[0] == want[0], "column names and type OIDs"
    assert got[1] == want[1] == "SELECT 40"
    for g, w in zip(got[2], want[2]):
        assert g == w, f"customer {w[0]}"
    assert len(got[2]) == len(want[2])


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_psycopg_results_payments(legacy_proxy, legacy_ref, binary):
    """The other two tables: numeric beyond int8, char(3), timestamptz, bytea, interval."""
    queries = [
        "SELECT payment_id, subscription_id, amount, currency, paid_at, method, note, raw"
        " FROM payments ORDER BY payment_id LIMIT 60",
        "SELECT subscription_id, customer_id, plan, status, started_at, ends_at, price, auto_renew,"
        " renew_time FROM subscriptions ORDER BY subscription_id DESC LIMIT 60",
    ]

    def run(conn):
        conn.execute("SET TimeZone = 'UTC'")
        out = []
        with conn.cursor(binary=binary) as cur:
            for sql in queries:
                cur.execute(sql)
                out.append((describe(cur), cur.fetchall()))
        return out
    got, want = both(legacy_proxy, legacy_ref, run)
    for (gd, grows), (wd, wrows), sql in zip(got, want, queries):
        assert gd == wd, sql
        assert grows == wrows, sql


def test_psycopg_prepared(legacy_proxy, legacy_ref):
    """prepare=True: a named server statement (Parse once, Bind/Execute many), several params."""
    sql = ("SELECT customer_id, name, status, points, balance FROM customers"
           " WHERE customer_id BETWEEN %s AND %s AND points >= %s ORDER BY customer_id")
    args = [(1, 30, 0), (31, 80, 100), (150, 200, 0), (500, 600, 0), (1, 200, 900)]

    def run(conn):
        out = []
        for a in args:
            cur = conn.execute(sql, a, prepare=True)
            out.append((describe(cur), cur.fetchall()))
        # psycopg prepared it server-side: the statement is known under psycopg's name
        assert conn._prepared._names, "psycopg did not prepare the statement"
        return out
    got, want = both(legacy_proxy, legacy_ref, run)
    assert got == want
    assert any(rows for _, rows in got) and any(not rows for _, rows in got)


def test_psycopg_prepared_binary(legacy_proxy, legacy_ref):
    """A prepared statement with binary parameters (%b) and binary results."""
    sql = ("SELECT payment_id, amount, currency, paid_at FROM payments"
           " WHERE subscription_id = %b AND amount >= %b ORDER BY payment_id")

    def run(conn):
        conn.execute("SET TimeZone = 'UTC'")
        out = []
        with conn.cursor(binary=True) as cur:
            for sid in (1, 2, 3, 7, 11):
                cur.execute(sql, (sid, decimal.Decimal("0.00")), prepare=True)
                out.append(cur.fetchall())
        return out
    got, want = both(legacy_proxy, legacy_ref, run)
    assert got == want
    assert sum(map(len, want)) > 0


PARAM_CASES = [
    ("int", "SELECT customer_id, name FROM customers WHERE customer_id = %s", (17,)),
    ("int_big", "SELECT count(*) FROM payments WHERE payment_id > %s", (-2**62,)),
    ("str", "SELECT customer_id FROM customers WHERE name = %s ORDER BY customer_id", ("Kim",)),
    ("str_korean", "SELECT count(*) FROM customers WHERE name LIKE %s", ("김%",)),
    ("str_quote", "SELECT count(*) FROM customers WHERE memo LIKE %s", ("%'%",)),
    ("decimal", "SELECT customer_id, balance FROM customers WHERE balance > %s ORDER BY customer_id",
     (decimal.Decimal("5000.50"),)),
    ("datetime_tz", "SELECT payment_id, paid_at FROM payments WHERE paid_at >= %s ORDER BY payment_id"
     " LIMIT 20", (datetime.datetime(2024, 6, 1, 9, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=9))),)),
    ("datetime_naive", "SELECT customer_id FROM customers WHERE created_at < %s ORDER BY customer_id",
     (datetime.datetime(2023, 3, 1, 12, 30),)),
    ("date", "SELECT customer_id, birthday FROM customers WHERE birthday < %s ORDER BY customer_id",
     (datetime.date(1990, 1, 1),)),
    ("bool", "SELECT count(*) FROM customers WHERE is_vip = %s", (True,)),
    ("bool_false", "SELECT customer_id FROM customers WHERE is_vip = %s AND points > 500"
     " ORDER BY customer_id", (False,)),
    ("none", "SELECT count(*) FROM customers WHERE phone IS NOT DISTINCT FROM %s", (None,)),
    ("none_coalesce", "SELECT customer_id, coalesce(phone, %s) FROM customers WHERE customer_id <= 15"
     " ORDER BY customer_id", (None,)),
    ("mixed", "SELECT customer_id FROM customers WHERE points >= %s AND name <> %s AND balance >= %s"
     " AND birthday > %s AND is_vip = %s AND (%s::text IS NULL OR status = %s) ORDER BY customer_id",
     (10, "Lee", decimal.Decimal("1.5"), datetime.date(1970, 1, 1), False, None, "active")),
    ("reused", "SELECT count(*) FROM customers WHERE customer_id > %(n)s AND points > %(n)s",
     {"n": 50}),
]


@pytest.mark.parametrize("fmt", ["auto", "text"])
@pytest.mark.parametrize("sql,params", [pytest.param(s, p, id=i) for i, s, p in PARAM_CASES])
def test_psycopg_parameters(legacy_proxy, legacy_ref, sql, params, fmt):
    """Parameters of several Python types (psycopg picks their Postgres types) over Bind; "auto"
    lets psycopg send numbers, dates, bools in binary, "text" (%t) sends every one as text."""
    if fmt == "text":
        sql = sql.replace("%s", "%t").replace(")s", ")t")

    def run(conn):
        conn.execute("SET TimeZone = 'UTC'")
        cur = conn.execute(sql, params)
        return describe(cur), cur.fetchall()
    got, want = both(legacy_proxy, legacy_ref, run)
    assert got == want
    assert want[1], "the case must return rows"


@pytest.mark.parametrize("itersize", [1, 7, 1000])
def test_psycopg_named_cursor(legacy_proxy, legacy_ref, itersize):
    """A named (server-side) cursor: DECLARE, FETCH FORWARD itersize ..., CLOSE in a transaction."""
    sql = ("SELECT payment_id, subscription_id, amount, currency, method FROM payments"
           " WHERE payment_id > %t ORDER BY payment_id")

    def run(conn):
        with conn.transaction():
            with conn.cursor(name="legacy_pay") as cur:
                cur.itersize = itersize
                cur.execute(sql, (0,))
                first = cur.fetchone()
                some = cur.fetchmany(5)
                rest = list(cur)
                desc = describe(cur)
            # the cursor is closed, the transaction goes on
            n = conn.execute("SELECT count(*) FROM payments").fetchone()[0]
        return desc, [first] + some + rest, n
    got, want = both(legacy_proxy, legacy_ref, run, autocommit=False)
    assert got[0] == want[0]
    assert len(got[1]) == len(want[1]) > 500
    assert got[1] == want[1]
    assert got[2] == want[2] == 1000


def stop_cleanly(p):
    """Stops a test's own switchyard and fails the test (not the fixture) if it did not exit 0."""
    rc = p.stop()
    log = p.log()
    p.proc = None  # make_proxy's teardown has nothing left to check
    start = log.find("==ERROR: AddressSanitizer")
    assert rc == 0, f"switchyard exited with {rc}: {log[start:start + 2500] if start >= 0 else log[-2500:]}"


def test_psycopg_named_cursor_binary_param(make_legacy_proxy, legacy_ref):
    """A named cursor whose query has a parameter psycopg sends in binary (an int): DECLARE's
    Bind carries it. (On its own switchyard: the read must not take the shared one down.)"""
    p = make_legacy_proxy()
    sql = "SELECT payment_id, amount FROM payments WHERE payment_id > %s ORDER BY payment_id"

    def run(conn):
        with conn.transaction():
            with conn.cursor(name="legacy_bin") as cur:
                cur.itersize = 50
                cur.execute(sql, (0,))
                return list(cur)
    try:
        with p.connect(autocommit=False) as conn:
            got = run(conn)
    finally:
        stop_cleanly(p)
    with legacy_ref.connect(autocommit=False) as conn:
        want = run(conn)
    assert got == want and len(want) > 400


def test_psycopg_two_named_cursors_interleaved(legacy_proxy, legacy_ref):
    """Two named cursors open at once in one transaction, read interleaved."""
    def run(conn):
        with conn.transaction():
            a = conn.cursor(name="ca")
            b = conn.cursor(name="cb")
            a.execute("SELECT customer_id, name FROM customers ORDER BY customer_id")
            b.execute("SELECT subscription_id, plan FROM subscriptions ORDER BY subscription_id")
            out = []
            for _ in range(5):
                out.append(a.fetchmany(3))
                out.append(b.fetchmany(4))
            a.close()
            b.close()
        return out
    got, want = both(legacy_proxy, legacy_ref, run, autocommit=False)
    assert got == want


def assert_same_lines(got: bytes, want: bytes, what: str):
    gl, wl = got.split(b"\n"), want.split(b"\n")
    bad = [(i, a, b) for i, (a, b) in enumerate(zip(gl, wl)) if a != b][:2]
    assert not bad, f"{what}: first differing lines (line, switchyard, postgres): {bad}"
    assert len(gl) == len(wl), f"{what}: line count"


COPY_QUERY = ("SELECT customer_id, name, phone, email, status, points, balance, country, birthday,"
              " created_at, memo FROM customers WHERE customer_id <= 120 ORDER BY customer_id")


@pytest.mark.parametrize("options", ["", " WITH (FORMAT csv)", " WITH (FORMAT csv, HEADER)",
                                     " (FORMAT text, NULL 'NULL')"],
                         ids=["text", "csv", "csv_header", "text_null"])
def test_psycopg_copy_to_stdout(legacy_proxy, legacy_ref, options):
    """COPY (SELECT ... legacy ...) TO STDOUT: byte for byte what Postgres writes."""
    def run(conn):
        with conn.cursor() as cur:
            with cur.copy(f"COPY ({COPY_QUERY}) TO STDOUT{options}") as copy:
                data = b"".join(bytes(chunk) for chunk in copy)
            return data, cur.rowcount
    got, want = both(legacy_proxy, legacy_ref, run)
    assert got[0].count(b"\n") == want[0].count(b"\n") >= 120
    assert_same_lines(got[0], want[0], "COPY")
    assert got[1] == want[1] == 120


def test_psycopg_copy_csv_spaces(legacy_proxy, legacy_ref):
    """COPY ... CSV of text with leading/trailing spaces: Postgres writes it unquoted."""
    sql = ("COPY (SELECT customer_id, name, memo FROM customers WHERE name LIKE '% ' OR memo LIKE '% '"
           " ORDER BY customer_id) TO STDOUT WITH (FORMAT csv)")

    def run(conn):
        with conn.cursor() as cur:
            with cur.copy(sql) as copy:
                return b"".join(bytes(c) for c in copy)
    got, want = both(legacy_proxy, legacy_ref, run)
    assert b"Lee ," in want
    assert_same_lines(got, want, "COPY CSV")


def test_psycopg_copy_all_types(legacy_proxy, legacy_ref):
    """COPY of whole rows of every legacy table (every type the map has) in text format."""
    def run(conn):
        conn.execute("SET TimeZone = 'UTC'")
        out = []
        with conn.cursor() as cur:
            for table, key in (("customers", "customer_id"), ("subscriptions", "subscription_id"),
                               ("payments", "payment_id")):
                with cur.copy(f"COPY (SELECT * FROM {table} ORDER BY {key}) TO STDOUT") as copy:
                    out.append(b"".join(bytes(c) for c in copy))
        return out
    got, want = both(legacy_proxy, legacy_ref, run)
    for g, w, table in zip(got, want, ("customers", "subscriptions", "payments")):
        assert_same_lines(g, w, table)


def test_psycopg_executemany_reads(make_legacy_proxy, legacy_ref):
    """executemany(..., returning=True): pipelined Bind/Execute of one read, each result in order."""
    ids = [(i,) for i in range(1, 60, 3)] + [(999999,)]

    def run(conn):
        out = []
        with conn.cursor() as cur:
            cur.executemany("SELECT customer_id, name, points FROM customers WHERE customer_id = %t",
                            ids, returning=True)
            while True:
                out.append(cur.fetchall())
                if not cur.nextset():
                    break
        # and the same read repeated in a plain loop
        for (i,) in ids[:10]:
            out.append(conn.execute("SELECT name FROM customers WHERE customer_id = %t", (i,)).fetchall())
        return out
    p = make_legacy_proxy()
    try:
        with p.connect() as conn:
            got = run(conn)
    finally:
        stop_cleanly(p)
    with legacy_ref.connect() as conn:
        want = run(conn)
    assert len(got) == len(want) == len(ids) + 10
    assert got == want
    assert got[len(ids) - 1] == []


def test_psycopg_pipeline(make_legacy_proxy, legacy_ref):
    """psycopg's pipeline mode: legacy reads and a Supabase-side read queued before one Sync."""
    def run(conn):
        out = []
        for i in range(10):  # the use-after-free depends on buffer boundaries: several rounds
            with conn.pipeline():
                c1 = conn.execute("SELECT count(*) FROM customers")
                c2 = conn.execute("SELECT plan, count(*) FROM subscriptions GROUP BY plan ORDER BY plan")
                c3 = conn.execute("SELECT %t::int + 1", (41,))
                c4 = conn.execute("SELECT sum(amount) FROM payments WHERE subscription_id = %t", (5 + i,))
            out.append([c.fetchall() for c in (c1, c2, c3, c4)])
        return out
    p = make_legacy_proxy()
    try:
        with p.connect() as conn:
            got = run(conn)
    finally:
        stop_cleanly(p)
    with legacy_ref.connect() as conn:
        want = run(conn)
    assert got == want
    assert got[0][0] == [(200,)] and got[0][2] == [(42,)]


def test_psycopg_transaction_snapshot(legacy_proxy, mariadb):
    """Two reads in one transaction block see one snapshot even when MySQL commits in between;
    after COMMIT the next read sees the new row."""
    new_id = 990001
    mariadb.query("DELETE FROM customers WHERE customer_id = %s", new_id)
    try:
        with legacy_proxy.connect(autocommit=False) as conn:
            with conn.transaction():
                before = conn.execute("SELECT count(*), max(customer_id) FROM customers").fetchone()
                mariadb.query("INSERT INTO customers (customer_id, name, created_at) VALUES"
                              " (%s, 'snapshot probe', '2024-01-01 00:00:00')", new_id)
                again = conn.execute("SELECT count(*), max(customer_id) FROM customers").fetchone()
                probe = conn.execute("SELECT name FROM customers WHERE customer_id = %s",
                                     (new_id,)).fetchall()
            after = conn.execute("SELECT count(*), max(customer_id) FROM customers").fetchone()
            conn.commit()
        assert again == before, "a read in the same transaction saw a later MySQL commit"
        assert probe == []
        assert after == (before[0] + 1, new_id)
    finally:
        mariadb.query("DELETE FROM customers WHERE customer_id = %s", new_id)


def test_psycopg_autocommit_reads_see_new_rows(legacy_proxy, mariadb):
    """Outside a transaction block no snapshot is kept: each read sees MySQL's latest commit."""
    new_id = 990002
    mariadb.query("DELETE FROM customers WHERE customer_id = %s", new_id)
    try:
        with legacy_proxy.connect() as conn:
            n = conn.execute("SELECT count(*) FROM customers").fetchone()[0]
            mariadb.query("INSERT INTO customers (customer_id, name, created_at) VALUES"
                          " (%s, 'autocommit probe', '2024-01-01 00:00:00')", new_id)
            assert conn.execute("SELECT count(*) FROM customers").fetchone()[0] == n + 1
    finally:
        mariadb.query("DELETE FROM customers WHERE customer_id = %s", new_id)


def test_portal_survives_sync_after_pipelined_begin(legacy_proxy):
    """Parse/Bind/Execute BEGIN, Parse/Bind C_1/Execute(C_1, 10), Sync; then Execute(C_1, 10),
    Sync: the portal lives until the transaction ends, as in Postgres (what pgjdbc sends)."""
    import pgwire as pw
    c = pw.connect(legacy_proxy.port, APP_USER, APP_PASSWORD)
    try:
        c.send(pw.parse_msg("BEGIN") + pw.bind_msg() + pw.execute_msg()
               + pw.parse_msg("SELECT customer_id FROM customers ORDER BY customer_id")
               + pw.bind_msg(portal="C_1") + pw.execute_msg("C_1", 10) + pw.SYNC)
        first = c.read_through_ready()
        assert [t for t, _ in first].count(b"D") == 10 and first[-2][0] == b"s"
        c.send(pw.execute_msg("C_1", 10) + pw.SYNC)
        second = c.read_through_ready()
        rows = [pw.decode_data_row(b)[0] for t, b in second if t == b"D"]
        errors = [pw.parse_error_fields(b) for t, b in second if t == b"E"]
        assert not errors, errors
        assert rows == [str(i) for i in range(11, 21)]
        assert second[-2][0] == b"s" and c.txn_status == "T"
        c.query("COMMIT")
    finally:
        c.terminate()


# --- psycopg2 ----------------------------------------------------------------------------------

def psycopg2_pair(legacy_proxy, legacy_ref):
    import psycopg2
    sb = legacy_ref.supabase
    proxy_conn = psycopg2.connect(legacy_proxy.dsn())
    ref_conn = psycopg2.connect(host=sb.host, port=sb.port, dbname=legacy_ref.dbname,
                                user="platform_owner", password="owner-secret",
                                sslmode="verify-full", sslrootcert=str(sb.ca))
    return proxy_conn, ref_conn


def test_psycopg2(legacy_proxy, legacy_ref):
    """psycopg2 (client-side parameter interpolation, simple Query): query, params, named
    cursor, copy_expert."""
    import io
    results = []
    conns = psycopg2_pair(legacy_proxy, legacy_ref)
    try:
        for conn in conns:
            out = {}
            with conn.cursor() as cur:
                cur.execute("SET TimeZone = 'UTC'")
                cur.execute(f"SELECT {CUSTOMER_COLS} FROM customers ORDER BY customer_id LIMIT 50")
                out["plain"] = cur.fetchall()
                out["desc"] = [(d.name, d.type_code) for d in cur.description]
                cur.execute("SELECT customer_id, name, balance FROM customers WHERE status = %s"
                            " AND balance > %s AND created_at >= %s ORDER BY customer_id",
                            ("active", decimal.Decimal("100"), datetime.datetime(2021, 1, 1)))
                out["params"] = cur.fetchall()
                cur.execute("SELECT count(*) FROM payments WHERE method = ANY(%s)",
                            (["card", "toss"],))
                out["array_param"] = cur.fetchall()
            conn.commit()
            with conn.cursor(name="p2_named") as cur:
                cur.itersize = 33
                cur.execute("SELECT payment_id, amount, currency FROM payments ORDER BY payment_id")
                out["named"] = list(cur)
            conn.commit()
            buf = io.StringIO()
            with conn.cursor() as cur:
                cur.copy_expert("COPY (SELECT subscription_id, customer_id, plan, status, price"
                                " FROM subscriptions ORDER BY subscription_id) TO STDOUT WITH CSV HEADER",
                                buf)
            out["copy"] = buf.getvalue()
            conn.commit()
            results.append(out)
    finally:
        for c in conns:
            c.close()
    got, want = results
    assert len(want["named"]) == 1000 and want["copy"].count("\n") == 301
    for key in want:
        assert got[key] == want[key], key


# --- node-postgres, knex, pgjdbc: the same program on both sides --------------------------------

def ref_url(legacy_ref):
    sb = legacy_ref.supabase
    return f"postgres://platform_owner:owner-secret@{sb.host}:{sb.port}/{legacy_ref.dbname}"


def run_node(node_modules, script, url, ca=""):
    r = subprocess.run(["node", script, url, ca], cwd=node_modules, capture_output=True, text=True,
                       timeout=90)
    assert r.returncode == 0, f"{script} against {url}:\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_node_pg_legacy(node_modules, legacy_proxy, legacy_ref):
    """node-postgres: simple query, $n parameters (extended), a named prepared statement used with
    several values, rowMode 'array', a transaction; answered as Postgres answers."""
    got = run_node(node_modules, "legacy.js", legacy_proxy.url())
    want = run_node(node_modules, "legacy.js", ref_url(legacy_ref), str(legacy_ref.supabase.ca))
    assert want["simple"]["rows"] and want["array"]["rows"] and want["error"] == "42703"
    bad = {k: (got.get(k), want[k]) for k in want if got.get(k) != want[k]}
    assert not bad, f"differing: {sorted(bad)}; (switchyard, postgres) per key: {bad}"


def ensure_knex(node_modules):
    if not (node_modules / "node_modules" / "knex").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=node_modules,
                       check=True, timeout=300)


def test_knex_legacy(node_modules, legacy_proxy, legacy_ref):
    """knex (pg client): builder queries (select/where/orderBy/limit, whereIn, aggregate with
    groupBy/having, a join) give the rows Postgres gives for the same builder."""
    ensure_knex(node_modules)
    got = run_node(node_modules, "knex_legacy.js", legacy_proxy.url())
    want = run_node(node_modules, "knex_legacy.js", ref_url(legacy_ref), str(legacy_ref.supabase.ca))
    assert len(want["active"]["rows"]) == 25
    assert want["aggregate"]["rows"]
    assert not [k for k, v in want.items() if "error" in v], want
    for key in want:
        assert got[key]["sql"] == want[key]["sql"], key
    bad = {k: (got[k].get("error") or got[k]["rows"], want[k]["rows"]) for k in want
           if got[k].get("rows") != want[k]["rows"]}
    assert not bad, f"differing: {sorted(bad)}; (switchyard, postgres) per builder: {bad}"


def run_java(url, user, password, extra=""):
    r = subprocess.run(["java", "-cp", str(JAR), str(JAVA_SOURCE), url, user, password, extra],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"JdbcLegacy against {url}:\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_pgjdbc_legacy(legacy_proxy, legacy_ref):
    """pgjdbc: PreparedStatement with parameters (server-prepared), setFetchSize in a transaction
    (Execute with a row limit, PortalSuspended), ResultSetMetaData column types."""
    if not JAR.exists():
        pytest.fail(f"{JAR} missing: install libpostgresql-jdbc-java")
    sb = legacy_ref.supabase
    got = run_java(f"jdbc:postgresql://127.0.0.1:{legacy_proxy.port}/platform?sslmode=disable",
                   APP_USER, APP_PASSWORD)
    want = run_java(f"jdbc:postgresql://{sb.host}:{sb.port}/{legacy_ref.dbname}?sslmode=verify-full"
                    f"&sslrootcert={sb.ca}", "platform_owner", "owner-secret")
    assert want["fetch"]["count"] == 1000 and want["fetch_prepared"] == 200
    assert not [k for k, v in want.items() if isinstance(v, str) and v.startswith("error:")], want
    bad = {k: (got.get(k), want[k]) for k in want if got.get(k) != want[k]}
    assert not bad, f"differing: {sorted(bad)}; (switchyard, postgres) per key: {bad}"
