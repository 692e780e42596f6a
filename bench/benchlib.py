"""What the benchmarks share: starting the servers they compare.

One local PostgreSQL 15 configured like Supabase (scripts/pg-supabase.sh: TLS
with its own CA, SCRAM over TLS only) is everyone's upstream; PgBouncer and
switchyard are started against it with a configuration built from the
caller's settings on top of the defaults every benchmark uses (the forced
upstream user platform_owner over TLS verify-full, client user app). Each
start returns the process and the port it listens on, once it listens.

A local MariaDB 10.11 stands in for the legacy MySQL (start_mariadb: loopback
and a Unix socket in a temporary directory, root over the socket); the
callers seed it themselves.

Used by bench/pgbench_compare.py, bench/idle_memory.py, bench/session_cpu.py
and bench/legacy_reads.py.
"""
import os
import re
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


class ProcessExited(TimeoutError):
    """The process that should have listened exited first (its returncode is in .returncode)."""

    def __init__(self, message, returncode):
        super().__init__(message)
        self.returncode = returncode


def wait_port(port, timeout=15, proc=None):
    """Waits until something accepts on 127.0.0.1:<port>. With proc, gives up as soon as that
    process has exited (ProcessExited) instead of waiting out the timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise ProcessExited(f"pid {proc.pid} exited with {proc.returncode} before listening "
                                f"on port {port}", proc.returncode)
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
        wait_port(port, timeout, proc)
    except TimeoutError:
        proc.kill()
        proc.wait()
        raise
    return proc, port


# ---- MariaDB (the legacy MySQL) ----

def start_mariadb(my, settings=None, timeout=60):
    """Starts a MariaDB server described by my = {"dir", "port"}: mariadb-install-db the first
    time (root@localhost authenticated by the Unix socket: we run as root), then mariadbd as the
    mysql user on 127.0.0.1:<port> and the socket <dir>/s, log in <dir>/error.log. settings are
    extra mariadbd options over these defaults (name without "--" -> value). Fills my["proc"]
    (the mariadbd process, whose pid is the server's) and my["socket"]; returns the process.
    The mysql user must be able to reach my["dir"]."""
    d = Path(my["dir"])
    d.mkdir(parents=True, exist_ok=True)
    data = d / "data"
    if not (data / "mysql").is_dir():
        subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={data}", "--user=mysql",
                        "--auth-root-authentication-method=socket", "--skip-test-db"],
                       check=True, capture_output=True, cwd="/")
    subprocess.run(["chown", "-R", "mysql:mysql", str(d)], check=True)
    opts = {"user": "mysql", "datadir": data, "port": my["port"], "bind-address": "127.0.0.1",
            "socket": d / "s", "pid-file": d / "mariadbd.pid", "log-error": d / "error.log",
            "skip-name-resolve": None, "max-connections": 500,
            "innodb-buffer-pool-size": "256M", "innodb-flush-log-at-trx-commit": 2,
            "innodb-doublewrite": 0, "skip-log-bin": None}
    opts.update(settings or {})
    cmd = ["mariadbd", "--no-defaults"] + [f"--{k}" if v is None else f"--{k}={v}"
                                           for k, v in opts.items()]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd="/")
    try:
        wait_port(my["port"], timeout, proc)
    except TimeoutError as e:
        proc.kill()
        proc.wait()
        log = d / "error.log"
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise RuntimeError(f"mariadbd did not start: {e}\n{tail}") from None
    my["proc"], my["socket"] = proc, str(d / "s")
    return proc


def stop_mariadb(my):
    if my.get("proc") is not None:
        stop(my["proc"])
        my["proc"] = None


def mariadb_query(my, sql, database=None):
    """Runs sql (one or more statements) as root over the Unix socket; returns the batch-mode
    output (tab-separated, no column names)."""
    cmd = ["mariadb", "--no-defaults", "-S", my["socket"], "-u", "root", "-N", "-B"]
    if database:
        cmd += ["-D", database]
    out = subprocess.run(cmd, input=sql, capture_output=True, text=True, cwd="/")
    if out.returncode != 0:
        raise RuntimeError(f"mariadb: {out.stderr.strip()}")
    return out.stdout.strip()


# ---- CPU time ----

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """utime + stime of a process (all its threads) so far, in seconds, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


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


NOTES_MARKER = "\n<!-- notes -->\n"
SECTION_RE = re.compile(r"<!-- section: ([\w.-]+) -->\n.*?<!-- /section: \1 -->\n", re.S)


def _sections(text):
    """The sections write_section put in a report: name -> the text with its markers."""
    return {m.group(1): m.group(0) for m in SECTION_RE.finditer(text)}


def write_results(out, lines):
    """Writes a report (lines of Markdown) to <out>, keeping from the previous file the
    sections other benchmarks wrote there with write_section, and hand-written notes below its
    "<!-- notes -->" marker; prints it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    text = "\n".join(lines) + "\n"
    old = out.read_text() if out.exists() else ""
    body, _, notes = old.partition(NOTES_MARKER)
    for name, section in _sections(body).items():
        if f"<!-- section: {name} -->" not in text:
            text += "\n" + section
    if notes or NOTES_MARKER in old:
        text += NOTES_MARKER + notes
    out.write_text(text)
    print(text)
    print(f"written to {out}")


def write_section(out, name, lines):
    """Puts a report section (lines of Markdown, normally starting with a "## " heading) into
    <out> between "<!-- section: name -->" markers: it replaces that section of the previous
    file, or is appended (above the notes marker); the rest of the file stays as it was, and
    write_results keeps the section when another benchmark rewrites the file. Prints it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    section = f"<!-- section: {name} -->\n" + "\n".join(lines) + f"\n<!-- /section: {name} -->\n"
    old = out.read_text() if out.exists() else ""
    body, marker, notes = old.partition(NOTES_MARKER)
    current = _sections(body).get(name)
    if current is not None:
        body = body.replace(current, section, 1)
    else:
        body = (body.rstrip("\n") + "\n\n" if body.strip() else "") + section
    out.write_text(body + marker + notes)
    print(section)
    print(f"written to {out} (section {name})")
