"""Resolving [supabase] host: every address is tried until one works.

Real Supabase hosts resolve to several addresses (the direct host to IPv6
only). Here the switchyard process gets its own /etc/hosts (a private mount
namespace, so nothing else on the machine sees it) in which the upstream's
name lists addresses where nothing listens before the one that works.
"""
import shutil
import subprocess

import pytest

import pgwire
from conftest import APP_PASSWORD, APP_USER
from helpers import log_lines

NAME = "supabase.switchyard.test"


@pytest.fixture
def own_hosts(tmp_path):
    if shutil.which("unshare") is None:
        pytest.fail("unshare(1) from util-linux is required for this test")
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "true"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        # e.g. inside a chroot whose root is not a mount point: the bind mount
        # below could then leak into the host's namespace, so the test does not run.
        pytest.skip("a private mount namespace is not available here: " + probe.stderr.strip())

    def prefix(lines):
        hosts = tmp_path / "hosts"
        hosts.write_text("".join(f"{addr} {NAME}\n" for addr in lines))
        return ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                'mount --bind "$0" /etc/hosts && exec "$@"', str(hosts)]
    return prefix


def start_with_hosts(make_proxy, own_hosts, addresses, **supabase):
    p = make_proxy(start=False, supabase={"host": NAME, "sslmode": "verify-ca", **supabase})
    p.command_prefix = own_hosts(addresses)
    return p.start()


def test_dead_addresses_are_skipped(make_proxy, own_hosts):
    # Postgres listens on 127.0.0.1 only: 127.0.0.2 and ::1 refuse.
    proxy = start_with_hosts(make_proxy, own_hosts, ["127.0.0.2", "::1", "127.0.0.1"])
    with proxy.connect() as conn:
        assert conn.execute("SELECT 1").fetchone()[0] == 1
    failed = [l.get("addr") for l in log_lines(proxy, "upstream address failed, trying the next")]
    assert "127.0.0.2:%d" % proxy.supabase.port in failed, failed


def test_all_addresses_dead_names_the_host(make_proxy, own_hosts):
    proxy = start_with_hosts(make_proxy, own_hosts, ["127.0.0.2", "127.0.0.3"])
    e = pgwire.connect_error(proxy.port, APP_USER, APP_PASSWORD)
    assert e.sqlstate == "08006"
    assert NAME in e.message
    failed = [l.get("addr") for l in log_lines(proxy, "upstream address failed, trying the next")]
    assert len(failed) >= 2, failed
