"""Shadow reads (issue 8, "Verification"): a share of legacy reads run again on both MySQL and the
Supabase copy after the client has its answer, compared as Postgres text values.

The copy (database shadow_copy) starts identical to the fixture MariaDB; tests inject differences
into it and take them back.
"""
import json
import re
import statistics
import time

import psycopg
import pytest

from conftest import create_legacy_copy, free_port, legacy_overrides

COPY_DB = "shadow_copy"


@pytest.fixture(scope="module")
def copy_db(supabase, mariadb):
    with create_legacy_copy(supabase, mariadb, COPY_DB):
        pass
    return supabase


def copy_admin(sb):
    return psycopg.connect(host=str(sb.dir), port=sb.port, dbname=COPY_DB, user="postgres",
                           autocommit=True)


def shadow_proxy(make_proxy, mariadb, weight=0, shadow_percent=100, rollback=None,
                 log_level="info"):
    port = free_port()
    p = make_proxy(**legacy_overrides(
        mariadb,
        supabase={"database": COPY_DB, "connect_timeout_ms": 15000},
        proxy={"auth_method": "md5", "log_level": log_level},
        cutover={"key": "user,application_name", "shadow_percent": shadow_percent},
        **{"cutover.weights": {"customers": weight, "subscriptions": weight, "payments": weight},
           "cutover.rollback": dict(rollback or {})},
        admin={"listen": f"127.0.0.1:{port}"}))
    p.admin_port = port
    return p


def status_group(p, table):
    import urllib.request
    with urllib.request.urlopen(f"http://127.0.0.1:{p.admin_port}/status", timeout=10) as r:
        groups = json.loads(r.read())["groups"]
    return next(g for g in groups if table in g["tables"])


def metrics(p):
    import urllib.request
    with urllib.request.urlopen(f"http://127.0.0.1:{p.admin_port}/metrics", timeout=10) as r:
        return r.read().decode()


def shadow_totals(p, table="customers"):
    return status_group(p, table)["totals"]["shadow"]


def wait_for(pred, what, timeout=20.0, show=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}" + (f": {show()}" if show else ""))


def skipped(p):
    m = re.search(r"^switchyard_shadow_skipped_total (\d+)$", metrics(p), re.M)
    return int(m.group(1))


READS = [
    ("SELECT customer_id, email, created_at FROM customers WHERE customer_id = 1", None),
    ("SELECT customer_id, email FROM customers WHERE customer_id = -1", None),  # no rows
    ("SELECT customer_id, email FROM customers ORDER BY customer_id", None),
    ("SELECT count(*), max(created_at) FROM customers", None),
    ("SELECT * FROM customers WHERE customer_id = %s", (2,)),
    ("SELECT customer_id, email FROM customers WHERE customer_id IN (%s, %s)", (1, 3)),
    ("SELECT p.amount, c.email FROM payments p JOIN subscriptions s USING (subscription_id) "
     "JOIN customers c USING (customer_id) WHERE p.amount > %s", (10,)),
]


@pytest.mark.parametrize("weight", [0, 100])
def test_identical_sides_match(copy_db, make_proxy, mariadb, weight):
    """Simple and extended reads (with parameters, named and unnamed) on either side all match."""
    p = shadow_proxy(make_proxy, mariadb, weight=weight)
    with p.connect(dbname=COPY_DB) as c:
        for sql, args in READS:
            c.execute(sql, args)  # extended protocol, unnamed statement
            c.execute(sql, args, prepare=True)  # named statement
        with psycopg.ClientCursor(c) as cur:  # simple Query
            for sql, args in READS:
                cur.execute(sql, args)
    n = 3 * len(READS)
    totals = wait_for(lambda: (t := shadow_totals(p)) and t["match"] + t["mismatch"] >= n and t,
                      f"{n} shadow comparisons", show=lambda: shadow_totals(p))
    assert totals == {"match": n, "mismatch": 0, "dropped": 0}, totals
    assert "shadow read mismatch" not in p.log()
    m = metrics(p)
    assert re.search(r'switchyard_shadow_total\{table="customers",result="match"\} %d' % n, m)
    assert re.search(r'switchyard_shadow_fingerprint_total\{table="customers",'
                     r'fingerprint="[0-9a-f]{16}",result="match"\} [1-9]', m)
    # the client's reads were served by the side the weight says
    g = status_group(p, "customers")
    assert g["totals"]["supabase" if weight else "mysql"]["reads"] >= n


def test_difference_is_found_counted_and_logged_once(copy_db, make_proxy, mariadb):
    p = shadow_proxy(make_proxy, mariadb, weight=0)
    with copy_admin(copy_db) as admin:
        admin.execute("CREATE TEMP TABLE saved AS SELECT * FROM customers WHERE customer_id = 2")
        admin.execute("UPDATE customers SET email = 'changed@copy.example' WHERE customer_id = 2")
        try:
            with p.connect(dbname=COPY_DB) as c:
                for _ in range(3):
                    row = c.execute("SELECT customer_id, email FROM customers "
                                    "WHERE customer_id IN (1, 2) ORDER BY customer_id").fetchall()
                    assert row[1][1] != "changed@copy.example"  # the client got MySQL's answer
                c.execute("SELECT count(*) FROM customers")  # unaffected: matches
            totals = wait_for(lambda: (t := shadow_totals(p))["match"] + t["mismatch"] >= 4 and t,
                              "4 shadow comparisons")
        finally:
            admin.execute("UPDATE customers c SET email = s.email FROM saved s "
                          "WHERE c.customer_id = s.customer_id")
    assert totals["mismatch"] == 3 and totals["match"] == 1, totals
    log = p.log()
    lines = [l for l in log.splitlines() if "shadow read mismatch" in l]
    assert len(lines) == 1, lines  # once per fingerprint
    line = lines[0]
    assert "table=customers" in line and "difference=rows" in line
    assert "mysql_rows=2" in line and "supabase_rows=2" in line
    # the first differing row, values redacted (log_level is info), and no statement text
    assert re.search(r'mysql_row="\(customer_id=<1 bytes>, email=<\d+ bytes>\)"', line), line
    assert "changed@copy.example" not in log
    assert "statement=<redacted>" in line
    assert re.search(r'switchyard_shadow_fingerprint_total\{table="customers",'
                     r'fingerprint="[0-9a-f]{16}",result="mismatch"\} 3', metrics(p))


def test_debug_log_shows_values(copy_db, make_proxy, mariadb):
    p = shadow_proxy(make_proxy, mariadb, weight=0, log_level="debug")
    with copy_admin(copy_db) as admin:
        email = admin.execute("SELECT email FROM customers WHERE customer_id = 3").fetchone()[0]
        admin.execute("CREATE TEMP TABLE saved AS SELECT * FROM customers WHERE customer_id = 3")
        admin.execute("SET session_replication_role = replica")  # no foreign key checks
        admin.execute("DELETE FROM customers WHERE customer_id = 3")
        try:
            with p.connect(dbname=COPY_DB) as c:
                c.execute("SELECT customer_id, email FROM customers WHERE customer_id <= 3")
            wait_for(lambda: "shadow read mismatch" in p.log(), "the mismatch line")
        finally:
            admin.execute("INSERT INTO customers SELECT * FROM saved")
    line = next(l for l in p.log().splitlines() if "shadow read mismatch" in l)
    assert "difference=row-count" in line and "mysql_rows=3" in line and "supabase_rows=2" in line
    assert f"email={email}" in line, line
    assert "supabase_row=\"(none)\"" in line or "supabase_row=(none)" in line, line
    assert "WHERE customer_id <= 3" in line


def test_mismatch_rolls_back(copy_db, make_proxy, mariadb):
    """Served by Supabase with max_mismatch_rate 0: one mismatch sends the group back to MySQL."""
    p = shadow_proxy(make_proxy, mariadb, weight=100, rollback={"min_samples": 50})
    with copy_admin(copy_db) as admin:
        admin.execute("UPDATE payments SET amount = amount + 1 WHERE payment_id = "
                      "(SELECT min(payment_id) FROM payments)")
        try:
            with p.connect(dbname=COPY_DB) as c:
                c.execute("SELECT sum(amount) FROM payments")
            wait_for(lambda: status_group(p, "payments")["state"] == "rolled_back", "rollback")
        finally:
            admin.execute("UPDATE payments SET amount = amount - 1 WHERE payment_id = "
                          "(SELECT min(payment_id) FROM payments)")
    g = status_group(p, "payments")
    assert g["weight"] == 0 and g["changed_by"] == "rollback"
    assert g["reason"].startswith("shadow mismatch rate 100.0 %"), g["reason"]
    assert 'switchyard_cutover_rolled_back{table="payments"} 1' in metrics(p)
    # the customers group is untouched
    assert status_group(p, "customers")["weight"] == 100


def test_not_determined_or_unreachable_is_skipped(copy_db, make_proxy, mariadb):
    p = shadow_proxy(make_proxy, mariadb, weight=0)
    with p.connect(dbname=COPY_DB) as c:
        c.execute("SELECT email FROM customers LIMIT 2")  # which two rows: not determined
        c.execute("SELECT email FROM customers ORDER BY customer_id LIMIT 2")  # determined
    wait_for(lambda: skipped(p) >= 1 and shadow_totals(p)["match"] >= 1, "skip and match")
    assert shadow_totals(p) == {"match": 1, "mismatch": 0, "dropped": 0}
    # a copy that is not there at all: the read is compared as an error on one side
    with copy_admin(copy_db) as admin:
        admin.execute("ALTER TABLE customers RENAME TO customers_away")
        try:
            with p.connect(dbname=COPY_DB) as c:
                c.execute("SELECT email FROM customers WHERE customer_id = 1")
            wait_for(lambda: shadow_totals(p)["mismatch"] >= 1, "mismatch")
        finally:
            admin.execute("ALTER TABLE customers_away RENAME TO customers")
    assert re.search(r"difference=supabase-error sqlstate=42P01", p.log())


def test_full_queue_drops_without_slowing_clients(copy_db, make_proxy, mariadb):
    """Shadows that take 300 ms each pile up: the queue drops the excess, the clients never wait."""
    p = shadow_proxy(make_proxy, mariadb, weight=0)
    sql = "SELECT email FROM customers WHERE customer_id = 1"

    def latencies(conn, n):
        out = []
        for _ in range(n):
            t0 = time.perf_counter()
            conn.execute(sql).fetchall()
            out.append(time.perf_counter() - t0)
        return out

    with p.connect(dbname=COPY_DB) as c:
        baseline = latencies(c, 50)  # fast shadows: nothing queues
        with copy_admin(copy_db) as admin:
            admin.execute("ALTER TABLE customers RENAME TO customers_fast")
            admin.execute("CREATE VIEW customers AS SELECT * FROM customers_fast "
                          "WHERE (SELECT pg_sleep(0.3)) IS NOT NULL")
            admin.execute("GRANT SELECT ON customers TO platform_owner")
            try:
                loaded = latencies(c, 300)
                dropped = wait_for(lambda: shadow_totals(p)["dropped"], "drops")
            finally:
                admin.execute("DROP VIEW customers")
                admin.execute("ALTER TABLE customers_fast RENAME TO customers")
    # 300 reads, shadows of 300 ms, a queue of 64 per worker: most were dropped
    assert dropped >= 300 - 2 * 64 - 30, dropped
    # and the client never waited for one (a shadow takes 300 ms; a read a few)
    assert max(loaded) < 0.3, max(loaded)
    med_base, med_loaded = statistics.median(baseline), statistics.median(loaded)
    print(f"client latency median: shadows idle {med_base * 1e3:.2f} ms, "
          f"queue full {med_loaded * 1e3:.2f} ms; dropped {dropped}")
    assert med_loaded < 10 * med_base + 0.005
