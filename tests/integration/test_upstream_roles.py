"""Per-client upstream roles (issue 10): a [[users]] entry runs on Supabase as a role or a login
of its own, so row-level security applies through switchyard.

The Supabase stand-in has the migration guide's roles and policies (scripts/sql/platform.sql):
anon sees only the active workflows, service_role bypasses RLS, tenant_login (a login in
authenticated) sees the runs of the customer it names with SET app.customer_id, and the owner
(switchyard's [supabase] user) sees everything.
"""
import subprocess
import time

import psycopg
import pytest

from conftest import APP_PASSWORD, APP_USER, BIN

USERS = [
    {"name": APP_USER, "password": APP_PASSWORD},
    {"name": "web_anon", "password": "anon-pw", "upstream_role": "anon"},
    {"name": "backend", "password": "svc-pw", "upstream_role": "service_role"},
    {"name": "tenant", "password": "tenant-pw", "upstream_user": "tenant_login",
     "upstream_password": "tenant-secret"},
]
PASSWORDS = {u["name"]: u["password"] for u in USERS}


@pytest.fixture(params=["session", "transaction"])
def roles_proxy(request, make_proxy):
    return make_proxy(users=USERS, proxy={"pool_mode": request.param, "auth_method": "md5"})


def connect(p, user, **kw):
    return p.connect(user=user, password=PASSWORDS[user], **kw)


def workflows(conn):
    return [r[0] for r in conn.execute("SELECT name FROM workflows ORDER BY id").fetchall()]


def test_each_client_sees_what_its_role_may(roles_proxy, supabase):
    everything = [r[0] for r in supabase.query("SELECT name FROM workflows ORDER BY id")]
    active = [r[0] for r in supabase.query(
        "SELECT name FROM workflows WHERE status = 'active' ORDER BY id")]
    assert 0 < len(active) < len(everything)
    with connect(roles_proxy, APP_USER) as c:
        assert c.execute("SELECT current_user").fetchone()[0] == "platform_owner"
        assert workflows(c) == everything
    with connect(roles_proxy, "web_anon") as c:
        assert c.execute("SELECT current_user, session_user").fetchone() == ("anon",
                                                                              "platform_owner")
        assert workflows(c) == active
        # the guide's policy: anon may use individual_variable_mappings in full
        n = supabase.query("SELECT count(*) FROM individual_variable_mappings")[0][0]
        assert c.execute("SELECT count(*) FROM individual_variable_mappings").fetchone()[0] == n
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            c.execute("DELETE FROM workflows")  # anon has SELECT only
    with connect(roles_proxy, "backend") as c:
        assert c.execute("SELECT current_user").fetchone()[0] == "service_role"
        assert workflows(c) == everything
    with connect(roles_proxy, "tenant") as c:
        assert c.execute("SELECT current_user, session_user").fetchone() == ("tenant_login",
                                                                              "tenant_login")
        assert c.execute("SELECT count(*) FROM workflow_runs").fetchone()[0] == 0
        with c.transaction():
            c.execute("SET LOCAL app.customer_id = '7'")
            runs = c.execute("SELECT DISTINCT customer_id FROM workflow_runs").fetchall()
        assert runs == [(7,)]


ROLE_CHANGES = [
    "SET ROLE service_role",
    "SET ROLE NONE",
    "RESET ROLE",
    "SET SESSION ROLE platform_owner",
    "SET SESSION AUTHORIZATION platform_owner",
    "RESET SESSION AUTHORIZATION",
    "SELECT set_config('role', 'platform_owner', false)",
    "SELECT set_config('ROLE', 'service_role', true)",
    "SELECT 1; SET ROLE service_role",
    # a DO block's code could (and here does) change the role: refused whatever it says
    "DO $$BEGIN EXECUTE 'SET ' || 'ROLE platform_owner'; END$$",
]


def test_role_changes_are_refused(roles_proxy):
    with connect(roles_proxy, "web_anon") as c:
        for sql in ROLE_CHANGES:
            with pytest.raises(psycopg.errors.InsufficientPrivilege) as e:
                c.execute(sql)
            assert "runs as role \"anon\"" in str(e.value), sql
            assert c.execute("SELECT current_user").fetchone()[0] == "anon", sql
        # inside a transaction, as SET LOCAL, and with the name as a parameter
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            with c.transaction():
                c.execute("SET LOCAL ROLE service_role")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            c.execute("SELECT set_config(%s, %s, false)", ("role", "platform_owner"))
        assert c.execute("SELECT current_user").fetchone()[0] == "anon"
        # other settings are still the client's to change
        c.execute("SET application_name = 'still-anon'")
        assert c.execute("SELECT set_config('search_path', 'public', false)").fetchone()
    # without upstream_role nothing is refused
    with connect(roles_proxy, APP_USER) as c:
        c.execute("SET ROLE anon")
        assert c.execute("SELECT current_user").fetchone()[0] == "anon"
        c.execute("RESET ROLE")


def test_role_survives_discard_all_and_connection_reuse(roles_proxy):
    with connect(roles_proxy, "web_anon") as c:
        c.execute("DISCARD ALL")
        assert c.execute("SELECT current_user").fetchone()[0] == "anon"
    # the connection anon used goes back to the pool: the owner's client never gets it
    for _ in range(3):
        with connect(roles_proxy, APP_USER) as c:
            assert c.execute("SELECT current_user").fetchone()[0] == "platform_owner"
        with connect(roles_proxy, "web_anon") as c:
            assert c.execute("SELECT current_user").fetchone()[0] == "anon"


def test_transaction_pooling_switches_connections_not_roles(make_proxy):
    """One upstream slot shared in turn by two roles: each transaction runs as its own."""
    p = make_proxy(users=USERS, proxy={"pool_mode": "transaction", "auth_method": "md5"},
                   supabase={"pool_size": 1})
    with connect(p, "web_anon") as anon, connect(p, APP_USER) as owner:
        pids = set()
        for _ in range(4):
            for conn, who in ((anon, "anon"), (owner, "platform_owner")):
                with conn.transaction():
                    user, pid = conn.execute("SELECT current_user, pg_backend_pid()").fetchone()
                assert user == who
                pids.add(pid)
        assert len(pids) >= 2  # the slot was handed from one role's connection to the other's


def test_config_checks_logins(make_proxy, tmp_path):
    p = make_proxy(start=False, users=[{"name": "x", "password": "pw",
                                        "upstream_user": "tenant_login"}])
    p.write_config()
    out = subprocess.run([str(BIN), "-c", str(p.config_path), "--check"], capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 1
    assert "users.upstream_user needs users.upstream_password" in out.stderr + out.stdout


def test_per_user_pool_size(make_proxy):
    """users.pool_size caps that user's connections; others still get theirs (global cap 20)."""
    users = [dict(u) for u in USERS]
    users[1]["pool_size"] = 1  # web_anon
    p = make_proxy(users=users, proxy={"auth_method": "md5", "pool_timeout_ms": 800})
    with connect(p, "web_anon") as first:
        first.execute("SELECT 1")
        with pytest.raises(psycopg.OperationalError) as e:
            with connect(p, "web_anon") as second:
                second.execute("SELECT 1")
        assert "no upstream connection available" in str(e.value)
        assert 'user "web_anon" ([[users]] pool_size)' in str(e.value)
        # another user is not held back by web_anon's cap
        with connect(p, "backend") as other:
            assert other.execute("SELECT current_user").fetchone()[0] == "service_role"
    # the slot came back with the first client's connection reused, or closed
    with connect(p, "web_anon") as again:
        assert again.execute("SELECT current_user").fetchone()[0] == "anon"


def test_startup_options_cannot_set_the_role(roles_proxy):
    # libpq's options go to Supabase before switchyard's "-c role=anon"
    for options in ("-c role=platform_owner", "--role=service_role", "-c ROLE=x",
                    "-c application_name=x\\"):
        with pytest.raises(psycopg.OperationalError) as e:
            connect(roles_proxy, "web_anon", options=options)
        assert "startup parameters may not name a role" in str(e.value), options
    # other options still pass, and the role holds
    with connect(roles_proxy, "web_anon", options="-c search_path=public") as c:
        assert c.execute("SELECT current_user, current_setting('search_path')").fetchone() == \
            ("anon", "public")
    # a client without upstream_role may set one as Postgres allows
    with connect(roles_proxy, APP_USER, options="-c role=anon") as c:
        assert c.execute("SELECT current_user").fetchone()[0] == "anon"


def raw_session(p, user, extra=None):
    from pgwire import RawConn
    c = RawConn(p.port)
    c.startup({"user": user, "database": "platform", **(extra or {})})
    return c


def function_call(oid, *args):
    """A FunctionCall message: text arguments, text result."""
    import struct
    from pgwire import message
    # one argument format code (text, for all), the arguments, then the result format (text)
    body = struct.pack("!I", oid) + struct.pack("!hh", 1, 0) + struct.pack("!h", len(args))
    for a in args:
        b = a.encode()
        body += struct.pack("!i", len(b)) + b
    return message(b"F", body + struct.pack("!h", 0))


def test_function_call_message_is_refused(roles_proxy):
    from pgwire import WireError
    set_config_oid = 2078
    c = raw_session(roles_proxy, "web_anon")
    try:
        c.authenticate("web_anon", PASSWORDS["web_anon"])
        c.read_until_ready()
        c.send(function_call(set_config_oid, "role", "platform_owner", "false"))
        with pytest.raises(WireError) as e:
            c.read_until_ready()
        assert e.value.sqlstate == "42501", e.value.fields
        assert c.query("SELECT current_user") == [["anon"]]
    finally:
        c.close()
    # a client without upstream_role may use it (Postgres decides)
    c = raw_session(roles_proxy, APP_USER)
    try:
        c.authenticate(APP_USER, APP_PASSWORD)
        c.read_until_ready()
        c.send(function_call(set_config_oid, "application_name", "via-F", "false"))
        msgs = c.read_until_ready()
        assert any(m == b"V" for m, _ in msgs), msgs
        assert c.query("SHOW application_name") == [["via-F"]]
    finally:
        c.close()


def test_a_role_startup_parameter_is_refused(roles_proxy):
    from pgwire import WireError
    for name in ("role", "ROLE", "session_authorization"):
        c = raw_session(roles_proxy, "web_anon", {name: "service_role"})
        try:
            with pytest.raises(WireError) as e:
                c.authenticate("web_anon", PASSWORDS["web_anon"])
                c.read_until_ready()
            assert e.value.sqlstate == "42501", (name, e.value.fields)
        finally:
            c.close()


def test_a_capped_user_does_not_hold_up_the_queue(make_proxy):
    """Global pool_size 2: web_anon (cap 1) and app hold both; a second web_anon client and a
    backend client wait. When app leaves, backend gets the slot; web_anon's second waits on."""
    import threading
    users = [dict(u) for u in USERS]
    users[1]["pool_size"] = 1
    p = make_proxy(users=users, supabase={"pool_size": 2},
                   proxy={"auth_method": "md5", "pool_timeout_ms": 4000})
    results = {}

    def client(name, user):
        try:
            with connect(p, user) as c:
                results[name] = c.execute("SELECT current_user").fetchone()[0]
        except psycopg.OperationalError as e:
            results[name] = str(e)

    with connect(p, "web_anon") as a1, connect(p, APP_USER) as owner:
        a1.execute("SELECT 1")
        owner.execute("SELECT 1")
        def waiting(n):
            deadline = time.time() + 10
            while p.log().count("waiting for an upstream slot") < n:
                assert time.time() < deadline, "no client queued"
                time.sleep(0.02)

        a2 = threading.Thread(target=client, args=("a2", "web_anon"))
        a2.start()
        waiting(1)  # a2 queues first
        b = threading.Thread(target=client, args=("b", "backend"))
        b.start()
        waiting(2)
        owner.close()  # frees a global slot: a2 is at its own cap, b behind it gets it
        b.join(timeout=3)
        assert results.get("b") == "service_role", results
        a2.join(timeout=10)
    assert "no upstream connection available" in results["a2"] or results["a2"] == "anon", results
