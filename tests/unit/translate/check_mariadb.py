#!/usr/bin/env python3
"""Runs every golden MySQL text of tests/unit/translate/*.golden on a real MariaDB.

Starts a throwaway mariadbd (root only: it runs as the mysql user) in a
temporary directory on a free loopback port, loads schema.sql, then runs each
`sql:` line after the session setup statement (taken from translate.c), with
slots filled in: {tz} as 32400 (Asia/Seoul), {$n} by its parameter type
(a number, TRUE, or a quoted string). Prints the statements MariaDB rejects
and exits non-zero if there are any; the server is stopped in every case.
Also prints EXPLAIN for the indexed-equality cases, which must use idx_name.

Usage: tests/unit/translate/check_mariadb.py
"""
import glob, os, re, shutil, socket, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))


def session_setup():
    src = open(os.path.join(ROOT, "router", "translate.c")).read()
    body = src[src.index("const char *xlate_session_setup(void)"):]
    body = body[:body.index(";\n}")]
    return "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', body))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def literal(ptype, n):
    if ptype in ("int2", "int4", "int8", "numeric", "float4", "float8"):
        return str(n)
    if ptype == "bool":
        return "TRUE"
    if ptype in ("timestamp", "timestamptz"):
        return "'2024-01-01 00:00:00'"
    if ptype == "date":
        return "'2024-01-01'"
    return "'Kim'"


def cases():
    for path in sorted(glob.glob(os.path.join(HERE, "*.golden"))):
        cur = None
        for line in open(path, encoding="utf-8"):
            line = line.rstrip("\n")
            if line.startswith("== "):
                cur = {"file": os.path.basename(path), "in": line[3:]}
            elif cur is not None and line.startswith("sql: "):
                cur["sql"] = line[5:]
            elif cur is not None and line.startswith("params: "):
                cur["params"] = line[8:].split()
            if cur is not None and "sql" in cur and (line.startswith("cols:")):
                yield cur
                cur = None


def fill(c):
    sql = c["sql"].replace("{tz}", "32400")
    params = c.get("params", [])
    return re.sub(r"\{\$(\d+)\}", lambda m: literal(params[int(m.group(1)) - 1], m.group(1)), sql)


def main():
    if os.geteuid() != 0:
        print("check_mariadb.py: run as root (mariadbd runs as the mysql user)", file=sys.stderr)
        return 2
    d = tempfile.mkdtemp(prefix="sy-xlate-maria-")
    shutil.chown(d, "mysql", "mysql")
    sock = os.path.join(d, "s")
    port = free_port()
    subprocess.run(["mariadb-install-db", "--no-defaults", "--datadir=" + d, "--user=mysql",
                    "--auth-root-authentication-method=normal"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    srv = subprocess.Popen(["mariadbd", "--no-defaults", "--user=mysql", "--datadir=" + d,
                            "--socket=" + sock, "--port=%d" % port, "--bind-address=127.0.0.1",
                            "--skip-grant-tables", "--log-error=" + os.path.join(d, "err.log")])
    try:
        for _ in range(100):
            if os.path.exists(sock):
                break
            time.sleep(0.1)
        client = ["mariadb", "--no-defaults", "-uroot", "--socket=" + sock, "--batch",
                  "--skip-column-names"]
        subprocess.run(client, input=open(os.path.join(HERE, "schema.sql")).read(), text=True,
                       check=True)
        setup = session_setup()
        bad = 0
        total = 0
        for c in cases():
            total += 1
            sql = fill(c)
            r = subprocess.run(client + ["crm", "-e", setup + "; " + sql], capture_output=True,
                               text=True)
            if r.returncode != 0:
                bad += 1
                print("FAIL %s: %s\n  %s\n  %s" % (c["file"], c["in"], sql, r.stderr.strip()))
        for c in cases():
            if c["in"] in ("SELECT customer_id FROM customers WHERE name = 'Kim'",
                           "SELECT customer_id FROM customers WHERE name IN ('Kim', 'Lee')",
                           "SELECT customer_id FROM customers WHERE name LIKE 'Kim%'"):
                r = subprocess.run(client + ["crm", "-e", setup + "; EXPLAIN " + fill(c)],
                                   capture_output=True, text=True)
                print("EXPLAIN %s\n  %s" % (c["in"], r.stdout.strip().replace("\n", "\n  ")))
        print("%d statements executed, %d rejected by MariaDB" % (total, bad))
        return 1 if bad else 0
    finally:
        srv.terminate()
        srv.wait(timeout=30)
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
