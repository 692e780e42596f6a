"""pgjdbc (Debian's libpostgresql-jdbc-java) through switchyard.

Runs tests/integration/java/JdbcCheck.java with the single-file source launcher:
server-prepared statements (prepareThreshold=1), a batch, transactions.
"""
import json
import subprocess
from pathlib import Path

import pytest

from conftest import APP_PASSWORD, APP_USER
from helpers import sb_exec, unique

JAR = Path("/usr/share/java/postgresql.jar")
SOURCE = Path(__file__).resolve().parent / "java" / "JdbcCheck.java"


def test_pgjdbc(proxy, supabase):
    if not JAR.exists():
        pytest.fail(f"{JAR} missing: install libpostgresql-jdbc-java")
    table = unique("jdbc")
    url = f"jdbc:postgresql://127.0.0.1:{proxy.port}/platform"
    try:
        r = subprocess.run(["java", "-cp", str(JAR), str(SOURCE), url, APP_USER, APP_PASSWORD, table],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, f"stdout:\n{r.stdout}\nstderr:\n{r.stderr}"
        out = json.loads(r.stdout.strip().splitlines()[-1])
        assert out["db"] == "platform" and out["answer"] == 42
        assert out["squares"] == [1, 4, 9, 16, 25]
        assert out["server_prepared"] >= 1, "pgjdbc did not use a server-side prepared statement"
        assert out["batch"] == 100
        assert out["updated"] == 10
        assert out["error"] == "22012"
        assert out["groups"] == {"batch": 90, "committed": 10}
        assert supabase.query(f"SELECT count(*) FROM {table} WHERE v = 'committed'") == [(10,)]
    finally:
        sb_exec(supabase, f"DROP TABLE IF EXISTS {table}")
