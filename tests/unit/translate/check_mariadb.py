#!/usr/bin/env python3
"""Runs every golden MySQL text of tests/unit/translate/*.golden on a real MariaDB.

Starts a throwaway mariadbd (root only: it runs as the mysql user) in a
temporary directory on a free loopback port, loads schema.sql, then runs each
`sql:` line after the session setup statement (taken from translate.c), with
slots filled in: {tz} as 32400 (Asia/Seoul), {tz:utc}/{tz:local} as Seoul's
first steps, {$n} by its parameter type (a number, TRUE, or a quoted string). Prints the statements MariaDB rejects
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


# What Postgres answers for schema.sql's rows (as MariaDB's client prints the
# MySQL side: booleans 1/0, NULL as NULL); 17_semantics.golden's cases.
EXPECT = {
    "SELECT customer_id FROM customers WHERE name = 'Kim'": "1",
    "SELECT customer_id FROM customers WHERE name = 'Kim '": "3",
    "SELECT count(*) FROM customers WHERE name IN ('kim')": "1",
    "SELECT name FROM customers ORDER BY name": "Kim\nKim \nit's\nkim\n김철수",
    "SELECT count(*) FROM (SELECT DISTINCT name FROM customers) t": "5",
    "SELECT name, count(*) FROM customers GROUP BY name ORDER BY name":
        "Kim\t1\nKim \t1\nit's\t1\nkim\t1\n김철수\t1",
    "SELECT customer_id FROM customers WHERE email LIKE 'kim%' ORDER BY 1": "1",
    "SELECT customer_id FROM customers WHERE email ILIKE 'kim%' ORDER BY 1": "1\n2",
    "SELECT customer_id FROM customers ORDER BY phone, customer_id": "1\n3\n4\n2\n5",
    "SELECT customer_id FROM customers ORDER BY phone DESC, customer_id": "2\n5\n4\n3\n1",
    "SELECT min(name), max(name) FROM customers": "Kim\t김철수",
    "SELECT greatest(phone, email), least(phone, email) FROM customers WHERE customer_id = 2":
        "KIM@example.com\tKIM@example.com",
    "SELECT -7 / 2, 7 % -3, -7 % 3": "-3\t1\t-1",
    "SELECT count(*) FROM (SELECT name FROM customers UNION SELECT plan FROM subscriptions) u": "8",
    "SELECT concat('a', NULL, 'b'), 'a' || NULL": "ab\tNULL",
    "SELECT substring('hello' from 0 for 3), left('abc', -1), right('abc', -1)": "he\tab\tbc",
    "SELECT string_agg(name, ',' ORDER BY name) FROM customers": "Kim,Kim ,it's,kim,김철수",
    "SELECT payment_id FROM payments WHERE memo LIKE '%\\%%'": "3",
    "SELECT payment_id FROM payments WHERE memo LIKE '%\\\\%'": "3",
    "SELECT plan, count(*) FROM subscriptions GROUP BY plan ORDER BY plan":
        "Kim\t1\nPro\t1\nbasic\t1\npro\t1",
    "SELECT customer_id FROM customers WHERE name LIKE 'Kim_'": "3",
    "SELECT customer_id FROM customers WHERE name LIKE '김%'": "4",
    "SELECT name = 'Kim', grade, grade AND balance > 100 FROM customers ORDER BY customer_id":
        "1\t1\t1\n0\t0\t0\n0\t0\t0\n0\t1\t1\n0\t0\t0",
    "SELECT position('K' in name) FROM customers WHERE customer_id = 2": "0",
    "SELECT count(DISTINCT plan) FROM subscriptions": "4",
    "SELECT customer_id FROM customers WHERE name > 'Kim' ORDER BY 1": "2\n3\n4\n5",
    # avg's scale as Postgres prints it (select_div_scale), values from PostgreSQL 15.
    "SELECT avg(balance) FROM customers": "228.0980000000000000",
    "SELECT avg(customer_id), avg(grade::int) FROM customers":
        "3.0000000000000000\t0.40000000000000000000",
    "SELECT avg(price) FROM subscriptions": "27.1750000000000000",
    "SELECT avg(customer_id) FROM customers WHERE customer_id > 100": "NULL",
    # numeric division's scale, values from PostgreSQL 15.
    "SELECT balance / 3 FROM customers ORDER BY customer_id":
        "40.1666666666666667\n0.00000000000000000000\n5.0000000000000000\n"
        "333.3300000000000000\n1.6666666666666667",
    "SELECT 7.0 / 2, 1 / 3.0, 10.00 / 4":
        "3.5000000000000000\t0.33333333333333333333\t2.5000000000000000",
    "SELECT customer_id, price / 2 FROM subscriptions ORDER BY subscription_id":
        "1\t14.9500000000000000\n1\t9.9500000000000000\n2\t4.9500000000000000\n"
        "4\t24.5000000000000000",
    "SELECT status, avg(balance) FROM customers GROUP BY status ORDER BY 2 DESC":
        "active\t375.1633333333333333\nsuspended\t15.0000000000000000\n"
        "inactive\t0.00000000000000000000",
}


# MySQL warnings proxy/mysql.c raises as errors (division by zero, out of range, truncation).
WARN_ERRORS = {"1365", "1264", "1292", "1366", "1690", "1411"}


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


# Asia/Seoul's first steps (tz_steps, as xlate_tz_steps_text writes them): LMT +08:27:52,
# +08:30 from 1908-04-01, KST +09 from 1912.
SEOUL_UTC = ", 60186814328, 60305182200) + 1, 30472, 30600, 32400"
SEOUL_LOCAL = ", 60186844928, 60305214600) + 1, 30472, 30600, 32400"


def fill(c):
    sql = c["sql"].replace("{tz}", "32400").replace("{tz:utc}", SEOUL_UTC).replace("{tz:local}", SEOUL_LOCAL)
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
    for attempt in range(3):
        # mariadb-install-db now and then fails when other servers start at the same time.
        inst = subprocess.run(["mariadb-install-db", "--no-defaults", "--datadir=" + d,
                               "--user=mysql", "--auth-root-authentication-method=normal"],
                              capture_output=True, text=True)
        if inst.returncode == 0:
            break
        shutil.rmtree(d, ignore_errors=True)
        os.mkdir(d)
        shutil.chown(d, "mysql", "mysql")
    if inst.returncode != 0:
        print(inst.stdout + inst.stderr, file=sys.stderr)
        shutil.rmtree(d, ignore_errors=True)
        return 2
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
        checked = set()
        wrong = 0
        warned = 0
        for c in cases():
            total += 1
            sql = fill(c)
            r = subprocess.run(client + ["crm", "-e", setup + "; " + sql], capture_output=True,
                               text=True)
            # The proxy turns these warnings into Postgres errors: the text must not cause them.
            w = subprocess.run(client + ["crm", "-e", setup + "; " + sql + "; SHOW WARNINGS"],
                               capture_output=True, text=True)
            codes = [l.split("\t") for l in w.stdout.split("\n") if l.startswith(("Warning", "Note"))]
            hits = [c for c in codes if len(c) > 1 and c[1] in WARN_ERRORS]
            if r.returncode == 0 and hits and "/ 0" not in c["in"]:
                warned += 1
                print("WARN %s: %s\n  %s\n  %s" % (c["file"], c["in"], sql, hits))
            if r.returncode != 0:
                bad += 1
                print("FAIL %s: %s\n  %s\n  %s" % (c["file"], c["in"], sql, r.stderr.strip()))
            elif c["in"] in EXPECT:
                checked.add(c["in"])
                got = r.stdout.rstrip("\n")
                if got != EXPECT[c["in"]]:
                    wrong += 1
                    print("WRONG %s: %s\n  expected %r\n  got      %r" % (c["file"], c["in"],
                                                                        EXPECT[c["in"]], got))
        for c in cases():
            if c["in"] in ("SELECT customer_id FROM customers WHERE name = 'Kim'",
                           "SELECT customer_id FROM customers WHERE name IN ('Kim', 'Lee')",
                           "SELECT customer_id FROM customers WHERE name LIKE 'Kim%'"):
                r = subprocess.run(client + ["crm", "-e", setup + "; EXPLAIN " + fill(c)],
                                   capture_output=True, text=True)
                print("EXPLAIN %s\n  %s" % (c["in"], r.stdout.strip().replace("\n", "\n  ")))
        print("%d statements executed, %d rejected by MariaDB, %d raise warnings the proxy "
              "turns into errors; %d results compared with Postgres' answers, %d differ" % (
                  total, bad, warned, len(checked), wrong))
        return 1 if bad or wrong or warned or len(checked) != len(EXPECT) else 0
    finally:
        srv.terminate()
        srv.wait(timeout=30)
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
