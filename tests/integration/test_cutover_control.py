"""The cutover control table (issue 8, "fleet-wide weights"): weights kept in Supabase that every
switchyard instance follows within 5 s, written back on rollback and on an admin change.

The Supabase here is test_cutover.py's cutover_copy database (copies of the legacy tables whose
customer 1 carries a marker e-mail, so every read tells which side answered it); the control
table is switchyard.cutover in it.
"""
import os
import subprocess
import time

import psycopg
import pytest

from conftest import BIN, free_port, wait_port
from helpers import log_lines, wait_for_log
from test_admin import get_json, request
from test_cutover import COPY_DB, copy_admin, copy_db, cutover_proxy, side  # noqa: F401 (fixture)

CONTROL = "switchyard.cutover"
FOLLOW_S = 5.0  # the promise: every instance follows within 5 s
ROLLBACK = {"min_samples": 10, "max_error_rate": 0.2, "window_s": 30}


@pytest.fixture
def control(copy_db):
    """A superuser connection to the copy database, without a control table before and after."""
    with copy_admin(copy_db) as conn:
        conn.execute("DROP SCHEMA IF EXISTS switchyard CASCADE")
        yield conn
        conn.execute("DROP SCHEMA IF EXISTS switchyard CASCADE")


def rows(conn):
    return {r[0]: r[1:] for r in conn.execute(
        "SELECT table_name, weight, updated_by, reason FROM switchyard.cutover")}


def control_proxy(make_proxy, mariadb, start=True, control_table=CONTROL, cutover=None, **kw):
    """cutover_proxy with the control table and an admin port; start=False only writes the file."""
    admin = {"listen": f"127.0.0.1:{free_port()}"}
    # start reaches make_proxy through cutover_proxy's extra sections
    p = cutover_proxy(make_proxy, mariadb, cutover={"control_table": control_table, **(cutover or {})},
                      admin=admin, start=start, **kw)
    if start:
        wait_port(admin_port(p), proc=p.proc)
    return p


def admin_port(p):
    return int(p.sections["admin"]["listen"].rsplit(":", 1)[1])


def init_control_table(p, timeout=60):
    """switchyard --init-control-table with <p>'s file: the CompletedProcess."""
    p.write_config()
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0:exitcode=99")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1:exitcode=98")
    return subprocess.run([str(BIN), "--init-control-table", "-c", str(p.config_path)],
                          capture_output=True, text=True, timeout=timeout, env=env)


def group(p, table="customers"):
    return get_json(p, f"/cutover/{table}")


def wait_until(what, check, timeout=FOLLOW_S, start=None):
    """Polls check() until it returns a true value, within <timeout> s of <start>; returns it."""
    start = time.monotonic() if start is None else start
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() - start > timeout:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.05)


def following(p):
    wait_for_log(p, "following the control table", timeout=15, table=CONTROL)


def set_row(conn, table, weight):
    conn.execute("UPDATE switchyard.cutover SET weight = %s, updated_at = clock_timestamp(), "
                 "updated_by = 'test' WHERE table_name = %s", (weight, table))


def test_init_creates_the_table_once(control, make_proxy, mariadb):
    p = control_proxy(make_proxy, mariadb, start=False, weights={"customers": 30})
    r = init_control_table(p)
    assert r.returncode == 0, r.stdout + r.stderr
    assert 'created schema "switchyard"' in r.stdout
    assert 'created table "switchyard"."cutover"' in r.stdout
    assert "customers: added with weight 30" in r.stdout
    assert rows(control) == {"customers": (30, "init", "switchyard --init-control-table"),
                             "subscriptions": (0, "init", "switchyard --init-control-table"),
                             "payments": (0, "init", "switchyard --init-control-table")}
    with pytest.raises(psycopg.errors.CheckViolation):
        control.execute("UPDATE switchyard.cutover SET weight = 101 WHERE table_name = 'payments'")
    # only its owner may change the fleet's weights: not PUBLIC, not Supabase's API roles
    assert "only its owner may change" in r.stdout
    for role in ("anon", "authenticated", "public"):
        assert control.execute("SELECT has_table_privilege(%s, 'switchyard.cutover', 'UPDATE')"
                               " OR has_table_privilege(%s, 'switchyard.cutover', 'SELECT')",
                               (role, role)).fetchone()[0] is False, role
    set_row(control, "payments", 50)

    # again: nothing is created, existing rows are left alone (the 50 an operator set stays)
    r = init_control_table(p)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "created" not in r.stdout
    assert 'table "switchyard"."cutover" exists' in r.stdout
    assert "payments: kept (weight 50" in r.stdout
    got = rows(control)
    assert len(got) == 3 and got["payments"][:2] == (50, "test") and got["customers"][0] == 30


def test_init_refuses_without_control_table_or_supabase(control, make_proxy, mariadb):
    p = control_proxy(make_proxy, mariadb, start=False, control_table="")
    r = init_control_table(p)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "control_table is not set" in r.stderr

    q = control_proxy(make_proxy, mariadb, start=False,
                      supabase={"port": free_port(), "connect_timeout_ms": 2000})
    r = init_control_table(q)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "cannot connect to Supabase" in r.stderr
    assert control.execute("SELECT to_regclass('switchyard.cutover')").fetchone()[0] is None


def test_one_update_moves_two_instances(control, make_proxy, mariadb):
    a = control_proxy(make_proxy, mariadb, weights={"customers": 0})
    assert init_control_table(a).returncode == 0
    b = control_proxy(make_proxy, mariadb, weights={"customers": 0})
    following(a)
    following(b)
    with a.connect(dbname=COPY_DB) as ca, b.connect(dbname=COPY_DB) as cb:
        assert side(ca) == side(cb) == "mysql"
        for weight, want in ((100, "supabase"), (0, "mysql")):
            set_row(control, "customers", weight)
            t0 = time.monotonic()
            for p, c in ((a, ca), (b, cb)):
                wait_until(f"{p.workdir.name} follows {weight}",
                           lambda: side(c) == want and group(p)["weight"] == weight, start=t0)
                g = group(p)
                assert g["changed_by"] == "control table" and g["state"] == "active"
        assert "control table: weight followed" in a.log()


def test_missing_table_keeps_file_weights(control, make_proxy, mariadb):
    p = control_proxy(make_proxy, mariadb, weights={"customers": 100})
    t0 = time.monotonic()
    line = wait_for_log(p, "control table unreadable: keeping the weights in force", timeout=15,
                        table=CONTROL)
    assert line["sqlstate"] == "42P01" and "does not exist" in line["reason"]
    with p.connect(dbname=COPY_DB) as c:
        assert side(c) == "supabase"  # the file's weight stays in force
    assert group(p)["weight"] == 100
    # read every second, logged at most once per 5 s; never created by the running proxy
    msgs = [f for f in log_lines(p, "control table unreadable: keeping the weights in force")]
    assert len(msgs) <= 1 + (time.monotonic() - t0) / 5
    assert control.execute("SELECT to_regclass('switchyard.cutover')").fetchone()[0] is None

    # once it exists, the instance follows it
    assert init_control_table(p).returncode == 0  # customers row: 100, the file's weight
    set_row(control, "customers", 0)
    t0 = time.monotonic()
    with p.connect(dbname=COPY_DB) as c:
        wait_until("follows 0", lambda: side(c) == "mysql", start=t0)
    assert len(log_lines(p, "following the control table")) == 1


def test_rollback_is_written_and_followed(control, make_proxy, mariadb):
    grouped = {"groups": [["customers", "subscriptions"]]}
    weights = {"customers": 100, "subscriptions": 100}
    a = control_proxy(make_proxy, mariadb, cutover=grouped, weights=weights, rollback=ROLLBACK)
    assert init_control_table(a).returncode == 0
    b = control_proxy(make_proxy, mariadb, cutover=grouped, weights=weights, rollback=ROLLBACK)
    following(a)
    following(b)
    assert group(b)["weight"] == 100
    control.execute("ALTER TABLE customers RENAME TO customers_gone")
    try:
        with a.connect(dbname=COPY_DB) as c:
            for _ in range(30):
                try:
                    if side(c) == "mysql":
                        break
                except psycopg.errors.UndefinedTable:
                    pass
            else:
                pytest.fail("no rollback after 30 failing reads")
        t0 = time.monotonic()
        got = wait_until("rollback written", lambda: (lambda r: r if r["customers"][0] == 0
                                                      else None)(rows(control)), start=t0)
        for table in ("customers", "subscriptions"):  # every member of the group
            weight, by, reason = got[table]
            assert (weight, by) == (0, "rollback")
            assert reason.startswith("error rate 100.0 %"), reason
        assert got["payments"][:2] == (0, "init")
        wait_until("b follows the rollback", lambda: group(b)["weight"] == 0, start=t0)
        assert group(b)["changed_by"] == "control table"
        with b.connect(dbname=COPY_DB) as c:
            assert side(c) == "mysql"
        # the instance that rolled back stays rolled back: its own write is not news to it
        wait_for_log(a, "control table written", timeout=1, by="rollback")
        g = group(a)
        assert (g["state"], g["weight"], g["changed_by"]) == ("rolled_back", 0, "rollback")
    finally:
        control.execute("ALTER TABLE customers_gone RENAME TO customers")
    # an operator raises it again in the table: both follow
    set_row(control, "customers", 100)
    t0 = time.monotonic()
    for p in (a, b):
        wait_until("raised again", lambda: group(p)["weight"] == 100, start=t0)
        assert group(p, "subscriptions")["weight"] == 100


def test_admin_put_writes_through(control, make_proxy, mariadb):
    a = control_proxy(make_proxy, mariadb, weights={"customers": 0})
    assert init_control_table(a).returncode == 0
    b = control_proxy(make_proxy, mariadb, weights={"customers": 0})
    following(a)
    following(b)
    status, _, body = request(a, "PUT", "/cutover/customers", {"weight": 40})
    assert status == 200, body
    t0 = time.monotonic()
    got = wait_until("admin change written",
                     lambda: (lambda r: r if r["customers"][0] == 40 else None)(rows(control)),
                     start=t0)
    assert got["customers"][1] == "admin"
    assert got["customers"][2].startswith("PUT /cutover/customers from 127.0.0.1:")
    wait_until("b follows the admin change", lambda: group(b)["weight"] == 40, start=t0)
    assert group(b)["changed_by"] == "control table"
    assert (group(a)["weight"], group(a)["changed_by"]) == (40, "admin")

    # a burst of changes, with reads of the table in flight: the last one wins everywhere
    for weight in range(1, 21):
        assert request(a, "PUT", "/cutover/customers", {"weight": weight})[0] == 200
        time.sleep(0.02)  # spread the burst over a few reads of the table
    t0 = time.monotonic()
    wait_until("the last change written", lambda: rows(control)["customers"][0] == 20, start=t0)
    wait_until("b follows the last change", lambda: group(b)["weight"] == 20, start=t0)
    # two more reads of the table by a (a row change it must follow marks them) keep it at 20
    set_row(control, "payments", 10)
    wait_until("a reads again", lambda: group(a, "payments")["weight"] == 10)
    assert (group(a)["weight"], group(a)["changed_by"]) == (20, "admin")


def test_a_read_older_than_a_write_does_not_undo_it(control, copy_db, make_proxy, mariadb):
    a = control_proxy(make_proxy, mariadb, weights={"customers": 0})
    assert init_control_table(a).returncode == 0
    following(a)
    blocked = ("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = "
               "'Lock' AND application_name = 'switchyard control table'")
    with copy_admin(copy_db) as other:
        # another writer holds the table: a's next read waits for it and then sees its change
        other.execute("BEGIN")
        other.execute("LOCK TABLE switchyard.cutover IN ACCESS EXCLUSIVE MODE")
        wait_until("a's read waits", lambda: control.execute(blocked, (COPY_DB,)).fetchone()[0])
        set_row(other, "customers", 77)
        # meanwhile an operator sets 55 on a: the read in flight predates that write
        assert request(a, "PUT", "/cutover/customers", {"weight": 55})[0] == 200
        other.execute("COMMIT")
    t0 = time.monotonic()
    wait_until("the admin change written", lambda: rows(control)["customers"][:2] == (55, "admin"),
               start=t0)
    set_row(control, "payments", 10)  # a later read, which a must follow
    wait_until("a reads again", lambda: group(a, "payments")["weight"] == 10)
    g = group(a)
    assert (g["weight"], g["changed_by"]) == (55, "admin"), g


def test_bad_rows_are_warned_once(control, make_proxy, mariadb):
    p = control_proxy(make_proxy, mariadb, start=False, weights={"customers": 30})
    assert init_control_table(p).returncode == 0
    # a hand-made table without the CHECK: what the follower must survive
    control.execute("ALTER TABLE switchyard.cutover DROP CONSTRAINT cutover_weight_check")
    set_row(control, "customers", 150)
    control.execute("INSERT INTO switchyard.cutover (table_name, weight) VALUES ('nosuch', 5)")
    p.start()
    following(p)
    wait_for_log(p, "control table: weight is not an integer from 0 to 100: ignored", timeout=1,
                 row="customers", weight="150")
    wait_for_log(p, "control table names a table that is not a legacy table: ignored", timeout=1,
                 row="nosuch")
    assert group(p)["weight"] == 30
    set_row(control, "payments", 10)  # proves later reads happened
    wait_until("later read", lambda: group(p, "payments")["weight"] == 10)
    assert len(log_lines(p, "control table names a table that is not a legacy table: ignored")) == 1
    assert len(log_lines(p, "control table: weight is not an integer from 0 to 100: ignored")) == 1
    assert group(p)["weight"] == 30


def test_reload_starts_and_stops_following(control, make_proxy, mariadb):
    p = control_proxy(make_proxy, mariadb, control_table="", weights={"customers": 0})
    assert init_control_table(control_proxy(make_proxy, mariadb, start=False)).returncode == 0
    set_row(control, "customers", 60)
    p.reload(cutover={"control_table": CONTROL})
    following(p)
    wait_until("follows after the reload", lambda: group(p)["weight"] == 60)
    p.reload(cutover={"control_table": ""})
    wait_for_log(p, "control table no longer configured: weights stay as they are", timeout=10)
    set_row(control, "customers", 70)
    p.reload(cutover={"control_table": CONTROL})  # a first read again
    wait_until("follows after the second reload", lambda: group(p)["weight"] == 70)
