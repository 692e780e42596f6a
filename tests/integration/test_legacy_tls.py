"""[mysql] tls: switchyard's connections to the legacy MySQL over TLS.

A MariaDB of its own runs with a certificate for 127.0.0.1 (signed by the
test CA that also signs the Supabase stand-in's) and
require_secure_transport, so a plaintext connection is refused by the
server itself: a read that works proves TLS was used.
"""
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import MARIADB_SCRIPT, free_port, run_switchyard_until_exit, wait_port


@pytest.fixture(scope="module")
def tls_mariadb(supabase):
    directory = Path(tempfile.mkdtemp(prefix="sy-mariadb-tls-"))
    for name in ("server.crt", "server.key", "ca.crt"):
        shutil.copy(supabase.dir / name, directory / name)
    shutil.chown(directory / "server.key", "mysql")
    os.chmod(directory / "server.key", 0o600)
    env = dict(os.environ)
    env["MARIADB_EXTRA_ARGS"] = (f"--ssl-cert={directory}/server.crt --ssl-key={directory}/server.key"
                                 f" --ssl-ca={directory}/ca.crt --require-secure-transport=ON")
    # A free port can be taken by someone else before the server binds it: try another.
    for _ in range(3):
        port = free_port()
        r = subprocess.run([str(MARIADB_SCRIPT), "start", str(directory), str(port)], env=env,
                           capture_output=True, text=True, timeout=180)
        if r.returncode == 0:
            break
        subprocess.run([str(MARIADB_SCRIPT), "stop", str(directory)], check=False, timeout=60)
    else:
        shutil.rmtree(directory, ignore_errors=True)
        pytest.fail(f"MariaDB with TLS did not start:\n{r.stdout}\n{r.stderr}")
    wait_port(port, timeout=30)
    yield {"port": port, "ca": str(directory / "ca.crt")}
    subprocess.run([str(MARIADB_SCRIPT), "stop", str(directory)], check=False, timeout=60)
    shutil.rmtree(directory, ignore_errors=True)


def mysql_section(port, **extra):
    section = {"host": "127.0.0.1", "port": port, "database": "crm", "user": "crm_readonly",
               "password": "ro-secret"}
    section.update(extra)
    return section


@pytest.mark.parametrize("mode", ["require", "verify-ca", "verify-full"])
def test_reads_over_tls(make_proxy, tls_mariadb, mode):
    extra = {"tls": mode}
    if mode != "require":
        extra["ssl_ca"] = tls_mariadb["ca"]
    proxy = make_proxy(mysql=mysql_section(tls_mariadb["port"], **extra))
    with proxy.connect() as conn:
        assert conn.execute("SELECT count(*) FROM customers").fetchone()[0] > 0


def test_plaintext_is_refused_by_the_server(supabase, tls_mariadb, tmp_path):
    """tls = "disable" against a server that requires TLS: the start-up check says so."""
    rc, log = run_switchyard_until_exit(supabase, tmp_path,
                                        mysql=mysql_section(tls_mariadb["port"], tls="disable"))
    assert rc not in (0, None), log
    # MariaDB answers a plaintext login under require_secure_transport with "Access denied".
    assert "cannot connect to MySQL" in log, log[-2000:]


def test_wrong_ca_is_refused(supabase, tls_mariadb, tmp_path):
    """verify-full with a CA that did not sign the server's certificate: no connection."""
    other = tmp_path / "other-ca.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=some other CA", "-keyout", str(tmp_path / "other.key"),
                    "-out", str(other)], check=True, capture_output=True)
    rc, log = run_switchyard_until_exit(
        supabase, tmp_path, mysql=mysql_section(tls_mariadb["port"], tls="verify-full",
                                                ssl_ca=str(other)))
    assert rc not in (0, None), log
    assert "cannot connect to MySQL" in log, log[-2000:]
