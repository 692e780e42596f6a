"""`switchyard verify` (issue 9): a legacy table against its Supabase copy, as Postgres text.

The copy (database verify_copy) starts identical to the fixture MariaDB; each test injects one
difference into it and takes it back.
"""
import json
import subprocess
import time

import psycopg
import pytest

from conftest import BIN, create_legacy_copy, legacy_overrides

COPY_DB = "verify_copy"


@pytest.fixture(scope="module")
def copy_db(supabase, mariadb):
    with create_legacy_copy(supabase, mariadb, COPY_DB):
        pass
    return supabase


def admin(sb):
    c = psycopg.connect(host=str(sb.dir), port=sb.port, dbname=COPY_DB, user="postgres",
                        autocommit=True)
    c.execute("SET session_replication_role = replica")  # no foreign keys in the way
    return c


@pytest.fixture
def config(copy_db, make_proxy, mariadb):
    p = make_proxy(start=False, **legacy_overrides(
        mariadb, supabase={"database": COPY_DB, "connect_timeout_ms": 15000}))
    p.write_config()
    return p.config_path


def verify(config, *args, timeout=120):
    out = subprocess.run([str(BIN), "verify", "-c", str(config), "--json", "--retry-delay-ms",
                          "200", *args], capture_output=True, text=True, timeout=timeout)
    assert out.returncode in (0, 1, 2), out
    doc = json.loads(out.stdout) if out.stdout.strip() else None
    return out.returncode, doc, out.stderr


def table(doc, name):
    return next(t for t in doc["tables"] if t["table"] == name)


def test_identical_copy_matches(config):
    rc, doc, err = verify(config)
    assert rc == 0, (doc, err)
    assert doc["ok"] is True
    for t in doc["tables"]:
        assert t["status"] == "match", t
        assert t["rows_mysql"] == t["rows_supabase"] > 0
        assert t["mode"] == "keyed"


def changed_example(t, key):
    ex = [e for e in t["examples"] if e["kind"] == "changed" and list(e["key"].values()) == [key]]
    assert ex, t
    return {c["column"]: (c["mysql"], c["supabase"]) for c in ex[0]["columns"]}


@pytest.mark.parametrize("name, table, key, change, undo, column", [
    ("changed value", "customers", "5",
     "UPDATE customers SET phone = '000' WHERE customer_id = 5",
     "UPDATE customers c SET phone = s.phone FROM saved s WHERE c.customer_id = s.customer_id",
     "phone"),
    ("NULL vs empty string", "customers", "2",
     "UPDATE customers SET memo = NULL WHERE customer_id = 2",
     "UPDATE customers c SET memo = s.memo FROM saved s WHERE c.customer_id = s.customer_id",
     "memo"),
    ("trailing blank", "subscriptions", None,
     "UPDATE subscriptions SET plan = plan || ' ' WHERE subscription_id = "
     "(SELECT min(subscription_id) FROM subscriptions)",
     "UPDATE subscriptions SET plan = rtrim(plan) WHERE subscription_id = "
     "(SELECT min(subscription_id) FROM subscriptions)",
     "plan"),
    ("timestamp shifted by a session time zone", "payments", None,
     "UPDATE payments SET paid_at = paid_at + interval '9 hours' WHERE payment_id = "
     "(SELECT min(payment_id) FROM payments)",
     "UPDATE payments SET paid_at = paid_at - interval '9 hours' WHERE payment_id = "
     "(SELECT min(payment_id) FROM payments)",
     "paid_at"),
    ("float off in the last digit", "customers", "1",
     "UPDATE customers SET ratio = 0.10000000000000002::float8 WHERE customer_id = 1",
     "UPDATE customers c SET ratio = s.ratio FROM saved s WHERE c.customer_id = s.customer_id",
     "ratio"),
    ("Korean text in another normalization form", "customers", "1",
     "UPDATE customers SET name = normalize(name, NFD) WHERE customer_id = 1",
     "UPDATE customers c SET name = s.name FROM saved s WHERE c.customer_id = s.customer_id",
     "name"),
])
def test_changed_values_are_found_by_key_and_column(copy_db, config, name, table, key, change,
                                                    undo, column):
    with admin(copy_db) as a:
        a.execute("CREATE TEMP TABLE saved AS SELECT * FROM customers")
        if key is None:
            pk = {"subscriptions": "subscription_id", "payments": "payment_id"}[table]
            key = str(a.execute(f"SELECT min({pk}) FROM {table}").fetchone()[0])
        a.execute(change)
        try:
            rc, doc, err = verify(config, table)
        finally:
            a.execute(undo)
    assert rc == 1, (doc, err)
    t = table_of(doc, table)
    assert t["status"] == "differ"
    assert (t["changed"], t["missing"], t["extra"]) == (1, 0, 0), t
    cols = changed_example(t, key)
    assert list(cols) == [column], cols
    mysql, copy = cols[column]
    assert mysql != copy
    # everything else matched
    assert t["rows_mysql"] == t["rows_supabase"]
    rc, doc, err = verify(config, table)
    assert rc == 0, (doc, err)


def table_of(doc, name):
    return table(doc, name)


def test_missing_and_extra_rows(copy_db, config):
    with admin(copy_db) as a:
        a.execute("CREATE TEMP TABLE saved AS SELECT * FROM customers WHERE customer_id IN (6, 7)")
        a.execute("DELETE FROM customers WHERE customer_id IN (6, 7)")
        a.execute("INSERT INTO customers SELECT * FROM saved WHERE customer_id = 6")
        a.execute("UPDATE customers SET customer_id = 990001, email = 'extra@copy.example' "
                  "WHERE customer_id = 6")
        try:
            rc, doc, err = verify(config, "customers")
        finally:
            a.execute("DELETE FROM customers WHERE customer_id = 990001")
            a.execute("INSERT INTO customers SELECT * FROM saved")
    t = table(doc, "customers")
    assert rc == 1, (doc, err)
    assert (t["missing"], t["extra"], t["changed"]) == (2, 1, 0), t
    kinds = {(e["kind"], e["key"]["customer_id"]) for e in t["examples"]}
    assert kinds == {("missing", "6"), ("missing", "7"), ("extra", "990001")}, kinds
    extra = next(e for e in t["examples"] if e["kind"] == "extra")
    assert extra["row"]["email"] == "extra@copy.example"


def test_small_chunks_and_text_output(copy_db, config):
    with admin(copy_db) as a:
        a.execute("CREATE TEMP TABLE saved AS SELECT * FROM customers")
        a.execute("UPDATE customers SET balance = balance + 1 WHERE customer_id IN (3, 50)")
        try:
            rc, doc, err = verify(config, "customers", "--chunk-rows", "7")
            out = subprocess.run([str(BIN), "verify", "-c", str(config), "customers",
                                  "--retry-delay-ms", "0"], capture_output=True, text=True,
                                 timeout=120)
        finally:
            a.execute("UPDATE customers c SET balance = s.balance FROM saved s "
                      "WHERE c.customer_id = s.customer_id")
    t = table(doc, "customers")
    assert rc == 1 and t["changed"] == 2 and t["chunks"] >= t["rows_mysql"] // 7, t
    assert sorted(e["key"]["customer_id"] for e in t["examples"]) == ["3", "50"]
    # without --json: a summary table and the examples, one per line
    assert out.returncode == 1
    assert out.stdout.splitlines()[0].split()[:2] == ["table", "status"]
    assert any(l.split()[:2] == ["customers", "differ"] for l in out.stdout.splitlines())
    assert '"column":"balance"' in out.stdout


def test_decimal_scale_is_a_warning_and_every_row_differs(copy_db, config):
    with admin(copy_db) as a:
        a.execute("ALTER TABLE payments ALTER COLUMN amount TYPE numeric(14,3)")
        try:
            rc, doc, err = verify(config, "payments", "--retry-delay-ms", "0")
        finally:
            a.execute("ALTER TABLE payments ALTER COLUMN amount TYPE numeric(12,2)")
    t = table(doc, "payments")
    assert rc == 1 and t["status"] == "differ"
    assert any("amount" in w and "numeric(14,3)" in w for w in t["warnings"]), t["warnings"]
    assert t["changed"] == t["rows_mysql"] > 0
    cols = t["examples"][0]["columns"]
    assert [c["column"] for c in cols] == ["amount"]
    assert cols[0]["supabase"] == cols[0]["mysql"] + "0", cols


def test_schema_difference_stops_the_row_compare(copy_db, config):
    with admin(copy_db) as a:
        a.execute("ALTER TABLE payments ALTER COLUMN note TYPE bytea USING convert_to(note, 'UTF8')")
        a.execute("ALTER TABLE payments ADD COLUMN copied_at timestamptz")
        try:
            rc, doc, err = verify(config, "payments")
        finally:
            a.execute("ALTER TABLE payments DROP COLUMN copied_at")
            a.execute("ALTER TABLE payments ALTER COLUMN note TYPE varchar(200) "
                      "USING convert_from(note, 'UTF8')")
    t = table(doc, "payments")
    assert rc == 1 and t["status"] == "schema", t
    assert t["rows_mysql"] == 0 and t["rows_supabase"] == 0
    assert any(d.startswith("column note: switchyard serves varchar(200), the copy has bytea")
               for d in t["schema_differences"]), t["schema_differences"]
    assert "column copied_at exists only in the copy" in t["schema_differences"]


def test_types_that_render_alike_are_warnings(copy_db, config):
    with admin(copy_db) as a:
        a.execute("ALTER TABLE customers ALTER COLUMN phone TYPE text")
        try:
            rc, doc, err = verify(config, "customers")
        finally:
            a.execute("ALTER TABLE customers ALTER COLUMN phone TYPE varchar(20)")
    t = table(doc, "customers")
    assert rc == 0 and t["status"] == "match", t
    assert any(w.startswith("column phone: switchyard serves varchar(20), the copy has text")
               for w in t["warnings"]), t["warnings"]


def test_missing_copy(copy_db, config):
    with admin(copy_db) as a:
        a.execute("ALTER TABLE subscriptions RENAME TO subscriptions_away")
        try:
            rc, doc, err = verify(config, "subscriptions")
        finally:
            a.execute("ALTER TABLE subscriptions_away RENAME TO subscriptions")
    t = table(doc, "subscriptions")
    assert rc == 1 and t["status"] == "schema"
    assert t["schema_differences"] == ['the copy "public"."subscriptions" does not exist in Supabase']


def test_a_row_fixed_within_the_retry_delay_is_not_reported(copy_db, config):
    """A copy that lags: the row differs in the snapshot, matches when read again."""
    with admin(copy_db) as a:
        a.execute("CREATE TEMP TABLE saved AS SELECT * FROM customers WHERE customer_id = 9")
        a.execute("UPDATE customers SET phone = 'lagging' WHERE customer_id = 9")
        proc = subprocess.Popen([str(BIN), "verify", "-c", str(config), "customers", "--json",
                                 "--retry-delay-ms", "3000"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            # the scan is over (snapshots closed) when it says it reads the rows again
            for line in proc.stderr:
                if "reading them again" in line:
                    break
            else:
                pytest.fail("verify never said it would read rows again")
            a.execute("UPDATE customers c SET phone = s.phone FROM saved s "
                      "WHERE c.customer_id = s.customer_id")
            out, _ = proc.communicate(timeout=60)
        finally:
            proc.kill()
            a.execute("UPDATE customers c SET phone = s.phone FROM saved s "
                      "WHERE c.customer_id = s.customer_id")
    assert proc.returncode == 0, out
    t = table(json.loads(out), "customers")
    assert t["status"] == "match" and t["settled"] == 1, t


def test_max_rows_per_s_holds(copy_db, config):
    rc, doc, _ = verify(config, "payments", "--chunk-rows", "50", "--max-rows-per-s", "2000")
    t = table(doc, "payments")
    assert rc == 0
    rows = max(t["rows_mysql"], t["rows_supabase"])
    expected = (rows - 50) / 2000  # the last chunk is not waited for
    rate = rows / t["seconds"]
    print(f"{rows} rows in {t['seconds']:.3f} s: {rate:.0f} rows/s (cap 2000)")
    assert t["seconds"] >= expected * 0.9, t["seconds"]
    assert t["seconds"] <= expected * 1.1 + 0.25, t["seconds"]


def test_unreachable_supabase_is_exit_2(copy_db, make_proxy, mariadb):
    from conftest import free_port
    p = make_proxy(start=False, **legacy_overrides(
        mariadb, supabase={"database": COPY_DB, "host": "127.0.0.1", "port": free_port(),
                           "sslmode": "disable", "connect_timeout_ms": 2000}))
    p.write_config()
    out = subprocess.run([str(BIN), "verify", "-c", str(p.config_path)], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 2
    assert "cannot connect to Supabase" in out.stderr
    out = subprocess.run([str(BIN), "verify", "-c", str(p.config_path), "no_such_table"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "not a [legacy] table" in out.stderr


def test_table_without_primary_key_is_a_full_scan(copy_db, make_proxy, mariadb):
    with mariadb.root() as m, m.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS verify_events")
        cur.execute("CREATE TABLE verify_events (kind VARCHAR(20), at DATETIME, n INT)")
        cur.execute("INSERT INTO verify_events VALUES ('open', '2026-01-01 10:00:00', 1), "
                    "('open', '2026-01-01 10:00:00', 1), ('close', '2026-01-02 00:00:00', 2), "
                    "(NULL, NULL, NULL)")
    try:
        with admin(copy_db) as a:
            a.execute("DROP TABLE IF EXISTS verify_events")
            a.execute("CREATE TABLE verify_events (kind varchar(20), at timestamp, n integer)")
            a.execute("INSERT INTO verify_events VALUES ('open', '2026-01-01 10:00', 1), "
                      "('close', '2026-01-02 00:00', 2), (NULL, NULL, NULL), "
                      "('close', '2026-01-02 00:00', 3)")
            a.execute("GRANT SELECT ON verify_events TO platform_owner")
        p = make_proxy(start=False, **legacy_overrides(
            mariadb, supabase={"database": COPY_DB},
            legacy={"schema": "public", "tables": ["customers", "subscriptions", "payments",
                                                   "verify_events"]}))
        p.write_config()
        rc, doc, err = verify(p.config_path, "verify_events")
    finally:
        with mariadb.root() as m, m.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS verify_events")
        with admin(copy_db) as a:
            a.execute("DROP TABLE IF EXISTS verify_events")
    t = table(doc, "verify_events")
    assert rc == 1, (doc, err)
    assert t["mode"] == "full-scan" and any("no primary key" in w for w in t["warnings"])
    # MySQL has 'open' twice and no n=3; the copy has 'open' once and n=3
    assert (t["missing"], t["extra"]) == (1, 1), t
    rows = {e["kind"]: e["row"] for e in t["examples"]}
    assert rows["missing"] == {"kind": "open", "at": "2026-01-01 10:00:00", "n": "1"}
    assert rows["extra"] == {"kind": "close", "at": "2026-01-02 00:00:00", "n": "3"}


def admin_put(port, table, body, token=None):
    import urllib.error
    import urllib.request
    req = urllib.request.Request(f"http://127.0.0.1:{port}/cutover/{table}", method="PUT",
                                 data=json.dumps(body).encode())
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def admin_get(port, path):
    import urllib.request
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
        return r.read().decode()


def test_results_reach_status_metrics_and_the_guard(copy_db, make_proxy, mariadb):
    from conftest import free_port
    port = free_port()
    p = make_proxy(**legacy_overrides(
        mariadb, supabase={"database": COPY_DB, "connect_timeout_ms": 15000},
        cutover={"key": "user"}, admin={"listen": f"127.0.0.1:{port}"},
        verify={"max_age_s": 3600}))
    # never verified: raising a weight needs a verify (max_age_s), lowering or 0 does not
    code, body = admin_put(port, "payments", {"weight": 10})
    assert code == 409 and "never been verified" in body["error"], body
    assert admin_put(port, "payments", {"weight": 0})[0] == 200
    # a verify that finds a difference blocks; force overrides it
    last = "(SELECT max(payment_id) FROM payments)"
    original = mariadb.query(f"SELECT note FROM payments WHERE payment_id = {last}")[0][0]
    with admin(copy_db) as a:
        a.execute(f"UPDATE payments SET note = 'copy' WHERE payment_id = {last}")
        try:
            rc, doc, err = verify(p.config_path, "payments", "--retry-delay-ms", "0")
            assert rc == 1
            code, body = admin_put(port, "payments", {"weight": 10})
            assert code == 409 and "found differences" in body["error"], body
            assert "1 changed" in body["error"]
            group = next(g for g in json.loads(admin_get(port, "/status"))["groups"]
                         if "payments" in g["tables"])
            assert group["verify"]["payments"]["status"] == "differ"
            assert group["verify"]["payments"]["changed"] == 1
            m = admin_get(port, "/metrics")
            assert 'switchyard_verify_mismatched_rows{table="payments"} 1' in m
            assert 'switchyard_verify_ok{table="payments"} 0' in m
            assert 'switchyard_verify_last_run_timestamp_seconds{table="payments"} ' in m
            code, body = admin_put(port, "payments", {"weight": 10, "force": True})
            assert code == 200 and body["weight"] == 10, body
            assert "admin: weight raised with force" in p.log()
            assert admin_put(port, "payments", {"weight": 0})[0] == 200
        finally:
            a.execute(f"UPDATE payments SET note = %s WHERE payment_id = {last}", (original,))
    # fixed and verified again: the guard lets it through
    rc, doc, err = verify(p.config_path, "payments")
    assert rc == 0, (doc, err)
    code, body = admin_put(port, "payments", {"weight": 10})
    assert code == 200 and body["weight"] == 10, body
    assert 'switchyard_verify_ok{table="payments"} 1' in admin_get(port, "/metrics")
