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


# --- The legacy MySQL side (issue 7) ------------------------------------------------------------
#
# A MariaDB started by scripts/mariadb-legacy.sh with database crm (customers, subscriptions,
# payments from scripts/sql/legacy-mysql.sql) and the migration guide's accounts; a Postgres copy
# of the same rows in database legacy_ref on the Supabase stand-in, loaded FROM the MariaDB; and
# switchyard with a [mysql] section pointing at it.

MARIADB_SCRIPT = ROOT / "scripts" / "mariadb-legacy.sh"
LEGACY_PG_SQL = ROOT / "scripts" / "sql" / "legacy-pg.sql"
LEGACY_TABLES = ("customers", "subscriptions", "payments")
LEGACY_REF_DB = "legacy_ref"


class MariaDB:
    """The local MariaDB standing in for the legacy MySQL."""

    READONLY = ("crm_readonly", "ro-secret")  # GRANT SELECT ON crm.* only: what switchyard uses
    WRITER = ("crm_writer", "rw-secret")      # SELECT, INSERT, UPDATE: switchyard must refuse it
    ROOT = ("root", "root-secret")            # over the socket only
    database = "crm"

    def __init__(self, directory: Path, port: int):
        self.dir = directory
        self.port = port
        self.host = "127.0.0.1"
        self.socket = directory / "mysqld.sock"
        self.log_path = directory / "mysqld.log"

    @property
    def users(self) -> dict:
        """{"readonly": (user, password), "writer": ..., "root": ...}"""
        return {"readonly": self.READONLY, "writer": self.WRITER, "root": self.ROOT}

    def connect(self, user=READONLY[0], password=READONLY[1], **kw):
        """A pymysql connection over TCP (as switchyard connects), time_zone +00:00."""
        import pymysql
        kw.setdefault("database", self.database)
        kw.setdefault("init_command", "SET time_zone = '+00:00'")
        return pymysql.connect(host=self.host, port=self.port, user=user, password=password,
                               charset="utf8mb4", **kw)

    def root(self, **kw):
        """root over the unix socket (fixtures only: to look at or change what tests need)."""
        import pymysql
        kw.setdefault("database", self.database)
        kw.setdefault("init_command", "SET time_zone = '+00:00'")
        kw.setdefault("autocommit", True)
        return pymysql.connect(unix_socket=str(self.socket), user=self.ROOT[0],
                               password=self.ROOT[1], charset="utf8mb4", **kw)

    def query(self, sql: str, *args):
        with self.root() as conn, conn.cursor() as cur:
            cur.execute(sql, args or None)
            return cur.fetchall()

    def mysql_section(self, **overrides) -> dict:
        """switchyard's [mysql] section for this server (the issue's key names: a contract)."""
        section = {
            "host": self.host,
            "port": self.port,
            "database": self.database,
            "user": self.READONLY[0],
            "password": self.READONLY[1],
            "pool_size": 8,
            "connect_timeout_ms": 5000,
            "tls": "disable",
            "ssl_ca": "",
            "require_read_only": True,
            "tinyint1_as_bool": True,
        }
        section.update(overrides)
        return section


def start_mariadb(directory: Path, attempts: int = 3) -> MariaDB:
    """Starts scripts/mariadb-legacy.sh on a free port (another one if the port was taken meanwhile)."""
    last = None
    for _ in range(attempts):
        port = free_port()
        r = subprocess.run([str(MARIADB_SCRIPT), "start", str(directory), str(port)],
                           capture_output=True, text=True, timeout=180)
        if r.returncode == 0:
            wait_port(port, timeout=30)
            return MariaDB(directory, port)
        last = r
        subprocess.run([str(MARIADB_SCRIPT), "stop", str(directory)], check=False, timeout=60)
    raise RuntimeError(f"mariadb-legacy.sh start failed:\n{last.stdout}\n{last.stderr}")


@contextlib.contextmanager
def own_mariadb(prefix: str = "sy-mariadb-"):
    """A MariaDB of its own in a temporary directory, stopped and removed afterwards."""
    directory = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        server = start_mariadb(directory)
    except Exception:
        subprocess.run([str(MARIADB_SCRIPT), "stop", str(directory)], check=False, timeout=60)
        shutil.rmtree(directory, ignore_errors=True)
        raise
    try:
        yield server
    finally:
        subprocess.run([str(MARIADB_SCRIPT), "stop", str(directory)], check=False, timeout=60)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def mariadb():
    with own_mariadb() as server:
        yield server


# How each MySQL column is read for the Postgres copy: (MySQL select expression, kind).
# Kinds: "bool" (0/1 text), "float4" (read as DOUBLE: MySQL prints FLOAT with 6 digits only),
# "timestamptz" (UTC text, the session runs with time_zone +00:00), "date"/"timestamp" (a zero
# date becomes NULL), "bytes", "text" (everything else: its MySQL text is valid Postgres input).
def legacy_column_kinds(mdb: MariaDB, table: str):
    rows = mdb.query(
        "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE FROM information_schema.COLUMNS"
        " WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION",
        mdb.database, table)
    cols = []
    for name, data_type, column_type in rows:
        q = f"`{name}`"
        data_type, column_type = data_type.lower(), column_type.lower()
        if column_type.startswith("tinyint(1)"):
            cols.append((name, q, "bool"))
        elif data_type == "bit":
            cols.append((name, f"{q} + 0", "bool"))
        elif data_type == "float":
            cols.append((name, f"CAST({q} AS DOUBLE)", "float4"))
        elif data_type == "timestamp":
            cols.append((name, q, "timestamptz"))
        elif data_type in ("date", "datetime"):
            cols.append((name, q, data_type.replace("datetime", "timestamp")))
        elif data_type in ("binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"):
            cols.append((name, q, "bytes"))
        else:
            cols.append((name, q, "text"))
    return cols


def legacy_raw_rows(mdb: MariaDB, table: str):
    """(column names, kinds, rows of MySQL's own text: str, bytes for binary, None) ordered by key."""
    import pymysql
    cols = legacy_column_kinds(mdb, table)
    select = ", ".join(expr for _, expr, _ in cols)
    # conv={}: no conversion at all, values are exactly what the server sent.
    with mdb.root(conv={}) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT {select} FROM `{table}` ORDER BY 1")
        rows = cur.fetchall()
    return [c[0] for c in cols], [c[2] for c in cols], rows


def _pg_input(kind: str, v):
    """A MySQL text value as Postgres COPY input for the column's kind (None = NULL)."""
    if v is None:
        return None
    if isinstance(v, bytes) and kind != "bytes":
        v = v.decode()
    if kind == "bool":
        return "f" if v in ("0", "") else "t"
    if kind in ("date", "timestamp", "timestamptz") and v.startswith("0000-00-00"):
        return None  # a zero date: Postgres has none, switchyard answers NULL
    if kind == "timestamptz":
        return v + "+00"
    return v


def load_legacy_ref(mdb: MariaDB, pg_admin_conn, owner: str = "platform_owner"):
    """Copies the three legacy tables from MariaDB into the connected (empty) database."""
    with pg_admin_conn.cursor() as cur:
        cur.execute(LEGACY_PG_SQL.read_text())
        for table in LEGACY_TABLES:
            names, kinds, rows = legacy_raw_rows(mdb, table)
            collist = ", ".join(names)
            with cur.copy(f"COPY {table} ({collist}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([_pg_input(k, v) for k, v in zip(kinds, row)])
            cur.execute(f"ALTER TABLE {table} OWNER TO {owner}")
            cur.execute(f"ANALYZE {table}")


class LegacyRef:
    """The Postgres copy of the legacy tables (database legacy_ref on the Supabase stand-in)."""

    def __init__(self, sb: Supabase, dbname: str = LEGACY_REF_DB):
        self.supabase = sb
        self.dbname = dbname

    def connect(self, **kw) -> psycopg.Connection:
        """As the platform owner over TLS: what an application on Supabase would see."""
        kw.setdefault("dbname", self.dbname)
        return self.supabase.connect(**kw)

    __call__ = connect


def create_legacy_copy(sb: Supabase, mdb: MariaDB, dbname: str):
    """A fresh database <dbname> (collation C.UTF-8, like Supabase) with the legacy tables copied
    from MariaDB; returns a superuser connection to it (the caller closes it)."""
    with sb.admin() as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {dbname}")
        admin.execute(f"CREATE DATABASE {dbname} OWNER platform_owner TEMPLATE template0"
                      " ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'")
    conn = psycopg.connect(host=str(sb.dir), port=sb.port, dbname=dbname, user="postgres",
                           autocommit=True)
    conn.execute("SET TimeZone = 'UTC'")
    load_legacy_ref(mdb, conn)
    return conn


@pytest.fixture(scope="session")
def legacy_ref(supabase, mariadb):
    """Creates legacy_ref, loads it from MariaDB; a connection factory."""
    create_legacy_copy(supabase, mariadb, LEGACY_REF_DB).close()
    return LegacyRef(supabase)


def legacy_overrides(mdb: MariaDB, mysql=None, **overrides) -> dict:
    """Proxy overrides that add the [mysql] section (mysql={...} changes its keys)."""
    overrides = dict(overrides)
    overrides["mysql"] = mdb.mysql_section(**(mysql or {}))
    return overrides


@pytest.fixture
def make_legacy_proxy(make_proxy, mariadb):
    """make_proxy with a [mysql] section for the fixture MariaDB: make_legacy_proxy(mysql={...}, ...)."""
    def make(start=True, mysql=None, **overrides):
        return make_proxy(start=start, **legacy_overrides(mariadb, mysql, **overrides))
    return make


@pytest.fixture(scope="session")
def legacy_proxy(supabase, mariadb, tmp_path_factory):
    """One switchyard for a whole session of legacy reads; must exit 0 at the end."""
    workdir = tmp_path_factory.mktemp("legacy-proxy")
    p = Proxy(supabase, workdir, **legacy_overrides(mariadb))
    try:
        p.start()
    except Exception as e:
        log = p.log() if p.log_path.exists() else ""
        p.stop()
        pytest.fail(f"switchyard with [mysql] did not start: {e}\n{log[-4000:]}")
    yield p
    p.assert_clean_exit()


def run_switchyard_until_exit(sb: Supabase, workdir: Path, timeout: float = 30.0, **overrides):
    """Starts switchyard with a config it must refuse; returns (exit code, log). Kills it if it stays up."""
    p = Proxy(sb, workdir, **overrides)
    p.write_config()
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0:exitcode=99")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1:exitcode=98")
    with open(p.log_path, "ab") as logf:
        proc = subprocess.Popen([str(BIN), "-c", str(p.config_path)], stdout=logf,
                                stderr=subprocess.STDOUT, env=env)
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            rc = None  # None: it did not exit by itself
    return rc, p.log()
