"""node-postgres (npm "pg") through switchyard: queries, parameters, a transaction.

tests/integration/node/ holds package.json and package-lock.json; the test
runs `npm ci` there if node_modules is missing.
"""
import json
import subprocess

from helpers import sb_exec, unique


def test_node_pg(node_modules, proxy, supabase):
    table = unique("node")
    try:
        r = subprocess.run(["node", "client.js", proxy.url(), table], cwd=node_modules,
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        out = json.loads(r.stdout)
        assert out["simple"] == {"two": 2, "db": "platform"}
        assert out["workflows"] == ["welcome", "renewal reminder", "win-back"]
        assert out["params"] == {"doubled": 42, "greeting": "hello", "isnull": True}
        assert out["named"] == [2, 1]
        assert out["txn"] == [{"id": 1, "v": "committed"}]
        assert out["error"] == "22012"
        assert out["after"] == "still usable"
        assert supabase.query(f"SELECT id, v FROM {table}") == [(1, "committed")]
    finally:
        sb_exec(supabase, f"DROP TABLE IF EXISTS {table}")
