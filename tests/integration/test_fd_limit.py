"""Running out of file descriptors, and the open file limit at start.

Out of descriptors, accept() fails while the connection stays queued, so the
listener stays readable; switchyard must pause accepting and retry with a
backoff (no CPU spin, a few log lines with counts) and serve again within a
second or two once descriptors free. At start it raises its soft
RLIMIT_NOFILE to the hard limit and warns when max_client_conn and the pool
cannot fit.
"""
import os
import shutil
import socket
import subprocess
import time

import psycopg
import pytest

from conftest import BIN, Proxy
from helpers import log_lines, wait_for_log

pytestmark = pytest.mark.skipif(shutil.which("prlimit") is None, reason="needs util-linux prlimit")

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of every thread of <pid>, from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # After "pid (comm)": state is field 3, utime 14 and stime 15 (1-based).
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def nofile_limits(pid: int):
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            if line.startswith("Max open files"):
                soft, hard = line.split()[3:5]
                return int(soft), int(hard)
    raise AssertionError("no 'Max open files' in /proc/<pid>/limits")


def limited(make_proxy, soft, hard, **overrides):
    p = make_proxy(start=False, **overrides)
    p.command_prefix = ["prlimit", f"--nofile={soft}:{hard}", "--"]
    return p.start()


def open_idle_sockets(port, n):
    """Up to <n> connected sockets; refusals, resets and timeouts are counted, not raised."""
    socks, failed = [], 0
    for _ in range(n):
        try:
            socks.append(socket.create_connection(("127.0.0.1", port), timeout=2))
        except OSError:  # backlog full (timeout), reset, refused: the proxy is at its limit
            failed += 1
    return socks, failed


def connect_within(proxy, seconds):
    """Seconds until a real client ran SELECT 1 (raises after <seconds>)."""
    start = time.monotonic()
    last = None
    while time.monotonic() - start < seconds:
        try:
            with proxy.connect(connect_timeout=2) as conn:
                assert conn.execute("SELECT 1").fetchone()[0] == 1
            return time.monotonic() - start
        except psycopg.OperationalError as e:
            last = e
            time.sleep(0.05)
    raise AssertionError(f"no successful connection within {seconds}s: {last}\n"
                         + proxy.log()[-3000:])


def test_out_of_descriptors_backs_off_and_recovers(make_proxy):
    proxy = limited(make_proxy, 256, 256)
    socks, failed = open_idle_sockets(proxy.port, 300)
    try:
        # Let the proxy take what it can and run into EMFILE.
        wait_for_log(proxy, "accept failed", timeout=5)
        first = time.monotonic()
        time.sleep(0.3)
        before = cpu_seconds(proxy.pid)
        time.sleep(2.0)
        spent = cpu_seconds(proxy.pid) - before
        assert spent < 0.3, f"{spent:.2f}s of CPU in 2s while out of descriptors"
        # Past one 5 s interval: the next failure's line carries the suppressed ones.
        time.sleep(max(0.0, first + 6.5 - time.monotonic()))

        failures = log_lines(proxy, "accept failed")
        # Without backoff and rate limiting this is millions of lines.
        assert 1 <= len(failures) <= 10, f"{len(failures)} 'accept failed' lines"
        for f in failures:
            assert f["level"] == "error"
            assert "Too many open files" in f["error"], f
            assert int(f["count"]) >= 1, f
            assert 10 <= int(f["retry_ms"]) <= 1000, f
        assert any(int(f["count"]) > 1 for f in failures), failures
    finally:
        for s in socks:
            s.close()

    took = connect_within(proxy, 3.0)
    assert took < 2.0, f"took {took:.2f}s to serve again after descriptors freed"
    assert proxy.proc.poll() is None
    wait_for_log(proxy, "accepting connections again", timeout=2)
    assert failed < 300, "no socket connected at all"


def test_soft_limit_raised_to_hard(make_proxy):
    proxy = limited(make_proxy, 256, 4096, proxy={"max_client_conn": 1000})
    assert nofile_limits(proxy.pid) == (4096, 4096)
    line = wait_for_log(proxy, "raised the open file limit")
    assert line["from"] == "256" and line["nofile"] == "4096"
    assert not log_lines(proxy, "open file limit below what max_client_conn and the pools need")
    with proxy.connect() as conn:
        assert conn.execute("SELECT 1").fetchone()[0] == 1


def test_warns_when_max_client_conn_cannot_fit(make_proxy):
    proxy = limited(make_proxy, 256, 4096, proxy={"max_client_conn": 100000})
    line = wait_for_log(proxy, "open file limit below what max_client_conn and the pools need")
    assert line["level"] == "warn"
    assert line["nofile"] == "4096" and line["max_client_conn"] == "100000"
    assert int(line["needed"]) > 100000
    # Still serves: the limit is a warning, not a refusal to start.
    with proxy.connect() as conn:
        assert conn.execute("SELECT 1").fetchone()[0] == 1


def check_under(limit, config_path):
    return subprocess.run(["prlimit", f"--nofile={limit}", "--", str(BIN), "--check", "-c",
                           str(config_path)], capture_output=True, text=True, timeout=30)


def test_check_prints_the_warning(supabase, tmp_path):
    p = Proxy(supabase, tmp_path, proxy={"max_client_conn": 100000})
    p.write_config()
    r = check_under("256:4096", p.config_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "valid" in r.stdout
    assert "warning" in r.stderr and "open file limit (4096)" in r.stderr, r.stderr
    assert "max_client_conn = 100000" in r.stderr, r.stderr


def test_check_is_quiet_when_it_fits(supabase, tmp_path):
    p = Proxy(supabase, tmp_path, proxy={"max_client_conn": 1000})
    p.write_config()
    r = check_under("256:4096", p.config_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "warning" not in r.stderr, r.stderr
