"""Integration-test harness: real servers on loopback, no mocks.

Session-wide, one PostgreSQL 15 is started by scripts/pg-supabase.sh and
configured like Supabase (TLS with a generated CA, SCRAM-SHA-256 only, only over
TLS). Each test that asks for `proxy` gets its own switchyard process on a free
port with a generated proxy.toml; `make_proxy` builds more with overrides.

The switchyard binary is the sanitizer (Debug) build unless SWITCHYARD_BIN says
otherwise; a process that ends with an ASan/UBSan/LSan report exits non-zero,
and every Proxy.stop() asserts a clean exit, so memory errors fail the test
that caused them.
"""
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("SWITCHYARD_BIN", ROOT / "build-debug" / "switchyard"))
PG_SCRIPT = ROOT / "scripts" / "pg-supabase.sh"
NODE_DIR = Path(__file__).resolve().parent / "node"

APP_USER, APP_PASSWORD = "app", "app-secret"
# A user configured by SCRAM verifier instead of plaintext (password "verifier-secret").
VERIFIER_USER, VERIFIER_PASSWORD = "reporting", "verifier-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 15.0, proc=None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening")
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


class Supabase:
    """The local Postgres standing in for Supabase."""

    def __init__(self, directory: Path, port: int):
        self.dir = directory
        self.port = port
        self.host = "127.0.0.1"
        self.ca = directory / "ca.crt"
        self.cert = directory / "server.crt"
        self.key = directory / "server.key"

    def connect(self, **kw) -> psycopg.Connection:
        """A direct connection as the platform owner (to check what really happened)."""
        params = dict(host=self.host, port=self.port, dbname="platform", user="platform_owner",
                      password="owner-secret", sslmode="verify-full", sslrootcert=str(self.ca),
                      autocommit=True)
        params.update(kw)
        return psycopg.connect(**params)

    def admin(self) -> psycopg.Connection:
        """Superuser over the unix socket (trust)."""
        return psycopg.connect(host=str(self.dir), port=self.port, dbname="platform",
                               user="postgres", autocommit=True)

    def query(self, sql: str, *args):
        with self.connect() as conn:
            return conn.execute(sql, args or None).fetchall()


@pytest.fixture(scope="session")
def supabase():
    directory = Path(tempfile.mkdtemp(prefix="sy-supabase-"))
    port = free_port()
    subprocess.run([str(PG_SCRIPT), "start", str(directory), str(port)], check=True)
    yield Supabase(directory, port)
    subprocess.run([str(PG_SCRIPT), "stop", str(directory)], check=False)
    shutil.rmtree(directory, ignore_errors=True)


def verifier_for(password: str) -> str:
    """A SCRAM verifier computed by Postgres itself (what users paste from pg_authid)."""
    import base64
    import hashlib
    import hmac
    salt = os.urandom(16)
    iterations = 4096
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    b64 = lambda b: base64.b64encode(b).decode()
    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


class Proxy:
    """One switchyard process with its own proxy.toml."""

    def __init__(self, sb: Supabase, workdir: Path, **overrides):
        self.supabase = sb
        self.workdir = workdir
        self.port = free_port()
        self.config_path = workdir / "proxy.toml"
        self.log_path = workdir / "switchyard.log"
        self.proc = None
        self.command_prefix = []  # e.g. unshare(1) to give the process its own /etc/hosts
        self.sections = self.default_sections()
        self.users = [
            {"name": APP_USER, "password": APP_PASSWORD},
            {"name": VERIFIER_USER, "password": verifier_for(VERIFIER_PASSWORD)},
        ]
        self.apply(overrides)

    def default_sections(self):
        sb = self.supabase
        return {
            "proxy": {
                "listen": f"127.0.0.1:{self.port}",
                "workers": 2,
                "tls_cert": str(sb.cert),
                "tls_key": str(sb.key),
                "client_tls": "allow",
                "log_level": "debug",
                "shutdown_timeout_ms": 5000,
                "pool_timeout_ms": 3000,
            },
            "supabase": {
                "host": sb.host,
                "port": sb.port,
                "database": "platform",
                "user": "platform_owner",
                "password": "owner-secret",
                "sslmode": "verify-full",
                "sslrootcert": str(sb.ca),
                "pool_size": 20,
                "connect_timeout_ms": 3000,
            },
            "legacy": {
                "schema": "public",
                "tables": ["customers", "subscriptions", "payments"],
            },
        }

    def apply(self, overrides):
        """overrides: {"proxy": {...}, "supabase": {...}, "users": [...]} merged in; None deletes."""
        for section, values in overrides.items():
            if section == "users":
                self.users = values
                continue
            target = self.sections.setdefault(section, {})
            for k, v in values.items():
                if v is None:
                    target.pop(k, None)
                else:
                    target[k] = v

    def write_config(self):
        lines = []
        for section, values in self.sections.items():
            lines.append(f"[{section}]")
            lines += [f"{k} = {toml_value(v)}" for k, v in values.items()]
            lines.append("")
        for u in self.users:
            lines.append("[[users]]")
            lines += [f"{k} = {toml_value(v)}" for k, v in u.items()]
            lines.append("")
        self.config_path.write_text("\n".join(lines))

    def start(self):
        self.write_config()
        self.logf = open(self.log_path, "ab")
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0:exitcode=99")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1:exitcode=98")
        self.proc = subprocess.Popen(self.command_prefix + [str(BIN), "-c", str(self.config_path)],
                                     stdout=self.logf, stderr=subprocess.STDOUT, env=env)
        wait_port(self.port, proc=self.proc)
        return self

    @property
    def pid(self):
        return self.proc.pid

    def dsn(self, user=APP_USER, password=APP_PASSWORD, dbname="platform", sslmode="disable",
            **extra) -> str:
        parts = dict(host="127.0.0.1", port=self.port, user=user, password=password,
                     dbname=dbname, sslmode=sslmode)
        parts.update(extra)
        return " ".join(f"{k}='{v}'" for k, v in parts.items())

    def url(self, user=APP_USER, password=APP_PASSWORD, dbname="platform"):
        return f"postgres://{user}:{password}@127.0.0.1:{self.port}/{dbname}"

    def connect(self, **kw) -> psycopg.Connection:
        kw.setdefault("autocommit", True)
        dsn_kw = {k: kw.pop(k) for k in list(kw) if k in ("user", "password", "dbname", "sslmode")}
        return psycopg.connect(self.dsn(**dsn_kw), **kw)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def reload(self, **overrides):
        self.apply(overrides)
        self.write_config()
        self.proc.send_signal(signal.SIGHUP)

    def stop(self, sig=signal.SIGTERM, timeout=20.0) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def assert_clean_exit(self, timeout=20.0):
        rc = self.stop(timeout=timeout)
        assert rc == 0, f"switchyard exited with {rc}; log:\n{self.log()[-6000:]}"


@pytest.fixture
def make_proxy(supabase, tmp_path):
    made = []

    def make(start=True, **overrides):
        workdir = tmp_path / f"proxy{len(made)}"
        workdir.mkdir()
        p = Proxy(supabase, workdir, **overrides)  # overrides may include supabase={...}
        made.append(p)
        return p.start() if start else p

    yield make
    failures = []
    for p in made:
        if p.proc is None:
            continue
        rc = p.stop()
        if rc != 0:
            failures.append(f"switchyard exited with {rc}:\n{p.log()[-6000:]}")
    assert not failures, "\n".join(failures)


@pytest.fixture
def proxy(make_proxy):
    return make_proxy()


@pytest.fixture
def table(supabase):
    """A fresh table (id int, v text) in Supabase, dropped afterwards."""
    import uuid
    name = f"t_{uuid.uuid4().hex[:10]}"
    with supabase.connect() as conn:
        conn.execute(f"CREATE TABLE {name} (id int, v text)")
    yield name
    with supabase.connect() as conn:
        conn.execute(f"DROP TABLE IF EXISTS {name}")


@pytest.fixture(scope="session")
def node_modules():
    """tests/integration/node with node-postgres installed (npm ci from its lock file)."""
    if shutil.which("node") is None:
        pytest.fail("node is not installed (scripts/install-deps.sh installs it)")
    if not (NODE_DIR / "node_modules" / "pg").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=NODE_DIR,
                       check=True, timeout=300)
    return NODE_DIR
