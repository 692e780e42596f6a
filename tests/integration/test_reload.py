"""SIGHUP reloads proxy.toml; a bad file is rejected and the running config stays."""
import re
import signal

import psycopg
import pytest

from conftest import APP_PASSWORD, APP_USER, VERIFIER_PASSWORD, VERIFIER_USER, verifier_for
from helpers import log_lines, wait_for_log
import pgwire


def test_reload_adds_user_and_changes_log_level(proxy):
    existing = proxy.connect()
    try:
        existing.execute("SET application_name = 'kept across reload'")
        e = pgwire.connect_error(proxy.port, "newcomer", "newcomer-secret")
        assert e.sqlstate == "28P01"
        before = len(log_lines(proxy))
        assert any(f["level"] == "debug" for f in log_lines(proxy)), "debug level not in effect"

        users = proxy.users + [{"name": "newcomer", "password": "newcomer-secret"}]
        proxy.reload(users=users, proxy={"log_level": "info"})
        line = wait_for_log(proxy, "configuration reloaded", since=before)
        assert line["users"] == "3" and line["log_level"] == "info"

        with proxy.connect(user="newcomer", password="newcomer-secret") as conn:
            assert conn.execute("SELECT 'welcome newcomer'").fetchone() == ("welcome newcomer",)
        # Old users still work, the existing session is untouched.
        with proxy.connect(user=VERIFIER_USER, password=VERIFIER_PASSWORD) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        assert existing.execute("SHOW application_name").fetchone() == ("kept across reload",)
        # log_level = "info": no debug lines after the reload, info lines still come.
        after = log_lines(proxy)[before:]
        reload_at = next(i for i, f in enumerate(after) if f["msg"] == "configuration reloaded")
        later = after[reload_at + 1:]
        assert not [f for f in later if f["level"] == "debug"], later
        assert any(f["msg"] == "session ready" for f in later)
    finally:
        existing.close()


def test_reload_removes_user_and_changes_password(proxy):
    with proxy.connect() as existing:
        before = len(log_lines(proxy))
        proxy.reload(users=[{"name": APP_USER, "password": "rotated-secret"}])
        wait_for_log(proxy, "configuration reloaded", since=before)
        assert pgwire.connect_error(proxy.port, APP_USER, APP_PASSWORD).sqlstate == "28P01"
        assert pgwire.connect_error(proxy.port, VERIFIER_USER, VERIFIER_PASSWORD).sqlstate == "28P01"
        with proxy.connect(password="rotated-secret") as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        # A session authenticated before the change is not thrown out.
        assert existing.execute("SELECT 'still here'").fetchone() == ("still here",)


def test_invalid_file_on_reload_is_rejected(proxy):
    with proxy.connect() as existing:
        before = len(log_lines(proxy))
        good = proxy.config_path.read_text()
        proxy.config_path.write_text(
            good.replace("[proxy]", "[proxy]\nno_such_key = 1", 1).replace(
                "pool_size = 20", 'pool_size = "many"')
            + '\n[[users]]\nname = "ghost"\npassword = "ghost-secret"\n')
        proxy.proc.send_signal(signal.SIGHUP)
        rejected = wait_for_log(proxy, "reload rejected: keeping the running configuration",
                                since=before)
        assert rejected["level"] == "error"
        problems = [f["problem"] for f in log_lines(proxy, "config problem")]
        assert any("no_such_key" in p for p in problems), problems
        assert any("pool_size" in p for p in problems), problems
        assert len(problems) >= 2, problems
        assert all(re.match(rf"{re.escape(str(proxy.config_path))}:\d+:\d+: ", p) for p in problems), \
            problems  # file:line:column, as --check prints them
        assert proxy.proc.poll() is None
        # The old configuration keeps working; the ghost from the bad file does not exist.
        with proxy.connect() as conn:
            assert conn.execute("SELECT 'old config'").fetchone() == ("old config",)
        assert pgwire.connect_error(proxy.port, "ghost", "ghost-secret").sqlstate == "28P01"
        assert existing.execute("SELECT 2").fetchone() == (2,)
        # Fixing the file and reloading again works.
        proxy.reload(users=proxy.users + [{"name": "ghost", "password": "ghost-secret"}])
        wait_for_log(proxy, "configuration reloaded", since=before)
        with proxy.connect(user="ghost", password="ghost-secret") as conn:
            assert conn.execute("SELECT 3").fetchone() == (3,)


def test_reload_with_verifier_user(proxy):
    before = len(log_lines(proxy))
    proxy.reload(users=proxy.users + [{"name": "auditor", "password": verifier_for("audit-pw")}])
    wait_for_log(proxy, "configuration reloaded", since=before)
    with proxy.connect(user="auditor", password="audit-pw") as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    with pytest.raises(psycopg.OperationalError):
        proxy.connect(user="auditor", password="wrong")


def test_reload_shrinks_pool(make_proxy, supabase):
    from helpers import unique
    app = unique("shrink")
    proxy = make_proxy(supabase={"pool_size": 3}, proxy={"pool_timeout_ms": 500})
    conns = [proxy.connect(application_name=app) for _ in range(3)]

    def upstreams():
        with supabase.admin() as admin:
            return admin.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                                 (app,)).fetchone()[0]
    assert upstreams() == 3
    before = len(log_lines(proxy))
    proxy.reload(supabase={"pool_size": 1})
    wait_for_log(proxy, "configuration reloaded", since=before)
    # Open sessions are not cut; their upstreams are retired as they come back.
    for c in conns:
        assert c.execute("SELECT 1").fetchone() == (1,)
        c.close()
    pgwire.wait_until(lambda: upstreams() <= 1, timeout=3)
    assert upstreams() <= 1
    holder = proxy.connect(application_name=app)
    try:
        assert pgwire.connect_error(proxy.port, APP_USER, APP_PASSWORD,
                                    extra={"application_name": app}).sqlstate == "53300"
    finally:
        holder.close()


def test_reload_upstream_settings_keeps_existing_sessions(proxy):
    with proxy.connect() as existing:
        before = len(log_lines(proxy))
        proxy.reload(supabase={"password": "not-the-upstream-password"})
        wait_for_log(proxy, "configuration reloaded", since=before)
        e = pgwire.connect_error(proxy.port, APP_USER, APP_PASSWORD)
        assert e.sqlstate == "08006", e
        assert existing.execute("SELECT 'linked before reload'").fetchone() == ("linked before reload",)
        before = len(log_lines(proxy))
        proxy.reload(supabase={"password": "owner-secret"})
        wait_for_log(proxy, "configuration reloaded", since=before)
        with proxy.connect() as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
