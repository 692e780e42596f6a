"""pgbench through switchyard: -i (COPY) then -S in simple, extended and prepared modes."""
import os
import re
import subprocess

import pytest

from conftest import APP_PASSWORD
from helpers import sb_exec

PGBENCH_TABLES = ("pgbench_accounts", "pgbench_branches", "pgbench_tellers", "pgbench_history")


def pgbench(proxy, *args, timeout=120):
    env = dict(os.environ, PGPASSWORD=APP_PASSWORD, PGCONNECT_TIMEOUT="10")
    cmd = ["pgbench", "-h", "127.0.0.1", "-p", str(proxy.port), "-U", "app", *args, "platform"]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    return r


def parse_run(out: str) -> dict:
    processed = re.search(r"number of transactions actually processed: (\d+)", out)
    failed = re.search(r"number of failed transactions: (\d+)", out)
    tps = re.search(r"tps = ([\d.]+)", out)
    assert processed and failed and tps, f"unexpected pgbench output:\n{out}"
    return {"processed": int(processed.group(1)), "failed": int(failed.group(1)),
            "tps": float(tps.group(1))}


@pytest.fixture(scope="module")
def pgbench_proxy(supabase, tmp_path_factory):
    """One proxy for the module (init once, three runs), stopped cleanly at the end."""
    from conftest import Proxy
    p = Proxy(supabase, tmp_path_factory.mktemp("pgbench")).start()
    r = pgbench(p, "-i", "-s", "1", "-q")
    try:
        assert r.returncode == 0, f"pgbench -i failed:\n{r.stdout}\n{r.stderr}"
        yield p
    finally:
        rc = p.stop()
        for t in PGBENCH_TABLES:
            sb_exec(supabase, f"DROP TABLE IF EXISTS {t}")
        assert rc == 0, f"switchyard exited with {rc}:\n{p.log()[-6000:]}"


def test_init_loaded_through_copy(pgbench_proxy, supabase):
    assert supabase.query("SELECT count(*) FROM pgbench_accounts") == [(100000,)]
    assert supabase.query("SELECT count(*) FROM pgbench_branches") == [(1,)]
    assert supabase.query("SELECT count(*) FROM pgbench_tellers") == [(10,)]


@pytest.mark.parametrize("mode", ["simple", "extended", "prepared"])
def test_select_only(pgbench_proxy, mode):
    r = pgbench(pgbench_proxy, "-S", "-M", mode, "-c", "4", "-j", "2", "-T", "3", "-n")
    assert r.returncode == 0, f"pgbench -M {mode} failed:\n{r.stdout}\n{r.stderr}"
    res = parse_run(r.stdout)
    assert res["failed"] == 0, r.stdout
    assert res["processed"] > 100, r.stdout
    assert "error" not in r.stderr.lower(), r.stderr


def test_connect_per_transaction_small_pool(pgbench_proxy):
    """-C: a new client connection for every transaction, more clients than pool_size."""
    from helpers import log_lines
    before = len(log_lines(pgbench_proxy))
    pgbench_proxy.reload(supabase={"pool_size": 2}, proxy={"pool_timeout_ms": 10000,
                                                           "log_level": "info"})
    from helpers import wait_for_log
    wait_for_log(pgbench_proxy, "configuration reloaded", since=before)
    try:
        # One thread per client: pgbench -C connects synchronously, so a client
        # waiting for a pool slot would otherwise block the clients of its own
        # thread that hold the slots (a deadlock on any pooler).
        r = pgbench(pgbench_proxy, "-S", "-C", "-M", "extended", "-c", "6", "-j", "6", "-T", "3", "-n")
        assert r.returncode == 0, f"pgbench -C failed:\n{r.stdout}\n{r.stderr}"
        res = parse_run(r.stdout)
        assert res["failed"] == 0, r.stdout
        assert res["processed"] > 20, r.stdout
    finally:
        pgbench_proxy.reload(supabase={"pool_size": 20}, proxy={"log_level": "debug"})
