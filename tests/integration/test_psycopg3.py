"""psycopg 3 through switchyard: the extended protocol in its common shapes."""
import datetime
import decimal
import uuid

import psycopg
import pytest
from psycopg import errors, sql
from psycopg.pq import TransactionStatus

from helpers import sb_exec, unique


@pytest.fixture
def table(supabase):
    name = unique("pg3")
    sb_exec(supabase, f"CREATE TABLE {name} (id int PRIMARY KEY, name text, amount numeric(12,2),"
                      f" at timestamptz, tags text[], doc jsonb, raw bytea)")
    yield name
    sb_exec(supabase, f"DROP TABLE IF EXISTS {name}")


def test_parameters_extended_protocol(proxy):
    with proxy.connect() as conn:
        row = conn.execute("SELECT %s::int + %s::int, %s::text || '!', %s::numeric * 2, %s::text IS NULL",
                           (40, 2, "hi", decimal.Decimal("1.25"), None)).fetchone()
        assert row == (42, "hi!", decimal.Decimal("2.50"), True)
        rows = conn.execute("SELECT name FROM workflows WHERE status = %s AND id > %s ORDER BY id",
                            ("active", 0)).fetchall()
        assert rows == [("welcome",), ("renewal reminder",)]
        # Unicode and a NUL-free long string round-trip as parameters.
        text = "안녕하세요 switchyard " * 2000
        assert conn.execute("SELECT %s::text", (text,)).fetchone()[0] == text


def test_binary_format(proxy, table):
    now = datetime.datetime(2026, 11, 1, 12, 30, tzinfo=datetime.timezone.utc)
    blob = bytes(range(256)) * 40
    with proxy.connect() as conn:
        with conn.cursor(binary=True) as cur:
            cur.execute(f"INSERT INTO {table} VALUES (%b, %b, %b, %b, %b, %b, %b)",
                        (1, "bin", decimal.Decimal("12.34"), now, ["a", "b"],
                         psycopg.types.json.Jsonb({"k": [1, 2]}), blob))
            cur.execute(f"SELECT id, name, amount, at, tags, doc, raw FROM {table} WHERE id = %b", (1,))
            assert cur.pgresult.fformat(0) == 1  # the server really answered in binary
            row = cur.fetchone()
        assert row == (1, "bin", decimal.Decimal("12.34"), now, ["a", "b"], {"k": [1, 2]}, blob)
        with conn.cursor(binary=True) as cur:
            cur.execute("SELECT generate_series(1, 10000)::int8")
            assert [r[0] for r in cur.fetchall()] == list(range(1, 10001))


def test_pipeline_many_queries_before_sync(proxy, table):
    with proxy.connect() as conn:
        with conn.pipeline() as p:
            curs = []
            for i in range(200):
                cur = conn.cursor()
                cur.execute(f"INSERT INTO {table} (id, name) VALUES (%s, %s) RETURNING id * 10",
                            (i, f"n{i}"))
                curs.append(cur)
            sel = conn.cursor()
            sel.execute(f"SELECT count(*), sum(id) FROM {table}")
            p.sync()
            assert [c.fetchone()[0] for c in curs] == [i * 10 for i in range(200)]
            assert sel.fetchone() == (200, sum(range(200)))
        # An error in a pipeline aborts the rest of the segment, and the pipeline recovers.
        with pytest.raises(errors.UniqueViolation):
            with conn.pipeline():
                conn.execute(f"INSERT INTO {table} (id) VALUES (0)")
                conn.execute("SELECT 1")
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (200,)
        assert conn.info.transaction_status == TransactionStatus.IDLE


def test_copy_both_directions(proxy, table):
    n = 20000
    with proxy.connect() as conn:
        with conn.cursor() as cur:
            with cur.copy(f"COPY {table} (id, name, amount) FROM STDIN") as copy:
                for i in range(n):
                    copy.write_row((i, f"row {i}", decimal.Decimal(i) / 100))
            assert cur.rowcount == n
            with cur.copy(f"COPY (SELECT id, name FROM {table} ORDER BY id) TO STDOUT") as copy:
                got = [(int(a), b) for a, b in copy.rows()]
            assert got == [(i, f"row {i}") for i in range(n)]
            # Binary COPY both ways.
            with cur.copy(f"COPY {table} (id, name) FROM STDIN (FORMAT binary)") as copy:
                copy.set_types(["int4", "text"])
                for i in range(n, n + 100):
                    copy.write_row((i, "b"))
            with cur.copy(f"COPY (SELECT id FROM {table} WHERE name = 'b' ORDER BY id) TO STDOUT"
                          " (FORMAT binary)") as copy:
                copy.set_types(["int4"])
                assert [r[0] for r in copy.rows()] == list(range(n, n + 100))
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (n + 100,)


def test_copy_in_error_then_session_usable(proxy, table):
    with proxy.connect() as conn:
        with pytest.raises(errors.UniqueViolation):
            with conn.cursor().copy(f"COPY {table} (id) FROM STDIN") as copy:
                copy.write_row((1,))
                copy.write_row((1,))
        assert conn.execute("SELECT 'ok'").fetchone() == ("ok",)
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)


def test_prepared_statements(proxy):
    with proxy.connect(prepare_threshold=0) as conn:
        for i in range(5):
            assert conn.execute("SELECT %s::int * 3", (i,)).fetchone() == (i * 3,)
        for name in ("welcome", "win-back"):
            assert conn.execute("SELECT id FROM workflows WHERE name = %s", (name,)).fetchone()
        names = [r[0] for r in conn.execute(
            "SELECT statement FROM pg_prepared_statements").fetchall()]
        # psycopg prepared both shapes once each, server-side, and reused them.
        assert any("* 3" in s for s in names), names
        assert any("FROM workflows" in s for s in names), names
        assert conn.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE "
                            "'SELECT $1::int * 3%%'").fetchone() == (1,)


def test_server_side_cursor(proxy):
    with proxy.connect(autocommit=False) as conn:
        with conn.cursor(name="big") as cur:
            cur.itersize = 333
            cur.execute("SELECT i, md5(i::text) FROM generate_series(1, 5000) AS i")
            total = 0
            for i, (n, h) in enumerate(cur, start=1):
                assert n == i and len(h) == 32
                total += n
            assert total == 5000 * 5001 // 2
        with conn.cursor(name="scroll", scrollable=True) as cur:
            cur.execute("SELECT generate_series(1, 100)")
            cur.scroll(50, mode="absolute")
            assert cur.fetchone() == (51,)
            cur.scroll(-11)
            assert cur.fetchmany(2) == [(41,), (42,)]
        conn.commit()


def test_transactions_commit_and_rollback(proxy, supabase, table):
    with proxy.connect(autocommit=False) as conn:
        conn.execute(f"INSERT INTO {table} (id, name) VALUES (1, 'rolled back')")
        assert conn.info.transaction_status == TransactionStatus.INTRANS
        conn.rollback()
        conn.execute(f"INSERT INTO {table} (id, name) VALUES (2, 'kept')")
        # Not visible outside before COMMIT...
        assert supabase.query(f"SELECT count(*) FROM {table}") == [(0,)]
        conn.commit()
        assert supabase.query(f"SELECT id, name FROM {table}") == [(2, "kept")]
        # An error aborts the transaction until rollback.
        with pytest.raises(errors.DivisionByZero):
            conn.execute("SELECT 1/0")
        assert conn.info.transaction_status == TransactionStatus.INERROR
        with pytest.raises(errors.InFailedSqlTransaction):
            conn.execute("SELECT 1")
        conn.rollback()
        with conn.transaction():
            conn.execute(f"INSERT INTO {table} (id, name) VALUES (3, 'block')")
            with pytest.raises(errors.UniqueViolation):
                with conn.transaction():  # a savepoint
                    conn.execute(f"INSERT INTO {table} (id, name) VALUES (3, 'dup')")
        assert supabase.query(f"SELECT id FROM {table} ORDER BY id") == [(2,), (3,)]


def test_notices_relayed(proxy):
    with proxy.connect() as conn:
        got = []
        conn.add_notice_handler(lambda d: got.append((d.severity_nonlocalized, d.sqlstate,
                                                      d.message_primary)))
        conn.execute("DO $$ BEGIN RAISE NOTICE 'hello from %', 'upstream'; "
                     "RAISE WARNING 'careful'; END $$")
        assert ("NOTICE", "00000", "hello from upstream") in got
        assert ("WARNING", "01000", "careful") in got
        # Notices inside a pipeline and after an extended query arrive too.
        got.clear()
        conn.execute("SELECT %s::int", (1,))
        conn.execute("DO $$ BEGIN RAISE NOTICE 'second'; END $$")
        assert got == [("NOTICE", "00000", "second")]


def test_errors_carry_sqlstate_and_fields(proxy):
    with proxy.connect() as conn:
        with pytest.raises(errors.UndefinedTable) as ei:
            conn.execute("SELECT * FROM no_such_table_here")
        assert ei.value.sqlstate == "42P01"
        assert ei.value.diag.statement_position == "15"
        with pytest.raises(errors.SyntaxError):
            conn.execute("SELEC 1")
        assert conn.execute(sql.SQL("SELECT {}").format(sql.Literal(str(uuid.UUID(int=7))))
                            ).fetchone() == ("00000000-0000-0000-0000-000000000007",)
