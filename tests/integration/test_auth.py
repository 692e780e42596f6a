"""Client authentication and TLS at switchyard's front door.

SQLSTATEs of refused startups are read with pgwire (libpq does not expose
them); the same cases are also run through psycopg to check what a real driver
sees.
"""
import ssl

import psycopg
import pytest

from conftest import APP_PASSWORD, APP_USER, VERIFIER_PASSWORD, VERIFIER_USER
import pgwire


def test_scram_login_and_query(proxy):
    conn = pgwire.connect(proxy.port, APP_USER, APP_PASSWORD)
    try:
        assert conn.query("SELECT current_user, 1") == [["platform_owner", "1"]]
        assert conn.backend_pid is not None and conn.txn_status == "I"
        assert conn.params.get("server_version", "").startswith("15")
    finally:
        conn.terminate()
    with proxy.connect() as c:
        assert c.execute("SELECT 1").fetchone() == (1,)


def test_wrong_password_28P01(proxy):
    e = pgwire.connect_error(proxy.port, APP_USER, "not-the-password")
    assert e.sqlstate == "28P01"
    assert e.severity == "FATAL"
    assert APP_USER in e.message and "password authentication failed" in e.message
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        proxy.connect(password="not-the-password")


def test_unknown_user_same_as_wrong_password(proxy):
    e_unknown = pgwire.connect_error(proxy.port, "nobody_here", "whatever")
    e_wrong = pgwire.connect_error(proxy.port, APP_USER, "whatever")
    assert e_unknown.sqlstate == e_wrong.sqlstate == "28P01"
    # Nothing in the answer tells an unknown user from a wrong password.
    assert e_unknown.message == e_wrong.message.replace(APP_USER, "nobody_here")
    assert set(e_unknown.fields) == set(e_wrong.fields)
    # The exchange itself looks the same: SCRAM is offered and runs to the final step.
    c = pgwire.RawConn(proxy.port)
    try:
        c.startup({"user": "nobody_here", "database": "platform"})
        mtype, body = c.read_msg()
        assert mtype == b"R" and body[:4] == b"\x00\x00\x00\x0a"
    finally:
        c.close()


def test_unknown_user_exchange_indistinguishable(proxy):
    """
    An unknown user's SCRAM exchange must not give it away before the proof:
    the server-first-message carries the same iteration count as a real
    user's, and a stable salt per user name (as Postgres' mock salt does), so
    neither "i=" nor a changing or shared salt tells a prober who exists.
    """
    known = pgwire.scram_server_first(proxy.port, APP_USER)
    unknown = [pgwire.scram_server_first(proxy.port, "nobody_here") for _ in range(6)]
    other = pgwire.scram_server_first(proxy.port, "someone_else")
    assert int(known["i"]) == 4096
    assert {u["i"] for u in unknown} == {known["i"]}, "iteration count reveals unknown users"
    assert len({u["s"] for u in unknown}) == 1, "salt of an unknown user changes between tries"
    assert len(known["s"]) == len(unknown[0]["s"])
    assert other["s"] != unknown[0]["s"], "all unknown users share one salt"


def test_unknown_database_3D000(proxy):
    e = pgwire.connect_error(proxy.port, APP_USER, APP_PASSWORD, dbname="not_platform")
    assert e.sqlstate == "3D000"
    assert "not_platform" in e.message
    # Checked after authentication: a wrong password still says 28P01, not 3D000.
    assert pgwire.connect_error(proxy.port, APP_USER, "bad", dbname="not_platform").sqlstate == "28P01"


def test_verifier_user(proxy):
    with proxy.connect(user=VERIFIER_USER, password=VERIFIER_PASSWORD) as conn:
        assert conn.execute("SELECT 'verifier ok'").fetchone() == ("verifier ok",)
    assert pgwire.connect_error(proxy.port, VERIFIER_USER, "wrong").sqlstate == "28P01"


def test_md5_mode(make_proxy):
    proxy = make_proxy(proxy={"auth_method": "md5"})
    # libpq answers the md5 challenge.
    with proxy.connect() as conn:
        assert conn.execute("SELECT 'md5 ok'").fetchone() == ("md5 ok",)
    # The proxy really asked for md5 (AuthenticationMD5Password = 5, with a 4-byte salt).
    c = pgwire.RawConn(proxy.port)
    try:
        c.startup({"user": APP_USER, "database": "platform"})
        mtype, body = c.read_msg()
        assert mtype == b"R" and body[:4] == b"\x00\x00\x00\x05" and len(body) == 8
    finally:
        c.close()
    e = pgwire.connect_error(proxy.port, APP_USER, "wrong-md5-password")
    assert e.sqlstate == "28P01"
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        proxy.connect(password="wrong-md5-password")
    # A user given only a SCRAM verifier still authenticates with SCRAM, as in Postgres.
    with proxy.connect(user=VERIFIER_USER, password=VERIFIER_PASSWORD) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert pgwire.connect_error(proxy.port, "nobody_here", "x").sqlstate == "28P01"


def test_client_tls_require(make_proxy, supabase):
    proxy = make_proxy(proxy={"client_tls": "require"})
    e = pgwire.connect_error(proxy.port, APP_USER, APP_PASSWORD)
    assert e.sqlstate == "28000"
    with pytest.raises(psycopg.OperationalError):
        proxy.connect(sslmode="disable")
    with proxy.connect(sslmode="require") as conn:
        assert conn.pgconn.ssl_in_use
        assert conn.execute("SELECT 'tls ok'").fetchone() == ("tls ok",)
    conn = pgwire.connect(proxy.port, APP_USER, APP_PASSWORD, tls=True, cafile=str(supabase.ca))
    try:
        assert conn.query("SELECT 1") == [["1"]]
    finally:
        conn.terminate()


def test_tls_verify_full(proxy, supabase):
    with psycopg.connect(proxy.dsn(sslmode="verify-full", sslrootcert=str(supabase.ca)),
                         autocommit=True) as conn:
        assert conn.pgconn.ssl_in_use
        assert conn.execute("SELECT 'verified'").fetchone() == ("verified",)
    # Host name "localhost" is in the certificate too.
    dsn = proxy.dsn(sslmode="verify-full", sslrootcert=str(supabase.ca)).replace(
        "host='127.0.0.1'", "host='localhost' hostaddr='127.0.0.1'")
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    # The certificate is checked: a wrong name fails verify-full.
    c = pgwire.RawConn(proxy.port)
    try:
        with pytest.raises(ssl.SSLCertVerificationError):
            c.start_tls(cafile=str(supabase.ca), server_hostname="not-the-host.example")
    finally:
        c.close()


def test_tls_disable_answers_N(make_proxy):
    proxy = make_proxy(proxy={"client_tls": "disable"})
    c = pgwire.RawConn(proxy.port)
    try:
        assert c.start_tls() == b"N"
        # The same connection continues in plaintext, as with Postgres.
        c.startup({"user": APP_USER, "database": "platform"})
        c.authenticate(APP_USER, APP_PASSWORD)
        c.read_until_ready()
        assert c.query("SELECT 'plain'") == [["plain"]]
    finally:
        c.close()
    with pytest.raises(psycopg.OperationalError):
        proxy.connect(sslmode="require")
