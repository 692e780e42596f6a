"""Routing through the running proxy: legacy writes refused, everything else relayed.

Supabase holds migrated copies of the legacy tables (customers, subscriptions,
payments) with data, so a refused statement that leaked through would change
something visible. After the refusals, the data and the catalog are compared
with a snapshot taken before.
"""
import psycopg
import psycopg2
import pytest

import pgwire
from conftest import APP_PASSWORD, APP_USER

LEGACY_WRITES = [
    ("DELETE FROM customers", "customers"),
    ("delete from CUSTOMERS where customer_id = 1", "customers"),
    ('DELETE FROM "customers" WHERE customer_id = 1', "customers"),
    ("DELETE FROM public.customers", "customers"),
    ('DELETE FROM U&"\\0063ustomers"', "customers"),
    ("UPDATE subscriptions SET plan = 'free'", "subscriptions"),
    ("UPDATE ONLY payments p SET amount = 0 WHERE p.payment_id = 1", "payments"),
    ("INSERT INTO customers (customer_id, name) VALUES (1000, 'x')", "customers"),
    ("INSERT INTO customers (customer_id, name) VALUES (1, 'x') "
     "ON CONFLICT (customer_id) DO UPDATE SET name = 'y'", "customers"),
    ("MERGE INTO payments p USING (SELECT 1 AS id) s ON p.payment_id = s.id "
     "WHEN MATCHED THEN DELETE", "payments"),
    ("TRUNCATE workflow_runs, customers", "customers"),
    ("WITH d AS (DELETE FROM customers RETURNING *) SELECT count(*) FROM d", "customers"),
    ("SELECT * INTO customers FROM workflows", "customers"),
    ("CREATE TABLE payments AS SELECT 1 AS x", "payments"),
    ("ALTER TABLE customers ADD COLUMN leaked int", "customers"),
    ("DROP TABLE payments", "payments"),
    ("CREATE INDEX leaked_idx ON subscriptions (plan)", "subscriptions"),
    ("CREATE TRIGGER leaked BEFORE INSERT ON customers FOR EACH ROW EXECUTE FUNCTION now()",
     "customers"),
    ("GRANT ALL ON customers TO PUBLIC", "customers"),
    ("COMMENT ON TABLE customers IS 'leaked'", "customers"),
    ("LOCK TABLE customers", "customers"),
    ("SELECT * FROM customers FOR UPDATE", "customers"),
    ("ALTER TABLE customers ENABLE ROW LEVEL SECURITY", "customers"),
    ("EXPLAIN ANALYZE DELETE FROM customers", "customers"),
    ("PREPARE leak AS DELETE FROM customers", "customers"),
    ("DO $$ BEGIN DELETE FROM customers; END $$", "customers"),
    ("CREATE FUNCTION leak() RETURNS void LANGUAGE sql AS $$ DELETE FROM customers $$", None),
    ("COPY customers FROM STDIN", "customers"),
    ("VACUUM customers", "customers"),
]


def snapshot(supabase):
    """Data and catalog facts a leaked legacy write would change."""
    with supabase.admin() as conn:
        data = conn.execute(
            "SELECT (SELECT count(*) FROM customers), (SELECT sum(customer_id) FROM customers),"
            " (SELECT count(*) FROM customers WHERE name LIKE 'customer %'),"
            " (SELECT string_agg(plan, ',' ORDER BY subscription_id) FROM subscriptions),"
            " (SELECT sum(amount) FROM payments)").fetchone()
        catalog = conn.execute(
            "SELECT string_agg(c.relname || ':' || c.relkind::text || ':' || c.relnatts || ':' ||"
            "       c.relrowsecurity || ':' || coalesce(c.relacl::text, '') || ':' ||"
            "       coalesce(obj_description(c.oid, 'pg_class'), ''), ';' ORDER BY c.relname)"
            " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public'").fetchone()
        triggers = conn.execute("SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal").fetchone()
        functions = conn.execute(
            "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname = 'public'").fetchone()
    return data, catalog, triggers, functions


@pytest.fixture
def before(supabase):
    return snapshot(supabase)


def test_legacy_writes_refused_simple_protocol(proxy, supabase, before):
    with proxy.connect() as conn:
        for sql, table in LEGACY_WRITES:
            with pytest.raises(psycopg.Error) as e:
                conn.execute(sql, prepare=False)
            assert e.value.sqlstate == "25006", (sql, e.value.sqlstate, str(e.value))
            if table:
                assert f'"{table}"' in str(e.value), (sql, str(e.value))
        # The session is still usable after all those refusals.
        assert conn.execute("SELECT 41 + 1").fetchone()[0] == 42
    assert snapshot(supabase) == before


def test_legacy_writes_refused_extended_protocol(proxy, supabase, before):
    """psycopg sends statements with parameters through Parse/Bind/Execute."""
    with proxy.connect() as conn:
        for sql in ["DELETE FROM customers WHERE customer_id = %s",
                    "UPDATE payments SET amount = %s WHERE payment_id = 1",
                    "INSERT INTO subscriptions (subscription_id, customer_id, plan, started_at)"
                    " VALUES (%s, 1, 'x', now())"]:
            with pytest.raises(psycopg.Error) as e:
                conn.execute(sql, (1,))
            assert e.value.sqlstate == "25006"
        with pytest.raises(psycopg.Error) as e:
            conn.execute("DELETE FROM customers WHERE customer_id = %s", (1,), prepare=True)
        assert e.value.sqlstate == "25006"
        assert conn.execute("SELECT %s::int + 1", (1,)).fetchone()[0] == 2
    assert snapshot(supabase) == before


def test_psycopg2_refusal(proxy, supabase, before):
    conn = psycopg2.connect(proxy.dsn())
    conn.autocommit = True
    cur = conn.cursor()
    with pytest.raises(psycopg2.Error) as e:
        cur.execute("UPDATE customers SET status = 'gone'")
    assert e.value.pgcode == "25006"
    cur.execute("SELECT count(*) FROM workflows")
    assert cur.fetchone()[0] >= 3
    conn.close()
    assert snapshot(supabase) == before


def test_multi_statement_string_runs_nothing(proxy, supabase, before):
    with proxy.connect() as conn:
        marker = "multi-statement-marker"
        with pytest.raises(psycopg.Error) as e:
            conn.execute(f"INSERT INTO workflows (name) VALUES ('{marker}'); "
                         "DELETE FROM customers; SELECT 1", prepare=False)
        assert e.value.sqlstate == "25006"
        with pytest.raises(psycopg.Error) as e:
            conn.execute("SELECT 1; DELETE FROM customers", prepare=False)
        assert e.value.sqlstate == "25006"
    assert supabase.query("SELECT count(*) FROM workflows WHERE name = %s", marker)[0][0] == 0
    assert snapshot(supabase) == before


def test_refusal_inside_transaction_aborts_it(proxy, supabase, before):
    marker = "txn-abort-marker"
    with proxy.connect() as conn:
        conn.execute("BEGIN")
        conn.execute("INSERT INTO workflows (name) VALUES (%s)", (marker,))
        with pytest.raises(psycopg.Error) as e:
            conn.execute("DELETE FROM customers")
        assert e.value.sqlstate == "25006"
        with pytest.raises(psycopg.Error) as e:
            conn.execute("SELECT 1")
        assert e.value.sqlstate == "25P02"  # in failed transaction, as Postgres says
        cur = conn.execute("COMMIT")
        assert cur.statusmessage == "ROLLBACK"
        # After the aborted transaction the session works normally again.
        assert conn.execute("SELECT 2").fetchone()[0] == 2
    assert supabase.query("SELECT count(*) FROM workflows WHERE name = %s", marker)[0][0] == 0
    assert snapshot(supabase) == before


def test_refusal_inside_transaction_extended_and_savepoint(proxy, supabase, before):
    """A savepoint rescues the transaction exactly as it would from a real error."""
    keep, lost = "savepoint-keep", "savepoint-lost"
    with proxy.connect() as conn:
        conn.execute("BEGIN")
        conn.execute("INSERT INTO workflows (name) VALUES (%s)", (keep,))
        conn.execute("SAVEPOINT s1")
        conn.execute("INSERT INTO workflows (name) VALUES (%s)", (lost,))
        with pytest.raises(psycopg.Error) as e:
            conn.execute("DELETE FROM payments WHERE payment_id = %s", (1,))
        assert e.value.sqlstate == "25006"
        conn.execute("ROLLBACK TO SAVEPOINT s1")
        conn.execute("COMMIT")
    assert supabase.query("SELECT count(*) FROM workflows WHERE name = %s", keep)[0][0] == 1
    assert supabase.query("SELECT count(*) FROM workflows WHERE name = %s", lost)[0][0] == 0
    supabase.query("DELETE FROM workflows WHERE name = %s RETURNING 1", keep)
    assert snapshot(supabase) == before


def test_pipeline_with_refused_statement(proxy, supabase, before):
    """psycopg pipeline: everything before Sync is one implicit transaction."""
    marker = "pipeline-marker"
    with proxy.connect() as conn:
        with pytest.raises(psycopg.Error) as e:
            with conn.pipeline():
                conn.execute("INSERT INTO workflows (name) VALUES (%s)", (marker,))
                conn.execute("DELETE FROM customers WHERE customer_id = %s", (5,))
                conn.execute("SELECT 1")
        assert e.value.sqlstate == "25006"
        assert conn.execute("SELECT 3").fetchone()[0] == 3
    assert supabase.query("SELECT count(*) FROM workflows WHERE name = %s", marker)[0][0] == 0
    assert snapshot(supabase) == before


def raw(proxy):
    return pgwire.connect(proxy.port, APP_USER, APP_PASSWORD)


def kinds(messages):
    """Message types in order, e.g. "12CEZ"."""
    return b"".join(t for t, _ in messages).decode()


def errors(messages):
    return [pgwire.parse_error_fields(body) for t, body in messages if t == b"E"]


def test_refused_parse_skips_to_sync_when_idle(proxy, supabase, before):
    """Nothing in flight: answered by switchyard itself, the upstream sees nothing."""
    c = raw(proxy)
    c.send(pgwire.parse_msg("DELETE FROM customers") + pgwire.bind_msg() + pgwire.execute_msg() + pgwire.SYNC)
    out = c.read_through_ready()
    assert kinds(out) == "EZ"
    assert errors(out)[0]["C"] == "25006"
    assert out[-1][1] == b"I"
    c.send(pgwire.query_msg("SELECT 7"))
    out = c.read_through_ready()
    assert kinds(out) == "TDCZ"
    c.terminate()
    assert snapshot(supabase) == before


def test_refused_parse_mid_pipeline(proxy, supabase, before):
    """Messages before the refusal run; the refusal aborts the implicit transaction."""
    marker = "raw-pipeline-marker"
    c = raw(proxy)
    c.send(pgwire.parse_msg(f"INSERT INTO workflows (name) VALUES ('{marker}')") + pgwire.bind_msg() +
           pgwire.execute_msg() +
           pgwire.parse_msg("UPDATE customers SET name = 'x'") + pgwire.bind_msg() + pgwire.execute_msg() +
           pgwire.parse_msg("SELECT 1") + pgwire.bind_msg() + pgwire.execute_msg() + pgwire.SYNC)
    out = c.read_through_ready()
    # Parse/Bind/CommandComplete for the insert, then the refusal, then ReadyForQuery.
    assert kinds(out) == "12CEZ"
    err = errors(out)[0]
    assert err["C"] == "25006" and '"customers"' in err["M"]
    c.send(pgwire.query_msg("SELECT 1"))
    assert kinds(c.read_through_ready()) == "TDCZ"
    c.terminate()
    assert supabase.query("SELECT count(*) FROM workflows WHERE name = %s", marker)[0][0] == 0
    assert snapshot(supabase) == before


def test_refused_query_mid_pipeline_of_simple_queries(proxy, supabase, before):
    """Two Query messages in one write: the first runs, the refused one errors in order."""
    c = raw(proxy)
    c.send(pgwire.query_msg("SELECT 1") + pgwire.query_msg("DELETE FROM customers") +
           pgwire.query_msg("SELECT 2"))
    first = c.read_through_ready()
    second = c.read_through_ready()
    third = c.read_through_ready()
    assert kinds(first) == "TDCZ"
    assert kinds(second) == "EZ" and errors(second)[0]["C"] == "25006"
    assert kinds(third) == "TDCZ"
    c.terminate()
    assert snapshot(supabase) == before


def test_error_before_refusal_in_same_pipeline_wins(proxy, supabase, before):
    """An earlier real error makes Postgres skip the rest; the client sees that error."""
    c = raw(proxy)
    c.send(pgwire.query_msg("BEGIN"))
    c.read_through_ready()
    c.send(pgwire.parse_msg("SELECT 1/0") + pgwire.bind_msg() + pgwire.execute_msg() +
           pgwire.parse_msg("DELETE FROM customers") + pgwire.bind_msg() + pgwire.execute_msg() + pgwire.SYNC)
    out = c.read_through_ready()
    errs = errors(out)
    assert [e["C"] for e in errs] == ["22012"]
    assert out[-1][1] == b"E"
    c.send(pgwire.query_msg("ROLLBACK"))
    c.read_through_ready()
    c.terminate()
    assert snapshot(supabase) == before


def test_legacy_reads_need_mysql(proxy):
    with proxy.connect() as conn:
        for sql in ["SELECT * FROM customers", "SELECT count(*) FROM payments p "
                    "JOIN subscriptions s USING (subscription_id)"]:
            with pytest.raises(psycopg.Error) as e:
                conn.execute(sql)
            assert e.value.sqlstate == "0A000"
            assert "MySQL" in str(e.value)


def test_legacy_and_platform_tables_together_refused(proxy):
    with proxy.connect() as conn:
        # Copying a legacy table into a platform table reads one side, writes the other.
        with pytest.raises(psycopg.Error) as e:
            conn.execute("CREATE TABLE customers_copy AS SELECT * FROM customers")
        assert e.value.sqlstate == "0A000"
        with pytest.raises(psycopg.Error) as e:
            conn.execute("SELECT w.name, c.name FROM workflow_runs r "
                         "JOIN workflows w ON w.id = r.workflow_id "
                         "JOIN customers c ON c.customer_id = r.customer_id")
        assert e.value.sqlstate == "0A000"
        assert "customers" in str(e.value) and "workflow" in str(e.value)


@pytest.fixture
def lookalikes(supabase):
    with supabase.admin() as conn:
        conn.execute('CREATE SCHEMA IF NOT EXISTS archive AUTHORIZATION platform_owner')
        conn.execute('CREATE TABLE IF NOT EXISTS archive.customers (id int)')
        conn.execute('ALTER TABLE archive.customers OWNER TO platform_owner')
        conn.execute('CREATE TABLE IF NOT EXISTS "Customers" (id int)')
        conn.execute('ALTER TABLE "Customers" OWNER TO platform_owner')
    yield
    with supabase.admin() as conn:
        conn.execute('DROP SCHEMA archive CASCADE')
        conn.execute('DROP TABLE "Customers"')


def test_lookalikes_pass(proxy, supabase, lookalikes):
    with proxy.connect() as conn:
        assert conn.execute("WITH customers AS (SELECT 1 AS x) SELECT x FROM customers"
                            ).fetchone()[0] == 1
        assert conn.execute("SELECT 'DELETE FROM customers'").fetchone()[0] == \
            "DELETE FROM customers"
        assert conn.execute("SELECT customers FROM (SELECT 5 AS customers) t").fetchone()[0] == 5
        assert conn.execute("SELECT 1 /*! ; DELETE FROM customers */").fetchone()[0] == 1
        conn.execute("INSERT INTO archive.customers VALUES (1)")
        conn.execute('INSERT INTO "Customers" VALUES (2)')
        assert conn.execute('SELECT count(*) FROM "Customers"').fetchone()[0] >= 1
        conn.execute("UPDATE workflows SET description = 'customers' WHERE id = 1")
    assert supabase.query("SELECT count(*) FROM archive.customers")[0][0] >= 1


def test_refusals_logged_once_per_shape(proxy):
    with proxy.connect() as conn:
        for i in range(3):
            with pytest.raises(psycopg.Error):
                conn.execute(f"DELETE FROM customers WHERE customer_id = {i}")
        with pytest.raises(psycopg.Error):
            conn.execute("TRUNCATE payments")
    lines = [l for l in proxy.log().splitlines() if 'msg="statement refused"' in l]
    customers = [l for l in lines if "table=customers" in l]
    payments = [l for l in lines if "table=payments" in l]
    assert len(customers) == 1, lines
    assert len(payments) == 1, lines
    assert "user=app" in customers[0] and "sqlstate=25006" in customers[0]


def test_refusal_totals_logged_on_sighup(proxy):
    import re
    import signal
    import time
    with proxy.connect() as conn:
        for _ in range(4):
            with pytest.raises(psycopg.Error):
                conn.execute("UPDATE subscriptions SET plan = 'free'")
    proxy.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 5
    line = None
    while time.monotonic() < deadline and line is None:
        line = next((l for l in proxy.log().splitlines()
                     if 'msg="refusals since start"' in l and "table=subscriptions" in l), None)
        time.sleep(0.05)
    assert line is not None, proxy.log()[-2000:]
    assert re.search(r"sqlstate=25006 count=4\b", line), line


def test_copy_protocol_violation_from_postgres_is_relayed(proxy, supabase, before):
    """A COPY's Execute followed by another Execute: Postgres ends the session.

    Postgres answers any non-COPY message during COPY FROM STDIN with FATAL
    08P01, so reply counting never has to survive such a pipeline. The client
    gets Postgres' own error, and the proxy goes on serving others.
    """
    c = raw(proxy)
    c.send(pgwire.parse_msg("COPY workflows (name) FROM STDIN") + pgwire.bind_msg() +
           pgwire.execute_msg() + pgwire.parse_msg("SELECT 1") + pgwire.bind_msg() +
           pgwire.execute_msg() + pgwire.SYNC)
    seen = [c.read_msg() for _ in range(4)]
    assert [t for t, _ in seen] == [b"1", b"2", b"G", b"E"]
    fatal = pgwire.parse_error_fields(seen[3][1])
    assert fatal["C"] == "08P01" and "COPY" in fatal["M"]
    assert c.is_closed()
    c.close()
    with proxy.connect() as conn:
        with pytest.raises(psycopg.Error) as e:
            conn.execute("DELETE FROM customers")
        assert e.value.sqlstate == "25006"
        assert conn.execute("SELECT 5").fetchone()[0] == 5
    assert snapshot(supabase) == before
