#!/usr/bin/env python3
"""Compares every golden case's output columns with what PostgreSQL 15 says.

Starts a throwaway postgres (as the postgres user, via runuser) on a free port
in a temporary directory, creates the legacy tables with the Postgres types
the catalog maps them to, and asks `\\gdesc` for the name and type of each
output column of every golden input that translates (cases with parameters,
DECLARE and COPY are left out: \\gdesc needs a plain query). Prints each
difference; exits non-zero if there are any. The server is stopped in every
case.

Usage: tests/unit/translate/check_postgres.py   (as root)
"""
import glob, os, shutil, socket, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
PGBIN = "/usr/lib/postgresql/15/bin"

SCHEMA = """
CREATE TABLE customers (customer_id int8 PRIMARY KEY, name varchar(100) NOT NULL,
  phone varchar(20), email varchar(255), status text NOT NULL, grade bool NOT NULL,
  balance numeric(12,2) NOT NULL, created_at timestamp NOT NULL, updated_at timestamptz);
CREATE TABLE subscriptions (subscription_id int8 PRIMARY KEY, customer_id int8 NOT NULL,
  plan varchar(50) NOT NULL, status text NOT NULL, started_at date NOT NULL, ends_at date,
  price numeric(10,2) NOT NULL, auto_renew bool NOT NULL);
CREATE TABLE payments (payment_id numeric PRIMARY KEY, subscription_id int8 NOT NULL,
  amount numeric(12,2) NOT NULL, currency char(3) NOT NULL, paid_at timestamptz NOT NULL,
  memo text, meta json);
CREATE TABLE regions (region_id int4 PRIMARY KEY);
"""

NAMES = {"int8": "bigint", "int4": "integer", "int2": "smallint", "text": "text",
         "bool": "boolean", "date": "date", "timestamp": "timestamp without time zone",
         "timestamptz": "timestamp with time zone", "json": "json", "float8": "double precision",
         "float4": "real", "interval": "interval", "numeric": "numeric", "varchar":
         "character varying", "bpchar": "character", "bytea": "bytea"}


def pg_type(t):
    """int8 / varchar(104) / numeric(786438) as format_type() spells them."""
    if "(" in t:
        base, mod = t[:-1].split("(")
        mod = int(mod)
        if base in ("varchar", "bpchar"):
            return "%s(%d)" % (NAMES[base], mod - 4)
        if base == "numeric":
            return "numeric(%d,%d)" % ((mod - 4) >> 16, (mod - 4) & 0xffff)
        if base in ("timestamp", "timestamptz"):
            n = NAMES[base]
            return n.replace("timestamp", "timestamp(%d)" % mod)
    return NAMES.get(t, t)


def cases():
    for path in sorted(glob.glob(os.path.join(HERE, "*.golden"))):
        cur = None
        for line in open(path, encoding="utf-8"):
            line = line.rstrip("\n")
            if line.startswith("== "):
                if cur is not None and "cols" in cur:
                    yield cur
                cur = {"file": os.path.basename(path), "in": line[3:]}
            elif cur is not None and line.startswith("params: "):
                cur["params"] = line[8:].split()
            elif cur is not None and line.startswith("error: "):
                cur["error"] = line[7:]
                yield cur
                cur = None
            elif cur is not None and line.startswith("cols: "):
                cur["cols"] = [c.strip().rsplit(":", 2)[:2] for c in line[6:].split(" | ")]
            elif cur is not None and line.startswith(("declare:", "copy:")):
                cur["wrapped"] = True
            elif cur is not None and line.startswith("types:"):
                cur["typed"] = True
        if cur is not None and "cols" in cur:
            yield cur


def main():
    if os.geteuid() != 0:
        print("check_postgres.py: run as root", file=sys.stderr)
        return 2
    d = tempfile.mkdtemp(prefix="sy-xlate-pg-")
    shutil.chown(d, "postgres", "postgres")
    data = os.path.join(d, "data")
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    run = ["runuser", "-u", "postgres", "--"]
    subprocess.run(run + [PGBIN + "/initdb", "-D", data, "-A", "trust", "--locale=C.UTF-8",
                          "-E", "UTF8"], check=True, capture_output=True)
    srv = subprocess.Popen(run + [PGBIN + "/postgres", "-D", data, "-p", str(port), "-k", d,
                                  "-c", "listen_addresses="], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        psql = run + [PGBIN + "/psql", "-X", "-q", "-h", d, "-p", str(port), "-d", "postgres",
                      "-v", "ON_ERROR_STOP=1"]
        for _ in range(100):
            if subprocess.run(run + [PGBIN + "/pg_isready", "-h", d, "-p", str(port)],
                              capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        subprocess.run(psql, input=SCHEMA, text=True, check=True, capture_output=True)
        total = bad = 0
        for c in cases():
            if "error" in c:
                # Postgres' own errors (not our 0A000 refusals) must match its SQLSTATE and text.
                if c["error"].startswith("0A000") or c.get("typed") or \
                        c["in"].upper().startswith("COPY"):
                    continue
                total += 1
                q = "\\set VERBOSITY default\n%s;\n" % c["in"]
                r = subprocess.run(psql + ["-A", "-t", "-v", "VERBOSITY=sqlstate"],
                                   input="\\set VERBOSITY verbose\nEXPLAIN " + c["in"] + ";\n",
                                   text=True, capture_output=True)
                first = r.stderr.strip().split("\n")[0]
                got = first.replace("ERROR:  ", "", 1)
                want = c["error"].replace(" ", ": ", 1)
                # Errors Postgres raises only when it runs the statement (EXPLAIN passes).
                runtime = want.split(":")[0] in ("22025", "2201W", "22P02", "22012")
                if got != want and not (runtime and got == ""):
                    bad += 1
                    print("ERROR %s: %s\n  translator %s\n  postgres   %s" % (
                        c["file"], c["in"], want, got))
                continue
            if c.get("params") and not c.get("typed") and not c.get("wrapped"):
                # Parameter types as Postgres infers them for an untyped Parse.
                total += 1
                q = ("PREPARE p AS %s;\nSELECT array_to_string(parameter_types::text[], ' ') "
                     "FROM pg_prepared_statements;\n") % c["in"]
                r = subprocess.run(psql + ["-A", "-t"], input=q, text=True, capture_output=True)
                want = " ".join(NAMES.get(t, t) for t in c["params"])
                got = r.stdout.strip()
                if r.returncode != 0 or got != want:
                    bad += 1
                    print("PARAMS %s: %s\n  translator %s\n  postgres   %s %s" % (
                        c["file"], c["in"], want, got, r.stderr.strip()))
                continue
            if c.get("params") or c.get("typed") or c.get("wrapped"):
                continue
            total += 1
            r = subprocess.run(psql + ["-A", "-t", "-F", "\t"], input=c["in"] + " \\gdesc\n",
                               text=True, capture_output=True)
            got = [l.split("\t") for l in r.stdout.strip().split("\n") if l]
            want = [[n, pg_type(t)] for n, t in c["cols"]]
            if r.returncode != 0 or got != want:
                bad += 1
                print("DIFF %s: %s\n  translator %s\n  postgres   %s %s" % (
                    c["file"], c["in"], want, got, r.stderr.strip()))
        print("%d cases described by Postgres, %d differ" % (total, bad))
        return 1 if bad else 0
    finally:
        srv.terminate()
        srv.wait(timeout=30)
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
