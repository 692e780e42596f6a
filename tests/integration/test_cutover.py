"""The cutover (DESIGN.md rule 6): legacy reads move to their Supabase copies by weight.

The "Supabase" here is a database of its own (cutover_copy) holding copies of the legacy tables
loaded from the fixture MariaDB, plus a platform table; the copy of customer 1 carries a marker
e-mail, so every read tells which side answered it.
"""
import json
import re
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from psycopg import pq

from conftest import Proxy, create_legacy_copy, free_port, legacy_overrides

COPY_DB = "cutover_copy"
MARK = "copy@supabase.example"
PROBE = "SELECT email FROM customers WHERE customer_id = 1"


@pytest.fixture(scope="module")
def copy_db(supabase, mariadb):
    with create_legacy_copy(supabase, mariadb, COPY_DB) as conn:
        conn.execute("UPDATE customers SET email = %s WHERE customer_id = 1", (MARK,))
        conn.execute("CREATE TABLE workflows (id int PRIMARY KEY, customer_id bigint)")
        conn.execute("INSERT INTO workflows VALUES (1, 1), (2, 2)")
        conn.execute("ALTER TABLE workflows OWNER TO platform_owner")
    mysql_email = mariadb.query("SELECT email FROM customers WHERE customer_id = 1")[0][0]
    assert mysql_email != MARK
    return supabase


def copy_admin(sb):
    return psycopg.connect(host=str(sb.dir), port=sb.port, dbname=COPY_DB, user="postgres",
                           autocommit=True)


def cutover_proxy(make_proxy, mariadb, cutover=None, weights=None, rollback=None,
                  pool_mode="session", **extra):
    sections = {"supabase": {"database": COPY_DB, "connect_timeout_ms": 15000},
                "cutover": {"key": "user,application_name", **(cutover or {})},
                "cutover.weights": dict(weights or {}),
                "cutover.rollback": dict(rollback or {})}
    sections["proxy"] = {"auth_method": "md5", "log_level": "info",  # many short sessions
                         "pool_mode": pool_mode}
    sections.update(extra)
    return make_proxy(**legacy_overrides(mariadb, **sections))


def side(conn, sql=PROBE):
    return "supabase" if conn.execute(sql).fetchone()[0] == MARK else "mysql"


def wait_reloaded(p, count):
    deadline = time.time() + 10
    while time.time() < deadline:
        if p.log().count("configuration reloaded") >= count:
            return
        time.sleep(0.05)
    raise AssertionError("reload not seen in the log:\n" + p.log()[-2000:])


def sides_by_key(p, n, prefix="app-"):
    """One session per key (application_name), three reads each: they must agree."""
    def one(i):
        with p.connect(dbname=COPY_DB, application_name=f"{prefix}{i}") as c:
            seen = {side(c) for _ in range(3)}
            assert len(seen) == 1, f"session {i} saw both sides: {seen}"
            return seen.pop()
    with ThreadPoolExecutor(4) as pool:
        return dict(zip(range(n), pool.map(one, range(n))))


def test_distribution_stickiness_and_monotonic(copy_db, make_proxy, mariadb, tmp_path):
    p = cutover_proxy(make_proxy, mariadb, weights={"customers": 0})
    previous = None
    for step, weight in enumerate([0, 10, 30, 100]):
        if step:
            p.reload(**{"cutover.weights": {"customers": weight}})
            wait_reloaded(p, step)
        # 0 and 100 are all or nothing; between, the share's standard deviation over
        # 800 keys is at most 1.6 points, so +-5 is three of them
        n = 800 if 0 < weight < 100 else 500
        sides = sides_by_key(p, n)
        share = 100.0 * sum(1 for v in sides.values() if v == "supabase") / n
        assert abs(share - weight) <= 5, f"weight {weight}: {share:.1f} % on Supabase"
        if previous is not None:
            moved_back = [k for k, v in previous.items()
                          if k in sides and v == "supabase" and sides[k] != v]
            assert not moved_back, f"raising to {weight} moved keys back to MySQL: {moved_back[:5]}"
        previous = sides
        if weight == 30:
            # a second instance with the same weights places every key alike
            other_dir = tmp_path / "other"
            other_dir.mkdir()
            q = Proxy(copy_db, other_dir, **legacy_overrides(
                mariadb, supabase={"database": COPY_DB, "connect_timeout_ms": 15000},
                cutover={"key": "user,application_name"}, proxy={"auth_method": "md5"},
                **{"cutover.weights": {"customers": 30}}))
            q.start()
            try:
                theirs = sides_by_key(q, 120)
            finally:
                q.stop()
            assert all(theirs[k] == sides[k] for k in theirs)


def test_group_moves_together_and_key_parts(copy_db, make_proxy, mariadb):
    # customers and subscriptions in one group: a read of both is never split
    p = cutover_proxy(make_proxy, mariadb,
                      cutover={"groups": [["customers", "subscriptions"]], "key": "user"},
                      weights={"customers": 50, "subscriptions": 50})
    seen = set()
    for i in range(20):
        with p.connect(dbname=COPY_DB, application_name=f"other-{i}") as c:
            seen.add(side(c, "SELECT c.email FROM customers c LEFT JOIN subscriptions s "
                             "ON s.customer_id = c.customer_id WHERE c.customer_id = 1 LIMIT 1"))
    # key = "user" only: every session of one user is on one side
    assert len(seen) == 1


@pytest.mark.parametrize("pool_mode", ["session", "transaction"])
def test_transaction_keeps_its_side_across_a_weight_change(copy_db, make_proxy, mariadb,
                                                          pool_mode):
    p = cutover_proxy(make_proxy, mariadb, weights={"customers": 0}, pool_mode=pool_mode)
    with p.connect(dbname=COPY_DB, application_name="txn") as c:
        c.execute("BEGIN")
        assert side(c) == "mysql"
        p.reload(**{"cutover.weights": {"customers": 100}})
        wait_reloaded(p, 1)
        assert side(c) == "mysql"  # the transaction stays where it started
        c.execute("COMMIT")
        assert side(c) == "supabase"  # a new one takes the new weight
        c.execute("BEGIN")
        assert side(c) == "supabase"
        p.reload(**{"cutover.weights": {"customers": 0}})
        wait_reloaded(p, 2)
        assert side(c) == "supabase"
        c.execute("ROLLBACK")
        assert side(c) == "mysql"


@pytest.mark.parametrize("pool_mode", ["session", "transaction"])
def test_prepared_statements_follow_the_weight(copy_db, make_proxy, mariadb, pool_mode):
    p = cutover_proxy(make_proxy, mariadb, weights={"customers": 0}, pool_mode=pool_mode)
    with p.connect(dbname=COPY_DB, application_name="prep") as c:
        q = "SELECT email FROM customers WHERE customer_id = %s"
        for _ in range(3):
            assert c.execute(q, (1,), prepare=True).fetchone()[0] != MARK
        p.reload(**{"cutover.weights": {"customers": 100}})
        wait_reloaded(p, 1)
        for _ in range(3):  # the same server-side prepared statement, now on Supabase
            assert c.execute(q, (1,), prepare=True).fetchone()[0] == MARK
        # DEALLOCATE ALL drops switchyard's sy_<n> copies on Supabase too: prepared again
        pg = c.pgconn
        sql = b"SELECT email FROM customers WHERE customer_id = $1"
        for _ in range(2):
            assert pg.prepare(b"mine", sql).status == pq.ExecStatus.COMMAND_OK
            r = pg.exec_prepared(b"mine", [b"1"])
            assert r.status == pq.ExecStatus.TUPLES_OK, r.error_message
            assert r.get_value(0, 0) == MARK.encode()
            assert pg.exec_(b"DEALLOCATE ALL").status == pq.ExecStatus.COMMAND_OK
        p.reload(**{"cutover.weights": {"customers": 0}})
        wait_reloaded(p, 2)
        assert c.execute("SELECT email FROM customers WHERE customer_id = %s AND true", (1,),
                         prepare=True).fetchone()[0] != MARK
        # the unnamed statement (extended protocol, not prepared) too
        assert c.execute(q, (1,), prepare=False).fetchone()[0] != MARK


def test_mixed_statements_need_copies(copy_db, make_proxy, mariadb):
    mixed = "SELECT w.id FROM workflows w JOIN customers c ON c.customer_id = w.customer_id ORDER BY 1"
    p = cutover_proxy(make_proxy, mariadb, weights={"customers": 0})
    with p.connect(dbname=COPY_DB) as c:
        with pytest.raises(psycopg.errors.FeatureNotSupported) as e:
            c.execute(mixed)
        assert '"customers" lives in MySQL and has no copy in Supabase' in str(e.value)
    p.reload(cutover={"copied": ["customers"]})
    wait_reloaded(p, 1)
    with p.connect(dbname=COPY_DB) as c:
        assert [r[0] for r in c.execute(mixed)] == [1, 2]
        assert side(c) == "mysql"  # copied at weight 0: plain reads stay on MySQL
    # customers on Supabase, subscriptions (no copy) on MySQL: one statement cannot read both
    p.reload(cutover={"copied": []}, **{"cutover.weights": {"customers": 100}})
    wait_reloaded(p, 2)
    with p.connect(dbname=COPY_DB) as c:
        with pytest.raises(psycopg.errors.FeatureNotSupported) as e:
            c.execute("SELECT count(*) FROM customers c JOIN subscriptions s USING (customer_id)")
        assert "different sides" in str(e.value)
        assert side(c) == "supabase"


def rolled_back(p):
    return "cutover rolled back" in p.log()


def admin_get(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
        return r.read().decode()


def test_rollback_on_errors(copy_db, make_proxy, mariadb):
    admin_port = free_port()
    p = cutover_proxy(make_proxy, mariadb, weights={"customers": 100},
                      rollback={"min_samples": 10, "max_error_rate": 0.2, "window_s": 30},
                      admin={"listen": f"127.0.0.1:{admin_port}"})
    with copy_admin(copy_db) as admin:
        admin.execute("ALTER TABLE customers RENAME TO customers_gone")
        try:
            errors = 0
            with p.connect(dbname=COPY_DB) as c:
                for _ in range(30):
                    try:
                        if side(c) == "mysql":
                            break
                    except psycopg.errors.UndefinedTable:
                        errors += 1
                else:
                    pytest.fail("no rollback after 30 failing reads")
            assert 10 <= errors <= 11, errors
            assert rolled_back(p)
            assert re.search(r'group=customers reason="error rate 100.0 %', p.log())
            # it stays rolled back: new sessions read MySQL
            with p.connect(dbname=COPY_DB, application_name="after") as c:
                assert side(c) == "mysql"
            # /status and /metrics say so, with the reason and the reads on each side
            group = next(g for g in json.loads(admin_get(admin_port, "/status"))["groups"]
                         if "customers" in g["tables"])
            assert group["state"] == "rolled_back" and group["weight"] == 0
            assert group["reason"].startswith("error rate 100.0 %")
            assert group["changed_by"] == "rollback"
            assert group["window"]["supabase"]["errors"] == errors
            assert group["window"]["mysql"]["reads"] >= 2
            metrics = admin_get(admin_port, "/metrics")
            assert 'switchyard_cutover_rolled_back{table="customers"} 1' in metrics
            assert 'switchyard_cutover_weight{table="customers"} 0' in metrics
            assert re.search(r'switchyard_cutover_errors_total\{table="customers",'
                             r'backend="supabase"\} ' + str(errors), metrics)
            assert re.search(r'switchyard_errors_total\{backend="supabase",sqlstate="42P01"\} '
                             + str(errors), metrics)
            assert re.search(r'switchyard_queries_total\{backend="mysql"\} [1-9]', metrics)
        finally:
            admin.execute("ALTER TABLE customers_gone RENAME TO customers")
    # an unrelated reload keeps it at 0; a changed file weight raises it again
    p.reload(proxy={"log_level": "info"})
    wait_reloaded(p, 1)
    with p.connect(dbname=COPY_DB) as c:
        assert side(c) == "mysql"
    p.reload(**{"cutover.weights": {"customers": 99}})
    wait_reloaded(p, 2)
    p.reload(**{"cutover.weights": {"customers": 100}})
    wait_reloaded(p, 3)
    with p.connect(dbname=COPY_DB) as c:
        assert side(c) == "supabase"


def test_rollback_on_latency(copy_db, make_proxy, mariadb):
    p = cutover_proxy(make_proxy, mariadb, weights={"customers": 100},
                      rollback={"min_samples": 10, "max_latency_ms": 40, "window_s": 30})
    with copy_admin(copy_db) as admin:
        admin.execute("ALTER TABLE customers RENAME TO customers_fast")
        admin.execute("CREATE VIEW customers AS SELECT * FROM customers_fast "
                      "WHERE pg_sleep(0.06) IS NOT NULL")  # 60 ms per row read
        admin.execute("GRANT SELECT ON customers TO platform_owner")
        try:
            with p.connect(dbname=COPY_DB) as c:
                for i in range(40):
                    if side(c) == "mysql":
                        break
                else:
                    pytest.fail("no rollback after 40 slow reads")
            assert i >= 10
            assert re.search(r'reason="p99 latency over 40 ms', p.log())
        finally:
            admin.execute("DROP VIEW customers")
            admin.execute("ALTER TABLE customers_fast RENAME TO customers")


def test_mysql_reads_are_not_judged(copy_db, make_proxy, mariadb):
    """Errors on the MySQL side never roll a group back (there is nothing to roll back to)."""
    p = cutover_proxy(make_proxy, mariadb, weights={"customers": 0},
                      rollback={"min_samples": 5})
    with p.connect(dbname=COPY_DB) as c:
        for _ in range(10):
            with pytest.raises(psycopg.errors.UndefinedColumn):
                c.execute("SELECT no_such_column FROM customers")
    assert not rolled_back(p)
