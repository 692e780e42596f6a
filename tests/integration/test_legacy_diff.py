"""Legacy reads served from MySQL must answer exactly what Postgres answers (issue 7).

The same rows live in MariaDB (database crm, scripts/sql/legacy-mysql.sql) and in a Postgres copy
(database legacy_ref, scripts/sql/legacy-pg.sql, loaded from the MariaDB by conftest). Every query
of legacy_queries.py runs through switchyard (served by MariaDB) and directly on legacy_ref; column
names, type OIDs, the command tag, row order (when the query's ORDER BY makes it total, otherwise
as multisets) and every value in Postgres' text form (or its binary form, for binary results) must
match.

- test_reference_copy_is_identical: both sides hold the same rows (no switchyard involved).
- test_query_valid_on_postgres: every corpus query runs on Postgres itself, returns rows, and its
  ordering flag is sound. These two must pass whatever state switchyard is in.
- test_legacy_diff: the differential test, one test per query. A 0A000 refusal is a failure.
- test_refused_construct: constructs the issue lets switchyard refuse, refused with 0A000 naming them.
- test_refuses_writer_account / test_missing_legacy_table: start-up refusals.
"""
import decimal
import re
import struct

import psycopg
import pytest
from psycopg.adapt import Loader
from psycopg.pq import Format

from conftest import (LEGACY_TABLES, legacy_overrides, legacy_raw_rows,
                      run_switchyard_until_exit)
from legacy_queries import ERRORS, QUERIES, REFUSED, Q

# --- Reading values as the server wrote them ----------------------------------------------------

# Every type a legacy read can produce, and then some: the raw loaders below replace psycopg's
# own for these OIDs so values are compared in the exact form Postgres sent.
RAW_OIDS = [16, 17, 18, 19, 20, 21, 23, 25, 26, 114, 700, 701, 705, 790, 1042, 1043, 1082, 1083,
            1114, 1184, 1186, 1266, 1560, 1562, 1700, 2950, 3802, 1000, 1005, 1007, 1009, 1016,
            1015, 1014, 1021, 1022, 1231, 1182, 1115, 1185, 1187, 199, 3807, 2249]


class RawText(Loader):
    format = Format.TEXT

    def load(self, data):
        return bytes(data).decode("utf-8", "surrogateescape")


class RawBinary(Loader):
    format = Format.BINARY

    def load(self, data):
        return bytes(data)


def raw_values(conn):
    for oid in RAW_OIDS:
        conn.adapters.register_loader(oid, RawText)
        conn.adapters.register_loader(oid, RawBinary)
    return conn


# --- The reference copy is the MariaDB data ------------------------------------------------------

def pg_shortest(v: float, digits_max: int, fixed_below: int) -> str:
    """Postgres' float4out/float8out with extra_float_digits = 1: shortest round trip."""
    if v != v:
        return "NaN"
    if v in (float("inf"), float("-inf")):
        return "Infinity" if v > 0 else "-Infinity"
    if v == 0:
        return "-0" if struct.pack(">d", v)[0] & 0x80 else "0"
    if digits_max == 9:  # float4: shortest digits that give back the same float32
        f32 = struct.unpack("f", struct.pack("f", v))[0]
        for p in range(1, 10):
            s = "%.*e" % (p - 1, f32)
            if struct.unpack("f", struct.pack("f", float(s)))[0] == f32:
                break
    else:
        s = "%.*e" % (16, v)
        for p in range(1, 18):
            s = "%.*e" % (p - 1, v)
            if float(s) == v:
                break
    d = decimal.Decimal(s)
    sign, digs, exp = d.as_tuple()
    digs = "".join(map(str, digs)).rstrip("0") or "0"
    e10 = exp + len("".join(map(str, d.as_tuple()[1]))) - 1  # exponent of the first digit
    neg = "-" if sign else ""
    if -4 <= e10 < fixed_below:
        if e10 >= 0:
            intpart = digs[: e10 + 1].ljust(e10 + 1, "0")
            frac = digs[e10 + 1:]
            return neg + intpart + ("." + frac if frac else "")
        return neg + "0." + "0" * (-e10 - 1) + digs
    mant = digs[0] + ("." + digs[1:] if len(digs) > 1 else "")
    return f"{neg}{mant}e{'+' if e10 >= 0 else '-'}{abs(e10):02d}"


def expected_pg_text(kind: str, pg_type: str, v):
    """What Postgres (TimeZone UTC, DateStyle ISO, IntervalStyle postgres, bytea_output hex)
    prints for the value MySQL sent as text <v>, for a column of <pg_type>."""
    if v is None:
        return None
    if kind == "bytes":
        return "\\x" + v.hex()
    if isinstance(v, bytes):
        v = v.decode()
    if kind == "bool":
        return "f" if v == "0" else "t"
    if kind in ("date", "timestamp", "timestamptz") and v.startswith("0000-00-00"):
        return None
    if kind == "timestamptz":
        if "." in v:
            v = v.rstrip("0").rstrip(".")
        return v + "+00"
    if kind == "float4":
        return pg_shortest(float(v), 9, 6)
    if pg_type == "double precision":
        return pg_shortest(float(v), 17, 15)
    m = re.fullmatch(r"character\((\d+)\)", pg_type)
    if m:
        return v.ljust(int(m.group(1)))
    return v


@pytest.mark.parametrize("table", LEGACY_TABLES)
def test_reference_copy_is_identical(mariadb, legacy_ref, table):
    """Row by row, column by column, in Postgres text form: MariaDB's rows and legacy_ref's."""
    names, kinds, my_rows = legacy_raw_rows(mariadb, table)
    with raw_values(legacy_ref()) as conn:
        conn.execute("SET TimeZone = 'UTC'; SET DateStyle = 'ISO, MDY'; SET IntervalStyle = 'postgres'; "
                     "SET extra_float_digits = 1; SET bytea_output = 'hex'")
        types = dict(conn.execute(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute"
            " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped", (table,)).fetchall())
        pg_rows = conn.execute(f"SELECT {', '.join(names)} FROM {table} ORDER BY {names[0]}").fetchall()
    assert len(pg_rows) == len(my_rows) > 0
    for my_row, pg_row in zip(my_rows, pg_rows):
        want = tuple(expected_pg_text(k, types[n], v) for n, k, v in zip(names, kinds, my_row))
        diff = [(n, w, g) for n, w, g in zip(names, want, pg_row) if w != g]
        assert not diff, f"{table} row {pg_row[0]}: (column, from MariaDB, in legacy_ref) {diff}"


def test_reference_copy_has_the_hard_cases(legacy_ref):
    """The data the corpus relies on is there (a guard against the seed file losing its edges)."""
    with legacy_ref() as conn:
        one = lambda sql: conn.execute(sql).fetchone()[0]
        assert one("SELECT count(*) FROM customers") == 200
        assert one("SELECT count(*) FROM subscriptions") == 300
        assert one("SELECT count(*) FROM payments") == 1000
        assert one("SELECT count(*) FROM customers WHERE name IN ('Kim', 'kim', 'KIM')") == 3
        assert one("SELECT count(*) FROM customers WHERE name IN ('Lee', 'Lee ')") == 2
        assert one("SELECT count(*) FROM customers WHERE name <> normalize(name, NFC)") == 1
        assert one("SELECT count(*) FROM customers WHERE last_login_at IS NULL AND customer_id = 5") == 1
        assert one("SELECT max(subscription_id) FROM subscriptions") == decimal.Decimal(2**64 - 1)
        assert one("SELECT min(payment_id) FROM payments") == -2**63
        assert one("SELECT count(*) FROM customers WHERE country = 'K'") == 1
        for col in ("phone", "email", "grade", "visits", "score", "ratio", "country", "birth_year",
                    "birthday", "updated_at", "last_login_at", "memo", "profile", "avatar"):
            assert one(f"SELECT count(*) FROM customers WHERE {col} IS NULL") > 0, col
        for col in ("ends_at", "renew_time"):
            assert one(f"SELECT count(*) FROM subscriptions WHERE {col} IS NULL") > 0, col
        for col in ("method", "note", "raw"):
            assert one(f"SELECT count(*) FROM payments WHERE {col} IS NULL") > 0, col


def test_mariadb_accounts(mariadb):
    """The accounts of the migration guide: crm_readonly can only read, crm_writer can write."""
    import pymysql
    with mariadb.connect() as conn, conn.cursor() as cur:
        cur.execute("SHOW GRANTS")
        grants = " ".join(r[0] for r in cur.fetchall())
        assert "GRANT SELECT ON `crm`.*" in grants and "INSERT" not in grants
        cur.execute("SELECT customer_id, name, phone, email FROM customers WHERE status = 'active' LIMIT 10")
        assert len(cur.fetchall()) == 10
        with pytest.raises(pymysql.err.OperationalError) as e:
            cur.execute("INSERT INTO customers (name, created_at) VALUES ('test', NOW())")
        assert e.value.args[0] == 1142  # INSERT command denied
    with mariadb.connect(*mariadb.WRITER) as conn, conn.cursor() as cur:
        cur.execute("SHOW GRANTS")
        grants = " ".join(r[0] for r in cur.fetchall())
        assert "INSERT" in grants and "UPDATE" in grants


# --- The corpus is valid Postgres ------------------------------------------------------------

def execute(conn, q: Q, binary=False):
    """(names, type OIDs, status, rows) of <q> on <conn>, values raw."""
    if q.proto == "simple":
        cur = psycopg.ClientCursor(conn)
    else:
        cur = conn.cursor(binary=binary)
    with cur:
        kw = {}
        if q.proto != "simple":
            kw["prepare"] = q.proto == "prepared"
        cur.execute(q.sql, q.params, **kw)
        names = [d.name for d in cur.description] if cur.description else []
        types = [d.type_code for d in cur.description] if cur.description else []
        rows = cur.fetchall() if cur.description else []
        return names, types, cur.statusmessage, rows


_conns = {}


def session_conn(kind, factory, settings):
    """One connection per side and per settings, SET once at connect (so a SET has to stick)."""
    key = (kind, settings)
    conn = _conns.get(key)
    if conn is None or conn.closed:
        conn = raw_values(factory())
        for name, value in settings:
            conn.execute(f"SET {name} = {value}")
        _conns[key] = conn
    return conn


@pytest.fixture(scope="module", autouse=True)
def _close_conns():
    yield
    for c in _conns.values():
        c.close()
    _conns.clear()


def sortable(rows):
    return sorted(rows, key=lambda r: repr(r))


@pytest.fixture(scope="module")
def legacy_ref_reversed(legacy_ref, supabase):
    """A copy of legacy_ref whose rows sit in reverse physical order: a query whose ORDER BY is
    not total answers its ties in another order there."""
    with supabase.admin() as admin:
        admin.execute("DROP DATABASE IF EXISTS legacy_ref_reversed")
        admin.execute(f"CREATE DATABASE legacy_ref_reversed TEMPLATE {legacy_ref.dbname}")

    def connect():
        return psycopg.connect(host=str(supabase.dir), port=supabase.port,
                               dbname="legacy_ref_reversed", user="postgres", autocommit=True)
    with connect() as conn:
        conn.execute("ALTER TABLE payments DROP CONSTRAINT payments_subscription_id_fkey")
        conn.execute("ALTER TABLE subscriptions DROP CONSTRAINT subscriptions_customer_id_fkey")
        for table, key in (("customers", "customer_id"), ("subscriptions", "subscription_id"),
                           ("payments", "payment_id")):
            conn.execute(f"CREATE TEMP TABLE r AS SELECT * FROM {table} ORDER BY {key} DESC")
            conn.execute(f"DELETE FROM {table}")
            conn.execute(f"INSERT INTO {table} SELECT * FROM r ORDER BY {key} DESC")
            conn.execute("DROP TABLE r")
            conn.execute(f"VACUUM ANALYZE {table}")
        assert conn.execute("SELECT customer_id FROM customers LIMIT 1").fetchone() == (200,)
    yield connect
    for key in [k for k in _conns if k[0] == "reversed"]:
        _conns.pop(key).close()
    with supabase.admin() as admin:
        admin.execute("DROP DATABASE IF EXISTS legacy_ref_reversed WITH (FORCE)")


@pytest.mark.parametrize("q", [pytest.param(q, id=q.id) for q in QUERIES])
def test_query_valid_on_postgres(legacy_ref, legacy_ref_reversed, q):
    conn = session_conn("ref", legacy_ref.connect, q.settings)
    names, types, status, rows = execute(conn, q, q.binary)
    if q.ordered and not q.loose:
        again = execute(session_conn("reversed", legacy_ref_reversed, q.settings), q, q.binary)
        assert again[3] == rows, "the ORDER BY is not total: rows in reverse physical order answer differently"
    assert names, "a corpus query must return columns"
    if not q.empty_ok:
        assert rows, "a corpus query should return rows (an empty answer proves little)"
    limited = re.search(r"\b(limit|offset|fetch\s+first)\b", q.sql, re.I)
    if limited and not q.limit_ok:
        assert q.ordered, "LIMIT/OFFSET/FETCH without a total ORDER BY answers an arbitrary subset"


# --- The differential test -------------------------------------------------------------------

def compare(q: Q, ref, got):
    r_names, r_types, r_status, r_rows = ref
    g_names, g_types, g_status, g_rows = got
    assert g_names == r_names, "column names"
    assert g_types == r_types, f"type OIDs (names {r_names})"
    assert g_status == r_status, "command tag"
    if q.loose:
        assert len(g_rows) == len(r_rows)
        return
    if q.ordered:
        for i, (g, r) in enumerate(zip(g_rows, r_rows)):
            assert g == r, f"row {i}: switchyard {g!r} != postgres {r!r}"
        assert len(g_rows) == len(r_rows), "row count"
    else:
        gs, rs = sortable(g_rows), sortable(r_rows)
        missing = [r for r in rs if r not in gs][:5]
        extra = [g for g in gs if g not in rs][:5]
        assert gs == rs, f"rows differ (as multisets): missing {missing!r}, unexpected {extra!r}"


@pytest.mark.parametrize("q", [pytest.param(q, id=q.id, marks=[pytest.mark.xfail(strict=True, reason=q.xfail)]
                                               if q.xfail else []) for q in QUERIES])
def test_legacy_diff(legacy_ref, legacy_proxy, q):
    ref = execute(session_conn("ref", legacy_ref.connect, q.settings), q, q.binary)
    try:
        got = execute(session_conn("proxy", legacy_proxy.connect, q.settings), q, q.binary)
    except psycopg.Error as e:
        dead = _conns.pop(("proxy", q.settings), None)
        if dead is not None:
            dead.close()  # a connection left to the GC holds an upstream slot: later tests wait for one
        pytest.fail(f"switchyard: {e.sqlstate} {e}")
    compare(q, ref, got)


@pytest.mark.parametrize("sql,construct", [pytest.param(s, c, id=i) for i, s, c in REFUSED])
def test_refused_construct(legacy_ref, legacy_proxy, sql, construct):
    """Constructs the issue lets switchyard refuse: 0A000 naming them, and Postgres runs them."""
    with legacy_ref() as conn:
        conn.execute(sql).fetchall()
    with legacy_proxy.connect() as conn:
        with pytest.raises(psycopg.Error) as e:
            conn.execute(sql).fetchall()
        assert e.value.sqlstate == "0A000", str(e.value)
        assert construct.lower() in str(e.value).lower()
        assert conn.execute("SELECT 1").fetchone() == (1,)  # the session goes on


@pytest.mark.parametrize("sql,sqlstate", [pytest.param(s, c, id=i) for i, s, c in ERRORS])
def test_legacy_error(legacy_ref, legacy_proxy, sql, sqlstate):
    """Errors Postgres raises (where MySQL answers NULL, truncates or warns) are raised the same."""
    for connect, side in ((legacy_ref.connect, "postgres"), (legacy_proxy.connect, "switchyard")):
        with connect() as conn:
            with pytest.raises(psycopg.Error) as e:
                conn.execute(sql).fetchall()
            assert e.value.sqlstate == sqlstate, f"{side}: {e.value.sqlstate} {e.value}"
            assert conn.execute("SELECT count(*) FROM customers").fetchone() == (200,)


def test_multi_statement_simple_query(legacy_ref, legacy_proxy):
    """A simple Query with several statements: each legacy read answered, in order, like Postgres."""
    sql = ("SELECT count(*) FROM customers; SELECT name FROM customers WHERE customer_id = 3; "
           "SELECT 1 AS one; SELECT plan FROM subscriptions WHERE subscription_id = 1")

    def results(conn):
        out = []
        with psycopg.ClientCursor(conn) as cur:
            cur.execute(sql)
            while True:
                out.append(([d.name for d in cur.description], cur.fetchall()))
                if not cur.nextset():
                    break
        return out
    with legacy_ref() as ref, legacy_proxy.connect() as got:
        assert results(got) == results(ref)


def test_transaction_block_reads(legacy_ref, legacy_proxy):
    """BEGIN; legacy reads; COMMIT: BEGIN/COMMIT go to Supabase, the reads to MySQL, one snapshot."""
    with legacy_proxy.connect(autocommit=False) as conn:
        with conn.transaction():
            a = conn.execute("SELECT count(*), sum(amount) FROM payments").fetchone()
            b = conn.execute("SELECT count(*), sum(amount) FROM payments").fetchone()
        assert conn.execute("SELECT 1").fetchone() == (1,)
    with legacy_ref() as ref:
        assert a == b == ref.execute("SELECT count(*), sum(amount) FROM payments").fetchone()


def test_error_stops_the_rest(legacy_proxy):
    """Postgres' rule: an error in a multi-statement Query skips what follows it."""
    with legacy_proxy.connect() as conn:
        with pytest.raises(psycopg.errors.DivisionByZero):
            with psycopg.ClientCursor(conn) as cur:
                cur.execute("SELECT count(*) FROM customers; SELECT points / 0 FROM customers; "
                            "SELECT count(*) FROM payments")
        assert conn.execute("SELECT count(*) FROM subscriptions").fetchone() == (300,)


def test_guide_query(legacy_ref, legacy_proxy):
    """The migration guide's own test query, through switchyard."""
    sql = "SELECT customer_id, name, phone, email FROM customers WHERE status = 'active' LIMIT 10"
    with legacy_proxy.connect() as conn:
        cur = conn.execute(sql)
        assert [d.name for d in cur.description] == ["customer_id", "name", "phone", "email"]
        assert [d.type_code for d in cur.description] == [20, 1043, 1043, 1043]
        rows = cur.fetchall()
    assert len(rows) == 10
    with legacy_ref() as conn:
        for cid, name, phone, email in rows:
            assert conn.execute("SELECT name, phone, email, status FROM customers WHERE customer_id = %s",
                                (cid,)).fetchone() == (name, phone, email, "active")


# --- Start-up refusals -----------------------------------------------------------------------

def test_refuses_writer_account(supabase, mariadb, tmp_path):
    """require_read_only: an account that can write is refused at start, naming the privileges."""
    rc, log = run_switchyard_until_exit(
        supabase, tmp_path, **legacy_overrides(mariadb, {"user": "crm_writer", "password": "rw-secret"}))
    assert rc not in (None, 0), f"switchyard started with a writing account:\n{log[-3000:]}"
    assert rc not in (98, 99), f"sanitizer report:\n{log[-6000:]}"
    assert "crm_writer" in log, log[-3000:]
    assert "INSERT" in log and "UPDATE" in log, log[-3000:]


def test_missing_legacy_table(supabase, mariadb, tmp_path):
    """A configured legacy table that MySQL does not have is a start-up error naming it."""
    rc, log = run_switchyard_until_exit(
        supabase, tmp_path,
        **legacy_overrides(mariadb, legacy={"tables": ["customers", "subscriptions", "payments",
                                                        "refunds"]}))
    assert rc not in (None, 0), f"switchyard started without table refunds:\n{log[-3000:]}"
    assert rc not in (98, 99), f"sanitizer report:\n{log[-6000:]}"
    assert "refunds" in log, log[-3000:]


def test_readonly_account_starts(make_legacy_proxy):
    """The guide's account (SELECT only) is accepted; the proxy answers and exits cleanly."""
    p = make_legacy_proxy()
    with p.connect() as conn:
        assert conn.execute("SELECT count(*) FROM customers").fetchone() == (200,)
