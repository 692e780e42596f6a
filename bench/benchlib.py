"""What the benchmarks share: starting the servers they compare.

One local PostgreSQL 15 configured like Supabase (scripts/pg-supabase.sh: TLS
with its own CA, SCRAM over TLS only) is everyone's upstream; PgBouncer and
switchyard are started against it with a configuration built from the
caller's settings on top of the defaults every benchmark uses (the forced
upstream user platform_owner over TLS verify-full, client user app). Each
start returns the process and the port it listens on, once it listens.

Used by bench/pgbench_compare.py and bench/idle_memory.py.
"""
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG_SCRIPT = ROOT / "scripts" / "pg-supabase.sh"
SWITCHYARD = ROOT / "build" / "switchyard"
SWITCHYARD_NOROUTER = ROOT / "build-norouter" / "switchyard"
APP_USER, APP_PASSWORD, DB = "app", "app-secret", "platform"
OWNER, OWNER_PASSWORD = "platform_owner", "owner-secret"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"port {port} not listening")


def stop(proc):
    """SIGTERM, then SIGKILL if the process is still there after 20 s."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# ---- PostgreSQL ----

def start_postgres(pg):
    """Starts (initdb and seeds the first time) the upstream described by pg = {"dir", "port"}.
    The postgres user must be able to reach pg["dir"]."""
    subprocess.run([str(PG_SCRIPT), "start", str(pg["dir"]), str(pg["port"])], check=True)


def stop_postgres(pg):
    subprocess.run([str(PG_SCRIPT), "stop", str(pg["dir"])], check=False)


def postgres_query(pg, sql):
    """Runs sql as the postgres superuser over the Unix socket, in the postgres database (so
    that it adds no session to the platform database); returns psql's unaligned output."""
    out = subprocess.run(["runuser", "-u", "postgres", "--", "psql", "-h", str(pg["dir"]),
                          "-p", str(pg["port"]), "-d", "postgres", "-tAXc", sql],
                         capture_output=True, text=True, check=True, cwd="/")
    return out.stdout.strip()


def upstream_logins(pg, db=DB):
    """Sessions ever started on db (pg_stat_database.sessions): the difference over a run is
    the number of upstream logins during it. A backend counts its own session when it first
    goes idle, i.e. right after its login."""
    return int(postgres_query(pg, f"SELECT sessions FROM pg_stat_database WHERE datname = '{db}'"))


# ---- switchyard ----

def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def toml_table(name, values):
    return f"[{name}]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in values.items())


def start_switchyard(work, pg, label, binary=SWITCHYARD, proxy=None, supabase=None, extra="",
                     prefix=(), timeout=15):
    """Starts switchyard with <work>/<label>.toml (log in <work>/<label>.log).

    proxy and supabase are keys for those tables, over these defaults: listen on a free
    loopback port, workers = 1, client_tls = "disable", log_level = "warn"; the upstream
    is pg as platform_owner over TLS verify-full. One client user, app. extra is TOML text
    appended as is (e.g. a [legacy] table). prefix is a command to run switchyard under
    (valgrind, taskset); timeout how long to wait for it to listen. Returns (process, port)."""
    port = free_port()
    proxy_keys = {"listen": f"127.0.0.1:{port}", "workers": 1, "client_tls": "disable",
                  "log_level": "warn"}
    proxy_keys.update(proxy or {})
    upstream = {"host": "127.0.0.1", "port": pg["port"], "database": DB, "user": OWNER,
                "password": OWNER_PASSWORD, "sslmode": "verify-full",
                "sslrootcert": f"{pg['dir']}/ca.crt"}
    upstream.update(supabase or {})
    cfg = Path(work) / f"{label}.toml"
    cfg.write_text("\n".join([toml_table("proxy", proxy_keys),
                              toml_table("[users]", {"name": APP_USER, "password": APP_PASSWORD}),
                              toml_table("supabase", upstream), extra]))
    log = open(Path(work) / f"{label}.log", "wb")
    proc = subprocess.Popen([*prefix, str(binary), "-c", str(cfg)], stdout=log, stderr=log)
    log.close()  # the child has its own copy
    try:
        wait_port(port, timeout)
    except TimeoutError:
        proc.kill()
        raise
    return proc, port


# ---- PgBouncer ----

def start_pgbouncer(work, pg, label, settings, files=("ca.crt",)):
    """Starts PgBouncer from <work>/<label>/pgbouncer.ini, run as the postgres user.

    One database, platform, reached as platform_owner; auth_file holds app's password in
    clear text (so md5 and scram-sha-256 both work). settings are [pgbouncer] keys over
    these defaults: a free loopback port, no Unix socket, TLS verify-full to the upstream,
    no connection logging; "{dir}" in a value stands for <work>/<label>. files are copied
    from the Postgres directory into <work>/<label> (the CA, certificates). Returns
    (process, port)."""
    port = free_port()
    pgb = Path(work) / label
    pgb.mkdir()
    for f in files:
        shutil.copy(f"{pg['dir']}/{f}", pgb / f)
    (pgb / "userlist.txt").write_text(f'"{APP_USER}" "{APP_PASSWORD}"\n')
    keys = {"listen_addr": "127.0.0.1", "listen_port": port, "unix_socket_dir": "",
            "auth_file": "{dir}/userlist.txt", "server_tls_sslmode": "verify-full",
            "server_tls_ca_file": "{dir}/ca.crt", "log_connections": 0,
            "log_disconnections": 0, "logfile": "{dir}/pgbouncer.log",
            "pidfile": "{dir}/pgbouncer.pid"}
    keys.update(settings)
    body = "".join(f"{k} = {str(v).replace('{dir}', str(pgb))}\n" for k, v in keys.items())
    (pgb / "pgbouncer.ini").write_text(
        f"[databases]\n{DB} = host=127.0.0.1 port={pg['port']} dbname={DB} user={OWNER} "
        f"password={OWNER_PASSWORD}\n\n[pgbouncer]\n{body}")
    subprocess.run(["chown", "-R", "postgres:postgres", str(pgb)], check=True)
    proc = subprocess.Popen(["pgbouncer", "-u", "postgres", str(pgb / "pgbouncer.ini")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
    except TimeoutError:
        proc.kill()
        raise
    return proc, port


def write_results(out, lines):
    """Writes a report (lines of Markdown) to <out>, keeping hand-written notes below
    its "<!-- notes -->" marker from the previous run, and prints it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    text = "\n".join(lines) + "\n"
    marker = "\n<!-- notes -->\n"
    if out.exists() and marker in out.read_text():
        text += marker + out.read_text().split(marker, 1)[1]
    out.write_text(text)
    print(text)
    print(f"written to {out}")
