"""psql (the CLI) through switchyard: simple queries, a multi-statement string, \\copy."""
import os
import subprocess
import uuid

from helpers import sb_exec

from conftest import APP_PASSWORD


def psql(proxy, *args, stdin=None, check=True):
    env = dict(os.environ, PGPASSWORD=APP_PASSWORD, PGCONNECT_TIMEOUT="10")
    cmd = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", "-d", proxy.dsn(), *args]
    r = subprocess.run(cmd, input=stdin, capture_output=True, text=True, env=env, timeout=60)
    if check:
        assert r.returncode == 0, f"psql failed ({r.returncode}): {r.stderr}"
    return r


def test_simple_queries(proxy):
    assert psql(proxy, "-c", "SELECT 1 + 1").stdout.strip() == "2"
    out = psql(proxy, "-c", "SELECT name FROM workflows ORDER BY id").stdout.split("\n")
    assert out[:3] == ["welcome", "renewal reminder", "win-back"]
    out = psql(proxy, "-c", "SELECT current_database(), current_user").stdout.strip()
    assert out == "platform|platform_owner"


def test_error_is_reported_and_session_continues(proxy):
    script = "SELECT 1/0;\nSELECT 'still here';\n"
    r = psql(proxy, "-v", "ON_ERROR_STOP=0", "-v", "VERBOSITY=verbose", stdin=script, check=False)
    assert "22012" in r.stderr
    assert "still here" in r.stdout


def test_multi_statement_string(proxy, supabase):
    t = f"psql_multi_{uuid.uuid4().hex[:8]}"
    sql = (f"CREATE TABLE {t} (id int primary key, v text); "
           f"INSERT INTO {t} VALUES (1, 'a'), (2, 'b'); "
           f"UPDATE {t} SET v = 'bb' WHERE id = 2; "
           f"SELECT string_agg(v, ',' ORDER BY id) FROM {t}")
    try:
        assert psql(proxy, "-c", sql).stdout.strip() == "a,bb"
        assert supabase.query(f"SELECT count(*) FROM {t}") == [(2,)]
    finally:
        sb_exec(supabase, f"DROP TABLE IF EXISTS {t}")


def test_multi_statement_failure_is_atomic(proxy, supabase):
    """A multi-statement simple Query is one implicit transaction: an error undoes all of it."""
    t = f"psql_atomic_{uuid.uuid4().hex[:8]}"
    sb_exec(supabase, f"CREATE TABLE {t} (id int)")
    try:
        r = psql(proxy, "-c", f"INSERT INTO {t} VALUES (1); SELECT 1/0; INSERT INTO {t} VALUES (2)",
                 check=False)
        assert r.returncode != 0 and "division by zero" in r.stderr
        assert supabase.query(f"SELECT count(*) FROM {t}") == [(0,)]
    finally:
        sb_exec(supabase, f"DROP TABLE IF EXISTS {t}")


def test_copy_in_and_out(proxy, supabase, tmp_path):
    t = f"psql_copy_{uuid.uuid4().hex[:8]}"
    src = tmp_path / "in.csv"
    dst = tmp_path / "out.csv"
    rows = [f"{i},name {i},{'x' * (i % 50)}" for i in range(1, 5001)]
    src.write_text("\n".join(rows) + "\n")
    sb_exec(supabase, f"CREATE TABLE {t} (id int primary key, name text, pad text)")
    try:
        psql(proxy, "-c", f"\\copy {t} FROM '{src}' WITH (FORMAT csv)")
        assert supabase.query(f"SELECT count(*), sum(id) FROM {t}") == [(5000, 5000 * 5001 // 2)]
        psql(proxy, "-c", f"\\copy (SELECT * FROM {t} ORDER BY id) TO '{dst}' WITH (FORMAT csv)")
        assert dst.read_text().splitlines() == rows
        # The session still answers after both COPYs, in the same psql run.
        out = psql(proxy, "-c", f"\\copy {t} TO STDOUT WITH (FORMAT csv)", "-c",
                   f"SELECT count(*) FROM {t}").stdout.splitlines()
        assert out[-1] == "5000" and len(out) == 5001
    finally:
        sb_exec(supabase, f"DROP TABLE IF EXISTS {t}")


def test_copy_in_bad_data_fails_cleanly(proxy, supabase, tmp_path):
    t = f"psql_copybad_{uuid.uuid4().hex[:8]}"
    src = tmp_path / "bad.csv"
    src.write_text("1,ok\nnot-a-number,bad\n")
    sb_exec(supabase, f"CREATE TABLE {t} (id int, v text)")
    try:
        script = f"\\copy {t} FROM '{src}' WITH (FORMAT csv)\nSELECT 'after';\n"
        r = psql(proxy, "-v", "ON_ERROR_STOP=0", stdin=script, check=False)
        assert "invalid input syntax" in r.stderr
        assert "after" in r.stdout
        assert supabase.query(f"SELECT count(*) FROM {t}") == [(0,)]
    finally:
        sb_exec(supabase, f"DROP TABLE IF EXISTS {t}")
