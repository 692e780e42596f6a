"""psycopg2 (simple query protocol only) through switchyard."""
import io

import psycopg2
import psycopg2.errorcodes
import psycopg2.extensions
import pytest

from helpers import sb_exec, unique


@pytest.fixture
def table(supabase):
    name = unique("pg2")
    sb_exec(supabase, f"CREATE TABLE {name} (id int PRIMARY KEY, v text)")
    yield name
    sb_exec(supabase, f"DROP TABLE IF EXISTS {name}")


def connect(proxy, **kw):
    return psycopg2.connect(proxy.dsn(), **kw)


def test_queries(proxy):
    conn = connect(proxy)
    try:
        cur = conn.cursor()
        cur.execute("SELECT %s + %s, %s, %s", (1, 2, "it's quoted", None))
        assert cur.fetchone() == (3, "it's quoted", None)
        cur.execute("SELECT id, name FROM workflows ORDER BY id")
        assert [r[1] for r in cur.fetchall()] == ["welcome", "renewal reminder", "win-back"]
        cur.execute("SELECT generate_series(1, 50000)")
        assert cur.rowcount == 50000
        with pytest.raises(psycopg2.errors.UndefinedTable) as ei:
            cur.execute("SELECT * FROM not_a_table")
        assert ei.value.pgcode == "42P01"
        conn.rollback()
        cur.execute("SELECT 'recovered'")
        assert cur.fetchone() == ("recovered",)
    finally:
        conn.close()


def test_transactions(proxy, supabase, table):
    conn = connect(proxy)
    try:
        cur = conn.cursor()
        cur.execute(f"INSERT INTO {table} VALUES (1, 'one')")
        assert conn.get_transaction_status() == psycopg2.extensions.TRANSACTION_STATUS_INTRANS
        assert supabase.query(f"SELECT count(*) FROM {table}") == [(0,)]
        conn.commit()
        assert supabase.query(f"SELECT v FROM {table}") == [("one",)]
        cur.execute(f"INSERT INTO {table} VALUES (2, 'two')")
        conn.rollback()
        assert supabase.query(f"SELECT count(*) FROM {table}") == [(1,)]
        cur.execute(f"INSERT INTO {table} VALUES (3, 'three')")
        with pytest.raises(psycopg2.errors.UniqueViolation):
            cur.execute(f"INSERT INTO {table} VALUES (1, 'dup')")
        assert conn.get_transaction_status() == psycopg2.extensions.TRANSACTION_STATUS_INERROR
        conn.rollback()
        assert supabase.query(f"SELECT id FROM {table}") == [(1,)]
    finally:
        conn.close()


def test_copy_expert_both_directions(proxy, table):
    conn = connect(proxy)
    try:
        cur = conn.cursor()
        data = "".join(f"{i}\tvalue {i}\n" for i in range(10000))
        cur.copy_expert(f"COPY {table} FROM STDIN", io.StringIO(data))
        assert cur.rowcount == 10000
        out = io.StringIO()
        cur.copy_expert(f"COPY (SELECT * FROM {table} ORDER BY id) TO STDOUT", out)
        assert out.getvalue() == data
        out = io.StringIO()
        cur.copy_expert(f"COPY (SELECT id, v FROM {table} WHERE id < 3 ORDER BY id) TO STDOUT "
                        "WITH (FORMAT csv, HEADER)", out)
        assert out.getvalue() == "id,v\n0,value 0\n1,value 1\n2,value 2\n"
        conn.commit()
        with pytest.raises(psycopg2.errors.InvalidTextRepresentation):
            cur.copy_expert(f"COPY {table} FROM STDIN", io.StringIO("x\tbad\n"))
        conn.rollback()
        cur.execute(f"SELECT count(*) FROM {table}")
        assert cur.fetchone() == (10000,)
    finally:
        conn.close()
