#!/usr/bin/env python3
r"""Regenerates the differential vectors for test_pgvalue and test_tz from a real PostgreSQL 15.

Usage: gen.py HOST PORT [USER]   (a throwaway server; nothing is written to it but temp functions)

Every expected value below is what Postgres printed (or sent, or refused) for the case; the
inputs are what MySQL's text protocol would carry for the same value. Files written next to
this script:

  text.tsv    conv oid typmod TimeZone DateStyle IntervalStyle extra_float_digits bytea_output
              input expected          -- pgv_text
  binary.tsv  conv oid typmod input expected-hex                                 -- pgv_binary
  param.tsv   oid format TimeZone input expected (OK <literal> | ERR <sqlstate> <message>)
                                                                                 -- pgv_param_literal
  tz.tsv      at  zone utc-seconds offset abbrev   /  local zone local-seconds utc-seconds
                                                                                 -- tz_offset_*
Fields are escaped: \\ \t \n and \xHH for bytes outside 0x20..0x7e. The TZif files the zones
come from are copied into zoneinfo/ so the tests do not depend on the host's tzdata.
"""
import datetime
import math
import os
import random
import shutil
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
HOST, PORT = sys.argv[1], sys.argv[2]
USER = sys.argv[3] if len(sys.argv) > 3 else "postgres"
random.seed(7)

# catalog.h enum pgv_conv / enum pg_oid
C = dict(TEXT=0, BPCHAR=1, BOOL=2, BIT_BOOL=3, INT=4, NUMERIC=5, FLOAT4=6, FLOAT8=7, DATE=8,
         TIMESTAMP=9, TIMESTAMPTZ=10, INTERVAL=11, BYTEA=12)
OID = dict(bool=16, bytea=17, int8=20, int2=21, int4=23, text=25, json=114, float4=700,
           float8=701, bpchar=1042, varchar=1043, date=1082, timestamp=1114, timestamptz=1184,
           interval=1186, numeric=1700)

ZONES = ["America/New_York", "Europe/Berlin", "Asia/Seoul", "Australia/Lord_Howe", "UTC",
         "Asia/Kolkata", "America/St_Johns", "Europe/Dublin", "Pacific/Apia", "America/Nuuk",
         "Asia/Jerusalem"]
FIXED = ["UTC+9", "KST-9", "+09:00", "-03:30", "9", "-3.5", "EST5EDT", "GMT",
         "<+0330>-3:30", "CET-1CEST,M3.5.0,M10.5.0/3"]


def esc(b):
    if isinstance(b, str):
        b = b.encode()
    out = []
    for c in b:
        if c == 0x5C:
            out.append("\\\\")
        elif c == 9:
            out.append("\\t")
        elif c == 10:
            out.append("\\n")
        elif 0x20 <= c <= 0x7E:
            out.append(chr(c))
        else:
            out.append("\\x%02x" % c)
    return "".join(out)


def sql_lit(s):
    return "'" + s.replace("'", "''") + "'"


def sql_bytes_lit(b):
    return "decode('%s','hex')" % b.hex()


PRELUDE = r"""
SET client_min_messages = warning;
CREATE OR REPLACE FUNCTION pg_temp.run(expr text, tz text, ds text, ist text, efd text, bo text)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
  PERFORM set_config('TimeZone', tz, true);
  PERFORM set_config('DateStyle', ds, true);
  PERFORM set_config('IntervalStyle', ist, true);
  PERFORM set_config('extra_float_digits', efd, true);
  PERFORM set_config('bytea_output', bo, true);
  EXECUTE 'SELECT concat(' || expr || ')' INTO r;
  RETURN 'OK ' || r;
EXCEPTION WHEN others THEN
  RETURN 'ERR ' || SQLSTATE || ' ' || SQLERRM;
END $$;
"""


def run_many(rows):
    """rows: (expr, tz, ds, ist, efd, bo) -> list of 'OK value' / 'ERR state msg'."""
    out = []
    for start in range(0, len(rows), 400):
        chunk = rows[start:start + 400]
        vals = ",\n".join("(%d,%s,%s,%s,%s,%s,%s)" % (i, sql_lit(r[0]), sql_lit(r[1]),
                                                     sql_lit(r[2]), sql_lit(r[3]),
                                                     sql_lit(str(r[4])), sql_lit(r[5]))
                          for i, r in enumerate(chunk))
        sql = PRELUDE + ("BEGIN;\nSELECT encode(convert_to(pg_temp.run(e,tz,ds,ist,efd,bo),"
                         "'UTF8'),'hex') FROM (VALUES %s) v(i,e,tz,ds,ist,efd,bo) ORDER BY i;\n"
                         "COMMIT;\n" % vals)
        res = subprocess.run(["psql", "-X", "-q", "-h", HOST, "-p", PORT, "-U", USER, "-At",
                              "-v", "ON_ERROR_STOP=1"], input=sql.encode(),
                             capture_output=True, check=True)
        lines = [ln for ln in res.stdout.decode().split("\n") if ln and ln not in ("BEGIN", "COMMIT")]
        assert len(lines) == len(chunk), (len(lines), len(chunk), res.stderr)
        out += [bytes.fromhex(ln).decode() for ln in lines]
    return out


DEF = ("UTC", "ISO, MDY", "postgres", 1, "hex")


def pg_ts_literal(my, tz=False):
    """MySQL 'YYYY-MM-DD[ HH:MM:SS]' (year 0 allowed) as a Postgres literal."""
    y = int(my[:4])
    s = my if y > 0 else "%04d%s" % (1 - y, my[4:])
    return s + ("+00" if tz else "") + (" BC" if y <= 0 else "")


# ---------------------------------------------------------------- text.tsv / binary.tsv
text_cases = []  # (conv, oid, typmod, settings, input bytes, expr)
bin_cases = []   # (conv, oid, typmod, input bytes, expr)

DATESTYLES = ["ISO, MDY", "ISO, DMY", "SQL, MDY", "SQL, DMY", "Postgres, MDY", "Postgres, DMY",
              "German, DMY", "SQL, YMD", "Postgres, YMD"]

# Instants (UTC, as MySQL prints a TIMESTAMP with time_zone '+00:00') around transitions.
instants = []
for base in ["2026-03-08 07:00:00", "2026-11-01 06:00:00",  # New York
             "2026-03-29 01:00:00", "2026-10-25 01:00:00",  # Berlin, Dublin
             "2026-04-04 15:00:00", "2026-10-03 15:30:00",  # Lord Howe (30-minute DST)
             "1988-05-07 17:00:00", "1988-10-08 16:00:00",  # Seoul 1988 DST
             "2026-09-27 13:00:00", "2011-12-29 10:00:00"]:  # Apia skipped a day
    t = datetime.datetime.strptime(base, "%Y-%m-%d %H:%M:%S")
    for d in (-1, 0, 1, -1800, 1800):
        instants.append((t + datetime.timedelta(seconds=d)).strftime("%Y-%m-%d %H:%M:%S"))
instants += ["2026-03-01 03:34:56.5", "2026-07-01 12:00:00.000001", "1970-01-01 00:00:00",
             "1900-06-15 12:00:00", "1800-01-01 00:00:00.25", "2040-07-04 04:00:00",
             "2100-03-14 07:30:00", "2300-10-31 12:00:00", "0000-06-15 12:00:00",
             "0000-01-01 00:00:00", "1000-01-01 00:00:00", "9999-12-31 23:59:59.999999",
             "2038-01-19 03:14:08", "1901-12-13 20:45:52", "1969-12-31 23:59:59.9"]

for zone in ZONES + FIXED:
    for i, ins in enumerate(instants):
        ds = DATESTYLES[i % len(DATESTYLES)] if zone not in ("UTC", "America/New_York") else None
        for d in ([ds] if ds else DATESTYLES[:7]):
            text_cases.append((C["TIMESTAMPTZ"], OID["timestamptz"], -1,
                               (zone, d, "postgres", 1, "hex"), ins,
                               "%s::timestamptz" % sql_lit(pg_ts_literal(ins, True))))

ts_inputs = ["2026-03-01 12:34:56.5", "2026-03-01 12:34:56", "2026-12-31 23:59:59.999999",
             "2024-02-29 00:00:00.01", "0000-02-29 13:00:00", "0000-12-31 23:59:59.123",
             "1000-01-01 00:00:00", "9999-12-31 23:59:59", "1970-01-01 00:00:00.100000",
             "2000-01-01 00:00:00", "1999-12-31 23:59:59.5"]
for ins in ts_inputs:
    for d in DATESTYLES:
        text_cases.append((C["TIMESTAMP"], OID["timestamp"], -1, ("UTC", d, "postgres", 1, "hex"),
                           ins, "%s::timestamp" % sql_lit(pg_ts_literal(ins))))
    bin_cases.append((C["TIMESTAMP"], OID["timestamp"], -1, ins,
                      "encode(timestamp_send(%s::timestamp),'hex')" % sql_lit(pg_ts_literal(ins))))
    bin_cases.append((C["TIMESTAMPTZ"], OID["timestamptz"], -1, ins,
                      "encode(timestamptz_send(%s::timestamptz),'hex')"
                      % sql_lit(pg_ts_literal(ins, True))))

date_inputs = ["2026-03-01", "2024-02-29", "0000-01-01", "0000-12-31", "1000-01-01",
               "9999-12-31", "2000-01-01", "1999-12-31", "1970-01-01", "2026-12-07"]
for ins in date_inputs:
    for d in DATESTYLES:
        text_cases.append((C["DATE"], OID["date"], -1, ("UTC", d, "postgres", 1, "hex"), ins,
                           "%s::date" % sql_lit(pg_ts_literal(ins))))
    bin_cases.append((C["DATE"], OID["date"], -1, ins,
                      "encode(date_send(%s::date),'hex')" % sql_lit(pg_ts_literal(ins))))

time_inputs = ["00:00:00", "12:34:56", "-12:34:56", "838:59:59", "-838:59:59",
               "01:00:00", "00:01:00", "00:00:01", "-00:00:01", "00:00:00.5", "-00:00:00.5",
               "01:01:01.000001", "-01:01:01.25", "100:00:00", "00:59:59.999999",
               "23:00:00.100000", "-00:01:00", "01:00:01", "00:00:00.000000", "02:02:02"]
for ins in time_inputs:
    for st in ["postgres", "postgres_verbose", "sql_standard", "iso_8601"]:
        text_cases.append((C["INTERVAL"], OID["interval"], -1, ("UTC", "ISO, MDY", st, 1, "hex"),
                           ins, "%s::interval" % sql_lit(ins)))
    bin_cases.append((C["INTERVAL"], OID["interval"], -1, ins,
                      "encode(interval_send(%s::interval),'hex')" % sql_lit(ins)))

# Floats: edge cases, powers of two (Ryu's asymmetric interval), random doubles of every scale.
f8 = ["0", "-0", "0.1", "1e+20", "1e20", "1.5e-07", "100000", "1e16", "1e15", "1e14",
      "123456789012345", "1234567890123456", "12345678901234567", "0.0001", "0.00001",
      "1.7976931348623157e308", "2.2250738585072014e-308", "5e-324", "4.9e-324", "-1.5",
      "3.141592653589793", "2.718281828459045", "9007199254740992", "9007199254740993",
      "0.3", "1.1", "123.456", "-99999.99999", "1e-5", "1e-4", "1e22", "1e23", "5e-5",
      "299792458", "6.02214076e23", "1.602176634e-19", "0.30000000000000004", "1e300",
      "-1e-300", "1e100", "8.98846567431158e307", "4294967296", "18446744073709551616",
       "9.5e21", "9.7e21", "1.9e22", "2.1e22", "5e22", "3.1e22", "9e23", "6.2e22"]
f8 += [repr(2.0 ** k) for k in range(-1074, 1024, 29)]
for _ in range(60):
    f8.append(repr(struct.unpack("<d", struct.pack("<Q", random.getrandbits(63)))[0]))
for _ in range(40):
    f8.append(repr(random.uniform(-1, 1) * 10 ** random.randint(-8, 20)))
f8 = [x for x in f8 if x not in ("nan", "inf", "-inf")]
f4 = ["0", "-0", "0.1", "1e+20", "1.5e-07", "100000", "123456", "1234567", "1e6", "1e-4",
      "1e-5", "3.4028235e38", "1.17549435e-38", "1e-45", "1.4e-45", "3.14159", "2.7182817",
      "16777216", "16777217", "0.3", "1.1", "-99999.9", "1e10", "123.456", "0.33333334"]
f4 += [repr(2.0 ** k) for k in range(-149, 128, 11)]
for _ in range(40):
    f4.append(repr(struct.unpack("<f", struct.pack("<I", random.getrandbits(31)))[0]))
f4 = [x for x in f4 if x not in ("nan", "inf", "-inf")]
for ins in f8:
    for efd in (1, 3, 0, -4, -15, 2):
        if efd not in (1, 0) and random.random() < 0.6:
            continue
        text_cases.append((C["FLOAT8"], OID["float8"], -1, ("UTC", "ISO, MDY", "postgres", efd, "hex"),
                           ins, "%s::float8" % sql_lit(ins)))
    bin_cases.append((C["FLOAT8"], OID["float8"], -1, ins,
                      "encode(float8send(%s::float8),'hex')" % sql_lit(ins)))
for ins in f4:
    for efd in (1, 0, 3, -2, -15):
        if efd not in (1, 0) and random.random() < 0.6:
            continue
        text_cases.append((C["FLOAT4"], OID["float4"], -1, ("UTC", "ISO, MDY", "postgres", efd, "hex"),
                           ins, "%s::float4" % sql_lit(ins)))
    bin_cases.append((C["FLOAT4"], OID["float4"], -1, ins,
                      "encode(float4send(%s::float4),'hex')" % sql_lit(ins)))

# Bulk: random bit patterns (every exponent) and short decimals, default extra_float_digits.
for _ in range(3000):
    x = struct.unpack("<d", struct.pack("<Q", random.getrandbits(64)))[0]
    if x == x and abs(x) != float("inf"):
        text_cases.append((C["FLOAT8"], OID["float8"], -1, DEF, repr(x), "%s::float8" % sql_lit(repr(x))))
for _ in range(1500):
    x = struct.unpack("<f", struct.pack("<I", random.getrandbits(32)))[0]
    if x == x and abs(x) != float("inf"):
        text_cases.append((C["FLOAT4"], OID["float4"], -1, DEF, repr(x), "%s::float4" % sql_lit(repr(x))))

nums = ["0", "0.00", "-0.00", "1", "-1", "12345.678", "-0.5", "0.0001", "10000", "100000000",
        "99999999999999999999999999999999999999999999999999999999999999999",
        "-123456789012345678901234567890.123456789012345678901234567890",
        "0.000000000000000000000000000001", "18446744073709551615", "1.10", "123.4500",
        "-9999.9999", "1000.0001", "0.1000", "00042.50", "7", "-0", "3.14159265358979323846"]
for ins in nums:
    text_cases.append((C["NUMERIC"], OID["numeric"], -1, DEF, ins, "%s::numeric" % sql_lit(ins)))
    bin_cases.append((C["NUMERIC"], OID["numeric"], -1, ins,
                      "encode(numeric_send(%s::numeric),'hex')" % sql_lit(ins)))

for typ, vals in [("int2", ["0", "-32768", "32767", "42", "007"]),
                  ("int4", ["0", "-2147483648", "2147483647", "-1", "00123"]),
                  ("int8", ["0", "-9223372036854775808", "9223372036854775807", "4294967295"])]:
    for ins in vals:
        text_cases.append((C["INT"], OID[typ], -1, DEF, ins, "%s::%s" % (sql_lit(ins), typ)))
        bin_cases.append((C["INT"], OID[typ], -1, ins,
                          "encode(%ssend(%s::%s),'hex')" % (typ, sql_lit(ins), typ)))
for ins in ["0", "1", "-1", "2", "127"]:
    text_cases.append((C["BOOL"], OID["bool"], -1, DEF, ins, "(%s::int <> 0)" % ins))
    bin_cases.append((C["BOOL"], OID["bool"], -1, ins, "encode(boolsend(%s::int <> 0),'hex')" % ins))

for ins, n in [("ab", 5), ("", 3), ("abc", 3), ("한국", 4), ("x y", 6), ("é", 2), ("long", 2)]:
    text_cases.append((C["BPCHAR"], OID["bpchar"], n + 4, DEF, ins,
                       "%s::char(%d)" % (sql_lit(ins), max(n, len(ins)))))
    bin_cases.append((C["BPCHAR"], OID["bpchar"], n + 4, ins,
                      "encode(bpcharsend(%s::char(%d)),'hex')" % (sql_lit(ins), max(n, len(ins)))))
for ins in ["hello", "", "it's", "한국어 텍스트", "back\\slash", '{"a": [1, 2.5, null]}']:
    text_cases.append((C["TEXT"], OID["text"], -1, DEF, ins, "%s::text" % sql_lit(ins)))
    bin_cases.append((C["TEXT"], OID["text"], -1, ins,
                      "encode(textsend(%s::text),'hex')" % sql_lit(ins)))

byteas = [b"", b"\x01\x02", b"abc", b"\x00\xff\x7f\x80", b"back\\slash", b"tab\tnl\n",
          bytes(range(0, 256, 7)), "한".encode(), b"~ !"]
for ins in byteas:
    for bo in ("hex", "escape"):
        text_cases.append((C["BYTEA"], OID["bytea"], -1, ("UTC", "ISO, MDY", "postgres", 1, bo),
                           ins, sql_bytes_lit(ins)))
    bin_cases.append((C["BYTEA"], OID["bytea"], -1, ins,
                      "encode(byteasend(%s),'hex')" % sql_bytes_lit(ins)))

res = run_many([(c[5],) + tuple(c[3]) for c in text_cases])
with open(os.path.join(HERE, "text.tsv"), "w") as f:
    f.write("# conv\toid\ttypmod\tTimeZone\tDateStyle\tIntervalStyle\textra_float_digits\t"
            "bytea_output\tinput\texpected -- generated by gen.py from PostgreSQL 15\n")
    for c, r in zip(text_cases, res):
        assert r.startswith("OK "), (c, r)
        s = c[3]
        f.write("\t".join([str(c[0]), str(c[1]), str(c[2]), s[0], s[1], s[2], str(s[3]), s[4],
                           esc(c[4]), esc(r[3:])]) + "\n")
res = run_many([(c[4],) + DEF for c in bin_cases])
with open(os.path.join(HERE, "binary.tsv"), "w") as f:
    f.write("# conv\toid\ttypmod\tinput\texpected send bytes (hex) -- generated by gen.py\n")
    for c, r in zip(bin_cases, res):
        assert r.startswith("OK "), (c, r)
        f.write("\t".join([str(c[0]), str(c[1]), str(c[2]), esc(c[3]), r[3:]]) + "\n")
ntext, nbin = len(text_cases), len(bin_cases)

# ---------------------------------------------------------------- param.tsv
# (oid name, input, session zone). Text format: the input function's verdict.
P = []
for v in ["42", " 42 ", "-2147483648", "2147483647", "2147483648", "-2147483649", "+7", "4 2",
          "", " ", "abc", "12abc", "99999999999x", "0x10", "1.5", "1e3", "\t-0\n", "٣"]:
    P.append(("int4", v))
for v in ["32767", "-32768", "32768", "1_000"]:
    P.append(("int2", v))
for v in ["9223372036854775807", "-9223372036854775808", "9223372036854775808", " 12 "]:
    P.append(("int8", v))
for v in ["1.50", "-0.5", "  12.3400  ", ".5", "5.", "1e3", "1.5e-3", "-1E+2", "1e1001",
          "NaN", "nan", "Infinity", "-inf", "abc", "1.2.3", "", "00012.10", "-0", "1e-5",
          "1e131072", "1e-16384", "0e-16384", "0e100000", "0e2222222222201", "0e1073741822",
          "0e1073741823", "-0e-1073741822", "1e2147483648", "1e", "1e+", "+.e1"]:
    P.append(("numeric", v))
for v in ["0.1", "1e20", " -1.5e-07 ", "NaN", "Infinity", "-Infinity", "inf", "1e400",
          "-1e-400", "5e-324", "abc", "", "0x1p3", "1.7976931348623157e308", "-0", "100000"]:
    P.append(("float8", v))
for v in ["0.1", "1e39", "1e-46", "3.4028235e38", "NaN", "1.1"]:
    P.append(("float4", v))
for v in ["t", "true", "TRUE", "tr", "yes", "y", "on", "off", "of", "o", "1", "0", "f", "false",
          "fa", "n", "no", " t ", "2", "tru e", "", "truex", "ON"]:
    P.append(("bool", v))
for v in ["hello", "it's", "''", "back\\slash", "한국어", "a\"b", ""]:
    P.append(("text", v))
P.append(("varchar", "O'Reilly"))
for v in ["\\x0102ff", "\\x", "\\x01 02", "\\x0", "\\xzz", "abc", "a\\\\b", "\\001\\377",
          "\\9", "it's"]:
    P.append(("bytea", v))
for v in ['{"a": "it\'s"}', ' [1, 2.5e-3, -0, true, false, null, "\\u00e9\\n"] ', '"x"', '12',
          '{}', '[]', '{"a":{"b":[{}]}}', '', ' ', '{', '[1,]', '{"a"}', '{"a":1,}', 'tru',
          'truex', '01', '1.', '.5', '-', '1e', '"\\x"', '"\\u12"', "'a'", '[1] [2]',
          '{"a":1 "b":2}', 'nul', 'NaN', '"tab\there"', '[[[[[[[[[[1]]]]]]]]]]', '1 2']:
    P.append(("json", v))
for v in ["2026-03-01", " 2026-3-1 ", "2026-02-29", "2024-02-29", "2026-13-01", "2026-00-10",
          "2026-03-01 12:34:56", "0044-03-15 BC", "epoch", "2026-03-01T00:00:00Z", "abc",
          "10000-01-01", "0999-12-31", "2026-04-31", "today", "infinity"]:
    P.append(("date", v))
for v in ["2026-03-01 12:34:56", "2026-03-01 12:34:56.5", "2026-03-01T12:34:56.123456789",
          "2026-03-01 12:34", "2026-03-01", "2026-03-01 24:00:00", "2026-03-01 25:00:00",
          "2026-03-01 12:60:00", "2026-12-31 23:59:59.9999995", "2026-03-01 12:34:56+09",
          "epoch", "2026-03-01 12:34:56.000001", "2026-03-01 1:2:3", "now"]:
    P.append(("timestamp", v))
for v in ["2026-03-01 12:34:56+09", "2026-03-01 12:34:56-03:30", "2026-03-01 12:34:56Z",
          "2026-03-01 12:34:56 UTC", "2026-03-01T12:34:56.5+0530", "2026-03-01 12:34:56",
          "2026-03-08 02:30", "2026-11-01 01:30", "2026-03-08 01:59:59", "2026-03-08 03:00",
          "2026-11-01 00:59:59", "2026-11-01 02:00", "epoch", "2026-07-01 00:00 +16",
          "2026-07-01 00:00 +15:59", "2026-03-01", "2026-03-01 12:34:56 Asia/Seoul"]:
    for zone in ["America/New_York", "Asia/Seoul", "Australia/Lord_Howe", "UTC+9"]:
        P.append(("timestamptz", v, zone))

OUTEXPR = {
    "int4": "%s::int4", "int2": "%s::int2", "int8": "%s::int8", "numeric": "%s::numeric",
    "float8": "%s::float8", "float4": "%s::float4", "bool": "%s::bool", "text": "%s::text",
    "varchar": "%s::varchar", "bytea": "encode(%s::bytea,'hex')", "json": "%s::json",
    "date": "to_char(%s::date,'YYYY-MM-DD BC')",
    "timestamp": "to_char(%s::timestamp,'YYYY-MM-DD HH24:MI:SS.US BC')",
    "timestamptz": "to_char(%s::timestamptz at time zone 'UTC','YYYY-MM-DD HH24:MI:SS.US BC')",
}


def ryu_digits(x, single):
    """The shortest repr as Python finds it (same digits as Ryu), as d.ddde<exp>."""
    if single:
        for n in range(1, 10):
            c = "%.*e" % (n - 1, x)
            try:
                if struct.unpack("<f", struct.pack("<f", float(c)))[0] == x:
                    return c
            except OverflowError:
                pass
    r = repr(x)
    for n in range(1, 18):
        c = "%.*e" % (n - 1, x)
        if float(c) == x:
            return c
    return r


def literal_of(typ, pgval, x_input):
    if typ in ("int4", "int2", "int8", "numeric"):
        return pgval
    if typ in ("float8", "float4"):
        if "NaN" in pgval or "Infinity" in pgval:
            return None
        x = float(pgval.replace("Infinity", "inf"))
        if typ == "float4":
            x = struct.unpack("<f", struct.pack("<f", x))[0]
        if x == 0:
            return "-0e0" if pgval.startswith("-") else "0e0"
        c = ryu_digits(x, typ == "float4")
        mm, _, ee = c.partition("e")
        if "." in mm:
            mm = mm.rstrip("0").rstrip(".")
        return "%se%d" % (mm, int(ee))
    if typ == "bool":
        return "TRUE" if pgval == "t" else "FALSE"
    if typ in ("text", "varchar", "json"):
        return "'" + x_input.replace("'", "''") + "'"
    if typ == "bytea":
        return "X'%s'" % pgval
    if typ in ("date", "timestamp", "timestamptz"):
        # Ours: what needs a clock, has no MySQL value or names a zone is refused (0A000).
        if x_input.strip().lower() in ("now", "today", "tomorrow", "yesterday", "infinity",
                                       "-infinity", "+infinity") or "/" in x_input:
            return None
        v = pgval.strip()
        if v.endswith("BC") or int(v[:v.index("-")]) > 9999:
            return None  # valid in Postgres, no MySQL value: 0A000 (ours)
        return "'" + v.replace(" AD", "").strip() + "'"
    raise ValueError(typ)


rows = []
for p in P:
    typ, v = p[0], p[1]
    zone = p[2] if len(p) > 2 else "UTC"
    rows.append((OUTEXPR[typ] % sql_lit(v), zone, "ISO, MDY", "postgres", 1, "hex"))
res = run_many(rows)
nparam = 0
with open(os.path.join(HERE, "param.tsv"), "w") as f:
    f.write("# oid\tformat\tTimeZone\tinput\texpected (OK literal | ERR sqlstate message | "
            "REFUSED sqlstate: Postgres takes it, MySQL has no such value) -- gen.py\n")
    for p, r in zip(P, res):
        typ, v = p[0], p[1]
        zone = p[2] if len(p) > 2 else "UTC"
        if r.startswith("OK "):
            lit = literal_of(typ, r[3:], v)
            if typ in ("float8", "float4", "numeric") and ("NaN" in r or "Infinity" in r):
                lit = None
            exp = "OK " + lit if lit is not None else "REFUSED 0A000"
        else:
            exp = r
        f.write("\t".join([str(OID[typ]), "0", zone, esc(v), esc(exp)]) + "\n")
        nparam += 1
    # Binary-format parameters: the bytes Postgres' send functions produce, read back.
    bins = [("int4", "42"), ("int4", "-2147483648"), ("int2", "-7"), ("int8", "9223372036854775807"),
            ("float8", "0.1"), ("float8", "-1.5e-07"), ("float8", "NaN"), ("float8", "-Infinity"),
            ("float4", "0.1"), ("float4", "3.4028235e38"), ("bool", "t"), ("bool", "f"),
            ("text", "it's 한국"), ("bytea", "\\x00ff27"), ("date", "2026-03-01"),
            ("date", "1999-12-31"), ("date", "infinity"), ("timestamp", "2026-03-01 12:34:56.5"),
            ("timestamptz", "2026-03-01 12:34:56.5+09"), ("timestamp", "1970-01-01 00:00:00"),
            ("timestamptz", "0044-03-15 12:00:00+00 BC"), ("numeric", "12345.678"),
            ("numeric", "-0.0001"), ("numeric", "0"), ("numeric", "0.000"), ("numeric", "NaN"),
            ("numeric", "1e20"), ("numeric", "99999999.99999999"), ("numeric", "-1234567890.5"),
            ("numeric", "10000"), ("numeric", "0.00012345678"), ("numeric", "-Infinity"),
            ("numeric", "18446744073709551615")]
    sendf = {"date": "date_send", "timestamp": "timestamp_send", "timestamptz": "timestamptz_send",
             "numeric": "numeric_send"}
    rows = [("encode(%s(%s::%s),'hex')" % (sendf.get(t, t + "send"), sql_lit(v), t),) + DEF
            for t, v in bins]
    rows2 = [(OUTEXPR[t] % sql_lit(v),) + DEF for t, v in bins]
    for (t, v), r, r2 in zip(bins, run_many(rows), run_many(rows2)):
        assert r.startswith("OK ") and r2.startswith("OK "), (t, v, r, r2)
        lit = literal_of(t, r2[3:], v)
        if t in ("float8", "float4", "numeric") and ("NaN" in r2 or "Infinity" in r2):
            lit = None
        if t == "date" and "infinity" in v:
            lit = None
        exp = "OK " + lit if lit is not None else "REFUSED 0A000"
        f.write("\t".join([str(OID[t]), "1", "UTC", r[3:], esc(exp)]) + "\n")
        nparam += 1

# ---------------------------------------------------------------- tz.tsv
tz_rows = []
for zone in ZONES + FIXED:
    for ins in instants:
        if ins.startswith("0000"):
            continue
        lit = sql_lit(ins + "+00")
        tz_rows.append(("at", zone, ins,
                        "extract(epoch from %s::timestamptz)::bigint, '|', "
                        "extract(timezone from %s::timestamptz)::int, '|', to_char(%s::timestamptz, 'TZ')"
                        % (lit, lit, lit)))
locals_ = ["2026-03-08 02:30:00", "2026-11-01 01:30:00", "2026-03-08 01:59:59", "2026-03-08 03:00:00",
           "2026-11-01 00:59:59", "2026-11-01 02:00:00", "2026-03-29 02:30:00", "2026-10-25 02:30:00",
           "2026-04-05 01:45:00", "2026-10-04 02:15:00", "1988-05-08 02:30:00", "1988-10-09 02:30:00",
           "2011-12-30 12:00:00", "2026-09-27 03:30:00", "2026-04-05 03:30:00", "2040-03-11 02:30:00",
           "2040-11-04 01:30:00", "2100-03-28 02:30:00", "1900-01-01 00:00:00", "2026-07-01 12:00:00"]
for zone in ZONES + FIXED:
    for loc in locals_:
        lit = sql_lit(loc)
        tz_rows.append(("local", zone, loc,
                        "extract(epoch from %s::timestamp)::bigint, '|', "
                        "extract(epoch from %s::timestamptz)::bigint" % (lit, lit)))
# Past the transition tables the TZif footer's rule decides: every change in 2045 and 2100
# (found with Python's zoneinfo, same tzdata), one second either side, at and as local times.
import zoneinfo
for zone in ZONES:
    zi_ = zoneinfo.ZoneInfo(zone)
    for year in (2045, 2100):
        t0 = int(datetime.datetime(year, 1, 1, tzinfo=datetime.timezone.utc).timestamp())
        def off(t):
            return datetime.datetime.fromtimestamp(t, zi_).utcoffset().total_seconds()
        prev = off(t0)
        for h in range(1, 366 * 24):
            t = t0 + h * 3600
            o = off(t)
            if o == prev:
                continue
            lo, hi = t - 3600, t
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if off(mid) == prev:
                    lo = mid
                else:
                    hi = mid
            for d in (-1, 0, 1):
                ins = datetime.datetime.fromtimestamp(hi + d, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
                lit = sql_lit(ins + "+00")
                tz_rows.append(("at", zone, ins,
                                "extract(epoch from %s::timestamptz)::bigint, '|', "
                                "extract(timezone from %s::timestamptz)::int, '|', "
                                "to_char(%s::timestamptz, 'TZ')" % (lit, lit, lit)))
            for d in (-1800, -1, 0, 1, 1800):
                loc = datetime.datetime.fromtimestamp(hi + int(prev) + d, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
                lit = sql_lit(loc)
                tz_rows.append(("local", zone, loc,
                                "extract(epoch from %s::timestamp)::bigint, '|', "
                                "extract(epoch from %s::timestamptz)::bigint" % (lit, lit)))
            prev = o
res = run_many([(r[3], r[1], "ISO, MDY", "postgres", 1, "hex") for r in tz_rows])
with open(os.path.join(HERE, "tz.tsv"), "w") as f:
    f.write("# at zone utc-seconds offset-east abbrev | local zone local-seconds utc-seconds"
            " -- gen.py\n")
    for r, out in zip(tz_rows, res):
        assert out.startswith("OK "), (r, out)
        parts = out[3:].split("|")
        if r[0] == "at":
            f.write("\t".join(["at", r[1], parts[0], parts[1], parts[2]]) + "\n")
        else:
            f.write("\t".join(["local", r[1], parts[0], parts[1]]) + "\n")

zi = os.path.join(HERE, "zoneinfo")
# Postgres reads a zone file when there is one ("EST5EDT" is a file, not the POSIX rule), except
# for GMT, which it always builds itself.
for zone in ZONES + [z for z in FIXED if z != "GMT" and os.path.isfile("/usr/share/zoneinfo/" + z)]:
    dst = os.path.join(zi, zone)
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    shutil.copyfile(os.path.join("/usr/share/zoneinfo", zone), dst)
# A slim TZif file (transitions up to 2007, the footer rule after), for test_tz to compare with
# the fat America/New_York.
subprocess.run(["zic", "-b", "slim", "-d", zi, os.path.join(HERE, "slim.zic")], check=True)
print("text %d, binary %d, param %d, tz %d" % (ntext, nbin, nparam, len(tz_rows)))
