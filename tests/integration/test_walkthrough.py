"""The README's "Migrating a table", run for real.

A fresh database stands in for Supabase (with one platform table beside it);
scripts/copy-legacy-table.sh copies customers from the fixture MariaDB with pgloader
and the repo's load file; `switchyard verify` must find the copy equal; then the
weight goes up in steps through the admin API, with each read telling its side
(a marker e-mail set in the copy after verify), and a failing copy rolls back.
"""
import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from conftest import BIN, ROOT, free_port, legacy_overrides

DB = "walkthrough"
COPY_SCRIPT = ROOT / "scripts" / "copy-legacy-table.sh"
MARK = "copy@walkthrough.example"
PROBE = "SELECT email FROM customers WHERE customer_id = 1"

# switchyard's type map (router/catalog.h) as the copy must have it, column by column.
CUSTOMERS_TYPES = [
    ("customer_id", "bigint"), ("name", "character varying(100)"),
    ("phone", "character varying(20)"), ("email", "character varying(255)"),
    ("status", "text"), ("is_vip", "boolean"), ("grade", "smallint"), ("points", "integer"),
    ("visits", "integer"), ("balance", "numeric(12,2)"), ("score", "real"),
    ("ratio", "double precision"), ("country", "character(2)"), ("birth_year", "smallint"),
    ("birthday", "date"), ("created_at", "timestamp without time zone"),
    ("updated_at", "timestamp(6) with time zone"), ("last_login_at", "timestamp without time zone"),
    ("memo", "text"), ("tags", "text"), ("profile", "json"), ("avatar", "bytea"),
    ("flags", "boolean"),
]


def admin_conn(sb):
    return psycopg.connect(host=str(sb.dir), port=sb.port, dbname=DB, user="postgres",
                           autocommit=True)


def copy_table(sb, mdb, table, tmp_path, **env_extra):
    user, password = mdb.READONLY
    env = dict(os.environ,
               MYSQL_URL=f"mysql://{user}:{password}@127.0.0.1:{mdb.port}/{mdb.database}",
               SUPABASE_URL=f"postgresql://platform_owner:owner-secret@127.0.0.1:{sb.port}/{DB}"
                            "?sslmode=require",
               SUPABASE_CA=str(sb.ca), PGLOADER_DIR=str(tmp_path / f"pgloader-{table}"))
    env.update(env_extra)
    return subprocess.run([str(COPY_SCRIPT), table], env=env, capture_output=True, text=True,
                          timeout=240)


@pytest.fixture(scope="module")
def fresh_db(supabase):
    """An empty database like Supabase's (C.UTF-8), owned by the proxy's [supabase] user, with a
    platform table that the copy must leave alone."""
    with supabase.admin() as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DB}")
        admin.execute(f"CREATE DATABASE {DB} OWNER platform_owner TEMPLATE template0"
                      " ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'")
    with admin_conn(supabase) as conn:
        conn.execute("CREATE TABLE workflows (id int PRIMARY KEY, name text)")
        conn.execute("INSERT INTO workflows VALUES (1, 'welcome')")
        conn.execute("ALTER TABLE workflows OWNER TO platform_owner")
    return supabase


def text_rows(conn, sql):
    """Column (name, type oid) pairs and every value as the text the server sent."""
    res = conn.pgconn.exec_(sql.encode())
    assert res.status == psycopg.pq.ExecStatus.TUPLES_OK, res.error_message
    cols = [(res.fname(j), res.ftype(j)) for j in range(res.nfields)]
    return cols, [[res.get_value(i, j) for j in range(res.nfields)] for i in range(res.ntuples)]


def walkthrough_proxy(make_proxy, mariadb, admin_port, **extra):
    return make_proxy(**legacy_overrides(
        mariadb, supabase={"database": DB, "connect_timeout_ms": 15000},
        proxy={"auth_method": "md5", "log_level": "info"},  # many short sessions
        cutover={"key": "user,application_name", "copied": ["customers"]},
        **{"cutover.weights": {"customers": 0},
           "cutover.rollback": {"min_samples": 10, "max_error_rate": 0.2, "window_s": 30}},
        admin={"listen": f"127.0.0.1:{admin_port}"}, **extra))


def http(port, method, path, body=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                 data=None if body is None else json.dumps(body).encode())
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read().decode()) if path != "/metrics" else r.read().decode()


def group_of(port, table="customers"):
    return next(g for g in http(port, "GET", "/status")["groups"] if table in g["tables"])


def wait_for(what, check, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def side(conn):
    return "supabase" if conn.execute(PROBE).fetchone()[0] == MARK else "mysql"


def sides_by_key(p, n, prefix):
    def one(i):
        with p.connect(dbname=DB, application_name=f"{prefix}{i}") as c:
            seen = {side(c) for _ in range(2)}
            assert len(seen) == 1, f"session {i} saw both sides: {seen}"
            return seen.pop()
    with ThreadPoolExecutor(4) as pool:
        return dict(zip(range(n), pool.map(one, range(n))))


def run_verify(p, *args):
    return subprocess.run([str(BIN), "verify", "-c", str(p.config_path), *args],
                          capture_output=True, text=True, timeout=120)


def test_pgloader_copy_is_what_switchyard_serves(fresh_db, mariadb, make_proxy, tmp_path):
    """Step (a): the copy has the type map's types and, read through switchyard from MySQL and
    directly from Postgres, the very same text, in every time zone a client may choose."""
    r = copy_table(fresh_db, mariadb, "customers", tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "public.customers replaced" in r.stderr + r.stdout
    with admin_conn(fresh_db) as conn:
        types = conn.execute(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute"
            " WHERE attrelid = 'public.customers'::regclass AND attnum > 0"
            " AND NOT attisdropped ORDER BY attnum").fetchall()
        assert types == CUSTOMERS_TYPES
        # owned by the proxy's [supabase] user; no sequence, no enum type, nothing staged left
        assert conn.execute("SELECT pg_get_userbyid(relowner) FROM pg_class"
                            " WHERE oid = 'public.customers'::regclass").fetchone()[0] \
            == "platform_owner"
        assert conn.execute("SELECT count(*) FROM pg_class WHERE relkind = 'S'").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM pg_type t JOIN pg_namespace n"
                            " ON n.oid = t.typnamespace WHERE t.typtype = 'e'").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM pg_class c JOIN pg_namespace n"
                            " ON n.oid = c.relnamespace WHERE n.nspname = 'switchyard_load'"
                            ).fetchone()[0] == 0
        assert conn.execute("SELECT conname FROM pg_constraint WHERE conrelid ="
                            " 'public.customers'::regclass AND contype = 'p'").fetchone()
        # the platform table and the database's settings are as they were
        assert conn.execute("SELECT * FROM workflows").fetchall() == [(1, "welcome")]
        assert conn.execute("SELECT count(*) FROM pg_db_role_setting s JOIN pg_database d"
                            " ON d.oid = s.setdatabase WHERE d.datname = %s",
                            (DB,)).fetchone()[0] == 0
    p = walkthrough_proxy(make_proxy, mariadb, free_port())
    query = "SELECT * FROM customers ORDER BY customer_id"
    for tz in ("UTC", "Asia/Seoul", "America/New_York"):
        with p.connect(dbname=DB) as via, fresh_db.connect(dbname=DB) as direct:
            for c in (via, direct):
                c.execute(f"SET TimeZone = '{tz}'")
            served = text_rows(via, query)
            copied = text_rows(direct, query)
        assert served[0] == copied[0]
        assert len(served[1]) == len(copied[1]) == mariadb.query(
            "SELECT count(*) FROM customers")[0][0]
        for a, b in zip(served[1], copied[1]):
            assert a == b, (tz, a[0], [(served[0][j][0], a[j], b[j])
                                       for j in range(len(a)) if a[j] != b[j]])
    # a second run replaces the copy in place and keeps its grants
    with admin_conn(fresh_db) as conn:
        conn.execute("DROP ROLE IF EXISTS walkthrough_reader")
        conn.execute("CREATE ROLE walkthrough_reader")
        conn.execute("GRANT SELECT ON customers TO walkthrough_reader")
        oid = conn.execute("SELECT 'public.customers'::regclass::oid").fetchone()[0]
    r = copy_table(fresh_db, mariadb, "customers", tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    with admin_conn(fresh_db) as conn:
        assert conn.execute("SELECT 'public.customers'::regclass::oid").fetchone()[0] != oid
        assert conn.execute("SELECT has_table_privilege('walkthrough_reader', 'public.customers',"
                            " 'SELECT')").fetchone()[0]
        conn.execute("REVOKE ALL ON customers FROM walkthrough_reader")
        conn.execute("DROP ROLE walkthrough_reader")


def test_failed_copy_leaves_the_old_copy(fresh_db, mariadb, tmp_path):
    """MySQL unreachable: pgloader itself exits 0 then, the script does not, and the copy in
    place stays (readers at a weight above 0 keep their table)."""
    with admin_conn(fresh_db) as conn:
        if conn.execute("SELECT to_regclass('public.customers')").fetchone()[0] is None:
            pytest.skip("needs the copy of the previous test")
        oid = conn.execute("SELECT 'public.customers'::regclass::oid").fetchone()[0]
    r = copy_table(fresh_db, mariadb, "customers", tmp_path,
                   MYSQL_URL=f"mysql://crm_readonly:ro-secret@127.0.0.1:{free_port()}/crm")
    assert r.returncode != 0
    assert "public.customers is left as it was" in r.stderr
    with admin_conn(fresh_db) as conn:
        assert conn.execute("SELECT 'public.customers'::regclass::oid").fetchone()[0] == oid


def test_walkthrough(fresh_db, mariadb, make_proxy, tmp_path):
    r = copy_table(fresh_db, mariadb, "customers", tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    admin_port = free_port()
    p = walkthrough_proxy(make_proxy, mariadb, admin_port)

    # (b) verify: the copy holds what MySQL holds
    v = run_verify(p, "customers")
    assert v.returncode == 0, v.stdout + v.stderr
    v = run_verify(p, "--json", "customers")
    assert v.returncode == 0, v.stdout + v.stderr
    result = json.loads(v.stdout)
    (t,) = result["tables"]
    assert t["table"] == "customers" and t["status"] == "match", t
    assert t["rows_mysql"] == t["rows_supabase"] == 200 and not t["warnings"], t

    # shadow reads agree too while everything is still served by MySQL
    p.reload(cutover={"shadow_percent": 100})
    wait_for("the reload", lambda: "configuration reloaded" in p.log())
    with p.connect(dbname=DB, application_name="shadowed") as c:
        for i in range(1, 21):
            c.execute("SELECT * FROM customers WHERE customer_id = %s", (i,))
        c.execute("SELECT count(*), sum(points) FROM customers")
    shadow = wait_for("21 shadow comparisons",
                      lambda: (lambda s: s if s["match"] + s["mismatch"] >= 21 else None)(
                          group_of(admin_port)["totals"]["shadow"]))
    assert shadow["mismatch"] == 0, shadow
    p.reload(cutover={"shadow_percent": 0})
    wait_for("the second reload", lambda: p.log().count("configuration reloaded") >= 2)

    # from here on the copy's customer 1 tells the sides apart
    with admin_conn(fresh_db) as conn:
        conn.execute("UPDATE customers SET email = %s WHERE customer_id = 1", (MARK,))

    # (c) the weight in steps; nobody moves back to MySQL
    previous = None
    n = 200
    for weight in (1, 5, 25, 100):
        g = http(admin_port, "PUT", "/cutover/customers", {"weight": weight})
        assert g["weight"] == weight and g["state"] == "active"
        assert group_of(admin_port)["changed_by"] == "admin"
        sides = sides_by_key(p, n, prefix="client-")
        share = 100.0 * sum(1 for s in sides.values() if s == "supabase") / n
        # 3 standard deviations of the share over 200 keys at 25 % are 9.2 points
        assert abs(share - weight) <= (0 if weight == 100 else 10), (weight, share)
        if previous is not None:
            back = [k for k, s in previous.items() if s == "supabase" and sides[k] != s]
            assert not back, f"weight {weight} moved keys back to MySQL: {back[:5]}"
        previous = sides
        metrics = http(admin_port, "GET", "/metrics")
        assert f'switchyard_cutover_weight{{table="customers"}} {weight}' in metrics
    g = group_of(admin_port)
    assert g["totals"]["supabase"]["reads"] > 0 and g["totals"]["supabase"]["errors"] == 0

    # (d) rollback: the copy fails, reads go back to MySQL by themselves. Reads are judged
    # from the last weight change on: one now, so the good reads above do not dilute the errors.
    http(admin_port, "PUT", "/cutover/customers", {"weight": 99})
    http(admin_port, "PUT", "/cutover/customers", {"weight": 100})
    with admin_conn(fresh_db) as conn:
        conn.execute("ALTER TABLE customers RENAME TO customers_away")
        try:
            with p.connect(dbname=DB, application_name="rollback") as c:
                for _ in range(30):
                    try:
                        if side(c) == "mysql":
                            break
                    except psycopg.errors.UndefinedTable:
                        pass
                else:
                    pytest.fail("no rollback after 30 failing reads")
        finally:
            conn.execute("ALTER TABLE customers_away RENAME TO customers")
    assert 'msg="cutover rolled back: reads go to MySQL again"' in p.log()
    g = group_of(admin_port)
    assert g["state"] == "rolled_back" and g["weight"] == 0 and g["changed_by"] == "rollback"
    assert g["reason"].startswith("error rate"), g["reason"]
    assert 'switchyard_cutover_rolled_back{table="customers"} 1' in http(admin_port, "GET",
                                                                        "/metrics")
    assert set(sides_by_key(p, 50, prefix="after-").values()) == {"mysql"}

    # raising it again is the operator's call, after a verify: the marker is a difference
    v = run_verify(p, "--json", "customers")
    assert v.returncode == 1, v.stdout + v.stderr
    (t,) = json.loads(v.stdout)["tables"]
    assert t["status"] == "differ" and t["changed"] == 1, t
    with pytest.raises(urllib.error.HTTPError) as e:
        http(admin_port, "PUT", "/cutover/customers", {"weight": 100})
    assert e.value.code == 409
    email = mariadb.query("SELECT email FROM customers WHERE customer_id = 1")[0][0]
    with admin_conn(fresh_db) as conn:
        conn.execute("UPDATE customers SET email = %s WHERE customer_id = 1", (email,))
    v = run_verify(p, "customers")
    assert v.returncode == 0, v.stdout + v.stderr
    with admin_conn(fresh_db) as conn:  # the marker again, to tell the side
        conn.execute("UPDATE customers SET email = %s WHERE customer_id = 1", (MARK,))
    g = http(admin_port, "PUT", "/cutover/customers", {"weight": 100})
    assert g["state"] == "active" and g["weight"] == 100
    with p.connect(dbname=DB, application_name="again") as c:
        assert side(c) == "supabase"
