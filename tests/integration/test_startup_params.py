"""Startup parameters a client sends reach the upstream session."""
import psycopg

from conftest import APP_PASSWORD, APP_USER
from helpers import log_lines, wait_for_log, wait_upstream_idle
import pgwire


def test_raw_startup_parameters_reach_upstream(proxy):
    """The parameters pgjdbc and others put in the StartupMessage itself."""
    extra = {
        "application_name": "sy-params-test",
        "search_path": "pg_catalog, public",
        "TimeZone": "Asia/Seoul",
        "DateStyle": "SQL, DMY",
        "extra_float_digits": "1",
        "options": "-c statement_timeout=1234 -c lock_timeout=4321",
        "client_encoding": "UTF8",
    }
    conn = pgwire.connect(proxy.port, APP_USER, APP_PASSWORD, extra=extra)
    try:
        rows = conn.query(
            "SELECT current_setting('application_name'), current_setting('search_path'),"
            " current_setting('TimeZone'), current_setting('DateStyle'),"
            " current_setting('extra_float_digits'), current_setting('statement_timeout'),"
            " current_setting('lock_timeout')")
        assert rows == [["sy-params-test", "pg_catalog, public", "Asia/Seoul", "SQL, DMY", "1",
                         "1234ms", "4321ms"]]
        assert conn.query("SHOW TimeZone") == [["Asia/Seoul"]]
        assert conn.query("SELECT DATE '2026-11-02'::text") == [["02/11/2026"]]
        # The ParameterStatus messages of the welcome reflect the upstream session.
        assert conn.params["application_name"] == "sy-params-test"
        assert conn.params["TimeZone"] == "Asia/Seoul"
        assert conn.params["DateStyle"] == "SQL, DMY"
        assert conn.params["client_encoding"] == "UTF8"
        # ...and later changes are reported too.
        conn.query("SET application_name = 'renamed'")
        assert conn.params["application_name"] == "renamed"
    finally:
        conn.terminate()


def test_libpq_parameters_reach_upstream(proxy):
    with psycopg.connect(proxy.dsn(application_name="sy-libpq",
                                   options="-c statement_timeout=1234 -c search_path=pg_catalog"),
                         autocommit=True) as conn:
        assert conn.execute("SHOW statement_timeout").fetchone() == ("1234ms",)
        assert conn.execute("SHOW application_name").fetchone() == ("sy-libpq",)
        assert conn.execute("SHOW search_path").fetchone() == ("pg_catalog",)
        assert conn.info.parameter_status("application_name") == "sy-libpq"
        # statement_timeout is really in force upstream.
        try:
            conn.execute("SELECT pg_sleep(3)")
            raise AssertionError("statement_timeout=1234 did not fire")
        except psycopg.errors.QueryCanceled as e:
            assert "statement timeout" in str(e)


def test_different_parameters_get_different_sessions(make_proxy, supabase):
    """
    The pool reuses an upstream only for a client with the same startup
    parameters: a client never inherits another's TimeZone, and one with the
    same parameters gets the same (reset) upstream back.
    """
    proxy = make_proxy(proxy={"workers": 1})
    a = pgwire.connect(proxy.port, APP_USER, APP_PASSWORD, extra={"TimeZone": "UTC"})
    a_pid = a.backend_pid
    a.query("SET TimeZone = 'Europe/Paris'")
    a.terminate()
    b = pgwire.connect(proxy.port, APP_USER, APP_PASSWORD, extra={"TimeZone": "America/New_York"})
    try:
        assert b.query("SHOW TimeZone") == [["America/New_York"]]
        assert b.backend_pid != a_pid
    finally:
        b.terminate()
    wait_upstream_idle(supabase, a_pid)
    c = pgwire.connect(proxy.port, APP_USER, APP_PASSWORD, extra={"TimeZone": "UTC"})
    try:
        assert c.backend_pid == a_pid
        assert c.query("SHOW TimeZone") == [["UTC"]]
        assert c.params["TimeZone"] == "UTC"
    finally:
        c.terminate()


def test_startup_strings_kept_as_sent(make_proxy, supabase):
    """
    What a session keeps of its StartupMessage (one block: user, database,
    parameters, pool key, log names) reads back as the client sent it.
    """
    proxy = make_proxy(proxy={"workers": 1, "log_level": "info"})
    # No database: Postgres takes the user name, which is then not the one served.
    e = pgwire.connect_error(proxy.port, APP_USER, APP_PASSWORD, dbname="")
    assert e.sqlstate == "3D000" and f'"{APP_USER}"' in e.message, e
    # Names that need quoting in the log are logged quoted, and read back the same.
    app = 'needs "quoting" = yes'
    before = len(log_lines(proxy))
    a = pgwire.connect(proxy.port, APP_USER, APP_PASSWORD,
                       extra={"application_name": app, "TimeZone": "UTC"})
    ready = wait_for_log(proxy, "session ready", since=before)
    assert ready["app"] == app and ready["user"] == APP_USER, ready
    assert a.query("SHOW application_name") == [[app]]
    a_pid = a.backend_pid
    a.terminate()
    # The same parameters in another order are the same pool key: the upstream is reused.
    wait_upstream_idle(supabase, a_pid)
    b = pgwire.connect(proxy.port, APP_USER, APP_PASSWORD,
                       extra={"TimeZone": "UTC", "application_name": app})
    assert b.backend_pid == a_pid, "same parameters in another order did not reuse the upstream"
    b.terminate()
    # Without application_name the log says "-".
    c = pgwire.connect(proxy.port, APP_USER, APP_PASSWORD)
    # (b's line may be written after b's ReadyForQuery: find c's by its address.)
    addr = "127.0.0.1:%d" % c.sock.getsockname()[1]
    assert wait_for_log(proxy, "session ready", addr=addr)["app"] == "-"
    c.terminate()
